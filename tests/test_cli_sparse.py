"""Sparse svmlight files on the command line, end to end (in-process): every command that takes
``--data`` reads them (or refuses in one line), ``--test-data`` and ``--zero-based`` are
recorded as read (the test file's SHA-256, the index base actually used) and a saved model reads
other files with its own base, ``--preprocess auto`` scales sparse data and says so, and an
interrupted sparse run resumes to the uninterrupted result bit for bit."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from slopelab.commands import train as train_command
from slopelab.data import save_sparse_npz
from slopelab.data.preprocess import SPARSE_AUTO_NOTE
from slopelab.model import load_model
from slopelab.runs import RunError
from tests.test_cli_runs import (  # the fixtures are used by name
    assert_same_run,
    cli,
    one_blas_thread,  # noqa: F401
    stop_after,
    stop_and_resume,
    workdir,  # noqa: F401
)
from tests.test_model import changed

NUM_FEATURES = 12
TRAIN = ["train", "--no-progress", "--epochs", "3", "--batch-size", "16"]


def sparse_rows(
    seed: int, num_rows: int, first_column: bool = True
) -> tuple[sp.csr_matrix, np.ndarray]:
    """3 classes told apart by the columns ``j`` with ``j % 3 == label``, which hold the larger
    values (so reading the columns shifted by one confuses every class); ``first_column``
    False leaves column 0 empty (a zero-based file then never writes index 0)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, num_rows)
    dense = rng.random((num_rows, NUM_FEATURES)) * (rng.random((num_rows, NUM_FEATURES)) < 0.3)
    for row, label in enumerate(y):
        informative = np.arange(label, NUM_FEATURES, 3)
        dense[row, informative] += 2 + rng.random(len(informative)) * 2
    if not first_column:
        dense[:, 0] = 0.0
    dense[:, NUM_FEATURES - 1] += 0.5  # the last column always written: the width is D
    return sp.csr_matrix(dense), y


def write_svm(
    path: Path, seed: int = 0, num_rows: int = 120, zero_based: bool = False, **kwargs
) -> Path:
    X, y = sparse_rows(seed, num_rows, **kwargs)
    dump_svmlight_file(X, y, str(path), zero_based=zero_based)
    return path


def one_line(err: str) -> str:
    """The message of a one-line error (exit 2's), checked to be one line without traceback."""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def config_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- every command that takes --data ----------------------------------------------------------

COMMANDS = [
    [*TRAIN, "--name", "t"],
    ["compare", "--epochs", "1", "--no-progress"],
    ["sweep", "--trials", "3", "--stages", "1", "--epochs", "1", "--no-progress"],
    ["lr-find", "--steps", "20", "--no-progress"],
    ["gradcheck", "--num-checks", "4"],
    ["gradcheck", "--num-checks", "4", "--directional"],
    ["landscape", "--epochs", "1", "--resolution", "5", "--no-progress"],
    ["tour", "--tries", "10", "--gd-steps", "3", "--epochs", "1", "--no-progress"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda args: " ".join(args[:1] + args[-2:-1]))
def test_every_command_runs_on_an_svmlight_file(workdir, capsys, command):  # noqa: F811
    write_svm(workdir / "tr.svm")
    code, out, err = cli([*command, "--data", "tr.svm"], capsys)
    assert code == 0, err
    said = out + err
    assert "tr: 96 train / 12 val / 12 test, 12 features, 3 classes" in said
    assert "Traceback" not in said


def test_evaluate_and_predict_score_an_svmlight_run(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    write_svm(workdir / "new.svm", seed=5, num_rows=40)
    assert cli([*TRAIN, "--data", "tr.svm", "--name", "t"], capsys)[0] == 0
    code, out, err = cli(["evaluate", "runs/t", "--json"], capsys)
    assert code == 0, err
    assert 0.0 <= json.loads(out)["test_accuracy"] <= 1.0
    code, out, err = cli(["predict", "runs/t", "--input", "new.svm", "--json"], capsys)
    assert code == 0, err
    document = json.loads(out)
    model = load_model("runs/t")
    X, y = load_svmlight_file(str(workdir / "new.svm"), n_features=NUM_FEATURES, zero_based=False)
    assert document["predictions"] == model.predict(X.astype(np.float32)).tolist()
    assert document["accuracy"] == pytest.approx(np.mean(model.predict(X.astype(np.float32)) == y))


def test_data_info_prints_the_notes_and_the_density(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    code, out, err = cli(["data", "info", "tr.svm"], capsys)
    assert code == 0, err
    assert "read as one-based" in out and "force the other reading with --zero-based yes" in out
    X, _ = load_svmlight_file(str(workdir / "tr.svm"), zero_based=False)
    assert re.search(r"sparse: \d+ stored values in the training rows \(\d+\.\d\d% of N x D\)", out)
    code, out, _ = cli(["data", "info", "tr.svm", "--json"], capsys)
    document = json.loads(out)
    assert document["sparse"] is True and document["zero_based"] is False
    assert any("one-based" in note for note in document["notes"])
    assert X.shape[1] == document["num_features"]


def test_data_pack_refuses_an_svmlight_file_in_one_line(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    code, _, err = cli(["data", "pack", "tr.svm", "--out", "packed"], capsys)
    assert code == 2
    one_line(err)


# --- --preprocess on sparse data ---------------------------------------------------------------


def test_auto_preprocessing_scales_sparse_data_and_says_so(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    code, out, err = cli([*TRAIN, "--data", "tr.svm", "--name", "t"], capsys)
    assert code == 0, err
    assert f"note: {SPARSE_AUTO_NOTE}" in out + err
    assert "preprocessing: scale" in out + err
    model = load_model("runs/t")
    X, _ = load_svmlight_file(str(workdir / "tr.svm"), zero_based=False, dtype=np.float32)
    assert model.preprocessor.kind == "scale"
    assert np.all(model.preprocessor.mean_ == 0)  # never centered
    assert model.preprocessor.scale_.max() <= abs(X).max()


@pytest.mark.parametrize("kind", ["center", "standardize"])
@pytest.mark.parametrize("command", [TRAIN, ["lr-find", "--steps", "20"], ["gradcheck"]])
def test_centering_sparse_data_is_refused_with_the_fix(workdir, capsys, kind, command):  # noqa: F811
    write_svm(workdir / "tr.svm")
    code, _, err = cli([*command, "--data", "tr.svm", "--preprocess", kind], capsys)
    assert code == 2
    assert re.search(
        rf"preprocess '{kind}' centers the features.*use 'scale'.*or 'none'", one_line(err)
    )
    assert not Path("runs").exists() or not any(Path("runs").iterdir())


# --- --test-data -----------------------------------------------------------------------------


def test_a_test_file_is_read_at_the_training_width_and_recorded(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    X_test, y_test = sparse_rows(7, 30)
    narrow = X_test[:, : NUM_FEATURES - 3]  # its largest index is lower: padded to D
    dump_svmlight_file(narrow, y_test, str(workdir / "te.svm"), zero_based=False)
    code, out, err = cli(
        [*TRAIN, "--data", "tr.svm", "--test-data", "te.svm", "--name", "t"], capsys
    )
    assert code == 0, err
    assert "tr: 108 train / 12 val / 30 test, 12 features, 3 classes" in out + err
    data = config_of(workdir / "runs/t")["data"]
    assert data["test_data"] == str(workdir / "te.svm")
    assert data["test_sha256"] == sha256_of(workdir / "te.svm")
    assert data["zero_based"] is False
    model = load_model("runs/t")
    assert model.meta["data"]["test_sha256"] == data["test_sha256"]
    code, out, _ = cli(["evaluate", "runs/t", "--json"], capsys)
    assert code == 0
    padded = sp.hstack([narrow, sp.csr_matrix((30, 3))]).tocsr().astype(np.float32)
    expected = np.mean(model.predict(padded) == y_test)
    assert json.loads(out)["test_accuracy"] == pytest.approx(expected)


def test_a_changed_test_file_is_refused_on_resume_and_evaluate(workdir, capsys, monkeypatch):  # noqa: F811
    write_svm(workdir / "tr.svm")
    write_svm(workdir / "te.svm", seed=7, num_rows=30)
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(3))
        args = [*TRAIN, "--data", "tr.svm", "--test-data", "te.svm", "--name", "cut"]
        assert cli(args, capsys)[0] == 130
    write_svm(workdir / "te.svm", seed=8, num_rows=30)
    code, _, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 2
    assert re.search(r"te\.svm changed since this run started .*restore the file", one_line(err))
    write_svm(workdir / "te.svm", seed=7, num_rows=30)  # restored: the run finishes
    assert cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)[0] == 0
    write_svm(workdir / "te.svm", seed=8, num_rows=30)
    code, _, err = cli(["evaluate", "runs/cut"], capsys)
    assert code == 2
    assert re.search(r"te\.svm, the test file .* changed since .*--test-data FILE", one_line(err))
    code, _, err = cli(["evaluate", "runs/cut", "--test-data", "te.svm"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    "data, flags, message",
    [
        (
            "digits",
            ["--test-data", "te.svm"],
            r"--test-data \(test_data in Python\) applies to svmlight",
        ),
        ("rows.csv", ["--test-data", "te.svm"], r"--test-data .* applies to svmlight files"),
        ("rows.npz", ["--zero-based", "yes"], r"--zero-based \(zero_based in Python\) applies to"),
        ("digits", ["--zero-based", "no"], r"--zero-based .*digits is not one: drop the option"),
        (
            "tr.svm",
            ["--test-data", "rows.csv"],
            r"the test file .*rows\.csv is not an svmlight file",
        ),
    ],
)
@pytest.mark.parametrize("command", [TRAIN, ["gradcheck"], ["compare", "--epochs", "1"]])
def test_svmlight_options_on_other_data_are_one_line(
    workdir,  # noqa: F811 - the workdir fixture
    capsys,
    data,
    flags,
    message,
    command,
):
    write_svm(workdir / "tr.svm")
    write_svm(workdir / "te.svm", seed=7)
    (workdir / "rows.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n" * 5)
    np.savez(workdir / "rows.npz", X=np.ones((20, 2)), y=np.arange(20) % 2)
    code, _, err = cli([*command, "--data", data, *flags], capsys)
    assert code == 2
    assert re.search(message, one_line(err))
    assert not Path("runs").exists() or not any(Path("runs").iterdir())


# --- --zero-based, and the base a model reads other files with ---------------------------------


def test_zero_based_forces_the_index_base_and_is_recorded(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm", zero_based=False)  # indices 1..12, read one-based by default
    args = [*TRAIN, "--data", "tr.svm", "--zero-based", "yes", "--name", "zero"]
    code, out, err = cli(args, capsys)
    assert code == 0, err
    assert f"{NUM_FEATURES + 1} features" in out + err  # column 0 empty, index 12 the 13th
    assert config_of(workdir / "runs/zero")["data"]["zero_based"] is True
    assert load_model("runs/zero").meta["data"]["zero_based"] is True
    assert cli([*TRAIN, "--data", "tr.svm", "--name", "auto"], capsys)[0] == 0
    assert config_of(workdir / "runs/auto")["data"]["zero_based"] is False  # resolved, not "auto"
    write_svm(workdir / "zero.svm", zero_based=True)  # index 0 is used
    code, _, err = cli([*TRAIN, "--data", "zero.svm", "--zero-based", "no"], capsys)
    assert code == 2
    assert re.search(r"zero\.svm, line \d+: .*index 0 .*--zero-based yes or auto", one_line(err))


@pytest.fixture
def zero_based_run(workdir, capsys):  # noqa: F811
    """A run on a zero-based file (index 0 used), and other.svm: zero-based too, but column 0
    is empty in it, so read on its own it would pass for one-based."""
    write_svm(workdir / "tr.svm", zero_based=True)
    write_svm(workdir / "other.svm", seed=9, num_rows=60, zero_based=True, first_column=False)
    assert cli([*TRAIN, "--data", "tr.svm", "--name", "z"], capsys)[0] == 0
    assert config_of(workdir / "runs/z")["data"]["zero_based"] is True
    model = load_model("runs/z")
    X, y = load_svmlight_file(str(workdir / "other.svm"), n_features=NUM_FEATURES, zero_based=True)
    right = model.predict(X.astype(np.float32))
    shifted = sp.hstack([X[:, 1:], sp.csr_matrix((X.shape[0], 1))]).tocsr().astype(np.float32)
    misread = np.mean(model.predict(shifted) == y)
    assert misread < np.mean(right == y) - 0.5  # the misreading would change the numbers
    return model, right, y


def test_predict_reads_another_file_with_the_models_index_base(zero_based_run, capsys):
    _, right, _ = zero_based_run
    code, out, err = cli(["predict", "runs/z", "--input", "other.svm", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["predictions"] == right.tolist()


def test_evaluate_reads_another_file_with_the_models_index_base(zero_based_run, capsys):
    _, right, y = zero_based_run
    code, out, err = cli(["evaluate", "runs/z", "--data", "other.svm"], capsys)
    assert code == 0, err
    rows = re.findall(r"^(train|val|test)\s+([\d.]+)%\s+(\d+)", out, re.MULTILINE)
    assert [int(count) for _, _, count in rows] and sum(int(n) for _, _, n in rows) == len(y)
    correct = sum(round(float(percent) / 100 * int(count)) for _, percent, count in rows)
    assert correct == int(np.sum(right == y))  # the splits partition the file


def test_an_explicit_zero_based_flag_wins_over_the_models(zero_based_run, capsys):
    code, out, err = cli(
        ["evaluate", "runs/z", "--data", "other.svm", "--zero-based", "no"], capsys
    )
    assert code == 0, err
    assert "read as one-based, as asked" in out + err


# --- resume ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stops", [[5], [4], [3, 6]])
def test_an_interrupted_sparse_run_resumed_equals_the_uninterrupted_one(
    workdir,  # noqa: F811 - the workdir fixture
    capsys,
    monkeypatch,
    stops,
):
    write_svm(workdir / "tr.svm")
    write_svm(workdir / "te.svm", seed=7, num_rows=30)
    common = [
        *TRAIN,
        "--data",
        "tr.svm",
        "--test-data",
        "te.svm",
        "--optimizer",
        "adam",
        "--seed",
        "4",
    ]
    assert cli([*common, "--name", "straight"], capsys)[0] == 0
    stop_and_resume(common, stops, capsys, monkeypatch)
    assert_same_run(workdir / "runs/stopped", workdir / "runs/straight")


# --- what a model records about its svmlight files ----------------------------------------------

BAD_DATA_META = {
    "zero_based text": ('"zero_based": "yes"', r"meta's data has a malformed zero_based: 'yes'"),
    "zero_based number": ('"zero_based": 1', r"meta's data has a malformed zero_based: 1"),
    "test_data number": ('"test_data": 3', r"meta's data has a malformed test_data: 3"),
    "test_sha256 bool": ('"test_sha256": true', r"meta's data has a malformed test_sha256: True"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA_META))
def test_a_malformed_svmlight_record_in_a_model_is_named(tmp_path, case):
    entry, message = BAD_DATA_META[case]
    meta = np.array('{"data": {"data": "/a.svm", ' + entry + "}}")
    np.savez(tmp_path / "model.npz", **changed(meta=meta))
    with pytest.raises(RunError, match=message) as raised:
        load_model(tmp_path / "model.npz")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("base", [True, False, "auto"])
def test_a_recorded_index_base_loads(tmp_path, base):
    meta = np.array(json.dumps({"data": {"data": "/a.svm", "zero_based": base}}))
    np.savez(tmp_path / "model.npz", **changed(meta=meta))
    assert load_model(tmp_path / "model.npz").meta["data"]["zero_based"] == base


def test_predict_reads_a_sparse_npz(workdir, capsys):  # noqa: F811
    write_svm(workdir / "tr.svm")
    X, y = sparse_rows(5, 40)
    save_sparse_npz(workdir / "new.npz", X, y)
    assert cli([*TRAIN, "--data", "tr.svm", "--name", "t"], capsys)[0] == 0
    code, out, err = cli(["predict", "runs/t", "--input", "new.npz", "--json"], capsys)
    assert code == 0, err
    predicted = load_model("runs/t").predict(X.astype(np.float32))
    assert json.loads(out)["predictions"] == predicted.tolist()
    assert json.loads(out)["accuracy"] == pytest.approx(np.mean(predicted == y))
