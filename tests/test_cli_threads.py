"""``--threads N`` limits the BLAS thread pools for one command, records the limit in the run's
config, restores the process environment afterwards, and refuses values that are not a count."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from slopelab.cli import blas_threads, main

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def exit_code(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


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


def test_a_resumed_run_may_change_its_threads(workdir):
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--name", "r"]) == 0
    assert exit_code(["train", "--resume", "runs/r", "--epochs", "2", "--threads", "1"]) == 0


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
        assert note is not None and "load average 3.1 on 2 cores" in note
        assert "--threads 1" in note
        assert busy_machine_note(load=0.5, cores=2) is None  # quiet
    with blas_threads(1):
        assert busy_machine_note(load=9.0, cores=2) is None  # one thread: nothing to wait on


def test_train_says_the_hint_on_a_busy_machine(workdir, capsys, monkeypatch):
    monkeypatch.setattr("os.getloadavg", lambda: (64.0, 64.0, 64.0))
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--threads", "2"]) == 0
    assert "note: this machine is busy" in capsys.readouterr().out
    assert exit_code(["train", "--epochs", "1", "--no-progress", "--threads", "1"]) == 0
    assert "busy" not in capsys.readouterr().out
