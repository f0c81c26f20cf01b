"""From flags to an update rule: ``--optimizer --learning-rate --schedule --warmup --opt``.

Everything is parsed and the optimizer is built once while the config is resolved, before a
run folder exists, so a mistyped schedule or hyperparameter never leaves a folder behind.
"""

from __future__ import annotations

import argparse
import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from slopelab.autolr import resolve_learning_rate
from slopelab.errors import CommandError, SlopelabError
from slopelab.optim import DEFAULTS, Optimizer, get_optimizer
from slopelab.schedules import SCHEDULES, Schedule, linear_warmup

STEP_COUNTS = ("step_size", "decay_steps", "warmup_steps")  # whole numbers of updates
EXAMPLES = {"step_size": 500, "decay_rate": 0.96, "decay_steps": 2000}  # for error messages
MAX_STEPS = 10**12  # beyond any run; larger counts only overflow the arithmetic


def parse_key_values(items: Sequence[str], what: str) -> dict[str, float]:
    """``["momentum=0.9", ...]`` -> ``{"momentum": 0.9}`` (finite numbers only)."""
    values = {}
    for item in items:
        key, separator, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not separator or not key:
            raise CommandError(f"{what} {item!r} must look like KEY=VALUE, e.g. momentum=0.9")
        try:
            value = float(text)
        except ValueError:
            raise CommandError(f"{what} {item!r}: {text.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise CommandError(f"{what} {item!r}: the value must be a finite number")
        if key in values:
            raise CommandError(f"{what} {key!r} is given twice; give it once")
        values[key] = value
    return values


def _step_count(key: str, value: float) -> int:
    if value != round(value) or not 1 <= value <= MAX_STEPS:
        raise CommandError(
            f"schedule option {key} must be a whole number of steps between 1 and "
            f"{MAX_STEPS:.0e}; got {value:g}"
        )
    return int(value)


def parse_schedule(spec: str, learning_rate: float, warmup: int | None = None) -> Schedule:
    """``NAME[:KEY=VALUE,...]`` -> a schedule starting at ``learning_rate``.

    >>> parse_schedule("step:step_size=100,gamma=0.5", 0.1)(250)
    0.025
    """
    name, _, options = spec.strip().partition(":")
    if name not in SCHEDULES or name == "warmup":
        if name == "warmup":
            raise CommandError("use --warmup STEPS to add a warmup to any schedule")
        valid = ", ".join(key for key in SCHEDULES if key != "warmup")
        raise CommandError(f"unknown schedule {name!r}; valid schedules are {valid}")
    keywords: dict[str, Any] = parse_key_values(
        [o for o in options.split(",") if o.strip()], "schedule option"
    )
    for key, value in keywords.items():
        if key in STEP_COUNTS:
            keywords[key] = _step_count(key, value)
    if "init_value" in keywords or "value" in keywords:
        raise CommandError("the schedule starts at --learning-rate; do not set it as an option")
    _check_schedule_options(name, keywords)
    try:
        schedule = SCHEDULES[name](learning_rate, **keywords)
    except SlopelabError as error:
        raise CommandError(f"--schedule {spec}: {error}") from None
    return linear_warmup(schedule, warmup) if warmup else schedule


def schedule_options(name: str) -> tuple[list[str], list[str]]:
    """The options of schedule ``name`` after its starting rate: (required, optional)."""
    parameters = list(inspect.signature(SCHEDULES[name]).parameters.values())[1:]
    required = [p.name for p in parameters if p.default is inspect.Parameter.empty]
    return required, [p.name for p in parameters if p.default is not inspect.Parameter.empty]


def _check_schedule_options(name: str, keywords: dict[str, Any]) -> None:
    required, optional = schedule_options(name)
    example = f"{name}:" + ",".join(f"{key}={EXAMPLES.get(key, 1)}" for key in required)
    known = ", ".join(required + optional) or "none"
    unknown = sorted(set(keywords) - set(required) - set(optional))
    if unknown:
        raise CommandError(
            f"--schedule {name} has no option {unknown[0]!r}; its options are {known}"
        )
    missing = [key for key in required if key not in keywords]
    if missing:
        raise CommandError(
            f"--schedule {name} needs {', '.join(missing)} (e.g. --schedule {example}); its "
            f"options are {known}"
        )


def optimizer_config(
    args: argparse.Namespace,
    X_train: np.ndarray,
    reg: float | None = None,
    num_classes: int | None = None,
) -> dict[str, Any]:
    """The optimizer part of a run's config, with ``auto`` resolved to a number; the optimizer
    is built once here so that every option is checked before anything is written."""
    reg = args.reg if reg is None else reg
    hyper = parse_key_values(args.opt, "--opt")
    check_hyperparams(args.optimizer, hyper, args.opt)
    try:
        rate = resolve_learning_rate(
            args.learning_rate,
            X_train,
            reg,
            args.optimizer,
            hyper,
            penalty=getattr(args, "penalty", "l2"),
            num_classes=num_classes,
            l1_ratio=getattr(args, "l1_ratio", 0.15),
        )
    except SlopelabError as error:
        raise CommandError(f"--learning-rate auto: {error}") from None
    config = {
        "optimizer": args.optimizer,
        "learning_rate": float(rate),
        "learning_rate_spec": args.learning_rate,
        "schedule": args.schedule,
        "warmup": args.warmup,
        "hyperparams": hyper,
    }
    build_optimizer(config)
    return config


def check_hyperparams(optimizer: str, hyper: dict[str, float], given: Sequence[str] = ()) -> None:
    """Refuse a hyperparameter ``optimizer`` does not have (the learning rate has its own flag)
    or a value it does not accept; ``given`` are the ``--opt`` items, to name the culprit."""
    if "learning_rate" in hyper:
        raise CommandError("set the learning rate with --learning-rate, not --opt learning_rate")
    defaults = DEFAULTS[optimizer]
    unknown = sorted(set(hyper) - set(defaults))
    if unknown:
        valid = ", ".join(k for k in defaults if k not in ("learning_rate", "no_decay"))
        raise CommandError(
            f"--opt {unknown[0]} is not a hyperparameter of {optimizer}; valid: {valid or 'none'}"
        )
    try:  # build the rule once at rate 1, so that a bad value is named as an --opt
        get_optimizer(optimizer, learning_rate=1.0, **hyper)
    except SlopelabError as error:
        culprit = next((item for item in given if item.partition("=")[0] in str(error)), None)
        flag = f"--opt {culprit}" if culprit else "--opt"
        raise CommandError(f"{flag} (--optimizer {optimizer}): {error}") from None


def idle_steps_note(schedule: Any, total_steps: int) -> str | None:
    """A note when the schedule's rate is 0 at the end of the run: the steps from the first such
    step on change nothing (e.g. ``cosine`` with ``decay_steps`` shorter than the run). The decays
    never rise again, so the first zero step is found by bisection.

    >>> from slopelab.schedules import cosine_decay
    >>> idle_steps_note(cosine_decay(0.1, decay_steps=20), 28)
    'the learning rate reaches 0 at step 20, so the last 8 of 28 updates change nothing; give the schedule more steps (e.g. decay_steps=28)'
    """  # noqa: E501
    if total_steps < 1 or float(schedule(total_steps - 1)) > 0:
        return None
    low, high = 0, total_steps - 1  # the rate is > 0 somewhere before high, or at 0 already
    while low < high:
        middle = (low + high) // 2
        if float(schedule(middle)) > 0:
            low = middle + 1
        else:
            high = middle
    idle = total_steps - low
    return (
        f"the learning rate reaches 0 at step {low}, so the last {idle} of {total_steps} updates "
        f"change nothing; give the schedule more steps (e.g. decay_steps={total_steps})"
    )


def build_optimizer(config: dict[str, Any]) -> Optimizer:
    schedule = parse_schedule(config["schedule"], config["learning_rate"], config.get("warmup"))
    try:
        return get_optimizer(config["optimizer"], learning_rate=schedule, **config["hyperparams"])
    except SlopelabError as error:
        raise CommandError(f"--optimizer {config['optimizer']}: {error}") from None
