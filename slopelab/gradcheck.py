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

**Differences.** ``numerical_gradient``: centered ``n = (f(x + h) - f(x - h)) / 2h`` (error
O(h^2), the default) or forward ``n = (f(x + h) - f(x)) / h`` (error O(h)). The denominator is
the step actually taken, ``fl(x + h) - x``, so the rounding of ``x + h`` does not leak into the
quotient. ``check_gradient`` evaluates f at ``x +- h/2, x +- h, x +- 2h`` (for kinks, below) and
compares with the Richardson extrapolation of the centered differences ``n(h/2)`` and ``n(h)``,
``(4 n(h/2) - n(h)) / 3`` (error O(h^4): a softmax at h = 1e-3 is still within 1e-7).

**Relative error** (the CS231n notes' formula): ``|a - n| / max(|a|, |n|)``, 0 when both are 0.

**Noise floor.** One evaluation of f carries a rounding error of about ``eps F`` (eps = 2.2e-16)
with ``F = max(|f|, 1)`` over the points evaluated, so a difference quotient carries about
``eps F / h``. The 1 is there because rounding inside f happens at the scale of its intermediate
values, not of its result: a softmax normalizer is >= 1 and an SVM margin holds ``delta = 1``, so
a nearly fitted loss of 1e-8 still rounds like a loss of 1. A row with
``|a - n| <= 10 eps F / h`` (2.2e-10 at h = 1e-5 and F = 1) passes whatever its relative error:
the two values agree to rounding (on the slopelab losses the measured error stays below one
such unit). But only while that floor is at most 1e-4 of the largest slope the check compares:
at a tiny h (or on a gradient buried in a large constant loss) the floor would pass a gradient
50% off, so such a row fails as *unresolved* ("h too small").

**The step h** must be at most 1e-3 for ``check_gradient``: the check compares slopes at x, and
the stencil ``x +- 2h`` only sees them if f does not bend on a shorter scale. At a large h a
smooth logsumexp looks like a max (a kink) and any value between its one-sided slopes passed.
Within the bound, a row where f still bends too fast is *unresolved* and fails, asking for a
smaller h: a flagged kink that is not one clean kink (``slopelab.kinks``), or a smooth row whose
error ``|a - n|`` lies within 10 times the truncation error that the differences over
``h/2, h, 2h`` leave (``|R(h/2, h) - R(h, 2h)| / 15``). ``numerical_gradient`` takes any h > 0:
the web demo sweeps it from 1e-12 to 1 to show truncation and rounding.

**Kinks** (``detect_kinks=True``). A row whose two stencils disagree beyond what a smooth f
explains, and whose values are one kink between two pieces, is a kink (``slopelab.kinks``: how,
and why this design). It is judged by the slopes of the pieces at x, not by relative error: x on
one side of the kink (f differentiable at x) must have its side's slope; a kink at x itself
allows any value between the two (the subgradient interval of BVLC/caffe#1334, from the fitted
pieces rather than the one-sided differences, which smear in ``h f''/2``). Both are widened by the
noise floor and the fit's uncertainty.

Each row is judged by its own kind: a kink row by its slopes, every other row by relative
error against ``tol`` (1e-7). A kink in one coordinate says nothing about the others, so it never
loosens their tolerance (the CS231n notes' "1e-4 is fine with kinks" is for checks that cannot
tell which rows straddle one; see ``slopelab.gradcheck_report``).

**Non-finite values.** A NaN or infinite loss or gradient fails the check (verdict
``"non-finite"``), wherever it shows: the loss at x (then no row is evaluated, since every
stencil holds f(x)), any entry of the analytic gradient (checked rows or not), or f at any
perturbed point (that row fails, naming the point). A step lost in rounding (``x + t == x``
when h is below the spacing of floats near x) fails its row too. ``numerical_gradient`` raises
``InvalidValueError`` on a non-finite value instead of dividing it into a slope.

**Errors.** A bad argument, or an ``f`` that raises or returns the wrong kind of thing, is a
``SlopelabError`` naming it (``f``'s own exception is chained as its cause); no numpy warning
comes from the checker's arithmetic (one raised inside ``f`` is ``f``'s).

**Modes.** ``"sampled"``: ``num_checks`` random coordinates in every parameter array (never from
a concatenated vector, which would miss the biases); ``"all"``: every coordinate;
``"directional"``: one random unit direction ``u`` over all arrays, comparing ``sum(grad * u)``
with the differences of ``t -> f(x + t u)`` (as JAX ``check_grads`` and torch's fast mode; it
can miss errors orthogonal to ``u``, so it complements the sampled mode).
Verdicts and their thresholds live in ``slopelab.gradcheck_report``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.gradcheck_inputs import (
    SINGLE,
    CountingLoss,
    analytic_gradient,
    check_function,
    float64_copies,
)
from slopelab.gradcheck_measure import Sample, measure, point
from slopelab.gradcheck_report import (
    GradCheckReport,
    GradCheckRow,
    coordinate_label,
    magnitude_warnings,
    make_report,
    precision_warnings,
)
from slopelab.validation import check_choice, check_positive

__all__ = [
    "GradCheckReport",
    "GradCheckRow",
    "check_gradient",
    "numerical_gradient",
    "relative_error",
]

TOL_SMOOTH = 1e-7  # every smooth row, whatever the other rows are (gradcheck_report)
MAX_H = 1e-3  # check_gradient: the stencil x +- 2h must not outrun f's bends (see "The step h")
SCHEMES = ("centered", "forward")
MODES = ("sampled", "all", "directional")

Params = dict[str, np.ndarray]


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
        ``x``) has no measurable slope and is NaN, without a warning.

    Raises:
        InvalidValueError: ``f`` returned NaN or infinity at a point it was evaluated at (the
            message names the coordinate and the step: a slope between non-finite values means
            nothing, so it never becomes a gradient entry), ``x + h`` overflows float64, the
            slope itself overflows, or ``f`` raised (its exception is the cause).
        InvalidTypeError: ``f`` is not callable, or params or ``f``'s loss are not numbers.
    """
    check_function(f, "f(params) -> loss (or (loss, grads))")
    _check_step(h)
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
            label = coordinate_label(name, index)
            offsets, values = _values_along_coordinate(loss, array, index, steps)
            _require_finite(offsets, values, label)
            if scheme == "forward":
                offsets, values = np.insert(offsets, 0, 0.0), np.insert(values, 0, loss_at_x)
            grad[index] = _slope(offsets, values, label)
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
    """Compare the analytic gradient of ``f(params) -> (loss, grads)`` with finite differences.

    Args:
        f: returns the loss and gradients shaped like ``params``.
        params: dict of arrays or one array; never modified.
        num_checks: coordinates per parameter array in ``"sampled"`` mode.
        h: finite-difference step, at most 1e-3 (see "The step h" in the module docstring).
        rng: picks coordinates or the direction; default ``np.random.default_rng(0)``.
        mode: ``"sampled"``, ``"all"`` or ``"directional"`` (see the module docstring).
        tol: largest relative error that passes a smooth row, below 1. Kink rows are judged by
            their slopes instead, so a kink never loosens another row's tolerance.
        detect_kinks: evaluate six points per row instead of two: Richardson-extrapolated
            differences, kinks judged by their slopes, rows where h is too large for f flagged.
            Without it, plain centered differences at h and relative error everywhere.

    A NaN or infinite loss or gradient fails the check (verdict ``"non-finite"``): at x (then
    no row is evaluated), in any entry of the analytic gradient, or at any perturbed point.

    >>> report = check_gradient(lambda x: (np.sum(x**3), 3 * x**2), np.arange(1.0, 4.0))
    >>> report.verdict, report.passed, report.evaluations  # 1 + 3 rows * 6
    ('excellent', True, 19)
    """
    check_function(f, "f(params) -> (loss, grads)")
    _check_arguments(num_checks, h, mode, tol, rng, detect_kinks)
    rng = np.random.default_rng(0) if rng is None else rng
    arrays, as_input = float64_copies(params)
    loss = CountingLoss(f, as_input)
    loss_at_x, grads, dtypes = analytic_gradient(loss, arrays, params)
    problems = _problems_at_x(loss_at_x, grads, isinstance(params, Mapping))
    rows: tuple[GradCheckRow, ...] = ()
    if math.isfinite(loss_at_x):  # otherwise every stencil holds f(x): nothing to compare
        measurements = [
            measure(name, index, analytic, sample, loss_at_x, h, detect_kinks)
            for name, index, analytic, sample in _probes(mode, arrays, grads, loss, num_checks, rng)
        ]
        largest_slope = max(row.magnitude for row in measurements)
        rows = tuple(row.judge(tol, largest_slope) for row in measurements)
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


def _slope(offsets: np.ndarray, values: np.ndarray, label: str) -> float:
    """``(f(x + t1) - f(x + t0)) / (t1 - t0)``; NaN when rounding lost the step."""
    (first, last), (at_first, at_last) = offsets, values
    if last == first:
        return math.nan
    with np.errstate(all="ignore"):
        slope = float((at_last - at_first) / (last - first))
    if not math.isfinite(slope):
        raise InvalidValueError(
            f"the slope along {label} overflows float64: f goes from {at_first:.6g} at "
            f"{point(first)} to {at_last:.6g} at {point(last)}; take a larger h or scale f down"
        )
    return slope


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


def _require_finite(offsets: np.ndarray, values: np.ndarray, label: str) -> None:
    """Raise, naming the point, if f was NaN or infinite at one of ``x + offsets``."""
    for offset, value in zip(offsets, values, strict=True):
        if not math.isfinite(value):
            raise _non_finite_loss(value, f"at {point(offset)} along {label}")


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
            with np.errstate(over="ignore"):  # refused just below, before f sees it
                array[index] = original + step
            if not math.isfinite(array[index]):
                raise InvalidValueError(
                    f"x + {step:g} overflows float64 at an entry of {original:.6g}; take a "
                    "smaller h"
                )
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


def _check_step(h: Any, largest: float | None = None) -> None:
    """``h`` is a number > 0 that fits float64, and at most ``largest`` when given."""
    if _huge_int(h) and h > 0:  # beyond what numpy's checks can convert
        if largest is None:
            raise InvalidValueError(f"h must fit float64; got {_shown(h)}")
        h = math.inf
    else:
        check_positive(h, "h")
    if largest is not None and h > largest:
        raise InvalidValueError(
            f"h must be at most {largest:g} for check_gradient; got {h:g}: the check compares "
            "slopes at x, and a smooth f that bends within x +- 2h looks kinked to it "
            "(1e-5 is usual)"
        )


def _huge_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**62


def _shown(value: Any) -> str:
    """``repr(value)``, or ``an integer of 401 digits`` for a huge one."""
    if isinstance(value, int) and abs(value) > 10**20:
        return f"an integer of {len(str(abs(value)))} digits"
    return repr(value)


def _check_arguments(
    num_checks: Any, h: Any, mode: Any, tol: Any, rng: Any, detect_kinks: Any
) -> None:
    if _huge_int(num_checks):  # numpy cannot take it; a huge count means "all of them"
        if num_checks < 0:
            raise InvalidValueError(f"num_checks must be > 0; got {_shown(num_checks)}")
    else:
        check_positive(num_checks, "num_checks", integer=True)
    _check_step(h, MAX_H)
    check_choice(mode, "mode", MODES)
    if isinstance(tol, int | float | np.integer | np.floating) and tol >= 1:
        raise InvalidValueError(
            f"tol must be below 1; got {_shown(tol)}: a relative error of 1 means the two values "
            "differ by their own size, so such a tol passes almost any gradient"
        )
    check_positive(tol, "tol")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise InvalidTypeError(
            "rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
            f"got {rng!r} ({type(rng).__name__})"
        )
    if not isinstance(detect_kinks, bool | np.bool_):
        raise InvalidTypeError(
            f"detect_kinks must be True or False; got {detect_kinks!r} "
            f"({type(detect_kinks).__name__})"
        )
