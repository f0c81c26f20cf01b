"""Decoding chunks of images for ``slopelab data pack``, in this process or in worker processes.

A worker is ``python -m slopelab.data.decoding``: a plain child process in a session of its own
(not a ``multiprocessing`` pool), talking over its stdin and stdout. For each task the parent
writes one JSON line ``{"paths": [...], "size": S, "channels": C}``; the worker answers with one
JSON line ``{"failures": [[index, reason], ...]}`` followed by the rows' bytes
(``len(paths) * S * S * C``). So that an interruption prints one line and nothing else:

- Ctrl-C reaches the parent only: the terminal signals its foreground process group, and the
  workers are in their own session. They also start with SIGINT blocked and then ignore it, so
  even a SIGINT sent to them directly does nothing: the parent decides.
- The parent stops its workers with SIGTERM, which ends a Python process without a word.
- A worker whose parent is gone (killed with SIGKILL) reads the end of its input, or fails to
  write its answer, and exits quietly. There are no shared semaphores to leak.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.imagefolder import decode_image

STOP_SECONDS = 5.0  # how long a stopped worker may take to exit before it is killed


@dataclass(frozen=True)
class Task:
    """One chunk to decode: the split, its first row, and the files (absolute paths)."""

    split: str
    start: int
    paths: tuple[str, ...]
    size: int
    channels: int


Decoded = tuple[Task, np.ndarray, list[tuple[int, str]]]  # (task, rows, failures)


def decode_chunk(task: Task) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The rows of one chunk (zeros where a file failed) and ``(index, reason)`` failures."""
    rows = np.zeros((len(task.paths), task.size * task.size * task.channels), np.uint8)
    failures = []
    for index, path in enumerate(task.paths):
        try:
            rows[index] = decode_image(path, task.size, task.channels)
        except Exception as error:  # any file Pillow cannot read is skipped, never fatal
            failures.append((index, _reason(error)))
    return rows, failures


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def decoded(tasks: list[Task], jobs: int | None) -> Iterator[Decoded]:
    """``(task, rows, failures)`` for each task, in order; in ``jobs`` worker processes
    (default: one a core), or in this process when one is enough."""
    jobs = min(jobs or os.cpu_count() or 1, len(tasks))
    if jobs <= 1:
        for task in tasks:
            yield (task, *decode_chunk(task))
        return
    workers = []
    try:
        workers.extend(_start_worker() for _ in range(jobs))
        yield from _round_robin(workers, tasks)
        for worker in workers:
            worker.stdin.close()  # the end of its input: it exits
        for worker in workers:
            worker.wait(STOP_SECONDS)
    finally:
        _stop(workers)


def _round_robin(workers: list[subprocess.Popen], tasks: Iterable[Task]) -> Iterator[Decoded]:
    """Task ``i`` goes to worker ``i % len(workers)``, one at a time per worker; the results
    come back in task order. A worker gets its next task as soon as its result is read."""
    todo = iter(tasks)
    pending: deque[tuple[Task, subprocess.Popen]] = deque()
    for worker in workers:
        task = next(todo, None)
        if task is not None:
            _send(worker, task)
            pending.append((task, worker))
    while pending:
        task, worker = pending.popleft()
        rows, failures = _receive(worker, task)
        following = next(todo, None)
        if following is not None:
            _send(worker, following)
            pending.append((following, worker))
        yield task, rows, failures


def _start_worker() -> subprocess.Popen:
    import slopelab

    # The worker runs the parent's slopelab, wherever it was imported from.
    package_root = str(Path(slopelab.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:  # the worker inherits SIGINT blocked, until it ignores it; here it waits, not lost
        return subprocess.Popen(
            [sys.executable, "-m", "slopelab.data.decoding"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": path},
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _send(worker: subprocess.Popen, task: Task) -> None:
    message = {"paths": list(task.paths), "size": task.size, "channels": task.channels}
    try:
        worker.stdin.write(json.dumps(message).encode() + b"\n")
        worker.stdin.flush()
    except BrokenPipeError:
        raise _died(worker) from None


def _receive(worker: subprocess.Popen, task: Task) -> tuple[np.ndarray, list[tuple[int, str]]]:
    header = worker.stdout.readline()
    num_features = task.size * task.size * task.channels
    expected = len(task.paths) * num_features
    data = worker.stdout.read(expected) if header else b""
    if len(data) != expected:
        raise _died(worker)
    failures = [(int(index), str(reason)) for index, reason in json.loads(header)["failures"]]
    rows = np.frombuffer(data, np.uint8).reshape(len(task.paths), num_features)
    return rows, failures


def _died(worker: subprocess.Popen) -> DataError:
    try:
        code = worker.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        code = "none yet"
    return DataError(
        f"a decoding process ended unexpectedly (exit code {code}); run the same command "
        "again to continue the pack, or pass --jobs 1 to decode in one process"
    )


def _stop(workers: list[subprocess.Popen]) -> None:
    """End the workers still running (SIGTERM, then SIGKILL if one lingers) and reap them."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        for stream in (worker.stdin, worker.stdout):
            with suppress(OSError):  # a write still buffered for a worker that is gone
                stream.close()


def _serve() -> None:
    """A worker's loop: tasks from stdin, answers to stdout, until either end is closed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending one is dropped
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    try:
        for line in requests:
            request = json.loads(line)
            task = Task("", 0, tuple(request["paths"]), request["size"], request["channels"])
            rows, failures = decode_chunk(task)
            answers.write(json.dumps({"failures": failures}).encode() + b"\n")
            answers.write(rows.tobytes())
            answers.flush()
    except BrokenPipeError:
        pass  # the parent is gone
    # No interpreter shutdown: it would flush stdout again into a closed pipe and complain.
    os._exit(0)


if __name__ == "__main__":
    _serve()
