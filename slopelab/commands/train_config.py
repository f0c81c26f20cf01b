"""The config of a ``slopelab train`` run: resolved from the flags when the run starts, held to
the same flag rules when it resumes.

``config.json`` has four sections the run reads (``data``, ``loss``, ``optimizer``,
``training``) and one it only records (``environment``). On ``--resume`` every entry of the
four is checked by the flag that wrote it: the flag's own ``type`` (range and whole-number
rules, from :mod:`slopelab.commands.arguments`) and ``choices``; the optimizer is built as at
the start (schedule and hyperparameters); an entry the run would not read is refused instead of
being ignored. A hand edit therefore resumes or is one error line naming the entry.

How far the run got (its checkpoint's :class:`~slopelab.checkpoint.Progress`) decides the rest:
a diverged run is not resumed, an early-stopped one is not extended, a plan shorter than what
was trained is refused, and one line says what a resume does.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from slopelab.checkpoint import Progress
from slopelab.commands.arguments import FULL_BATCH, positive_float, positive_int
from slopelab.commands.limits import MAX_RECORDED_STEPS, check_recorded_steps
from slopelab.commands.optimizer_setup import (
    build_optimizer,
    check_hyperparams,
    optimizer_config,
    parse_key_values,
)
from slopelab.data.prepare import DATA_OPTIONS, Prepared
from slopelab.data.streamed_pack import check_stream_entry
from slopelab.errors import CommandError, SlopelabError
from slopelab.problem import is_streamed
from slopelab.runs import CONFIG, RunError
from slopelab.train import steps_per_epoch

Rule = Callable[[Any], Any]

REQUIRED = {
    "data": ("data",),
    "loss": ("loss", "penalty", "reg"),
    "optimizer": ("optimizer", "learning_rate", "schedule", "hyperparams"),
    "training": ("batch_size", "epochs", "sampling", "patience", "seed"),
}
EPOCHS_FLAG_FIX = "use at most --epochs {most}"
RECORDS = ("command", "environment", "arguments")  # read by nobody ("arguments": older runs)


def train_config(args: argparse.Namespace, prepared: Prepared) -> dict[str, Any]:
    """The loss, optimizer and training parts of the config, every value as it will be used
    (the batch size capped at the training set, ``auto`` resolved to a number)."""
    num_examples = len(prepared.y_train)
    full = args.batch_size == FULL_BATCH
    training = {
        "batch_size": num_examples if full else min(args.batch_size, num_examples),
        "full_batch": full,
        "epochs": args.epochs,
        "sampling": args.sampling,
        "patience": args.patience,
        "seed": args.seed,
        "threads": args.threads,  # BLAS threads; a resume continues with them
        "average": getattr(args, "average", None),  # averaged SGD's first update, or None
    }
    check_run_length(training, num_examples, f"--epochs {args.epochs}", EPOCHS_FLAG_FIX)
    check_streaming(training, prepared.X_train)
    return {
        "loss": {
            "loss": args.loss,
            "penalty": args.penalty,
            "reg": args.reg,
            "l1_ratio": getattr(args, "l1_ratio", 0.15),
        },
        "optimizer": optimizer_config(
            args, prepared.X_train, num_classes=prepared.dataset.num_classes
        ),
        "training": training,
    }


def check_run_length(
    training: Mapping[str, Any], num_examples: int, request: str, fix: str
) -> None:
    """Refuse a run of more steps than a History can record; ``fix`` is completed with the
    largest number of epochs that fits."""
    batch_size = None if training.get("full_batch") else training["batch_size"]
    per_epoch = steps_per_epoch(num_examples, batch_size)
    most = f"{MAX_RECORDED_STEPS // per_epoch:,}"
    check_recorded_steps(training["epochs"] * per_epoch, request, fix.format(most=most))


def checked_config(
    config: dict[str, Any], run_dir: Path, flags: Mapping[str, argparse.Action]
) -> dict[str, Any]:
    """``config`` (a resumed run's config.json) with every entry checked by the rules of the
    flag that wrote it and converted as that flag converts it; a RunError names the first
    entry that breaks a rule."""
    path = Path(run_dir) / CONFIG
    if config.get("command") != "train":
        raise CommandError(f"{run_dir} is not a train run; only train runs can be resumed")
    rules = entry_rules(flags)
    unknown = sorted(set(config) - set(rules) - set(RECORDS))
    if unknown:
        raise _entry_error(path, unknown[0], "is not a setting of a train run", "remove it")
    checked = dict(config)
    for section, section_rules in rules.items():
        checked[section] = _checked_section(config, section, section_rules, path)
    optimizer = checked["optimizer"]
    try:
        check_hyperparams(optimizer["optimizer"], optimizer["hyperparams"])
        build_optimizer(optimizer)
    except SlopelabError as error:
        raise _entry_error(path, "optimizer", f"is refused: {error}") from None
    spec = optimizer.get("learning_rate_spec")
    if isinstance(spec, float) and spec != optimizer["learning_rate"]:
        raise _entry_error(
            path,
            "optimizer.learning_rate_spec",
            f"is {spec:g} but the run uses optimizer.learning_rate, {optimizer['learning_rate']:g}",
            "edit learning_rate (learning_rate_spec records what --learning-rate said)",
        )
    return checked


def check_streaming(training: Mapping[str, Any], X_train: Any) -> None:
    """Refuse on streamed training rows what the loop would refuse only once training starts
    (the full batch, sampling with replacement): checked with the other options, before a run
    folder exists or other MPI ranks join in, the refusal is one line of rank 0's."""
    if is_streamed(X_train):
        batch_size = None if training.get("full_batch") else training["batch_size"]
        X_train.check_sampling(batch_size, training["sampling"])


def check_against_data(config: Mapping[str, Any], run_dir: Path, num_examples: int) -> None:
    """The entries that depend on the training set's size: a full batch is the whole set, and
    the run fits the step limit the flags have."""
    path = Path(run_dir) / CONFIG
    training = config["training"]
    if training.get("full_batch") and training["batch_size"] != num_examples:
        raise _entry_error(
            path,
            "training.batch_size",
            f"is {training['batch_size']} but training.full_batch is true (the whole training "
            f"set, {num_examples} examples)",
            "set full_batch to false to use that batch size",
        )
    check_run_length(
        training,
        num_examples,
        f"{path}: training.epochs {training['epochs']}",
        "set it to at most {most}",
    )


def entry_rules(flags: Mapping[str, argparse.Action]) -> dict[str, dict[str, Rule]]:
    """Each section's entries and the rule that checks and converts a JSON value for it."""

    def flag(dest: str) -> Rule:
        return _flag_rule(flags[dest])

    return {
        "data": {key: flag(key) for key in DATA_OPTIONS}
        | {
            "sha256": _fingerprint,
            "test_sha256": _fingerprint,
            "zero_based": _index_base,
            "stream": check_stream_entry,
        },
        "loss": {key: flag(key) for key in ("loss", "penalty", "reg", "l1_ratio")},
        "optimizer": {
            "optimizer": flag("optimizer"),
            "learning_rate": _text_rule(positive_float),  # resolved: a number, never "auto"
            "learning_rate_spec": flag("learning_rate"),
            "schedule": flag("schedule"),
            "warmup": flag("warmup"),
            "hyperparams": _hyperparams,
        },
        "training": {
            "batch_size": _text_rule(positive_int),  # the size used: a number, never "full"
            "full_batch": _boolean,
            "epochs": flag("epochs"),
            "sampling": flag("sampling"),
            "patience": flag("patience"),
            "seed": flag("seed"),
            "threads": flag("threads"),
            "average": flag("average"),
        },
    }


def _checked_section(
    config: Mapping[str, Any], section: str, rules: Mapping[str, Rule], path: Path
) -> dict[str, Any]:
    values = config.get(section)
    if section in config and not isinstance(values, dict):
        raise _entry_error(path, section, f"must be an object of settings; got {_shown(values)}")
    missing = [
        key for key in REQUIRED[section] if not isinstance(values, dict) or key not in values
    ]
    if missing:
        raise RunError(
            f"{path} lacks {section}: {', '.join(missing)}; restore the file, or start a new run"
        )
    unknown = sorted(set(values) - set(rules))
    if unknown:
        known = ", ".join(rules)
        raise _entry_error(
            path, f"{section}.{unknown[0]}", f"is not a setting of a train run (known: {known})"
        )
    checked = {}
    for key, value in values.items():
        try:
            checked[key] = rules[key](value)
        except (argparse.ArgumentTypeError, SlopelabError) as error:
            raise _entry_error(path, f"{section}.{key}", str(error)) from None
    return checked


def _entry_error(path: Path, entry: str, problem: str, fix: str = "fix it") -> RunError:
    return RunError(f"{path}: {entry} {problem}; {fix}, or start a new run")


def _flag_rule(action: argparse.Action) -> Rule:
    """A JSON value checked as the flag checks its text: ``action.type`` on the value's JSON
    spelling (so 3.0 is no whole number), then ``action.choices``; null only where the flag's
    default is None."""

    def check(value: Any) -> Any:
        if value is None and action.default is None:
            return None
        if action.choices is not None:
            if value not in action.choices or not isinstance(value, str):
                valid = ", ".join(str(choice) for choice in action.choices)
                raise argparse.ArgumentTypeError(f"must be one of {valid}; got {_shown(value)}")
            return value
        if action.type is None:
            if not isinstance(value, str):
                raise argparse.ArgumentTypeError(f"must be text; got {_shown(value)}")
            return value
        return _text_rule(action.type)(value)

    return check


def _text_rule(convert: Callable[[str], Any]) -> Rule:
    def check(value: Any) -> Any:
        return convert(value if isinstance(value, str) else json.dumps(value))

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"must be true or false; got {_shown(value)}")
    return value


def _fingerprint(value: Any) -> str | None:
    """The SHA-256 of the data file the run was trained on (None for a named dataset)."""
    if value is None or (isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value)):
        return value
    raise argparse.ArgumentTypeError(f"must be a SHA-256 in hex (64 digits); got {_shown(value)}")


def _index_base(value: Any) -> bool | str:
    """How an svmlight file's indices are read: the base the run used (true: from 0), or
    "auto" (a data file of another kind, or a config written by hand)."""
    if isinstance(value, bool) or value == "auto":
        return value
    raise argparse.ArgumentTypeError(f'must be true, false or "auto"; got {_shown(value)}')


def _hyperparams(value: Any) -> dict[str, float]:
    """An object of ``NAME: number``, checked as ``--opt NAME=number`` is."""
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be an object of NAME: number; got {_shown(value)}")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise argparse.ArgumentTypeError(f"{key} must be a number; got {_shown(number)}")
    items = [f"{key}={json.dumps(number)}" for key, number in value.items()]
    return parse_key_values(items, "entry")


def _shown(value: Any) -> str:
    """The JSON spelling of a value, as the file has it (NaN as NaN)."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def checkpoint_plan(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint's state depends on (see
    :func:`slopelab.checkpoint.load_checkpoint`)."""
    training = config["training"]
    return {
        "optimizer": config["optimizer"]["optimizer"],
        "batch_size": None if training.get("full_batch") else training["batch_size"],
        "sampling": training["sampling"],
        "seed": training["seed"],
        "data": config["data"],
    }


# --- what a resume does with the run, given how far it got ----------------------------------


def refuse_diverged(run_dir: Path, progress: Progress | None) -> None:
    if progress is not None and progress.status == "diverged":
        raise CommandError(
            f"{run_dir} diverged at step {progress.step}, so there is nothing to resume: start "
            f"a new run ({progress.message})"
        )


def check_extension(run_dir: Path, progress: Progress | None, planned: int, epochs: int) -> None:
    """``--epochs`` with ``--resume`` trains longer; it cannot shorten a run or restart one
    that stopped early."""
    if progress is not None and progress.status == "early_stopped":
        raise CommandError(
            f"{run_dir} stopped early ({progress.message}), so --epochs cannot make it train "
            "longer; start a new run with a larger --patience, or without it"
        )
    if epochs < planned:
        raise CommandError(
            f"{run_dir} was planned for {planned} epochs; --epochs with --resume can only "
            f"extend it (give more than {planned})"
        )


def what_resuming_does(
    run_dir: Path, progress: Progress | None, config: dict[str, Any], num_examples: int
) -> str:
    """One line saying what ``--resume`` will do; a RunError when config.json plans fewer
    epochs than the checkpoint has already trained (an edit that cannot be honoured).

    Epochs are counted as the loop counts them, examples seen / training examples."""
    if progress is None:
        return (
            f"{run_dir} has no checkpoint yet (it stopped before its first epoch ended); "
            "training it from the start"
        )
    training = config["training"]
    planned, done = training["epochs"], progress.examples / num_examples
    batch_size = num_examples if training.get("full_batch") else training["batch_size"]
    if progress.examples - min(batch_size, num_examples) >= planned * num_examples:
        raise RunError(
            f"{run_dir / CONFIG} plans {planned} epochs, but the run has already trained "
            f"{done:g} (its checkpoint is at step {progress.step}); set training.epochs to "
            f"{math.ceil(done)} or more, or start a new run"
        )
    if progress.status == "early_stopped":
        return f"{run_dir} already ended: {progress.message}; nothing to resume"
    if progress.status == "completed" and done >= planned:
        return (
            f"{run_dir} already finished its {planned} epochs; nothing to resume (give "
            f"--epochs N, N > {planned}, to train it longer); its results:"
        )
    return f"resuming {run_dir} at step {progress.step} (epoch {done:.3g} of {planned})"
