"""Sweep parallelism (slopelab/commands/sweep_trials.py): ``--jobs N`` and ``mpiexec -n K``
report the trials and the best setting of ``--jobs 1`` (with the same BLAS threads), exactly;
Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import mpiexec

pytestmark = pytest.mark.slow  # real processes

ROOT = Path(__file__).parent.parent
TIMEOUT = 120
SLOPELAB = [sys.executable, "-m", "slopelab"]
# 5 trials per stage: 2 or 3 workers get unequal shares.
SWEEP = ["sweep", "--num-train", "300", "--trials", "5", "--stages", "2", "--epochs", "1"]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}


def sweep(launcher: list[str], extra: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*launcher, *SLOPELAB, *SWEEP, "--no-progress", *extra],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def results(cwd: Path, name: str) -> dict:
    document = json.loads((cwd / "runs" / name / "results.json").read_text())
    return {key: document[key] for key in ("best", "trials", "edge_warnings")}


def report(finished: subprocess.CompletedProcess) -> list[str]:
    return [line for line in finished.stdout.splitlines() if not line.startswith("figures:")]


@pytest.mark.parametrize(
    ("launcher", "extra"),
    [([], ["--jobs", "2"]), ([], ["--jobs", "3"]), ([mpiexec(), "-n", "3"], [])],
    ids=["jobs-2", "jobs-3", "mpiexec-3"],
)
def test_parallel_trials_report_what_one_process_does(tmp_path, launcher, extra):
    alone = sweep([], ["--name", "alone"], tmp_path)
    parallel = sweep(launcher, [*extra, "--name", "parallel"], tmp_path)
    assert alone.returncode == parallel.returncode == 0, parallel.stderr
    assert results(tmp_path, "parallel") == results(tmp_path, "alone")
    assert report(parallel) == report(alone)
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["alone", "parallel"]


def test_jobs_under_mpiexec_is_refused_in_one_line(tmp_path):
    finished = sweep([mpiexec(), "-n", "2"], ["--jobs", "2"], tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.splitlines() == [
        "slopelab sweep: error: --jobs 2 with 2 MPI ranks: the ranks already spread the trials; "
        "drop --jobs, or run without mpiexec"
    ]
    assert not (tmp_path / "runs").exists()


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def test_ctrl_c_with_jobs_leaves_no_process_behind(tmp_path):
    # 20,000 epochs a trial: still training when the Ctrl-C comes 1 s in, on a busy machine too
    # (with 200 the sweep could be ending, and a SIGINT during the exit kills outright)
    command = [*SLOPELAB, *SWEEP[:-1], "20000", "--jobs", "2", "--no-progress"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        workers = children(process.pid)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(1.0)  # inside the trials
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr.decode()
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert not alive, f"worker processes {alive} outlived the sweep"


def blas_threads_recorded(cwd: Path, name: str) -> set[int]:
    config = json.loads((cwd / "runs" / name / "config.json").read_text())
    return {pool["threads"] for pool in config["environment"]["blas"]}


@pytest.mark.parametrize(("extra", "threads"), [([], 1), (["--threads", "2"], 2)])
def test_jobs_record_and_use_the_blas_threads_of_their_processes(tmp_path, extra, threads):
    """--jobs 2 recorded the parent's 2 BLAS threads while its workers ran 1: the trials are
    those of --jobs 1 with the workers' threads, and config.json says how many."""

    def run(arguments: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*SLOPELAB, *SWEEP, "--no-progress", *arguments],
            cwd=tmp_path,
            env={**environment(), "OPENBLAS_NUM_THREADS": "2"},  # the library's own choice
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    alone = run(["--threads", str(threads), "--name", "alone"])
    parallel = run(["--jobs", "2", *extra, "--name", "parallel"])
    assert alone.returncode == parallel.returncode == 0, parallel.stderr
    assert blas_threads_recorded(tmp_path, "parallel") == {threads}
    assert results(tmp_path, "parallel") == results(tmp_path, "alone")
