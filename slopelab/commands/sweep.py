"""``slopelab sweep``: learning rate x regularization search on the validation split.

As the CS231n notes advise: sample on a log scale, prefer random search to a grid (Bergstra &
Bengio), go coarse to fine (a short first stage over wide ranges, then a longer one zoomed in
around the best setting), judge on one validation split, and beware of a best value on the
border of the searched range (the notes' warning, printed when it happens).

Every stage samples inside the ranges given: a later stage zooms in on the best setting so far,
with a window half as wide (in log scale), shifted where needed to stay inside. The edge warning
judges the best value against those ranges. The test accuracy is measured once, for the setting
selected on the validation split. Ctrl-C keeps the trials that finished, with nothing selected
(see :mod:`slopelab.commands.partial_results`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.commands import ranks, summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    add_loss_arguments,
    positive_int,
)
from slopelab.commands.console import Console, console_for
from slopelab.commands.limits import check_recorded_steps
from slopelab.commands.partial_results import keep_partial_results
from slopelab.commands.runfolder import discard_if_unused, finish_run, start_run
from slopelab.commands.sweep_trials import TrialRunner
from slopelab.data.prepare import Prepared, prepare_data
from slopelab.distributed import World, abort_on_failure
from slopelab.environment import blas_threads
from slopelab.errors import CommandError
from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import get_loss, training_loss
from slopelab.optim import OPTIMIZERS
from slopelab.selection import rank_by_validation
from slopelab.train import sgd, steps_per_epoch

EDGE_FRACTION = 0.1  # a best value in the outer 10% of a log range counts as "on the edge"
MAX_TRIALS = 10_000  # settings over all stages
PROG = "slopelab sweep"
DESCRIPTION = """Search learning rate x regularization on the validation split, as the CS231n
notes advise: log-scale random samples (or a grid), coarse to fine (each stage zooms in on the
best setting, inside the ranges given, with twice the epochs), and a warning when the best value
sits on the edge of a range. The test accuracy is measured once, for the setting selected."""


@dataclass(frozen=True)
class Trial:
    stage: int  # from 1, as printed
    learning_rate: float
    reg: float
    val_accuracy: float
    train_accuracy: float
    final_loss: float  # the full training loss at the trial's final W (NaN if it diverged)
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
        description=DESCRIPTION,
        conflict_handler="resolve",  # sweep redefines --reg (see below)
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
        help=f"settings per stage (default: 16; a grid uses the nearest square, at least 4; "
        f"at most {MAX_TRIALS:,} over all stages)",
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
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default: sgd)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=200, help="examples per update (default: 200)"
    )
    # --reg comes with the loss flags, but a sweep searches it: hidden, and refused if given.
    parser.add_argument("--reg", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="run N trials at a time in local processes of one BLAS thread each, or --threads "
        "(default: 1; the results are those of --jobs 1 with as many BLAS threads, e.g. "
        "--jobs 1 --threads 1); under mpiexec the trials spread over the ranks",
    )
    add_common_arguments(parser)
    ranks.add_distributed_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    world = ranks.join(args)
    with blas_threads(ranks.threads_per_rank(args, world) or threads_per_job(args)):
        if world is not None and not world.is_root:
            return _follow(args, world)
        console = console_for(args)
        handoff = ranks.Handoff(world)
        with handoff.root_start():
            check_arguments(args, world)
            prepared, run_dir, config = start_run(
                args, "sweep", console, lambda prepared: check_budget(args, len(prepared.y_train))
            )
            handoff.send((config["data"], str(run_dir)))
        with abort_on_failure(world, PROG, lambda: discard_if_unused(run_dir)):
            return _sweep(args, prepared, run_dir, console, world)


def threads_per_job(args: argparse.Namespace) -> int | None:
    """The BLAS threads of each ``--jobs`` process: ``--threads``, else one (N processes already
    keep N cores busy). The whole command runs with them, so the BLAS threads ``config.json``
    records are those of every trial, and the trials are those of ``--jobs 1`` with as many
    threads (a multi-threaded matrix product sums in another order: other last bits). None:
    one process, the threads as they are."""
    if getattr(args, "jobs", 1) <= 1:
        return None
    return args.threads or 1


def _follow(args: argparse.Namespace, world: World) -> int:
    """A rank other than 0: run its share of every stage on the data rank 0 loaded, quietly.
    Ctrl-C is rank 0's to handle (it keeps the finished trials, then stops every rank)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        data, run_dir = ranks.Handoff(world).receive()
    except ranks.RootFailed as failed:
        return failed.code
    # the abort ends rank 0 too, before its CLI removes the new run folder: do it here
    with abort_on_failure(world, PROG, lambda: discard_if_unused(Path(run_dir))):
        prepared = prepare_data(data)
        coarse_to_fine(prepared, args, ranks.QuietConsole(), world=world)
    return 0


def _sweep(
    args: argparse.Namespace,
    prepared: Prepared,
    run_dir: Path,
    console: Console,
    world: World | None,
) -> int:
    from slopelab import plots

    with keep_partial_results(run_dir) as progress:
        recorded: list[dict[str, Any]] = []
        total = settings_per_stage(args.search, args.trials) * args.stages

        def finished(trial: Trial) -> None:
            recorded.append(asdict(trial))
            done = (
                f"all {total} trials, before the best setting's test accuracy and report"
                if len(recorded) == total
                else f"{len(recorded)} of {total} trials"
            )
            progress.finished(done, {"trials": recorded, "run_dir": str(run_dir)})

        trials, best, best_params = coarse_to_fine(prepared, args, console, finished, world)
        if world is not None:
            world.together = False  # the other ranks are done
        warnings = edge_warnings(best, args.lr_range, args.reg_range)
        figure = plots.sweep_map(
            np.array([t.learning_rate for t in trials]),
            np.array([t.reg for t in trials]),
            np.array([t.val_accuracy for t in trials]),
            (best.learning_rate, best.reg),
            run_dir / "sweep.png",
            f"Validation accuracy, {args.loss} on {prepared.dataset.name}",
        )
        test_accuracy = accuracy(best_params, prepared.X_test, prepared.y_test)
        _report(console, trials, best, warnings, test_accuracy)
        console.say(f"figures: {figure}")
        document: dict[str, Any] = {
            "best": {
                "stage": best.stage,
                "learning_rate": best.learning_rate,
                "reg": best.reg,
                "val_accuracy": best.val_accuracy,
                "test_accuracy": test_accuracy,
            },
            "trials": [asdict(trial) for trial in trials],
            "edge_warnings": warnings,
            "figures": [str(figure)],
            "run_dir": str(run_dir),
        }
        return finish_run(console, run_dir, document)


def coarse_to_fine(
    prepared: Prepared,
    args: argparse.Namespace,
    console: Console,
    finished: Callable[[Trial], None] = lambda trial: None,
    world: World | None = None,
) -> tuple[list[Trial], Trial, dict[str, np.ndarray]]:
    """Every stage's trials (``finished`` is called after each), the best trial over all of
    them and its parameters; ``args.jobs`` processes, or the ranks of ``world``, run them."""
    rng = np.random.default_rng(args.seed)
    lr_range, reg_range = args.lr_range, args.reg_range
    trials: list[Trial] = []
    best, best_params = None, None

    def one_trial(stage: int, learning_rate: float, reg: float, epochs: int) -> tuple:
        return run_trial(prepared, args, stage, learning_rate, reg, epochs)

    runner = TrialRunner(one_trial, getattr(args, "jobs", 1), world, threads_per_job(args) or 1)
    with runner.running():
        for stage in range(1, args.stages + 1):
            epochs = epochs_of_stage(args.epochs, stage)
            settings = sample_settings(lr_range, reg_range, args.search, args.trials, rng)
            console.say(
                f"stage {stage}: {len(settings)} settings, {epochs} epoch(s) each, "
                f"learning rate {lr_range[0]:.2g}..{lr_range[1]:.2g}, "
                f"reg {reg_range[0]:.2g}..{reg_range[1]:.2g}"
            )
            with console.bar(len(settings), f"stage {stage}") as bar:
                for trial, params in runner.stage(stage, settings, epochs):
                    trials.append(trial)
                    finished(trial)
                    if improves(trial, best):  # only the best model is kept in memory
                        best, best_params = trial, params
                    bar.update(1)
            if best is None:
                raise CommandError(f"every setting of stage {stage} diverged; lower the --lr-range")
            lr_range = zoom(lr_range, best.learning_rate, args.lr_range)
            reg_range = zoom(reg_range, best.reg, args.reg_range)
    return trials, best, best_params


def check_arguments(args: argparse.Namespace, world: World | None = None) -> None:
    """What can be refused before loading data: --reg (swept, not set), the trial count, and
    --jobs under MPI (the ranks already spread the trials)."""
    if world is not None and getattr(args, "jobs", 1) > 1:
        raise CommandError(
            f"--jobs {args.jobs} with {world.size} MPI ranks: the ranks already spread the "
            "trials; drop --jobs, or run without mpiexec"
        )
    if args.reg is not None:
        raise CommandError(
            "sweep searches the regularization strength over --reg-range; drop --reg "
            f"(e.g. --reg-range {args.reg:g}:{10 * args.reg:g} to search near {args.reg:g})"
        )
    total = settings_per_stage(args.search, args.trials) * args.stages
    if total > MAX_TRIALS:
        raise CommandError(
            f"--trials {args.trials} x --stages {args.stages} means {total:,} trials, more than "
            f"{MAX_TRIALS:,}; use fewer"
        )


def check_budget(args: argparse.Namespace, num_examples: int) -> dict[str, Any]:
    """Refuse epochs whose last stage means more steps per trial than a run can record."""
    last = epochs_of_stage(args.epochs, args.stages)
    check_recorded_steps(
        last * steps_per_epoch(num_examples, args.batch_size),
        f"--epochs {args.epochs} doubled over {args.stages} stages ({last:,} epochs per trial)",
        "use fewer --epochs or --stages",
    )
    return {}


def epochs_of_stage(epochs: int, stage: int) -> int:
    """Epochs per trial in ``stage`` (from 1): each later stage doubles them."""
    return epochs * 2 ** (stage - 1)


def settings_per_stage(search: str, trials: int) -> int:
    """``trials`` for random search; the nearest square (at least 4) for a grid."""
    return max(2, round(math.sqrt(trials))) ** 2 if search == "grid" else trials


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
        side = math.isqrt(settings_per_stage(search, trials))
        rates = np.geomspace(*lr_range, side)
        regs = np.geomspace(*reg_range, side)
        return [(float(r), float(g)) for r in rates for g in regs]
    rates = np.clip(10 ** rng.uniform(*np.log10(lr_range), trials), *lr_range)
    regs = np.clip(10 ** rng.uniform(*np.log10(reg_range), trials), *reg_range)
    return [(float(r), float(g)) for r, g in zip(rates, regs, strict=True)]


def zoom(
    bounds: tuple[float, float], centre: float, limits: tuple[float, float]
) -> tuple[float, float]:
    """Half the log-width, centred on the best value, shifted to stay inside ``limits`` (the
    range the user asked for) when the centre sits near one of its ends (coarse to fine).

    >>> zoom((1e-4, 1.0), 1e-2, (1e-4, 1.0))
    (0.001, 0.1)
    >>> zoom((1e-3, 10.0), 8.0, (1e-3, 10.0))
    (0.1, 10.0)
    """
    log_low, log_high = math.log10(limits[0]), math.log10(limits[1])
    half_width = (math.log10(bounds[1]) - math.log10(bounds[0])) / 4
    low = min(max(math.log10(centre) - half_width, log_low), log_high - 2 * half_width)
    high = low + 2 * half_width
    return (float(max(10**low, limits[0])), float(min(10**high, limits[1])))


def run_trial(
    prepared: Prepared,
    args: argparse.Namespace,
    stage: int,
    learning_rate: float,
    reg: float,
    epochs: int,
) -> tuple[Trial, dict[str, np.ndarray]]:
    loss = get_loss(args.loss, args.penalty)
    history = sgd(
        loss,
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
    final_loss = training_loss(loss, history.params, prepared.X_train, prepared.y_train, reg)
    if history.status == "diverged":
        val = train = final_loss = math.nan
    trial = Trial(stage, learning_rate, reg, val, train, final_loss, history.status)
    return trial, history.params


def improves(trial: Trial, best: Trial | None) -> bool:
    """Whether ``trial`` beats the best so far on validation accuracy, over every stage (a
    diverged trial never does; on a tie the earlier trial stays best)."""
    if not math.isfinite(trial.val_accuracy):
        return False
    return best is None or trial.val_accuracy > best.val_accuracy


def edge_warnings(
    best: Trial, lr_range: tuple[float, float], reg_range: tuple[float, float]
) -> list[str]:
    """The notes: a best value on the border of the range means the range was too narrow.
    "On the border" is the outer ``EDGE_FRACTION`` of the searched range, in log scale."""
    warnings = []
    for name, value, (low, high) in (
        ("learning_rate", best.learning_rate, lr_range),
        ("reg", best.reg, reg_range),
    ):
        log_low, log_high = math.log10(low), math.log10(high)
        margin = EDGE_FRACTION * (log_high - log_low)
        position = math.log10(value)
        if position <= log_low + margin or position >= log_high - margin:
            side = "lower" if position <= log_low + margin else "upper"
            warnings.append(
                f"best {name} {value:.3g} sits on the {side} edge of the searched range "
                f"[{low:.3g}, {high:.3g}]; widen the range on that side and sweep again"
            )
    return warnings


def _report(
    console: Console, trials: list[Trial], best: Trial, warnings: list[str], test_accuracy: float
) -> None:
    ranked = rank_by_validation({index: t.val_accuracy for index, t in enumerate(trials)})
    top = [trials[index] for index in ranked[:8]]
    console.table(
        ["stage", "learning rate", "reg", "val acc", "train acc", "status"],
        [
            [
                t.stage,
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
