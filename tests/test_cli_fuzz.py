"""CLI fuzz: bad files and bad flags for every command.

Every case must end the same way: exit 2, at most one line on stderr and no traceback, no
warning (pytest turns warnings into errors, so one would surface as an internal error, exit 1),
an empty stdout under ``--json``, and nothing left behind in the working directory. The flag
values are generated from the parser itself, so a new option is fuzzed without a new test; the
files cover each way a CSV or ``.npz`` can be broken. ``RELIABILITY.md`` quotes the number of
cases.
"""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from slopelab.cli import build_parser, main

# Small settings so that a case that wrongly succeeds still finishes quickly (and fails).
QUICK = {
    "tour": ["--tries", "3", "--gd-steps", "2", "--epochs", "1"],
    "train": ["--epochs", "1"],
    "compare": ["--epochs", "1", "--strategies", "sgd"],
    "gradcheck": ["--num-checks", "1"],
    "lr-find": ["--steps", "5"],
    "sweep": ["--trials", "1", "--stages", "1", "--epochs", "1"],
    "landscape": ["--at", "init", "--resolution", "3", "--num-examples", "20"],
    "evaluate": [],
    "predict": [],
    "data": [],
}
NEEDS_MODEL = ("evaluate", "predict")


def run_case(argv: list[str], workdir: Path, capsys) -> tuple[int, str, str]:
    """Run ``slopelab ARGV --json`` in-process; check that nothing was left behind."""
    before = set(workdir.rglob("*"))
    try:
        code = main([*argv, "--json"])
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    captured = capsys.readouterr()
    left = set(workdir.rglob("*")) - before
    assert not left, f"{argv} left {sorted(map(str, left))}"
    return code, captured.out, captured.err


def assert_refused(argv: list[str], workdir: Path, capsys, wording: str | None = None) -> None:
    code, out, err = run_case(argv, workdir, capsys)
    lines = err.strip().splitlines()
    assert code == 2, f"{argv}: exit {code}: {err}"
    assert len(lines) == 1 and "Traceback" not in err, f"{argv}: {err}"
    assert out == "", f"{argv}: stdout {out!r}"
    if wording is not None:
        assert wording.lower() in lines[0].lower(), f"{argv}: {lines[0]}"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A real model to evaluate and predict with (trained once for this module)."""
    folder = tmp_path_factory.mktemp("model")
    assert main(["train", "--epochs", "1", "--out", str(folder), "--name", "m", "--json"]) == 0
    return folder / "m"


# ------------------------------------------------------------------------------------ flags

BAD_VALUES = {
    "positive_int": ["abc", "", "1.5", "0", "-3", "nan", "inf", "1e3"],
    "non_negative_int": ["abc", "", "1.5", "-1", "nan"],
    "seed_value": ["abc", "", "1.5", "-1", "nan", "4294967296", "1" + "0" * 30],
    "positive_float": ["abc", "", "nan", "inf", "-inf", "-1", "0", "1e400"],
    "non_negative_float": ["abc", "", "nan", "inf", "-1", "1e400"],
    "learning_rate_value": ["fast", "", "nan", "inf", "-0.1", "0"],
    "batch_size_value": ["half", "", "0", "-5", "2.5", "nan"],
    "fraction_value": ["half", "", "nan", "inf", "-0.1", "1.5", "1e400"],
    "port_number": ["http", "0", "-1", "65536"],
    "thread_count": ["two", "", "0", "-1", "1.5", "1025", "nan"],
    "float": ["1e-3", "abc"],  # sweep --reg: refused whatever its value (it sweeps reg)
    "log_range": ["1:0.1", "a:b", "0:1", "1e-3:inf", "5", "-1:1", "1:1"],
}
BAD_STRINGS = {  # options whose values are free text, by destination
    "data": ["no-such-dataset", "", "missing.csv", "missing.npz", "toy2d:nope", "cifar10:x"],
    "name": ["../escape", "a/b", "", "."],
    "schedule": ["zigzag", "step", "step:step_size=0", "cosine:decay_steps=-1", ":"],
    "opt": ["momentum", "=1", "bogus=1"],
    "strategies": ["sgd,magic", "", ","],
    "label_column": ["no_such_column"],
    "test_data": ["missing.svm", "", "rows.csv"],  # the data is not svmlight, or the file gone
    "function": ["no_module_here:f", "justtext", "os:no_such_function"],
    "params": ["missing.npz"],
    "at": ["no/such/run"],
    "resume": ["no/such/run"],
    "input": ["missing.csv"],
    "output": [],
    "data_dir": [],
    "host": [],  # a valid host would start a server; the port is fuzzed
    "out": [],
}


def option_cases() -> list[tuple[str, str, str]]:
    """(command, option, value) for every option of every command, from the parser."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cases = []
    for command, subparser in commands.choices.items():
        if command == "data":
            continue  # data's own sub-actions are fuzzed below
        for action in subparser._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            option = max(action.option_strings, key=len)
            if action.choices is not None:
                values = ["bogus-choice"]
            elif action.type is not None:
                values = BAD_VALUES[action.type.__name__]
            else:
                values = BAD_STRINGS[action.dest]
            cases += [(command, option, value) for value in values]
    return cases


CASES = option_cases()


def test_every_option_of_every_command_is_fuzzed():
    """The generator covers each command and a few hundred cases."""
    assert {command for command, _, _ in CASES} >= set(QUICK) - {"data"} | {"demo"}
    assert len(CASES) >= 300


@pytest.mark.parametrize(("command", "option", "value"), CASES)
def test_a_bad_flag_value_is_exit_2_and_one_line(
    workdir, capsys, model_dir, command, option, value
):
    if command == "demo":
        argv = ["demo", option, value]
    else:
        model = [str(model_dir)] if command in NEEDS_MODEL else []
        needed = ["--input", str(model_dir / "missing.csv")] if command == "predict" else []
        argv = [command, *model, *QUICK[command], *needed, option, value]
    assert_refused(argv, workdir, capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "info", "no-such-dataset"],
        ["data", "info", "missing.csv"],
        ["data", "download", "digits"],
        ["data", "list", "--bogus"],
        ["data"],
        ["bogus-command"],
        ["train", "--resume", "runs/none", "--lr", "0.1"],
        ["gradcheck", "--full", "--directional"],
        ["compare", "--epochs", "1", "--seconds", "1"],
        ["landscape", "--trajectory", "--at", "init"],
        ["lr-find", "--start", "1", "--end", "0.1"],
    ],
)
def test_bad_commands_and_combinations_are_exit_2_and_one_line(workdir, capsys, argv):
    assert_refused(argv, workdir, capsys)


# ------------------------------------------------------------------------------------ files


def csv_file(text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "data.csv"
        path.write_text(text)
        return path

    return write


def npz_file(**arrays) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "data.npz"
        np.savez(path, **arrays)
        return path

    return write


def raw_file(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write


def truncated_npz(folder: Path) -> Path:
    path = folder / "data.npz"
    np.savez(path, X=np.ones((20, 3)), y=np.arange(20) % 2)
    path.write_bytes(path.read_bytes()[:-40])
    return path


def corrupt_member_npz(folder: Path) -> Path:
    path = folder / "data.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", b"\x93NUMPY garbage")
        archive.writestr("y.npy", b"not an array")
    return path


def object_npz(folder: Path) -> Path:
    path = folder / "data.npz"
    X = np.empty((4, 2), dtype=object)
    X[:] = 1.0
    np.savez(path, X=X, y=np.array([0, 1, 0, 1]))
    return path


def huge_field_csv(folder: Path) -> Path:
    path = folder / "data.csv"
    path.write_text("a,label\n" + "1" * 200_000 + ",0\n2,1\n")
    return path


def rows(count: int, label: Callable[[int], str] = lambda i: str(i % 2)) -> str:
    return "".join(f"{i},{i * 2},{label(i)}\n" for i in range(count))


BAD_FILES = {
    "csv_nan": csv_file("a,b,label\n" + rows(10) + "nan,1,0\n"),
    "csv_inf": csv_file("a,b,label\n" + rows(10) + "inf,1,0\n"),
    "csv_too_large_for_float32": csv_file("a,b,label\n" + rows(10) + "1e40,1,0\n"),
    "csv_text_feature": csv_file("a,b,label\n" + rows(10) + "one,1,0\n"),
    "csv_empty": csv_file(""),
    "csv_header_only": csv_file("a,b,label\n"),
    "csv_ragged": csv_file("a,b,label\n" + rows(10) + "1,2\n"),
    "csv_one_class": csv_file("a,b,label\n" + rows(10, lambda i: "0")),
    "csv_missing_label": csv_file("a,b,label\n" + rows(10) + "1,2,\n"),
    "csv_binary_garbage": raw_file("data.csv", bytes(range(256)) * 20),
    "csv_huge_field": huge_field_csv,
    "npz_zero_bytes": raw_file("data.npz", b""),
    "npz_not_a_zip": raw_file("data.npz", b"just some text, not an archive"),
    "npz_truncated": truncated_npz,
    "npz_corrupt_member": corrupt_member_npz,
    "npz_wrong_keys": npz_file(features=np.ones((10, 2)), labels=np.arange(10) % 2),
    "npz_object_array": object_npz,
    "npz_y_2d": npz_file(X=np.ones((10, 2)), y=np.ones((10, 2))),
    "npz_length_mismatch": npz_file(X=np.ones((10, 2)), y=np.arange(9) % 2),
    "npz_X_3d": npz_file(X=np.ones((10, 2, 2)), y=np.arange(10) % 2),
    "npz_nan": npz_file(X=np.full((10, 2), np.nan), y=np.arange(10) % 2),
    "npz_complex": npz_file(X=np.ones((10, 2)) * 1j, y=np.arange(10) % 2),
    "unknown_suffix": raw_file("data.txt", b"1,2,3\n"),
    # defect classes found by a fresh-eyes tester (datafiles2)
    "npz_zero_rows": npz_file(X=np.zeros((0, 3)), y=np.zeros(0, dtype=np.int64)),
    "npz_zero_rows_float_y": npz_file(X=np.zeros((0, 3)), y=np.zeros(0)),
    "npz_zero_features": npz_file(X=np.zeros((10, 0)), y=np.arange(10) % 2),
    "npz_val_zero_rows": npz_file(
        X=np.ones((10, 2)),
        y=np.arange(10) % 2,
        X_val=np.zeros((0, 2)),
        y_val=np.zeros(0, dtype=np.int64),
    ),
    "npz_y_scalar": npz_file(X=np.ones((10, 2)), y=np.int64(1)),
    "npz_one_row": npz_file(X=np.ones((1, 2)), y=np.array([0])),
    "npz_two_rows": npz_file(X=np.ones((2, 2)), y=np.array([0, 1])),
    "npz_test_class_not_in_train": npz_file(
        X=np.ones((10, 2)),
        y=np.arange(10) % 2,
        X_val=np.ones((2, 2)),
        y_val=np.array([0, 1]),
        X_test=np.ones((2, 2)),
        y_test=np.array([0, 2]),
    ),
    "npz_mixed_labels": npz_file(X=np.ones((9, 2)), y=np.array(["0", "1", "True"] * 3)),
    "csv_duplicate_columns": csv_file("a,label,label\n" + rows(10)),
    "csv_unterminated_quote": csv_file("a,b,label\n" + rows(10) + '5,6,"unterminated\n'),
    "csv_text_after_quote": csv_file("a,b,label\n" + rows(10) + '5,6,"cat"s\n'),
    "csv_mixed_labels": csv_file("a,b,label\n" + rows(9, lambda i: ["0", "1", "True"][i % 3])),
    "csv_underscore_number": csv_file("a,b,label\n" + rows(10) + "1_000,1,0\n"),
    "csv_one_row": csv_file("a,b,label\n1,2,0\n"),
    "csv_three_classes_one_row_each": csv_file("a,b,label\n1,2,x\n3,4,y\n5,6,z\n"),
}
DATA_COMMANDS = ["train", "compare", "sweep", "lr-find", "landscape", "gradcheck", "tour"]


@pytest.mark.parametrize("command", [*DATA_COMMANDS, "data-info"])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_data_file_is_exit_2_and_one_line(workdir, capsys, command, kind):
    inputs = workdir / "inputs"
    inputs.mkdir()
    path = BAD_FILES[kind](inputs)
    if command == "data-info":
        argv = ["data", "info", str(path)]
    else:
        argv = [command, *QUICK[command], "--data", str(path)]
    assert_refused(argv, workdir, capsys)


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_input_file_for_predict_is_exit_2_and_one_line(workdir, capsys, model_dir, kind):
    inputs = workdir / "inputs"
    inputs.mkdir()
    path = BAD_FILES[kind](inputs)
    assert_refused(["predict", str(model_dir), "--input", str(path)], workdir, capsys)


BAD_MODELS = {
    "zero_bytes": raw_file("model.npz", b""),
    "not_a_zip": raw_file("model.npz", b"PK but not really"),
    "wrong_keys": npz_file(W=np.ones((64, 10))),
    "object_meta": lambda folder: object_npz(folder).rename(folder / "model.npz"),
}


@pytest.mark.parametrize("kind", sorted(BAD_MODELS))
@pytest.mark.parametrize("command", ["evaluate", "predict", "landscape"])
def test_a_bad_model_file_is_exit_2_and_one_line(workdir, capsys, command, kind):
    inputs = workdir / "inputs"
    inputs.mkdir()
    model = BAD_MODELS[kind](inputs)
    model = inputs / "model.npz" if not isinstance(model, Path) else model
    rows_file = inputs / "rows.csv"
    rows_file.write_text("a\n1\n")
    argv = {
        "evaluate": ["evaluate", str(model)],
        "predict": ["predict", str(model), "--input", str(rows_file)],
        "landscape": ["landscape", *QUICK["landscape"][2:], "--at", str(model)],
    }[command]
    assert_refused(argv, workdir, capsys)
