"""The web API's boundary: validated request models to numpy and slopelab objects, and back.

Anything slopelab rejects here (an unknown hyperparameter, an optimizer state of the wrong
shape) becomes an :class:`InputError`, which the app answers with a 422 and the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.losses import Loss, get_loss
from slopelab.optim import Optimizer, State, get_optimizer, state_from_arrays, state_to_arrays
from slopelab.schedules import schedule_from_dict
from slopelab.web.conventions import convention_loss
from slopelab.web.features import feature_map
from slopelab.web.heldout import HeldOut, split
from slopelab.web.models import MAX_STEP_INDEX, DataLossIn, OptimizerIn, ParamsIn

Params = dict[str, np.ndarray]
# slopelab.optim's state fields that accumulate g ** 2 (AdaGrad, RMSProp, Adam and AdamW)
SQUARED_GRADIENTS = ("sum_squares", "mean_square", "second_moment")


class InputError(InvalidValueError):
    """A request that passed the models' limits but that slopelab refuses; answered by a 422
    (as is any other :class:`~slopelab.errors.SlopelabError`, input a user can fix)."""


@dataclass(frozen=True)
class Setup:
    """What every computation shares: the model's inputs ``X = phi(points) (N, 2 + F)`` (the
    points themselves without features), ``y (N,)``, the loss (with its regularization
    conventions) and ``reg``; ``features`` names W's rows beyond x0, x1. With held-out points,
    ``X, y`` are the train points only (see ``slopelab.web.heldout``)."""

    X: np.ndarray
    y: np.ndarray
    num_classes: int
    loss: Loss
    reg: float
    features: tuple[str, ...] = ()
    held_out: HeldOut | None = None  # test points (data.test), kept out of X, y

    @property
    def num_examples(self) -> int:
        return self.X.shape[0]


def setup_from(request: DataLossIn) -> Setup:
    points = np.array(request.data.X, dtype=np.float64).reshape(-1, 2)
    y = np.array(request.data.y, dtype=np.int64)
    features = tuple(request.features)
    loss = convention_loss(
        get_loss(request.loss), half_l2=request.conventions.half_l2,
        regularize_bias=request.conventions.regularize_bias,
    )  # fmt: skip
    X, y, held_out = split(feature_map(points, features), y, request.data.test)
    return Setup(
        X, y, request.data.num_classes, loss, float(request.reg), features, held_out=held_out
    )


def params_from(params: ParamsIn) -> Params:
    return {"W": np.array(params.W, dtype=np.float64), "b": np.array(params.b, dtype=np.float64)}


def params_to_json(params: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {"W": params["W"].tolist(), "b": params["b"].tolist()}


def schedule_description(spec: OptimizerIn) -> dict[str, Any] | None:
    """The input of ``schedule_from_dict`` for the spec's schedule, starting from its step size;
    ``None`` for a constant step size."""
    if spec.schedule is None or spec.schedule.name == "constant":
        return None
    description: dict[str, Any] = {"name": spec.schedule.name, "init_value": spec.learning_rate}
    counts = ("step_size", "decay_steps", "warmup_steps")  # JSON numbers arrive as floats
    for key, value in spec.schedule.options.items():
        exact = float(value).is_integer() and abs(value) <= 2**53  # 1e300 stays a float: refused
        description[key] = int(value) if key in counts and exact else value
    return description


def learning_rate_from(spec: OptimizerIn) -> Any:
    """The step size as a float, or a slopelab schedule starting from it."""
    description = schedule_description(spec)
    if description is None:
        return spec.learning_rate
    try:
        return schedule_from_dict(description)
    except (TypeError, ValueError) as error:
        raise InputError(f"optimizer.schedule: {error}") from None


def optimizer_from(spec: OptimizerIn) -> Optimizer:
    learning_rate = learning_rate_from(spec)
    try:
        return get_optimizer(spec.name, learning_rate, **spec.hyperparams)
    except (TypeError, ValueError) as error:
        raise InputError(f"optimizer: {error}") from None


def opt_state_from(
    optimizer: Optimizer,
    params: Params,
    arrays: Mapping[str, Any] | None,
    *,
    num_steps: int = 0,
) -> State:
    """The optimizer's state from its JSON arrays, or a fresh one for ``None``.

    ``count`` (updates made so far) must leave room for ``num_steps`` more within
    ``MAX_STEP_INDEX``, so every count the API returns is one it accepts back; accumulated
    squared gradients (AdaGrad, RMSProp, Adam) must be non-negative: their square roots are
    taken.
    """
    if arrays is None:
        return optimizer.init(params)
    count, limit = arrays.get("count"), MAX_STEP_INDEX - num_steps
    if not isinstance(count, int | float) or not 0 <= count <= limit or count != int(count):
        raise InputError(
            f"opt_state.count must be an integer in [0, {limit}] (the limit of {MAX_STEP_INDEX} "
            f"updates in one run, less num_steps = {num_steps}); got {count!r}"
        )
    try:
        numeric = {key: np.asarray(value, dtype=np.float64) for key, value in arrays.items()}
        state = state_from_arrays(optimizer, params, numeric)
    except ValueError as error:
        raise InputError(f"opt_state: {error}") from None
    for key, value in state_to_arrays(state).items():
        if key.split("/")[0] in SQUARED_GRADIENTS and np.any(value < 0):
            raise InputError(
                f"opt_state.{key} holds a negative value; it accumulates squared gradients, "
                "so every entry must be >= 0"
            )
    return state


def opt_state_to_json(state: State) -> dict[str, Any]:
    arrays = state_to_arrays(state)
    return {key: (int(a) if key == "count" else a.tolist()) for key, a in arrays.items()}
