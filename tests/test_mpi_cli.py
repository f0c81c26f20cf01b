"""``mpiexec -n K slopelab train``: rank 0 alone prints and writes, the run equals one process
with the same global batch, a checkpoint moves between numbers of ranks, and a failing rank
ends the job with one line instead of a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import mpiexec

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
    launcher = [] if ranks == 1 else [mpiexec(), "-n", str(ranks)]
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
        ".npz, .csv or svmlight (.svm, .svmlight, .libsvm) file"
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
    """It also left rank 0's new run folder holding only config.json (the abort ended rank 0
    before its CLI removed it)."""
    failing = [sys.executable, str(PROGRAM), "failing-cli", how, *TRAIN, "--epochs", "50"]
    commands = [
        failing if index == rank else [*SLOPELAB, *TRAIN, "--epochs", "50"] for index in (0, 1)
    ]
    finished = run([mpiexec(), "-n", "1", *commands[0], ":", "-n", "1", *commands[1]], tmp_path)
    assert finished.returncode == code
    assert f"slopelab train: rank {rank} of 2: {line}; stopping all ranks" in finished.stderr
    # before its first checkpoint: the new run folder held only config.json, and stayed
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_rank_ends_the_job(tmp_path, rank):
    failing = [sys.executable, str(PROGRAM), "failing-cli", "kill", *TRAIN, "--epochs", "50"]
    commands = [
        failing if index == rank else [*SLOPELAB, *TRAIN, "--epochs", "50"] for index in (0, 1)
    ]
    finished = run([mpiexec(), "-n", "1", *commands[0], ":", "-n", "1", *commands[1]], tmp_path)
    assert finished.returncode != 0
    assert "Killed (signal 9)" in finished.stdout + finished.stderr


def pack_for(folder: Path) -> str:
    from tests.test_cli_stream import write_toy_pack

    write_toy_pack(folder / "packed")
    return "packed"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "full"], "full-batch gradient descent needs all 117 training rows"),
        (["--sampling", "replacement"], "sampling 'replacement' would read random rows"),
    ],
)
def test_what_streaming_cannot_do_is_rank_0_s_line_and_leaves_no_folder(tmp_path, flags, message):
    """It was refused inside the loop: 'rank 1 of 2: error: ...; stopping all ranks', MPICH's
    abort banner, and a run folder holding only config.json."""
    arguments = ["train", "--data", pack_for(tmp_path), "--epochs", "1", "--no-progress", *flags]
    for ranks in (1, 2):
        finished = slopelab(ranks, arguments, tmp_path)
        assert finished.returncode == 2
        [line] = finished.stderr.splitlines()
        assert line.startswith("slopelab train: error: ") and message in line
        assert not (tmp_path / "runs").exists()


def edit_config(run_dir: Path, section: str, key: str, value) -> None:
    path = run_dir / "config.json"
    config = json.loads(path.read_text())
    config[section][key] = value
    path.write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("training", "epochs", 1, "config.json plans 1 epochs, but the run has already trained 2"),
        ("data", "preprocess", "standardize", "on data with data.preprocess"),
        ("training", "full_batch", True, "full-batch gradient descent needs all 117"),
    ],
)
def test_a_resume_refused_with_the_data_is_rank_0_s_line(tmp_path, section, key, value, message):
    """The epochs check and the checkpoint's were made by every rank after the handoff."""
    train = ["train", "--data", pack_for(tmp_path), "--batch-size", "117", "--no-progress"]
    assert slopelab(1, [*train, "--epochs", "2", "--name", "run"], tmp_path).returncode == 0
    edit_config(tmp_path / "runs/run", section, key, value)
    if key == "full_batch":  # a whole batch: the checkpoint at an epoch's end allows it
        edit_config(tmp_path / "runs/run", "training", "epochs", 3)
    before = {path.name: path.read_bytes() for path in (tmp_path / "runs/run").iterdir()}
    finished = slopelab(2, ["train", "--resume", "runs/run", "--no-progress"], tmp_path)
    assert finished.returncode == 2
    [line] = finished.stderr.splitlines()
    assert line.startswith("slopelab train: error: ") and message in line
    assert {path.name: path.read_bytes() for path in (tmp_path / "runs/run").iterdir()} == before


def ranks_of(launcher: subprocess.Popen) -> list[int]:
    """The process ids of the Python processes ``mpiexec`` started (its descendants)."""
    table = subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True)
    children: dict[int, list[tuple[int, str]]] = {}
    for line in table.stdout.splitlines()[1:]:
        pid, parent, command = line.split(None, 2)
        children.setdefault(int(parent), []).append((int(pid), command))
    found, waiting = [], [launcher.pid]
    while waiting:
        for pid, command in children.get(waiting.pop(), []):
            waiting.append(pid)
            if command.startswith("python"):
                found.append(pid)
    return found


def ctrl_c_after_epoch_line(folder: Path, epoch: int, epochs: int) -> tuple[int, list[str]]:
    """``mpiexec -n 2 slopelab train`` on a pack, SIGINT to both ranks (as a terminal's
    Ctrl-C sends it to the whole process group) once epoch ``epoch``'s line is printed; the
    job's exit code and stderr lines."""
    arguments = ["train", "--data", pack_for(folder), "--epochs", str(epochs)]
    arguments += ["--batch-size", "20", "--no-progress", "--name", "run"]
    launcher = subprocess.Popen(
        [mpiexec(), "-n", "2", *SLOPELAB, *arguments],
        cwd=folder,
        env={**environment(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    signalled = []
    for line in launcher.stdout:
        if line.startswith(f"epoch {float(epoch):5.1f}/{epochs}"):
            signalled = ranks_of(launcher)
            for pid in signalled:
                os.kill(pid, signal.SIGINT)
            break
    _, err = launcher.communicate(timeout=TIMEOUT)
    assert len(signalled) == 2
    return launcher.returncode, err.splitlines()


def test_ctrl_c_during_training_stops_every_rank_with_rank_0_s_line(tmp_path):
    code, lines = ctrl_c_after_epoch_line(tmp_path, 1, 2000)
    assert code == 130
    [line] = lines
    assert line.startswith("slopelab train: stopped at step ")
    assert line.endswith(f"Resume with: slopelab train --resume {Path('runs/run')}")
    assert (tmp_path / "runs/run/checkpoint.npz").exists()


def test_ctrl_c_after_the_last_step_ends_the_job_as_rank_0_ends(tmp_path):
    """Rank 1, past its last collective call, waited for rank 0 in MPI_Finalize, where Python
    had put back SIGINT's default action: it died of the signal and the job exited 2."""
    for attempt in range(3):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        code, lines = ctrl_c_after_epoch_line(folder, 30, 30)
        assert code in (0, 130), lines
        assert lines == (["slopelab train: interrupted"] if code == 130 else []), lines
        assert (folder / "runs/run/checkpoint.npz").exists()


def test_ctrl_c_during_rank_0_s_start_up_is_rank_0_s_line(tmp_path):
    """Rank 1, waiting for the handoff, also said 'slopelab train: interrupted'."""
    slow, waiting = (
        [sys.executable, str(PROGRAM), "failing-cli", how, *TRAIN, "--epochs", "5"]
        for how in ("slow", "waiting")
    )
    launcher = subprocess.Popen(
        [mpiexec(), "-n", "1", *slow, ":", "-n", "1", *waiting],
        cwd=tmp_path,
        env={**environment(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = ""
    while not ("loading" in said and "waiting" in said):  # the ranks' lines may interleave
        said += launcher.stdout.read(1)
        assert said, "the ranks never started"
    time.sleep(0.5)  # from printing "waiting" into the wait
    signalled = ranks_of(launcher)
    for pid in signalled:
        os.kill(pid, signal.SIGINT)
    _, err = launcher.communicate(timeout=TIMEOUT)
    assert len(signalled) == 2
    assert launcher.returncode == 130
    assert err.splitlines() == ["slopelab train: interrupted"]
    assert not (tmp_path / "runs").exists()
