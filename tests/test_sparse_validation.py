"""Sparse X at the boundary: one conversion to canonical CSR, dtypes kept, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from slopelab import Budget, get_loss, sgd
from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.validation import check_dataset, check_features

PARAMS = {"W": np.zeros((4, 3)), "b": np.zeros(3)}


def csr(values, indices, indptr, shape=(3, 4), kind=scipy.sparse.csr_array):
    """A CSR built from its raw arrays, unchecked (as a file reader or a user might)."""
    return kind((np.asarray(values, dtype=float), np.asarray(indices), np.asarray(indptr)),
                shape=shape)  # fmt: skip


@pytest.mark.parametrize(
    "kind", [scipy.sparse.csr_array, scipy.sparse.csr_matrix, scipy.sparse.csc_array,
             scipy.sparse.coo_matrix, scipy.sparse.lil_array, scipy.sparse.dok_matrix]
)  # fmt: skip
def test_every_format_becomes_csr_of_the_same_kind_family(kind):
    X = kind(np.array([[0.0, 1.5], [2.0, 0.0]]))
    checked = check_features(X)
    assert checked.format == "csr"
    assert isinstance(checked, scipy.sparse.sparray) == isinstance(X, scipy.sparse.sparray)
    np.testing.assert_array_equal(checked.indices, [1, 0])
    np.testing.assert_array_equal(checked.data, [1.5, 2.0])


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64),
     (np.bool_, np.float64)],
)  # fmt: skip
def test_float_dtypes_are_kept_and_integers_become_float64(dtype, expected):
    X = scipy.sparse.csr_array(np.eye(3, dtype=dtype))
    assert check_features(X).dtype == expected


def test_a_canonical_csr_is_used_as_it_is():
    X = scipy.sparse.csr_array(np.eye(3))
    assert check_features(X) is X


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinity_among_the_stored_values_is_named(bad):
    X = csr([1.0, 2.0, bad, 3.0], [0, 1, 3, 2], [0, 2, 3, 4])
    with pytest.raises(InvalidValueError, match=r"^X contains NaN or infinity in row 1, column 3; "
                       r"remove or impute that row$"):  # fmt: skip
        check_features(X)


def test_a_negative_column_index_is_named():
    X = csr([1.0, 2.0], [0, -2], [0, 1, 2, 2])
    with pytest.raises(InvalidValueError, match=r"^X \(sparse\) has a negative column index -2 "
                       r"in row 1 but only 4 columns; fix the indices or the shape$"):  # fmt: skip
        check_features(X)


def test_a_column_index_beyond_the_shape_is_named():
    X = csr([1.0, 2.0], [0, 7], [0, 1, 1, 2])
    with pytest.raises(InvalidValueError, match=r"^X \(sparse\) has column index 7 in row 2 but "
                       r"only 4 columns; fix the indices or the shape$"):  # fmt: skip
        check_features(X)


def test_an_inconsistent_row_pointer_is_named():
    X = csr([1.0, 2.0], [0, 1], [0, 1, 2, 2])
    X.indptr = np.array([0, 2, 1, 2], dtype=X.indptr.dtype)
    with pytest.raises(InvalidValueError, match=r"inconsistent row pointer \(indptr\) for shape "
                       r"\(3, 4\) and 2 stored values; rebuild it"):  # fmt: skip
        check_features(X)


def test_a_column_stored_twice_in_a_row_is_an_error_not_a_silent_sum():
    X = csr([1.0, 2.0, 5.0], [3, 1, 3], [0, 0, 3, 3])
    with pytest.raises(InvalidValueError, match=r"^X \(sparse\) has two entries for row 1, column "
                       r"3; call X\.sum_duplicates\(\) if they should add up$"):  # fmt: skip
        check_features(X)


def test_unsorted_indices_are_sorted_on_a_copy_and_the_input_is_left_alone():
    X = csr([1.0, 2.0, 5.0], [3, 1, 0], [0, 0, 3, 3])
    checked = check_features(X)
    np.testing.assert_array_equal(checked.indices, [0, 1, 3])
    np.testing.assert_array_equal(checked.data, [5.0, 2.0, 1.0])
    np.testing.assert_array_equal(X.indices, [3, 1, 0])  # the caller's matrix, untouched
    loss = get_loss("svm")
    y = np.array([0, 1, 2])
    assert loss(PARAMS, X, y)[0] == loss(PARAMS, checked, y)[0]


@pytest.mark.parametrize(
    ("shape", "message"),
    [((0, 4), r"^X is empty: it has 0 rows; need at least 1 example$"),
     ((3, 0), r"^X has 0 features \(shape \(3, 0\)\); need at least 1 column$")],
)  # fmt: skip
def test_empty_sparse_shapes_are_named(shape, message):
    with pytest.raises(InvalidValueError, match=message):
        check_features(scipy.sparse.csr_array(shape))


def test_a_one_dimensional_sparse_array_is_named():
    X = scipy.sparse.coo_array(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(InvalidValueError, match=r"^X must be 2-D of shape \(N, D\), one row per "
                       r"example; got a sparse 1-D shape \(3,\)$"):  # fmt: skip
        check_features(X)


def test_complex_sparse_values_are_refused():
    X = scipy.sparse.csr_array(np.eye(2, dtype=complex))
    with pytest.raises(InvalidTypeError, match=r"^X must hold real numbers \(int or float\); got "
                       r"a sparse matrix of dtype complex128$"):  # fmt: skip
        check_features(X)


def test_a_value_too_large_for_float32_is_named_when_cast():
    X = csr([1.0, 1e40], [0, 2], [0, 1, 1, 2])
    with pytest.raises(InvalidValueError, match=r"^X contains 1e\+40 in row 2, column 2, too "
                       r"large for float32 \(largest 3\.403e\+38\); rescale"):  # fmt: skip
        check_features(X, dtype=np.float32)


def test_wrong_shapes_against_labels_parameters_and_validation_split():
    X = scipy.sparse.csr_array(np.eye(4)[:3])
    with pytest.raises(InvalidValueError, match=r"^X has 3 rows but y has 2 labels"):
        check_dataset(X, [0, 1])
    with pytest.raises(InvalidValueError, match=r"params\['W'\] has 5 rows but X has 4 features"):
        get_loss("svm")({"W": np.zeros((5, 3)), "b": np.zeros(3)}, X, [0, 1, 2])
    X_val = scipy.sparse.csr_array(np.eye(5)[:2])
    with pytest.raises(InvalidValueError, match=r"^X_val has 5 features but X has 4; they must"):
        sgd("svm", X, [0, 1, 2], budget=Budget(steps=1), X_val=X_val, y_val=[0, 1])
    bad_val = csr([np.nan], [1], [0, 1, 1, 1])
    with pytest.raises(InvalidValueError, match=r"^X_val contains NaN or infinity in row 0, "):
        sgd("svm", X, [0, 1, 2], budget=Budget(steps=1), X_val=bad_val, y_val=[0, 1, 2])
