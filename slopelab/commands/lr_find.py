"""``slopelab lr-find``: the learning-rate range test (Smith 2015; fastai's ``lr_find``).

Minibatch SGD from the usual initialization while the learning rate grows exponentially from
``--start`` to ``--end`` over ``--steps`` updates; the test stops once an online (causal)
moving average of the loss exceeds 4x its best value. The suggestions are then read off a
centred moving average over half a decade of learning rate: it has no lag, so a minimum or a
steepest point sits where it sits on the noiseless curve. A causal average trails a falling
loss and pushes the suggestions too high: on digits at the default settings it put the steepest
point at 0.87 instead of 0.17 (minimum/10: 0.44 instead of 0.32).

Several suggestions are reported side by side, because each rule of thumb fails somewhere:

* **valley**: two thirds of the way along the longest stretch where the smoothed loss falls;
* **steepest**: where the smoothed loss falls fastest per decade of learning rate;
* **minimum/10**: a tenth of the rate at the lowest smoothed loss;
* **curvature**: slopelab's ``learning_rate="auto"``, 1/L from the data (no test needed).

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
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.errors import CommandError
from slopelab.history import Budget, History
from slopelab.losses import get_loss
from slopelab.optim import get_optimizer
from slopelab.problem import Problem
from slopelab.smoothing import centered_moving_average
from slopelab.train import DescentConfig, descend

DIVERGENCE_FACTOR = 4.0
SMOOTHING = 0.95  # of the online average behind the stop rule: memory of about 20 steps
SMOOTHING_DECADES = 0.5  # width of the centred average the suggestions are read off
MIN_POINTS = 10  # fewer losses than this are not a curve to read suggestions off
MIN_FALL = 0.1  # the smoothed loss must fall by 10% of its start for a suggestion to mean much
DESCRIPTION = """The learning-rate range test: minibatch SGD while the learning rate grows
exponentially from --start to --end over --steps updates, stopping when the loss blows up. The
suggestions (valley, steepest, minimum/10, and the curvature bound 1/L) are read off a centred
moving average of the loss, which has no lag. Prints each suggestion with its reasoning and
draws the curve."""


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
    rates, losses = range_test(
        problem, args.reg, args.start, args.end, args.steps, args.batch_size, args.seed
    )
    suggestions, smoothed, window = read_suggestions(rates, losses)
    suggestions["curvature"] = auto_learning_rate(prepared.X_train, args.reg, "sgd")
    suggested = suggestions["valley"]
    figure = plots.lr_range(
        rates,
        losses,
        smoothed,
        suggestions,
        run_dir / "lr_find.png",
        f"centred mean of {window} steps (suggestions read here)",
    )
    for line in reasoning(rates, smoothed, suggestions):
        console.say(line)
    console.say(f"suggested learning rate: {suggested:.3g}")
    console.say(f"figures: {figure}")
    document: dict[str, Any] = {
        "suggested_learning_rate": suggested,
        "suggestions": suggestions,
        "learning_rates": rates.tolist(),
        "losses": losses.tolist(),
        "smoothed_losses": smoothed.tolist(),
        "smoothing_window": window,
        "figures": [str(figure)],
        "run_dir": str(run_dir),
    }
    return finish_run(console, run_dir, document)


def read_suggestions(
    rates: np.ndarray, losses: np.ndarray
) -> tuple[dict[str, float], np.ndarray, int]:
    """The suggestions read off the centred moving average of ``losses`` (no lag), that
    smoothed curve, and its window in steps; refused when the curve holds no answer."""
    window = smoothing_window(rates)
    smoothed = centered_moving_average(losses, window)
    check_curve(rates, smoothed)
    return suggest(rates, smoothed), smoothed, window


def check_curve(rates: np.ndarray, smoothed: np.ndarray) -> None:
    """Refuse to suggest a rate from a curve that holds no answer: too short (the loss blew up
    at once) or flat (the loss never fell by ``MIN_FALL`` of where it started)."""
    if len(rates) < MIN_POINTS:
        raise CommandError(
            f"the loss blew up after {len(rates)} steps, at rate {rates[-1]:.3g}: no curve to "
            "read a suggestion off; start lower (--start)"
        )
    lowest = float(np.nanmin(smoothed))
    if not lowest < (1 - MIN_FALL) * smoothed[0]:
        raise CommandError(
            f"the loss never fell by {MIN_FALL:.0%} between rates {rates[0]:.3g} and "
            f"{rates[-1]:.3g} (from {smoothed[0]:.4g} to at best {lowest:.4g}): no rate to "
            "suggest; search a wider range (--start lower, --end higher)"
        )


def smoothing_window(rates: np.ndarray) -> int:
    """An odd number of steps spanning about half a decade of the (geometric) rates.

    >>> smoothing_window(np.geomspace(1e-6, 10.0, 100))
    7
    """
    if len(rates) < 2 or rates[-1] <= rates[0]:
        return 1
    steps_per_decade = (len(rates) - 1) / math.log10(rates[-1] / rates[0])
    return 2 * int(SMOOTHING_DECADES * steps_per_decade / 2) + 1


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


def suggest(rates: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """Valley, steepest and minimum/10 on the (centred) smoothed curve, ignoring the first 10%
    and the last 5 points (warm-up noise and the blow-up), as fastai and pytorch-lr-finder do."""
    finite = np.isfinite(smoothed)
    rates, smoothed = rates[finite], smoothed[finite]
    low, high = len(rates) // 10, max(len(rates) // 10 + 3, len(rates) - 5)
    window_rates, window = rates[low:high], smoothed[low:high]
    if len(window) < 3:
        window_rates, window = rates, smoothed
    slopes = np.gradient(window, np.log10(window_rates))
    steepest = float(window_rates[int(np.argmin(slopes))])
    minimum = float(window_rates[int(np.argmin(window))]) / 10
    start, length = _longest_descent(window)
    valley = float(window_rates[start + (2 * (length - 1)) // 3])
    return {"valley": valley, "steepest": steepest, "minimum/10": minimum}


def _longest_descent(values: np.ndarray) -> tuple[int, int]:
    """Start and length of the longest run where each value is below the previous one."""
    best_start, best_length, start = 0, 1, 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] >= values[index - 1]:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = index
    return best_start, best_length


def reasoning(rates: np.ndarray, smoothed: np.ndarray, suggestions: dict[str, float]) -> list[str]:
    best = int(np.nanargmin(smoothed))
    return [
        f"loss {smoothed[0]:.3f} at rate {rates[0]:.2g}; lowest {smoothed[best]:.3f} at "
        f"{rates[best]:.3g}; the test stopped at {rates[-1]:.3g}"
        + (" when the loss blew up" if len(rates) and smoothed[-1] > 2 * smoothed[best] else ""),
        f"valley {suggestions['valley']:.3g}: two thirds into the longest stretch where the "
        "loss keeps falling, safely below the blow-up",
        f"steepest {suggestions['steepest']:.3g}: where the loss falls fastest per decade",
        f"minimum/10 {suggestions['minimum/10']:.3g}: a tenth of the rate at the lowest loss",
        f"curvature {suggestions['curvature']:.3g}: 1/L from the data (slopelab's "
        "learning_rate='auto'), a step gradient descent can always take",
    ]
