"""Checkpoints: everything a descent run needs to continue exactly where it stopped.

``checkpoint.npz`` holds the parameters, the optimizer state (``opt/...``), the loop position
(step, epoch, batch within the epoch, the epoch's permutation, counters), early-stopping memory,
how the run ended so far (``status``, JSON) and the RNG's bit-generator state (JSON). Resuming
from it and running to the end gives the same parameters, bit for bit, as never stopping (with
the same BLAS thread count: a multi-threaded matrix product may sum in a different order).

Loading checks every entry against the run it should continue (shapes against the data and the
update rule, counters, the JSON parts) and reports anything amiss as one RunError.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.optim import Optimizer, state_from_arrays, state_to_arrays
from slopelab.problem import Problem
from slopelab.runs import CHECKPOINT, RunError, atomic_save_npz, load_npz
from slopelab.train import DescentState

COUNTERS = ("step", "batch_in_epoch", "epochs_done", "evaluations", "examples", "stale_epochs")
FLOATS = ("seconds", "start_loss", "best_val_accuracy")
STATUSES = ("running", "completed", "early_stopped", "diverged", "interrupted")


class _CorruptError(Exception):
    """One thing wrong with a checkpoint; becomes the RunError's detail."""


def save_checkpoint(run_dir: Path, state: DescentState, rng: np.random.Generator) -> None:
    """Write ``checkpoint.npz`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    arrays.update({f"params/{key}": value for key, value in state.params.items()})
    arrays.update({f"opt/{key}": value for key, value in state_to_arrays(state.opt_state).items()})
    if state.best_params is not None:
        arrays.update({f"best/{key}": value for key, value in state.best_params.items()})
    if state.order is not None:
        arrays["order"] = state.order
    for name in COUNTERS:
        arrays[name] = np.array(getattr(state, name), dtype=np.int64)
    for name in FLOATS:
        value = getattr(state, name)
        arrays[name] = np.array(math.nan if value is None else value, dtype=np.float64)
    arrays["rng_state"] = np.array(json.dumps(rng.bit_generator.state))
    arrays["status"] = np.array(json.dumps({"status": state.status, "message": state.message}))
    atomic_save_npz(Path(run_dir) / CHECKPOINT, arrays)


def load_checkpoint(
    run_dir: Path, problem: Problem, optimizer: Optimizer, rng: np.random.Generator
) -> DescentState:
    """Read ``checkpoint.npz`` of a run on ``problem`` with ``optimizer``: return the loop
    state and set ``rng`` to the saved bit-generator state."""
    path = Path(run_dir) / CHECKPOINT
    try:
        arrays = load_npz(path, "checkpoint")
    except RunError as error:
        if not path.exists():
            raise
        raise RunError(f"{error}; remove it to train the run again from the start") from None
    try:
        params = _params(arrays, "params/", problem)
        best = _params(arrays, "best/", problem) if _group(arrays, "best/") else None
        try:
            opt_state = state_from_arrays(optimizer, params, _group(arrays, "opt/"))
        except ValueError as error:
            raise _CorruptError(str(error)) from None
        state = DescentState(params, opt_state, best_params=best, order=_order(arrays, problem))
        for name in COUNTERS:
            setattr(state, name, _counter(arrays, name))
        for name in FLOATS:
            setattr(state, name, _float(arrays, name))
        if math.isnan(state.start_loss):
            state.start_loss = None
        if "status" in arrays:  # checkpoints written before the status was saved lack it
            state.status, state.message = _status(arrays)
        _set_rng_state(rng, _json(arrays, "rng_state"))
    except _CorruptError as error:
        raise RunError(
            f"{path} is incomplete or corrupt ({error}); remove it to train the run again "
            "from the start, or start a new run"
        ) from None
    return state


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
    try:
        rng.bit_generator.state = saved
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        kind = type(rng.bit_generator).__name__
        raise _CorruptError(
            f"rng_state is not a {kind} state ({type(error).__name__}: {error})"
        ) from None
