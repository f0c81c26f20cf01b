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
numerically; no position is blind. A row is a kink when::

    R > 1000 eps F                    above rounding noise (measured below 210 eps F)
    R > 0.1 max(|D3(h)|, |D4(h)|)     not a smooth f that varies within the stencil: for
                                      exp(k x) the ratio is 0.002 at k h = 0.1, 0.045 at 0.5

Why not one least-squares parabola through -2h..2h against the noise (the first design): its
residual holds the ``2 h^3 f'''`` of every smooth f, which beats rounding noise for exp(10 x) at
h = 1e-5 and exp(3 x) at h = 1e-4. One stencil alone cannot do it either: five equally spaced
values with a kink ``2s/3`` from x lie exactly on a cubic (D4 = 0), so that kink looks like
steep smooth curvature, which a large ``reg`` or a steep softmax also produces.
"""

from __future__ import annotations

import numpy as np

KINK_NOISE_MULTIPLE = 1000.0  # R above this many eps F is a real signal
KINK_RATIO = 0.1  # R / max(|D3|, |D4|) above this is not a smooth f

# Steps in units of h: a coarse (spacing h) and a fine (h/2) five-point stencil, sharing x.
KINK_STENCIL = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
COARSE, FINE = [0, 1, 3, 5, 6], [1, 2, 3, 4, 5]


def is_kink(offsets: np.ndarray, values: np.ndarray, h: float, rounding: float) -> bool:
    """A non-differentiable point near x: the two stencils disagree (see the module docstring)."""
    d3_coarse, d4_coarse = _kink_statistics(offsets[COARSE], values[COARSE], h)
    d3_fine, d4_fine = _kink_statistics(offsets[FINE], values[FINE], h / 2)
    beyond_smooth = max(abs(d3_coarse - 8 * d3_fine), abs(d4_coarse - 16 * d4_fine))  # R
    noise = KINK_NOISE_MULTIPLE * rounding
    smooth_scale = KINK_RATIO * max(abs(d3_coarse), abs(d4_coarse))
    return bool(beyond_smooth > max(noise, smooth_scale))


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
