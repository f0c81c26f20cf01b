"""Explain one point's part in a full-batch update, in the lecture's notation (pure).

With ``W (D, C)``, scores are ``s_j = sum_d x_d W[d,j] + b_j``. For point ``i``:

- the terms of its loss ``L_i``: the margins ``s_j - s_{y_i} + 1`` and their hinges (WW and
  structured SVM), ``1 - t_j s_j`` with ``t_j = +-1`` (one-vs-all), or the probabilities
  ``p_j`` and ``-log p_{y_i}`` (softmax), all from ``slopelab.losses``;
- its share of the gradient of the mean, ``dL_i/dW / N = x_i (dL_i/ds)^T / N`` and
  ``dL_i/db / N = dL_i/ds / N``; these shares summed over all points plus the penalty's
  gradient ``reg * dR/dW`` are the full gradient ``dW``;
- the update the next full-batch step makes, ``W <- W + delta``, from the optimizer and its
  state (``delta = -lr * dW`` for SGD only), computed by the same code as ``/api/step``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slopelab.optim import Optimizer, State
from slopelab.softmax import softmax_probabilities
from slopelab.svm import DELTA
from slopelab.web.compute import advance
from slopelab.web.conventions import penalty_gradients
from slopelab.web.convert import Params, Setup, params_to_json


def explain_point(
    setup: Setup, params: Params, index: int, optimizer: Optimizer, opt_state: State
) -> dict[str, Any]:
    """Point ``index`` (of the request's data)'s scores, loss terms, ``L_i``, gradient share,
    and the full-batch update. A held-out test point has its loss but no share: it is not in
    the training loss, so it does not move ``W`` (``held_out`` says so)."""
    loss = setup.loss
    parts = loss.parts(params, setup.X, setup.y, setup.reg)
    x_i, label, position = locate(setup, index)
    scores = x_i[None, :] @ params["W"] + params["b"]  # (1, C)
    example_losses, dscores = loss.example_loss(scores.copy(), np.array([label]))
    dscores_i = dscores[0]  # (C,): dL_i/ds, not yet divided by N
    num_examples = setup.num_examples
    weight = 0.0 if position is None else 1.0 / num_examples
    share_W = np.outer(x_i, dscores_i) * weight  # (D, C)
    share_b = dscores_i * weight  # (C,)
    reg_grad = penalty_gradients(loss, params, setup.reg)
    return {
        "index": index,
        "held_out": position is None,
        "x": x_i.tolist(),
        "label": label,
        "num_examples": num_examples,
        "loss": loss.name,
        "scores": scores[0].tolist(),
        "terms": loss_terms(loss.name, scores[0], label),
        "example_loss": float(example_losses[0]),
        "dscores": dscores_i.tolist(),
        "share": params_to_json({"W": share_W, "b": share_b}),
        "reg_grad": reg_grad["W"].tolist(),
        "reg_grad_b": reg_grad["b"].tolist(),
        "grads": params_to_json(parts.grads),
        "data_loss": float(parts.data_loss),
        "reg_loss": float(parts.reg_loss),
        "update": full_batch_update(setup, params, optimizer, opt_state),
    }


def locate(setup: Setup, index: int) -> tuple[np.ndarray, int, int | None]:
    """Point ``index`` of the request's data: its ``x``, label, and row in the training data
    ``setup.X`` (``None`` for a held-out test point)."""
    held_out = setup.held_out
    if held_out is None:
        return setup.X[index], int(setup.y[index]), index
    test_rows = np.flatnonzero(held_out.test_indices == index)
    if test_rows.size:
        row = int(test_rows[0])
        return held_out.X[row], int(held_out.y[row]), None
    position = int(np.searchsorted(held_out.train_indices, index))
    return setup.X[position], int(setup.y[position]), position


def loss_terms(name: str, scores: np.ndarray, label: int) -> dict[str, Any]:
    """The terms that make up ``L_i`` for one point's scores ``s (C,)``.

    ``margins[j]``: ``s_j - s_y + 1`` (WW, structured; ``None`` at ``j = y``) or ``1 - t_j s_j``
    (one-vs-all); ``hinges[j] = max(0, margins[j])``; ``active[j]``: the hinge is ``> 0`` and
    counts (structured: only the rival ``r = argmax_{j != y} s_j`` counts). Softmax: the
    ``probabilities``; ``L_i = -log p_y`` is the point's ``example_loss``, computed stably.
    """
    if name == "softmax":
        probabilities = softmax_probabilities(scores[None, :])[0]
        return {"kind": "softmax", "probabilities": probabilities.tolist()}
    if name == "svm-ova":
        targets = np.where(np.arange(scores.size) == label, 1.0, -1.0)
        margins = DELTA - targets * scores
        return _hinges("ova", margins.tolist(), targets=targets.tolist())
    margins = (scores - scores[label] + DELTA).tolist()
    margins[label] = None
    if name == "svm-structured":
        others = np.where(np.arange(scores.size) == label, -np.inf, scores)
        rival = int(others.argmax())  # first index on ties, as slopelab.svm
        return _hinges("structured", margins, rival=rival)
    return _hinges("ww", margins)


def _hinges(kind: str, margins: list[float | None], **extra: Any) -> dict[str, Any]:
    hinges = [None if m is None else max(0.0, m) for m in margins]
    rival = extra.get("rival")
    active = [
        m is not None and m > 0 and (rival is None or j == rival) for j, m in enumerate(margins)
    ]
    return {"kind": kind, "margins": margins, "hinges": hinges, "active": active, **extra}


def full_batch_update(
    setup: Setup, params: Params, optimizer: Optimizer, opt_state: State
) -> dict[str, Any]:
    """One full-batch update as ``/api/step`` makes it: ``delta = new - old`` per parameter,
    with the step size in use; ``params`` is ``None`` when the update would explode."""
    result = advance(setup, params, optimizer, opt_state, num_steps=1)
    if not result["records"]:
        return {"rule": optimizer.name, "learning_rate": None, "params": None, "delta": None,
                "total": None, "message": result["message"]}  # fmt: skip
    record = result["records"][0]
    new_params = result["params"]
    delta = {key: new_params[key] - params[key] for key in ("W", "b")}
    return {
        "rule": optimizer.name,
        "learning_rate": record["learning_rate"],
        "params": record["params"],
        "delta": params_to_json(delta),
        "total": record["total"],
        "message": result["message"],
    }
