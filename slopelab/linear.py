"""The linear classifier itself: scores ``s = X W + b``, predictions, accuracy, initialization."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError

Params = dict[str, np.ndarray]


def class_scores(params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """``s = X W + b``: ``X (N, D)``, ``W (D, C)``, ``b (C,)`` give scores ``(N, C)``."""
    scores = X @ params["W"]
    scores += params["b"]
    return scores


def predict_classes(params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """``argmax_j s_ij``, the predicted class index of every row, shape (N,)."""
    return class_scores(params, X).argmax(axis=1)


def accuracy(params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose predicted class equals the label.

    >>> params = {"W": np.eye(2), "b": np.zeros(2)}
    >>> accuracy(params, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    """
    return float(np.mean(predict_classes(params, X) == y))


def init_params(
    num_features: int,
    num_classes: int,
    rng: np.random.Generator,
    scale: float = 1e-3,
    dtype: np.dtype | type = np.float64,
) -> Params:
    """CS231n's initialization: ``W = scale * randn(D, C)`` (scale 0.001) and ``b = 0``."""
    W = (scale * rng.standard_normal((num_features, num_classes))).astype(dtype)
    return {"W": W, "b": np.zeros(num_classes, dtype=dtype)}


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator, a seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        if rng < 0:
            raise InvalidValueError(f"rng seed must be >= 0; got {rng}")
        return np.random.default_rng(rng)
    raise InvalidTypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}"
    )
