"""Shared input validation: every message names the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest

from slopelab.validation import (
    check_choice,
    check_dataset,
    check_features,
    check_labels,
    check_params,
    check_positive,
)


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (
            [1.0, 2.0],
            ValueError,
            r"X must be a 2-D array of shape \(N, D\), one row per example; "
            r"got 1-D shape \(2,\) \(reshape a single example",
        ),
        (np.ones((2, 2, 2)), ValueError, r"got 3-D shape \(2, 2, 2\)"),
        (np.ones((0, 3)), ValueError, r"X is empty: it has 0 rows; need at least 1 example"),
        (np.ones((3, 0)), ValueError, r"X has 0 features"),
        ([["a", "b"]], TypeError, r"X must be numeric \(int or float\); got dtype <U1"),
        (np.array([[1 + 1j]]), TypeError, r"X must be real numbers; got complex"),
        ([[1.0], [np.inf]], ValueError, r"X contains NaN or infinity in row 1, column 0"),
        ([[1.0, 2.0], [3.0]], ValueError, r"X could not be read as an array"),
        (None, TypeError, r"X must be an array of numbers; got None"),
        (np.array([[1, {"a": 1}]], dtype=object), TypeError, r"dtype object holding non-numbers"),
    ],
)
def test_bad_features(X, error, message):
    with pytest.raises(error, match=message):
        check_features(X)


def test_features_keep_float32_and_upcast_ints():
    assert check_features(np.ones((2, 2), np.float32)).dtype == np.float32
    assert check_features(np.ones((2, 2), np.int8)).dtype == np.float64
    assert check_features(np.ones((2, 2), np.float16)).dtype == np.float64
    assert check_features(np.ones((2, 2), object)).dtype == np.float64


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [
        (
            [0, 12],
            {"num_classes": 10},
            r"y contains label 12 but there are only 10 classes; labels must be in \[0, 10\)",
        ),
        ([0, -1], {}, r"y contains label -1; labels must be non-negative integers"),
        ([0, 1], {"num_examples": 3}, r"X has 3 rows but y has 2 labels"),
        ([[0, 1], [1, 0]], {}, r"y must be a 1-D array of shape \(N,\)"),
        ([0.5, 1.0], {}, r"y must hold integer class labels; got non-integer values"),
        ([], {}, r"y is empty"),
        ([0.0, np.nan], {}, r"y contains NaN or infinity in row 1"),
    ],
)
def test_bad_labels(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_labels(y, **kwargs)


def test_labels_accept_integral_floats_and_column_vectors():
    np.testing.assert_array_equal(check_labels([1.0, 2.0]), [1, 2])
    np.testing.assert_array_equal(check_labels([[1], [0]]), [1, 0])


def test_dataset_checks_both():
    X, y = check_dataset([[1, 2], [3, 4]], [0, 1])
    assert X.shape == (2, 2) and y.dtype == np.int64
    with pytest.raises(ValueError, match=r"X has 2 rows but y has 1 labels"):
        check_dataset([[1, 2], [3, 4]], [0])


@pytest.mark.parametrize(
    ("params", "kwargs", "message"),
    [
        ({"W": np.ones(3), "b": np.ones(3)}, {}, r"params\['W'\] must be 2-D of shape \(D, C\)"),
        ({"W": np.ones((2, 3)), "b": np.ones(2)}, {}, r"params\['b'\] must have shape \(3,\)"),
        (
            {"W": np.ones((2, 3)), "b": np.ones(3)},
            {"num_features": 4},
            r"params\['W'\] has 2 rows but X has 4 features",
        ),
        (
            {"W": np.ones((2, 3)), "b": np.ones(3)},
            {"num_classes": 5},
            r"params\['W'\] has 3 columns \(classes\) but y has labels up to 4",
        ),
        (
            {"W": np.full((2, 3), np.nan), "b": np.ones(3)},
            {},
            r"params\['W'\] contains NaN or infinity in row 0",
        ),
        ([1, 2], {}, r'params must be a dict with keys "W" \(D, C\) and "b" \(C,\)'),
    ],
)
def test_bad_params(params, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_params(params, **kwargs)


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "message"),
    [
        (0, {}, ValueError, r"learning_rate must be > 0; got 0"),
        (-1e-3, {"allow_zero": True}, ValueError, r"learning_rate must be >= 0; got -0.001"),
        (float("nan"), {}, ValueError, r"learning_rate must be > 0; got nan"),
        ("0.1", {}, TypeError, r"learning_rate must be a number; got '0.1' \(str\)"),
        (True, {}, TypeError, r"learning_rate must be a number; got True"),
        (2.5, {"integer": True}, TypeError, r"learning_rate must be an integer; got 2.5"),
    ],
)
def test_bad_positive_numbers(value, kwargs, error, message):
    with pytest.raises(error, match=message):
        check_positive(value, "learning_rate", **kwargs)


def test_choice_lists_the_valid_ones():
    assert check_choice("b", "letter", ["a", "b"]) == "b"
    with pytest.raises(ValueError, match=r"unknown letter 'c'; valid choices are 'a', 'b'"):
        check_choice("c", "letter", ["a", "b"])
