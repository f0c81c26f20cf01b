"""The tour's gradient step, measured: the lecture's worked example, what a numerical gradient
costs against the analytic one, and a gradient check that passes the loss and fails the CS231n
demo's regularization bug. Words and figures: :mod:`slopelab.tour_report`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from slopelab.data.prepare import Prepared
from slopelab.gradcheck import GradCheckReport, check_gradient, numerical_gradient
from slopelab.linear import init_params
from slopelab.losses import Loss, get_loss
from slopelab.tour_measure import TourSettings

Params = dict[str, np.ndarray]
BUGGY_REG = 0.1  # the demo's bug is only visible when reg * W is not negligible
FULL_NUMERICAL_LIMIT = 5000  # parameters; beyond, the numerical gradient is timed on a sample
TIMED_EVALUATIONS = 200


@dataclass(frozen=True)
class WorkedExample:
    """The lecture's forward difference on one weight: ``(after - before) / h`` against the
    analytic ``dW[index]``."""

    index: tuple[int, int]
    h: float
    before: float
    after: float
    analytic: float

    @property
    def slope(self) -> float:
        return (self.after - self.before) / self.h


@dataclass(frozen=True)
class GradientResult:
    """One gradient on ``num_examples`` examples: seconds analytic and numerical (``estimated``:
    extrapolated from timed loss evaluations), and the two gradient checks."""

    num_examples: int
    analytic_seconds: float
    numeric_seconds: float
    evaluations: int
    estimated: bool
    example: WorkedExample
    check: GradCheckReport
    buggy_check: GradCheckReport
    buggy_reg: float

    @property
    def speedup(self) -> float:
        return self.numeric_seconds / self.analytic_seconds


def measure_gradient(prepared: Prepared, settings: TourSettings) -> GradientResult:
    """All of the gradient step on ``settings.dev_size`` training examples in float64."""
    loss = get_loss(settings.loss)
    rng = np.random.default_rng(settings.seed)
    rows = rng.permutation(len(prepared.y_train))[: settings.dev_size]
    X, y = prepared.X_train[rows].astype(np.float64), prepared.y_train[rows]
    params = init_params(X.shape[1], prepared.dataset.num_classes, rng, scale=1e-2)

    def loss_value(p: Params) -> float:
        data_loss, reg_loss = loss.evaluate(p, X, y, settings.reg)
        return float(data_loss + reg_loss)

    analytic_seconds, grads = time_analytic(loss, params, X, y, settings.reg)
    example = worked_example(loss_value, params, grads)
    numeric_seconds, evaluations, estimated = time_numerical(loss_value, params)
    check = check_gradient(
        lambda p: loss(p, X, y, settings.reg), params, rng=np.random.default_rng(settings.seed)
    )
    buggy = check_gradient(
        regularization_bug(loss, X, y, BUGGY_REG), params, rng=np.random.default_rng(settings.seed)
    )
    return GradientResult(
        len(y),
        analytic_seconds,
        numeric_seconds,
        evaluations,
        estimated,
        example,
        check,
        buggy,
        BUGGY_REG,
    )


def time_analytic(
    loss: Loss, params: Params, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params]:
    """Median seconds of five analytic loss-and-gradient passes, and the gradient."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        parts = loss.parts(params, X, y, reg)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings)), parts.grads


def worked_example(
    loss_value: Callable[[Params], float], params: Params, grads: Params
) -> WorkedExample:
    """The lecture's worked example: nudge the weight with the steepest slope by 1e-4."""
    h = 1e-4
    index = np.unravel_index(np.abs(grads["W"]).argmax(), grads["W"].shape)
    moved = {"W": params["W"].copy(), "b": params["b"]}
    moved["W"][index] += h
    return WorkedExample(
        (int(index[0]), int(index[1])),
        h,
        loss_value(params),
        loss_value(moved),
        float(grads["W"][index]),
    )


def time_numerical(
    loss_value: Callable[[Params], float], params: Params
) -> tuple[float, int, bool]:
    """Seconds for a full forward-difference gradient (one loss evaluation per parameter plus
    one), its evaluations, and whether the time was extrapolated from a sample of evaluations."""
    count = sum(value.size for value in params.values())
    if count <= FULL_NUMERICAL_LIMIT:
        started = time.perf_counter()
        numerical_gradient(loss_value, params, h=1e-5, scheme="forward")
        return time.perf_counter() - started, count + 1, False
    started = time.perf_counter()
    for _ in range(TIMED_EVALUATIONS):
        loss_value(params)
    per_evaluation = (time.perf_counter() - started) / TIMED_EVALUATIONS
    return per_evaluation * (count + 1), count + 1, True


def regularization_bug(
    loss: Loss, X: np.ndarray, y: np.ndarray, reg: float
) -> Callable[[Params], tuple[float, Params]]:
    """The loss with the CS231n web demo's gradient of the penalty: ``0.5 * reg * W`` in place
    of ``2 * reg * W``."""

    def buggy(params: Params) -> tuple[float, Params]:
        value, grads = loss(params, X, y, reg)
        return value, {"W": grads["W"] - 1.5 * reg * params["W"], "b": grads["b"]}

    return buggy
