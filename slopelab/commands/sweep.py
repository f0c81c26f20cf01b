"""``slopelab sweep``: learning rate x regularization search on the validation split.

As the CS231n notes advise: sample on a log scale, prefer random search to a grid (Bergstra &
Bengio), go coarse to fine (a short first stage over wide ranges, then a longer one zoomed in
around the best setting), judge on one validation split, and beware of a best value on the
border of the searched range (the notes' warning, printed when it happens).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from slopelab.commands import summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    add_loss_arguments,
    positive_int,
)
from slopelab.commands.console import Console, console_for
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.data.prepare import Prepared
from slopelab.errors import CommandError
from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import get_loss
from slopelab.optim import OPTIMIZERS
from slopelab.train import sgd

EDGE_FRACTION = 0.1  # a best value in the outer 10% of a log range counts as "on the edge"


@dataclass(frozen=True)
class Trial:
    stage: int
    learning_rate: float
    reg: float
    val_accuracy: float
    train_accuracy: float
    final_loss: float
    status: str


def log_range(text: str) -> tuple[float, float]:
    low_text, separator, high_text = text.partition(":")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must look like LOW:HIGH, e.g. 1e-4:1; got {text}"
        ) from None
    if not separator or not (0 < low < high) or not math.isfinite(high):
        raise argparse.ArgumentTypeError(f"must be LOW:HIGH with 0 < LOW < HIGH; got {text}")
    return low, high


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help=summary("sweep"),
        description=__doc__.split("\n\n")[1],
    )
    add_data_arguments(parser)
    add_loss_arguments(parser)
    parser.add_argument(
        "--lr-range",
        type=log_range,
        default=(1e-3, 10.0),
        metavar="LOW:HIGH",
        help="learning rates searched, log scale (default: 1e-3:10)",
    )
    parser.add_argument(
        "--reg-range",
        type=log_range,
        default=(1e-6, 1.0),
        metavar="LOW:HIGH",
        help="regularization strengths searched, log scale (default: 1e-6:1)",
    )
    parser.add_argument(
        "--search",
        choices=("random", "grid"),
        default="random",
        help="log-uniform random samples (default) or a log-spaced grid",
    )
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=16,
        help="settings per stage (a grid uses the nearest square)",
    )
    parser.add_argument(
        "--stages", type=positive_int, default=2, help="coarse-to-fine stages (default: 2)"
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=3,
        help="epochs per trial in the first stage; each later stage doubles it",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    parser.add_argument("--batch-size", type=positive_int, default=200)
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab import plots

    console = console_for(args)
    prepared, run_dir, _ = start_run(args, "sweep", console)
    rng = np.random.default_rng(args.seed)
    lr_range, reg_range = args.lr_range, args.reg_range
    trials: list[Trial] = []
    trial_params: list[dict[str, np.ndarray]] = []
    for stage in range(args.stages):
        epochs = args.epochs * 2**stage
        settings = sample_settings(lr_range, reg_range, args.search, args.trials, rng)
        console.say(
            f"stage {stage + 1}: {len(settings)} settings, {epochs} epochs each, "
            f"learning rate {lr_range[0]:.2g}..{lr_range[1]:.2g}, "
            f"reg {reg_range[0]:.2g}..{reg_range[1]:.2g}"
        )
        with console.bar(len(settings), f"stage {stage + 1}") as bar:
            for learning_rate, reg in settings:
                trial, params = run_trial(prepared, args, stage, learning_rate, reg, epochs)
                trials.append(trial)
                trial_params.append(params)
                bar.update(1)
        best = best_trial(trials, stage)
        lr_range = zoom(lr_range, best.learning_rate)
        reg_range = zoom(reg_range, best.reg)
    best = best_trial(trials, args.stages - 1)
    warnings = edge_warnings(best, trials, args.stages - 1)
    figure = plots.sweep_map(
        np.array([t.learning_rate for t in trials]),
        np.array([t.reg for t in trials]),
        np.array([t.val_accuracy for t in trials]),
        (best.learning_rate, best.reg),
        run_dir / "sweep.png",
        f"Validation accuracy, {args.loss} on {prepared.dataset.name}",
    )
    best_params = trial_params[trials.index(best)]
    test_accuracy = accuracy(best_params, prepared.X_test, prepared.y_test)
    _report(console, trials, best, warnings, test_accuracy)
    document: dict[str, Any] = {
        "best": {
            "learning_rate": best.learning_rate,
            "reg": best.reg,
            "val_accuracy": best.val_accuracy,
            "test_accuracy": test_accuracy,
        },
        "trials": [asdict(trial) for trial in trials],
        "edge_warnings": warnings,
        "figure": str(figure),
        "run_dir": str(run_dir),
    }
    return finish_run(console, run_dir, document)


def sample_settings(
    lr_range: tuple[float, float],
    reg_range: tuple[float, float],
    search: str,
    trials: int,
    rng: np.random.Generator,
) -> list[tuple[float, float]]:
    """``trials`` (learning rate, reg) pairs, log-uniform at random or on a log grid.

    >>> sample_settings((1e-3, 1e-1), (1e-4, 1e-2), "grid", 4, np.random.default_rng(0))
    [(0.001, 0.0001), (0.001, 0.01), (0.1, 0.0001), (0.1, 0.01)]
    """
    if search == "grid":
        side = max(2, round(math.sqrt(trials)))
        rates = np.geomspace(*lr_range, side)
        regs = np.geomspace(*reg_range, side)
        return [(float(r), float(g)) for r in rates for g in regs]
    log_rates = rng.uniform(np.log10(lr_range[0]), np.log10(lr_range[1]), trials)
    log_regs = rng.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]), trials)
    return [(float(10**r), float(10**g)) for r, g in zip(log_rates, log_regs, strict=True)]


def zoom(bounds: tuple[float, float], centre: float) -> tuple[float, float]:
    """Half the log-width, centred on the best value (coarse to fine).

    >>> zoom((1e-4, 1.0), 1e-2)
    (0.001, 0.1)
    """
    half_width = (math.log10(bounds[1]) - math.log10(bounds[0])) / 4
    return (10 ** (math.log10(centre) - half_width), 10 ** (math.log10(centre) + half_width))


def run_trial(
    prepared: Prepared,
    args: argparse.Namespace,
    stage: int,
    learning_rate: float,
    reg: float,
    epochs: int,
) -> tuple[Trial, dict[str, np.ndarray]]:
    history = sgd(
        get_loss(args.loss, args.penalty),
        prepared.X_train,
        prepared.y_train,
        budget=Budget(epochs=epochs),
        reg=reg,
        optimizer=args.optimizer,
        learning_rate=learning_rate,
        batch_size=args.batch_size,
        rng=args.seed,
        X_val=prepared.X_val,
        y_val=prepared.y_val,
        eval_every=None,
    )
    val = accuracy(history.params, prepared.X_val, prepared.y_val)
    train = accuracy(history.params, prepared.X_train, prepared.y_train)
    if history.status == "diverged":
        val = train = math.nan
    trial = Trial(stage, learning_rate, reg, val, train, history.final_loss, history.status)
    return trial, history.params


def best_trial(trials: list[Trial], stage: int) -> Trial:
    finished = [t for t in trials if t.stage == stage and math.isfinite(t.val_accuracy)]
    if not finished:
        raise CommandError(f"every setting of stage {stage + 1} diverged; lower the --lr-range")
    return max(finished, key=lambda trial: trial.val_accuracy)


def edge_warnings(best: Trial, trials: list[Trial], stage: int) -> list[str]:
    """The notes: a best value on the border of the range means the range was too narrow."""
    stage_trials = [t for t in trials if t.stage == stage]
    warnings = []
    for name, value in (("learning_rate", best.learning_rate), ("reg", best.reg)):
        values = np.log10([getattr(t, name) for t in stage_trials])
        low, high = values.min(), values.max()
        margin = EDGE_FRACTION * (high - low)
        position = math.log10(value)
        if position <= low + margin or position >= high - margin:
            side = "lower" if position <= low + margin else "upper"
            warnings.append(
                f"best {name} {value:.3g} sits on the {side} edge of the searched range "
                f"[{10**low:.3g}, {10**high:.3g}]; widen the range on that side and sweep again"
            )
    return warnings


def _report(
    console: Console, trials: list[Trial], best: Trial, warnings: list[str], test_accuracy: float
) -> None:
    top = sorted(trials, key=lambda t: -(t.val_accuracy if math.isfinite(t.val_accuracy) else -1))[
        :8
    ]
    console.table(
        ["stage", "learning rate", "reg", "val acc", "train acc", "status"],
        [
            [
                t.stage + 1,
                t.learning_rate,
                t.reg,
                f"{t.val_accuracy:.1%}",
                f"{t.train_accuracy:.1%}",
                t.status,
            ]
            for t in top
        ],
    )
    diverged = sum(t.status == "diverged" for t in trials)
    console.say(
        f"best: learning rate {best.learning_rate:.3g}, reg {best.reg:.3g}: validation "
        f"{best.val_accuracy:.1%}, test {test_accuracy:.1%} "
        f"({len(trials)} trials, {diverged} diverged)"
    )
    for warning in warnings:
        console.say(f"warning: {warning}")
