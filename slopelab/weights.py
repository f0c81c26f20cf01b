"""Per-example weights: ``sample_weight`` checked, ``class_weight`` resolved, both normalized.

A weighted loss is the weighted mean of the per-example losses (the weight penalty unchanged)::

    L(W, b) = sum_i w_i L_i / sum_i w_i + reg * R(W)

so an integer weight ``k`` is exactly the row repeated ``k`` times and a weight 0 the row
removed, for full-batch gradient descent as for the loss itself (``SGDClassifier`` divides by N
instead, which breaks that equivalence; ``LogisticRegression`` divides by ``sum w`` as here).
The losses take the weights rescaled to mean 1 over the training set, ``w'_i = N w_i / sum w``,
and compute ``(1/n) sum_{i in batch} w'_i L_i`` over a batch of ``n`` rows: over the full set
that is the weighted mean above, and over a random minibatch an unbiased estimate of it (no
division by the batch's own weight sum, which could be 0).
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError


def check_sample_weight(sample_weight: Any, num_examples: int) -> np.ndarray:
    """``sample_weight`` as a float64 array (N,) of finite, non-negative weights, not all 0.

    >>> check_sample_weight([1, 2], 2)
    array([1., 2.])
    """
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"sample_weight must be an array of N={num_examples} numbers; "
            f"got {reprlib.repr(sample_weight)}"
        ) from None
    if weights.shape != (num_examples,):
        raise InvalidValueError(
            f"sample_weight must have shape ({num_examples},), one weight per example; "
            f"got shape {weights.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise InvalidValueError(
            f"sample_weight contains NaN or infinity at index {bad[0]}; weights must be finite"
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise InvalidValueError(
            f"sample_weight contains a negative weight ({float(weights[negative[0]])!r}) at index "
            f"{negative[0]}; weights must be >= 0"
        )
    if not weights.any():
        raise InvalidValueError(
            "sample_weight is zero for every example; at least one weight must be positive"
        )
    return weights


def normalized_weights(weights: np.ndarray) -> np.ndarray:
    """``w'_i = N w_i / sum_j w_j`` (mean 1), the form the losses take; raises if all are 0."""
    total = float(weights.sum())
    if not total > 0:
        raise InvalidValueError(
            "sample_weight is zero for every training example; at least one weight must be positive"
        )
    return weights * (len(weights) / total)


def class_weights(class_weight: Any, classes: np.ndarray, y_index: np.ndarray) -> np.ndarray:
    """Weight per class (C,): ones for None; ``"balanced"`` ``N / (C * count_c)`` over the
    classes present in ``y_index`` (as scikit-learn's ``compute_class_weight``; absent classes
    get 1); a dict ``{label: weight}`` (unlisted labels get 1)."""
    weights = np.ones(len(classes))
    if class_weight is None:
        return weights
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(y_index, minlength=len(classes))
        present = counts > 0
        weights[present] = len(y_index) / (np.count_nonzero(present) * counts[present])
        return weights
    if not isinstance(class_weight, Mapping):
        raise InvalidValueError(
            "class_weight must be None, 'balanced' or a dict {label: weight}; "
            f"got {class_weight!r}"
        )
    for label, weight in class_weight.items():
        position = np.flatnonzero(classes == label)
        if position.size == 0:
            raise InvalidValueError(
                f"class_weight has label {label!r}, which is not among the classes "
                f"{classes.tolist()}"
            )
        weights[position[0]] = _class_weight_value(label, weight)
    return weights


def _class_weight_value(label: Any, weight: Any) -> float:
    try:
        value = float(weight)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and value >= 0):
        raise InvalidValueError(
            f"class_weight[{label!r}] must be a finite number >= 0; got {weight!r}"
        )
    return value
