"""Real processes stopped at random moments: Ctrl-C (SIGINT) exits 130 with one line, and
SIGKILL never leaves a partial file; every killed run resumes to the uninterrupted result.

The moments are drawn from seeded generators, so a failure names the seed and the draw;
the timing of a process is not reproducible, which is why every check holds at any moment.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from slopelab import cli
from slopelab.checkpoint import load_checkpoint
from slopelab.commands import gradcheck as gradcheck_command
from slopelab.commands.optimizer_setup import build_optimizer
from slopelab.data.prepare import prepare_data
from slopelab.losses import get_loss
from slopelab.problem import Problem
from slopelab.runs import read_history
from tests.helpers import blobs

pytestmark = pytest.mark.slow  # real processes, signals and kills

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # one BLAS thread: bit-for-bit runs
PNG_END = b"IEND\xaeB`\x82"


def numpy_loaded(process: subprocess.Popen) -> bool:
    """Whether the process has reached slopelab's own main(): the CLI installs its Ctrl-C
    handler first and only then loads numpy (with the command). Before that, Python itself
    is starting (interpreter, site packages) and a Ctrl-C is Python's to handle."""
    try:
        return "numpy" in Path(f"/proc/{process.pid}/maps").read_text()
    except OSError:
        return False


def start(args: list[str], cwd: Path, code: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "slopelab"] if code is None else [sys.executable, "-c", code]
    return subprocess.Popen(
        [*command, *args], cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finished(process: subprocess.Popen) -> int:
    """Wait for the process, read its output (closing the pipes) and return its exit code."""
    _, err = process.communicate(timeout=120)
    process.stderr_text = err.decode()
    return process.returncode


def wait_until(condition, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Poll every millisecond; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the process never got there"
        time.sleep(0.001)
    return True


# --- Ctrl-C ---------------------------------------------------------------------------------

# What a shell reports as 130: exit(130), or death by SIGINT. ``python -m`` ends the second
# way when a Ctrl-C escaped code run by exec() (dataclasses and namedtuples are made that way
# while modules load), even though slopelab caught it and returned 130: CPython remembers the
# "unhandled" KeyboardInterrupt and re-raises SIGINT at exit (the `slopelab` script does not).
INTERRUPTED = (130, -signal.SIGINT)

TRAIN_LONG = ["train", "--epochs", "3000", "--batch-size", "16", "--no-progress", "--name", "t"]
SIGINT_COMMANDS = {
    "train": (TRAIN_LONG, 6),
    "compare": (["compare", "--epochs", "500", "--no-progress", "--name", "c"], 4),
    "tour": (["tour", "--no-progress", "--name", "u"], 4),
}


@pytest.mark.parametrize("command", sorted(SIGINT_COMMANDS))
def test_ctrl_c_at_any_moment_exits_130_with_one_line(tmp_path, command):
    """From the first import of the command (delay 0) through data loading and the work:
    exit 130, one line on stderr, no traceback; a train run that had begun training leaves
    a checkpoint that a resume accepts."""
    args, trials = SIGINT_COMMANDS[command]
    draws = random.Random(f"sigint-{command}")
    delays = [0.0] + [draws.uniform(0.0, 1.5) for _ in range(trials - 1)]
    for number, delay in enumerate(delays):
        folder = tmp_path / str(number)
        folder.mkdir()
        process = start(args, folder)
        assert wait_until(lambda process=process: numpy_loaded(process), process)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        text = err.decode()
        where = f"{command}, delay {delay:.3f} s: {text!r}"
        assert process.returncode in INTERRUPTED, where
        assert text.count("\n") == 1 and "Traceback" not in text and "Exception" not in text, where
        if command == "train":
            check_train_interrupt(folder / "runs/t", text, out.decode())


def ctrl_c_turned_into(error: type[Exception]):
    """What numpy does when Ctrl-C lands inside its C-extension import: the interrupt becomes
    an ImportError ("Importing the numpy C-extensions failed")."""

    def work(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
        except KeyboardInterrupt:
            raise error("PyCapsule_Import could not import module") from None

    return work


@pytest.mark.parametrize("where", ["start-up", "command"])
def test_a_ctrl_c_that_a_library_turns_into_an_error_is_still_an_interrupt(
    where, monkeypatch, capsys
):
    if where == "start-up":  # loading the command's module (numpy, at delay 0 above)
        monkeypatch.setattr(cli, "build_parser", ctrl_c_turned_into(ImportError))
    else:  # a lazy import inside a command (scikit-learn, matplotlib)
        monkeypatch.setattr(gradcheck_command, "run", ctrl_c_turned_into(ImportError))
    try:
        code = cli.main(["gradcheck"])
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    err = capsys.readouterr().err
    assert code == 130
    assert err in ("slopelab: interrupted\n", "slopelab gradcheck: interrupted\n")


def check_train_interrupt(run_dir: Path, err: str, out: str) -> None:
    """Stopped during training: the line says where, and the checkpoint is resumable. Before
    training: no folder is left (it held only config.json). After training (figures): the
    checkpoint of the finished loop is there."""
    if "stopped at step" in err:
        assert "; checkpoint saved in runs/t. Resume with: slopelab train --resume runs/t" in err
        state = resumable_state(run_dir)
        assert f"stopped at step {state.step} of " in err
    else:
        assert err in ("slopelab: interrupted\n", "slopelab train: interrupted\n")  # parsing
        if "epoch " in out:
            resumable_state(run_dir)
        else:
            assert not run_dir.exists()


def resumable_state(run_dir: Path):
    """What ``--resume`` loads: the checkpoint against the run's data and update rule, and
    the metrics up to its step."""
    config = json.loads((run_dir / "config.json").read_text())
    prepared = prepare_data(config["data"])
    loss = get_loss(config["loss"]["loss"], config["loss"]["penalty"])
    problem = Problem(loss, prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    rng = np.random.default_rng()
    state = load_checkpoint(run_dir, problem, build_optimizer(config["optimizer"]), rng)
    assert len(read_history(run_dir, "sgd", up_to_step=state.step).steps) == state.step
    return state


# --- SIGKILL --------------------------------------------------------------------------------

# The same slopelab, with every fsync 20 ms slower: each write of a file stays open long
# enough for a kill to land inside it on any machine.
SLOW_DISK = (
    "import os, sys, time\n"
    "flush = os.fsync\n"
    "os.fsync = lambda fd: (time.sleep(0.02), flush(fd))[1]\n"
    "from slopelab.cli import main\n"
    "sys.exit(main())\n"
)
KILL_RUN = ["train", "--data", "blobs.npz", "--epochs", "12", "--batch-size", "16", "--opt"]
KILL_RUN += ["beta1=0.8", "--optimizer", "adam", "--no-progress"]
KILLS, KILLS_IN_CHECKPOINT_WRITES, MAX_ATTEMPTS = 20, 6, 80


def write_blobs(path: Path) -> None:
    X, y = blobs(seed=3, per_class=30, num_classes=3, num_features=4)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    np.savez(path, X=X[:60], y=y[:60], X_val=X[60:75], y_val=y[60:75], X_test=X[75:], y_test=y[75:])


def temporaries(run_dir: Path, prefix: str = ".") -> set[str]:
    try:
        return {name for name in os.listdir(run_dir) if name.startswith(prefix) and ".tmp" in name}
    except FileNotFoundError:
        return set()


def assert_no_partial_file(run_dir: Path) -> None:
    """Every file a reader takes as complete is whole (temporaries of the killed write may
    remain: readers ignore them and a resume removes them)."""
    if not run_dir.exists():
        return
    names = {name for name in os.listdir(run_dir) if ".tmp" not in name}
    if "config.json" in names:
        json.loads((run_dir / "config.json").read_text())
    if "results.json" in names:
        json.loads((run_dir / "results.json").read_text())
    for name in names & {"checkpoint.npz", "model.npz"}:
        with np.load(run_dir / name, allow_pickle=False) as archive:
            for key in archive.files:
                archive[key]  # reads and checks every member's CRC
    for name in names:
        if name.endswith(".png"):
            assert (run_dir / name).read_bytes().endswith(PNG_END), name
    steps = 0
    if "metrics.jsonl" in names:
        *whole, _cut = (run_dir / "metrics.jsonl").read_bytes().split(b"\n")
        records = [json.loads(line) for line in whole]  # an append cut short lacks "\n" only
        steps = sum(record["type"] == "step" for record in records)
    if "checkpoint.npz" in names:
        with np.load(run_dir / "checkpoint.npz") as archive:
            assert int(archive["step"]) <= steps  # the metrics are written first


def model_and_metrics(run_dir: Path) -> tuple[dict, list]:
    with np.load(run_dir / "model.npz", allow_pickle=False) as archive:
        model = {key: archive[key] for key in archive.files}
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    metrics = [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]
    return model, metrics


def test_sigkill_at_random_moments_never_leaves_a_partial_file_and_resumes_exactly(tmp_path):
    """At least 20 SIGKILLs (at least 6 inside a checkpoint write) across a few runs, each run
    continued with --resume (or started again when it had no config.json yet) until it ends;
    each ends bit for bit as the uninterrupted run."""
    write_blobs(tmp_path / "blobs.npz")
    began = time.monotonic()
    reference = start([*KILL_RUN, "--name", "reference"], tmp_path, SLOW_DISK)
    assert finished(reference) == 0, reference.stderr_text
    duration = time.monotonic() - began
    expected_model, expected_metrics = model_and_metrics(tmp_path / "runs/reference")

    draws = random.Random(20261130)
    kills = in_checkpoint = attempts = runs = 0
    while kills < KILLS or in_checkpoint < KILLS_IN_CHECKPOINT_WRITES:
        run_dir = tmp_path / "runs" / f"k{runs}"
        for kill_this_run in [True] * 8 + [False]:  # then let it finish
            attempts += 1
            assert attempts <= MAX_ATTEMPTS, f"only {kills} kills after {attempts} attempts"
            before = temporaries(run_dir)
            process = start(continue_command(run_dir), tmp_path, SLOW_DISK)
            if kill_this_run and kill_at_a_random_moment(process, run_dir, before, draws, duration):
                process.kill()
            code = finished(process)
            if code == 0:
                break
            assert code == -signal.SIGKILL, process.stderr_text
            kills += 1
            in_checkpoint += bool(temporaries(run_dir, ".checkpoint.npz.") - before)
            assert_no_partial_file(run_dir)
        model, metrics = model_and_metrics(run_dir)
        assert model.keys() == expected_model.keys()
        for key in model:
            np.testing.assert_array_equal(model[key], expected_model[key], err_msg=key)
        assert metrics == expected_metrics
        assert temporaries(run_dir) == set()  # the resume cleaned up every killed write
        runs += 1
    print(f"SIGKILL: {kills} kills ({in_checkpoint} inside a checkpoint write) in {runs} runs")


def continue_command(run_dir: Path) -> list[str]:
    """What the user runs next: --resume, or the same command again when the run was killed
    before its config.json existed (``--resume`` says so)."""
    if (run_dir / "config.json").exists():
        return ["train", "--resume", str(run_dir)]
    return [*KILL_RUN, "--name", run_dir.name]


def kill_at_a_random_moment(
    process: subprocess.Popen,
    run_dir: Path,
    before: set[str],
    draws: random.Random,
    duration: float,
) -> bool:
    """Wait for the moment to kill: inside the k-th checkpoint write of this process (4 in
    10 draws), or a time drawn over a whole run's duration (start-up, data, training, every
    write, figures). False if the process ended first."""
    if draws.random() < 0.4:
        target = draws.randrange(4)
        seen: set[str] = set()

        def writing() -> bool:
            seen.update(temporaries(run_dir, ".checkpoint.npz.") - before)
            return len(seen) > target

        return wait_until(writing, process)
    deadline = time.monotonic() + draws.uniform(0.0, duration)
    return wait_until(lambda: time.monotonic() > deadline, process)
