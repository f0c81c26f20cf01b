"""Update rules as pure functions over explicit state, in the style of optax.

An :class:`Optimizer` bundles two pure functions over dicts of arrays keyed like the params:

    state = optimizer.init(params)
    updates, state = optimizer.update(grads, state, params)
    params = apply_updates(params, updates)        # params + updates

``updates`` already hold the minus sign and the learning rate. Nothing is mutated; all memory
(step count, velocities, moments) is in the small named state tuple, so a checkpoint is
``state_to_arrays(state)``. The learning rate is a schedule: update number ``k`` (``k = count``,
the updates done before it) uses ``learning_rate(k)``. Arrays keep the dtype of the params.

Rules (each builder's docstring gives the CS231n form next to ours): ``sgd``, ``momentum``,
``nesterov``, ``adagrad``, ``rmsprop``, ``adam``, ``adamw``.

``update`` checks what it is given, per call and never per element (it is the hot path of
training): ``grads`` (and ``params``, when given) must have exactly the keys and shapes of the
arrays the state keeps, the state must be of the rule's kind (momentum and nesterov share
theirs, as adam and adamw do), and the schedule must return a finite rate >= 0. Anything else
is an :class:`~slopelab.errors.InvalidValueError` or :class:`~slopelab.errors.InvalidTypeError`
naming the parameter and both shapes, never a broadcast (a (3, 1) gradient is not spread over a
(3, 2) weight). ``apply_updates`` checks its keys and shapes the same way. They follow PyTorch's
``torch.optim``, which the tests use as the oracle: momentum keeps the learning rate outside the
velocity (CS231n's lr-inside form gives the same iterates only while the rate is constant, with
``v = -lr * b``), and epsilon sits outside the square root, ``sqrt(v) + eps``, as in the CS231n
notes. Only ``adamw`` reads ``params`` in ``update``.

>>> optimizer = get_optimizer("momentum", learning_rate=0.1)
>>> params = {"x": np.array([1.0, -2.0])}
>>> state = optimizer.init(params)
>>> updates, state = optimizer.update({"x": 2 * params["x"]}, state, params)
>>> apply_updates(params, updates)["x"], int(state.count)
(array([ 0.8, -1.6]), 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.schedules import ScheduleLike, as_schedule
from slopelab.validation import check_choice, check_positive

Params = dict[str, np.ndarray]


class SgdState(NamedTuple):
    count: np.ndarray  # 0-d int64: updates done so far


class MomentumState(NamedTuple):
    count: np.ndarray
    velocity: Params  # b, the running sum of gradients (PyTorch's momentum buffer)


class AdagradState(NamedTuple):
    count: np.ndarray
    sum_squares: Params


class RmspropState(NamedTuple):
    count: np.ndarray
    mean_square: Params


class AdamState(NamedTuple):
    count: np.ndarray
    first_moment: Params  # m
    second_moment: Params  # v


State = SgdState | MomentumState | AdagradState | RmspropState | AdamState
InitFn = Callable[[Mapping[str, np.ndarray]], State]
UpdateFn = Callable[..., tuple[Params, State]]  # (grads, state, params=None)
Rule = tuple[InitFn, UpdateFn]


class Optimizer(NamedTuple):
    """A named pair of pure functions ``init(params) -> state`` and
    ``update(grads, state, params) -> (updates, state)``."""

    name: str
    hyperparams: dict[str, Any]
    learning_rate: Callable[[int], float]
    init: InitFn
    update: UpdateFn
    # ``update`` without its per-call checks, for loops that build grads and state themselves
    # (slopelab's training loop checks the first step with ``update`` and then uses this).
    unchecked_update: UpdateFn | None = None


# Rule -> hyperparameter -> default. Learning rates are those of CS231n's optim.py; the rest
# are PyTorch's (AdamW's weight decay 1e-2 as in torch, not optax's 1e-4). AdamW skips the
# bias "b": slopelab never regularizes the bias.
DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"learning_rate": 1e-2},
    "momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0},
    "rmsprop": {"learning_rate": 1e-2, "decay": 0.99, "eps": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {
        "learning_rate": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 1e-2,
        "no_decay": ("b",),
    },
}
OPTIMIZERS: tuple[str, ...] = tuple(DEFAULTS)


def apply_updates(params: Mapping[str, np.ndarray], updates: Mapping[str, np.ndarray]) -> Params:
    """Return ``params + updates`` key by key, in the dtype of the params.

    Raises:
        InvalidValueError: ``updates`` lacks a key of ``params``, has one more, or an update's
            shape differs from its parameter's (it would broadcast).
    """
    _check_like(updates, "updates", params, "params")
    return add_updates(params, updates)


def add_updates(params: Mapping[str, np.ndarray], updates: Mapping[str, np.ndarray]) -> Params:
    """``params + updates`` key by key, in the dtype of the params, without
    :func:`apply_updates`'s checks: for a loop whose updates come from the rule it called on
    gradients shaped like the params (slopelab's training loop, after its first step)."""
    return {key: (p + updates[key]).astype(p.dtype, copy=False) for key, p in params.items()}


def get_optimizer(
    name: str, learning_rate: ScheduleLike | None = None, **hyperparams: Any
) -> Optimizer:
    """Return the update rule ``name`` (one of :data:`OPTIMIZERS`).

    Args:
        name: ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
            ``"adam"`` or ``"adamw"``.
        learning_rate: a number > 0 or a schedule ``step -> rate``; ``None`` takes the rule's
            default from CS231n's ``optim.py`` (1e-2, or 1e-3 for Adam and AdamW).
        **hyperparams: the rule's other knobs; see :data:`DEFAULTS` for names and defaults.

    Raises:
        ValueError: unknown ``name`` or a hyperparameter out of range.
        TypeError: a hyperparameter the rule does not have.
    """
    check_choice(name, "optimizer", OPTIMIZERS)
    defaults = DEFAULTS[name]
    for key in hyperparams:
        if key not in defaults:
            listed = ", ".join(repr(option) for option in defaults)
            raise InvalidTypeError(
                f"unknown hyperparameter {key!r} for optimizer {name!r}; "
                f"valid hyperparameters are {listed}"
            )
    rule_defaults = {key: value for key, value in defaults.items() if key != "learning_rate"}
    resolved = _check_hyperparams(name, {**rule_defaults, **hyperparams})
    schedule = as_schedule(defaults["learning_rate"] if learning_rate is None else learning_rate)
    init, update = _RULES[name](schedule, **resolved)
    return Optimizer(name, resolved, schedule, init, _checked(name, update), update)


def _sgd(learning_rate: Callable[[int], float]) -> Rule:
    """Vanilla SGD. CS231n: ``x += -lr * dx``. PyTorch: ``theta <- theta - lr * g``."""

    def init(params):
        return SgdState(_zero_count())

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        updates = {key: -lr * g for key, g in grads.items()}
        return updates, SgdState(_next_count(state.count))

    return init, update


def _momentum(learning_rate: Callable[[int], float], momentum: float) -> Rule:
    """Heavy-ball momentum.

    CS231n: ``v <- mu * v - lr * dx;  x += v``.
    PyTorch (ours): ``b <- mu * b + g;  theta <- theta - lr * b``  (same iterates for a
    constant lr, with ``v = -lr * b``).
    """

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        velocity = {key: momentum * state.velocity[key] + g for key, g in grads.items()}
        updates = {key: -lr * b for key, b in velocity.items()}
        return updates, MomentumState(_next_count(state.count), velocity)

    return _init_momentum, update


def _nesterov(learning_rate: Callable[[int], float], momentum: float) -> Rule:
    """Nesterov momentum.

    CS231n: ``v_prev = v;  v <- mu * v - lr * dx;  x += -mu * v_prev + (1 + mu) * v``.
    PyTorch (ours): ``b <- mu * b + g;  theta <- theta - lr * (g + mu * b)``.
    """

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        velocity = {key: momentum * state.velocity[key] + g for key, g in grads.items()}
        updates = {key: -lr * (g + momentum * velocity[key]) for key, g in grads.items()}
        return updates, MomentumState(_next_count(state.count), velocity)

    return _init_momentum, update


def _adagrad(
    learning_rate: Callable[[int], float], eps: float, initial_accumulator_value: float
) -> Rule:
    """AdaGrad.

    CS231n: ``cache += dx ** 2;  x += -lr * dx / (sqrt(cache) + eps)``.
    PyTorch (ours): ``s <- s + g ** 2;  theta <- theta - lr * g / (sqrt(s) + eps)``, with ``s``
    starting at ``initial_accumulator_value``.
    """

    def init(params):
        sum_squares = {key: np.full_like(p, initial_accumulator_value) for key, p in params.items()}
        return AdagradState(_zero_count(), sum_squares)

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        sum_squares = {key: state.sum_squares[key] + g * g for key, g in grads.items()}
        updates = {key: -lr * g / (np.sqrt(sum_squares[key]) + eps) for key, g in grads.items()}
        return updates, AdagradState(_next_count(state.count), sum_squares)

    return init, update


def _rmsprop(learning_rate: Callable[[int], float], decay: float, eps: float) -> Rule:
    """RMSProp (``decay`` is PyTorch's ``alpha`` and CS231n's ``decay_rate``).

    CS231n: ``cache = d * cache + (1 - d) * dx ** 2;  x += -lr * dx / (sqrt(cache) + eps)``.
    PyTorch (ours): ``v <- d * v + (1 - d) * g ** 2;  theta <- theta - lr * g / (sqrt(v) + eps)``.
    """

    def init(params):
        return RmspropState(_zero_count(), _zeros_like(params))

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        mean_square = {
            key: decay * state.mean_square[key] + (1.0 - decay) * g * g for key, g in grads.items()
        }
        updates = {key: -lr * g / (np.sqrt(mean_square[key]) + eps) for key, g in grads.items()}
        return updates, RmspropState(_next_count(state.count), mean_square)

    return init, update


def _adam(learning_rate: Callable[[int], float], beta1: float, beta2: float, eps: float) -> Rule:
    """Adam with bias correction, ``t`` counting from 1 (``t = count + 1``).

    CS231n: ``m = b1 m + (1 - b1) dx;  v = b2 v + (1 - b2) dx ** 2;  mt = m / (1 - b1 ** t);
    vt = v / (1 - b2 ** t);  x += -lr * mt / (sqrt(vt) + eps)``.
    PyTorch (ours): the same with ``g`` for ``dx``; ``eps`` is added after the bias correction.
    """

    def update(grads, state, params=None):
        lr = _rate(learning_rate, state)
        moments, direction = _adam_direction(grads, state, beta1, beta2, eps)
        updates = {key: -lr * d for key, d in direction.items()}
        return updates, moments

    return _init_adam, update


def _adamw(
    learning_rate: Callable[[int], float],
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    no_decay: tuple[str, ...],
) -> Rule:
    """AdamW: Adam plus weight decay decoupled from the moments (Loshchilov & Hutter).

    CS231n has no AdamW. PyTorch (ours): ``theta <- theta - lr * wd * theta``, then the Adam
    step from the gradient at the old ``theta``; as one update,
    ``theta <- theta - lr * (mt / (sqrt(vt) + eps) + wd * theta)``. Keys in ``no_decay`` (by
    default the bias ``"b"``, which slopelab never regularizes) get the plain Adam step.
    """

    def update(grads, state, params=None):
        if params is None:
            raise InvalidValueError(
                "adamw needs params for its weight decay; call update(grads, state, params)"
            )
        lr = _rate(learning_rate, state)
        moments, direction = _adam_direction(grads, state, beta1, beta2, eps)
        updates = {}
        for key, d in direction.items():
            decay = 0.0 if key in no_decay else weight_decay
            updates[key] = -lr * (d + decay * params[key])
        return updates, moments

    return _init_adam, update


def _adam_direction(
    grads: Mapping[str, np.ndarray], state: AdamState, beta1: float, beta2: float, eps: float
) -> tuple[AdamState, Params]:
    """New moments and the step direction ``mt / (sqrt(vt) + eps)``, before ``-lr``."""
    t = int(state.count) + 1
    m = {key: beta1 * state.first_moment[key] + (1.0 - beta1) * g for key, g in grads.items()}
    v = {key: beta2 * state.second_moment[key] + (1.0 - beta2) * g * g for key, g in grads.items()}
    m_correction = 1.0 - beta1**t
    v_correction = 1.0 - beta2**t
    direction = {}
    for key in grads:
        m_hat = m[key] / m_correction
        v_hat = v[key] / v_correction
        direction[key] = m_hat / (np.sqrt(v_hat) + eps)
    return AdamState(_next_count(state.count), m, v), direction


def _init_momentum(params):
    return MomentumState(_zero_count(), _zeros_like(params))


def _init_adam(params):
    return AdamState(_zero_count(), _zeros_like(params), _zeros_like(params))


_STATE_TYPES: dict[str, type] = {
    "sgd": SgdState,
    "momentum": MomentumState,
    "nesterov": MomentumState,
    "adagrad": AdagradState,
    "rmsprop": RmspropState,
    "adam": AdamState,
    "adamw": AdamState,
}

_RULES: dict[str, Callable[..., Rule]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adagrad": _adagrad,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": _adamw,
}


def state_to_arrays(state: State) -> dict[str, np.ndarray]:
    """Flatten a state for ``np.savez``: ``{"count": ..., "velocity/W": ..., ...}``.

    >>> state = get_optimizer("momentum").init({"W": np.zeros((2, 3)), "b": np.zeros(3)})
    >>> sorted(state_to_arrays(state))
    ['count', 'velocity/W', 'velocity/b']
    """
    arrays = {}
    for field, value in zip(state._fields, state, strict=True):
        if isinstance(value, Mapping):
            arrays.update({f"{field}/{key}": array for key, array in value.items()})
        else:
            arrays[field] = np.asarray(value)
    return arrays


def state_from_arrays(
    optimizer: Optimizer, params: Mapping[str, np.ndarray], arrays: Mapping[str, np.ndarray]
) -> State:
    """Rebuild the state saved by :func:`state_to_arrays`, checking keys and shapes against
    ``optimizer.init(params)``; arrays are copied and cast to the template's dtypes."""
    template = optimizer.init(params)
    expected = state_to_arrays(template)
    for key, like in expected.items():
        if key not in arrays:
            raise InvalidValueError(
                f"optimizer state is missing key {key!r} for optimizer {optimizer.name!r}; "
                f"expected keys {sorted(expected)}"
            )
        shape = np.shape(arrays[key])
        if shape != like.shape:
            raise InvalidValueError(
                f"optimizer state {key!r} has shape {shape} but the params need {like.shape}"
            )
    unexpected = sorted(set(arrays) - set(expected))
    if unexpected:
        raise InvalidValueError(
            f"optimizer state has unexpected keys {unexpected} for optimizer {optimizer.name!r}; "
            f"expected keys {sorted(expected)}"
        )
    fields = {}
    for field, value in zip(template._fields, template, strict=True):
        if isinstance(value, Mapping):
            fields[field] = {
                key: np.array(arrays[f"{field}/{key}"], dtype=like.dtype)
                for key, like in value.items()
            }
        else:
            fields[field] = np.array(arrays[field], dtype=value.dtype)
    return type(template)(**fields)


def _checked(name: str, update: UpdateFn) -> UpdateFn:
    """``update`` behind the checks of the module docstring: a few key and shape comparisons."""
    kind = _STATE_TYPES[name]

    def checked_update(grads, state, params=None):
        if type(state) is not kind:
            raise InvalidTypeError(
                f"state is {_a(type(state).__name__)} but optimizer {name!r} keeps "
                f"{_a(kind.__name__)}; pass the state that this optimizer's init(params) returned "
                "(or state_from_arrays(optimizer, params, arrays) for a saved one)"
            )
        kept = next((field for field in state[1:] if isinstance(field, Mapping)), None)
        if params is not None:
            if not isinstance(params, Mapping):
                raise InvalidTypeError(
                    f"params must be a dict of arrays, as given to init; got {_kind_of(params)}"
                )
            if kept is not None:
                _check_like(kept, "the optimizer state", params, "params")
        reference = params if params is not None else kept
        _check_like(grads, "grads", reference, "params" if params is not None else None)
        return update(grads, state, params)

    return checked_update


def _check_like(
    arrays: Any, label: str, reference: Mapping[str, Any] | None, reference_label: str | None
) -> None:
    """``arrays`` has exactly the keys of ``reference`` and the same shapes (no broadcasting);
    ``reference_label`` is ``None`` when the reference is the optimizer state's arrays."""
    if not isinstance(arrays, Mapping):
        raise InvalidTypeError(
            f"{label} must be a dict of arrays keyed like params; got {_kind_of(arrays)}"
        )
    if reference is None:  # sgd called without params: nothing to compare with
        for key, value in arrays.items():
            _check_real_array(value, f"{label}[{key!r}]")
        return
    where = reference_label or "the optimizer state"
    if arrays.keys() != reference.keys():
        _raise_key_mismatch(arrays, label, reference, where)
    for key, like in reference.items():
        value = arrays[key]
        _check_real_array(value, f"{label}[{key!r}]")
        if value.shape != like.shape:
            subject = "a gradient" if label == "grads" else "each array"
            raise InvalidValueError(
                f"{label}[{key!r}] has shape {value.shape} but {where}[{key!r}] has shape "
                f"{like.shape}; {subject} must have the shape of its parameter"
            )


def _raise_key_mismatch(
    arrays: Mapping[str, Any], label: str, reference: Mapping[str, Any], where: str
) -> None:
    expected = sorted(map(str, reference))
    missing = [key for key in reference if key not in arrays]
    if missing and label != "the optimizer state":
        raise InvalidValueError(
            f"{label} is missing {missing[0]!r} ({where} has keys {expected}); give one array "
            "per parameter"
        )
    extra = sorted(map(str, (key for key in arrays if key not in reference)))
    if label == "the optimizer state":
        raise InvalidValueError(
            f"the optimizer state has keys {sorted(map(str, arrays))} but params has keys "
            f"{expected}; build the state with init(params) for these params"
        )
    raise InvalidValueError(
        f"{label} has keys {extra} that {where} does not have ({where} has keys {expected})"
    )


def _check_real_array(value: Any, label: str) -> None:
    if not isinstance(value, np.ndarray | np.generic):
        raise InvalidTypeError(f"{label} must be a numpy array; got {_kind_of(value)}")
    if value.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{label} must hold real numbers; got dtype {value.dtype}")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'AEIOU' else 'a'} {noun}"


def _kind_of(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return type(value).__name__


def _rate(learning_rate: Callable[[int], float], state: State) -> float:
    # float() so a schedule returning a numpy float64 cannot upcast float32 updates
    step = int(state.count)
    rate = learning_rate(step)
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(rate, bool) or not math.isfinite(value) or value < 0:
        raise InvalidValueError(
            f"the learning_rate schedule returned {rate!r} at step {step}; a learning rate must "
            "be a finite number >= 0"
        )
    return value


def _zero_count() -> np.ndarray:
    return np.zeros((), dtype=np.int64)


def _next_count(count: np.ndarray) -> np.ndarray:
    return np.asarray(count + 1, dtype=np.int64)


def _zeros_like(params: Mapping[str, np.ndarray]) -> Params:
    return {key: np.zeros_like(p) for key, p in params.items()}


def _check_hyperparams(name: str, hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Return ``hyperparams`` validated, numbers as Python floats (a numpy float64 would
    upcast float32 arrays) and ``no_decay`` as a tuple."""
    checked = {}
    for key, value in hyperparams.items():
        if key == "no_decay":
            checked[key] = _check_names(value, key)
            continue
        if key in ("momentum", "decay", "beta1", "beta2"):
            _check_unit_interval(value, key)
        elif key == "eps":
            check_positive(value, key)
        else:  # initial_accumulator_value, weight_decay
            check_positive(value, key, allow_zero=True)
        checked[key] = float(value)
    if name == "nesterov" and checked["momentum"] == 0:
        raise InvalidValueError("momentum must be > 0 for nesterov; use 'sgd' for no momentum")
    return checked


def _check_unit_interval(value: Any, name: str) -> None:
    check_positive(value, name, allow_zero=True)
    if value >= 1:
        raise InvalidValueError(f"{name} must be in [0, 1); got {value!r}")


def _check_names(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"{name} must be a tuple of parameter names such as ('b',); "
            f"got {value!r} ({type(value).__name__})"
        )
    names = tuple(value)
    if not all(isinstance(key, str) for key in names):
        raise InvalidTypeError(f"{name} must hold parameter names (str); got {names!r}")
    return names
