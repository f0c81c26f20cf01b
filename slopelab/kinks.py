"""Kinks: is f non-differentiable near x? Told from f's values on two stencils alone.

The gradient checker (``slopelab.gradcheck``) evaluates f at ``x + t`` for t = -2h, -h/2, h/2,
2h besides x and x +- h (six calls per row instead of two), giving two five-point stencils
around x with spacings ``s = h`` and ``s = h/2``. On each, scaled divided differences of the
values give::

    D3(s) = -f(-2s) + 2 f(-s) - 2 f(s) + f(2s)           smooth f: 2 s^3 f''' + O(s^5)
    D4(s) = f(-2s) - 4 f(-s) + 6 f(0) - 4 f(s) + f(2s)   smooth f: s^4 f'''' + O(s^6)

Both ignore quadratics, so a large ``reg`` cannot hide a kink. For a smooth f they scale like
``s^3`` and ``s^4``, while a kink (slope jump ``delta``) contributes ``delta s`` times a function
of where it sits. Comparing the two spacings cancels the smooth part and keeps the kink::

    R3 = D3(h) - 8 D3(h/2)      smooth f: ~ 0.375 h^5 f^(5)
    R4 = D4(h) - 16 D4(h/2)     smooth f: ~ 0.125 h^6 f^(6)

For a kink anywhere in ``[x - 1.5h, x + 1.5h]``, ``R = max(|R3|, |R4|) >= 0.357 delta h`` and
``R >= 0.385 max(|D3(h)|, |D4(h)|)``: the worst case over the kink's position, found
numerically; no position is blind. No smooth f explains the stencils (:func:`is_kink`) when::

    R > 1000 eps F                    above rounding noise (measured below 210 eps F)
    R > 0.1 max(|D3(h)|, |D4(h)|)     not a smooth f that varies within the stencil: for
                                      exp(k x) the ratio is 0.002 at k h = 0.1, 0.045 at 0.5

**One kink, or a bend too sharp for h?** These asymptotics assume h is small against the scale
on which f's derivatives change. A smooth f that bends on a shorter scale (a logsumexp at
h = 3, a softmax of raw pixels at h = 1e-2) breaks them just as a kink does, and judging it by
the wide range between its one-sided slopes passed a gradient that was 50% off. So a flagged
row counts as a kink only if the seven values are one kink between two pieces
(:func:`fit_kink`): a shared quadratic plus ``d (u - c)+`` (u = t / h) with the break in one of
the six gaps between neighbouring points, fitted by least squares, and::

    max |residual| <= max(100 eps F, 1e-3 |d|)     d: the slope jump times h

A hinge with polynomial pieces (an SVM margin, an L1 term) fits to rounding, and smooth pieces
leave about ``h^3 f'''``. A logsumexp whose bend spans the stencil leaves 1-2% of ``|d|``, one
ten times narrower than h still 0.1%: no kink at this h. Two kinks within ``x +- 2h`` do not
fit either. Such rows are left *unresolved* by the checker (they fail, asking for a smaller h).

**Which slope?** The fit locates the kink at ``x + c`` and gives each piece's slope at x, with
uncertainties propagated from rounding and the residual. When x lies on one side of the kink
beyond that uncertainty, f is differentiable at x and its derivative is the slope of x's piece;
only a kink at x itself allows any value between the two slopes (the Clarke subdifferential).
A bend mistaken for a kink still fails then: its pieces' slopes at x are far from f'(x).

Why not one least-squares parabola through -2h..2h against the noise (the first design): its
residual holds the ``2 h^3 f'''`` of every smooth f, which beats rounding noise for exp(10 x) at
h = 1e-5 and exp(3 x) at h = 1e-4. One stencil alone cannot do it either: five equally spaced
values with a kink ``2s/3`` from x lie exactly on a cubic (D4 = 0), so that kink looks like
steep smooth curvature, which a large ``reg`` or a steep softmax also produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINK_NOISE_MULTIPLE = 1000.0  # R above this many eps F is a real signal
KINK_RATIO = 0.1  # R / max(|D3|, |D4|) above this is not a smooth f
FIT_NOISE_MULTIPLE = 100.0  # a fit residual below this many eps F is rounding
FIT_RATIO = 1e-3  # a residual above this fraction of the jump d is not one clean kink
UNCERTAINTY_MULTIPLE = 10.0  # rounding and residual, propagated to the slopes and the position

# Steps in units of h: a coarse (spacing h) and a fine (h/2) five-point stencil, sharing x.
KINK_STENCIL = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
COARSE, FINE = [0, 1, 3, 5, 6], [1, 2, 3, 4, 5]
CENTER = KINK_STENCIL.index(0.0)


@dataclass(frozen=True)
class KinkFit:
    """One kink at ``x + at`` between two pieces, and each piece's slope at x.

    A slope is NaN when its piece holds one point only (a kink between ``x - 2h`` and
    ``x - h``, or between ``x + h`` and ``x + 2h``): x is then on the other piece, and ``jump``
    (the change of slope across the kink) is only known to be at least as large as given.
    """

    at: float
    at_uncertainty: float
    left_slope: float
    right_slope: float
    slope_uncertainty: float  # from rounding and from the residual together
    misfit: float  # the part of it from the residual: how far f is from one clean kink
    jump: float

    @property
    def at_x(self) -> bool:
        """Whether the kink sits at x itself, as far as the stencil can tell."""
        return abs(self.at) <= self.at_uncertainty

    def allowed(self) -> tuple[float, float]:
        """``(low, high)``: what the derivative may be at x. Both slopes when the kink is at x;
        the slope of x's piece (``low == high``) otherwise."""
        if self.at_x:
            low, high = sorted((self.left_slope, self.right_slope))
            return low, high
        slope = self.left_slope if self.at > 0 else self.right_slope
        return slope, slope


def is_kink(offsets: np.ndarray, values: np.ndarray, h: float, rounding: float) -> bool:
    """No smooth f explains the two stencils: ``R`` above noise and above the smooth scale.

    True for a kink, and for a smooth f that bends within the stencil; :func:`fit_kink` tells
    the two apart.
    """
    with np.errstate(all="ignore"):  # values near the float64 limit overflow: no smooth fit
        d3_coarse, d4_coarse = _kink_statistics(offsets[COARSE], values[COARSE], h)
        d3_fine, d4_fine = _kink_statistics(offsets[FINE], values[FINE], h / 2)
        beyond_smooth = max(abs(d3_coarse - 8 * d3_fine), abs(d4_coarse - 16 * d4_fine))  # R
        smooth_scale = KINK_RATIO * max(abs(d3_coarse), abs(d4_coarse))
    if not math.isfinite(beyond_smooth + smooth_scale):
        return True
    return bool(beyond_smooth > max(KINK_NOISE_MULTIPLE * rounding, smooth_scale))


def fit_kink(offsets: np.ndarray, values: np.ndarray, h: float, rounding: float) -> KinkFit | None:
    """The single kink that explains the seven values, or ``None`` when none does (f bends
    faster than the stencil resolves, or holds two kinks: the module docstring)."""
    u = offsets / h  # the steps actually taken, in units of h
    with np.errstate(all="ignore"):
        w = values - values[CENTER]
    fits = [_fit_gap(u, w, gap, rounding) for gap in range(len(u) - 1)]
    fits = [fit for fit in fits if fit is not None]
    if not fits:
        return None
    residual, signal, fit = min(fits, key=lambda item: item[0])
    if not residual <= max(FIT_NOISE_MULTIPLE * rounding, FIT_RATIO * signal):
        return None
    return KinkFit(
        at=fit.at * h,
        at_uncertainty=fit.at_uncertainty * h,
        left_slope=fit.left_slope / h,
        right_slope=fit.right_slope / h,
        slope_uncertainty=fit.slope_uncertainty / h,
        misfit=fit.misfit / h,
        jump=fit.jump / h,
    )


Fit = tuple[float, float, KinkFit]  # (max |residual|, kink signal, fit in units of h)


def _fit_gap(u: np.ndarray, w: np.ndarray, gap: int, rounding: float) -> Fit | None:
    """The kink between points ``gap`` and ``gap + 1``: ``None`` if the fitted pieces meet
    outside that gap (then they are not one kink) or the values overflow."""
    right = np.arange(len(u)) > gap
    if gap in (0, len(u) - 2):
        return _fit_outer_gap(u, w, gap, right, rounding)
    design = np.column_stack([np.ones_like(u), u, u * u, right * u, right.astype(np.float64)])
    inverse = np.linalg.pinv(design)
    with np.errstate(all="ignore"):
        coefficients = inverse @ w
        _, b, _, d, e = coefficients
        residual = float(np.abs(w - design @ coefficients).max())
        at = -e / d
        error = UNCERTAINTY_MULTIPLE * (rounding + residual)  # per value
        at_uncertainty = error * float(np.linalg.norm(inverse[4] / d - (e / d**2) * inverse[3]))
    inside = u[gap] - at_uncertainty <= at <= u[gap + 1] + at_uncertainty
    if not (math.isfinite(at + at_uncertainty + residual) and inside):
        return None
    amplification = max(
        float(np.linalg.norm(inverse[1])), float(np.linalg.norm(inverse[1] + inverse[3]))
    )
    jump = abs(float(d))
    misfit = UNCERTAINTY_MULTIPLE * _beyond_rounding(residual, rounding) * amplification
    fit = KinkFit(
        float(at), at_uncertainty, float(b), float(b + d), error * amplification, misfit, jump
    )
    return residual, jump, fit


def _fit_outer_gap(
    u: np.ndarray, w: np.ndarray, gap: int, right: np.ndarray, rounding: float
) -> Fit | None:
    """A kink beyond ``x +- h``: x's piece is the quadratic through the six other points; the
    lone point's distance from it is the kink's signal."""
    inner = right if gap == 0 else ~right
    outer = int(np.flatnonzero(~inner)[0])
    design = np.column_stack([np.ones(int(inner.sum())), u[inner], u[inner] ** 2])
    inverse = np.linalg.pinv(design)
    with np.errstate(all="ignore"):
        coefficients = inverse @ w[inner]
        residual = float(np.abs(w[inner] - design @ coefficients).max())
        a, b, q = coefficients
        deviation = abs(float(w[outer] - (a + b * u[outer] + q * u[outer] ** 2)))
    if not math.isfinite(residual + deviation):
        return None
    amplification = UNCERTAINTY_MULTIPLE * float(np.linalg.norm(inverse[1]))
    middle, half_width = (u[gap] + u[gap + 1]) / 2, (u[gap + 1] - u[gap]) / 2
    slopes = (math.nan, float(b)) if gap == 0 else (float(b), math.nan)
    # the lone point is d (c - u) off x's piece, with |c - u| < 1: so |d| > deviation
    fit = KinkFit(
        float(middle),
        float(half_width),
        *slopes,
        slope_uncertainty=amplification * (rounding + residual),
        misfit=amplification * _beyond_rounding(residual, rounding),
        jump=deviation,
    )
    return residual, deviation, fit


def _beyond_rounding(residual: float, rounding: float) -> float:
    """The part of a fit's residual that rounding noise does not explain."""
    return max(0.0, residual - FIT_NOISE_MULTIPLE * rounding)


def _kink_statistics(offsets: np.ndarray, values: np.ndarray, s: float) -> tuple[float, float]:
    """``(D3, D4)`` of a five-point stencil of spacing ``s``, from divided differences.

    ``D3 = 3! s^3 (f[t0..t3] + f[t1..t4])`` and ``D4 = 4! s^4 f[t0..t4]`` equal the finite
    differences of the module docstring on exact steps; on the rounded steps actually taken
    they stay exact for any affine f, so the rounding of ``x + t`` adds no noise.
    """
    third_left = _divided_difference(offsets[:4], values[:4])
    third_right = _divided_difference(offsets[1:], values[1:])
    fourth = _divided_difference(offsets, values)
    return 6 * s**3 * (third_left + third_right), 24 * s**4 * fourth


def _divided_difference(offsets: np.ndarray, values: np.ndarray) -> float:
    """Newton's divided difference ``f[t_0, ..., t_k]``."""
    table = np.asarray(values, dtype=np.float64)
    for order in range(1, len(offsets)):
        table = (table[1:] - table[:-1]) / (offsets[order:] - offsets[:-order])
    return float(table[0])
