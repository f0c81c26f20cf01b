"""A validated training problem: the loss and the data every strategy works on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.linear import accuracy
from slopelab.losses import Loss, get_loss
from slopelab.validation import check_dataset, check_features, check_labels


@dataclass
class Problem:
    """Training data ``X (N, D)``, ``y (N,)``, an optional validation split, and the loss."""

    loss: Loss
    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    # Per-example weights (N,) normalized to mean 1 (slopelab.weights); None: all equal.
    sample_weight: np.ndarray | None = None
    num_classes: int = field(init=False)

    def __post_init__(self) -> None:
        top = int(self.y.max())
        if self.y_val is not None:
            top = max(top, int(self.y_val.max()))
        self.num_classes = top + 1

    @property
    def num_examples(self) -> int:
        return self.X.shape[0]

    def accuracies(self, params: dict[str, np.ndarray]) -> tuple[float, float]:
        """Train and validation accuracy of ``params`` (validation NaN without a split)."""
        return split_accuracy(params, self.X, self.y), self.val_accuracy(params)

    def val_accuracy(self, params: dict[str, np.ndarray]) -> float:
        """Validation accuracy of ``params``; NaN without a validation split."""
        return math.nan if self.X_val is None else split_accuracy(params, self.X_val, self.y_val)


def split_accuracy(params: dict[str, np.ndarray], X: Any, y: np.ndarray) -> float:
    """The accuracy of ``params`` on a split in memory, or on streamed rows (scored in blocks
    by themselves)."""
    return X.accuracy(params, y) if is_streamed(X) else accuracy(params, X, y)


def is_streamed(X: Any) -> bool:
    """Whether ``X`` is streamed rows (:class:`slopelab.data.stream.StreamedRows`: they give
    an epoch's order, read a batch's rows and score themselves in blocks) rather than an array
    in memory."""
    return hasattr(X, "epoch_order")


def make_problem(
    loss: Loss | str, X: Any, y: Any, X_val: Any = None, y_val: Any = None, penalty: str = "l2"
) -> Problem:
    """Validate the data once and resolve a loss name (the boundary of every strategy).

    The validation split is checked under its own names (``X_val``, ``y_val``) and cast to the
    dtype of ``X``. Streamed rows were checked when their file was opened (its header) and are
    never loaded here: only their labels are checked.
    """
    if is_streamed(X):
        y = check_labels(y, num_examples=X.shape[0])
    else:
        X, y = check_dataset(X, y)
    if (X_val is None) != (y_val is None):
        raise InvalidValueError("X_val and y_val must be given together (or neither)")
    if X_val is not None:
        if not is_streamed(X_val):
            X_val = check_features(X_val, "X_val", dtype=X.dtype)
        y_val = check_labels(y_val, name="y_val")
        if len(y_val) != X_val.shape[0]:
            raise InvalidValueError(
                f"X_val has {X_val.shape[0]} rows but y_val has {len(y_val)} labels; "
                "they must have the same length"
            )
        if X_val.shape[1] != X.shape[1]:
            raise InvalidValueError(
                f"X_val has {X_val.shape[1]} features but X has {X.shape[1]}; they must match"
            )
    loss = get_loss(loss, penalty) if isinstance(loss, str) else loss
    return Problem(loss, X, y, X_val, y_val)
