"""Checkpoints: everything a descent run needs to continue exactly where it stopped.

``checkpoint.npz`` holds the parameters, the optimizer state (``opt/...``), the loop position
(step, epoch, batch within the epoch, the epoch's permutation, counters), early-stopping memory,
and the RNG's bit-generator state as JSON. Resuming from it and running to the end gives the same
parameters, bit for bit, as never stopping (with the same BLAS thread count: a multi-threaded
matrix product may sum in a different order).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from slopelab.optim import Optimizer, state_from_arrays, state_to_arrays
from slopelab.runs import CHECKPOINT, RunError, atomic_save_npz, load_npz
from slopelab.train import DescentState

COUNTERS = ("step", "batch_in_epoch", "epochs_done", "evaluations", "examples", "stale_epochs")
FLOATS = ("seconds", "start_loss", "best_val_accuracy")


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


def load_checkpoint(run_dir: Path, optimizer: Optimizer) -> tuple[DescentState, dict]:
    """Read ``checkpoint.npz``: the loop state and the RNG's bit-generator state."""
    arrays = load_npz(Path(run_dir) / CHECKPOINT, "checkpoint")
    try:
        params = _group(arrays, "params/")
        best = _group(arrays, "best/") or None
        opt_state = state_from_arrays(optimizer, params, _group(arrays, "opt/"))
        state = DescentState(
            params=params, opt_state=opt_state, best_params=best, order=arrays.get("order")
        )
        for name in COUNTERS:
            setattr(state, name, int(arrays[name]))
        for name in FLOATS:
            setattr(state, name, float(arrays[name]))
        if math.isnan(state.start_loss):
            state.start_loss = None
        rng_state = json.loads(str(arrays["rng_state"]))
        if "status" in arrays:  # checkpoints written before the status was saved lack it
            ended = json.loads(str(arrays["status"]))
            state.status, state.message = str(ended["status"]), str(ended["message"])
    except (KeyError, ValueError) as error:
        raise RunError(f"{Path(run_dir) / CHECKPOINT} is incomplete or corrupt ({error})") from None
    return state, rng_state


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
