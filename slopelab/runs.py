"""Run folders: every command that trains writes ``runs/<name>/`` and never loses what it made.

A run folder holds::

    config.json      the resolved configuration (every knob, defaults filled in)
    metrics.jsonl    one JSON object per line: {"type": "step", ...} or {"type": "epoch", ...}
    model.npz        W (D, C), b (C,), the preprocessing and class names (no pickle)
    checkpoint.npz   params, optimizer state, RNG state and loop position, to resume exactly
    *.png            figures

Every file is written atomically: to a temporary file ``.<name>.<random>.tmp`` in the same
folder, flushed to disk, then renamed over the target (``os.replace``), so a crash, a kill or a
full disk leaves either the old file or the new one, never half of one. A kill can leave the
temporary file behind; readers ignore it and ``--resume`` removes it. ``metrics.jsonl`` is an
append log: whole lines are appended and flushed at every epoch (a full disk cuts the file back
to whole lines; a kill may cut the last line short, and readers skip a line without its
newline), and it is rewritten atomically when a run resumes. Files get the usual mode (0o666
less the umask).
"""

from __future__ import annotations

import errno
import functools
import io
import json
import math
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.history import EpochRecord, History, StepRecord

CONFIG = "config.json"
METRICS = "metrics.jsonl"
MODEL = "model.npz"
CHECKPOINT = "checkpoint.npz"
TEMPORARY_SUFFIX = ".tmp"
MAX_NAME_LENGTH = 60  # characters; at most 240 bytes in UTF-8, below every file system's limit
RUN_NAME = re.compile(r"[^\W_][\w.-]*")  # a letter or digit first: never hidden, never a flag


class RunError(InvalidValueError):
    """A run folder or model file that cannot be used; the message says why and what to do."""


def temporary_beside(target: Path, suffix: str = TEMPORARY_SUFFIX) -> tuple[int, Path]:
    """Create a new empty file ``.<name>.<random><suffix>`` beside ``target`` (the same folder,
    so ``os.replace`` onto ``target`` is atomic); return its descriptor and path.

    Its mode is 0o666 less the umask, as for any file the user creates: ``tempfile.mkstemp``
    would make it 0o600, and the mode survives the rename.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(candidate, flags, 0o666), candidate
        except FileExistsError:
            continue


def is_leftover(path: Path) -> bool:
    """Whether ``path`` is the temporary file of a write that never finished."""
    return path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files that interrupted writes left in ``folder``; return them.
    Call it only while holding the folder (:func:`hold_run_folder`): another process's write
    in progress looks the same."""
    removed = [path for path in Path(folder).iterdir() if is_leftover(path)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _write_all(descriptor: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a write may take only part of them)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def file_in_the_way(folder: Path) -> Path | None:
    """The first of ``folder`` and its parents that exists and is not a folder, if any: the
    file that stops ``folder`` from being created or used."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents. A file in the way is an ENOTDIR error naming
    that file (``mkdir`` says "File exists" and names the folder instead)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = file_in_the_way(folder)
        if blocking is None:
            raise
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocking)) from None


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, rename it over
    ``path``. An error names ``path`` (not the temporary file), or the file in the way of its
    folder, and leaves the old ``path`` as it was. (The folder is not flushed: after a power
    cut the rename may be undone, which leaves the old, whole file.)"""
    make_folder(path.parent)
    try:
        descriptor, temporary = temporary_beside(path)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        try:
            _write_all(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException as error:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` reported against ``path``, the file the user knows about."""
    if error.errno is None:
        return error
    return OSError(error.errno, error.strerror or os.strerror(error.errno), str(path))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    _atomic_write(Path(path), text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    _atomic_write(Path(path), bytes(data))


def atomic_save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` to ``path`` atomically; every value must be a plain (non-object) array."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    _atomic_write(Path(path), buffer.getvalue())


def append_lines(path: Path, lines: list[str]) -> None:
    """Append whole lines to ``path`` and flush them to disk. When that fails (a full disk),
    the file is cut back to its old length, so it never ends in half a line."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        size = os.fstat(descriptor).st_size
        try:
            _write_all(descriptor, data)
            os.fsync(descriptor)
        except OSError as error:
            with suppress(OSError):
                os.ftruncate(descriptor, size)
            raise _naming(error, path) from None
    finally:
        os.close(descriptor)


@contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Lock ``run_dir`` for this process while it writes there, so that a second
    ``--resume`` of the same run (or of a run still training) stops with a RunError instead
    of interleaving its writes. The system drops the lock when the process ends, however it
    ends (even by SIGKILL). Without ``fcntl`` (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX systems
        yield
        return
    descriptor = os.open(run_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(
                f"{run_dir} is in use by another slopelab process (still training, or "
                "resumed twice); wait for it to end or stop it, then try again"
            ) from None
        yield
    finally:
        os.close(descriptor)


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


def check_run_name(root: Path | str, name: str | None, resume: str | None = None) -> None:
    """Raise a RunError unless ``root/<name>`` can become a new run folder (None: dated).

    A name starts with a letter or digit (so ``ls`` shows it and no shell reads it as a flag)
    and holds at most 60 letters, digits, ``.``, ``_`` and ``-``. ``resume`` is the command
    that continues a run of this kind (``slopelab train --resume``), offered when the folder
    is taken; commands whose runs cannot be continued give None.
    """
    root = Path(root)
    blocking = file_in_the_way(root)
    if blocking == root:
        raise RunError(f"--out {root} is a file, not a folder; give a folder (created if missing)")
    if blocking is not None:
        raise RunError(
            f"--out {root} cannot be created: {blocking} is a file, not a folder; give a folder"
        )
    if name is None:
        return
    if len(name) > MAX_NAME_LENGTH or not RUN_NAME.fullmatch(name):
        raise RunError(
            f"run name {name!r} must start with a letter or digit and hold only letters, "
            f"digits, '.', '_' and '-' (at most {MAX_NAME_LENGTH} characters)"
        )
    path = root / name
    if path.exists() and not path.is_dir():
        raise RunError(f"{path} is a file, so it cannot be a run folder; choose another --name")
    if path.exists() and any(not is_leftover(item) for item in path.iterdir()):
        again = f", or continue it with {resume} {path}" if resume else ""
        raise RunError(
            f"run folder {path} already exists and is not empty; choose another --name{again}"
        )


def new_run_dir(root: Path | str, name: str | None, prefix: str, resume: str | None = None) -> Path:
    """Create ``root/<name>``; without a name, ``<prefix>-<YYYYmmdd-HHMMSS>`` made unique.
    A named folder may exist if it is empty; temporary files of a killed write are removed.
    ``resume``: as for :func:`check_run_name`."""
    root = Path(root)
    check_run_name(root, name, resume)
    make_folder(root)
    if name is not None:
        path = root / name
        path.mkdir(exist_ok=True)
        remove_leftovers(path)
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = root / (f"{prefix}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RunError(f"could not create a new run folder under {root}")


def write_config(run_dir: Path, config: Mapping[str, Any]) -> None:
    atomic_write_text(run_dir / CONFIG, dumps(config, indent=2) + "\n")


def read_config(run_dir: Path) -> dict[str, Any]:
    """The ``config.json`` of a run folder, as a dict; a RunError says what is wrong with the
    path (missing, a file, a folder without a config) or with the file."""
    run_dir = Path(run_dir)
    _check_run_folder(run_dir)
    path = run_dir / CONFIG
    try:
        text = path.read_bytes().decode("utf-8")
        config = json.loads(text)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep
        reason = str(error) or type(error).__name__
        raise RunError(f"{path} is not valid JSON ({reason}); the run cannot be resumed") from None
    except OSError as error:
        raise RunError(
            f"cannot read {path} ({error.strerror or error}); fix its permissions"
        ) from None
    if not isinstance(config, dict):
        raise RunError(f"{path} holds no JSON object; the run cannot be resumed")
    return config


def _check_run_folder(run_dir: Path) -> None:
    """A RunError unless ``run_dir`` is a folder holding a ``config.json`` file."""
    if not run_dir.exists():
        raise RunError(f"{run_dir} does not exist; check the path of the run folder")
    if not run_dir.is_dir():
        inside = run_dir.name in (CONFIG, METRICS, MODEL, CHECKPOINT)
        fix = f"give the folder that holds it: {run_dir.parent}" if inside else "give a run folder"
        raise RunError(f"{run_dir} is a file, not a run folder; {fix}")
    path = run_dir / CONFIG
    if path.is_file():
        return
    if path.exists():
        raise RunError(f"{path} is not a file; the run folder is damaged: start a new run")
    if not any(not is_leftover(item) for item in run_dir.iterdir()):
        raise RunError(
            f"{run_dir} has no {CONFIG}: the run stopped before it was written, so there "
            "is nothing to resume; run the same command again (its --name is free)"
        )
    raise RunError(f"{run_dir} is not a run folder: it has no {CONFIG}")


class MetricsLog:
    """Appends step and epoch records to ``metrics.jsonl``, whole lines only, in the order a
    run produces them: the steps of an epoch, then that epoch's record."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS
        self._written_steps = 0
        self._written_epochs = 0

    def sync(self, history: History) -> None:
        """Append the records of ``history`` that are not in the file yet."""
        lines = _ordered_lines(history, self._written_steps, self._written_epochs)
        if lines:
            append_lines(self.path, lines)
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
    return [record_line(kind, record) for _, kind, record in keyed]


def record_line(kind: str, record: StepRecord | EpochRecord) -> str:
    """``dumps({"type": kind, **asdict(record)})``, the same text four times faster: a run
    writes one line per step, and ``asdict`` and :func:`json_ready` copy every value."""
    values: dict[str, Any] = {"type": kind}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if type(value) is float:
            value = value if math.isfinite(value) else None
        elif value is not None and type(value) not in (int, bool, str):
            value = json_ready(value)  # numpy scalars and the like
        values[name] = value
    return json.dumps(values, allow_nan=False)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(kind))


def read_history(run_dir: Path, strategy: str, up_to_step: int | None = None) -> History:
    """Rebuild a History from ``metrics.jsonl``, keeping steps ``< up_to_step`` (and epochs
    recorded at or before it).

    A last line without its newline is an append that a crash cut short: it is left out.
    Any other line that is not a metrics record is a RunError.
    """
    path = Path(run_dir) / METRICS
    history = History(strategy)
    if not path.is_file():
        return history
    *whole, _torn = path.read_bytes().split(b"\n")
    for number, line in enumerate(whole, start=1):
        if not line.strip():
            continue
        kind, values = _metrics_record(line, path, number)
        if kind == "step":
            step = StepRecord(**values)
            if up_to_step is None or step.step < up_to_step:
                history.steps.append(step)
        else:
            epoch = EpochRecord(**values)
            if up_to_step is None or epoch.step <= up_to_step:
                history.epochs.append(epoch)
    return history


def _metrics_record(line: bytes, path: Path, number: int) -> tuple[str, dict[str, Any]]:
    """``("step" | "epoch", fields)`` of one line; a RunError naming the line otherwise."""
    kinds = {"step": StepRecord, "epoch": EpochRecord}
    try:
        record = json.loads(line.decode("utf-8"))
        problem = None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        record, problem = None, f"not JSON: {error}"
    kind = record.get("type") if isinstance(record, dict) else None
    if problem is None and kind not in kinds:
        problem = 'not an object with "type" step or epoch'
    elif problem is None:
        names = {item.name for item in fields(kinds[kind])}
        if set(record) - {"type"} != names:
            problem = f"fields {sorted(set(record) - {'type'})}, expected {sorted(names)}"
    if problem is not None:
        raise RunError(
            f"{path} line {number} is not a metrics record ({problem}); restore the file, or "
            "remove checkpoint.npz to train the run again from the start"
        )
    values = {key: math.nan if value is None else value for key, value in record.items()}
    del values["type"]
    return kind, values
