"""Checks on what a notebook hands to :mod:`slopelab.plots`, before anything is drawn.

numpy would take a label of ``-1`` as "the last row" and broadcast a single prediction over
every true label: the figure would show counts that are not the data's, with no error. Here
such input is refused with one line that names the argument and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError

INDEX_FIX = "map labels to indices first, e.g. np.searchsorted(model.classes_, labels)"


def class_indices(labels: Any, name: str, num_classes: int) -> np.ndarray:
    """``labels`` as a 1-D integer array of class indices in ``[0, num_classes)``."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InvalidValueError(f"{name} must be a 1-D array of labels; got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise InvalidValueError(
            f"{name} must hold class indices 0..{num_classes - 1} (integers); got dtype "
            f"{array.dtype}; {INDEX_FIX}"
        )
    outside = np.flatnonzero((array < 0) | (array >= num_classes))
    if outside.size:
        first = outside[0]
        raise InvalidValueError(
            f"{name} holds {array[first]} at position {first}, outside 0..{num_classes - 1} "
            f"(class_names has {num_classes} names); {INDEX_FIX}"
        )
    return array.astype(np.intp)


def paired_labels(
    y_true: Any, y_pred: Any, class_names: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted class indices, one of each per example."""
    true = class_indices(y_true, "y_true", len(class_names))
    pred = class_indices(y_pred, "y_pred", len(class_names))
    if len(true) != len(pred):
        raise InvalidValueError(
            f"y_true has {len(true)} labels and y_pred {len(pred)}; pass one prediction for "
            "each true label"
        )
    return true, pred


def template_shape(W: Any, image_shape: Sequence[int], class_names: Sequence[Any]) -> tuple:
    """``(height, width, channels)`` from ``image_shape`` (``(H, W)`` means one channel),
    checked against ``W`` (D, C) and the number of class names."""
    W = np.asarray(W)
    shape = tuple(int(size) for size in image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if W.ndim != 2 or len(shape) != 3:
        raise InvalidValueError(
            f"W must be (D, C) and image_shape (height, width[, channels]); got W of shape "
            f"{W.shape} and image_shape {tuple(image_shape)}"
        )
    if int(np.prod(shape)) != W.shape[0]:
        raise InvalidValueError(
            f"image_shape {tuple(image_shape)} holds {int(np.prod(shape))} values but W has "
            f"{W.shape[0]} rows (one per feature); W must be (D, C), e.g. model.coef_.T"
        )
    if len(class_names) != W.shape[1]:
        raise InvalidValueError(
            f"W has {W.shape[1]} columns (classes) but class_names has {len(class_names)} names"
        )
    return shape
