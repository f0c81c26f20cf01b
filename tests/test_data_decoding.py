"""The decoding workers of ``slopelab data pack``: rows in task order, SIGINT ignored, a worker
that dies is a one-line error, a worker whose parent is gone exits quietly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from slopelab.data import decoding
from slopelab.data.decoding import Task, decode_chunk, decoded
from slopelab.data.errors import DataError
from tests.test_data_imagefolder import colour_of, save_image


def tasks_of(tmp_path, count: int, per_task: int) -> list[Task]:
    paths = [str(save_image(tmp_path / f"{i}.png", colour_of(i))) for i in range(count)]
    (tmp_path / "junk.png").write_bytes(b"junk")
    paths.insert(3, str(tmp_path / "junk.png"))
    return [
        Task("train", start, tuple(paths[start : start + per_task]), 2, 3)
        for start in range(0, len(paths), per_task)
    ]


def test_workers_give_the_rows_of_one_process_in_task_order(tmp_path):
    tasks = tasks_of(tmp_path, 11, per_task=2)
    alone = [(task, *decode_chunk(task)) for task in tasks]
    for jobs in (2, 3):
        together = list(decoded(tasks, jobs))
        assert [task for task, _, _ in together] == tasks
        for (_, rows, failures), (_, expected, expected_failures) in zip(
            together, alone, strict=True
        ):
            np.testing.assert_array_equal(rows, expected)
            assert failures == expected_failures
    assert alone[1][2] == [(1, "cannot identify image file '" + str(tmp_path / "junk.png") + "'")]


def test_a_worker_ignores_sigint_sent_to_it(tmp_path):
    task = tasks_of(tmp_path, 2, per_task=3)[0]
    worker = decoding._start_worker()
    try:
        time.sleep(0.5)  # in the middle of its imports, or done with them
        worker.send_signal(signal.SIGINT)
        decoding._send(worker, task)
        rows, _ = decoding._receive(worker, task)
        np.testing.assert_array_equal(rows, decode_chunk(task)[0])
    finally:
        decoding._stop([worker])
    assert worker.returncode == -signal.SIGTERM


def test_a_worker_that_dies_is_a_one_line_error(tmp_path, monkeypatch):
    def dying_worker() -> subprocess.Popen:
        command = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    monkeypatch.setattr(decoding, "_start_worker", dying_worker)
    with pytest.raises(
        DataError, match=r"a decoding process ended unexpectedly \(exit code 3\); run the same"
    ):
        list(decoded(tasks_of(tmp_path, 4, per_task=2), 2))


def test_a_worker_whose_parent_is_gone_exits_quietly(tmp_path):
    task = tasks_of(tmp_path, 2, per_task=3)[0]
    worker = subprocess.Popen(
        [sys.executable, "-m", "slopelab.data.decoding"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    decoding._send(worker, task)
    worker.stdout.close()  # the parent reads no more: the answer meets a closed pipe
    worker.stdin.close()
    assert worker.wait(30) == 0
    assert worker.stderr.read() == b""
    worker.stderr.close()
