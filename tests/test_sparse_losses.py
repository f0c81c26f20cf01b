"""Sparse X in the losses, the linear model and the gradient checker: the same numbers as dense X.

The dense twin of every sparse matrix here is built independently from its (row, column, value)
triplets, so the comparison never trusts scipy's own ``toarray``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import check_gradient, get_loss
from slopelab.linear import accuracy, class_scores, predict_classes

LOSSES = ["svm", "svm-ova", "svm-structured", "softmax"]
KINDS = [scipy.sparse.csr_array, scipy.sparse.csr_matrix, scipy.sparse.csc_array,
         scipy.sparse.coo_matrix]  # fmt: skip


def sparse_and_dense(shape, density, rng, dtype=np.float64, kind=scipy.sparse.csr_array):
    """A random sparse matrix of ``kind`` and its dense twin, filled from the same triplets."""
    mask = rng.random(shape) < density
    rows, columns = np.nonzero(mask)
    values = rng.standard_normal(len(rows)).astype(dtype)
    dense = np.zeros(shape, dtype=dtype)
    dense[rows, columns] = values
    coo = scipy.sparse.coo_array((values, (rows, columns)), shape=shape)
    return kind(coo), dense


def random_params(num_features, num_classes, rng, dtype=np.float64):
    return {
        "W": rng.standard_normal((num_features, num_classes)).astype(dtype),
        "b": rng.standard_normal(num_classes).astype(dtype),
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", LOSSES)
def test_sparse_loss_and_gradient_equal_dense_in_float64(name, kind):
    rng = np.random.default_rng(0)
    X_sparse, X_dense = sparse_and_dense((120, 40), 0.1, rng, kind=kind)
    y = rng.integers(0, 5, 120)
    params = random_params(40, 5, rng)
    loss = get_loss(name)
    sparse_loss, sparse_grads = loss(params, X_sparse, y, reg=0.3)
    dense_loss, dense_grads = loss(params, X_dense, y, reg=0.3)
    assert abs(sparse_loss - dense_loss) <= 1e-12 * max(1.0, abs(dense_loss))
    for key in ("W", "b"):
        assert type(sparse_grads[key]) is np.ndarray and sparse_grads[key].dtype == np.float64
        np.testing.assert_allclose(sparse_grads[key], dense_grads[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_sparse_float32_stays_float32_and_matches_dense_float32(name):
    rng = np.random.default_rng(1)
    X_sparse, X_dense = sparse_and_dense((200, 30), 0.2, rng, dtype=np.float32)
    y = rng.integers(0, 4, 200)
    params = random_params(30, 4, rng, dtype=np.float32)
    loss = get_loss(name)
    sparse_parts = loss.parts(params, X_sparse, y, 0.1)
    dense_parts = loss.parts(params, X_dense, y, 0.1)
    assert sparse_parts.scores.dtype == np.float32
    assert sparse_parts.grads["W"].dtype == np.float32
    np.testing.assert_allclose(sparse_parts.total, dense_parts.total, rtol=1e-5)
    np.testing.assert_allclose(sparse_parts.grads["W"], dense_parts.grads["W"], atol=1e-5)
    np.testing.assert_allclose(sparse_parts.scores, dense_parts.scores, atol=1e-5)


def sparse_data():
    """Small sparse problems with any pattern: empty rows, empty columns, all-zero X."""

    @st.composite
    def build(draw):
        num_rows = draw(st.integers(1, 12))
        num_columns = draw(st.integers(1, 9))
        num_classes = draw(st.integers(2, 5))
        seed = draw(st.integers(0, 2**32 - 1))
        density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
        empty_row = draw(st.integers(0, num_rows - 1))
        empty_column = draw(st.integers(0, num_columns - 1))
        return num_rows, num_columns, num_classes, seed, density, empty_row, empty_column

    return build()


@settings(max_examples=150, deadline=None)
@given(case=sparse_data(), name=st.sampled_from(LOSSES), reg=st.sampled_from([0.0, 0.5]))
def test_any_sparsity_pattern_gives_the_dense_loss_and_gradient(case, name, reg):
    num_rows, num_columns, num_classes, seed, density, empty_row, empty_column = case
    rng = np.random.default_rng(seed)
    mask = rng.random((num_rows, num_columns)) < density
    mask[empty_row, :] = False
    mask[:, empty_column] = False
    dense = np.where(mask, rng.standard_normal(mask.shape), 0.0)
    rows, columns = np.nonzero(mask)
    sparse = scipy.sparse.csr_array(
        (dense[rows, columns], (rows, columns)), shape=(num_rows, num_columns)
    )
    y = rng.integers(0, num_classes, num_rows)
    params = random_params(num_columns, num_classes, rng)
    loss = get_loss(name)
    sparse_loss, sparse_grads = loss(params, sparse, y, reg)
    dense_loss, dense_grads = loss(params, dense, y, reg)
    np.testing.assert_allclose(sparse_loss, dense_loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sparse_grads["W"], dense_grads["W"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sparse_grads["b"], dense_grads["b"], rtol=1e-12, atol=1e-12)
    assert not sparse_grads["W"][empty_column].any() or reg > 0  # an empty column: no data term
    sparse_losses, _ = loss.example_losses(params, sparse, y)
    dense_losses, _ = loss.example_losses(params, dense, y)
    np.testing.assert_allclose(sparse_losses, dense_losses, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_scores_predictions_and_accuracy_on_sparse_rows(kind):
    rng = np.random.default_rng(2)
    X_sparse, X_dense = sparse_and_dense((50, 20), 0.3, rng, kind=kind)
    y = rng.integers(0, 3, 50)
    params = random_params(20, 3, rng)
    X_csr = scipy.sparse.csr_array(X_sparse)
    scores = class_scores(params, X_csr)
    assert type(scores) is np.ndarray
    np.testing.assert_allclose(scores, X_dense @ params["W"] + params["b"], rtol=1e-12)
    np.testing.assert_array_equal(predict_classes(params, X_csr), predict_classes(params, X_dense))
    assert accuracy(params, X_csr, y) == accuracy(params, X_dense, y)


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_check_passes_on_sparse_x(name):
    rng = np.random.default_rng(3)
    X_sparse, _ = sparse_and_dense((60, 15), 0.2, rng)
    y = rng.integers(0, 4, 60)
    params = random_params(15, 4, rng)
    loss = get_loss(name)
    report = check_gradient(lambda p: loss(p, X_sparse, y, 0.1), params, num_checks=8, rng=rng)
    assert report.passed, report


def test_the_gradient_checker_keeps_parameters_dense():
    sparse_weights = scipy.sparse.csr_array(np.eye(2))
    with pytest.raises(TypeError, match=r"^params\['W'\] must be an array of real numbers"):
        check_gradient(lambda p: (0.0, p), {"W": sparse_weights})
    with pytest.raises(TypeError, match=r"^grads\['W'\] must be real numbers shaped like params"):
        check_gradient(lambda p: (0.0, {"W": sparse_weights}), {"W": np.eye(2)})
