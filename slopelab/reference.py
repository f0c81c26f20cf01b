"""Loop-based naive twins of the losses, for tests and benchmarks only.

Each function follows the CS231n assignment's ``*_loss_naive`` style: one Python loop over the
examples and one over the classes, scalar arithmetic only, no vectorization tricks and no shared
code with the fast versions, so that agreement between the two is evidence. They are slow on
purpose; never use them for training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

Params = dict[str, np.ndarray]


def _scores_naive(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> list[float]:
    num_features, num_classes = W.shape
    return [
        sum(float(x[d]) * float(W[d, j]) for d in range(num_features)) + float(b[j])
        for j in range(num_classes)
    ]


def _accumulate(dW: np.ndarray, db: np.ndarray, x: np.ndarray, j: int, weight: float) -> None:
    """Add ``weight * dL_i/ds_j``: ``dW[:, j] += weight * x`` and ``db[j] += weight``."""
    for d in range(dW.shape[0]):
        dW[d, j] += weight * float(x[d])
    db[j] += weight


def _finish(
    loss: float, dW: np.ndarray, db: np.ndarray, W: np.ndarray, reg: float, num_examples: int
) -> tuple[float, Params]:
    """Average over examples and add ``reg * sum(W**2)`` (gradient ``2 reg W``)."""
    loss /= num_examples
    dW /= num_examples
    db /= num_examples
    for d in range(W.shape[0]):
        for j in range(W.shape[1]):
            loss += reg * float(W[d, j]) ** 2
            dW[d, j] += 2.0 * reg * float(W[d, j])
    return loss, {"W": dW, "b": db}


def svm_ww_naive(
    params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params]:
    """Weston–Watkins SVM with loops: ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``."""
    W, b = params["W"], params["b"]
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = _scores_naive(W, b, X[i])
        correct = int(y[i])
        for j in range(W.shape[1]):
            if j == correct:
                continue
            margin = scores[j] - scores[correct] + 1.0
            if margin > 0:
                loss += margin
                _accumulate(dW, db, X[i], j, 1.0)
                _accumulate(dW, db, X[i], correct, -1.0)
    return _finish(loss, dW, db, W, reg, X.shape[0])


def svm_ova_naive(
    params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params]:
    """One-vs-all SVM with loops: ``L_i = sum_j max(0, 1 - t_ij s_j)``, ``t_ij = +-1``."""
    W, b = params["W"], params["b"]
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = _scores_naive(W, b, X[i])
        for j in range(W.shape[1]):
            target = 1.0 if j == int(y[i]) else -1.0
            margin = 1.0 - target * scores[j]
            if margin > 0:
                loss += margin
                _accumulate(dW, db, X[i], j, -target)
    return _finish(loss, dW, db, W, reg, X.shape[0])


def svm_structured_naive(
    params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params]:
    """Crammer–Singer SVM with loops: ``L_i = max(0, max_{j != y_i} s_j - s_{y_i} + 1)``."""
    W, b = params["W"], params["b"]
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = _scores_naive(W, b, X[i])
        correct = int(y[i])
        rival = None
        for j in range(W.shape[1]):
            if j != correct and (rival is None or scores[j] > scores[rival]):
                rival = j
        margin = scores[rival] - scores[correct] + 1.0
        if margin > 0:
            loss += margin
            _accumulate(dW, db, X[i], rival, 1.0)
            _accumulate(dW, db, X[i], correct, -1.0)
    return _finish(loss, dW, db, W, reg, X.shape[0])


def softmax_naive(
    params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params]:
    """Softmax cross-entropy with loops: ``L_i = -log(e^{s_{y_i}} / sum_j e^{s_j})``."""
    W, b = params["W"], params["b"]
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = _scores_naive(W, b, X[i])
        top = max(scores)  # shift for stability; cancels in the ratio
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        correct = int(y[i])
        loss += -math.log(exps[correct] / total)
        for j in range(W.shape[1]):
            prob = exps[j] / total
            _accumulate(dW, db, X[i], j, prob - (1.0 if j == correct else 0.0))
    return _finish(loss, dW, db, W, reg, X.shape[0])


NAIVE_LOSSES = {
    "svm": svm_ww_naive,
    "svm-ova": svm_ova_naive,
    "svm-structured": svm_structured_naive,
    "softmax": softmax_naive,
}
