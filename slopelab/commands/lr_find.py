"""``slopelab lr-find``: the learning-rate range test (Smith 2015; fastai's ``lr_find``).

Minibatch SGD from the usual initialization while the learning rate grows exponentially from
``--start`` to ``--end`` over ``--steps`` updates; the test stops once an online (causal)
moving average of the loss exceeds 4x its best value. The suggestions (valley, steepest,
minimum/10) are then read off a centred moving average over half a decade of learning rate, by
:mod:`slopelab.rate_suggestions`, which also says when a reading is only a bound (the loss had
not turned up by ``--end``, or was already falling at ``--start``). A causal average would trail
a falling loss and push the suggestions too high: on digits at the default settings it put the
steepest point at 0.87 instead of 0.17 (minimum/10: 0.44 instead of 0.32). Beside them,
**curvature**: slopelab's ``learning_rate="auto"``, 1/L from the data (no test needed).

Everything is seeded, so the same command gives the same answer.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from slopelab.autolr import auto_learning_rate
from slopelab.commands import summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    add_loss_arguments,
    positive_float,
    positive_int,
)
from slopelab.commands.console import console_for
from slopelab.commands.limits import MAX_RECORDED_STEPS, check_recorded_steps
from slopelab.commands.partial_results import keep_partial_results
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.errors import CommandError
from slopelab.history import Budget, History
from slopelab.losses import get_loss
from slopelab.optim import get_optimizer
from slopelab.problem import Problem
from slopelab.rate_suggestions import MIN_POINTS, Curve, read_curve, reasoning, suggestion_line
from slopelab.train import DescentConfig, descend

DIVERGENCE_FACTOR = 4.0
SMOOTHING = 0.95  # of the online average behind the stop rule: memory of about 20 steps
DESCRIPTION = """The learning-rate range test: minibatch SGD while the learning rate grows
exponentially from --start to --end over --steps updates, stopping when the loss blows up. The
suggestions (valley, steepest, minimum/10, and the curvature bound 1/L) are read off a centred
moving average of the loss, which has no lag. Prints each suggestion with its reasoning (and
says when one is only a bound because the loss had not turned up by --end, or was already
falling at --start) and draws the curve."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lr-find", help=summary("lr-find"), description=DESCRIPTION)
    add_data_arguments(parser)
    add_loss_arguments(parser)
    parser.add_argument(
        "--start", type=positive_float, default=1e-6, help="first rate (default: 1e-6)"
    )
    parser.add_argument("--end", type=positive_float, default=10.0, help="last rate (default: 10)")
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=100,
        help=f"updates (default: 100; from {MIN_POINTS} to {MAX_RECORDED_STEPS:,})",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=200, help="examples per update (default: 200)"
    )
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab import plots

    console = console_for(args)
    if args.end <= args.start:
        raise CommandError(f"--end ({args.end:g}) must be larger than --start ({args.start:g})")
    check_recorded_steps(args.steps, f"--steps {args.steps}", "use fewer --steps")
    if args.steps < MIN_POINTS:
        raise CommandError(
            f"--steps {args.steps} is too few to read a curve; use at least {MIN_POINTS}"
        )
    prepared, run_dir, _ = start_run(args, "lr-find", console)
    problem = Problem(get_loss(args.loss, args.penalty), prepared.X_train, prepared.y_train)
    with keep_partial_results(run_dir) as progress:
        rates, losses = range_test(
            problem, args.reg, args.start, args.end, args.steps, args.batch_size, args.seed
        )
        curve = read_curve(rates, losses, blew_up=len(losses) < args.steps)
        curvature = auto_learning_rate(prepared.X_train, args.reg, "sgd")
        suggestions = {name: reading.rate for name, reading in curve.readings.items()}
        suggestions["curvature"] = curvature
        bounds = {name: reading.bound for name, reading in curve.readings.items() if reading.bound}
        document: dict[str, Any] = {
            "suggested_learning_rate": suggestions["valley"],
            "suggestions": suggestions,
            "bounds": bounds,
            "curve": _curve_summary(curve),
            "learning_rates": rates.tolist(),
            "losses": losses.tolist(),
            "smoothed_losses": curve.smoothed.tolist(),
            "smoothing_window": curve.window,
            "run_dir": str(run_dir),
        }
        progress.finished("the range test (its figure was not drawn)", document)
        figure = plots.lr_range(
            rates,
            losses,
            curve.smoothed,
            suggestions,
            run_dir / "lr_find.png",
            f"centred mean of {curve.window} steps (suggestions read here)",
            bounds,
        )
        for line in reasoning(curve, curvature):
            console.say(line)
        console.say(suggestion_line(curve))
        console.say(f"figures: {figure}")
        return finish_run(console, run_dir, {**document, "figures": [str(figure)]})


def _curve_summary(curve: Curve) -> dict[str, Any]:
    """What the curve did, for the JSON document."""
    return {
        "lowest_loss": float(curve.smoothed[curve.lowest]),
        "lowest_at": float(curve.rates[curve.lowest]),
        "blew_up": curve.blew_up,
        "turned_up": curve.turned_up,
        "falling_at_start": curve.falling_at_start,
    }


def range_test(
    problem: Problem, reg: float, start: float, end: float, steps: int, batch_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Losses of SGD at rates ``start * (end / start) ** (k / (steps - 1))``, stopping early
    once the smoothed loss passes ``4 x`` its best. Returns (rates, losses) as far as it got."""
    rates = np.geomspace(start, end, max(steps, 2))

    def rate_at(step: int) -> float:
        return float(rates[min(step, len(rates) - 1)])

    optimizer = get_optimizer("sgd", learning_rate=rate_at)
    config = DescentConfig(
        reg=reg, batch_size=batch_size, eval_every=None, divergence_factor=1e12, strategy="lr-find"
    )
    tracker = _Blowup()

    def blown_up(history: History) -> bool:
        return bool(history.steps) and tracker.update(history.steps[-1].loss)

    history = History("lr-find")
    descend(
        problem,
        optimizer,
        config,
        Budget(steps=len(rates)),
        np.random.default_rng(seed),
        history=history,
        stop_requested=lambda: blown_up(history),
    )
    losses = history.column("loss")
    return rates[: len(losses)], losses


class _Blowup:
    """Bias-corrected moving average of the loss and whether it left 4x its best."""

    def __init__(self) -> None:
        self.average, self.count, self.best = 0.0, 0, math.inf

    def update(self, loss: float) -> bool:
        if not math.isfinite(loss):
            return True
        self.count += 1
        self.average = SMOOTHING * self.average + (1 - SMOOTHING) * loss
        smoothed = self.average / (1 - SMOOTHING**self.count)
        self.best = min(self.best, smoothed)
        return self.count > 5 and smoothed > DIVERGENCE_FACTOR * self.best
