"""Learning-rate schedules: a schedule is a function ``step -> learning_rate``.

``step`` counts the updates already done, from 0, so update ``k`` uses ``schedule(k)``. Each
schedule is a small frozen dataclass with ``__call__(step)``, ``describe()`` (one line for logs)
and ``to_dict()`` (JSON-ready; :func:`schedule_from_dict` rebuilds it). Build schedules with the
lowercase constructors, which validate their arguments; :func:`as_schedule` turns a float into a
constant schedule so every ``learning_rate`` argument accepts a float or a schedule.

The decays are the "annealing the learning rate" recipes of the CS231n notes (step, exponential,
1/t) plus cosine decay and linear warmup as in optax.

>>> lr = step_decay(0.1, step_size=100)
>>> lr(0), lr(99), lr(250)
(0.1, 0.1, 0.025)
>>> lr.describe()
'step decay: 0.1 x 0.5 every 100 steps'
>>> schedule_from_dict(lr.to_dict()) == lr
True
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.validation import check_choice, check_positive

ScheduleLike = float | Callable[[int], float]


class Schedule:
    """Base class: a frozen dataclass whose fields are its constructor's keyword arguments."""

    name: ClassVar[str]

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **constructor_kwargs}``, the input of :func:`schedule_from_dict`."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {"name": self.name, **fields}


@dataclass(frozen=True)
class Constant(Schedule):
    """``lr(t) = value``."""

    value: float
    name: ClassVar[str] = "constant"

    def __call__(self, step: int) -> float:
        return self.value

    def describe(self) -> str:
        return f"constant: {self.value:g}"


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``lr(t) = init_value * gamma ** (t // step_size)``."""

    init_value: float
    step_size: int
    gamma: float = 0.5
    name: ClassVar[str] = "step"

    def __call__(self, step: int) -> float:
        return self.init_value * self.gamma ** (step // self.step_size)

    def describe(self) -> str:
        return f"step decay: {self.init_value:g} x {self.gamma:g} every {self.step_size} steps"


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """``lr(t) = init_value * decay_rate ** (t / decay_steps)``."""

    init_value: float
    decay_rate: float
    decay_steps: int = 1
    name: ClassVar[str] = "exponential"

    def __call__(self, step: int) -> float:
        return self.init_value * self.decay_rate ** (step / self.decay_steps)

    def describe(self) -> str:
        return (
            f"exponential decay: {self.init_value:g} x {self.decay_rate:g} "
            f"** (step / {self.decay_steps})"
        )


@dataclass(frozen=True)
class InverseTime(Schedule):
    """``lr(t) = init_value / (1 + decay_rate * t / decay_steps)`` (the notes' 1/t decay)."""

    init_value: float
    decay_rate: float
    decay_steps: int = 1
    name: ClassVar[str] = "inverse-time"

    def __call__(self, step: int) -> float:
        return self.init_value / (1.0 + self.decay_rate * step / self.decay_steps)

    def describe(self) -> str:
        return (
            f"inverse-time decay: {self.init_value:g} / "
            f"(1 + {self.decay_rate:g} * step / {self.decay_steps})"
        )


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """``lr(t) = final + (init - final) * (1 + cos(pi * min(t, T) / T)) / 2`` with ``T =
    decay_steps``: half a cosine from ``init_value`` down to ``final_value``, then flat."""

    init_value: float
    decay_steps: int
    final_value: float = 0.0
    name: ClassVar[str] = "cosine"

    def __call__(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        weight = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 at the start, 0 at the end
        # The docstring's form, not weight * init + (1 - weight) * final: that convex mix can
        # round below final_value (by an ulp when init == final; found by hypothesis).
        return self.final_value + (self.init_value - self.final_value) * weight

    def describe(self) -> str:
        return (
            f"cosine decay: {self.init_value:g} to {self.final_value:g} "
            f"over {self.decay_steps} steps"
        )


@dataclass(frozen=True)
class LinearWarmup(Schedule):
    """Linear ramp from ``start_value`` to ``schedule(0)`` over ``warmup_steps``, then
    ``schedule`` shifted by ``warmup_steps``::

        lr(t) = start + (schedule(0) - start) * t / W    for t < W
        lr(t) = schedule(t - W)                           for t >= W

    As in optax's ``warmup_*_schedule``: the wrapped schedule's decay starts only once the
    warmup ends, and its peak ``schedule(0)`` is reached exactly at step ``W``.
    """

    schedule: Schedule
    warmup_steps: int
    start_value: float = 0.0
    name: ClassVar[str] = "warmup"

    def __call__(self, step: int) -> float:
        if step >= self.warmup_steps:
            return self.schedule(step - self.warmup_steps)
        peak = self.schedule(0)
        return self.start_value + (peak - self.start_value) * step / self.warmup_steps

    def describe(self) -> str:
        return (
            f"linear warmup from {self.start_value:g} over {self.warmup_steps} steps, "
            f"then {self.schedule.describe()}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schedule_or_value": self.schedule.to_dict(),
            "warmup_steps": self.warmup_steps,
            "start_value": self.start_value,
        }


def constant(value: float) -> Constant:
    """A constant learning rate ``value > 0``."""
    return Constant(float(check_positive(value, "value")))


def step_decay(init_value: float, step_size: int, gamma: float = 0.5) -> StepDecay:
    """Multiply by ``gamma`` in (0, 1] every ``step_size`` steps (CS231n's preferred decay)."""
    check_positive(init_value, "init_value")
    check_positive(step_size, "step_size", integer=True)
    _check_decay_factor(gamma, "gamma")
    return StepDecay(float(init_value), int(step_size), float(gamma))


def exponential_decay(
    init_value: float, decay_rate: float, decay_steps: int = 1
) -> ExponentialDecay:
    """Multiply by ``decay_rate`` in (0, 1] every ``decay_steps`` steps, smoothly."""
    check_positive(init_value, "init_value")
    _check_decay_factor(decay_rate, "decay_rate")
    check_positive(decay_steps, "decay_steps", integer=True)
    return ExponentialDecay(float(init_value), float(decay_rate), int(decay_steps))


def inverse_time(init_value: float, decay_rate: float, decay_steps: int = 1) -> InverseTime:
    """1/t decay ``init_value / (1 + decay_rate * t / decay_steps)`` with ``decay_rate >= 0``."""
    check_positive(init_value, "init_value")
    check_positive(decay_rate, "decay_rate", allow_zero=True)
    check_positive(decay_steps, "decay_steps", integer=True)
    return InverseTime(float(init_value), float(decay_rate), int(decay_steps))


def cosine_decay(init_value: float, decay_steps: int, final_value: float = 0.0) -> CosineDecay:
    """Cosine from ``init_value`` to ``final_value`` (``0 <= final <= init``) over
    ``decay_steps``, then constant ``final_value``."""
    check_positive(init_value, "init_value")
    check_positive(decay_steps, "decay_steps", integer=True)
    check_positive(final_value, "final_value", allow_zero=True)
    if final_value > init_value:
        raise InvalidValueError(
            f"final_value must be <= init_value ({init_value!r}) for a decay; got {final_value!r}"
        )
    return CosineDecay(float(init_value), int(decay_steps), float(final_value))


def linear_warmup(
    schedule_or_value: Schedule | float, warmup_steps: int, start_value: float = 0.0
) -> LinearWarmup:
    """Ramp linearly from ``start_value`` to the wrapped schedule, then follow it (see
    :class:`LinearWarmup`). A float is wrapped as :func:`constant`."""
    if not isinstance(schedule_or_value, Schedule):
        if callable(schedule_or_value):
            raise InvalidTypeError(
                "schedule_or_value must be a number or a slopelab schedule (so the run config "
                f"can be saved); got {schedule_or_value!r}"
            )
        schedule_or_value = constant(schedule_or_value)
    check_positive(warmup_steps, "warmup_steps", integer=True)
    check_positive(start_value, "start_value", allow_zero=True)
    return LinearWarmup(schedule_or_value, int(warmup_steps), float(start_value))


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step": step_decay,
    "exponential": exponential_decay,
    "inverse-time": inverse_time,
    "cosine": cosine_decay,
    "warmup": linear_warmup,
}


def schedule_from_dict(d: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_dict` output (validated like the constructors).

    >>> schedule_from_dict({"name": "cosine", "init_value": 0.1, "decay_steps": 10})(10)
    0.0
    """
    if not isinstance(d, Mapping) or "name" not in d:
        got = sorted(d) if isinstance(d, Mapping) else repr(d)
        raise InvalidValueError(f"a schedule dict needs a 'name' key; got {got}")
    name = check_choice(d["name"], "schedule", SCHEDULES)
    constructor = SCHEDULES[name]
    kwargs = {key: value for key, value in d.items() if key != "name"}
    valid = list(inspect.signature(constructor).parameters)
    for key in kwargs:
        if key not in valid:
            listed = ", ".join(repr(option) for option in valid)
            raise InvalidTypeError(
                f"unknown argument {key!r} for schedule {name!r}; valid arguments are {listed}"
            )
    if isinstance(kwargs.get("schedule_or_value"), Mapping):
        kwargs["schedule_or_value"] = schedule_from_dict(kwargs["schedule_or_value"])
    return constructor(**kwargs)


def as_schedule(learning_rate: ScheduleLike) -> Callable[[int], float]:
    """Normalize a ``learning_rate`` argument: a number > 0 becomes :func:`constant`; a schedule
    or any other callable ``step -> rate`` is returned as is.

    >>> as_schedule(0.01)
    Constant(value=0.01)
    """
    if callable(learning_rate):
        return learning_rate
    is_number = isinstance(learning_rate, int | float | np.integer | np.floating)
    if not is_number or isinstance(learning_rate, bool):
        raise InvalidTypeError(
            "learning_rate must be a number > 0 or a schedule (a callable step -> rate); "
            f"got {learning_rate!r} ({type(learning_rate).__name__})"
        )
    return Constant(float(check_positive(learning_rate, "learning_rate")))


def _check_decay_factor(value: float, name: str) -> None:
    check_positive(value, name)
    if value > 1:
        raise InvalidValueError(f"{name} must be in (0, 1] so the rate decays; got {value!r}")
