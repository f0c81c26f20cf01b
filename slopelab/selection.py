"""Choosing between trained models on the validation split, never on the test split.

The test split answers one question, once: how well does the model we chose do on data that
played no part in choosing it? Rank by validation accuracy, pick the best, then measure the test
accuracy of that one model. Picking by test accuracy instead turns the test number into an
optimistic, selected maximum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


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
