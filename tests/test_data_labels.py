"""Label rules are the same for a CSV column and a ``.npz`` array: one kind per file, a column
vector is a vector, and a message only suggests choosing a column where there are columns."""

from __future__ import annotations

import numpy as np
import pytest

from slopelab.data import DataError, load_dataset
from slopelab.data.labels import number_labels


def csv_with_labels(tmp_path, labels: list[str]):
    rows = "".join(f"{index},{index % 3},{label}\n" for index, label in enumerate(labels))
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + rows)
    return path


def npz_with_labels(tmp_path, y):
    path = tmp_path / "t.npz"
    X = np.arange(2.0 * len(y)).reshape(len(y), 2)
    np.savez(path, X=X, y=y)
    return path


MIXED = [
    ["0", "1", "True"] * 10,
    ["cat", "dog", "3"] * 10,
    ["1", "2", "nan?"] * 10,
    ["1", "2", "1_000"] * 10,  # 1_000 is text (see number_text), so this mixes too
]


@pytest.mark.parametrize("labels", MIXED)
def test_a_mix_of_number_and_text_labels_is_refused_in_csv_and_npz_alike(tmp_path, labels):
    message = r"the labels mix numbers and text \(row \d+ holds '.*', row \d+ holds '.*'\); use "
    message += r"one kind: all whole numbers or all class names"
    with pytest.raises(DataError, match=message):
        load_dataset(csv_with_labels(tmp_path, labels))
    with pytest.raises(DataError, match=message.replace("the labels", "the y labels")):
        load_dataset(npz_with_labels(tmp_path, np.array(labels)))


def test_a_mixed_label_is_named_at_its_csv_row(tmp_path):
    labels = ["0", "1"] * 10 + ["True"]
    with pytest.raises(DataError, match=r"row 1 holds '0', row 21 holds 'True'"):
        load_dataset(csv_with_labels(tmp_path, labels))


@pytest.mark.parametrize(
    "labels",
    [["cat", "dog"] * 10, ["1", "2"] * 10, ["1.0", "2"] * 10, ["0x1", "0x2"] * 10],
)
def test_one_kind_of_label_reads_the_same_from_csv_and_npz(tmp_path, labels):
    from_csv = load_dataset(csv_with_labels(tmp_path, labels))
    from_npz = load_dataset(npz_with_labels(tmp_path, np.array(labels)))
    assert from_csv.class_names == from_npz.class_names


@pytest.mark.parametrize("y", [np.arange(30) % 3, np.array(["a", "b", "c"] * 10)])
def test_a_column_vector_of_labels_is_read_as_a_vector(tmp_path, y):
    flat = load_dataset(npz_with_labels(tmp_path, y), seed=2)
    column = load_dataset(npz_with_labels(tmp_path, y.reshape(-1, 1)), seed=2)
    assert column.class_names == flat.class_names
    for name in ("y_train", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(column, name), getattr(flat, name))


def test_column_vectors_in_every_split_and_other_shapes_refused(tmp_path):
    X = np.arange(40.0).reshape(20, 2)
    y = (np.arange(20) % 2).reshape(-1, 1)
    path = tmp_path / "s.npz"
    np.savez(path, X=X, y=y, X_val=X[:4], y_val=y[:4], X_test=X[:4], y_test=y[:4])
    dataset = load_dataset(path)
    np.testing.assert_array_equal(dataset.y_val, [0, 1, 0, 1])
    for bad in (np.zeros((20, 2)), np.zeros((1, 20)), np.zeros((20, 1, 1)), np.int64(3)):
        np.savez(path, X=X, y=bad)
        with pytest.raises(DataError, match=r"y must be 1-D \(N,\) or a column \(N, 1\), one "):
            load_dataset(path)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([0.5, 1.5] * 10), r"hold numbers with a fraction, such as 0\.5 in row 0 \(2 "
         r"distinct values\): a classifier needs class labels \(whole numbers or text\); a "
         r"regression target must be binned into classes first$"),
        (np.arange(1500), r"take 1500 distinct values, more classes than the 1000 slopelab "
         r"handles; do they hold one class label per row\?$"),
    ],
)  # fmt: skip
def test_a_npz_is_never_told_to_choose_a_column(tmp_path, y, message):
    with pytest.raises(DataError, match=message) as error:
        load_dataset(npz_with_labels(tmp_path, y))
    assert "column" not in str(error.value)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["0.5", "1.5"] * 10, r"if another column holds the classes, choose it with "
         r"--label-column \(label_column in Python\); a regression target"),
        ([str(index) for index in range(1500)], r"is this the label column\? \(if another column "
         r"holds the classes, choose it with --label-column \(label_column in Python\)\)$"),
    ],
)  # fmt: skip
def test_a_csv_is_told_to_choose_another_column_by_both_spellings(tmp_path, labels, message):
    with pytest.raises(DataError, match=message):
        load_dataset(csv_with_labels(tmp_path, labels))


@pytest.mark.parametrize("y", [np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype="<U3")])
def test_no_labels_at_all_is_a_data_error_not_an_index_error(y):
    with pytest.raises(DataError, match=r"f: the labels are empty \(0 rows\); need at least 1"):
        number_labels({"train": y}, where="f", describe=lambda _: "the labels")
