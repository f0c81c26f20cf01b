"""Multiclass hinge losses on class scores, each with its (sub)gradient.

Every loss comes as two functions over scores ``s (N, C)`` and labels ``y (N,)``: ``svm_ww``
returns the per-example losses ``L (N,)`` and ``dscores (N, C) = d(sum_i L_i) / ds``;
``svm_ww_losses`` returns the losses alone (for evaluations that need no gradient). Both share
the margins helper, so the formula is written once. A hinge term ``max(0, m)`` counts as
active only when ``m > 0`` strictly, so the subgradient at the kink ``m == 0`` is 0 (the same
choice as the CS231n demo and assignment).

Margin ``delta = 1`` throughout: the CS231n notes show it can be fixed to 1 because the
regularization strength trades off against the scale of W.
"""

from __future__ import annotations

import numpy as np

from slopelab.reductions import row_sums

DELTA = 1.0


def _ww_margins(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``m_ij = s_j - s_{y_i} + 1`` for ``j != y_i`` and 0 at ``j = y_i``, shape (N, C)."""
    rows = np.arange(scores.shape[0])
    margins = scores - (scores[rows, y] - DELTA)[:, None]  # (N, C)
    margins[rows, y] = 0.0
    return margins


def svm_ww_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weston–Watkins losses ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``, shape (N,).

    >>> svm_ww_losses(np.array([[3.2, 5.1, -1.7]]), np.array([0]))  # the CS231n cat example
    array([2.9])
    """
    margins = _ww_margins(scores, y)
    return row_sums(np.maximum(margins, 0.0, out=margins))


def svm_ww(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weston–Watkins multiclass SVM, losses and gradient.

    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``;
    ``dL_i/ds_j = [m_ij > 0]`` for ``j != y_i`` and ``dL_i/ds_{y_i} = -sum_{j != y_i} [m_ij > 0]``.
    """
    rows = np.arange(scores.shape[0])
    margins = _ww_margins(scores, y)
    dscores = (margins > 0).astype(scores.dtype)  # (N, C): 1 where the hinge is active
    dscores[rows, y] = -row_sums(dscores)
    losses = row_sums(np.maximum(margins, 0.0, out=margins))
    return losses, dscores


def _ova_targets(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``t_ij = +1 if j == y_i else -1``, shape (N, C), in the dtype of the scores."""
    targets = np.full(scores.shape, -1.0, dtype=scores.dtype)
    targets[np.arange(scores.shape[0]), y] = 1.0
    return targets


def svm_ova_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One-vs-all losses ``L_i = sum_j max(0, 1 - t_ij s_j)``, shape (N,)."""
    margins = DELTA - _ova_targets(scores, y) * scores  # (N, C)
    return np.maximum(margins, 0.0, out=margins).sum(axis=1)


def svm_ova(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-all SVM: C independent binary hinges, the correct class included.

    ``L_i = sum_j max(0, 1 - t_ij s_j)`` with ``t_ij = +1 if j == y_i else -1``;
    ``dL_i/ds_j = -t_ij [1 - t_ij s_j > 0]``.
    """
    targets = _ova_targets(scores, y)
    margins = DELTA - targets * scores  # (N, C)
    dscores = np.where(margins > 0, -targets, 0.0).astype(scores.dtype, copy=False)
    losses = np.maximum(margins, 0.0, out=margins).sum(axis=1)
    return losses, dscores


def _structured_margins(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rival ``r_i = argmax_{j != y_i} s_j`` (first index on ties) and the margin
    ``m_i = s_{r_i} - s_{y_i} + 1``, both shape (N,)."""
    rows = np.arange(scores.shape[0])
    wrong_scores = scores.copy()  # (N, C)
    wrong_scores[rows, y] = -np.inf
    rival = wrong_scores.argmax(axis=1)
    margins = scores[rows, rival] - scores[rows, y] + DELTA
    return rival, margins


def svm_structured_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Crammer–Singer losses ``L_i = max(0, max_{j != y_i} s_j - s_{y_i} + 1)``, shape (N,)."""
    _, margins = _structured_margins(scores, y)
    return np.maximum(margins, 0.0, out=margins)


def svm_structured(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crammer–Singer (structured) SVM: only the highest-scoring wrong class counts.

    ``L_i = max(0, s_r - s_{y_i} + 1)`` with ``r = argmax_{j != y_i} s_j`` (first index on
    ties); when active, ``dL_i/ds_r = 1`` and ``dL_i/ds_{y_i} = -1``.
    """
    rows = np.arange(scores.shape[0])
    rival, margins = _structured_margins(scores, y)
    active = (margins > 0).astype(scores.dtype)  # (N,)
    dscores = np.zeros_like(scores)
    dscores[rows, rival] = active
    dscores[rows, y] -= active
    losses = np.maximum(margins, 0.0, out=margins)
    return losses, dscores
