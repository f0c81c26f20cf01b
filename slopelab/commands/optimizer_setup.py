"""From flags to an update rule: ``--optimizer --learning-rate --schedule --warmup --opt``.

Everything is parsed and the optimizer is built once while the config is resolved, before a
run folder exists, so a mistyped schedule or hyperparameter never leaves a folder behind.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from slopelab.autolr import resolve_learning_rate
from slopelab.errors import CommandError, SlopelabError
from slopelab.optim import DEFAULTS, Optimizer, get_optimizer
from slopelab.schedules import SCHEDULES, Schedule, linear_warmup

STEP_COUNTS = ("step_size", "decay_steps", "warmup_steps")  # whole numbers of updates
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
    try:
        schedule = SCHEDULES[name](learning_rate, **keywords)
    except TypeError as error:  # an option the schedule does not take
        raise CommandError(f"schedule {name!r}: {error}") from None
    except SlopelabError as error:
        raise CommandError(f"schedule {name!r}: {error}") from None
    return linear_warmup(schedule, warmup) if warmup else schedule


def optimizer_config(
    args: argparse.Namespace, X_train: np.ndarray, reg: float | None = None
) -> dict[str, Any]:
    """The optimizer part of a run's config, with ``auto`` resolved to a number; the optimizer
    is built once here so that every option is checked before anything is written."""
    reg = args.reg if reg is None else reg
    hyper = parse_key_values(args.opt, "--opt")
    check_hyperparams(args.optimizer, hyper)
    try:
        rate = resolve_learning_rate(args.learning_rate, X_train, reg, args.optimizer, hyper)
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


def check_hyperparams(optimizer: str, hyper: dict[str, float]) -> None:
    """Refuse a hyperparameter ``optimizer`` does not have (the learning rate has its own flag)."""
    if "learning_rate" in hyper:
        raise CommandError("set the learning rate with --learning-rate, not --opt learning_rate")
    defaults = DEFAULTS[optimizer]
    unknown = sorted(set(hyper) - set(defaults))
    if unknown:
        valid = ", ".join(k for k in defaults if k not in ("learning_rate", "no_decay"))
        raise CommandError(
            f"--opt {unknown[0]} is not a hyperparameter of {optimizer}; valid: {valid or 'none'}"
        )


def build_optimizer(config: dict[str, Any]) -> Optimizer:
    schedule = parse_schedule(config["schedule"], config["learning_rate"], config.get("warmup"))
    try:
        return get_optimizer(config["optimizer"], learning_rate=schedule, **config["hyperparams"])
    except SlopelabError as error:
        raise CommandError(f"--optimizer {config['optimizer']}: {error}") from None
