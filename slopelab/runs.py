"""Run folders: every command that trains writes ``runs/<name>/`` and never loses what it made.

A run folder holds::

    config.json      the resolved configuration (every knob, defaults filled in)
    metrics.jsonl    one JSON object per line: {"type": "step", ...} or {"type": "epoch", ...}
    model.npz        W (D, C), b (C,), the preprocessing and class names (no pickle)
    checkpoint.npz   params, optimizer state, RNG state and loop position, to resume exactly
    *.png            figures

Every file is written atomically: to a temporary file in the same folder, flushed to disk, then
renamed over the target (``os.replace``), so a crash or Ctrl-C leaves either the old file or the
new one, never half of one. ``metrics.jsonl`` is appended one whole line per ``write`` call and
rewritten atomically when a run resumes from a checkpoint.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.history import EpochRecord, History, StepRecord

CONFIG = "config.json"
METRICS = "metrics.jsonl"
MODEL = "model.npz"
CHECKPOINT = "checkpoint.npz"


class RunError(InvalidValueError):
    """A run folder or model file that cannot be used; the message says why and what to do."""


@contextmanager
def _atomic_file(path: Path, mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with _atomic_file(Path(path), "w") as stream:
        stream.write(text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with _atomic_file(Path(path), "wb") as stream:
        stream.write(data)


def atomic_save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` to ``path`` atomically; every value must be a plain (non-object) array."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """:func:`slopelab.npzfile.load_npz` (no pickle, every read failure one line) raising
    :class:`RunError`."""
    from slopelab import npzfile

    return npzfile.load_npz(path, what, error=RunError)


def json_ready(value: Any) -> Any:
    """Plain JSON types; NaN and infinity become null (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(json_ready(value), indent=indent, allow_nan=False)


def new_run_dir(root: Path | str, name: str | None, prefix: str) -> Path:
    """Create ``root/<name>``; without a name, ``<prefix>-<YYYYmmdd-HHMMSS>`` made unique."""
    root = Path(root)
    if name is not None:
        if not re.fullmatch(r"[\w.-]+", name) or name in (".", ".."):
            raise RunError(f"run name {name!r} may hold only letters, digits, '.', '_' and '-'")
        path = root / name
        if path.exists() and any(path.iterdir()):
            raise RunError(
                f"run folder {path} already exists and is not empty; choose another --name, "
                f"or continue it with --resume {path}"
            )
        path.mkdir(parents=True, exist_ok=True)
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = root / (f"{prefix}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RunError(f"could not create a new run folder under {root}")


def write_config(run_dir: Path, config: Mapping[str, Any]) -> None:
    atomic_write_text(run_dir / CONFIG, dumps(config, indent=2) + "\n")


def read_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunError(f"{run_dir} is not a run folder: it has no {CONFIG}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise RunError(f"{path} is not valid JSON ({error}); the run cannot be resumed") from None


class MetricsLog:
    """Appends step and epoch records to ``metrics.jsonl``, one whole line per write, in the
    order a run produces them: the steps of an epoch, then that epoch's record."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS
        self._written_steps = 0
        self._written_epochs = 0

    def sync(self, history: History) -> None:
        """Append the records of ``history`` that are not in the file yet."""
        lines = _ordered_lines(history, self._written_steps, self._written_epochs)
        if lines:
            with self.path.open("a") as stream:
                stream.write("".join(line + "\n" for line in lines))
        self._written_steps = len(history.steps)
        self._written_epochs = len(history.epochs)

    def rewrite(self, history: History) -> None:
        """Replace the file with exactly ``history`` (used when resuming)."""
        lines = _ordered_lines(history, 0, 0)
        atomic_write_text(self.path, "".join(line + "\n" for line in lines))
        self._written_steps = len(history.steps)
        self._written_epochs = len(history.epochs)


def _ordered_lines(history: History, from_step: int, from_epoch: int) -> list[str]:
    """JSON lines of the steps and epochs not yet written, interleaved as they happened: an
    epoch record taken after ``step`` updates follows the record of update ``step - 1``."""
    keyed = [((record.step, 0), "step", record) for record in history.steps[from_step:]]
    keyed += [((record.step - 1, 1), "epoch", record) for record in history.epochs[from_epoch:]]
    keyed.sort(key=lambda item: item[0])
    return [dumps({"type": kind, **asdict(record)}) for _, kind, record in keyed]


def read_history(run_dir: Path, strategy: str, up_to_step: int | None = None) -> History:
    """Rebuild a History from ``metrics.jsonl``, keeping steps ``< up_to_step`` (and epochs
    recorded at or before it)."""
    path = Path(run_dir) / METRICS
    history = History(strategy)
    if not path.is_file():
        return history
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record.pop("type")
            values = {key: math.nan if value is None else value for key, value in record.items()}
            if kind == "step":
                step = StepRecord(**values)
                if up_to_step is None or step.step < up_to_step:
                    history.steps.append(step)
            elif kind == "epoch":
                epoch = EpochRecord(**values)
                if up_to_step is None or epoch.step <= up_to_step:
                    history.epochs.append(epoch)
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            if number == len(lines):
                break  # a torn last line from a hard crash; everything before it is whole
            raise RunError(f"{path} line {number} is not a metrics record ({error})") from None
    return history
