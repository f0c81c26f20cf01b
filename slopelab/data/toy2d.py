"""Two-dimensional toy datasets in [-1, 1]^2, for the web demo and for quick experiments.

``cs231n_points()`` is the CS231n demo's fixed set: 9 points in 3 classes. The generators draw
from an explicit ``numpy.random.Generator``; ``noise`` is the standard deviation of Gaussian
jitter added to the coordinates, and every point is clipped to [-1, 1]^2 so it stays on the
demo's canvas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.validation import check_positive

CS231N_X = np.array(
    [
        [0.5, 0.4], [0.8, 0.3], [0.3, 0.8],
        [-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2],
        [0.7, -0.4], [0.5, -0.6], [-0.4, -0.5],
    ]
)  # fmt: skip
CS231N_Y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
CS231N_W = np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]]).T  # the demo's rows, as (D, C)
CS231N_B = np.array([0.0, 0.5, -0.5])

MAX_CLASSES = 6


def cs231n_points() -> tuple[np.ndarray, np.ndarray]:
    """The CS231n demo's 9 points: class 0 top right, class 1 top left, class 2 bottom."""
    return CS231N_X.copy(), CS231N_Y.copy()


def cs231n_params() -> dict[str, np.ndarray]:
    """The CS231n demo's default parameters, ``W (2, 3)`` and ``b (3,)``."""
    return {"W": CS231N_W.copy(), "b": CS231N_B.copy()}


def _check(num_points: int, num_classes: int, noise: float) -> None:
    check_positive(num_points, "num_points", integer=True)
    check_positive(num_classes, "num_classes", integer=True)
    if not 2 <= num_classes <= MAX_CLASSES:
        raise InvalidValueError(f"num_classes must be in [2, {MAX_CLASSES}]; got {num_classes}")
    if num_points < num_classes:
        raise InvalidValueError(
            f"num_points must be at least num_classes ({num_classes}); got {num_points}"
        )
    check_positive(noise, "noise", allow_zero=True)


def _labels(num_points: int, num_classes: int) -> np.ndarray:
    return np.arange(num_points) % num_classes


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator):
    X = X + noise * rng.standard_normal(X.shape)
    return np.clip(X, -1.0, 1.0), y


def blobs(
    num_points: int = 60,
    num_classes: int = 3,
    noise: float = 0.1,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around centres spaced evenly on a circle of radius 0.6."""
    _check(num_points, num_classes, noise)
    rng = rng if rng is not None else np.random.default_rng(0)
    y = _labels(num_points, num_classes)
    angles = 2 * np.pi * y / num_classes + np.pi / 4
    centres = 0.6 * np.column_stack([np.cos(angles), np.sin(angles)])
    return _finish(centres, y, noise, rng)


def spiral(
    num_points: int = 90,
    num_classes: int = 3,
    noise: float = 0.05,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms (the CS231n neural-network case study's data): not linearly
    separable, a lesson in what a linear classifier cannot do."""
    _check(num_points, num_classes, noise)
    rng = rng if rng is not None else np.random.default_rng(0)
    y = _labels(num_points, num_classes)
    position = (np.arange(num_points) // num_classes) / max(1, (num_points - 1) // num_classes)
    radius = 0.05 + 0.9 * position
    angle = 2 * np.pi * y / num_classes + 4.0 * position
    return _finish(radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), y, noise, rng)


def circles(
    num_points: int = 60,
    num_classes: int = 2,
    noise: float = 0.05,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Concentric rings, one per class (radii 0.3, 0.6, ...)."""
    _check(num_points, num_classes, noise)
    rng = rng if rng is not None else np.random.default_rng(0)
    y = _labels(num_points, num_classes)
    radius = 0.9 * (y + 1) / num_classes
    angle = rng.uniform(0, 2 * np.pi, num_points)
    return _finish(radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), y, noise, rng)


def xor(
    num_points: int = 60,
    num_classes: int = 2,
    noise: float = 0.05,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A C x C checkerboard over [-1, 1]^2 (C = num_classes) whose cell (i, j) (column i,
    row j) holds class ``(i + j) mod C``: with two classes, the four quadrants with opposite ones
    sharing a label (XOR). Every class has C cells along a diagonal, so no line separates it."""
    _check(num_points, num_classes, noise)
    rng = rng if rng is not None else np.random.default_rng(0)
    y = _labels(num_points, num_classes)
    column = rng.integers(0, num_classes, num_points)
    row = (y - column) % num_classes
    within = rng.uniform(0.15, 0.85, (num_points, 2))  # a gap between neighbouring cells
    X = -1.0 + (2.0 / num_classes) * (np.column_stack([column, row]) + within)
    return _finish(X, y, noise, rng)


def outlier(
    num_points: int = 40,
    num_classes: int = 2,
    noise: float = 0.08,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Separable blobs plus one mislabelled point deep inside another class: ``num_points - 1``
    blob points (at least one per class) and the outlier."""
    if isinstance(num_points, int) and isinstance(num_classes, int) and num_points == num_classes:
        raise InvalidValueError(
            f"the outlier preset needs num_points of at least num_classes + 1 ({num_classes + 1}: "
            f"a point per class and the outlier); got {num_points}"
        )
    X, y = blobs(num_points - 1, num_classes, noise, rng)
    far_away = -X[y == 1].mean(axis=0) if np.any(y == 1) else np.zeros(2)
    return np.vstack([X, far_away[None, :]]), np.append(y, 1)


def not_separable(
    num_points: int = 60,
    num_classes: int = 2,
    noise: float = 0.35,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heavily overlapping blobs: no line gets every point right."""
    return blobs(num_points, num_classes, noise, rng)


GENERATORS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "blobs": blobs,
    "spiral": spiral,
    "circles": circles,
    "xor": xor,
    "outlier": outlier,
    "not-separable": not_separable,
}
