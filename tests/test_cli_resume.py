"""``slopelab train --resume`` and the paths of run folders, end to end (in-process): a
hand-edited config.json is held to the flags' rules, every special case of a resume says what
happens in one line, diverged runs are kept and explained, run names stay plain, and every path
error names the right problem."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slopelab.commands import train as train_command
from tests.test_cli_runs import (  # the fixtures are used by name
    BLOBS,
    cli,
    one_blas_thread,  # noqa: F401
    quick_figures,  # noqa: F401
    records,
    stop_after,
    workdir,  # noqa: F401
    write_blobs,
)

RESUME = ["train", "--resume"]


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in run_dir.iterdir()}


def one_error_line(err: str, start: str = "slopelab train: error: ") -> str:
    """The message of a one-line error (and check that it is one line)."""
    assert err.count("\n") == 1 and err.startswith(start) and "Traceback" not in err, err
    return err[len(start) : -1]


@pytest.fixture
def done(workdir, capsys):  # noqa: F811 - the workdir fixture
    """A finished 2-epoch run, runs/done (4 steps per epoch)."""
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "2", "--name", "done"], capsys)[0] == 0
    return workdir / "runs/done"


@pytest.fixture
def cut(workdir, capsys, monkeypatch):  # noqa: F811 - the workdir fixture
    """A 3-epoch run stopped by Ctrl-C at step 3, runs/cut (4 steps per epoch)."""
    write_blobs(workdir / "blobs.npz")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(3))
        assert cli([*BLOBS, "--epochs", "3", "--name", "cut"], capsys)[0] == 130
    return workdir / "runs/cut"


def edited(run_dir: Path, section: str | None, key: str, value: object) -> None:
    """Set ``config[section][key]`` (``config[key]`` when ``section`` is None) to ``value``."""
    path = run_dir / "config.json"
    config = json.loads(path.read_text())
    (config if section is None else config[section])[key] = value
    path.write_text(json.dumps(config))


# --- 1. a hand-edited config.json: the same rules as the flags ----------------------------

EDITS = [
    # (section, entry, value, what the one error line says after "runs/done/config.json: ")
    ("training", "batch_size", 0, r"training.batch_size must be a positive whole number; got 0"),
    ("training", "batch_size", -5, r"training.batch_size must be a positive whole number; got"),
    ("training", "batch_size", "many", r"training.batch_size must be a whole number; got 'many'"),
    ("training", "batch_size", 2.5, r"training.batch_size must be a whole number; got '2.5'"),
    ("training", "batch_size", True, r"training.batch_size must be a whole number; got 'true'"),
    ("training", "batch_size", None, r"training.batch_size must be a whole number; got 'null'"),
    ("training", "epochs", 0, r"training.epochs must be a positive whole number; got 0"),
    ("training", "epochs", 3.0, r"training.epochs must be a whole number; got '3.0'"),
    ("training", "epochs", None, r"training.epochs must be a whole number; got 'null'"),
    ("training", "epochs", [3], r"training.epochs must be a whole number; got '\[3\]'"),
    ("training", "sampling", "random", r"training.sampling must be one of shuffle, replacement"),
    ("training", "patience", 0, r"training.patience must be a positive whole number; got 0"),
    ("training", "seed", -1, r"training.seed must be a whole number from 0 to 4294967295"),
    ("training", "seed", 2**32, r"training.seed must be a whole number from 0 to 4294967295"),
    ("training", "full_batch", "yes", r'training.full_batch must be true or false; got "yes"'),
    ("training", "lr", 0.1, r"training.lr is not a setting of a train run \(known: batch_siz"),
    ("loss", "loss", "hinge", r"loss.loss must be one of svm, svm-ova, svm-structured, softmax"),
    ("loss", "penalty", "l3", r"loss.penalty must be one of l2, l1, none, elasticnet; got \"l3\""),
    ("loss", "reg", -1, r"loss.reg must be a number >= 0; got -1"),
    ("loss", "reg", float("nan"), r"loss.reg must be a number >= 0; got NaN"),
    ("loss", "reg", "lots", r"loss.reg must be a number; got 'lots'"),
    ("optimizer", "optimizer", "lbfgs", r"optimizer.optimizer must be one of sgd, momentum, "),
    ("optimizer", "learning_rate", 0, r"optimizer.learning_rate must be a positive number; got"),
    ("optimizer", "learning_rate", "auto", r"optimizer.learning_rate must be a number; got 'a"),
    ("optimizer", "learning_rate", 1e400, r"optimizer.learning_rate must be a positive number"),
    ("optimizer", "schedule", "zigzag", r"optimizer is refused: unknown schedule 'zigzag'"),
    ("optimizer", "schedule", 5, r"optimizer.schedule must be text; got 5"),
    (
        "optimizer",
        "schedule",
        "step:step_size=0",
        r"optimizer is refused: schedule option step_size must be",
    ),
    ("optimizer", "warmup", 0, r"optimizer.warmup must be a positive whole number; got 0"),
    (
        "optimizer",
        "hyperparams",
        {"momentum": 0.9},
        r"optimizer is refused: --opt momentum is not a hyper",
    ),
    (
        "optimizer",
        "hyperparams",
        {"learning_rate": 1},
        r"optimizer is refused: set the learning rate with",
    ),
    ("optimizer", "hyperparams", [0.9], r"optimizer.hyperparams must be an object of NAME: num"),
    ("optimizer", "hyperparams", {"eps": "tiny"}, r"optimizer.hyperparams eps must be a number"),
    ("optimizer", "learning_rate_spec", 0.5, r"optimizer.learning_rate_spec is 0.5 but the run"),
    ("optimizer", "learning_rate_spec", "fast", r"optimizer.learning_rate_spec must be a number"),
    ("data", "data", 5, r"data.data must be text; got 5"),
    ("data", "num_train", 0, r"data.num_train must be a positive whole number; got 0"),
    ("data", "preprocess", "whiten", r"data.preprocess must be one of auto, standardize, cen"),
    ("data", "seed", 2**32, r"data.seed must be a whole number from 0 to 4294967295"),
    ("data", "label_column", 3, r"data.label_column must be text; got 3"),
    (None, "training", [], r"training must be an object of settings; got \[\]"),
    (None, "epochs", 9, r"epochs is not a setting of a train run; remove it"),
]


@pytest.mark.parametrize(("section", "key", "value", "message"), EDITS)
def test_a_config_edit_the_flags_would_refuse_is_one_line_before_anything_runs(
    done, capsys, section, key, value, message
):
    """batch_size 0 was a ZeroDivisionError (exit 1); each edit breaks one flag's rule."""
    edited(done, section, key, value)
    before = snapshot(done)
    code, out, err = cli([*RESUME, "runs/done", "--no-progress"], capsys)
    assert code == 2 and out == ""  # refused before the data is loaded
    assert re.match(rf"runs/done/config.json: {message}", one_error_line(err)), err
    assert one_error_line(err).endswith("or start a new run")
    assert snapshot(done) == before


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("data", "num_train", 1000, r"num_train=1000 in Python\) but .* has only 60 examples"),
        ("data", "data", "/no/such/file.npz", r"/no/such/file.npz"),
        ("training", "full_batch", True, r"runs/done/config.json: training.batch_size is 16 but"),
        (
            "training",
            "seed",
            5,
            r"runs/done/checkpoint.npz continues the random numbers of seed 0, but the run's "
            r"config.json now says 5; set training.seed back to 0",
        ),
        (
            "training",
            "epochs",
            250_001,
            r"runs/done/config.json: training.epochs 250001 means 1,000,004 steps, more than "
            r"the 1,000,000 a run can record; set it to at most 250,000$",
        ),
    ],
)
def test_config_edits_that_need_the_data_are_checked_before_training(
    done, capsys, section, key, value, message
):
    edited(done, section, key, value)
    before = snapshot(done)
    code, _, err = cli([*RESUME, "runs/done", "--no-progress"], capsys)
    assert code == 2 and re.search(message, one_error_line(err)), err
    assert snapshot(done) == before


@pytest.mark.parametrize(
    ("key", "value", "saved", "now"),
    [("batch_size", 61, "16", "61"), ("batch_size", 8, "16", "8"),
     ("sampling", "replacement", "'shuffle'", "'replacement'")],
)  # fmt: skip
def test_other_batches_in_the_middle_of_an_epoch_are_refused(cut, capsys, key, value, saved, now):
    """A batch size of 61 took an empty slice of the epoch's permutation: a NaN loss reported
    as divergence, and the resumable run marked diverged for good."""
    edited(cut, "training", key, value)
    before = snapshot(cut)
    code, _, err = cli([*RESUME, "runs/cut", "--no-progress"], capsys)
    assert code == 2
    assert one_error_line(err) == (
        f"runs/cut/checkpoint.npz stopped in the middle of an epoch with {key} {saved}, but the "
        f"run's config.json now says {now}; set training.{key} back (it may change at the end "
        "of an epoch), or remove the checkpoint to train the run again from the start"
    )
    assert snapshot(cut) == before


def test_a_config_edit_the_flags_allow_is_used(done, capsys):
    """A number written as text is read as the flag reads it; a longer plan trains on."""
    edited(done, "training", "epochs", "3")
    code, out, err = cli([*RESUME, "runs/done", "--no-progress", "--json"], capsys)
    assert code == 0, err
    assert "resuming runs/done at step 8 (epoch 2 of 3)" in err  # --json: lines on stderr
    assert json.loads(out)["steps"] == 12


ENTRIES = [
    (section, key)
    for section, keys in {
        "data": ["data", "data_dir", "num_train", "num_val", "num_test", "preprocess", "seed"],
        "loss": ["loss", "penalty", "reg"],
        "optimizer": ["optimizer", "learning_rate", "schedule", "warmup", "hyperparams"],
        "training": ["batch_size", "full_batch", "epochs", "sampling", "patience", "seed"],
    }.items()
    for key in keys
] + [(None, "command"), (None, "environment"), (None, "training"), (None, "new")]

PLAUSIBLE = st.sampled_from(
    [0, 1, 2, 3, 16, 60, 61, -1, 2**32, 10**7, 0.5, 1e-300, 1e300, float("nan"), float("inf"),
     "", "1", "2.0", "auto", "full", "nan", "svm", "l1", "adam", "momentum", "shuffle",
     "replacement", "standardize", "constant", "step:step_size=3,gamma=0.5", "cosine:decay_steps=0",
     "exponential:decay_rate=2,decay_steps=1", "inverse-time:decay_rate=-1", "train", "digits",
     "toy2d:spiral", {"momentum": 0.5}, {"beta1": 1.5}, {"eps": 0}, {}, [], None, True, False]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entry=st.sampled_from(ENTRIES), value=PLAUSIBLE | JSON)
def test_any_json_edit_of_any_entry_resumes_or_is_one_line(cut, capsys, monkeypatch, entry, value):
    """Whatever JSON value an entry of an interrupted run gets: the run resumes (exit 0, or
    130 when the stand-in Ctrl-C stops it again after 5 more steps) or exit 2 with one line;
    never exit 1."""
    monkeypatch.setattr(train_command, "interrupt_flag", lambda: stop_after(5))
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        shutil.copytree(cut, run_dir)
        edited(run_dir, *entry, value)
        code, _, err = cli([*RESUME, str(run_dir), "--no-progress"], capsys)
    assert code in (0, 2, 130), err
    if code == 2:
        one_error_line(err)


# --- 3. what a resume does, in one line ----------------------------------------------------


def test_resuming_a_finished_run_says_so_and_changes_nothing(done, capsys):
    before = snapshot(done)
    code, out, err = cli([*RESUME, "runs/done", "--no-progress"], capsys)
    assert code == 0 and err == ""
    assert (
        "runs/done already finished its 2 epochs; nothing to resume (give --epochs N, N > 2, to "
        "train it longer); its results:\n" in out
    )
    after = snapshot(done)
    for name in ("config.json", "metrics.jsonl", "checkpoint.npz", "model.npz", "results.json"):
        assert after[name] == before[name], name
    code, out, _ = cli([*RESUME, "runs/done", "--epochs", "2"], capsys)  # the same plan
    assert code == 0 and "runs/done already finished its 2 epochs; nothing to resume" in out


def test_epochs_cannot_extend_an_early_stopped_run(workdir, capsys):  # noqa: F811
    """It was ignored (exit 0) while config.json was rewritten to the new plan."""
    write_blobs(workdir / "blobs.npz")
    args = [*BLOBS, "--epochs", "60", "--patience", "2", "--name", "early"]
    assert cli(args, capsys)[0] == 0
    before = snapshot(workdir / "runs/early")
    code, out, err = cli([*RESUME, "runs/early", "--epochs", "100"], capsys)
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"runs/early stopped early \(early stop after epoch \d+: validation accuracy has not "
        r"improved on [\d.]+ for 2 epochs\), so --epochs cannot make it train longer; start a "
        r"new run with a larger --patience, or without it",
        one_error_line(err),
    )
    assert snapshot(workdir / "runs/early") == before


def test_epochs_cannot_extend_a_run_beyond_what_a_run_can_record(done, capsys):
    before = snapshot(done)
    code, _, err = cli([*RESUME, "runs/done", "--epochs", "250001"], capsys)
    assert code == 2
    assert one_error_line(err) == (
        "--epochs 250001 means 1,000,004 steps, more than the 1,000,000 a run can record; use "
        "at most --epochs 250,000"
    )
    assert snapshot(done) == before


def test_a_config_planning_fewer_epochs_than_trained_is_refused(done, capsys):
    """It completed silently, reporting the 2 epochs trained under a plan of 1."""
    edited(done, "training", "epochs", 1)
    before = snapshot(done)
    code, _, err = cli([*RESUME, "runs/done", "--no-progress"], capsys)
    assert code == 2
    assert one_error_line(err) == (
        "runs/done/config.json plans 1 epochs, but the run has already trained 2 (its "
        "checkpoint is at step 8); set training.epochs to 2 or more, or start a new run"
    )
    assert snapshot(done) == before


@pytest.mark.parametrize(("polls", "step", "epoch"), [(3, 3, "0.8"), (6, 6, "1.53")])
def test_resuming_an_interrupted_run_says_where_it_continues(
    workdir,  # noqa: F811
    capsys,
    monkeypatch,
    polls,
    step,
    epoch,
):
    """Epochs count examples seen, as the loop does: 4 batches of 16, 16, 16 and 12."""
    write_blobs(workdir / "blobs.npz")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(polls))
        assert cli([*BLOBS, "--epochs", "3", "--name", "cut"], capsys)[0] == 130
    code, out, _ = cli([*RESUME, "runs/cut", "--no-progress"], capsys)
    assert code == 0
    assert f"resuming runs/cut at step {step} (epoch {epoch} of 3)\n" in out


# --- 4. run names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["-rf", "...", ".hidden", "_tmp", "a" * 61])
def test_a_run_name_a_shell_or_ls_would_misread_is_refused(workdir, capsys, name):  # noqa: F811
    write_blobs(workdir / "blobs.npz")
    code, out, err = cli([*BLOBS, f"--name={name}"], capsys)
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"run name .* must start with a letter or digit and hold only letters, digits, '\.', "
        r"'_' and '-' \(at most 60 characters\)",
        one_error_line(err),
    )
    assert not (workdir / "runs").exists()


# --- 5. a diverged run: kept for inspection, and explained ---------------------------------


def test_a_diverged_run_is_kept_for_inspection_and_explained_by_every_command(
    workdir,  # noqa: F811
    capsys,
):
    write_blobs(workdir / "blobs.npz")
    args = [*BLOBS, "--learning-rate", "1e6", "--loss", "svm", "--name", "wild"]
    code, _, err = cli(args, capsys)
    assert code == 2
    message = one_error_line(err)
    run_dir = workdir / "runs/wild"
    steps = sum(line["type"] == "step" for line in records(run_dir))  # updates made
    assert re.fullmatch(
        rf"loss diverged at step {steps} \(loss .*\); try a smaller learning rate than 1e\+06; "
        r"the run folder runs/wild is kept for inspection \(config.json, metrics.jsonl, "
        r"loss.png\)",
        message,
    )
    assert {"config.json", "metrics.jsonl", "loss.png"} <= set(snapshot(run_dir))
    reason = re.escape(message.partition("; the run folder")[0])
    np.savez(workdir / "rows.npz", X=np.zeros((2, 4)))
    for command, prefix, says in [
        (["evaluate", "runs/wild"], "slopelab evaluate", "so it saved no model: start a new run"),
        (
            ["predict", "runs/wild", "--input", "rows.npz"],
            "slopelab predict",
            "so it saved no model: start a new run",
        ),
        (
            [*RESUME, "runs/wild"],
            "slopelab train",
            "so there is nothing to resume: start a new run",
        ),
    ]:
        code, out, err = cli(command, capsys)
        assert code == 2 and out == ""
        assert re.fullmatch(
            rf"runs/wild diverged at step {steps}, {says} \({reason}\)",
            one_error_line(err, f"{prefix}: error: "),
        )


def test_evaluating_an_unfinished_run_says_how_to_finish_it(workdir, capsys, monkeypatch):  # noqa: F811
    write_blobs(workdir / "blobs.npz")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(6))
        assert cli([*BLOBS, "--epochs", "3", "--name", "cut"], capsys)[0] == 130
    code, _, err = cli(["evaluate", "runs/cut"], capsys)
    assert code == 2
    assert one_error_line(err, "slopelab evaluate: error: ") == (
        "runs/cut has not finished (its checkpoint is at step 6) and saved no model yet; finish "
        "it with slopelab train --resume runs/cut"
    )


# --- 2. every path error names the right problem -------------------------------------------


def test_a_taken_name_suggests_resume_only_where_it_exists(done, capsys):
    code, _, err = cli(["compare", "--data", "blobs.npz", "--name", "done"], capsys)
    assert code == 2
    assert one_error_line(err, "slopelab compare: error: ") == (
        "run folder runs/done already exists and is not empty; choose another --name"
    )
    code, _, err = cli([*BLOBS, "--name", "done"], capsys)
    assert code == 2
    assert one_error_line(err).endswith("choose another --name, or continue it with slopelab "
                                        "train --resume runs/done")  # fmt: skip


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            [*RESUME, "runs/nowhere"],
            "runs/nowhere does not exist; check the path of the run folder",
        ),
        (
            [*RESUME, "runs/done/config.json"],
            "runs/done/config.json is a file, not a run folder; give the folder that holds it: "
            "runs/done",
        ),
        ([*RESUME, "blobs.npz"], "blobs.npz is a file, not a run folder; give a run folder"),
        ([*RESUME, "runs"], "runs is not a run folder: it has no config.json"),
        (
            [*BLOBS, "--out", "blobs.npz"],
            "--out blobs.npz is a file, not a folder; give a folder (created if missing)",
        ),
        (
            [*BLOBS, "--out", "blobs.npz/x"],
            "--out blobs.npz/x cannot be created: blobs.npz is a file, not a folder; give a folder",
        ),
        (
            [*BLOBS, "--out", "runs", "--name", "done/config.json"],
            "run name 'done/config.json' must start with a letter or digit and hold only "
            "letters, digits, '.', '_' and '-' (at most 60 characters)",
        ),
        (
            [*BLOBS, "--out", ".", "--name", "blobs.npz"],
            "blobs.npz is a file, so it cannot be a run folder; choose another --name",
        ),
        (
            ["predict", "runs/done", "--input", "rows.npz", "--output", "blobs.npz/x.csv"],
            "Not a directory: blobs.npz; check the path: a part of it is a file, not a folder",
        ),
        (
            ["predict", "runs/done", "--input", "rows.npz", "--output", "blobs.npz/a/x.csv"],
            "Not a directory: blobs.npz; check the path: a part of it is a file, not a folder",
        ),
        (
            ["predict", "runs/done", "--input", "rows.npz", "--output", "runs"],
            "--output runs is a folder; give the path of a .csv file",
        ),
        (["evaluate", "runs/nowhere"], "no model file (model.npz) at runs/nowhere; check the path"),
        (["evaluate", "runs"], "runs holds no model.npz and no readable config.json; give the"),
    ],
)
def test_every_path_error_names_the_right_problem(done, capsys, command, message):
    """A missing path, a file where a folder is needed (or in the way of one), a folder where
    a file is needed: each is said as such, in one line, before anything is written."""
    np.savez(done.parent.parent / "rows.npz", X=np.zeros((2, 4)))
    before = sorted(path.name for path in done.parent.parent.rglob("*"))
    code, out, err = cli(command, capsys)
    assert code == 2 and out == ""
    prefix = f"slopelab {command[0]}: error: "
    assert one_error_line(err, prefix).startswith(message), err
    assert sorted(path.name for path in done.parent.parent.rglob("*")) == before


# --- flags that had no bound ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", "4294967296"], r"argument --seed: must be a whole number from 0 to 4294967295"),
        (
            ["--epochs", "250001"],
            r"--epochs 250001 means 1,000,004 steps, more than the 1,000,000 a run can record; "
            r"use at most --epochs 250,000",
        ),
    ],
)
def test_train_refuses_a_seed_or_a_length_it_cannot_honour(workdir, capsys, flags, message):  # noqa: F811
    """A seed >= 2**32 was an internal error from scikit-learn; a run of more steps than a
    History can record ran for hours into a MemoryError."""
    write_blobs(workdir / "blobs.npz")
    code, _, err = cli([*BLOBS, *flags, "--name", "x"], capsys)
    assert code == 2 and re.search(message, err) and err.count("\n") == 1, err
    assert not (workdir / "runs/x").exists()
