"""The demo's two core computations, pure and stateless: evaluate a state, and advance it.

``evaluate`` gives what the page draws at fixed parameters: the loss split into data and
regularization, its gradient, every point's scores, loss ``L_i``, ``dL_i/ds`` and active hinge
terms, the predicted class over the canvas, and the class and margin lines.

``advance`` runs the training loop of ``slopelab.train`` one request at a time: sample a batch,
loss and gradient, update rule, apply, record (full-batch losses at the new parameters). The
optimizer state comes in and goes out as arrays, so the page holds the whole run.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from slopelab.linear import accuracy, class_scores, predict_classes
from slopelab.losses import LossParts
from slopelab.optim import Optimizer, State, apply_updates
from slopelab.softmax import softmax_probabilities
from slopelab.web import batches, heldout
from slopelab.web.convert import Params, Setup, opt_state_to_json, params_to_json
from slopelab.web.diagnosis import diagnose, diverged_message, exploded
from slopelab.web.features import feature_map
from slopelab.web.geometry import class_lines, grid_centres, margin_lines

# Which hinge terms exist: j != y_i for the multiclass hinges, every j for one-vs-all.
HINGE_TERMS = {"svm": "others", "svm-structured": "others", "svm-ova": "all"}


def evaluate(
    setup: Setup,
    params: Params,
    *,
    grid_size: int = 0,
    batch_size: int | None = None,
    seed: int = 0,
    step: int = 0,
) -> dict[str, Any]:
    """Everything the page shows at ``params``; ``batch_size`` adds update ``step``'s batch."""
    X, y, loss = setup.X, setup.y, setup.loss
    parts = loss.parts(params, X, y, setup.reg)
    result = {
        "data_loss": float(parts.data_loss),
        "reg_loss": float(parts.reg_loss),
        "total": float(parts.total),
        "accuracy": accuracy(params, X, y),
        "test": heldout.held_out_metrics(setup.held_out, loss, params, setup.reg),
        "grads": params_to_json(parts.grads),
        "points": point_details(setup, params, parts.scores),
        "grid": None,
        # straight lines in the plane exist only for a model linear in x itself
        "lines": [] if setup.features else class_lines(params),
        "margin_lines": [] if setup.features else margin_lines(loss.name, params),
        "batch": None,
    }
    if grid_size:
        classes = predict_classes(params, grid_inputs(grid_size, setup.features))
        digits = (classes.astype(np.uint8) + ord("0")).tobytes().decode("ascii")  # C <= 6
        result["grid"] = {"size": grid_size, "classes": digits}
    batch = minibatch(setup, params, batch_size, seed, step)
    if batch is not None:
        indices, batch_parts = batch
        result["batch"] = {
            "indices": heldout.request_indices(setup.held_out, indices).tolist(),
            "data_loss": float(batch_parts.data_loss),
            "grads": params_to_json(batch_parts.grads),
        }
    return result


@functools.lru_cache(maxsize=8)
def grid_inputs(size: int, features: tuple[str, ...]) -> np.ndarray:
    """``phi`` of the grid's cell centres, ``(size * size, 2 + F)``, read-only: the same for
    every step of a run, so it is computed once (10,000 rows at the page's grid)."""
    inputs = feature_map(grid_centres(size), features)
    inputs.setflags(write=False)
    return inputs


def minibatch(
    setup: Setup, params: Params, batch_size: int | None, seed: int, step: int
) -> tuple[np.ndarray, LossParts] | None:
    """Update ``step``'s batch and the loss parts on it; ``None`` for full-batch descent."""
    indices = batches.batch_indices(setup.num_examples, batch_size, seed, step)
    if indices is None:
        return None
    return indices, setup.loss.parts(params, setup.X[indices], setup.y[indices], setup.reg)


def point_details(setup: Setup, params: Params, scores: np.ndarray) -> dict[str, Any]:
    """Per point: scores, ``L_i``, ``dL_i/ds`` (not divided by N) and the active hinge terms;
    for every point of the request, held-out ones included (``scores``: the train points')."""
    X, y = heldout.all_points(setup.X, setup.y, setup.held_out)
    if setup.held_out is not None:
        scores = class_scores(params, X)
    losses, dscores = setup.loss.example_loss(scores.copy(), y)
    terms = HINGE_TERMS.get(setup.loss.name)
    active = np.zeros(scores.shape, dtype=bool)
    if terms is not None:
        active = dscores != 0
        if terms == "others":
            active[np.arange(y.size), y] = False
    probabilities = None
    if setup.loss.name == "softmax":
        probabilities = softmax_probabilities(scores).tolist()
    return {
        "scores": scores.tolist(),
        "losses": losses.tolist(),
        "dscores": dscores.tolist(),
        "active": active.tolist(),
        "predicted": predict_classes(params, X).tolist(),
        "probabilities": probabilities,
    }


def advance(
    setup: Setup,
    params: Params,
    optimizer: Optimizer,
    opt_state: State,
    *,
    num_steps: int = 1,
    step: int = 0,
    batch_size: int | None = None,
    seed: int = 0,
    recent_totals: Sequence[float] = (),
) -> dict[str, Any]:
    """``num_steps`` updates; stops early, refusing the update, if the parameters explode."""
    X, y, loss, reg = setup.X, setup.y, setup.loss, setup.reg
    records, status, message = [], "ok", None
    learning_rate = float(optimizer.learning_rate(int(opt_state.count)))
    full_at_params = None  # full-batch parts at params, reused as the next full batch
    for _ in range(num_steps):
        learning_rate = float(optimizer.learning_rate(int(opt_state.count)))
        batch = minibatch(setup, params, batch_size, seed, step)
        if batch is not None:
            indices, batch_parts = batch
        elif full_at_params is not None:
            indices, batch_parts = None, full_at_params
        else:
            indices, batch_parts = None, loss.parts(params, X, y, reg)
        updates, new_state = optimizer.update(batch_parts.grads, opt_state, params)
        new_params = apply_updates(params, updates)
        full = loss.parts(new_params, X, y, reg)
        if exploded(new_params, float(full.total)):
            status, message = "diverged", diverged_message(step + 1, learning_rate, optimizer.name)
            break
        params, opt_state, step, full_at_params = new_params, new_state, step + 1, full
        records.append(
            _record(setup, step, params, opt_state, full, learning_rate, batch_parts, indices)
        )
    if status == "ok":
        totals = [*recent_totals, *(record["total"] for record in records)]
        message = diagnose(totals, learning_rate, optimizer.name)
        status = "ok" if message is None else "diverging"
    return {"records": records, "status": status, "message": message, "params": params}


def _record(
    setup: Setup,
    step: int,
    params: Params,
    opt_state: State,
    full: Any,
    learning_rate: float,
    batch_parts: Any,
    indices: np.ndarray | None,
) -> dict[str, Any]:
    return {
        "step": step,
        "params": params_to_json(params),
        "opt_state": opt_state_to_json(opt_state),
        "data_loss": float(full.data_loss),
        "reg_loss": float(full.reg_loss),
        "total": float(full.total),
        "accuracy": accuracy(params, setup.X, setup.y),
        "test": heldout.held_out_metrics(setup.held_out, setup.loss, params, setup.reg),
        "learning_rate": learning_rate,
        "batch_loss": float(batch_parts.total),
        "batch": None
        if indices is None
        else heldout.request_indices(setup.held_out, indices).tolist(),
    }
