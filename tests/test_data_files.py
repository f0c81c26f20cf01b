"""Your own data: .npz and .csv files, split 80/10/10 when they bring no val/test split."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slopelab.data import DataError, load_dataset
from slopelab.data.files import read_csv
from slopelab.data.rows import read_features
from tests.helpers import refuse_opening


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
        ({"X": np.ones((2, 2)), "y": np.array([0, 1])}, r"has 2 examples: too few for 1 test "
         r"example \(the default\) and 1 validation example \(the default\) plus at least 1 for "
         r"training; add rows, or pass a smaller --num-val/--num-test \(num_val/num_test in "
         r"Python\), or give X_val/y_val and X_test/y_test arrays"),
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
    with pytest.raises(DataError, match=r"fake\.npz is not a readable .*: it is not a zip archive"):
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


# ------------------------------------------------- labels: by name, sparse numbers, fractions


def labelled_csv(path: Path, labels: list, header: bool = True) -> Path:
    """Two well separated features per class, so that any label mix-up is visible."""
    rows = [[float(index), float(index % 3), label] for index, label in enumerate(labels)]
    return write_csv(path, ["a", "b", "label"], rows) if header else write_rows(path, rows)


def write_rows(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("labels", "names", "note"),
    [
        ([3, 7] * 10, ("3", "7"), r"labels 3, 7 are not 0\.\.1; they are renumbered 0\.\.1"),
        ([0, 1_000_000] * 10, ("0", "1000000"), r"labels 0, 1000000 are not 0\.\.1"),
        ([-1, 1] * 10, ("-1", "1"), r"labels -1, 1 are not 0\.\.1"),
        ([5.0, 2.0] * 10, ("2", "5"), r"labels 2, 5 are not 0\.\.1"),
        ([0, 1, 2] * 7, ("0", "1", "2"), None),
        (["b", "a"] * 10, ("a", "b"), None),
    ],
)
def test_sparse_whole_number_labels_are_renumbered_with_a_note(tmp_path, labels, names, note):
    dataset = load_dataset(labelled_csv(tmp_path / "t.csv", labels))
    assert dataset.class_names == names
    if note is None:
        assert dataset.notes == ()
    else:
        assert len(dataset.notes) == 1 and re.search(note, dataset.notes[0])
    loaded = read_csv(tmp_path / "t.csv")
    expected = [names.index(label if isinstance(label, str) else str(int(label)))
                for label in labels]  # fmt: skip
    np.testing.assert_array_equal(loaded.y, expected)


def test_npz_labels_3_and_7_make_two_classes_not_eight(tmp_path):
    X, _ = blobs(40, 2)
    y = np.where(np.arange(40) % 2 == 0, 3, 7)
    np.savez(tmp_path / "s.npz", X=X, y=y)
    dataset = load_dataset(tmp_path / "s.npz")
    assert dataset.num_classes == 2 and dataset.class_names == ("3", "7")
    assert "renumbered" in dataset.notes[0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0.5, 1.25] * 10, r"column 'label': the labels hold numbers with a fraction, such as 0\.5 "
         r"in row 1 \(2 distinct values\): a classifier needs class labels"),
        ([1e300, 0] * 10, r"the labels hold 1e\+300 in row 1, too large for a class label"),
        ([f"c{index}" for index in range(1001)], r"the labels take 1001 distinct values, more "
         r"classes than the 1000 slopelab handles; is this the label column\?"),
    ],
)  # fmt: skip
def test_labels_that_are_not_classes_are_refused(tmp_path, labels, message):
    with pytest.raises(DataError, match=message):
        load_dataset(labelled_csv(tmp_path / "t.csv", labels))


def test_npz_class_names_beyond_the_limit_and_bad_indices_are_refused(tmp_path):
    X, y = blobs(20, 2)
    np.savez(tmp_path / "a.npz", X=X, y=y, class_names=np.array([f"c{i}" for i in range(1001)]))
    with pytest.raises(DataError, match=r"class_names lists 1001 classes; slopelab handles at"):
        load_dataset(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=X, y=y + 5, class_names=np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"label 5 \(row 0\) is not an index into class_names, "):
        load_dataset(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", X=X, y=y, class_names=np.array(["a", "a"]))
    with pytest.raises(DataError, match=r"class_names lists 'a' more than once"):
        load_dataset(tmp_path / "c.npz")


def test_labels_are_matched_to_a_models_class_names_by_name(tmp_path):
    trained = load_dataset(labelled_csv(tmp_path / "all.csv", ["cat", "dog", "bird"] * 10))
    assert trained.class_names == ("bird", "cat", "dog")
    subset = labelled_csv(tmp_path / "some.csv", ["dog", "cat"] * 10)
    on_its_own = load_dataset(subset)
    assert on_its_own.class_names == ("cat", "dog")  # renumbered per file: cat 0, dog 1 ...
    mapped = load_dataset(subset, class_names=trained.class_names)
    assert mapped.class_names == trained.class_names  # ... but the model's numbering wins
    loaded = read_csv(subset)
    rows = np.concatenate([mapped.X_train, mapped.X_val, mapped.X_test])[:, 0]
    labels = np.concatenate([mapped.y_train, mapped.y_val, mapped.y_test])
    for row, label in zip(rows, labels, strict=True):  # the file's row index is feature a
        name = ["dog", "cat"][int(row) % 2]
        assert trained.class_names[label] == name
    assert len(labels) == len(loaded.y)


def test_a_file_with_only_some_numeric_classes_keeps_the_models_numbering(tmp_path):
    model_names = ("3", "7")
    sevens = labelled_csv(tmp_path / "sevens.csv", [7] * 20)
    dataset = load_dataset(sevens, class_names=model_names)
    assert dataset.class_names == model_names
    for split in (dataset.y_train, dataset.y_val, dataset.y_test):
        assert set(split.tolist()) == {1}
    digits = load_dataset("digits", class_names=tuple(str(index) for index in range(10)))
    np.testing.assert_array_equal(digits.y_test, load_dataset("digits").y_test)


@pytest.mark.parametrize(
    ("labels", "model_names", "message"),
    [
        (["cat", "emu"] * 5, ("bird", "cat", "dog"), r"column 'label': label 'emu' is not a class "
         r"of the model, whose 3 classes are 'bird', 'cat', 'dog'"),
        ([0, 1] * 5, ("cat", "dog"), r"labels '0', '1' are not classes of the model"),
        ([3, 8] * 5, ("3", "7"), r"label '8' is not a class of the model"),
    ],
)  # fmt: skip
def test_a_label_the_model_does_not_know_is_named(tmp_path, labels, model_names, message):
    path = labelled_csv(tmp_path / "t.csv", labels)
    with pytest.raises(DataError, match=message):
        load_dataset(path, class_names=model_names)


def test_a_named_dataset_with_other_class_names_is_refused():
    with pytest.raises(DataError, match=r"digits \(scikit-learn\): labels '0', '1', '2', '3', "
                       r"'4', \.\.\. \(10 in all\) are not classes of the model"):  # fmt: skip
        load_dataset("digits", class_names=("cat", "dog"))


# ---------------------------------------------------------------- headers, text, fields


def test_a_headerless_csv_keeps_its_first_row_and_says_so(tmp_path):
    labels = [0, 1] * 10
    path = labelled_csv(tmp_path / "plain.csv", labels, header=False)
    dataset = load_dataset(path)
    assert len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test) == 20
    assert re.search(r"plain\.csv has no header row \(its first line holds only data: 0\.0,0\.0,0"
                     r"\), so every line is read as data and the columns are numbered 1\.\.3",
                     dataset.notes[0])  # fmt: skip
    loaded = read_csv(path)
    np.testing.assert_array_equal(loaded.y, labels)
    np.testing.assert_array_equal(loaded.X[:, 0], np.arange(20.0))
    assert read_csv(path, label_column="1").X.shape == (20, 2)  # columns are named by number


def test_a_headerless_csv_with_text_labels_is_read_as_data(tmp_path):
    rows = [[5.1, 3.5, "setosa"], [7.0, 3.2, "versicolor"]] * 5
    loaded = read_csv(write_rows(tmp_path / "iris.data.csv", rows))
    assert loaded.X.shape == (10, 2) and loaded.class_names == ("setosa", "versicolor")
    assert "no header row" in loaded.notes[0]


def test_a_header_is_still_a_header(tmp_path):
    rows = [[5.1, 3.5, "setosa"], [7.0, 3.2, "versicolor"]] * 5
    loaded = read_csv(write_csv(tmp_path / "iris.csv", ["1st", "2nd", "species"], rows))
    assert loaded.X.shape == (10, 2) and loaded.notes == ()


def test_pandas_numbered_header_is_read_as_column_names(tmp_path):
    rows = [[0.5, 1.5, index % 2] for index in range(10)]
    loaded = read_csv(write_csv(tmp_path / "pd.csv", ["0", "1", "2"], rows))
    assert loaded.X.shape == (10, 2)
    assert re.search(r"its first line 0\.\.2 is read as column names \(pandas", loaded.notes[0])


def test_pandas_index_column_is_dropped_with_a_note(tmp_path):
    rows = [[index, 0.5 * index, 3.0, index % 2] for index in range(10)]
    loaded = read_csv(write_csv(tmp_path / "pd.csv", ["", "a", "b", "label"], rows))
    np.testing.assert_array_equal(loaded.X, [[0.5 * index, 3.0] for index in range(10)])
    assert re.search(r"its first column has no name and holds the row numbers 0\.\.\.9 \(the "
                     r"index pandas writes without index=False\), so it is dropped",
                     loaded.notes[0])  # fmt: skip
    rows[3][0] = 7  # not the row numbers: an unnamed feature like any other
    kept = read_csv(write_csv(tmp_path / "kept.csv", ["", "a", "b", "label"], rows))
    assert kept.X.shape == (10, 3) and kept.notes == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty; a CSV needs a header row and at least one data row"),
        (b"a,b,label\n\n", r"needs a header row and at least one data row; it has 1 line"),
        (b"a,b,label\n1,2,0\n" + b"9" * 200_000 + b",1,1\n",
         r"line 3 has a field longer than 131,072 characters \(the csv module's limit\)"),
        ("a,b,label\n1,2,caf\u00e9\n".encode("latin-1"),
         r"is not UTF-8 text \(byte 0xe9 on line 2\); save it as UTF-8"),
        (b"a,b\x00,label\n1,2,0\n", r"is a binary file \(it holds NUL bytes\), not CSV text"),
        (b"PK\x03\x04 zipped", r"is a zip archive \(a \.npz\?\), not CSV text"),
        (b"a;b;label\n1;2;0\n", r"has one column, its values separated by ';'; slopelab reads "
         r"comma-separated files"),
        (b"a\tb\tlabel\n1\t2\t0\n", r"its values separated by '\\t'"),
        (b"a,b,label\n1,2,0\n3,4,1,\n", r"row 2 has 4 values but the header has 3 columns"),
        (b"1,2,0\n3,4\n", r"row 2 has 2 values but the first line has 3 columns"),
        (b"a,b,label\n1,1e40,0\n", r"column 'b' in row 1 holds 1e40, too large for float32 "
         r"\(largest 3\.403e\+38\); rescale that column"),
        (b"a,b,label\n1,2,0\n1,-1e400,1\n", r"column 'b' in row 2 holds -1e400, too large for "),
        (b"a,b,label\n1,inf,0\n", r"column 'b' in row 1 is NaN or infinite"),
        (b"1,2,0\n1,x,1\n", r"column 2 in row 2 holds 'x', which is not a number"),
    ],
)  # fmt: skip
def test_bad_csv_text_is_one_data_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as raised:
        load_dataset(path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-8"])
def test_csv_in_utf8_with_or_without_bom_and_utf16_reads_the_same(tmp_path, encoding):
    text = "größe,breite,label\n1,2,kätzchen\n3,4,hund\n5,6,kätzchen\n7,8,hund\n"
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    loaded = read_csv(path)
    assert loaded.class_names == ("hund", "kätzchen")
    np.testing.assert_array_equal(loaded.X, [[1, 2], [3, 4], [5, 6], [7, 8]])


def test_unreadable_csv_is_a_data_error(tmp_path, monkeypatch):
    path = labelled_csv(tmp_path / "locked.csv", [0, 1] * 5)
    refuse_opening(monkeypatch, path)
    with pytest.raises(DataError, match=r"cannot read .*locked\.csv: permission denied"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("header", "label_column", "expected"),
    [
        (["a", "Kind", "b"], "Kind", 1),
        (["a", "Kind", "b"], "kind", 1),
        (["a", "Kind", "b"], " KIND ", 1),
        (["kind", "Kind", "b"], "Kind", 1),  # the exact name wins over another letter case
    ],
)
def test_label_column_matches_exactly_then_in_any_case(tmp_path, header, label_column, expected):
    rows = [[index, index % 2, index * 2] for index in range(10)]
    for row in rows:
        row[expected] = row[expected] % 2
    loaded = read_csv(write_csv(tmp_path / "t.csv", header, rows), label_column=label_column)
    assert loaded.X.shape == (10, 2)
    np.testing.assert_array_equal(loaded.y, np.arange(10) % 2)


def test_label_column_in_two_letter_cases_is_ambiguous(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["kind", "KIND", "b"], [[0, 1, 2]])
    with pytest.raises(DataError, match=r"several columns named 'Kind' in different letter case "
                       r"\(kind, KIND\); give the exact name"):  # fmt: skip
        read_csv(path, label_column="Kind")


def test_label_column_on_a_npz_is_refused(tmp_path):
    X, y = blobs(20, 2)
    np.savez(tmp_path / "a.npz", X=X, y=y)
    with pytest.raises(
        DataError,
        match=r"--label-column \(label_column in Python\) only "
        r"applies to \.csv files; .*a\.npz is a \.npz, whose labels are its array y",
    ):
        load_dataset(tmp_path / "a.npz", label_column="y")


# ------------------------------------------------- float32 range, reported where it is in a file


def test_npz_value_too_large_for_float32_names_its_index_before_shuffling(tmp_path):
    X, y = blobs(30, 2)
    X[17, 2] = 1e40
    np.savez(tmp_path / "big.npz", X=X, y=y)
    with pytest.raises(DataError, match=r"big\.npz: X contains 1e\+40 in row 17, column 2, too "
                       r"large for float32"):  # fmt: skip
        load_dataset(tmp_path / "big.npz", seed=5)


def test_csv_value_too_large_names_the_files_row_and_column(tmp_path):
    rows = [[float(index), index % 2] for index in range(30)]
    rows[20][0] = "3e39"
    path = write_csv(tmp_path / "big.csv", ["width", "label"], rows)
    with pytest.raises(DataError, match=r"big\.csv: column 'width' in row 21 holds 3e39, too "
                       r"large for float32"):  # fmt: skip
        load_dataset(path, seed=5)


# ------------------------------------------------------------------------ reading rows to predict


def test_read_features_drops_only_a_named_label_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "Label", "b"], [[1, 0, 2], [3, 1, 4]])
    rows = read_features(path)
    np.testing.assert_array_equal(rows.X, [[1, 2], [3, 4]])
    assert rows.columns == ("a", "b") and rows.X.dtype == np.float32
    unnamed = write_csv(tmp_path / "u.csv", ["a", "b", "kind"], [[1, 2, 0]])
    assert read_features(unnamed).columns == ("a", "b", "kind")
    assert read_features(unnamed, label_column="KIND").columns == ("a", "b")


def test_read_features_keeps_the_first_row_of_a_headerless_csv(tmp_path):
    path = write_rows(tmp_path / "rows.csv", [[1.5, 2.5], [3.5, 4.5], [5.5, 6.5]])
    rows = read_features(path)
    np.testing.assert_array_equal(rows.X, [[1.5, 2.5], [3.5, 4.5], [5.5, 6.5]])
    assert "no header row" in rows.notes[0]


# ---------------------------------------------------------------- properties of the file loaders

LABEL_SETS = st.one_of(
    st.lists(st.integers(-5, 10**12), min_size=2, max_size=6, unique=True),
    st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=2, max_size=6, unique=True),
)


@settings(max_examples=40, deadline=None)
@given(names=LABEL_SETS, picks=st.lists(st.integers(0, 5), min_size=20, max_size=40),
       header=st.booleans())  # fmt: skip
def test_csv_labels_round_trip_through_class_names(tmp_path_factory, names, picks, header):
    labels = [names[pick % len(names)] for pick in picks]
    if len(set(labels)) < 2:
        labels += names[:2]
    path = labelled_csv(tmp_path_factory.mktemp("csv") / "t.csv", labels, header=header)
    loaded = read_csv(path)
    assert [loaded.class_names[index] for index in loaded.y] == [str(label) for label in labels]
    assert len(loaded.class_names) == len(set(labels)) <= len(labels)  # never sized by value
    model_names = tuple(sorted(str(name) for name in names))[::-1]  # any order, a superset
    mapped = read_csv(path, class_names=model_names)
    assert [model_names[index] for index in mapped.y] == [str(label) for label in labels]


@settings(max_examples=80, deadline=None)
@given(
    X=hnp.arrays(
        st.sampled_from([np.float16, np.float32, np.float64, np.int64, np.uint8]),
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=12),
    ),
    y=hnp.arrays(
        st.sampled_from([np.int64, np.uint64, np.float64, np.dtype("<U3")]),
        st.tuples(st.integers(0, 12), st.sampled_from([(), (1,), (2,)])).map(
            lambda shape: (shape[0], *shape[1])
        ),
    ),
)
def test_any_npz_loads_as_a_valid_dataset_or_raises_one_data_error(tmp_path_factory, X, y):
    path = tmp_path_factory.mktemp("npz") / "any.npz"
    np.savez(path, X=X, y=y)
    try:
        dataset = load_dataset(path)
    except DataError as error:
        assert "\n" not in str(error)
        return
    splits = [(dataset.X_train, dataset.y_train), (dataset.X_val, dataset.y_val),
              (dataset.X_test, dataset.y_test)]  # fmt: skip
    assert sum(len(labels) for _, labels in splits) == len(y)
    for features, labels in splits:
        assert features.dtype == np.float32 and np.isfinite(features).all()
        assert labels.min() >= 0 and labels.max() < dataset.num_classes <= len(y)
    held_out = set(dataset.y_val.tolist()) | set(dataset.y_test.tolist())
    assert held_out <= set(dataset.y_train.tolist())  # no class the model never saw


CSV_TEXT = st.text(alphabet=st.sampled_from(list('0123456789.,-e\n" abnif;\t\r')), max_size=200)


@settings(max_examples=150, deadline=None)
@given(content=st.one_of(CSV_TEXT.map(str.encode), st.binary(max_size=200)))
def test_any_csv_bytes_load_or_raise_one_data_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("csv") / "any.csv"
    path.write_bytes(content)
    try:
        dataset = load_dataset(path)
    except DataError as error:
        assert "\n" not in str(error)
        return
    assert np.isfinite(dataset.X_train).all() and dataset.num_classes >= 2
    try:
        rows = read_features(path)
    except DataError:
        return
    assert rows.X.dtype == np.float32 and np.isfinite(rows.X).all()


# ------------------------------------------------------------ sizes: empty, tiny, carved away


def npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


ROWS20 = {"X": np.arange(40.0).reshape(20, 2), "y": np.arange(20) % 2}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.zeros((0, 3)), "y": np.zeros(0, dtype=np.int64)}, r"X is empty: it has 0 rows"),
        ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, r"X is empty: it has 0 rows"),
        ({"X": np.zeros((0, 3)), "y": np.zeros(0, dtype="<U2")}, r"X is empty: it has 0 rows"),
        ({"X": np.zeros((0, 0)), "y": np.zeros(0)}, r"X is empty: it has 0 rows"),
        ({"X": np.zeros((5, 0)), "y": np.arange(5) % 2}, r"X has 0 features \(shape \(5, 0\)\)"),
        ({**ROWS20, "X_val": np.zeros((0, 2)), "y_val": np.zeros(0, dtype=np.int64)},
         r"X_val is empty: it has 0 rows"),
        ({**ROWS20, "X_test": np.zeros((0, 2)), "y_test": np.zeros(0)},
         r"X_test is empty: it has 0 rows"),
        ({**ROWS20, "X_val": np.zeros((2, 0)), "y_val": np.zeros(2)}, r"X_val has 0 features"),
        ({**ROWS20, "X_val": np.zeros((3, 2)), "y_val": np.zeros(2)},
         r"X_val has 3 rows but y_val has 2 labels"),
        ({**ROWS20, "X_val": np.zeros((2, 3)), "y_val": np.arange(2)},
         r"the splits have different numbers of features \(train 2, val 3, test 2\)"),
        ({"X": np.ones((1, 3)), "y": np.array([0])}, r"has 1 example: too few for 1 test example "
         r"\(the default\) and 1 validation example \(the default\) plus at least 1 for training"),
        ({"X": np.ones((2, 3)), "y": np.array([0, 1])}, r"has 2 examples: too few for 1 test "
         r"example \(the default\) and 1 validation example"),
        ({"X": np.ones((1, 3)), "y": np.array([0]), "X_val": np.ones((1, 3)), "y_val": [1],
          "X_test": np.ones((1, 3)), "y_test": [1]},
         r"class '1' has 1 example in the val split \(given\) but none in the training split"),
    ],
)  # fmt: skip
def test_empty_and_tiny_splits_are_data_errors_in_every_loader(tmp_path, arrays, message):
    path = npz(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(path)


def test_a_npz_of_0_rows_to_predict_is_a_data_error(tmp_path):
    path = npz(tmp_path / "rows.npz", X=np.zeros((0, 4)))
    with pytest.raises(DataError, match=r"rows\.npz: X is empty: it has 0 rows"):
        read_features(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_test": 1_000_000}, r"has 20 examples: too few for --num-test 1000000 "
         r"\(num_test=1000000 in Python\) plus at least 1 for training; add rows, or pass a "
         r"smaller --num-val/--num-test \(num_val/num_test in Python\), or give X_val/y_val"),
        ({"num_val": 10, "num_test": 10}, r"too few for --num-test 10 \(num_test=10 in Python\) "
         r"and --num-val 10 \(num_val=10 in Python\) plus"),
        ({"num_val": 19}, r"too few for 2 test examples \(the default\) and --num-val 19 "
         r"\(num_val=19 in Python\) plus"),
        ({"num_train": 50}, r"--num-train 50 \(num_train=50 in Python\) but .*d\.npz has only "
         r"16 examples; ask for at most 16"),
    ],
)  # fmt: skip
def test_every_split_size_message_shows_the_sizes_asked_for(tmp_path, options, message):
    with pytest.raises(DataError, match=message):
        load_dataset(npz(tmp_path / "d.npz", **ROWS20), **options)


def test_a_csv_is_never_told_to_give_arrays(tmp_path):
    path = write_csv(tmp_path / "two.csv", ["a", "label"], [[1, 0], [2, 1]])
    message = r"two\.csv has 2 examples: too few .* add rows, or pass a smaller "
    message += r"--num-val/--num-test \(num_val/num_test in Python\)$"
    with pytest.raises(DataError, match=message):
        load_dataset(path)


# ------------------------------------------------------- classes the training split never sees


def test_a_test_split_with_a_class_the_training_split_lacks_is_refused(tmp_path):
    X, y = blobs(100, 10)
    train = y != 9  # the training split has no 9
    path = npz(tmp_path / "splits.npz", X=X[train], y=y[train], X_val=X[:20], y_val=y[:20] % 9,
               X_test=X, y_test=y)  # fmt: skip
    with pytest.raises(
        DataError,
        match=r"splits\.npz: class '9' has 10 examples in the test "
        r"split \(given\) but none in the training split; a classifier cannot learn "
        r"a class it never sees: add training examples of it, or drop its rows",
    ):
        load_dataset(path)  # fmt: skip


def test_a_class_carved_out_of_the_training_split_is_refused(tmp_path):
    path = write_csv(tmp_path / "three.csv", ["a", "label"], [[1, "x"], [2, "y"], [3, "z"]])
    with pytest.raises(
        DataError,
        match=r"three\.csv: class '.' has 1 example in the (test|val) "
        r"split \(carved from the file's rows\) but none in the training split",
    ):
        load_dataset(path)  # fmt: skip


def test_a_class_missing_only_because_of_num_train_gets_a_note(tmp_path):
    X, y = blobs(100, 4)
    path = npz(tmp_path / "d.npz", X=X, y=y)
    dataset = load_dataset(path, num_train=2, seed=1)
    absent = sorted(set(range(4)) - set(dataset.y_train.tolist()))
    assert absent  # 2 training rows cannot hold 4 classes
    note = [text for text in dataset.notes if "has no example of" in text]
    assert (
        len(note) == 1 and "a larger --num-train (num_train in Python) may include them" in note[0]
    )
    assert all(f"'{index}'" in note[0] for index in absent)


def test_class_names_no_row_has_get_a_note(tmp_path):
    X, y = blobs(40, 2)
    path = npz(tmp_path / "d.npz", X=X, y=y, class_names=np.array(["cat", "dog", "emu"]))
    dataset = load_dataset(path)
    assert dataset.class_names == ("cat", "dog", "emu")
    assert any(
        "no split has an example of class 'emu'; the model has a column for them but never "
        "learns them" in note
        for note in dataset.notes
    )


def test_evaluating_data_with_few_classes_is_not_refused_or_noted(tmp_path):
    X, y = blobs(40, 2)
    path = npz(tmp_path / "d.npz", X=X, y=y)
    dataset = load_dataset(path, class_names=("0", "1", "2"))
    assert dataset.notes == ()


# ------------------------------------------------------------------------------ fingerprints


def test_a_loaded_file_records_its_sha256(tmp_path):
    import hashlib

    path = npz(tmp_path / "d.npz", **ROWS20)
    dataset = load_dataset(path)
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_dataset("toy2d").sha256 is None
