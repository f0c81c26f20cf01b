"""Input validation shared by every boundary: the estimator, the strategies, the CLI, the web API.

Each checker either returns a clean array or raises ``ValueError``/``TypeError`` (the
:mod:`slopelab.errors` family) with a message that names the argument, says what was expected
and what was received, e.g.

    X contains NaN or infinity in row 3, column 5; remove or impute that row
    X contains 1e+40 in row 0, column 2, too large for float32 (largest 3.403e+38)
    y contains label 12 but there are only 10 classes; labels must be in [0, 10)

Rows and columns are array indices (from 0). Nothing is cast before it is known to fit: no
overflow to infinity, no numpy warning, whatever the input's dtype.

The math modules never validate: they trust what passed through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.reductions import column_sums
from slopelab.sparse import check_sparse_features, is_sparse

FLOAT_DTYPES = (np.float32, np.float64)
MAX_CLASSES = 1000  # labels size W (D, C): a label is never trusted beyond this


SHORT = 60  # characters of a value's repr shown in a message


def _describe(value: Any) -> str:
    """A value for a message, in a few words whatever its size: never a whole array."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if is_sparse(value) or _is_pandas(value):
        return f"a {kind} of shape {getattr(value, 'shape', '?')}"
    if isinstance(value, list | tuple):
        items = ", ".join(type(item).__name__ for item in value[:3])
        more = ", ..." if len(value) > 3 else ""
        return f"a {kind} of {len(value)} items ({items}{more})"
    return f"{_short_repr(value)} ({kind})"


def _short_repr(value: Any) -> str:
    try:
        text = " ".join(repr(value).split())
    except Exception:  # a broken __repr__ must not break the message that names the value
        return f"<{type(value).__name__}>"
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


def _is_pandas(value: Any) -> bool:
    return (type(value).__module__ or "").startswith("pandas")


def check_features(X: Any, name: str = "X", dtype: Any = None) -> Any:
    """Return ``X`` as a finite 2-D float array of shape (N, D); a ``scipy.sparse`` ``X`` as a
    canonical CSR, never densified (:func:`slopelab.sparse.check_sparse_features`).

    Integer and boolean input becomes float64; float32 and float64 are kept (no silent upcast)
    unless ``dtype`` asks for another float type. A value too large for that type is an error,
    not an infinity.

    >>> check_features([[1, 2], [3, 4]]).dtype
    dtype('float64')
    """
    if is_sparse(X):
        return check_sparse_features(X, name, dtype)
    array = check_feature_rows(X, name)
    target = np.dtype(dtype) if dtype is not None else _float_dtype_for(array.dtype)
    if target.kind != "f":
        raise InvalidTypeError(f"dtype must be a float type such as float32; got {target}")
    check_fits(array, target, name)
    return array.astype(target, copy=False)


def check_feature_rows(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite 2-D numeric array of shape (N, D) in its own dtype: the checks
    of :func:`check_features` without the conversion to float (statistics over uint8 images
    need no float copy of them).

    >>> check_feature_rows(np.array([[1, 2]], dtype=np.uint8)).dtype
    dtype('uint8')
    """
    array = _as_numeric_array(X, name)
    if array.ndim != 2:
        raise InvalidValueError(
            f"{name} must be a 2-D array of shape (N, D), one row per example; "
            f"got {array.ndim}-D shape {array.shape}"
            + (" (reshape a single example with X.reshape(1, -1))" if array.ndim == 1 else "")
        )
    if array.shape[0] == 0:
        raise InvalidValueError(f"{name} is empty: it has 0 rows; need at least 1 example")
    if array.shape[1] == 0:
        raise InvalidValueError(
            f"{name} has 0 features (shape {array.shape}); need at least 1 column"
        )
    check_finite(array, name)
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise if ``array`` holds NaN or infinity, naming the first offending row.

    Fast path: a NaN or infinity anywhere makes its column's sum NaN or infinite, so finite
    column sums prove every entry finite in one pass with no temporary array (what matters for
    data the size of CIFAR-10: ``ones @ X`` is a BLAS product, faster than ``np.isfinite``);
    only a sum that is not finite (bad entries, or an overflow of large finite ones) pays for
    the elementwise search.
    """
    if array.dtype.kind in "biu":
        return  # integers and booleans are always finite
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(_sums(array)).all():
            return
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = np.argwhere(~finite)[0]
    raise InvalidValueError(
        f"{name} contains NaN or infinity in {_where(bad, array.ndim)}; remove or impute that row"
    )


def _sums(array: np.ndarray) -> np.ndarray:
    """Column sums of a 2-D float array (one BLAS pass); the whole sum of anything else."""
    if array.ndim != 2 or array.dtype.kind != "f":
        return np.sum(array)
    return column_sums(array)


def check_fits(array: np.ndarray, dtype: Any, name: str) -> None:
    """Raise if a finite ``array`` holds a value too large for the float ``dtype``.

    >>> check_fits(np.array([[1.0, 1e40]]), np.float32, "X")
    Traceback (most recent call last):
    ...
    slopelab.errors.InvalidValueError: X contains 1e+40 in row 0, column 1, too large for float32 (largest 3.403e+38); rescale the features
    """  # noqa: E501
    largest = float(np.finfo(dtype).max)
    if array.dtype.kind not in "fiu":
        return  # booleans fit every float type
    info = np.finfo if array.dtype.kind == "f" else np.iinfo
    if float(info(array.dtype).max) <= largest:
        return
    too_large = np.abs(array) > largest
    if not too_large.any():
        return
    bad = np.argwhere(too_large)[0]
    raise InvalidValueError(
        f"{name} contains {np.format_float_scientific(array[tuple(bad)], 3, trim='-')} in "
        f"{_where(bad, array.ndim)}, too "
        f"large for {np.dtype(dtype).name} (largest {largest:.4g}); rescale the features"
    )


def _where(index: np.ndarray, ndim: int) -> str:
    if ndim == 0:
        return "its value"
    return f"row {index[0]}" + (f", column {index[1]}" if ndim == 2 else "")


def check_labels(
    y: Any, num_examples: int | None = None, num_classes: int | None = None, name: str = "y"
) -> np.ndarray:
    """Return ``y`` as a 1-D int64 array of class indices in ``[0, num_classes)``.

    Without ``num_classes`` the labels decide C (``max + 1``), so they must stay below
    :data:`MAX_CLASSES`: a label of 1,000,000 never becomes a million-column ``W``.

    >>> check_labels([0, 2, 1], num_classes=3)
    array([0, 2, 1])
    """
    array = _as_numeric_array(y, name)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise InvalidValueError(
            f"{name} must be a 1-D array of shape (N,) with one integer label per example; "
            f"got shape {array.shape}"
        )
    if array.size == 0:
        raise InvalidValueError(f"{name} is empty: it has 0 labels; need at least 1 example")
    if num_examples is not None and array.shape[0] != num_examples:
        raise InvalidValueError(
            f"X has {num_examples} rows but {name} has {array.shape[0]} labels; "
            "they must have the same length"
        )
    if array.dtype.kind == "f":
        check_finite(array, name)
        if not np.all(array == np.round(array)):
            raise InvalidValueError(
                f"{name} must hold integer class labels; got non-integer values"
            )
    # Python ints: a float label such as 1e40 or a uint64 above int64's range is compared, and
    # named, before any cast to int64 could wrap it around.
    smallest, largest = int(array.min().item()), int(array.max().item())
    if smallest < 0:
        raise InvalidValueError(
            f"{name} contains label {smallest}; labels must be non-negative integers"
        )
    if num_classes is not None and largest >= num_classes:
        raise InvalidValueError(
            f"{name} contains label {largest} but there are only {num_classes} classes; "
            f"labels must be in [0, {num_classes})"
        )
    if num_classes is None and largest >= MAX_CLASSES:
        raise InvalidValueError(
            f"{name} contains label {largest}, but labels are class indices 0..C-1 and slopelab "
            f"handles at most {MAX_CLASSES} classes; renumber sparse labels first "
            "(np.unique(y, return_inverse=True))"
        )
    return array.astype(np.int64, copy=False)


def check_dataset(
    X: Any, y: Any, num_classes: int | None = None, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a labelled dataset: ``X (N, D)`` finite floats, ``y (N,)`` labels in range."""
    X = check_features(X, dtype=dtype)
    y = check_labels(y, num_examples=X.shape[0], num_classes=num_classes)
    return X, y


def check_params(
    params: Any, num_features: int | None = None, num_classes: int | None = None
) -> dict[str, np.ndarray]:
    """Validate classifier parameters ``{"W": (D, C), "b": (C,)}``."""
    if not isinstance(params, Mapping) or set(params) != {"W", "b"}:
        got = sorted(params) if isinstance(params, Mapping) else _describe(params)
        raise InvalidValueError(
            f'params must be a dict with keys "W" (D, C) and "b" (C,); got {got}'
        )
    W = _as_numeric_array(params["W"], "params['W']")
    b = _as_numeric_array(params["b"], "params['b']")
    if W.ndim != 2:
        raise InvalidValueError(f"params['W'] must be 2-D of shape (D, C); got shape {W.shape}")
    if b.shape != (W.shape[1],):
        raise InvalidValueError(
            f"params['b'] must have shape ({W.shape[1]},) to match W of shape {W.shape}; "
            f"got shape {b.shape}"
        )
    if num_features is not None and W.shape[0] != num_features:
        raise InvalidValueError(
            f"params['W'] has {W.shape[0]} rows but X has {num_features} features; "
            f"W must have shape ({num_features}, C)"
        )
    if num_classes is not None and W.shape[1] < num_classes:
        raise InvalidValueError(
            f"params['W'] has {W.shape[1]} columns (classes) but y has labels up to "
            f"{num_classes - 1}; W needs at least {num_classes} columns"
        )
    check_finite(W, "params['W']")
    check_finite(b, "params['b']")
    return {"W": W, "b": b}


def check_positive(
    value: Any, name: str, *, integer: bool = False, allow_zero: bool = False
) -> Any:
    """Return ``value`` if it is a finite number > 0 (>= 0 with ``allow_zero``)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = "an integer" if integer else "a number"
        raise InvalidTypeError(f"{name} must be {expected}; got {_describe(value)}")
    bound_ok = value >= 0 if allow_zero else value > 0
    # A Python int beyond float64 (10**400) is finite, but np.isfinite cannot take it.
    finite = isinstance(value, int | np.integer) or bool(np.isfinite(value))
    if not finite or not bound_ok:
        expected = ">= 0" if allow_zero else "> 0"
        huge = isinstance(value, int | np.integer) and abs(int(value)) > 10**15
        shown = _describe(value) if huge else repr(value)  # a 400-digit integer, shortened
        raise InvalidValueError(f"{name} must be {expected}; got {shown}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise list the valid ones."""
    valid = list(choices)
    if not isinstance(value, str) or value not in valid:
        listed = ", ".join(repr(choice) for choice in valid)
        raise InvalidValueError(f"unknown {name} {value!r}; valid choices are {listed}")
    return value


def _as_numeric_array(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise InvalidTypeError(f"{name} must be an array of numbers; got None")
    if is_sparse(value):
        raise InvalidTypeError(
            f"{name} is a scipy sparse matrix ({_describe(value)}); slopelab needs a dense "
            f"array: pass {name}.toarray()"
        )
    _check_pandas_columns(value, name)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists
        reason = " ".join(str(error).split())[:200]
        raise InvalidValueError(f"{name} could not be read as an array ({reason})") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (ValueError, TypeError, OverflowError):
            raise InvalidTypeError(
                f"{name} must be numeric (int or float); got dtype object holding "
                f"{_first_non_number(array)}. Convert strings or objects to numbers first"
            ) from None
    if array.dtype.kind not in "biuf":
        if array.dtype.kind == "c":
            raise InvalidTypeError(f"{name} must be real numbers; got complex dtype {array.dtype}")
        raise InvalidTypeError(
            f"{name} must be numeric (int or float); got dtype {array.dtype}. "
            "Convert strings or objects to numbers first"
        )
    return array


def _check_pandas_columns(value: Any, name: str) -> None:
    """A pandas DataFrame with a column of text, dates or categories: name the column."""
    if not _is_pandas(value) or not hasattr(value, "columns") or not hasattr(value, "dtypes"):
        return
    for column, dtype in zip(value.columns, value.dtypes, strict=True):
        if getattr(dtype, "kind", "O") not in "biuf":
            raise InvalidTypeError(
                f"{name} column {column!r} has dtype {dtype}, not numbers; encode it as "
                "numbers (e.g. one-hot) or drop it"
            )


def _first_non_number(array: np.ndarray) -> str:
    """``'red' (str) at index (1, 0)``: the first item of an object array that is no number."""
    for index, item in np.ndenumerate(array):
        try:
            float(item)
        except (ValueError, TypeError, OverflowError) as error:
            where = index[0] if len(index) == 1 else index
            why = ", too large for a float" if isinstance(error, OverflowError) else ""
            return f"{_short_repr(item)} ({type(item).__name__}{why}) at index {where}"
    return "values that are not numbers"


def _float_dtype_for(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)
