"""A file's columns are matched to a model's features by name, or by position where a file has
no names; anything else that does not line up is one DataError naming the columns."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data import DataError, load_dataset
from slopelab.data.columns import Layout
from slopelab.data.files import read_csv
from slopelab.data.rows import read_features

FEATURES = ("sl", "sw", "pl", "pw")
LAYOUT = Layout(4, FEATURES, "species")
CLASSES = ("setosa", "versicolor", "virginica")


def table(num_rows: int = 30, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Rows whose four features all differ, so any column mix-up changes X."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 10, (num_rows, 4)).round(3) + np.array([0, 100, 200, 300])
    labels = [CLASSES[index % 3] for index in range(num_rows)]
    return X, labels


def write(path: Path, header: list[str] | None, order: list[str], X, labels) -> Path:
    """Columns in ``order`` (feature names and ``species``), under ``header`` (None: none)."""
    columns = {name: X[:, index] for index, name in enumerate(FEATURES)}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        for row, label in enumerate(labels):
            writer.writerow([label if name == "species" else columns[name][row] for name in order])
    return path


@settings(max_examples=30, deadline=None)
@given(order=st.permutations([*FEATURES, "species"]), upper=st.booleans())
def test_columns_in_any_order_are_read_in_the_models_order(tmp_path_factory, order, upper):
    X, labels = table()
    header = [name.upper() if upper else name for name in order]  # names match in any case
    path = write(tmp_path_factory.mktemp("c") / "any.csv", header, order, X, labels)
    rows = read_features(path, layout=LAYOUT)
    np.testing.assert_array_equal(rows.X, X.astype(np.float32))
    loaded = read_csv(path, layout=LAYOUT, class_names=CLASSES)
    np.testing.assert_array_equal(loaded.X, X)
    assert [CLASSES[index] for index in loaded.y] == labels
    in_order = [name for name in order if name != "species"] == list(FEATURES)
    assert any("another order" in note for note in rows.notes) != in_order


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["sl", "sw", "pl", "species"], r"it lacks column 'pw'; give it the columns the model "
         r"was trained on \(by name, in any order\)$"),
        (["sl", "sw", "pl", "petal_width", "species"], r"it lacks column 'pw' and column "
         r"'petal_width' is not among them"),
        (["id", "sl", "sw", "pl", "pw", "species"], r"column 'id' is not among them; give it the "
         r"columns the model was trained on \(by name, in any order\)$"),
        (["sl", "sw", "pl", "pw", "kind"], r"column 'kind' is not among them; .* or, if 'kind' "
         r"is the label, name it with --label-column \(label_column in Python\)$"),
    ],
)  # fmt: skip
def test_missing_or_extra_columns_are_named(tmp_path, header, message):
    X, labels = table()
    values = np.column_stack([X, X])[:, : len(header) - 1]
    rows = [[*values[index], labels[index]] for index in range(len(labels))]
    path = tmp_path / "other.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    prefix = r"other\.csv: the model reads the feature columns sl, sw, pl, pw; "
    with pytest.raises(DataError, match=prefix + ".*" + message):
        read_features(path, layout=LAYOUT)
    if header[-1] == "species":
        with pytest.raises(DataError, match=prefix + ".*" + message):
            load_dataset(path, layout=LAYOUT, class_names=CLASSES)


def test_a_label_column_named_as_a_feature_is_not_dropped(tmp_path):
    """A model whose features include ``y`` keeps reading ``y`` as a feature."""
    layout = Layout(2, ("x", "y"), "kind")
    path = tmp_path / "xy.csv"
    path.write_text("x,y,kind\n1,2,a\n3,4,b\n")
    rows = read_features(path, layout=layout, class_names=("a", "b"))
    np.testing.assert_array_equal(rows.X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(rows.y, [0, 1])


def test_the_models_label_column_is_found_without_a_flag(tmp_path):
    X, labels = table()
    path = write(tmp_path / "t.csv", ["species", *FEATURES], ["species", *FEATURES], X, labels)
    rows = read_features(path, layout=LAYOUT, class_names=CLASSES)
    np.testing.assert_array_equal(rows.X, X.astype(np.float32))
    assert rows.label == "column 'species'"
    assert [CLASSES[index] for index in rows.y] == labels


def test_the_one_column_that_is_no_feature_is_the_label_to_evaluate(tmp_path):
    X, labels = table()
    order = ["sl", "kind", "sw", "pl", "pw"]
    path = write(tmp_path / "t.csv", order, [n if n != "kind" else "species" for n in order],
                 X, labels)  # fmt: skip
    loaded = read_csv(path, layout=LAYOUT, class_names=CLASSES)
    assert [CLASSES[index] for index in loaded.y] == labels


def test_a_headerless_file_is_read_by_position_with_a_note(tmp_path):
    X, labels = table()
    path = write(tmp_path / "plain.csv", None, [*FEATURES, "species"], X, labels)
    rows = read_features(path, layout=LAYOUT, label_column="5")
    np.testing.assert_array_equal(rows.X, X.astype(np.float32))
    assert any(
        "taken by position as the model's features (sl, sw, pl, pw)" in n for n in rows.notes
    )
    short = write(tmp_path / "short.csv", None, ["sl", "sw", "pl", "species"], X, labels)
    with pytest.raises(
        DataError, match=r"short\.csv has 3 feature columns but the model expects 4"
    ):
        read_features(short, layout=LAYOUT, label_column="4")
    with pytest.raises(
        DataError, match=r"short\.csv has 3 feature columns but the model expects 4"
    ):
        load_dataset(short, layout=LAYOUT, class_names=CLASSES)


def test_a_model_without_names_reads_any_header_by_position(tmp_path):
    X, labels = table()
    path = write(tmp_path / "t.csv", ["d", "c", "b", "a", "species"], [*FEATURES, "species"],
                 X, labels)  # fmt: skip
    rows = read_features(path, layout=Layout(4), label_column="species")
    np.testing.assert_array_equal(rows.X, X.astype(np.float32))
    assert rows.notes == ()


def test_npz_rows_are_read_by_position_and_their_width_checked(tmp_path):
    X, _ = table()
    np.savez(tmp_path / "rows.npz", X=X)
    rows = read_features(tmp_path / "rows.npz", layout=LAYOUT)
    assert any("taken by position" in note for note in rows.notes)
    np.savez(tmp_path / "narrow.npz", X=X[:, :3], y=np.arange(30) % 3)
    message = r"narrow\.npz has 3 feature columns but the model expects 4"
    with pytest.raises(DataError, match=message):
        read_features(tmp_path / "narrow.npz", layout=LAYOUT)
    with pytest.raises(DataError, match=r"narrow\.npz \(X\) has 3 feature columns but the model"):
        load_dataset(tmp_path / "narrow.npz", layout=LAYOUT, class_names=("0", "1", "2"))


def test_a_named_dataset_of_another_width_is_refused():
    with pytest.raises(DataError, match=r"digits \(scikit-learn\) has 64 feature columns but the "
                       r"model expects 4"):  # fmt: skip
        load_dataset("digits", layout=LAYOUT)


def test_labels_the_model_does_not_know_give_a_note_not_an_error_to_predict(tmp_path):
    X, labels = table()
    labels[3] = "rose"
    path = write(tmp_path / "t.csv", [*FEATURES, "species"], [*FEATURES, "species"], X, labels)
    rows = read_features(path, layout=LAYOUT, class_names=CLASSES)
    assert rows.y is None
    assert any("no accuracy reported: " in note and "'rose'" in note for note in rows.notes)


def test_a_feature_taken_as_the_label_is_named(tmp_path):
    X, labels = table()
    path = write(tmp_path / "t.csv", [*FEATURES, "species"], [*FEATURES, "species"], X, labels)
    message = r"t\.csv: column 'sl' is taken as the label, but the model reads it as a feature "
    message += r"\(sl, sw, pl, pw\); name the label column with --label-column"
    with pytest.raises(DataError, match=message):
        read_features(path, layout=LAYOUT, label_column="SL")
    with pytest.raises(DataError, match=message):
        load_dataset(path, layout=LAYOUT, label_column="sl", class_names=CLASSES)
