"""Naive twins of the losses, for tests and benchmarks only: slow on purpose, never for training.

Three forms of every loss, none sharing code with the fast versions (``svm.py``, ``softmax.py``,
``losses.py``), so that agreement between them and the fast versions is evidence:

- ``*_naive`` (:data:`NAIVE_LOSSES`): scalar Python arithmetic only, one loop over the examples,
  one over the classes and one over the features for every score and gradient entry.
- ``*_loops`` (:data:`LOOP_LOSSES`): the CS231n assignment's ``svm_loss_naive`` and
  ``softmax_loss_naive``: loops over the examples and the classes, numpy for each row
  (``scores = X[i] @ W``, ``dW[:, j] += X[i]``). The same loop bodies as ``*_naive``.
- ``*_half_vectorized`` (:data:`HALF_VECTORIZED_LOSSES`): the notes' ``L_i_vectorized``: one loop
  over the examples, numpy for each example's scores, loss and gradient
  (``dW += outer(X[i], dL_i/ds)``).

All compute in float64 whatever the input dtype, and return ``(loss, {"W": dW, "b": db})`` for
``L = (1/N) sum_i L_i + reg * sum(W**2)`` (bias not penalized), like ``get_loss(name, "l2")``.
A hinge term counts only when its margin is > 0 strictly, as in the fast versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]
ReferenceLoss = Callable[[Mapping[str, np.ndarray], np.ndarray, np.ndarray, float], tuple]


def _float64(params: Mapping[str, np.ndarray], X: np.ndarray) -> tuple[np.ndarray, ...]:
    as64 = [np.asarray(a, dtype=np.float64) for a in (params["W"], params["b"], X)]
    return tuple(as64)


# --- the arithmetic the loop bodies use: scalar, or numpy rows -----------------------------------


def _scores_scalar(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> list[float]:
    num_features, num_classes = W.shape
    return [
        sum(float(x[d]) * float(W[d, j]) for d in range(num_features)) + float(b[j])
        for j in range(num_classes)
    ]


def _accumulate_scalar(dW: np.ndarray, db: np.ndarray, x: np.ndarray, j: int, weight: float):
    """Add ``weight * dL_i/ds_j``: ``dW[:, j] += weight * x`` and ``db[j] += weight``."""
    for d in range(dW.shape[0]):
        dW[d, j] += weight * float(x[d])
    db[j] += weight


def _finish_scalar(loss: float, dW: np.ndarray, db: np.ndarray, W: np.ndarray, reg: float, N: int):
    """Average over examples and add ``reg * sum(W**2)`` (gradient ``2 reg W``)."""
    loss /= N
    dW /= N
    db /= N
    for d in range(W.shape[0]):
        for j in range(W.shape[1]):
            loss += reg * float(W[d, j]) ** 2
            dW[d, j] += 2.0 * reg * float(W[d, j])
    return loss, {"W": dW, "b": db}


def _scores_row(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ W + b  # (C,)


def _accumulate_row(dW: np.ndarray, db: np.ndarray, x: np.ndarray, j: int, weight: float):
    dW[:, j] += weight * x
    db[j] += weight


def _finish_rows(loss: float, dW: np.ndarray, db: np.ndarray, W: np.ndarray, reg: float, N: int):
    return loss / N + reg * float(np.sum(W * W)), {"W": dW / N + 2.0 * reg * W, "b": db / N}


@dataclass(frozen=True)
class _Arithmetic:
    scores: Callable[[np.ndarray, np.ndarray, np.ndarray], Sequence[float]]
    accumulate: Callable[[np.ndarray, np.ndarray, np.ndarray, int, float], None]
    finish: Callable[..., tuple[float, Params]]


SCALAR = _Arithmetic(_scores_scalar, _accumulate_scalar, _finish_scalar)
ROWS = _Arithmetic(_scores_row, _accumulate_row, _finish_rows)


# --- loops over examples and classes (scalar or row arithmetic) ----------------------------------


def _svm_ww(params, X, y, reg, ops: _Arithmetic) -> tuple[float, Params]:
    W, b, X = _float64(params, X)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = ops.scores(W, b, X[i])
        correct = int(y[i])
        for j in range(W.shape[1]):
            if j == correct:
                continue
            margin = scores[j] - scores[correct] + 1.0
            if margin > 0:
                loss += margin
                ops.accumulate(dW, db, X[i], j, 1.0)
                ops.accumulate(dW, db, X[i], correct, -1.0)
    return ops.finish(loss, dW, db, W, reg, X.shape[0])


def _svm_ova(params, X, y, reg, ops: _Arithmetic) -> tuple[float, Params]:
    W, b, X = _float64(params, X)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = ops.scores(W, b, X[i])
        for j in range(W.shape[1]):
            target = 1.0 if j == int(y[i]) else -1.0
            margin = 1.0 - target * scores[j]
            if margin > 0:
                loss += margin
                ops.accumulate(dW, db, X[i], j, -target)
    return ops.finish(loss, dW, db, W, reg, X.shape[0])


def _svm_structured(params, X, y, reg, ops: _Arithmetic) -> tuple[float, Params]:
    W, b, X = _float64(params, X)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = ops.scores(W, b, X[i])
        correct = int(y[i])
        rival = None
        for j in range(W.shape[1]):
            if j != correct and (rival is None or scores[j] > scores[rival]):
                rival = j
        margin = scores[rival] - scores[correct] + 1.0
        if margin > 0:
            loss += margin
            ops.accumulate(dW, db, X[i], rival, 1.0)
            ops.accumulate(dW, db, X[i], correct, -1.0)
    return ops.finish(loss, dW, db, W, reg, X.shape[0])


def _softmax(params, X, y, reg, ops: _Arithmetic) -> tuple[float, Params]:
    W, b, X = _float64(params, X)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = ops.scores(W, b, X[i])
        top = max(scores)  # shift for stability; cancels in the ratio
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        correct = int(y[i])
        loss += math.log(total) - (scores[correct] - top)  # -log(exps[correct] / total)
        for j in range(W.shape[1]):
            prob = exps[j] / total
            ops.accumulate(dW, db, X[i], j, prob - (1.0 if j == correct else 0.0))
    return ops.finish(loss, dW, db, W, reg, X.shape[0])


def svm_ww_naive(params, X, y, reg) -> tuple[float, Params]:
    """Weston–Watkins SVM, scalar loops: ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``."""
    return _svm_ww(params, X, y, reg, SCALAR)


def svm_ova_naive(params, X, y, reg) -> tuple[float, Params]:
    """One-vs-all SVM, scalar loops: ``L_i = sum_j max(0, 1 - t_ij s_j)``, ``t_ij = +-1``."""
    return _svm_ova(params, X, y, reg, SCALAR)


def svm_structured_naive(params, X, y, reg) -> tuple[float, Params]:
    """Crammer–Singer SVM, scalar loops: ``L_i = max(0, max_{j != y_i} s_j - s_{y_i} + 1)``."""
    return _svm_structured(params, X, y, reg, SCALAR)


def softmax_naive(params, X, y, reg) -> tuple[float, Params]:
    """Softmax cross-entropy, scalar loops: ``L_i = -log(e^{s_{y_i}} / sum_j e^{s_j})``."""
    return _softmax(params, X, y, reg, SCALAR)


def svm_ww_loops(params, X, y, reg) -> tuple[float, Params]:
    """Weston–Watkins SVM as the assignment's ``svm_loss_naive``: loops, numpy rows."""
    return _svm_ww(params, X, y, reg, ROWS)


def svm_ova_loops(params, X, y, reg) -> tuple[float, Params]:
    """One-vs-all SVM with loops over examples and classes, numpy rows."""
    return _svm_ova(params, X, y, reg, ROWS)


def svm_structured_loops(params, X, y, reg) -> tuple[float, Params]:
    """Crammer–Singer SVM with loops over examples and classes, numpy rows."""
    return _svm_structured(params, X, y, reg, ROWS)


def softmax_loops(params, X, y, reg) -> tuple[float, Params]:
    """Softmax as the assignment's ``softmax_loss_naive``: loops, numpy rows."""
    return _softmax(params, X, y, reg, ROWS)


# --- one loop over examples, numpy per example (the notes' L_i_vectorized) -----------------------

ExampleRow = Callable[[np.ndarray, int], tuple[float, np.ndarray]]


def _half_vectorized(params, X, y, reg, example: ExampleRow) -> tuple[float, Params]:
    """``L_i, dL_i/ds = example(s_i, y_i)`` for each row ``s_i = x_i W + b``; then
    ``dW = (1/N) sum_i outer(x_i, dL_i/ds) + 2 reg W``, ``db = (1/N) sum_i dL_i/ds``."""
    W, b, X = _float64(params, X)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        example_loss, dscores = example(X[i] @ W + b, int(y[i]))  # dscores (C,)
        loss += example_loss
        dW += np.outer(X[i], dscores)  # (D, C)
        db += dscores
    return _finish_rows(loss, dW, db, W, reg, X.shape[0])


def _svm_ww_row(scores: np.ndarray, correct: int) -> tuple[float, np.ndarray]:
    margins = np.maximum(0.0, scores - scores[correct] + 1.0)  # (C,)
    margins[correct] = 0.0
    dscores = (margins > 0).astype(np.float64)
    dscores[correct] = -dscores.sum()
    return float(margins.sum()), dscores


def _svm_ova_row(scores: np.ndarray, correct: int) -> tuple[float, np.ndarray]:
    targets = -np.ones_like(scores)  # (C,)
    targets[correct] = 1.0
    margins = np.maximum(0.0, 1.0 - targets * scores)
    return float(margins.sum()), np.where(margins > 0, -targets, 0.0)


def _svm_structured_row(scores: np.ndarray, correct: int) -> tuple[float, np.ndarray]:
    wrong = scores.copy()
    wrong[correct] = -np.inf
    rival = int(np.argmax(wrong))  # the first index on ties
    margin = float(scores[rival] - scores[correct] + 1.0)
    dscores = np.zeros_like(scores)
    if margin > 0:
        dscores[rival], dscores[correct] = 1.0, -1.0
    return max(margin, 0.0), dscores


def _softmax_row(scores: np.ndarray, correct: int) -> tuple[float, np.ndarray]:
    shifted = scores - scores.max()  # for stability; cancels in the ratio
    exps = np.exp(shifted)
    probs = exps / exps.sum()
    dscores = probs.copy()
    dscores[correct] -= 1.0
    return float(np.log(exps.sum()) - shifted[correct]), dscores


def svm_ww_half_vectorized(params, X, y, reg) -> tuple[float, Params]:
    """Weston–Watkins SVM, one loop over examples (the notes' ``L_i_vectorized``)."""
    return _half_vectorized(params, X, y, reg, _svm_ww_row)


def svm_ova_half_vectorized(params, X, y, reg) -> tuple[float, Params]:
    """One-vs-all SVM, one loop over examples, numpy per example."""
    return _half_vectorized(params, X, y, reg, _svm_ova_row)


def svm_structured_half_vectorized(params, X, y, reg) -> tuple[float, Params]:
    """Crammer–Singer SVM, one loop over examples, numpy per example."""
    return _half_vectorized(params, X, y, reg, _svm_structured_row)


def softmax_half_vectorized(params, X, y, reg) -> tuple[float, Params]:
    """Softmax cross-entropy, one loop over examples, numpy per example."""
    return _half_vectorized(params, X, y, reg, _softmax_row)


NAIVE_LOSSES: dict[str, ReferenceLoss] = {
    "svm": svm_ww_naive,
    "svm-ova": svm_ova_naive,
    "svm-structured": svm_structured_naive,
    "softmax": softmax_naive,
}
LOOP_LOSSES: dict[str, ReferenceLoss] = {
    "svm": svm_ww_loops,
    "svm-ova": svm_ova_loops,
    "svm-structured": svm_structured_loops,
    "softmax": softmax_loops,
}
HALF_VECTORIZED_LOSSES: dict[str, ReferenceLoss] = {
    "svm": svm_ww_half_vectorized,
    "svm-ova": svm_ova_half_vectorized,
    "svm-structured": svm_structured_half_vectorized,
    "softmax": softmax_half_vectorized,
}
REFERENCE_FORMS: dict[str, dict[str, ReferenceLoss]] = {
    "scalar loops": NAIVE_LOSSES,
    "loops, numpy rows": LOOP_LOSSES,
    "half-vectorized": HALF_VECTORIZED_LOSSES,
}
"""Every naive form by a short description, slowest first."""
