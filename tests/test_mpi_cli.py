"""``mpiexec -n K slopelab train``: rank 0 alone prints and writes, the run equals one process
with the same global batch, a checkpoint moves between numbers of ranks, and a failing rank
ends the job with one line instead of a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # real MPI processes

ROOT = Path(__file__).parent.parent
PROGRAM = Path(__file__).parent / "mpi_program.py"
TIMEOUT = 120
SLOPELAB = [sys.executable, "-m", "slopelab"]
# A batch that 2 ranks split unevenly, and a last batch of 1 row (301 = 6 x 50 + 1).
TRAIN = ["train", "--num-train", "301", "--batch-size", "50", "--no-progress", "--threads", "1"]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=TIMEOUT
    )


def slopelab(ranks: int, arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    launcher = [] if ranks == 1 else ["mpiexec", "-n", str(ranks)]
    return run([*launcher, *SLOPELAB, *arguments], cwd)


def weights(run_dir: Path) -> np.ndarray:
    with np.load(run_dir / "model.npz") as model:
        return model["W"]


def losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [record["loss"] for record in map(json.loads, lines) if "loss" in record]


def assert_same_run(run_dir: Path, reference: Path) -> None:
    """float32 parameters: the ranks' sums round differently from one process's."""
    expected = weights(reference)
    np.testing.assert_allclose(
        weights(run_dir), expected, rtol=1e-4, atol=1e-5 * abs(expected).max()
    )
    np.testing.assert_allclose(losses(run_dir), losses(reference), rtol=1e-5)


def without_timings(text: str) -> list[str]:
    return [line for line in text.splitlines() if " s" not in line and "run folder" not in line]


def test_two_ranks_train_as_one_process_and_only_rank_0_prints_and_writes(tmp_path):
    alone = slopelab(1, [*TRAIN, "--epochs", "3", "--name", "alone"], tmp_path)
    together = slopelab(2, [*TRAIN, "--epochs", "3", "--name", "together"], tmp_path)
    assert alone.returncode == together.returncode == 0, together.stderr
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["alone", "together"]
    assert_same_run(tmp_path / "runs/together", tmp_path / "runs/alone")
    assert without_timings(together.stdout) == without_timings(alone.stdout)
    config = json.loads((tmp_path / "runs/together/config.json").read_text())
    assert config["environment"]["ranks"] == 2
    assert config["environment"]["blas"][0]["threads"] == 1


def test_json_mode_prints_one_document(tmp_path):
    finished = slopelab(2, [*TRAIN, "--epochs", "1", "--json"], tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["status"] == "completed"


@pytest.fixture(scope="module")
def four_epochs(tmp_path_factory) -> Path:
    """One process, 4 epochs: what every resumed run must end with."""
    folder = tmp_path_factory.mktemp("reference")
    finished = slopelab(1, [*TRAIN, "--epochs", "4", "--name", "reference"], folder)
    assert finished.returncode == 0, finished.stderr
    return folder / "runs/reference"


@pytest.mark.parametrize(("first", "then"), [(2, 1), (1, 2), (2, 2)])
def test_a_checkpoint_resumes_on_another_number_of_ranks(tmp_path, four_epochs, first, then):
    started = slopelab(first, [*TRAIN, "--epochs", "2", "--name", "run"], tmp_path)
    resumed = slopelab(then, ["train", "--resume", "runs/run", "--epochs", "4"], tmp_path)
    assert started.returncode == resumed.returncode == 0, resumed.stderr
    assert f"resuming {Path('runs/run')} at step 14" in resumed.stdout
    assert_same_run(tmp_path / "runs/run", four_epochs)
    config = json.loads((tmp_path / "runs/run/config.json").read_text())
    assert config["environment"]["ranks"] == then


def test_bad_input_is_one_line_from_rank_0_and_leaves_no_folder(tmp_path):
    finished = slopelab(2, ["train", "--data", "missing.csv"], tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.splitlines() == [
        f"slopelab train: error: no such file: {tmp_path / 'missing.csv'}; pass the path of a "
        ".npz or .csv file"
    ]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("arguments", "stream", "code"),
    [
        (["train", "--epoch", "2"], "stderr", 2),  # a malformed flag
        (["train", "--batch-size", "lots"], "stderr", 2),
        (["train", "--help"], "stdout", 0),
    ],
)
def test_the_command_line_is_answered_once_not_once_per_rank(tmp_path, arguments, stream, code):
    """Every rank parses the same command line; rank 0 alone prints the answer."""
    alone = slopelab(1, arguments, tmp_path)
    finished = slopelab(2, arguments, tmp_path)
    assert finished.returncode == alone.returncode == code
    assert getattr(finished, stream) == getattr(alone, stream)
    assert getattr(alone, stream).strip()


@pytest.mark.parametrize(
    ("how", "rank", "code", "line"),
    [
        ("data", 1, 2, "error: digits.csv is not readable on this machine"),
        ("raise", 1, 1, "internal error: RuntimeError: rank failed on purpose"),
        ("raise", 0, 1, "internal error: RuntimeError: rank failed on purpose"),
    ],
)
def test_a_failing_rank_stops_the_job_with_one_line(tmp_path, how, rank, code, line):
    failing = [sys.executable, str(PROGRAM), "failing-cli", how, *TRAIN, "--epochs", "50"]
    commands = [
        failing if index == rank else [*SLOPELAB, *TRAIN, "--epochs", "50"] for index in (0, 1)
    ]
    finished = run(["mpiexec", "-n", "1", *commands[0], ":", "-n", "1", *commands[1]], tmp_path)
    assert finished.returncode == code
    assert f"slopelab train: rank {rank} of 2: {line}; stopping all ranks" in finished.stderr


@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_rank_ends_the_job(tmp_path, rank):
    failing = [sys.executable, str(PROGRAM), "failing-cli", "kill", *TRAIN, "--epochs", "50"]
    commands = [
        failing if index == rank else [*SLOPELAB, *TRAIN, "--epochs", "50"] for index in (0, 1)
    ]
    finished = run(["mpiexec", "-n", "1", *commands[0], ":", "-n", "1", *commands[1]], tmp_path)
    assert finished.returncode != 0
    assert "Killed (signal 9)" in finished.stdout + finished.stderr
