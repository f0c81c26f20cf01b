"""Multiclass hinge losses on class scores, each with its (sub)gradient.

Every function maps scores ``s (N, C)`` and labels ``y (N,)`` to the per-example losses
``L (N,)`` and ``dscores (N, C) = d(sum_i L_i) / ds``. A hinge term ``max(0, m)`` counts as
active only when ``m > 0`` strictly, so the subgradient at the kink ``m == 0`` is 0 (the same
choice as the CS231n demo and assignment).

Margin ``delta = 1`` throughout: the CS231n notes show it can be fixed to 1 because the
regularization strength trades off against the scale of W.
"""

from __future__ import annotations

import numpy as np

DELTA = 1.0


def svm_ww(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weston–Watkins multiclass SVM.

    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``;
    ``dL_i/ds_j = [m_ij > 0]`` for ``j != y_i`` and ``dL_i/ds_{y_i} = -sum_{j != y_i} [m_ij > 0]``.

    >>> svm_ww(np.array([[3.2, 5.1, -1.7]]), np.array([0]))[0]  # the CS231n cat example
    array([2.9])
    """
    rows = np.arange(scores.shape[0])
    margins = scores - (scores[rows, y] - DELTA)[:, None]  # (N, C): s_j - s_{y_i} + 1
    margins[rows, y] = 0.0
    dscores = (margins > 0).astype(scores.dtype)  # (N, C): 1 where the hinge is active
    dscores[rows, y] = -dscores.sum(axis=1)
    losses = np.maximum(margins, 0.0, out=margins).sum(axis=1)
    return losses, dscores


def svm_ova(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-all SVM: C independent binary hinges, the correct class included.

    ``L_i = sum_j max(0, 1 - t_ij s_j)`` with ``t_ij = +1 if j == y_i else -1``;
    ``dL_i/ds_j = -t_ij [1 - t_ij s_j > 0]``.
    """
    rows = np.arange(scores.shape[0])
    targets = np.full(scores.shape, -1.0, dtype=scores.dtype)  # (N, C)
    targets[rows, y] = 1.0
    margins = DELTA - targets * scores  # (N, C)
    dscores = np.where(margins > 0, -targets, 0.0).astype(scores.dtype, copy=False)
    losses = np.maximum(margins, 0.0, out=margins).sum(axis=1)
    return losses, dscores


def svm_structured(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crammer–Singer (structured) SVM: only the highest-scoring wrong class counts.

    ``L_i = max(0, s_r - s_{y_i} + 1)`` with ``r = argmax_{j != y_i} s_j`` (first index on
    ties); when active, ``dL_i/ds_r = 1`` and ``dL_i/ds_{y_i} = -1``.
    """
    rows = np.arange(scores.shape[0])
    wrong_scores = scores.copy()  # (N, C)
    wrong_scores[rows, y] = -np.inf
    rival = wrong_scores.argmax(axis=1)  # (N,)
    margins = scores[rows, rival] - scores[rows, y] + DELTA  # (N,)
    active = (margins > 0).astype(scores.dtype)  # (N,)
    dscores = np.zeros_like(scores)
    dscores[rows, rival] = active
    dscores[rows, y] -= active
    losses = np.maximum(margins, 0.0, out=margins)
    return losses, dscores
