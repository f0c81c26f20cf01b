"""Choosing between trained models on the validation split, and what a comparison shows.

The test split answers one question, once: how well does the model we chose do on data that
played no part in choosing it? Rank by validation accuracy, pick the best, then measure the test
accuracy of that one model. Picking by test accuracy instead turns the test number into an
optimistic, selected maximum.

The loss a comparison shows beside the accuracy is :func:`training_loss`: the full training
loss at each run's final parameters. The last loss a run records is not comparable across
strategies: minibatch SGD records the loss of its last minibatch and descent the loss *before*
its last update, while a search records the full loss of the parameters it kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from slopelab.losses import Loss

TRAINING_LOSS = "train loss (full set, final W)"  # the column that shows training_loss


def rank_by_validation(val_accuracy: Mapping[str, float]) -> list[str]:
    """Names from the highest validation accuracy to the lowest; a NaN (a run that diverged)
    ranks last, and ties keep the order the runs were given in.

    >>> rank_by_validation({"sgd": 0.9, "adam": 0.95, "momentum": 0.9, "bad": float("nan")})
    ['adam', 'sgd', 'momentum', 'bad']
    """
    names = list(val_accuracy)

    def key(name: str) -> float:
        value = val_accuracy[name]
        return -value if math.isfinite(value) else math.inf

    return sorted(names, key=key)


def training_loss(
    loss: Loss, params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float
) -> float:
    """The full training loss at ``params``, ``L(W) = (1/N) sum_i L_i(W) + reg R(W)`` over all N
    training examples; NaN for parameters that are not finite (a run that diverged)."""
    if not all(np.all(np.isfinite(value)) for value in params.values()):
        return math.nan
    with np.errstate(over="ignore", invalid="ignore"):  # a finite but huge W may overflow
        data_loss, reg_loss = loss.evaluate(params, X, y, reg)
    total = float(data_loss + reg_loss)
    return total if math.isfinite(total) else math.nan
