"""Softmax (cross-entropy) loss on class scores, and the probabilities it is built on.

``p_ij = exp(s_ij) / sum_k exp(s_ik)`` and ``L_i = -log p_{i,y_i}``, with gradient
``dL_i/ds_ij = p_ij - [j == y_i]``. ``softmax_cross_entropy`` returns losses and gradient,
``softmax_cross_entropy_losses`` the losses alone.

Stability: scores are shifted by their row maximum before exponentiating. The shift cancels in
the ratio, so the result is exact, and no ``exp`` ever overflows (scores of +-1e4 stay finite).
"""

from __future__ import annotations

import numpy as np

from slopelab.reductions import row_sums


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise ``log p_ij = s_ij - max_k s_ik - log sum_k exp(s_ik - max_k s_ik)``.

    >>> np.round(np.exp(log_softmax(np.array([[1.0, 1.0, 1e4]]))), 6)
    array([[0., 0., 1.]])
    """
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), every row max is 0
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, 1)
    shifted -= log_norm
    return shifted


def softmax_probabilities(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax ``p_ij = exp(s_ij) / sum_k exp(s_ik)``, computed stably."""
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C)
    probs = np.exp(shifted, out=shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def _exp_shifted(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """``rows``, ``e = exp(s - max_k s_k)`` (N, C), its row sums ``Z`` (N,) and ``s_y - max``
    (N,), shared by the two softmax functions so their losses agree to the last bit.

    The row maximum comes from argmax and a gather (the same number as ``.max(axis=1)``, faster
    on (N, 10) rows: the training loop's per-step cost), the row sums from
    :func:`~slopelab.reductions.row_sums`."""
    rows = np.arange(scores.shape[0])
    row_max = scores[rows, scores.argmax(axis=1)]  # (N,)
    shifted = scores - row_max[:, None]  # (N, C)
    correct_shifted = shifted[rows, y]  # (N,)
    exp_shifted = np.exp(shifted, out=shifted)  # (N, C), all in (0, 1]
    normalizer = row_sums(exp_shifted)  # (N,), >= 1 because the max term is exp(0)
    return rows, exp_shifted, normalizer, correct_shifted


def softmax_cross_entropy_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of the softmax alone: ``L_i = log sum_k exp(s_ik) - s_{i,y_i}``, shape (N,).

    >>> round(float(softmax_cross_entropy_losses(np.zeros((1, 10)), np.array([3]))[0]), 4)
    2.3026
    """
    _, _, normalizer, correct_shifted = _exp_shifted(scores, y)
    losses = np.log(normalizer)
    losses -= correct_shifted
    return losses


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy of the softmax: ``L_i = -log p_{i,y_i}``, ``dL_i/ds = p_i - onehot(y_i)``.

    >>> losses, _ = softmax_cross_entropy(np.zeros((1, 10)), np.array([3]))
    >>> round(float(losses[0]), 4)  # the CIFAR-10 sanity check: -log(1/10)
    2.3026
    """
    rows, exp_shifted, normalizer, correct_shifted = _exp_shifted(scores, y)
    losses = np.log(normalizer)
    losses -= correct_shifted
    dscores = np.divide(exp_shifted, normalizer[:, None], out=exp_shifted)
    dscores[rows, y] -= 1.0
    return losses, dscores
