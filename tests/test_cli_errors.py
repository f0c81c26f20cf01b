"""How the command line fails: one error family for bad input (exit 2), everything else an
internal error (exit 1), every Ctrl-C exit 130, nothing created before the input is checked,
and help that answers without loading the heavy libraries."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from slopelab.cli import main
from slopelab.commands import runfolder
from slopelab.commands import train as train_command
from slopelab.errors import CommandError, InvalidValueError


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def exit_code(args: list[str]) -> int:
    """main()'s return value, or the code of the SystemExit argparse raises on bad usage."""
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def failing_handler(error: BaseException):
    def handler(args):
        raise error

    return handler


@pytest.mark.parametrize(
    ("error", "code", "wording"),
    [
        (InvalidValueError("X has 3 rows but y has 2 labels"), 2, "error: X has 3 rows"),
        (CommandError("--trajectory needs --at trained"), 2, "error: --trajectory needs"),
        (ZeroDivisionError("float division by zero"), 1, "internal error: ZeroDivisionError"),
        (ValueError("setting an array element with a sequence"), 1, "internal error: ValueError"),
        (TypeError("'NoneType' object is not subscriptable"), 1, "internal error: TypeError"),
        (KeyError("W"), 1, "internal error: KeyError"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_bad_input_is_exit_2_and_a_bug_is_an_internal_error(
    workdir, capsys, monkeypatch, error, code, wording
):
    """Only slopelab's own error family counts as the user's mistake; a plain ValueError or
    TypeError from deep inside is a bug and says so."""
    monkeypatch.setattr(train_command, "run", failing_handler(error))
    assert exit_code(["train"]) == code
    line = one_line(capsys.readouterr().err)
    assert line.startswith("slopelab train: ") and wording in line
    if code == 1:
        assert "SLOPELAB_DEBUG=1 shows the traceback" in line


def test_debug_mode_shows_the_traceback(workdir, monkeypatch):
    monkeypatch.setattr(train_command, "run", failing_handler(ZeroDivisionError("boom")))
    monkeypatch.setenv("SLOPELAB_DEBUG", "1")
    with pytest.raises(ZeroDivisionError, match="boom"):
        main(["train"])


@pytest.mark.parametrize(
    ("number", "hint"),
    [
        (errno.ENOSPC, "free some disk space"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "choose a folder you can write to"),
    ],
)
def test_file_system_errors_name_the_file_and_a_fix(workdir, capsys, monkeypatch, number, hint):
    error = OSError(number, os.strerror(number), "runs/x/model.npz")
    monkeypatch.setattr(train_command, "run", failing_handler(error))
    assert exit_code(["train"]) == 2
    line = one_line(capsys.readouterr().err)
    assert os.strerror(number) in line and "runs/x/model.npz" in line and hint in line


def test_a_swallowed_ctrl_c_still_exits_130(workdir, capsys, monkeypatch):
    """A KeyboardInterrupt lost inside a finalizer or callback must not end with exit 0."""

    def swallowing(args):
        # What Python does to an exception raised in a __del__ or a weakref callback.
        with contextlib.suppress(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        return 0

    monkeypatch.setattr(train_command, "run", swallowing)
    assert exit_code(["train"]) == 130
    assert one_line(capsys.readouterr().err) == "slopelab train: interrupted"


def test_numpy_floating_point_warnings_never_reach_the_terminal(workdir, capsys, monkeypatch):
    def overflowing(args):
        np.exp(np.float32(1000.0)) * np.float32(0.0)  # overflow and invalid
        return 0

    monkeypatch.setattr(train_command, "run", overflowing)
    assert exit_code(["train"]) == 0  # pytest turns any warning into an error
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("flags", "wording"),
    [
        (["--opt", "learning_rate=0.1"], "set the learning rate with --learning-rate"),
        (["--opt", "momentum=0.9"], "--opt momentum is not a hyperparameter of sgd"),
        (["--opt", "beta1"], "must look like KEY=VALUE"),
        (["--optimizer", "adam", "--opt", "beta1=nan"], "must be a finite number"),
        (["--optimizer", "adam", "--opt", "beta1=2"], "beta1 must be in [0, 1)"),
        (["--schedule", "zigzag"], "unknown schedule 'zigzag'"),
        (["--schedule", "step:step_size=inf"], "must be a finite number"),
        (["--schedule", "step:step_size=0.5"], "whole number of steps"),
        (["--schedule", "step:step_size=0"], "whole number of steps"),
        (["--schedule", "cosine:decay_steps=1e30"], "whole number of steps"),
        (["--schedule", "step"], "--schedule step needs step_size (e.g. --schedule step:step_"),
        (["--schedule", "step:gamma=0.5"], "--schedule step needs step_size"),
        (["--schedule", "cosine"], "--schedule cosine needs decay_steps"),
        (["--schedule", "step:step_size=10,bogus=1"], "has no option 'bogus'; its options are"),
        (["--schedule", "constant:x=1"], "its options are none"),
        (["--optimizer", "momentum", "--opt", "momentum=2"], "--opt momentum=2 (--optimizer"),
        (["--optimizer", "adamw", "--opt", "weight_decay=-1"], "--opt weight_decay=-1"),
        (["--optimizer", "nesterov", "--opt", "momentum=0", "--lr", "0.1"], "--opt momentum=0"),
        (["--schedule", "exponential:decay_rate=7,decay_steps=10"], "decay_rate"),
        (["--schedule", "warmup:warmup_steps=3"], "use --warmup STEPS"),
    ],
)
def test_bad_options_fail_before_a_run_folder_exists(workdir, capsys, flags, wording):
    args = ["train", "--epochs", "1", "--name", "retry", *flags]
    assert exit_code(args) == 2
    assert wording in one_line(capsys.readouterr().err)
    assert not (workdir / "runs" / "retry").exists()
    # The same --name is free for the corrected command.
    assert exit_code(["train", "--epochs", "1", "--name", "retry", "--no-progress"]) == 0


def test_a_command_that_fails_after_creating_its_folder_removes_it(workdir, capsys, monkeypatch):
    def fail_after_start(args):
        runfolder.start_run(args, "train", runfolder.Console(False))
        raise InvalidValueError("something about the data")

    monkeypatch.setattr(train_command, "run", fail_after_start)
    assert exit_code(["train", "--name", "half"]) == 2
    assert not (workdir / "runs" / "half").exists()


def test_a_diverged_run_keeps_its_folder_for_inspection(workdir, capsys):
    args = ["train", "--learning-rate", "1000", "--loss", "svm", "--reg", "10", "--name", "boom"]
    assert exit_code([*args, "--no-progress"]) == 2
    assert "loss diverged at step" in one_line(capsys.readouterr().err)
    names = {path.name for path in (workdir / "runs" / "boom").iterdir()}
    assert {"config.json", "checkpoint.npz", "loss.png"} <= names


def test_a_mistyped_flag_is_never_taken_as_an_abbreviation(workdir, capsys):
    assert exit_code(["train", "--epo", "3"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("slopelab train: error: unrecognized arguments: --epo")


@pytest.mark.parametrize(
    ("argv", "wording"),
    [
        (["gradcheck", "--h", "-1e-5"], "argument --h: must be a positive number; got -1e-5"),
        (["sweep", "--lr-range", "-1:1"], "argument --lr-range: must be LOW:HIGH"),
        (["train", "--lr", "-.5"], "argument --learning-rate/--lr: must be a positive number"),
        (["train", "--seed", str(2**32)], "must be a whole number from 0 to 4294967295"),
        (["train", "--seed", "-1"], "must be a whole number from 0 to 4294967295"),
    ],
)
def test_a_negative_or_out_of_range_number_is_checked_by_its_option(workdir, capsys, argv, wording):
    """A value that starts like a negative number is a value, not an unknown option."""
    assert exit_code(argv) == 2
    assert wording in one_line(capsys.readouterr().err)


def test_version(capsys):
    assert exit_code(["--version"]) == 0
    assert capsys.readouterr().out.startswith("slopelab ")


@pytest.mark.parametrize(
    ("flags", "wording"),
    [
        (["--reg", "1e300"], "the regularization term reg * R(W) is inf at the first step"),
        (["--lr", "1e30"], "loss diverged at step"),
    ],
)
def test_divergence_names_the_term_to_blame(workdir, capsys, flags, wording):
    assert exit_code(["train", "--epochs", "2", "--no-progress", *flags]) == 2
    assert wording in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("flags", "wording"),
    [
        ([], "learning_rate='auto' found no usable step"),  # the curvature overflows first
        (["--lr", "0.01"], "at the first step, before any update"),
    ],
)
def test_features_too_large_for_float32_gradients_stop_instead_of_training_nothing(
    workdir, capsys, flags, wording
):
    """Found by a tester: features near 1e38 overflowed every gradient to infinity and the run
    "trained" with no update at all, exit 0, 0% accuracy."""
    rng = np.random.default_rng(0)
    rows = [f"{1e38 * rng.choice([-1, 1]) * rng.uniform(0.5, 1):.6g},{i % 2}" for i in range(60)]
    (workdir / "near.csv").write_text("a,label\n" + "\n".join(rows) + "\n")
    train = ["train", "--data", "near.csv", "--preprocess", "none", "--epochs", "3", *flags]
    assert exit_code(train) == 2
    line = one_line(capsys.readouterr().err)
    assert wording in line and "scale" in line and "too large" in line


HEAVY = ("sklearn", "matplotlib", "scipy", "tqdm", "fastapi", "pandas")


def loaded_by(code: str) -> set[str]:
    """Top-level packages imported by running ``code`` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout
    return set(json.loads(output.strip().splitlines()[-1].replace("'", '"')))


@pytest.mark.slow
def test_help_and_bad_flags_answer_without_loading_heavy_libraries():
    """``slopelab --help`` loads neither numpy nor anything heavy; a command's help or a bad
    flag loads numpy at most (measured: about 0.07 s and 0.3 s with the interpreter)."""
    top = loaded_by(
        "from slopelab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not top & {"numpy", *HEAVY}
    for argv in (["train", "--help"], ["tour", "--bogus"], ["compare", "--epochs", "x"]):
        command = (
            f"from slopelab.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
        )
        assert not loaded_by(command) & set(HEAVY), argv


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_command_quietly(workdir):
    """``slopelab ... | head``: exit 141 (128 + SIGPIPE) and no error message, as Unix tools."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-m", "slopelab", "train", "--epochs", "5", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    with process:
        process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode()
        assert process.wait(timeout=120) == 141
    assert err == ""
