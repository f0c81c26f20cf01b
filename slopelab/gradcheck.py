"""Finite-difference gradient checks: does the analytic gradient match the loss?

``numerical_gradient(f, params)`` estimates ``df/dparams`` from loss values alone;
``check_gradient(f, params)`` compares it with the gradient that ``f`` returns and gives a verdict.
``params`` is a dict of arrays (``{"W": (D, C), "b": (C,)}``) or one array. Both call ``f`` on
float64 copies and perturb one entry at a time, restoring it exactly, so the caller's arrays are
never touched and ``f`` never sees two perturbed entries.

The lecture's worked example: the loss is 1.25347; moving ``W[0, 0]`` by h = 0.0001 gives
1.25322, so the slope along that dimension is (1.25322 - 1.25347) / 0.0001 = -2.5.

>>> def loss(params):
...     return 1.25347 - 2.5 * float(params["W"][0, 0])
>>> params = {"W": np.zeros((2, 3))}
>>> moved = {"W": np.array([[0.0001, 0, 0], [0, 0, 0]])}
>>> round(loss(params), 5), round(loss(moved), 5)
(1.25347, 1.25322)
>>> grads = numerical_gradient(loss, params, h=0.0001, scheme="forward")
>>> round(float(grads["W"][0, 0]), 6), float(grads["W"][1, 2])
(-2.5, 0.0)

**Differences.** Centered ``n = (f(x + h) - f(x - h)) / 2h`` (error O(h^2), the default) or
forward ``n = (f(x + h) - f(x)) / h`` (error O(h)). The denominator is the step actually taken,
``fl(x + h) - x``, so the rounding of ``x + h`` does not leak into the quotient.

**Relative error** (the CS231n notes' formula): ``|a - n| / max(|a|, |n|)``, 0 when both are 0.

**Noise floor.** One evaluation of f carries a rounding error of about ``eps F`` (eps = 2.2e-16)
with ``F = max(|f|, 1)`` over the points evaluated, so a difference quotient carries about
``eps F / h``. The 1 is there because rounding inside f happens at the scale of its intermediate
values, not of its result: a softmax normalizer is >= 1 and an SVM margin holds ``delta = 1``, so
a nearly fitted loss of 1e-8 still rounds like a loss of 1. A row with
``|a - n| <= 10 eps F / h`` (2.2e-10 at h = 1e-5 and F = 1) passes whatever its relative error:
the two values agree to rounding (on the slopelab losses the measured error stays below one
such unit). The notes call gradients this small worrying; the report warns about them.

**Kinks** (``detect_kinks=True``). f is also evaluated at ``x + t`` for t = -2h, -h/2, h/2, 2h
(six calls per row instead of two), and a row whose two stencils disagree beyond what a
smooth f explains is a kink (how, and why this design: ``slopelab.kinks``).

A kink row is judged by the subgradient interval check of BVLC/caffe#1334, not by relative
error: the analytic value must lie between the one-sided slopes ``(f(x) - f(x - h)) / h`` and
``(f(x + h) - f(x)) / h``, widened by the noise floor. On a convex f (every loss here) each
subgradient at x lies there, so a correct gradient passes and a wrong one still fails; on a
non-convex f a correct value can miss the interval by about ``h |f''|``.

Each row is judged by its own kind: a kink row by its interval, every other row by relative
error against ``tol`` (1e-7). A kink in one coordinate says nothing about the others, so it never
loosens their tolerance (the CS231n notes' "1e-4 is fine with kinks" is for checks that cannot
tell which rows straddle one; see ``slopelab.gradcheck_report``).

**Non-finite values.** A NaN or infinite loss or gradient fails the check (verdict
``"non-finite"``), wherever it shows: the loss at x (then no row is evaluated, since every
stencil holds f(x)), any entry of the analytic gradient (checked rows or not), or f at any
perturbed point (that row fails, naming the point). A step lost in rounding (``x + t == x``
when h is below the spacing of floats near x) fails its row too. ``numerical_gradient`` raises
``InvalidValueError`` on a non-finite value instead of dividing it into a slope.

**Modes.** ``"sampled"``: ``num_checks`` random coordinates in every parameter array (never from
a concatenated vector, which would miss the biases); ``"all"``: every coordinate;
``"directional"``: one random unit direction ``u`` over all arrays, comparing ``sum(grad * u)``
with the centered difference of ``t -> f(x + t u)`` (as JAX ``check_grads`` and torch's fast
mode; it can miss errors orthogonal to ``u``, so it complements the sampled mode).
Verdicts and their thresholds live in ``slopelab.gradcheck_report``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.gradcheck_inputs import (
    SINGLE,
    CountingLoss,
    analytic_gradient,
    float64_copies,
)
from slopelab.gradcheck_report import (
    GradCheckReport,
    GradCheckRow,
    coordinate_label,
    magnitude_warnings,
    make_report,
    precision_warnings,
)
from slopelab.kinks import KINK_STENCIL, is_kink
from slopelab.validation import check_choice, check_positive

__all__ = [
    "GradCheckReport",
    "GradCheckRow",
    "check_gradient",
    "numerical_gradient",
    "relative_error",
]

EPS = float(np.finfo(np.float64).eps)
LOSS_UNIT = 1.0  # rounding scale of a loss whose value is tiny (see "Noise floor")
NOISE_FLOOR_MULTIPLE = 10.0  # |a - n| below this many eps F / h is rounding noise
TOL_SMOOTH = 1e-7  # every smooth row, whatever the other rows are (gradcheck_report)
SCHEMES = ("centered", "forward")
MODES = ("sampled", "all", "directional")

# Steps in units of h.
CENTERED_STENCIL = (-1.0, 0.0, 1.0)

Params = dict[str, np.ndarray]
Sample = Callable[[tuple[float, ...]], tuple[np.ndarray, np.ndarray]]


def numerical_gradient(
    f: Callable[[Any], Any],
    params: Mapping[str, np.ndarray] | np.ndarray,
    h: float = 1e-5,
    scheme: str = "centered",
) -> Params | np.ndarray:
    """Finite-difference gradient of ``f(params) -> float`` (or ``-> (loss, grads)``).

    Centered ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h``, or forward
    ``(f(x + h e_i) - f(x)) / h``; one entry perturbed at a time, on float64 copies.

    Returns:
        float64 gradients shaped like ``params``: a dict, or an array if ``params`` is one.
        An entry where ``x + h`` rounds back to ``x`` (``h`` below the spacing of floats near
        ``x``) has no measurable slope and is NaN (numpy warns about the 0/0).

    Raises:
        InvalidValueError: ``f`` returned NaN or infinity at a point it was evaluated at; the
            message names the coordinate and the step. A slope between non-finite values means
            nothing, so it never becomes a gradient entry.
    """
    check_positive(h, "h")
    check_choice(scheme, "scheme", SCHEMES)
    arrays, as_input = float64_copies(params)
    loss = CountingLoss(f, as_input)
    steps = (-h, h) if scheme == "centered" else (h,)
    loss_at_x = loss() if scheme == "forward" else 0.0
    if not math.isfinite(loss_at_x):
        raise _non_finite_loss(loss_at_x, "at x (params itself)")
    grads = {}
    for name, array in arrays.items():
        grad = np.empty_like(array)
        for index in np.ndindex(array.shape):
            offsets, values = _values_along_coordinate(loss, array, index, steps)
            _require_finite(offsets, values, coordinate_label(name, index))
            if scheme == "centered":
                grad[index] = (values[1] - values[0]) / (offsets[1] - offsets[0])
            else:
                grad[index] = (values[0] - loss_at_x) / offsets[0]
        grads[name] = grad
    return grads if isinstance(params, Mapping) else grads[SINGLE]


def check_gradient(
    f: Callable[[Any], tuple[Any, Any]],
    params: Mapping[str, np.ndarray] | np.ndarray,
    *,
    num_checks: int = 10,
    h: float = 1e-5,
    rng: np.random.Generator | None = None,
    mode: str = "sampled",
    tol: float = TOL_SMOOTH,
    detect_kinks: bool = True,
) -> GradCheckReport:
    """Compare the analytic gradient of ``f(params) -> (loss, grads)`` with centered differences.

    Args:
        f: returns the loss and gradients shaped like ``params``.
        params: dict of arrays or one array; never modified.
        num_checks: coordinates per parameter array in ``"sampled"`` mode.
        h: finite-difference step.
        rng: picks coordinates or the direction; default ``np.random.default_rng(0)``.
        mode: ``"sampled"``, ``"all"`` or ``"directional"`` (see the module docstring).
        tol: largest relative error that passes a smooth row. Kink rows are judged by their
            subgradient interval instead, so a kink never loosens another row's tolerance.
        detect_kinks: evaluate six points per row instead of two, flag kinks and judge them
            by their subgradient interval instead of relative error.

    A NaN or infinite loss or gradient fails the check (verdict ``"non-finite"``): at x (then
    no row is evaluated), in any entry of the analytic gradient, or at any perturbed point.

    >>> report = check_gradient(lambda x: (np.sum(x**3), 3 * x**2), np.arange(1.0, 4.0))
    >>> report.verdict, report.passed, report.evaluations  # 1 + 3 rows * 6
    ('excellent', True, 19)
    """
    _check_arguments(num_checks, h, mode, tol, rng)
    rng = np.random.default_rng(0) if rng is None else rng
    arrays, as_input = float64_copies(params)
    loss = CountingLoss(f, as_input)
    loss_at_x, grads, dtypes = analytic_gradient(loss, arrays, params)
    problems = _problems_at_x(loss_at_x, grads, isinstance(params, Mapping))
    rows: tuple[GradCheckRow, ...] = ()
    if math.isfinite(loss_at_x):  # otherwise every stencil holds f(x): nothing to compare
        rows = tuple(
            _measure(name, index, analytic, sample, loss_at_x, h, detect_kinks).judge(tol)
            for name, index, analytic, sample in _probes(mode, arrays, grads, loss, num_checks, rng)
        )
    warnings = precision_warnings(dtypes) + magnitude_warnings(rows)
    return make_report(
        rows,
        h=h,
        mode=mode,
        tol=tol,
        evaluations=loss.calls,
        warnings=warnings,
        problems=problems,
    )


def relative_error(analytic: float, numeric: float) -> float:
    """``|a - n| / max(|a|, |n|)``, and 0 when both are 0 (the CS231n notes' formula).

    >>> relative_error(2.0, 1.0), relative_error(0.0, 0.0)
    (0.5, 0.0)
    """
    scale = max(abs(analytic), abs(numeric))
    return 0.0 if scale == 0.0 else abs(analytic - numeric) / scale


@dataclass(frozen=True)
class _Measurement:
    """What the stencil along one row showed, before a tolerance is applied."""

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    noise_floor: float
    interval: tuple[float, float] | None  # one-sided slopes, for kink rows only
    problem: str | None = None  # why the row could not be measured
    non_finite: bool = False

    @property
    def kink(self) -> bool:
        return self.interval is not None

    def judge(self, tol: float) -> GradCheckRow:
        with np.errstate(all="ignore"):  # an unmeasured row may hold inf - inf
            abs_error = abs(self.analytic - self.numeric)
            rel_error = relative_error(self.analytic, self.numeric)
        measured = self.problem is None
        at_noise_floor = (
            measured and not self.kink and rel_error > tol and abs_error <= self.noise_floor
        )
        if not measured:
            passed = False
        elif self.interval is not None:
            low, high = self.interval
            passed = low - self.noise_floor <= self.analytic <= high + self.noise_floor
        else:
            passed = rel_error <= tol or at_noise_floor
        return GradCheckRow(
            name=self.name,
            index=self.index,
            analytic=self.analytic,
            numeric=self.numeric,
            rel_error=rel_error,
            abs_error=abs_error,
            kink=self.kink,
            passed=bool(passed),
            interval=self.interval,
            noise_floor=self.noise_floor,
            at_noise_floor=bool(at_noise_floor),
            problem=self.problem,
            non_finite=self.non_finite,
        )


def _measure(
    name: str,
    index: tuple[int, ...],
    analytic: float,
    sample: Sample,
    loss_at_x: float,
    h: float,
    detect_kinks: bool,
) -> _Measurement:
    """Evaluate the stencil along one row: centered difference, noise floor, kink interval."""
    stencil = KINK_STENCIL if detect_kinks else CENTERED_STENCIL
    center, minus, plus = stencil.index(0.0), stencil.index(-1.0), stencil.index(1.0)
    offsets, values = sample(tuple(h * step for step in stencil if step != 0.0))
    offsets, values = np.insert(offsets, center, 0.0), np.insert(values, center, loss_at_x)
    with np.errstate(all="ignore"):  # a lost step divides by 0; it is reported, not used
        numeric = float((values[plus] - values[minus]) / (offsets[plus] - offsets[minus]))
    problem, non_finite = _stencil_problem(offsets, values, analytic)
    if problem is not None:
        return _Measurement(name, index, analytic, numeric, math.inf, None, problem, non_finite)
    rounding = EPS * max(float(np.abs(values).max()), LOSS_UNIT)  # eps F
    noise_floor = NOISE_FLOOR_MULTIPLE * rounding / h
    interval = None
    if detect_kinks and is_kink(offsets, values, h, rounding):
        left = (values[center] - values[minus]) / (offsets[center] - offsets[minus])
        right = (values[plus] - values[center]) / (offsets[plus] - offsets[center])
        interval = (float(min(left, right)), float(max(left, right)))
    return _Measurement(name, index, analytic, numeric, noise_floor, interval)


def _stencil_problem(
    offsets: np.ndarray, values: np.ndarray, analytic: float
) -> tuple[str | None, bool]:
    """Why a row cannot be measured, and whether that is a non-finite value; ``(None, False)``
    when it can. Offsets are the steps actually taken, so a step lost in rounding repeats one."""
    if not math.isfinite(analytic):
        return f"the analytic value is {analytic}", True
    for offset, value in zip(offsets, values, strict=True):
        if not math.isfinite(value):
            return f"f is {value} at {_point(offset)}", True
    if not np.all(np.isfinite(offsets)) or not np.all(np.diff(offsets) > 0):
        return "h is lost in rounding: x + t repeats a point for two steps t", False
    return None, False


def _problems_at_x(loss_at_x: float, grads: Params, named: bool) -> tuple[str, ...]:
    """What is NaN or infinite at x: the loss, and each gradient array with a bad entry."""
    problems = []
    if not math.isfinite(loss_at_x):
        problems.append(f"f returned a loss of {loss_at_x} at params, the point being checked")
    for name, grad in grads.items():
        bad = ~np.isfinite(grad)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            label = f"grads[{name!r}]" if named else "the gradient"
            where = f"{label}[{', '.join(map(str, first))}]" if first else label
            problems.append(
                f"{where} is {grad[first]} ({int(bad.sum())} of {grad.size} entries not finite)"
            )
    return tuple(problems)


def _point(offset: float) -> str:
    """``x + 1e-05``, ``x - 2e-05``, or ``x`` itself."""
    if offset == 0.0:
        return "x"
    return f"x {'-' if offset < 0 else '+'} {abs(offset):.3g}"


def _require_finite(offsets: np.ndarray, values: np.ndarray, label: str) -> None:
    """Raise, naming the point, if f was NaN or infinite at one of ``x + offsets``."""
    for offset, value in zip(offsets, values, strict=True):
        if not math.isfinite(value):
            raise _non_finite_loss(value, f"at {_point(offset)} along {label}")


def _non_finite_loss(value: float, where: str) -> InvalidValueError:
    return InvalidValueError(
        f"f returned {value} {where}; a finite difference needs finite loss values: look "
        "for log(0), exp overflow or division by 0 in f near that point"
    )


def _probes(
    mode: str,
    arrays: Params,
    grads: Params,
    loss: CountingLoss,
    num_checks: int,
    rng: np.random.Generator,
) -> Iterator[tuple[str, tuple[int, ...], float, Sample]]:
    """``(name, index, analytic value, sample)`` for each row; ``sample(steps)`` evaluates f."""
    if mode == "directional":
        direction = _random_unit_direction(arrays, rng)
        analytic = sum(float(np.vdot(grads[name], u)) for name, u in direction.items())
        yield "direction", (), analytic, partial(_values_along_direction, loss, arrays, direction)
        return
    for name, array in arrays.items():
        for index in _coordinates(array.shape, mode, num_checks, rng):
            sample = partial(_values_along_coordinate, loss, array, index)
            yield name, index, float(grads[name][index]), sample


def _coordinates(
    shape: tuple[int, ...], mode: str, num_checks: int, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """Every index, or ``num_checks`` distinct random ones, in C order."""
    size = int(np.prod(shape))
    if mode == "all":
        flat = np.arange(size)
    else:
        flat = np.sort(rng.choice(size, min(num_checks, size), replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def _random_unit_direction(arrays: Params, rng: np.random.Generator) -> Params:
    """``u ~ N(0, I)`` over all arrays together, scaled to unit length."""
    direction = {name: rng.standard_normal(array.shape) for name, array in arrays.items()}
    norm = np.sqrt(sum(np.vdot(u, u) for u in direction.values()))
    return {name: u / norm for name, u in direction.items()}


def _values_along_coordinate(
    loss: CountingLoss, array: np.ndarray, index: tuple[int, ...], steps: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """f at ``x + t e_i`` for each step, with the step actually taken after rounding."""
    original = array[index]
    offsets, values = [], []
    try:
        for step in steps:
            array[index] = original + step
            offsets.append(array[index] - original)
            values.append(loss())
    finally:
        array[index] = original  # exact: (x + h) - h need not round back to x
    return np.array(offsets), np.array(values)


def _values_along_direction(
    loss: CountingLoss, arrays: Params, direction: Params, steps: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """f at ``x + t u`` for each step; every array is restored from a copy afterwards."""
    originals = {name: array.copy() for name, array in arrays.items()}
    values = []
    try:
        for step in steps:
            for name, array in arrays.items():
                np.add(originals[name], step * direction[name], out=array)
            values.append(loss())
    finally:
        for name, array in arrays.items():
            np.copyto(array, originals[name])
    return np.array(steps, dtype=np.float64), np.array(values)


def _check_arguments(num_checks: Any, h: Any, mode: Any, tol: Any, rng: Any) -> None:
    check_positive(num_checks, "num_checks", integer=True)
    check_positive(h, "h")
    check_choice(mode, "mode", MODES)
    check_positive(tol, "tol")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise InvalidTypeError(
            "rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
            f"got {rng!r} ({type(rng).__name__})"
        )
