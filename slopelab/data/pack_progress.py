"""The progress state of an image-folder pack, in ``.pack-progress.json`` in the output folder.

It records the options and files of the pack, and per split the chunks decoded (``done``), the
files that failed (``failed``: row -> reason), the rows kept once the holes are filled
(``filled``) and the rows carved off for validation (``carved``). It is replaced atomically
after every step, and a step's rows reach the disk before the state says it is done, so a pack
stopped at any moment continues from its state (:func:`start_progress`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slopelab.data.errors import DataError
from slopelab.data.npyformat import RowWriter, npy_shape
from slopelab.data.pack import METADATA, is_pack
from slopelab.runs import atomic_write_text, is_leftover, remove_leftovers

PROGRESS = ".pack-progress.json"
PACK_FILES = ("train", "val", "test")
PROGRESS_KEYS = ("done", "failed", "filled", "carved")  # per split


def start_progress(out: Path, options: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """The progress state to continue from (fresh unless an interrupted pack with the same
    options is in ``out``); refuses a complete pack or a folder of other files."""
    fresh = {"options": options, "done": {}, "failed": {}, "filled": {}, "carved": {}}
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; --out must be a folder (new, or empty)")
    if is_pack(out) and not overwrite:
        raise DataError(
            f"{out} already holds a pack; choose another --out, or pass --overwrite to replace it"
        )
    state = load_state(out)
    if state is not None and state.get("options") == options and not is_pack(out):
        return _resumed(out, state)
    if state is not None and not overwrite and not is_pack(out):
        changed = [key for key in options if state.get("options", {}).get(key) != options[key]]
        raise DataError(
            f"{out} holds an interrupted pack made with other options or files "
            f"({', '.join(changed) or 'unknown'} differ); run the command it was started with "
            "to continue it, or pass --overwrite to start again"
        )
    if out.is_dir():
        clear_pack_files(out)
    out.mkdir(parents=True, exist_ok=True)
    save_state(out, fresh)
    return fresh


def _resumed(out: Path, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` to continue from, once the temporary files of writes that a kill cut short
    are removed (one pack at a time writes in a folder)."""
    remove_leftovers(out)
    for key in PROGRESS_KEYS:
        if not isinstance(state.get(key), dict):
            state[key] = {}
    return state


def clear_pack_files(out: Path) -> None:
    """Remove a previous pack's files (complete or not) from ``out``, pack.json first so
    that it no longer counts as complete; refuse a folder that holds any other file."""
    known = {METADATA, PROGRESS} | {f"{s}-{a}.npy" for s in PACK_FILES for a in "Xy"}
    others = sorted(
        path.name for path in out.iterdir() if path.name not in known and not is_leftover(path)
    )
    if others:
        raise DataError(
            f"{out} is not empty (it holds {others[0]}) and is not a pack; choose a new or "
            "empty folder for --out"
        )
    for name in [METADATA, *sorted(known - {METADATA})]:
        (out / name).unlink(missing_ok=True)
    remove_leftovers(out)


def chunks_done(out: str | Path) -> int:
    """How many chunks the progress state in ``out`` records as packed (0: none, or no state)."""
    state = load_state(Path(out).expanduser())
    done = state.get("done") if state else None
    return sum(done.values()) if isinstance(done, dict) else 0


def load_state(out: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((out / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def save_state(out: Path, state: dict[str, Any]) -> None:
    atomic_write_text(out / PROGRESS, json.dumps(state))


def split_writer(out: Path, split: str, rows: int, num_features: int, state: dict) -> RowWriter:
    """The split's X file, kept when it has the rows the progress state describes (all, the
    holes filled, or the validation rows carved off); else a new one, and its rows are decoded
    again."""
    path = out / f"{split}-X.npy"
    filled = state["filled"].get(split)
    carved = state["carved"].get(split, 0)
    expected = {rows} if filled is None else {rows, filled, filled - carved}
    shape = npy_shape(path)
    val_kept = not carved or npy_shape(out / "val-X.npy") == (carved, num_features)
    if shape is not None and shape[1:] == (num_features,) and shape[0] in expected and val_kept:
        return RowWriter(path, shape[0], num_features, "uint8")
    for key in PROGRESS_KEYS:
        state[key].pop(split, None)
    return RowWriter(path, rows, num_features, "uint8")
