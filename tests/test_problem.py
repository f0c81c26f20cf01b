"""make_problem, the boundary of every strategy: validation, class count, accuracies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slopelab.linear import accuracy
from slopelab.losses import get_loss
from slopelab.problem import Problem, make_problem
from tests.helpers import blobs


def test_loss_names_become_losses_with_the_penalty():
    X, y = blobs()
    problem = make_problem("svm-ova", X, y, penalty="l1")
    assert problem.loss.name == "svm-ova" and problem.loss.penalty_name == "l1"
    loss = get_loss("softmax", "none")
    assert make_problem(loss, X, y).loss is loss


def test_num_classes_is_one_more_than_the_largest_label_of_either_split():
    X, y = blobs(num_classes=3)
    assert make_problem("softmax", X, y).num_classes == 3
    assert make_problem("softmax", X, y, X[:2], [0, 6]).num_classes == 7
    assert make_problem("softmax", X[:4], [1, 1, 4, 1]).num_classes == 5  # unseen 0, 2, 3 count


def test_data_is_validated_and_converted():
    problem = make_problem("softmax", [[1, 2], [3, 4]], [0.0, 1.0], [[5, 6]], [[1]])
    assert problem.X.dtype == np.float64 and problem.y.dtype == np.int64
    assert problem.X_val.shape == (1, 2) and problem.y_val.tolist() == [1]
    assert problem.num_examples == 2


def test_the_validation_split_takes_the_dtype_of_the_training_data():
    X, y = blobs()
    problem = make_problem("softmax", X.astype(np.float32), y, X[:5], y[:5])
    assert problem.X_val.dtype == np.float32


@pytest.mark.parametrize(
    ("X_val", "y_val", "message"),
    [
        (np.ones((3, 2)), None, r"X_val and y_val must be given together \(or neither\)"),
        (None, [0, 1], r"X_val and y_val must be given together"),
        (np.ones((3, 5)), [0, 1, 2], r"X_val has 5 features but X has 2; they must match"),
        ([[np.nan, 1.0]], [0], r"X_val contains NaN or infinity in row 0, column 0"),
        (np.ones((2, 2)), [0], r"X_val has 2 rows but y_val has 1 labels"),
        (np.ones((1, 2)), [-1], r"y_val contains label -1; labels must be non-negative"),
        (np.ones((1, 2)), [0.5], r"y_val must hold integer class labels"),
        (np.ones(2), [0], r"X_val must be a 2-D array of shape \(N, D\)"),
    ],
)
def test_a_bad_validation_split_is_named_as_such(X_val, y_val, message):
    X, y = blobs()
    with pytest.raises(ValueError, match=message):
        make_problem("softmax", X, y, X_val, y_val)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        ([[1.0, np.inf]], [0], r"X contains NaN or infinity in row 0, column 1"),
        (np.ones((2, 2)), [0, 1, 2], r"X has 2 rows but y has 3 labels"),
        (np.ones((0, 2)), [], r"X is empty"),
    ],
)
def test_bad_training_data_has_clear_errors(X, y, message):
    with pytest.raises(ValueError, match=message):
        make_problem("softmax", X, y)


def test_unknown_loss_or_penalty():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'"):
        make_problem("hinge", X, y)
    with pytest.raises(ValueError, match=r"unknown penalty 'l3'"):
        make_problem("svm", X, y, penalty="l3")


def test_accuracies_are_train_and_validation_accuracy():
    X, y = blobs(num_classes=3)
    params = {"W": np.random.default_rng(0).standard_normal((2, 3)), "b": np.zeros(3)}
    with_split = make_problem("softmax", X[:90], y[:90], X[90:], y[90:])
    assert with_split.accuracies(params) == (
        accuracy(params, X[:90], y[:90]),
        accuracy(params, X[90:], y[90:]),
    )
    train, val = Problem(get_loss("softmax"), X, y).accuracies(params)
    assert train == accuracy(params, X, y) and math.isnan(val)
