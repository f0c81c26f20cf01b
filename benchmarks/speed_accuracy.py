"""Section b of ``bench_speed.py``: seconds of training until a target test accuracy.

- slopelab: ``LinearClassifier`` with its defaults (``learning_rate="auto"``, batch 200,
  reg 1e-4), one epoch per ``fit`` with ``warm_start``, test accuracy checked after each epoch.
- ``SGDClassifier(loss="log_loss")`` with the same penalty, one ``partial_fit`` per epoch; its
  epochs alternate with slopelab's, so both see the same moments of a shared machine.
- ``LogisticRegression`` (lbfgs) on slopelab's objective (``C = 1 / (2 reg N)``): first run to
  convergence (iterations and convergence reported); then, since lbfgs from the same start
  takes the same path, the smallest ``max_iter`` that reaches the target is found (doubling,
  then halving the gap to within an eighth) and that fit's time is its time to the target.
  Those fits stop at ``max_iter`` on purpose; their ConvergenceWarnings are expected.

Only training is timed: the accuracy checks between epochs are not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from baselines import LogisticRun, matched_c, run_logistic, sgd_classifier
from bench_data import Splits
from timing import TRAINING, Row, heading, seconds_text

from slopelab import LinearClassifier

REG = 1e-4


@dataclass
class Progress:
    """Training seconds so far, epochs, accuracy after each, and when the target was met."""

    seconds: float = 0.0
    epochs: int = 0
    accuracies: list[float] | None = None
    reached: tuple[float, int, float] | None = None  # (seconds, epoch, accuracy)

    def record(self, seconds: float, accuracy: float, target: float) -> None:
        self.seconds += seconds
        self.epochs += 1
        self.accuracies = [*(self.accuracies or []), accuracy]
        if accuracy >= target and self.reached is None:
            self.reached = (self.seconds, self.epochs, accuracy)

    def describe(self) -> str:
        if self.reached is None:
            best = max(self.accuracies or [0.0])
            return f"not reached in {self.epochs} epochs (best {best:.1%})"
        seconds, epoch, accuracy = self.reached
        return f"{seconds_text(seconds)} (epoch {epoch}: {accuracy:.1%})"


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def epoch_by_epoch(data: Splits, target: float, max_epochs: int):
    """slopelab and SGDClassifier, alternating epochs until each reaches the target."""
    classes = sorted(set(data.y_train.tolist()))
    ours = LinearClassifier(epochs=1, warm_start=True, random_state=0)
    theirs = sgd_classifier("log_loss", REG)
    progress = {"slopelab": Progress(), "sgd": Progress()}
    for _ in range(max_epochs):
        if progress["slopelab"].reached is None:
            seconds = timed(lambda: ours.fit(data.X_train, data.y_train))
            accuracy = ours.score(data.X_test, data.y_test)
            progress["slopelab"].record(seconds, accuracy, target)
        if progress["sgd"].reached is None:
            seconds = timed(lambda: theirs.partial_fit(data.X_train64, data.y_train, classes))
            accuracy = theirs.score(data.X_test64, data.y_test)
            progress["sgd"].record(seconds, accuracy, target)
        if all(item.reached is not None for item in progress.values()):
            break
    return progress, float(ours.learning_rate_)


def logistic_to_target(data: Splits, target: float, converged: LogisticRun):
    """``(seconds, max_iter, accuracy)`` of the smallest ``max_iter`` reaching the target."""
    found = None
    below, max_iter = 0, 1
    while max_iter < converged.fit.iterations:
        run = run_logistic(data, REG, max_iter)
        if run.accuracy >= target:
            found = (run.seconds, max_iter, run.accuracy)
            break
        below, max_iter = max_iter, 2 * max_iter
    found = found or (converged.seconds, converged.fit.iterations, converged.accuracy)
    while found[1] - below > max(1, found[1] // 8):
        middle = (below + found[1]) // 2
        run = run_logistic(data, REG, middle)
        if run.accuracy >= target:
            found = (run.seconds, middle, run.accuracy)
        else:
            below = middle
    return found


def accuracy_rows(
    data: Splits, target: float, max_epochs: int, max_iter: int
) -> tuple[list[Row], LogisticRun]:
    """The rows of section b, and the converged LogisticRegression run (d3 reuses it)."""
    progress, learning_rate = epoch_by_epoch(data, target, max_epochs)
    converged = run_logistic(data, REG, max_iter)
    seconds, fit, accuracy = converged.seconds, converged.fit, converged.accuracy
    reached = logistic_to_target(data, target, converged) if accuracy >= target else None
    ours = progress["slopelab"].reached

    def ratio(value: float | None) -> float | None:
        return None if value is None or ours is None else value / ours[0]

    theirs = progress["sgd"].reached
    c_value = matched_c(REG, len(data.y_train))
    lbfgs = f"LogisticRegression(lbfgs, C=1/(2 reg N)={c_value:.3g})"
    to_target = (
        f"{seconds_text(reached[0])} (max_iter {reached[1]}: {reached[2]:.1%})"
        if reached
        else f"not reached (converged fit: {accuracy:.1%})"
    )
    rows = [
        heading(
            f"b. time to {target:.0%} test accuracy on {data.description}: training seconds "
            "only, one run each; ratio = seconds / slopelab's"
        ),
        Row(
            f"slopelab LinearClassifier, defaults (auto rate = {learning_rate:.3g}, batch 200, "
            f"reg {REG:g}), epoch by epoch",
            progress["slopelab"].describe(),
            ratio(ours[0] if ours else None),
            depends=TRAINING,
        ),
        Row(
            f"SGDClassifier(log_loss, alpha={2 * REG:g}, n_jobs=2), partial_fit epoch by epoch",
            progress["sgd"].describe(),
            ratio(theirs[0] if theirs else None),
            depends=TRAINING,
        ),
        Row(
            f"{lbfgs}, the smallest max_iter reaching the target (to within 1/8)",
            to_target,
            ratio(reached[0] if reached else None),
            depends=TRAINING,
        ),
        Row(
            f"{lbfgs}, run to convergence (max_iter {max_iter})",
            f"{seconds_text(seconds)}, {fit.describe()}, {accuracy:.1%}",
            ratio(seconds),
            depends=TRAINING,
        ),
    ]
    return rows, converged
