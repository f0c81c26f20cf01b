"""Preprocessing sparse data: never centered (it would densify), max-abs scaling or none."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from slopelab.data import DataError, Preprocessor
from slopelab.data.preprocess import SPARSE_AUTO_NOTE, SPARSE_AUTO_PREPROCESS
from slopelab.errors import InvalidValueError
from slopelab.model import SavedModel
from tests.test_sparse_training import refuse_densifying

X_TRAIN = scipy.sparse.csr_array(np.array([[0.0, -8.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 4.0]]))
X_VAL = scipy.sparse.csc_array(np.array([[16.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))


def test_scale_divides_the_stored_values_by_the_largest_training_magnitude(monkeypatch):
    refuse_densifying(monkeypatch)
    preprocessor = Preprocessor("scale").fit(X_TRAIN)
    np.testing.assert_array_equal(preprocessor.mean_, 0.0)
    np.testing.assert_array_equal(preprocessor.scale_, 8.0)
    out = preprocessor.transform(X_VAL)  # validation rows use the training scale
    assert out.format == "csr" and out.dtype == np.float32 and out.nnz == 1
    np.testing.assert_array_equal(out.indices, [0])
    np.testing.assert_array_equal(out.data, [2.0])
    assert X_VAL.data[0] == 16.0  # the caller's matrix is left alone
    train = preprocessor.transform_in_place(X_TRAIN)
    np.testing.assert_array_equal(train.data, [-1.0, 0.25, 0.5])
    assert X_TRAIN.data[0] == -8.0


def test_none_keeps_the_values_and_float64_when_asked():
    out = Preprocessor("none").fit(X_TRAIN).transform(X_TRAIN, dtype=np.float64)
    assert out.dtype == np.float64 and out is not X_TRAIN
    np.testing.assert_array_equal(out.data, X_TRAIN.data)


def test_all_zero_sparse_data_gets_scale_one():
    empty = scipy.sparse.csr_array((4, 3))
    preprocessor = Preprocessor("scale").fit(empty)
    np.testing.assert_array_equal(preprocessor.scale_, 1.0)
    assert preprocessor.transform(empty).nnz == 0


@pytest.mark.parametrize("kind", ["center", "standardize"])
def test_centering_sparse_data_is_refused_with_the_fix(kind):
    message = (
        rf"^preprocess '{kind}' centers the features, which would make sparse data dense; use "
        r"'scale' \(divide by the largest absolute value\) or 'none' for sparse data$"
    )
    with pytest.raises(DataError, match=message):
        Preprocessor(kind).fit(X_TRAIN)
    dense_fitted = Preprocessor(kind).fit(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    fitted_message = (
        rf"^this '{kind}' preprocessing was fitted to center the features, which would make "
        r"sparse data dense; pass dense rows, or fit 'scale' or 'none' on sparse data$"
    )
    with pytest.raises(DataError, match=fitted_message):
        dense_fitted.transform(X_TRAIN)


def test_bad_sparse_rows_are_named_with_where_they_came_from():
    bad = scipy.sparse.csr_array(
        (np.array([np.nan]), np.array([1]), np.array([0, 1])), shape=(1, 3)
    )
    with pytest.raises(DataError, match=r"Preprocessor\.fit: X contains NaN or infinity in row 0"):
        Preprocessor("scale").fit(bad)
    fitted = Preprocessor("scale").fit(X_TRAIN)
    with pytest.raises(DataError, match=r"X contains NaN or infinity in row 0, column 1"):
        fitted.transform(bad)
    with pytest.raises(DataError, match=r"X has shape \(2, 2\) but the preprocessing was fitted"):
        fitted.transform(scipy.sparse.csr_array(np.eye(2)))


def test_auto_for_sparse_data_is_a_sparse_safe_kind_and_says_so():
    Preprocessor(SPARSE_AUTO_PREPROCESS).fit(X_TRAIN)  # accepted: no centering
    assert "never centered" in SPARSE_AUTO_NOTE and SPARSE_AUTO_PREPROCESS in SPARSE_AUTO_NOTE


def test_a_saved_model_scores_sparse_rows_as_dense_ones_and_names_overflow():
    params = {"W": np.arange(6.0).reshape(3, 2), "b": np.array([0.5, -0.5])}
    preprocessor = Preprocessor("scale").fit(X_TRAIN)
    model = SavedModel(params, preprocessor, ("a", "b"))
    dense_rows = np.array([[0.0, -8.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 4.0]])
    np.testing.assert_allclose(model.scores(X_TRAIN), model.scores(dense_rows), rtol=1e-12)
    tiny = Preprocessor.from_arrays(
        {"kind": np.array("scale"), "mean": np.zeros(3), "scale": np.full(3, 1e-308)}
    )
    overflowing = SavedModel(params, tiny, ("a", "b"))
    with pytest.raises(InvalidValueError, match=r"^row 0 of X overflows after the model's "):
        overflowing.scores(X_TRAIN)
