"""Smoothing a noisy loss curve without lag.

A minibatch loss is the full loss plus noise, so its curve is drawn smoothed. An exponential
moving average ``s_t = w s_{t-1} + (1 - w) x_t`` sees only the past, so it can run online (the
range test's stop rule uses one), but it trails a falling curve by about ``w / (1 - w)`` steps:
19 steps at ``w = 0.95``. :func:`centered_moving_average` sees as much future as past, so it has
no lag: a value read off it (a minimum, a steepest point) sits where it sits on the noiseless
curve. Use it for anything drawn or read off a finished curve.
"""

from __future__ import annotations

import numpy as np


def centered_moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values centred on each point: ``mean(x[t-h .. t+h])``,
    ``h = window // 2``. Near the ends ``h`` shrinks to the points available on *both* sides,
    so every average stays centred (the first and last values are kept as they are).
    Non-finite values are left out of the means (NaN where a window holds none).

    >>> centered_moving_average(np.array([0.0, 3.0, 0.0, 3.0, 0.0]), 3).tolist()
    [0.0, 1.0, 2.0, 1.0, 0.0]
    """
    values = np.asarray(values, dtype=float)
    count = len(values)
    positions = np.arange(count)
    half = np.minimum(window // 2, np.minimum(positions, count - 1 - positions))
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    starts, ends = positions - half, positions + half + 1
    totals, numbers = sums[ends] - sums[starts], counts[ends] - counts[starts]
    means = np.full(count, np.nan)
    np.divide(totals, numbers, out=means, where=numbers > 0)
    alone = (half == 0) & finite  # a window of one point: the point itself, exactly
    means[alone] = values[alone]
    return means
