"""Checkpoints: everything a descent run needs to continue exactly where it stopped.

``checkpoint.npz`` holds the parameters, the optimizer state (``opt/...``), the loop position
(step, epoch, batch within the epoch, the epoch's permutation, counters), early-stopping memory,
averaged SGD's running mean (``average/...`` and its count ``averaged``),
how the run ended so far (``status``, JSON) and the RNG's bit-generator state (JSON). Resuming
from it and running to the end gives the same parameters, bit for bit, as never stopping (with
the same BLAS thread count: a multi-threaded matrix product may sum in a different order).

Loading checks every entry against the run it should continue (shapes against the data and the
update rule, counters, the JSON parts) and reports anything amiss as one RunError.
:func:`read_progress` reads only how far a run got and how it ended, without the data, so a
command can answer at once (a diverged run, a finished one) before loading anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.optim import Optimizer, state_from_arrays, state_to_arrays
from slopelab.problem import Problem
from slopelab.runs import CHECKPOINT, CONFIG, RunError, atomic_save_npz, load_npz, read_config
from slopelab.train import DescentState

PLAN = ("optimizer", "batch_size", "sampling", "seed", "data")  # what a saved state depends on
OLDER_PLAN = PLAN[:4]  # checkpoints written before the data was part of the plan
MOVABLE = ("data_dir",)  # data entries that may change: where a named dataset is kept
Plan = dict[str, Any]
COUNTERS = ("step", "batch_in_epoch", "epochs_done", "evaluations", "examples", "stale_epochs")
RUNNING_COUNTERS = ("epoch_correct", "epoch_scored", "averaged")  # absent from older ones: 0
FLOATS = ("seconds", "start_loss", "best_val_accuracy")
STATUSES = ("running", "completed", "early_stopped", "diverged", "interrupted")


class _CorruptError(Exception):
    """One thing wrong with a checkpoint; becomes the RunError's detail."""


@dataclass(frozen=True)
class Progress:
    """How far a run got (``step`` updates, ``examples`` seen) and how it ended so far."""

    step: int
    examples: int
    status: str
    message: str


def save_checkpoint(
    run_dir: Path, state: DescentState, rng: np.random.Generator, plan: Plan | None = None
) -> None:
    """Write ``checkpoint.npz`` atomically. ``plan``: the settings the saved state depends on
    (see :func:`load_checkpoint`)."""
    arrays: dict[str, np.ndarray] = {}
    if plan is not None:
        arrays["plan"] = np.array(json.dumps(plan))
    arrays.update({f"params/{key}": value for key, value in state.params.items()})
    arrays.update({f"opt/{key}": value for key, value in state_to_arrays(state.opt_state).items()})
    if state.best_params is not None:
        arrays.update({f"best/{key}": value for key, value in state.best_params.items()})
    if state.average is not None:
        arrays.update({f"average/{key}": value for key, value in state.average.items()})
    if state.order is not None:
        arrays["order"] = state.order
    for name in COUNTERS + RUNNING_COUNTERS:
        arrays[name] = np.array(getattr(state, name), dtype=np.int64)
    for name in FLOATS:
        value = getattr(state, name)
        arrays[name] = np.array(math.nan if value is None else value, dtype=np.float64)
    arrays["rng_state"] = np.array(json.dumps(rng.bit_generator.state))
    arrays["status"] = np.array(json.dumps({"status": state.status, "message": state.message}))
    atomic_save_npz(Path(run_dir) / CHECKPOINT, arrays)


def load_checkpoint(
    run_dir: Path,
    problem: Problem,
    optimizer: Optimizer,
    rng: np.random.Generator,
    plan: Plan | None = None,
) -> DescentState:
    """Read ``checkpoint.npz`` of a run on ``problem`` with ``optimizer``: return the loop
    state and set ``rng`` to the saved bit-generator state.

    ``plan`` is the run's ``{"optimizer", "batch_size", "sampling", "seed", "data"}`` now (the
    data config of the run); when the checkpoint saved its own, a change is refused by name
    where the state cannot follow it (see :func:`check_saved_plan`)."""
    path = Path(run_dir) / CHECKPOINT
    arrays = _read(path)
    try:
        params = _params(arrays, "params/", problem)
        best = _params(arrays, "best/", problem) if _group(arrays, "best/") else None
        try:
            opt_state = state_from_arrays(optimizer, params, _group(arrays, "opt/"))
        except ValueError as error:
            raise _CorruptError(str(error)) from None
        state = DescentState(params, opt_state, best_params=best, order=_order(arrays, problem))
        if _group(arrays, "average/"):
            state.average = _params(arrays, "average/", problem)
        for name in COUNTERS:
            setattr(state, name, _counter(arrays, name))
        for name in RUNNING_COUNTERS:
            if name in arrays:
                setattr(state, name, _counter(arrays, name))
        if (state.average is None) != (state.averaged == 0):
            raise _CorruptError(
                f"averaged is {state.averaged} but average/* is "
                f"{'missing' if state.average is None else 'present'}"
            )
        for name in FLOATS:
            setattr(state, name, _float(arrays, name))
        if math.isnan(state.start_loss):
            state.start_loss = None
        if "status" in arrays:  # checkpoints written before the status was saved lack it
            state.status, state.message = _status(arrays)
        _set_rng_state(rng, _json(arrays, "rng_state"))
    except _CorruptError as error:
        raise _corrupt(path, error) from None
    if plan is not None and "plan" in arrays:
        _check_plan(_saved_plan(arrays, path), plan, state.batch_in_epoch, path)
    return state


def read_progress(run_dir: Path) -> Progress | None:
    """The step, examples and status saved in ``checkpoint.npz``; None without a checkpoint."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    arrays = _read(path)
    try:
        status, message = _status(arrays) if "status" in arrays else ("running", "")
        return Progress(_counter(arrays, "step"), _counter(arrays, "examples"), status, message)
    except _CorruptError as error:
        raise _corrupt(path, error) from None


def check_saved_plan(run_dir: Path, plan: Plan) -> None:
    """Refuse, by name, a change of the run's settings since ``checkpoint.npz`` was saved that
    its state cannot follow: another update rule (its state arrays mean something else),
    another seed (the saved random stream continues, so the new seed would be ignored), other
    batches in the middle of an epoch (the epoch's position counts batches of the saved size),
    or other data or another order of its rows (any entry of ``plan["data"]`` but the folder of
    a named dataset, and the path of a file whose SHA-256 is recorded, since the run checks its
    bytes): the saved position, permutation and parameters belong to the data as it was. Nothing
    to check without a checkpoint, or one saved without a plan."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return
    arrays = _read(path)
    if "plan" in arrays:
        try:
            batch_in_epoch = _counter(arrays, "batch_in_epoch")
        except _CorruptError as error:
            raise _corrupt(path, error) from None
        _check_plan(_saved_plan(arrays, path), plan, batch_in_epoch, path)


def missing_model_error(run_dir: Path) -> RunError:
    """Why the folder ``run_dir`` holds no ``model.npz``, and what to do, as a RunError."""
    try:
        command = read_config(run_dir).get("command")
    except RunError:
        command = None
    try:
        progress = read_progress(run_dir) if command == "train" else None
    except RunError as error:
        return RunError(f"{run_dir} saved no model, and {error}")
    resume = f"slopelab train --resume {run_dir}"
    if command is None:
        return RunError(
            f"{run_dir} holds no model.npz and no readable {CONFIG}; give the folder of a "
            "train run, or a model.npz file"
        )
    if command != "train":
        return RunError(f"{run_dir} is a {command} run; only train runs save a model (model.npz)")
    if progress is None:
        return RunError(
            f"{run_dir} stopped before its first epoch ended and saved no model; train it "
            f"with {resume}"
        )
    if progress.status == "diverged":
        return RunError(
            f"{run_dir} diverged at step {progress.step}, so it saved no model: start a new run "
            f"({progress.message})"
        )
    return RunError(
        f"{run_dir} has not finished (its checkpoint is at step {progress.step}) and saved no "
        f"model yet; finish it with {resume}"
    )


def _saved_plan(arrays: dict[str, np.ndarray], path: Path) -> Plan:
    try:
        saved = _json(arrays, "plan")
    except _CorruptError as error:
        raise _corrupt(path, error) from None
    if not isinstance(saved, dict) or set(saved) not in (set(PLAN), set(OLDER_PLAN)):
        raise _corrupt(path, _CorruptError(f"plan is {saved!r}; expected keys {list(PLAN)}"))
    return saved


def _check_plan(saved: Plan, plan: Plan, batch_in_epoch: int, path: Path) -> None:
    """Refuse another update rule, seed or data, or other batches in the middle of an epoch."""
    changed = [key for key in saved if key in plan and saved[key] != plan[key]]
    if "optimizer" in changed:
        raise RunError(
            f"{path} holds the state of update rule {saved['optimizer']!r}, but the run's "
            f"{CONFIG} now says {plan['optimizer']!r}; set optimizer.optimizer back to "
            f"{saved['optimizer']!r}, or remove the checkpoint to train the run again from the "
            "start"
        )
    if "seed" in changed:
        raise RunError(
            f"{path} continues the random numbers of seed {saved['seed']}, but the run's "
            f"{CONFIG} now says {plan['seed']}; set training.seed back to {saved['seed']}, or "
            "remove the checkpoint to train the run again from the start"
        )
    if "data" in changed:
        _check_data(saved["data"], plan["data"], path)
    changed = [key for key in changed if key in ("batch_size", "sampling")]
    if changed and batch_in_epoch:
        key = changed[0]

        def shown(value: Any) -> str:
            return "the full batch" if value is None else repr(value)

        raise RunError(
            f"{path} stopped in the middle of an epoch with {key} {shown(saved[key])}, but the "
            f"run's {CONFIG} now says {shown(plan[key])}; set training.{key} back (it may "
            "change at the end of an epoch), or remove the checkpoint to train the run again "
            "from the start"
        )


def _check_data(saved: Any, now: Any, path: Path) -> None:
    """Refuse the first entry of the data config that changed, but the movable ones."""
    recorded = saved if isinstance(saved, dict) else {}
    movable = MOVABLE + (("data",) if recorded.get("sha256") else ())
    movable += ("test_data",) if recorded.get("test_sha256") else ()
    for entry, before, after in _changes(saved, now, "data"):
        if entry.removeprefix("data.") not in movable:
            raise RunError(
                f"{path} was saved by a run on data with {entry} {_shown(before)}, but the "
                f"run's {CONFIG} now says {_shown(after)}; set {entry} back (a run's data and "
                "the order it reads the rows in cannot change), or remove the checkpoint to "
                "train the run again from the start"
            )


def _changes(saved: Any, now: Any, entry: str) -> Any:
    """``(entry, saved value, value now)`` for every entry that differs, nested objects
    entry by entry (``data.stream.block_rows``)."""
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in [*saved, *(key for key in now if key not in saved)]:
            yield from _changes(saved.get(key), now.get(key), f"{entry}.{key}")
    elif saved != now:
        yield entry, saved, now


def _shown(value: Any) -> str:
    return json.dumps(value)


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        return load_npz(path, "checkpoint")
    except RunError as error:
        if not path.exists():
            raise
        raise RunError(f"{error}; remove it to train the run again from the start") from None


def _corrupt(path: Path, error: _CorruptError) -> RunError:
    return RunError(
        f"{path} is incomplete or corrupt ({error}); remove it to train the run again from "
        "the start, or start a new run"
    )


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}


def _params(arrays: dict[str, np.ndarray], prefix: str, problem: Problem) -> dict[str, Any]:
    """``W (D, C)`` and ``b (C,)`` in the data's float type, for this problem's D and C."""
    group = _group(arrays, prefix)
    num_features, num_classes = problem.X.shape[1], problem.num_classes
    shapes = {"W": (num_features, num_classes), "b": (num_classes,)}
    if set(group) != set(shapes):
        raise _CorruptError(f"{prefix}* holds {sorted(group)}, expected ['W', 'b']")
    for key, shape in shapes.items():
        value = group[key]
        if value.shape != shape or value.dtype.kind != "f":
            raise _CorruptError(
                f"{prefix}{key} is {value.dtype} of shape {value.shape}; the data needs floats "
                f"of shape {shape}"
            )
    return {key: value.astype(problem.X.dtype, copy=False) for key, value in group.items()}


def _order(arrays: dict[str, np.ndarray], problem: Problem) -> np.ndarray | None:
    """The epoch's permutation: whole numbers indexing the training set."""
    if "order" not in arrays:
        return None
    order = arrays["order"]
    num_examples = problem.num_examples
    if (
        order.ndim != 1
        or order.dtype.kind not in "iu"
        or not np.array_equal(np.sort(order), np.arange(num_examples))
    ):
        raise _CorruptError(
            f"order is {order.dtype} of shape {order.shape}; expected a permutation of the "
            f"{num_examples} training examples"
        )
    return order


def _scalar(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in arrays:
        raise _CorruptError(f"{name} is missing")
    value = arrays[name]
    if value.shape != ():
        raise _CorruptError(f"{name} has shape {value.shape}, expected a single number")
    return value


def _counter(arrays: dict[str, np.ndarray], name: str) -> int:
    value = _scalar(arrays, name)
    if value.dtype.kind not in "iu" or value < 0:
        raise _CorruptError(f"{name} is {value!r}, expected a whole number >= 0")
    return int(value)


def _float(arrays: dict[str, np.ndarray], name: str) -> float:
    value = _scalar(arrays, name)
    if value.dtype.kind not in "fiu":
        raise _CorruptError(f"{name} is {value!r}, expected a number")
    return float(value)


def _json(arrays: dict[str, np.ndarray], name: str) -> Any:
    value = _scalar(arrays, name)
    if value.dtype.kind != "U":
        raise _CorruptError(f"{name} is {value.dtype}, expected JSON text")
    try:
        return json.loads(str(value))
    except json.JSONDecodeError as error:
        raise _CorruptError(f"{name} is not valid JSON: {error}") from None


def _status(arrays: dict[str, np.ndarray]) -> tuple[str, str]:
    ended = _json(arrays, "status")
    if (
        not isinstance(ended, dict)
        or ended.get("status") not in STATUSES
        or not isinstance(ended.get("message"), str)
    ):
        raise _CorruptError(
            f"status is {ended!r}; expected {{'status': one of {', '.join(STATUSES)}, "
            "'message': text}"
        )
    return ended["status"], ended["message"]


def _set_rng_state(rng: np.random.Generator, saved: Any) -> None:
    """Set the bit generator to ``saved``, which must come back exactly as it was read: numpy
    quietly casts some values (0.5 or true for a whole number), which would continue another
    random stream than the saved one."""
    kind = type(rng.bit_generator).__name__
    try:
        rng.bit_generator.state = saved
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise _CorruptError(
            f"rng_state is not a {kind} state ({type(error).__name__}: {error})"
        ) from None
    if _canonical(rng.bit_generator.state) != _canonical(saved):
        raise _CorruptError(f"rng_state is not a {kind} state (numpy reads it as another one)")


def _canonical(state: Any) -> str:
    return json.dumps(state, sort_keys=True, default=str)
