"""Choosing between trained models on the validation split, and what a comparison shows.

The test split answers one question, once: how well does the model we chose do on data that
played no part in choosing it? Rank by validation accuracy, pick the best, then measure the test
accuracy of that one model. Picking by test accuracy instead turns the test number into an
optimistic, selected maximum.

The loss a comparison shows beside the accuracy is
:func:`slopelab.losses.training_loss`: the full training
loss at each run's final parameters. The last loss a run records is not comparable across
strategies: minibatch SGD records the loss of its last minibatch and descent the loss *before*
its last update, while a search records the full loss of the parameters it kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

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
