"""``--threads N`` limits the BLAS thread pools for one command, records the limit in the run's
config, restores the process environment afterwards, and refuses values that are not a count."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from slopelab.environment import blas_threads
from tests.helpers import exit_code

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def blas_threads_now() -> set[int]:
    np.ones(2) @ np.ones(2)  # numpy's BLAS is loaded (the CLI imports numpy lazily)
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_threads_limit_every_blas_pool_inside_and_restore_after(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    before = blas_threads_now()
    with blas_threads(1):
        assert blas_threads_now() == {1}
        assert {os.environ[name] for name in THREAD_VARIABLES} == {"1"}
    assert blas_threads_now() == before
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "OPENBLAS_NUM_THREADS" not in os.environ and "MKL_NUM_THREADS" not in os.environ


def test_no_threads_flag_changes_nothing():
    before = blas_threads_now()
    with blas_threads(None):
        assert blas_threads_now() == before


def test_train_records_the_limit_in_its_config(workdir):
    args = ["train", "--threads", "1", "--epochs", "1", "--no-progress", "--name", "one"]
    assert exit_code(args) == 0
    config = json.loads((workdir / "runs" / "one" / "config.json").read_text())
    assert {pool["threads"] for pool in config["environment"]["blas"]} == {1}


def recorded_threads(run: Path) -> tuple[int | None, set[int]]:
    config = json.loads((run / "config.json").read_text())
    pools = {pool["threads"] for pool in config["environment"]["blas"]}
    return config["training"].get("threads"), pools


def test_a_resumed_run_may_change_its_threads_and_records_them(workdir):
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--name", "r"]) == 0
    assert exit_code(["train", "--resume", "runs/r", "--epochs", "2", "--threads", "1"]) == 0
    assert recorded_threads(workdir / "runs" / "r") == (1, {1})


def test_a_resumed_run_continues_with_its_own_threads(workdir, monkeypatch):
    """Found by a tester: a run started with --threads 1 and resumed without the flag ran at
    the BLAS default, so its weights differed in the last bits from the uninterrupted run."""
    import slopelab.commands.train as train_command

    seen = []
    real = train_command.train_run

    def spy(*args, **kwargs):
        seen.append(blas_threads_now())
        return real(*args, **kwargs)

    monkeypatch.setattr(train_command, "train_run", spy)
    # 2 threads, not the test run's ambient 1 (CI pins BLAS to one thread)
    started = ["train", "--epochs", "1", "--no-progress", "--threads", "2", "--name", "t"]
    assert exit_code(started) == 0
    with blas_threads(1):
        assert exit_code(["train", "--resume", "runs/t", "--epochs", "2"]) == 0
    assert seen[-1] == {2}
    assert recorded_threads(workdir / "runs" / "t") == (2, {2})


def test_predict_takes_threads_too(workdir, tmp_path):
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--name", "p"]) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"f{i}" for i in range(64)) + "\n" + ",".join(["0"] * 64) + "\n")
    out = tmp_path / "out.csv"
    args = ["predict", "runs/p", "--input", str(rows), "--output", str(out), "--threads", "1"]
    assert exit_code(args) == 0 and out.exists()


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "1025"])
def test_bad_thread_counts_exit_2_naming_the_flag(workdir, capsys, value):
    assert exit_code(["train", "--threads", value]) == 2
    err = capsys.readouterr().err
    assert "argument --threads:" in err and "whole number" in err
    assert not (workdir / "runs").exists()


def test_a_busy_machine_with_threaded_blas_gets_a_hint():
    from slopelab.environment import busy_machine_note

    with blas_threads(2):
        note = busy_machine_note(load=3.1, cores=2)
        assert note is not None and "load average 3.1 on 2 cores" in note and "busy" in note
        assert "--threads 1" in note
        assert busy_machine_note(load=0.5, cores=2) is None  # quiet
    with blas_threads(1):
        assert busy_machine_note(load=9.0, cores=2) is None  # one thread: nothing to wait on


def test_train_says_the_hint_on_a_busy_machine(workdir, capsys, monkeypatch):
    monkeypatch.setattr("os.getloadavg", lambda: (64.0, 64.0, 64.0))
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--threads", "2"]) == 0
    assert "note: other work keeps this machine busy" in capsys.readouterr().out
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--threads", "1"]) == 0
    assert "busy" not in capsys.readouterr().out
