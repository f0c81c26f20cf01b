"""Your own data: .npz and .csv files, split 80/10/10 when they bring no val/test split."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slopelab.data import DataError, load_dataset
from slopelab.data.files import read_csv


def blobs(num: int = 100, num_classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(num) % num_classes
    X = rng.standard_normal((num, 3)) + 3 * y[:, None]
    return X, y


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# ---------------------------------------------------------------------------- .npz


def test_npz_with_every_split_round_trips_exactly(tmp_path):
    X, y = blobs()
    path = tmp_path / "mine.npz"
    names = np.array(["a", "b", "c", "d"])
    np.savez(path, X=X[:60], y=y[:60], X_val=X[60:80], y_val=y[60:80], X_test=X[80:],
             y_test=y[80:], class_names=names)  # fmt: skip
    dataset = load_dataset(path)
    np.testing.assert_array_equal(dataset.X_train, X[:60].astype(np.float32))
    np.testing.assert_array_equal(dataset.y_val, y[60:80])
    np.testing.assert_array_equal(dataset.X_test, X[80:].astype(np.float32))
    assert dataset.class_names == ("a", "b", "c", "d")
    assert dataset.name == "mine" and dataset.source == str(path)
    assert dataset.image_shape is None and dataset.default_preprocess == "standardize"


def test_npz_without_splits_is_carved_80_10_10_stratified_and_seeded(tmp_path):
    X, y = blobs(100, 4)
    path = tmp_path / "plain.npz"
    np.savez(path, X=X, y=y)
    dataset = load_dataset(str(path), seed=3)
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (80, 10, 10)
    for split in (dataset.y_val, dataset.y_test):
        assert np.bincount(split, minlength=4).min() >= 2  # every class represented
    rows = np.concatenate([dataset.X_train, dataset.X_val, dataset.X_test])
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(X.astype(np.float32), axis=0))
    again = load_dataset(str(path), seed=3)
    np.testing.assert_array_equal(again.X_val, dataset.X_val)
    other = load_dataset(str(path), seed=4)
    assert not np.array_equal(other.X_val, dataset.X_val)


def test_npz_carves_only_the_missing_split(tmp_path):
    X, y = blobs(100, 4)
    path = tmp_path / "val.npz"
    np.savez(path, X=X[:90], y=y[:90], X_val=X[90:], y_val=y[90:])
    dataset = load_dataset(path, num_test=20)
    np.testing.assert_array_equal(dataset.X_val, X[90:].astype(np.float32))
    assert (len(dataset.y_train), len(dataset.y_test)) == (70, 20)


def test_npz_string_labels_are_numbered_in_sorted_order(tmp_path):
    X = np.arange(20.0).reshape(10, 2)
    labels = np.array(["dog", "cat", "emu"] * 3 + ["cat"])
    path = tmp_path / "animals.npz"
    np.savez(path, X=X, y=labels, X_val=X[:3], y_val=labels[:3], X_test=X[:3], y_test=labels[:3])
    dataset = load_dataset(path)
    assert dataset.class_names == ("cat", "dog", "emu")
    np.testing.assert_array_equal(dataset.y_val, [1, 0, 2])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.ones((5, 2))}, r"has no array 'y' \(found X\); a \.npz dataset needs X \(N, D\)"),
        ({"X": np.ones((5, 2)), "y": np.zeros(5), "X_val": np.ones((2, 2))},
         r"has only one of X_val and y_val; give both or neither"),
        ({"X": np.ones((5, 2)), "y": np.array([0, 1, None, 1, 0], dtype=object)},
         r"holds an array that needs pickle .*; save plain numeric or string arrays"),
        ({"X": np.array([[1.0], [np.nan], [2.0], [3.0], [4.0]] * 4), "y": np.arange(20) % 2},
         r"bad\.npz: X contains NaN or infinity in row 1, column 0"),
        ({"X": np.ones((5, 2)), "y": np.zeros(5)}, r"has 1 class; a classifier needs at least 2"),
        ({"X": np.ones((5, 2)), "y": np.zeros(4)}, r"bad\.npz: X has 5 rows but y has 4 labels"),
        ({"X": np.ones(5), "y": np.zeros(5)}, r"bad\.npz: X must be a 2-D array of shape \(N, D\)"),
        ({"X": np.ones((2, 2)), "y": np.array([0, 1])}, r"has 2 examples: too few to carve 1 "
         r"for val"),
    ],
)  # fmt: skip
def test_bad_npz_files_are_explained(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(path)


def test_a_file_that_is_not_a_zip_is_not_unpickled(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"\x80\x04\x95 definitely a pickle")
    with pytest.raises(DataError, match=r"fake\.npz is not a \.npz file \(not a zip archive\)"):
        load_dataset(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"no such file: .*nothing\.csv; pass the path of a "):
        load_dataset(tmp_path / "nothing.csv")


# ---------------------------------------------------------------------------- .csv


@pytest.mark.parametrize(
    ("header", "label_column", "expected"),
    [
        (["a", "label", "b"], None, 1),
        (["a", "b", "Class"], None, 2),
        (["target", "a", "b"], None, 0),
        (["a", "y", "b"], None, 1),
        (["a", "b", "kind"], None, 2),  # no known name: the last column
        (["a", "label", "b"], "a", 0),  # label_column wins
    ],
)
def test_label_column_is_chosen_by_name_then_last(tmp_path, header, label_column, expected):
    X, y = blobs(40, 2)
    X = X[:, :2]
    rows = [list(row) for row in X]
    for row, label in zip(rows, y, strict=True):
        row.insert(expected, int(label))
    path = write_csv(tmp_path / "table.csv", header, rows)
    loaded = read_csv(path, label_column=label_column)
    np.testing.assert_array_equal(loaded.y, y)
    np.testing.assert_allclose(loaded.X, X)


def test_csv_string_labels_become_sorted_class_names(tmp_path):
    rows = [[1.0, 2.0, "setosa"], [3.0, 4.0, "virginica"], [5.0, 6.0, "versicolor"]] * 10
    path = write_csv(tmp_path / "iris.csv", ["length", "width", "species"], rows)
    dataset = load_dataset(path)
    assert dataset.class_names == ("setosa", "versicolor", "virginica")
    loaded = read_csv(path)
    np.testing.assert_array_equal(loaded.y[:3], [0, 2, 1])  # file order is kept


def test_csv_negative_number_labels_are_numbered_in_numeric_order(tmp_path):
    rows = [[float(i), label] for i, label in enumerate([-1, 1, 10, 2] * 5)]
    loaded = read_csv(write_csv(tmp_path / "signs.csv", ["x", "y"], rows))
    assert loaded.class_names == ("-1", "1", "2", "10")
    np.testing.assert_array_equal(loaded.y[:4], [0, 1, 3, 2])


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["a", "b", "label"], [[1, 2, 0], [3, "x", 1]],
         r"column 'b' in row 2 holds 'x', which is not a number; every column except the label "
         r"column must be numeric"),
        (["a", "b", "label"], [[1, "", 0]], r"column 'b' in row 1 holds '', which is not a number"),
        (["a", "b", "label"], [[1, 2, 0], [3, 4]], r"row 2 has 2 values but the header has 3 "
         r"columns"),
        (["a", "label"], [], r"needs a header row and at least one data row; it has 1"),
        (["label"], [[0]], r"has only a label column; it needs at least one feature column"),
        (["a", "label"], [[1, 0], [2, ""]], r"labels are empty in row 2; fill them in"),
        (["a", "label"], [[1, 0], [2, "nan"]], r"labels contain NaN or infinity in row 2"),
    ],
)  # fmt: skip
def test_bad_csv_files_name_the_column_and_row(tmp_path, header, rows, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataError, match=message):
        load_dataset(path)


def test_unknown_label_column_lists_the_columns(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b"], [[1, 0]])
    with pytest.raises(DataError, match=r"t\.csv has no column 'kind'; its columns are a, b"):
        load_dataset(path, label_column="kind")


def test_csv_nan_features_are_reported_by_row(tmp_path):
    rows = [[float(i), i % 2] for i in range(30)]
    rows[7][0] = "nan"
    path = write_csv(tmp_path / "holes.csv", ["x", "label"], rows)
    with pytest.raises(DataError, match=r"holes\.csv: column 'x' in row 8 is NaN or infinite"):
        load_dataset(path)


@settings(max_examples=40, deadline=None)
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 4)),
                    elements=st.floats(-1e6, 1e6, allow_nan=False)))  # fmt: skip
def test_csv_features_round_trip(tmp_path_factory, X):
    rows = [[repr(float(value)) for value in row] + [index % 2] for index, row in enumerate(X)]
    header = [f"f{index}" for index in range(X.shape[1])] + ["label"]
    path = write_csv(tmp_path_factory.mktemp("csv") / "t.csv", header, rows)
    loaded = read_csv(path)
    np.testing.assert_array_equal(loaded.X, X)
