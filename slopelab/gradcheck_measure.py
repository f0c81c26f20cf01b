"""One row of a gradient check: f along one coordinate (or direction), and what it shows.

:func:`measure` evaluates the stencil and classifies the row; :meth:`Measurement.judge` applies
the tolerance. The formulas, and why, are in the docstrings of ``slopelab.gradcheck`` (the
numerical value, its noise floor and truncation) and ``slopelab.kinks`` (kinks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from slopelab.gradcheck_report import TOO_LARGE, TOO_SMALL, GradCheckRow
from slopelab.kinks import KINK_STENCIL, fit_kink, is_kink

EPS = float(np.finfo(np.float64).eps)
LOSS_UNIT = 1.0  # rounding scale of a loss whose value is tiny (gradcheck: "Noise floor")
NOISE_FLOOR_MULTIPLE = 10.0  # |a - n| below this many eps F / h is rounding noise
TRUNCATION_MULTIPLE = 10.0  # |a - n| below this many estimated truncation errors is unresolved
RESOLUTION = 1e-4  # a noise floor above this fraction of the largest slope resolves nothing

# Steps in units of h.
CENTERED_STENCIL = (-1.0, 0.0, 1.0)

Sample = Callable[[tuple[float, ...]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Measurement:
    """What the stencil along one row showed, before a tolerance is applied."""

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    h: float
    noise_floor: float = math.inf
    truncation: float = 0.0  # |a - n| up to which h, not the gradient, may be to blame
    interval: tuple[float, float] | None = None  # what a kink row's analytic value may be
    kink_at: float | None = None
    kink_slack: float = 0.0  # the uncertainty of the kink's slopes
    kink_misfit: float = 0.0  # the part of kink_slack due to f not being one clean kink
    kink_jump: float = 0.0  # how much the slope changes across the kink
    problem: str | None = None  # why the row cannot be judged
    non_finite: bool = False
    unresolved: str | None = None  # TOO_LARGE or TOO_SMALL: the step does not suit f here

    @property
    def measured(self) -> bool:
        return self.problem is None

    @property
    def magnitude(self) -> float:
        """``max(|a|, |n|)`` of a measured row, and a kink's slopes and jump (0 when not
        measured): the scale of the slopes."""
        if not self.measured:
            return 0.0
        kink = (*self.interval, self.kink_jump) if self.interval else ()
        return max(abs(self.analytic), abs(self.numeric), *map(abs, kink))

    def judge(self, tol: float, largest_slope: float) -> GradCheckRow:
        """Apply ``tol``; ``largest_slope`` (the largest magnitude among the rows) tells
        whether rows at the noise floor resolve anything."""
        with np.errstate(all="ignore"):  # an unmeasured row may hold inf - inf
            abs_error = float(abs(self.analytic - self.numeric))
            rel_error = _relative_error(self.analytic, self.numeric)
        row = self
        passed = False
        at_noise_floor = False
        if not self.measured:
            pass
        elif self.interval is not None:
            passed = self._inside_interval(tol)
            if passed and self.kink_misfit > RESOLUTION * largest_slope:
                passed, row = False, self._kink_too_coarse(largest_slope)
        elif rel_error <= tol:
            passed = True
        elif abs_error <= self.noise_floor:
            at_noise_floor = passed = self.noise_floor <= RESOLUTION * largest_slope
            if not passed:
                row = self._too_small(largest_slope)
        elif abs_error <= self.truncation:
            row = self._too_large(abs_error)
        return GradCheckRow(
            name=row.name,
            index=row.index,
            analytic=row.analytic,
            numeric=row.numeric,
            rel_error=rel_error,
            abs_error=abs_error,
            kink=row.interval is not None,
            passed=bool(passed),
            interval=row.interval,
            noise_floor=row.noise_floor,
            at_noise_floor=bool(at_noise_floor),
            problem=row.problem,
            non_finite=row.non_finite,
            kink_at=row.kink_at,
            unresolved=row.unresolved,
        )

    def _inside_interval(self, tol: float) -> bool:
        low, high = self.interval or (math.nan, math.nan)
        scale = max(abs(self.analytic), abs(low), abs(high))
        slack = max(self.noise_floor, self.kink_slack, tol * scale)
        return bool(low - slack <= self.analytic <= high + slack)

    def _kink_too_coarse(self, largest_slope: float) -> Measurement:
        problem = (
            f"f bends too fast for h = {self.h:g} here: the pieces beside the kink at "
            f"{point(self.kink_at or 0.0)} fit only to +-{self.kink_misfit:.1e} in slope, more "
            f"than {RESOLUTION:.0e} of the largest slope checked ({largest_slope:.1e})"
        )
        return replace(self, problem=problem, unresolved=TOO_LARGE, interval=None)

    def _too_small(self, largest_slope: float) -> Measurement:
        problem = (
            f"rounding noise in the differences (up to {self.noise_floor:.1e}) exceeds "
            f"{RESOLUTION:.0e} of the largest slope checked ({largest_slope:.1e}): at "
            f"h = {self.h:g} an error that size would go unseen"
        )
        return replace(self, problem=problem, unresolved=TOO_SMALL)

    def _too_large(self, abs_error: float) -> Measurement:
        problem = (
            f"f bends too fast for h = {self.h:g} here: the differences over h/2, h and 2h "
            f"leave {self.truncation / TRUNCATION_MULTIPLE:.1e} of truncation error, and "
            f"|a - n| = {abs_error:.1e} is within {TRUNCATION_MULTIPLE:g} times that"
        )
        return replace(self, problem=problem, unresolved=TOO_LARGE)


def measure(
    name: str,
    index: tuple[int, ...],
    analytic: float,
    sample: Sample,
    loss_at_x: float,
    h: float,
    detect_kinks: bool,
) -> Measurement:
    """Evaluate the stencil along one row and classify it: smooth, kink, or not judgeable."""
    stencil = KINK_STENCIL if detect_kinks else CENTERED_STENCIL
    center = stencil.index(0.0)
    offsets, values = sample(tuple(h * step for step in stencil if step != 0.0))
    offsets, values = np.insert(offsets, center, 0.0), np.insert(values, center, loss_at_x)
    centered = _centered(offsets, values, stencil.index(-1.0), stencil.index(1.0))
    row = Measurement(name, index, analytic, centered, h)
    problem, non_finite = _stencil_problem(offsets, values, analytic, centered)
    if problem is not None:
        return replace(row, problem=problem, non_finite=non_finite)
    rounding = EPS * max(float(np.abs(values).max()), LOSS_UNIT)  # eps F
    row = replace(row, noise_floor=NOISE_FLOOR_MULTIPLE * rounding / h)
    if not detect_kinks:
        return row
    if not is_kink(offsets, values, h, rounding):
        numeric, truncation = _richardson(offsets, values)
        if not math.isfinite(numeric):
            return replace(row, problem="the difference of f's values overflows float64")
        return replace(row, numeric=numeric, truncation=TRUNCATION_MULTIPLE * truncation)
    fit = fit_kink(offsets, values, h, rounding)
    if fit is None:
        problem = (
            f"f bends within x +- {2 * h:g} more than a smooth curve or one kink explains: "
            f"h = {h:g} is too large here (or two kinks are that close)"
        )
        return replace(row, problem=problem, unresolved=TOO_LARGE)
    low, high = fit.allowed()
    numeric = low if low == high else centered  # the slope x's side has, when it has one
    return replace(
        row,
        numeric=numeric,
        interval=(low, high),
        kink_at=fit.at,
        kink_slack=fit.slope_uncertainty,
        kink_misfit=fit.misfit,
        kink_jump=fit.jump,
    )


def _centered(offsets: np.ndarray, values: np.ndarray, minus: int, plus: int) -> float:
    with np.errstate(all="ignore"):  # a lost step divides by 0; it is reported, not used
        return float((values[plus] - values[minus]) / (offsets[plus] - offsets[minus]))


def _richardson(offsets: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """The extrapolated slope from the centered differences over ``+-h/2`` and ``+-h``, and
    the estimate of its truncation error (from the same over ``+-h`` and ``+-2h``)."""
    half, one, two = (_half_width_and_slope(offsets, values, k) for k in (2, 1, 0))
    numeric = _eliminate_square_term(half, one)
    coarser = _eliminate_square_term(one, two)
    with np.errstate(all="ignore"):
        truncation = abs(numeric - coarser) / 15.0  # the coarser one errs 16 times as much
    return numeric, truncation if math.isfinite(truncation) else math.inf


def _half_width_and_slope(offsets: np.ndarray, values: np.ndarray, k: int) -> tuple[float, float]:
    """Points ``k`` and ``-1 - k`` of the stencil: half their distance, and the slope."""
    width = float(offsets[-1 - k] - offsets[k])
    return width / 2, _centered(offsets, values, k, len(offsets) - 1 - k)


def _eliminate_square_term(fine: tuple[float, float], coarse: tuple[float, float]) -> float:
    """``n(s) = f' + C s^2 + O(s^4)`` at two widths: ``(n1 - r n2) / (1 - r)``, ``r = (s1/s2)^2``
    (a ratio, since the squares of a tiny h underflow)."""
    (s1, n1), (s2, n2) = fine, coarse
    ratio = (s1 / s2) ** 2
    with np.errstate(all="ignore"):
        return float((n1 - ratio * n2) / (1.0 - ratio))


def _stencil_problem(
    offsets: np.ndarray, values: np.ndarray, analytic: float, centered: float
) -> tuple[str | None, bool]:
    """Why a row cannot be measured, and whether that is a non-finite value; ``(None, False)``
    when it can. Offsets are the steps actually taken, so a step lost in rounding repeats one."""
    if not math.isfinite(analytic):
        return f"the analytic value is {analytic}", True
    for offset, value in zip(offsets, values, strict=True):
        if not math.isfinite(value):
            return f"f is {value} at {point(offset)}", True
    if not np.all(np.isfinite(offsets)) or not np.all(np.diff(offsets) > 0):
        return "h is lost in rounding: x + t repeats a point for two steps t", False
    if not math.isfinite(centered):
        return "the difference of f's values overflows float64", False
    return None, False


def point(offset: float) -> str:
    """``x + 1e-05``, ``x - 2e-05``, or ``x`` itself."""
    if offset == 0.0:
        return "x"
    return f"x {'-' if offset < 0 else '+'} {abs(offset):.3g}"


def _relative_error(analytic: float, numeric: float) -> float:
    scale = max(abs(analytic), abs(numeric))
    return 0.0 if scale == 0.0 else float(abs(analytic - numeric) / scale)
