"""``slopelab lr-find``: the learning-rate range test (Smith 2015; fastai's ``lr_find``).

Minibatch SGD from the usual initialization while the learning rate grows exponentially from
``--start`` to ``--end`` over ``--steps`` updates; the loss is smoothed with a bias-corrected
moving average and the test stops once it exceeds 4x its best value. Several suggestions are
reported side by side, because each rule of thumb fails somewhere (see the reference notes):

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
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.errors import CommandError
from slopelab.history import Budget, History
from slopelab.losses import get_loss
from slopelab.optim import get_optimizer
from slopelab.problem import Problem
from slopelab.train import DescentConfig, descend

DIVERGENCE_FACTOR = 4.0
SMOOTHING = 0.95


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lr-find", help=summary("lr-find"), description=__doc__.split("\n\n")[1]
    )
    add_data_arguments(parser)
    add_loss_arguments(parser)
    parser.add_argument("--start", type=positive_float, default=1e-6, help="first rate")
    parser.add_argument("--end", type=positive_float, default=10.0, help="last rate")
    parser.add_argument("--steps", type=positive_int, default=100, help="updates (default 100)")
    parser.add_argument("--batch-size", type=positive_int, default=200)
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab import plots

    console = console_for(args)
    if args.end <= args.start:
        raise CommandError(f"--end ({args.end:g}) must be larger than --start ({args.start:g})")
    prepared, run_dir, _ = start_run(args, "lr-find", console)
    problem = Problem(get_loss(args.loss, args.penalty), prepared.X_train, prepared.y_train)
    rates, losses = range_test(
        problem, args.reg, args.start, args.end, args.steps, args.batch_size, args.seed
    )
    smoothed = plots.smooth(losses, SMOOTHING)
    suggestions = suggest(rates, smoothed)
    suggestions["curvature"] = auto_learning_rate(prepared.X_train, args.reg, "sgd")
    suggested = suggestions["valley"]
    figure = plots.lr_range(rates, losses, smoothed, suggestions, run_dir / "lr_find.png")
    for line in reasoning(rates, smoothed, suggestions):
        console.say(line)
    console.say(f"suggested learning rate: {suggested:.3g} (figure: {figure})")
    document: dict[str, Any] = {
        "suggested_learning_rate": suggested,
        "suggestions": suggestions,
        "learning_rates": rates.tolist(),
        "losses": losses.tolist(),
        "smoothed_losses": smoothed.tolist(),
        "figure": str(figure),
        "run_dir": str(run_dir),
    }
    return finish_run(console, run_dir, document)


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
    """Valley, steepest and minimum/10 on the smoothed curve, ignoring the first 10% and the
    last 5 points (warm-up noise and the blow-up), as fastai and pytorch-lr-finder do."""
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
