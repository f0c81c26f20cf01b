"""The same ``W, b`` under all four losses of ``slopelab.losses``, side by side (pure).

For each loss: ``total = (1/N) sum_i L_i + reg * R(W)`` split into its data and regularization
parts, and the points it still penalizes, ``{i : L_i > 0}``. The hinge losses stop penalizing
a point once its margins are met; softmax never does (``L_i = -log p_{y_i} > 0`` for finite
scores, though it can round to 0 in double precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slopelab.losses import EXAMPLE_LOSSES, Loss, get_loss
from slopelab.web.conventions import ConventionLoss, convention_loss, regularization
from slopelab.web.convert import Params
from slopelab.web.export import LOSS_LABELS


def all_losses(
    X: np.ndarray,
    y: np.ndarray,
    params: Params,
    reg: float,
    train: np.ndarray | None = None,
    like: Loss | None = None,
) -> dict[str, Any]:
    """Every loss's data, regularization and total loss at ``params`` on ``X (N, D)``,
    ``y (N,)``, and the points it penalizes. With held-out points, ``train (N,)`` marks the
    points the demo trains on: the data loss and the penalized points are theirs (the loss
    being minimized), while ``example_losses`` covers every point. ``like``: the page's loss,
    whose regularization conventions (``slopelab.web.conventions``) every loss takes on."""
    train = np.ones(X.shape[0], dtype=bool) if train is None else np.asarray(train, dtype=bool)
    num_examples = int(train.sum())
    rows = []
    for name in EXAMPLE_LOSSES:
        loss = get_loss(name)
        if isinstance(like, ConventionLoss):
            loss = convention_loss(loss, half_l2=like.half_l2, regularize_bias=like.regularize_bias)
        example_losses, _ = loss.example_losses(params, X, y)  # (N,)
        data_loss = float(example_losses[train].sum() / num_examples)
        reg_loss = float(regularization(loss, params["W"], params["b"], reg))
        penalized = np.flatnonzero((example_losses > 0) & train)
        rows.append({
            "name": name,
            "label": LOSS_LABELS[name],
            "data_loss": data_loss,
            "reg_loss": reg_loss,
            "total": data_loss + reg_loss,
            "penalized": penalized.tolist(),
            "example_losses": example_losses.tolist(),
        })  # fmt: skip
    return {"num_examples": num_examples, "losses": rows}
