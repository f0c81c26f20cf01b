"""Held-out points: the part of the data the demo never trains on.

A request marks its test points with ``data.test``, one boolean per point (absent, or all
``False``: no split, today's behaviour). :func:`split` keeps the train points as the setup's
``X, y``, so every computation (step, race, landscape, gradient check, learning-rate scan,
Python export) trains and evaluates on them alone, and keeps the test points aside in a
:class:`HeldOut`. On the test points the demo reports

    test data loss = 1/M sum_{i in test} L_i(W, b),   test accuracy = mean(argmax s_i == y_i)

with the penalty ``R(W)`` shown once, with the training loss (it does not depend on the points).

A mask rather than a fraction and a seed: the page adds, moves and deletes points, and each point
keeps its role. :func:`random_mask` draws a mask (``round(fraction * N)`` test points, at least
one train point) from a seed, for the page's "test fraction" control.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slopelab.linear import accuracy
from slopelab.losses import Loss


@dataclass(frozen=True)
class HeldOut:
    """The test points ``X (M, 2)``, ``y (M,)`` and where train and test points sit in the
    request's data (``train_indices (N - M,)``, ``test_indices (M,)``)."""

    X: np.ndarray
    y: np.ndarray
    train_indices: np.ndarray
    test_indices: np.ndarray


def split(
    X: np.ndarray, y: np.ndarray, test: Sequence[bool] | None
) -> tuple[np.ndarray, np.ndarray, HeldOut | None]:
    """``(X_train, y_train, held_out)``; ``held_out`` is ``None`` without a test point."""
    if test is None or not any(test):
        return X, y, None
    mask = np.asarray(test, dtype=bool)
    train_indices, test_indices = np.flatnonzero(~mask), np.flatnonzero(mask)
    held_out = HeldOut(X[mask], y[mask], train_indices, test_indices)
    return X[~mask], y[~mask], held_out


def held_out_metrics(
    held_out: HeldOut | None, loss: Loss, params: Mapping[str, np.ndarray], reg: float
) -> dict[str, Any] | None:
    """Data loss and accuracy on the test points (``None`` without a split)."""
    if held_out is None:
        return None
    parts = loss.parts(params, held_out.X, held_out.y, reg)
    return {
        "count": int(held_out.y.size),
        "data_loss": float(parts.data_loss),
        "accuracy": accuracy(params, held_out.X, held_out.y),
    }


def all_points(
    X_train: np.ndarray, y_train: np.ndarray, held_out: HeldOut | None
) -> tuple[np.ndarray, np.ndarray]:
    """Every point, train and test, in the request's order (for per-point views)."""
    if held_out is None:
        return X_train, y_train
    count = X_train.shape[0] + held_out.X.shape[0]
    X = np.empty((count, X_train.shape[1]))
    y = np.empty(count, dtype=y_train.dtype)
    X[held_out.train_indices], y[held_out.train_indices] = X_train, y_train
    X[held_out.test_indices], y[held_out.test_indices] = held_out.X, held_out.y
    return X, y


def request_indices(held_out: HeldOut | None, indices: np.ndarray) -> np.ndarray:
    """Positions of train points (e.g. a minibatch) in the request's data."""
    return indices if held_out is None else held_out.train_indices[indices]


def random_mask(num_points: int, fraction: float, seed: int) -> list[bool]:
    """``round(fraction * N)`` test points (at most ``N - 1``), drawn from ``seed``.

    >>> random_mask(10, 0.3, seed=0).count(True)
    3
    >>> random_mask(2, 0.5, seed=0).count(True), random_mask(3, 0.0, seed=0).count(True)
    (1, 0)
    """
    num_test = min(round(fraction * num_points), num_points - 1)
    order = np.random.default_rng(seed).permutation(num_points)
    mask = np.zeros(num_points, dtype=bool)
    mask[order[:num_test]] = True
    return mask.tolist()
