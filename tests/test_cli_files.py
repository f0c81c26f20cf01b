"""Every file a user gives the CLI: labels by name, headerless CSVs, saved data options, and
one line with exit code 2 for every file that cannot be read."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from slopelab.cli import main
from slopelab.model import load_model
from tests.test_data_idx import write_mnist

NAMES = ("cat", "dog", "bird")


def exit_code(args: list[str]) -> int:
    """main()'s return value, or the code of the SystemExit argparse raises on bad usage."""
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = exit_code(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(code: int, out: str, err: str, message: str, json_mode: bool) -> None:
    assert code == 2, err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Warning" not in err
    if json_mode:
        assert out == ""


CENTRES: dict[str, np.ndarray] = {}  # one per label, shared by every file a test writes


def blob_rows(labels: list, seed: int = 0) -> list[list[float]]:
    """Two features; each label's rows sit around its own centre, far from the others, the
    same centre in every file (so a model trained on one file is right on another)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        count = len(CENTRES)
        centre = CENTRES.setdefault(str(label), 6.0 * np.array([count % 5, count // 5]))
        rows.append(list(centre + rng.standard_normal(2)))
    return rows


def write_csv(path: Path, labels: list, header: list[str] | None = None, seed: int = 0) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        for row, label in zip(blob_rows(labels, seed), labels, strict=True):
            writer.writerow([*row, label])
    return path


def read_back(path: Path, header: bool = True) -> tuple[np.ndarray, list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1 if header else 0 :]
    return np.array([[float(a), float(b)] for a, b, _ in rows]), [label for *_, label in rows]


def weighted_accuracy(result: dict) -> float:
    sizes = result["sizes"]
    total = sum(sizes.values())
    return sum(result[f"{split}_accuracy"] * sizes[split] for split in sizes) / total


def evaluate_json(args: list[str], capsys) -> dict:
    code, out, err = run(["evaluate", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def train(args: list[str], capsys) -> dict:
    code, out, err = run(["train", "--epochs", "20", "--no-progress", "--json", *args], capsys)
    assert code == 0, err
    return json.loads(out)


def file_accuracy(run_dir: str, path: Path, header: bool = True) -> float:
    """The oracle: the model's accuracy on every row of a file, its labels looked up by name."""
    model = load_model(run_dir)
    X, labels = read_back(path, header)
    expected = np.array([model.class_names.index(label) for label in labels])
    return float(np.mean(model.predict(X) == expected))


# ----------------------------------------------------------------------------- labels by name


def test_evaluate_on_a_file_with_fewer_classes_matches_labels_by_name(workdir, capsys):
    write_csv(workdir / "pets.csv", list(NAMES) * 40, ["a", "b", "label"])
    trained = train(["--data", "pets.csv", "--name", "pets"], capsys)
    assert trained["test_accuracy"] > 0.9
    subset = [name for name in list(NAMES) * 40 if name != "bird"]
    write_csv(workdir / "catdog.csv", subset, ["a", "b", "label"], seed=1)
    code, out, err = run(["evaluate", "runs/pets", "--data", "catdog.csv"], capsys)
    assert code == 0, err
    assert "catdog: 64 train / 8 val / 8 test, 2 features, 3 classes" in out
    result = evaluate_json(["runs/pets", "--data", "catdog.csv"], capsys)
    sizes = {"train": 64, "val": 8, "test": 8}
    accuracy = weighted_accuracy({**result, "sizes": sizes})
    assert accuracy == pytest.approx(file_accuracy("runs/pets", workdir / "catdog.csv"))
    assert accuracy > 0.9  # per-file renumbering made this 0%


def test_a_label_the_model_does_not_know_is_exit_2_naming_it(workdir, capsys):
    write_csv(workdir / "pets.csv", list(NAMES) * 20, ["a", "b", "label"])
    train(["--data", "pets.csv", "--name", "pets", "--epochs", "2"], capsys)
    write_csv(workdir / "zoo.csv", ["cat", "emu"] * 20, ["a", "b", "label"])
    for extra in ([], ["--json"]):
        code, out, err = run(["evaluate", "runs/pets", "--data", "zoo.csv", *extra], capsys)
        assert_bad_input(code, out, err, "label 'emu' is not a class of the model", bool(extra))


def test_a_model_of_labels_3_and_7_evaluates_a_file_of_only_7s(workdir, capsys):
    write_csv(workdir / "digits37.csv", [3, 7] * 40, ["a", "b", "label"])
    train(["--data", "digits37.csv", "--name", "m37"], capsys)
    model = load_model("runs/m37")
    assert model.class_names == ("3", "7") and model.params["W"].shape == (2, 2)
    write_csv(workdir / "sevens.csv", [7] * 40, ["a", "b", "label"], seed=2)
    result = evaluate_json(["runs/m37", "--data", "sevens.csv"], capsys)
    accuracy = weighted_accuracy({**result, "sizes": {"train": 32, "val": 4, "test": 4}})
    assert accuracy == pytest.approx(file_accuracy("runs/m37", workdir / "sevens.csv"))
    assert accuracy > 0.9


def test_labels_0_and_a_million_train_two_classes_with_a_note(workdir, capsys):
    write_csv(workdir / "sparse.csv", [0, 1_000_000] * 20, ["a", "b", "label"])
    code, out, err = run(["train", "--data", "sparse.csv", "--epochs", "2", "--name", "s"], capsys)
    assert code == 0, err
    assert "note: " in out and "labels 0, 1000000 are not 0..1" in out
    assert load_model("runs/s").class_names == ("0", "1000000")


def test_fractional_labels_are_exit_2(workdir, capsys):
    write_csv(workdir / "prices.csv", [0.5, 1.25, 2.75] * 10, ["a", "b", "price"])
    code, out, err = run(["train", "--data", "prices.csv", "--json"], capsys)
    assert_bad_input(code, out, err, "the labels hold numbers with a fraction", True)
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


# --------------------------------------------------------------------------------- headerless


def test_train_and_predict_keep_the_first_row_of_a_headerless_csv(workdir, capsys):
    write_csv(workdir / "plain.csv", [0, 1] * 25)
    code, out, err = run(["train", "--data", "plain.csv", "--epochs", "2", "--name", "p"], capsys)
    assert code == 0, err
    assert "note: " in out and "has no header row" in out
    assert "plain: 40 train / 5 val / 5 test" in out  # all 50 rows, none taken as a header
    with (workdir / "rows.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(blob_rows([0, 1, 0, 1, 1]))
    code, out, err = run(["predict", "runs/p", "--input", "rows.csv"], capsys)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1 + 5  # header + one line per row of the file
    assert "has no header row" in err  # the note stays off stdout, which carries the CSV


def test_a_value_too_large_for_float32_names_the_files_row_and_column(workdir, capsys):
    path = write_csv(workdir / "big.csv", [0, 1] * 20, ["width", "height", "label"])
    lines = path.read_text().splitlines()
    lines[6] = "1e40,1.0,1"
    path.write_text("\n".join(lines) + "\n")
    for command in (["train", "--data", "big.csv"], ["predict", "runs/x", "--input", "big.csv"]):
        if command[0] == "predict":
            write_csv(workdir / "ok.csv", [0, 1] * 20, ["width", "height", "label"])
            train(["--data", "ok.csv", "--name", "x", "--epochs", "1"], capsys)
        code, out, err = run([*command, "--json"], capsys)
        assert_bad_input(
            code, out, err, "column 'width' in row 6 holds 1e40, too large for float32", True
        )


# ------------------------------------------------------------------------------ label columns


def test_label_column_is_case_insensitive_in_train_and_predict(workdir, capsys):
    write_csv(workdir / "kinds.csv", ["x", "y"] * 20, ["a", "b", "Kind"])
    train(["--data", "kinds.csv", "--label-column", "KIND", "--name", "k", "--epochs", "2"], capsys)
    code, out, err = run(
        ["predict", "runs/k", "--input", "kinds.csv", "--label-column", "kind", "--json"], capsys
    )
    assert code == 0, err
    result = json.loads(out)
    assert len(result["predictions"]) == 40
    assert result["class_names"] == ["x", "y"]  # the model's classes ...
    names = [result["class_names"][index] for index in result["predictions"]]
    assert result["predicted_names"] == names  # ... and the predicted name of each row


def test_predict_suggests_label_column_when_it_cannot_tell_the_label(workdir, capsys):
    write_csv(workdir / "plain.csv", [0, 1] * 20)  # no header: the model knows no column names
    train(["--data", "plain.csv", "--name", "k", "--epochs", "1"], capsys)
    write_csv(workdir / "kinds.csv", ["x", "y"] * 20, ["a", "b", "Kind"])
    code, out, err = run(["predict", "runs/k", "--input", "kinds.csv"], capsys)
    assert_bad_input(
        code, out, err, "kinds.csv has 3 feature columns but the model expects 2; if one of them "
        "(a, b, Kind) is the label, name it with --label-column (label_column in Python)", False
    )  # fmt: skip
    (workdir / "short.csv").write_text("a,Kind\n1.5,x\n2.5,y\n")
    code, out, err = run(["predict", "runs/k", "--input", "short.csv"], capsys)
    assert_bad_input(
        code, out, err, "holds 'x', which is not a number; every column except the label "
        "column must be numeric (fill in or drop missing values); if column 'Kind' is the "
        "label, name it with --label-column (label_column in Python)", False
    )  # fmt: skip


# ------------------------------------------------------------------- evaluate's saved data options


def test_evaluate_a_run_from_any_folder_with_its_saved_path_and_seed(workdir, capsys, monkeypatch):
    write_csv(workdir / "pets.csv", list(NAMES) * 30, ["a", "b", "label"])
    trained = train(["--data", "pets.csv", "--seed", "7", "--num-test", "20", "--name", "r"],
                    capsys)  # fmt: skip
    (workdir / "elsewhere").mkdir()
    monkeypatch.chdir(workdir / "elsewhere")
    run_dir = str(workdir / "runs/r")
    result = evaluate_json([run_dir], capsys)
    assert result["test_accuracy"] == trained["test_accuracy"]
    assert result["val_accuracy"] == trained["val_accuracy"]
    assert result["train_accuracy"] == trained["train_accuracy"]
    other_seed = evaluate_json([run_dir, "--seed", "8"], capsys)  # a flag given wins
    assert other_seed["data"] == "pets"


def test_evaluate_remembers_the_data_folder_of_a_named_dataset(workdir, capsys, monkeypatch):
    write_mnist(workdir / "my data" / "mnist")
    monkeypatch.setenv("SLOPELAB_DATA", str(workdir / "empty"))  # not where MNIST is
    trained = train(["--data", "mnist", "--data-dir", "my data", "--num-val", "5", "--name", "m",
                     "--epochs", "3"], capsys)  # fmt: skip
    (workdir / "elsewhere").mkdir()
    monkeypatch.chdir(workdir / "elsewhere")
    result = evaluate_json([str(workdir / "runs/m")], capsys)
    assert result["test_accuracy"] == trained["test_accuracy"]
    assert result["val_accuracy"] == trained["val_accuracy"]


def test_evaluate_refuses_a_moved_file_and_an_older_model_without_a_path(workdir, capsys):
    write_csv(workdir / "pets.csv", list(NAMES) * 20, ["a", "b", "label"])
    train(["--data", "pets.csv", "--name", "pets", "--epochs", "1"], capsys)
    shutil.move(workdir / "pets.csv", workdir / "moved.csv")
    code, out, err = run(["evaluate", "runs/pets"], capsys)
    assert_bad_input(code, out, err, "pets.csv, which is not there any more; pass --data", False)
    result = evaluate_json(["runs/pets", "--data", "moved.csv"], capsys)
    assert result["data"] == "moved"
    with np.load(workdir / "runs/pets/model.npz") as archive:
        arrays = dict(archive)
    meta = json.loads(str(arrays["meta"]))
    del meta["data"]  # as written before model.npz saved the data options
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(workdir / "old.npz", **arrays)
    code, out, err = run(["evaluate", "old.npz", "--json"], capsys)
    assert_bad_input(code, out, err, "does not record where its data came from", True)


def test_evaluate_has_no_flags_it_would_ignore(workdir, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "--preprocess" not in text and "(default: None)" not in text
    code, _, err = run(["evaluate", "runs/x", "--preprocess", "center"], capsys)
    assert code == 2 and "unrecognized arguments: --preprocess" in err


# ------------------------------------------------------------------ unreadable files: exit 2


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--epochs", "1", "--no-progress", "--out", str(out), "--name", "m"]) == 0
    return out / "m" / "model.npz"


def damaged_model(source: Path, target: Path, change) -> Path:
    with np.load(source) as archive:
        arrays = dict(archive)
    change(arrays)
    np.savez(target, **arrays)
    return target


MODEL_DAMAGE = {
    "empty": (lambda model, path: path.write_bytes(b""), "is empty (0 bytes)"),
    "truncated": (
        lambda model, path: path.write_bytes(model.read_bytes()[:500]),
        "zip archive is truncated or corrupt",
    ),
    "not a zip": (lambda model, path: path.write_text("W,b\n"), "not a zip archive"),
    "object array": (
        lambda model, path: np.savez(path, W=np.array([None], dtype=object)),
        "needs pickle",
    ),
    "missing W": (
        lambda model, path: damaged_model(model, path, lambda a: a.pop("W")),
        "is not a slopelab model: it has no W",
    ),
    "W and b disagree": (
        lambda model, path: damaged_model(model, path, lambda a: a.update(b=np.zeros(3))),
        "params['b'] must have shape (10,)",
    ),
    "fewer class names": (
        lambda model, path: damaged_model(
            model, path, lambda a: a.update(class_names=a["class_names"][:9])
        ),
        "it has 9 class names but W has 10 columns",
    ),
    "malformed meta": (
        lambda model, path: damaged_model(model, path, lambda a: a.update(meta=np.array("{"))),
        "meta is not valid JSON",
    ),
    "bad preprocessing": (
        lambda model, path: damaged_model(
            model, path, lambda a: a.update({"preprocess/mean": np.zeros(7)})
        ),
        "saved preprocessing mean and scale must be 1-D of equal length",
    ),
}


@pytest.mark.parametrize("json_mode", [False, True])
@pytest.mark.parametrize("case", sorted(MODEL_DAMAGE))
def test_a_damaged_model_is_exit_2_in_evaluate_and_predict(
    workdir, capsys, trained_model, case, json_mode
):
    damage, message = MODEL_DAMAGE[case]
    path = workdir / "model.npz"
    damage(trained_model, path)
    np.savez(workdir / "rows.npz", X=np.zeros((2, 64)))
    extra = ["--json"] if json_mode else []
    for command in (["evaluate", str(path)], ["predict", str(path), "--input", "rows.npz"]):
        code, out, err = run([*command, *extra], capsys)
        assert_bad_input(code, out, err, message, json_mode)


def wide_csv(last: str) -> bytes:
    """A CSV of 64 columns (the digits model's width) whose one row ends in ``last``."""
    header = ",".join(f"c{index}" for index in range(64))
    return f"{header}\n{'1,' * 63}{last}\n".encode()


INPUT_DAMAGE = {
    "empty.npz": (b"", "is empty (0 bytes)"),
    "truncated.npz": (None, "zip archive is truncated or corrupt"),
    "objects.npz": ("objects", "needs pickle"),
    "no_x.npz": ("no_x", "has no array 'X'"),
    "empty.csv": (b"", "is empty; a CSV needs a header row"),
    "header.csv": (b"a,b\n", "needs a header row and at least one data row; it has 1 line"),
    "field.csv": (b"a,b\n" + b"1" * 200_000 + b",2\n", "has a field longer than 131,072"),
    "latin.csv": (
        "a,b\n1,caf\u00e9\n".encode("latin-1"),
        "is not UTF-8 text (byte 0xe9 on line 2)",
    ),
    "binary.csv": (b"\x00\x01\x02", "is a binary file"),
    "text.csv": (b"a,b\n1,x\n", "text.csv has 2 feature columns but the model expects 64"),
    "text64.csv": (
        wide_csv("x"),
        "column 'c63' in row 1 holds 'x', which is not a number",
    ),
    "ragged.csv": (b"a,b\n1,2\n3\n", "row 2 has 1 values but the header has 2 columns"),
    "huge.csv": (wide_csv("-2e39"), "column 'c63' in row 1 holds -2e39, too large for float32"),
    "huge.npz": ("huge", "X contains 1e+40 in row 0, column 3, too large for float32"),
}


TRAIN_TOO = ("empty.npz", "truncated.npz", "objects.npz", "empty.csv", "header.csv", "field.csv",
             "latin.csv", "binary.csv", "ragged.csv")  # fmt: skip


def write_input(path: Path, content) -> None:
    if content is None:
        buffer = io.BytesIO()
        np.savez(buffer, X=np.zeros((5, 64)))
        path.write_bytes(buffer.getvalue()[:300])
    elif content == "objects":
        np.savez(path, X=np.array([[None]], dtype=object))
    elif content == "no_x":
        np.savez(path, rows=np.zeros((2, 64)))
    elif content == "huge":
        X = np.zeros((2, 64))
        X[0, 3] = 1e40
        np.savez(path, X=X)
    else:
        path.write_bytes(content)


@pytest.mark.parametrize("json_mode", [False, True])
@pytest.mark.parametrize("name", sorted(INPUT_DAMAGE))
def test_an_unreadable_input_is_exit_2(workdir, capsys, trained_model, name, json_mode):
    content, message = INPUT_DAMAGE[name]
    write_input(workdir / name, content)
    extra = ["--json"] if json_mode else []
    code, out, err = run(["predict", str(trained_model), "--input", name, *extra], capsys)
    assert_bad_input(code, out, err, message, json_mode)
    if name in TRAIN_TOO:
        code, out, err = run(["train", "--data", name, "--epochs", "1", *extra], capsys)
        assert_bad_input(code, out, err, message, json_mode)


def test_a_damaged_params_file_is_exit_2(workdir, capsys):
    (workdir / "point.npz").write_bytes(b"PK\x03\x04 cut short")
    code, out, err = run(["gradcheck", "--params", "point.npz", "--json"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    # gradcheck says which data it loaded before it reads --params: the error is the last line
    assert (
        "point.npz is not a readable parameter file: the zip archive is truncated"
        in (err.strip().splitlines()[-1])
    )


# ---------------------------------------------------------------- columns matched by name


IRIS_COLUMNS = ["sl", "sw", "pl", "pw"]


def iris_like(path: Path, order: list[str], seed: int = 0) -> Path:
    """Four features, each a different clue to the species, written in column ``order``."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    columns = dict(zip(IRIS_COLUMNS, iris.data.T, strict=True))
    species = iris.target_names[iris.target]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(order)
        for row in range(len(species)):
            writer.writerow(
                [species[row] if name == "species" else columns[name][row] for name in order]
            )
    return path


@pytest.fixture
def iris_run(workdir, capsys) -> str:
    iris_like(workdir / "iris.csv", [*IRIS_COLUMNS, "species"])
    train(["--data", "iris.csv", "--epochs", "30", "--name", "iris"], capsys)
    return "runs/iris"


def predictions(args: list[str], capsys) -> dict:
    code, out, err = run(["predict", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_predict_and_evaluate_read_reordered_columns_by_name(workdir, capsys, iris_run):
    iris_like(workdir / "reorder.csv", ["pw", "sl", "species", "pl", "sw"])
    original = predictions([iris_run, "--input", "iris.csv"], capsys)
    reordered = predictions([iris_run, "--input", "reorder.csv", "--label-column", "species"],
                            capsys)  # fmt: skip
    assert reordered["predictions"] == original["predictions"]  # 100 of 150 differed
    model = load_model(iris_run)
    X = np.loadtxt(workdir / "iris.csv", delimiter=",", skiprows=1, usecols=range(4))
    assert original["predictions"] == model.predict(X).tolist()  # the oracle: columns in order
    assert any("another order" in note for note in reordered["notes"])
    expected = evaluate_json([iris_run], capsys)
    for extra in ([], ["--label-column", "species"]):
        result = evaluate_json([iris_run, "--data", "reorder.csv", *extra], capsys)
        for split in ("train", "val", "test"):
            assert result[f"{split}_accuracy"] == expected[f"{split}_accuracy"]  # was 33%
        assert any("another order" in note for note in result["notes"])


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["sl", "sw", "pl", "species"], "the model reads the feature columns sl, sw, pl, pw; it "
         "lacks column 'pw'"),
        (["sl", "sw", "pl", "petal_width", "species"], "it lacks column 'pw' and column "
         "'petal_width' is not among them"),
    ],
)  # fmt: skip
def test_other_columns_are_exit_2_naming_them(workdir, capsys, iris_run, order, message):
    path = workdir / "other.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(order)
        writer.writerows([[1.0] * (len(order) - 1) + ["setosa"]] * 20)
    for command in (["predict", iris_run, "--input", "other.csv"],
                    ["evaluate", iris_run, "--data", "other.csv"]):  # fmt: skip
        code, out, err = run([*command, "--json"], capsys)
        assert_bad_input(code, out, err, message, True)


def test_predict_drops_the_models_label_column_and_reports_accuracy(workdir, capsys, iris_run):
    result = predictions([iris_run, "--input", "iris.csv"], capsys)  # exit 2 before: 'species'
    model = load_model(iris_run)
    _, species = np.loadtxt(workdir / "iris.csv", delimiter=",", skiprows=1, usecols=(0, 4),
                            dtype=str, unpack=True)  # fmt: skip
    truth = np.array([model.class_names.index(name) for name in species])
    assert result["accuracy"] == pytest.approx(np.mean(np.array(result["predictions"]) == truth))
    assert result["labels"] == "column 'species'"
    code, out, err = run(["predict", iris_run, "--input", "iris.csv"], capsys)
    assert code == 0 and out.startswith("row,class,name")
    assert f"accuracy {result['accuracy']:.2%} on 150 rows (labels: column 'species')" in err
    iris_like(workdir / "unlabelled.csv", IRIS_COLUMNS)
    assert predictions([iris_run, "--input", "unlabelled.csv"], capsys)["accuracy"] is None


def test_a_headerless_file_is_read_by_position_with_a_note(workdir, capsys, iris_run):
    rows = np.loadtxt(workdir / "iris.csv", delimiter=",", skiprows=1, usecols=range(4))
    np.savetxt(workdir / "plain.csv", rows, delimiter=",", fmt="%.1f")
    code, out, err = run(["predict", iris_run, "--input", "plain.csv"], capsys)
    assert code == 0, err
    assert "taken by position as the model's features (sl, sw, pl, pw)" in err
    np.savetxt(workdir / "narrow.csv", rows[:, :3], delimiter=",", fmt="%.1f")
    code, out, err = run(["predict", iris_run, "--input", "narrow.csv", "--json"], capsys)
    assert_bad_input(code, out, err, "has 3 feature columns but the model expects 4", True)


# ------------------------------------------------------------------ a data file that changed


def digits_npz(path: Path, count: int) -> Path:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    np.savez(path, X=X[:count], y=y[:count])
    return path


def test_evaluate_refuses_to_recreate_splits_from_a_changed_file(workdir, capsys):
    digits_npz(workdir / "chg.npz", 900)
    trained = train(["--data", "chg.npz", "--epochs", "5", "--name", "chg"], capsys)
    unchanged = evaluate_json(["runs/chg"], capsys)
    assert unchanged["test_accuracy"] == trained["test_accuracy"] and unchanged["notes"] == []
    digits_npz(workdir / "chg.npz", 1000)  # the test score was inflated to 97% by train rows
    for extra in ([], ["--json"], ["--seed", "0"]):
        code, out, err = run(["evaluate", "runs/chg", *extra], capsys)
        assert_bad_input(code, out, err, "chg.npz changed since runs/chg was trained on it (its "
                         "SHA-256 differs from the one in model.npz), so its splits cannot be "
                         "re-created", extra == ["--json"])  # fmt: skip
    as_new = evaluate_json(["runs/chg", "--data", "chg.npz"], capsys)  # asked for: new data
    assert "split afresh as new data" in as_new["notes"][0]
    digits_npz(workdir / "chg.npz", 900)  # the same bytes again: the same splits
    assert evaluate_json(["runs/chg"], capsys)["test_accuracy"] == trained["test_accuracy"]


def test_a_model_records_the_sha256_of_its_data_file(workdir, capsys):
    import hashlib

    path = digits_npz(workdir / "d.npz", 300)
    train(["--data", "d.npz", "--epochs", "1", "--name", "d"], capsys)
    meta = load_model("runs/d").meta
    assert meta["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["feature_names"] is None and meta["label_column"] is None  # a .npz has no columns


# ------------------------------------------------------------- predict never overwrites a file


def test_predict_never_writes_over_its_input_or_the_model(workdir, capsys, iris_run):
    digits_npz(workdir / "rows.npz", 20)
    (workdir / "link.csv").symlink_to(workdir / "iris.csv")
    (workdir / "hard.csv").hardlink_to(workdir / "iris.csv")
    (workdir / "sub").mkdir()
    before = {name: (workdir / name).read_bytes() for name in ("iris.csv", "rows.npz")}
    model_bytes = (workdir / iris_run / "model.npz").read_bytes()
    cases = [
        ("iris.csv", "iris.csv", "is the same file as --input"),
        ("iris.csv", "./iris.csv", "is the same file as --input"),
        ("iris.csv", "sub/../iris.csv", "is the same file as --input"),
        ("iris.csv", str(workdir / "iris.csv"), "is the same file as --input"),
        ("iris.csv", "link.csv", "is the same file as --input"),
        ("link.csv", "iris.csv", "is the same file as --input"),
        ("iris.csv", "hard.csv", "is the same file as --input"),
        ("iris.csv", f"{iris_run}/model.npz", "is the same file as the model"),
        ("iris.csv", "sub", "is a folder; give the path of a .csv file"),
    ]
    for source, output, message in cases:
        for extra in ([], ["--json"]):
            code, out, err = run(["predict", iris_run, "--input", source, "--output", output,
                                  *extra], capsys)  # fmt: skip
            assert_bad_input(code, out, err, message, bool(extra))
    code, out, err = run(["predict", "runs/x", "--input", "rows.npz", "--output", "rows.npz"],
                         capsys)  # fmt: skip
    assert code == 2  # (no such model: refused before the output is checked, nothing written)
    assert {name: (workdir / name).read_bytes() for name in before} == before
    assert (workdir / iris_run / "model.npz").read_bytes() == model_bytes


def test_predict_npz_input_over_itself_is_refused(workdir, capsys):
    digits_npz(workdir / "rows.npz", 20)
    train(["--epochs", "1", "--name", "dg"], capsys)
    before = (workdir / "rows.npz").read_bytes()
    code, out, err = run(["predict", "runs/dg", "--input", "rows.npz", "--output", "rows.npz"],
                         capsys)  # fmt: skip
    assert_bad_input(code, out, err, "--output rows.npz is the same file as --input", False)
    assert (workdir / "rows.npz").read_bytes() == before


# --------------------------------------------------------------- empty files and data folders


@pytest.mark.parametrize("command", ["train", "data info", "evaluate", "predict"])
def test_a_npz_with_0_rows_is_exit_2_in_every_command(workdir, capsys, command):
    np.savez(workdir / "empty.npz", X=np.zeros((0, 64)), y=np.zeros(0, dtype=np.int64))
    argv = {
        "train": ["train", "--data", "empty.npz"],
        "data info": ["data", "info", "empty.npz"],
        "evaluate": ["evaluate", "runs/dg", "--data", "empty.npz"],
        "predict": ["predict", "runs/dg", "--input", "empty.npz"],
    }[command]
    if command in ("evaluate", "predict"):
        train(["--epochs", "1", "--name", "dg"], capsys)
    code, out, err = run([*argv, "--json"], capsys)  # was: internal error: IndexError
    assert_bad_input(code, out, err, "empty.npz: X is empty: it has 0 rows", True)


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "list", "--data-dir", "{file}"],
        ["data", "info", "mnist", "--data-dir", "{file}"],
        ["data", "info", "digits", "--data-dir", "{file}/sub"],
        ["data", "download", "mnist", "--data-dir", "{file}"],
        ["train", "--data-dir", "{file}"],
        ["train", "--data", "mnist", "--data-dir", "{file}"],
    ],
)
def test_a_data_folder_that_is_a_file_is_exit_2_everywhere(workdir, capsys, argv):
    (workdir / "passwd").write_text("root:x:0:0\n")
    argv = [part.replace("{file}", str(workdir / "passwd")) for part in argv]
    code, out, err = run([*argv, "--json"], capsys)  # data list said nothing and exited 0
    assert_bad_input(code, out, err, "is a file, not a folder", True)


@pytest.mark.parametrize("name", ["toy2d:", "digits:", "cifar10:"])
def test_a_dataset_name_with_a_trailing_colon_is_exit_2(workdir, capsys, name):
    code, out, err = run(["data", "info", name, "--json"], capsys)  # was read as the name alone
    assert_bad_input(code, out, err, f"unknown dataset {name!r}", True)


def test_resume_refuses_a_data_file_that_changed_since_the_run_started(workdir, capsys):
    digits_npz(workdir / "res.npz", 900)
    train(["--data", "res.npz", "--epochs", "2", "--name", "res"], capsys)
    config = json.loads((workdir / "runs/res/config.json").read_text())
    assert len(config["data"]["sha256"]) == 64
    digits_npz(workdir / "res.npz", 1000)
    code, out, err = run(["train", "--resume", "runs/res", "--epochs", "3", "--json"], capsys)
    assert_bad_input(code, out, err, "res.npz changed since this run started (its SHA-256 "
                     "differs from the one in the run's config.json)", True)  # fmt: skip
    digits_npz(workdir / "res.npz", 900)
    code, out, err = run(["train", "--resume", "runs/res", "--epochs", "3", "--json"], capsys)
    assert code == 0, err
