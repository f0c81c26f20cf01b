"""Shared input validation: every message names the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slopelab.errors import SlopelabError
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
        (
            np.array([[1, {"a": 1}]], dtype=object),
            TypeError,
            r"dtype object holding \{'a': 1\} \(dict\) at index \(0, 1\)",
        ),
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
        (-(10**400), {"integer": True}, ValueError, r"learning_rate must be > 0; got -1000"),
    ],
)
def test_bad_positive_numbers(value, kwargs, error, message):
    with pytest.raises(error, match=message):
        check_positive(value, "learning_rate", **kwargs)


def test_choice_lists_the_valid_ones():
    assert check_choice("b", "letter", ["a", "b"]) == "b"
    with pytest.raises(ValueError, match=r"unknown letter 'c'; valid choices are 'a', 'b'"):
        check_choice("c", "letter", ["a", "b"])


# ------------------------------------------------------- values too large for the target dtype


@pytest.mark.parametrize(
    ("X", "dtype", "error", "message"),
    [
        ([[1.0, 1e40]], np.float32, ValueError, r"X contains 1e\+40 in row 0, column 1, too large "
         r"for float32 \(largest 3\.403e\+38\); rescale the features"),
        ([[1.0], [-1e39]], np.float32, ValueError, r"X contains -1e\+39 in row 1, column 0, too "),
        (np.array([[1.0], [np.longdouble("1e400")]], dtype=np.longdouble), None, ValueError,
         r"X contains 1e\+400 in row 1, column 0, too large for float64"),
        (np.array([[10**400]], dtype=object), None, TypeError,
         r"X must be numeric \(int or float\); got dtype object holding 1000000000.*\.\.\. "
         r"\(int, too large for a float\) at index \(0, 0\)"),
    ],
)  # fmt: skip
def test_values_too_large_for_the_dtype_are_named_not_turned_into_infinity(
    X, dtype, error, message
):
    with pytest.raises(error, match=message):
        check_features(X, dtype=dtype)


def test_float32_limit_is_inclusive_and_float64_input_is_not_narrowed_silently():
    largest = float(np.finfo(np.float32).max)
    assert check_features([[largest, -largest]], dtype=np.float32).dtype == np.float32
    assert check_features([[1e40]]).dtype == np.float64  # no target dtype: kept as float64


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([0.0, 1e40], r"y contains label 10000000000000000303786028427003666890752, but labels "
         r"are class indices 0\.\.C-1 and slopelab handles at most 1000 classes"),
        (np.array([0, 2**64 - 1], dtype=np.uint64), r"y contains label 18446744073709551615, but"),
        ([0, 1000], r"y contains label 1000, but labels are class indices 0\.\.C-1 and slopelab "
         r"handles at most 1000 classes; renumber sparse labels first"),
        ([0.0, -1e40], r"y contains label -10000000000000000303786028427003666890752; labels "
         r"must be non-negative"),
    ],
)  # fmt: skip
def test_huge_labels_are_refused_before_any_cast(y, message):
    with pytest.raises(ValueError, match=message):
        check_labels(y)


def test_huge_labels_beyond_num_classes_name_the_class_count():
    with pytest.raises(ValueError, match=r"y contains label 18446744073709551615 but there are "):
        check_labels(np.array([0, 2**64 - 1], dtype=np.uint64), num_classes=3)


# ---------------------------------------------------------------- properties over any input

NUMERIC_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(sizes=(16, 32, 64)),
    st.just(np.dtype(np.longdouble)),
)
ANY_DTYPES = st.one_of(
    NUMERIC_DTYPES,
    hnp.complex_number_dtypes(),
    hnp.unicode_string_dtypes(),
    st.just(np.dtype(object)),
)


def any_array(dtypes, min_dims=0, max_dims=3):
    """Arrays of any of ``dtypes`` with NaN, infinity and extreme values mixed in."""
    return dtypes.flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=4),
            elements=_elements(dtype),
        )
    )


def _elements(dtype):
    if dtype.kind == "f":
        return st.one_of(
            hnp.from_dtype(dtype, allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, 1.0, -2.5]).map(dtype.type),
        )
    if dtype.kind == "O":
        return st.one_of(st.integers(-(10**400), 10**400), st.floats(), st.text(max_size=2))
    return None


def fits(X: np.ndarray, dtype) -> bool:
    """The independent oracle: numeric, finite, and within ``dtype``'s range (compared in
    long double, wider than float64 here)."""
    if X.dtype.kind not in "biuf":
        return False
    if X.dtype.kind != "f":
        return True
    wide = X.astype(np.longdouble)
    return bool(np.isfinite(wide).all() and (np.abs(wide) <= np.finfo(dtype).max).all())


@settings(max_examples=300, deadline=None)
@given(X=any_array(ANY_DTYPES), dtype=st.sampled_from([None, np.float32, np.float64]))
def test_check_features_returns_clean_floats_or_raises_one_slopelab_error(X, dtype):
    target = np.dtype(dtype) if dtype else None
    try:
        result = check_features(X, dtype=dtype)
    except SlopelabError as error:
        assert "\n" not in str(error)
        if X.dtype.kind == "O":
            return  # objects: numbers or not, either outcome is allowed, but only this error
        oracle_target = target or (X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
        assert X.ndim != 2 or 0 in X.shape or not fits(X, oracle_target)
        return
    assert result.ndim == 2 and result.shape == X.shape and result.shape[0] * result.shape[1] > 0
    assert result.dtype.kind == "f" and np.isfinite(result).all()
    if target is not None:
        assert result.dtype == target
    if X.dtype.kind in "biuf":
        assert fits(X, result.dtype)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(result, X.astype(result.dtype))


@settings(max_examples=300, deadline=None)
@given(
    y=any_array(NUMERIC_DTYPES, min_dims=1, max_dims=2), num_classes=st.none() | st.integers(1, 5)
)
def test_check_labels_returns_class_indices_or_raises_one_slopelab_error(y, num_classes):
    try:
        labels = check_labels(y, num_classes=num_classes)
    except SlopelabError as error:
        assert "\n" not in str(error)
        flat = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        wide = flat.astype(np.longdouble) if flat.ndim == 1 else None
        valid = (
            wide is not None
            and wide.size > 0
            and np.isfinite(wide).all()
            and (wide == np.round(wide)).all()
            and wide.min() >= 0
            and wide.max() < (1000 if num_classes is None else num_classes)
        )
        assert not valid
        return
    assert labels.dtype == np.int64 and labels.ndim == 1 and labels.size == y.size
    assert labels.min() >= 0 and (num_classes is None or labels.max() < num_classes)
    np.testing.assert_array_equal(labels, y.ravel().astype(np.longdouble))


@settings(max_examples=150, deadline=None)
@given(
    X=any_array(NUMERIC_DTYPES, min_dims=2, max_dims=2),
    y=any_array(NUMERIC_DTYPES, min_dims=1, max_dims=1),
)
def test_check_dataset_agrees_with_its_parts(X, y):
    try:
        X_checked, y_checked = check_dataset(X, y, dtype=np.float32)
    except SlopelabError as error:
        assert "\n" not in str(error)
        return
    assert X_checked.dtype == np.float32 and len(X_checked) == len(y_checked)


# ------------------------------------------------------------- messages short, whatever the input


def test_a_value_in_a_message_is_described_in_a_few_words_not_printed():
    from slopelab.losses import get_loss

    W, b = np.zeros((500, 10)), np.zeros(10)
    X, y = np.zeros((100, 500)), np.zeros(100, dtype=int)
    with pytest.raises(
        ValueError,
        match=r'params must be a dict with keys "W" \(D, C\) and "b" '
        r"\(C,\); got a list of 2 items \(ndarray, ndarray\)$",
    ) as error:
        get_loss("softmax")([W, b], X, y)  # fmt: skip
    assert len(str(error.value)) < 120
    for value in ("x" * 10_000, list(range(10_000)), {"k": np.zeros(10_000)}, np.zeros(10_000)):
        with pytest.raises(TypeError) as error:
            check_positive(value, "learning_rate")
        assert len(str(error.value)) < 150 and "\n" not in str(error.value)


def test_a_broken_repr_cannot_break_the_message():
    class Odd:
        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(TypeError, match=r"learning_rate must be a number; got <Odd> \(Odd\)"):
        check_positive(Odd(), "learning_rate")


@pytest.mark.parametrize("kind", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"])
def test_a_sparse_matrix_is_named_with_the_fix(kind):
    """Sparse features are welcome (tests/test_sparse_validation.py); sparse labels and
    parameters are not."""
    import scipy.sparse

    sparse = getattr(scipy.sparse, kind)(np.eye(3))
    assert check_features(sparse).format == "csr"
    with pytest.raises(TypeError, match=r"y is a scipy sparse matrix .* pass y\.toarray\(\)"):
        check_labels(getattr(scipy.sparse, kind)(np.ones((3, 1))))
    with pytest.raises(TypeError, match=r"params\['W'\] is a scipy sparse matrix"):
        check_params({"W": sparse, "b": np.zeros(3)})


@pytest.mark.parametrize(
    ("column", "values", "dtype"),
    [
        ("color", ["red", "blue", "red"], r"(object|str)"),
        ("when", np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="datetime64[ns]"),
         r"datetime64\[ns\]"),
        ("kind", "category", r"category"),
    ],
)  # fmt: skip
def test_a_dataframe_column_that_is_not_numbers_is_named(column, values, dtype):
    import pandas as pd

    if isinstance(values, str):
        values = pd.Categorical(["a", "b", "a"])
    frame = pd.DataFrame({"width": [1.0, 2.0, 3.0], column: values})
    message = rf"X column '{column}' has dtype {dtype}, not numbers; encode it as numbers "
    with pytest.raises(TypeError, match=message):
        check_features(frame)


def test_numeric_dataframes_and_series_are_read_as_arrays():
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": pd.array([1, 2], dtype="Int64")})
    np.testing.assert_array_equal(check_features(frame), [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(check_labels(pd.Series([0, 1, 1])), [0, 1, 1])
    with pytest.raises(TypeError, match=r"y must be numeric .* holding 'cat' \(str\) at index 0"):
        check_labels(pd.Series(["cat", "dog"], dtype=object))
