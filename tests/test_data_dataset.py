"""The Dataset container: validation at construction, image layout, and how splits are carved."""

from __future__ import annotations

import numpy as np
import pytest

from slopelab.data import DataError, row_to_image, rows_to_images
from slopelab.data.dataset import make_dataset, shuffle_split, tail_split
from slopelab.data.errors import DataError as DataErrorFromModule
from slopelab.data.errors import reported_as
from slopelab.errors import InvalidValueError

X = np.arange(24.0).reshape(6, 4)
Y = np.array([0, 1, 0, 1, 0, 1])


def build(**changes):
    arguments = {
        "train": (X, Y),
        "val": (X[:2], Y[:2]),
        "test": (X[:3], Y[:3]),
        "class_names": ("a", "b"),
        "image_shape": (2, 2, 1),
        "source": "here",
        "default_preprocess": "center",
    }
    arguments.update(changes)
    return make_dataset("toy", **arguments)


def test_make_dataset_converts_to_float32_and_int64():
    dataset = build(train=(X.astype(np.uint8), Y.astype(np.uint8)))
    assert dataset.X_train.dtype == np.float32 and dataset.X_train.flags.c_contiguous
    assert dataset.y_train.dtype == np.int64
    assert dataset.num_classes == 2 and dataset.num_features == 4
    assert dataset.summary() == "toy: 6 train / 2 val / 3 test, 4 features (2x2x1), 2 classes"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"val": (np.array([[1.0, np.inf, 0, 0]]), [0])},
         r"^toy \(here\): X_val contains NaN or infinity in row 0, column 1"),
        ({"test": (X[:3], [0, 2, 1])},
         r"^toy \(here\): y_test contains label 2 but there are only 2 classes"),
        ({"test": (X[:3], [0, 1])}, r"X has 3 rows but y_test has 2 labels"),
        ({"val": (X[:2, :3], Y[:2])}, r"different numbers of features \(train 4, val 3, test 4\)"),
        ({"image_shape": (3, 3, 1)}, r"image shape \(3, 3, 1\) holds 9 values but rows have 4"),
        ({"class_names": ("only",), "train": (X, np.zeros(6))}, r"has 1 class; a classifier "),
        ({"default_preprocess": "whiten"}, r"unknown default_preprocess 'whiten'"),
    ],
)  # fmt: skip
def test_make_dataset_rejects_bad_splits_in_one_line(changes, message):
    with pytest.raises(DataError, match=message) as raised:
        build(**changes)
    assert "\n" not in str(raised.value)


def test_data_error_is_a_value_error_on_one_line():
    assert DataError is DataErrorFromModule and issubclass(DataError, ValueError)
    assert str(DataError("first line\n   second  line")) == "first line second line"
    with pytest.raises(DataError, match=r"^ctx: X must be"), reported_as("ctx"):
        raise InvalidValueError("X must be\nsomething")
    # A plain ValueError is a bug, not bad input: it must not be dressed up as a data error.
    with pytest.raises(ValueError, match="internal") as raised, reported_as("ctx"):
        raise ValueError("internal")
    assert not isinstance(raised.value, DataError)


def test_row_to_image_reads_channel_major_rows():
    image = np.arange(2 * 3 * 3).reshape(2, 3, 3)  # (H, W, C)
    row = image.transpose(2, 0, 1).ravel()  # channel planes one after another
    np.testing.assert_array_equal(row_to_image(row, (2, 3, 3)), image)
    np.testing.assert_array_equal(rows_to_images(np.stack([row, row]), (2, 3, 3))[1], image)


def test_tail_split_takes_validation_from_the_end():
    (X_train, _), (X_val, _) = tail_split((X, Y), None, 2, "toy")
    np.testing.assert_array_equal(X_val, X[4:])
    np.testing.assert_array_equal(X_train, X[:4])
    (X_train, _), _ = tail_split((X, Y), 3, 2, "toy")
    np.testing.assert_array_equal(X_train, X[:3])


def test_shuffle_split_falls_back_to_plain_shuffling_for_tiny_classes():
    y = np.array([0] * 9 + [1])  # class 1 has one example: stratification is impossible
    X_ten = np.arange(10.0)[:, None]
    train, val, test = shuffle_split((X_ten, y), None, 2, 2, 0, "tiny")
    assert (len(train[1]), len(val[1]), len(test[1])) == (6, 2, 2)
    everything = np.sort(np.concatenate([train[0], val[0], test[0]]).ravel())
    np.testing.assert_array_equal(everything, np.arange(10.0))
