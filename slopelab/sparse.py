"""Sparse features: ``scipy.sparse`` rows checked once, at the boundary, and kept sparse.

Every math module works on sparse ``X (N, D)`` as it is: the scores ``X @ W`` and the gradient
``X^T @ dS`` are sparse-times-dense products whose results, ``(N, C)`` and ``(D, C)``, are dense;
parameters are always dense. So nothing ever builds the dense ``(N, D)`` form of ``X`` (what
``toarray`` would), and training memory is O(nnz), not O(N D).

:func:`check_sparse_features` is the sparse half of
:func:`slopelab.validation.check_features`: any sparse format (CSC, COO, ...) becomes CSR once,
here, in the same family of one-line errors as dense input:

    X contains NaN or infinity in row 3, column 5; remove or impute that row
    X (sparse) has column index 7 in row 2 but only 5 columns; fix the indices or the shape
    X (sparse) has two entries for row 2, column 4; call X.sum_duplicates() if they should add up

Both kinds, ``csr_array`` and ``csr_matrix``, are kept as they came (a matrix stays a matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError

FLOAT_DTYPES = (np.float32, np.float64)


def is_sparse(value: Any) -> bool:
    """A scipy.sparse matrix or array, recognised without importing scipy."""
    module = type(value).__module__ or ""
    return module.startswith("scipy.sparse") or (hasattr(value, "tocsr") and hasattr(value, "nnz"))


def check_sparse_features(X: Any, name: str = "X", dtype: Any = None) -> Any:
    """Return sparse ``X`` as a canonical CSR of float32 or float64 (kept; integers and booleans
    become float64, or ``dtype``), with finite values and valid indices. ``X`` itself is never
    modified: conversion, sorting and casting work on copies.

    >>> import scipy.sparse
    >>> check_sparse_features(scipy.sparse.coo_array(np.eye(2, dtype=np.float32))).format
    'csr'
    """
    if len(X.shape) != 2:
        raise InvalidValueError(
            f"{name} must be 2-D of shape (N, D), one row per example; got a sparse "
            f"{len(X.shape)}-D shape {X.shape}"
        )
    num_rows, num_columns = X.shape
    if num_rows == 0:
        raise InvalidValueError(f"{name} is empty: it has 0 rows; need at least 1 example")
    if num_columns == 0:
        raise InvalidValueError(f"{name} has 0 features (shape {X.shape}); need at least 1 column")
    if X.dtype.kind not in "biuf":
        raise InvalidTypeError(
            f"{name} must hold real numbers (int or float); got a sparse matrix of dtype {X.dtype}"
        )
    csr = X if X.format == "csr" else X.tocsr()  # one conversion at the boundary
    _check_structure(csr, name)
    csr = _canonical(csr, X, name)
    _check_sparse_finite(csr, name)
    target = np.dtype(dtype) if dtype is not None else _float_dtype_for(csr.dtype)
    if target.kind != "f":
        raise InvalidTypeError(f"dtype must be a float type such as float32; got {target}")
    _check_sparse_fits(csr, target, name)
    return csr if csr.dtype == target else csr.astype(target)


def _check_structure(csr: Any, name: str) -> None:
    """``indptr`` (N + 1,) starting at 0 and never decreasing, ``indices`` in ``[0, D)``."""
    num_rows, num_columns = csr.shape
    indptr, indices = csr.indptr, csr.indices
    valid_pointers = (
        len(indptr) == num_rows + 1
        and indptr[0] == 0
        and indptr[-1] == len(indices) == len(csr.data)
        and bool(np.all(np.diff(indptr) >= 0))
    )
    if not valid_pointers:
        raise InvalidValueError(
            f"{name} (sparse) has an inconsistent row pointer (indptr) for shape {csr.shape} "
            f"and {len(csr.data)} stored values; rebuild it with scipy.sparse.csr_array"
        )
    if len(indices) == 0:
        return
    bad = np.flatnonzero((indices < 0) | (indices >= num_columns))
    if bad.size:
        row = int(np.searchsorted(indptr, bad[0], side="right")) - 1
        column = int(indices[bad[0]])
        problem = "a negative column index" if column < 0 else "column index"
        raise InvalidValueError(
            f"{name} (sparse) has {problem} {column} in row {row} but only {num_columns} "
            "columns; fix the indices or the shape"
        )


def _canonical(csr: Any, original: Any, name: str) -> Any:
    """``csr`` with sorted column indices in every row (a copy if they were not), and no
    column stored twice in a row: a duplicate is an error, since scipy would add the two values
    while a file or a hand-built matrix may well have meant one of them."""
    if csr.has_canonical_format:
        return csr
    if csr is original:
        csr = csr.copy()
    csr.has_sorted_indices = False  # the flag may be stale; sort_indices trusts it
    csr.sort_indices()
    row_of_entry = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    same = (np.diff(csr.indices) == 0) & (np.diff(row_of_entry) == 0)
    if same.any():
        entry = int(np.flatnonzero(same)[0])
        raise InvalidValueError(
            f"{name} (sparse) has two entries for row {row_of_entry[entry]}, column "
            f"{csr.indices[entry]}; call {name}.sum_duplicates() if they should add up"
        )
    csr.has_canonical_format = True
    return csr


def _check_sparse_finite(csr: Any, name: str) -> None:
    """NaN or infinity among the stored values, named by row and column (the implicit zeros are
    finite)."""
    data = csr.data
    if data.dtype.kind not in "f" or np.isfinite(data).all():
        return
    entry = int(np.flatnonzero(~np.isfinite(data))[0])
    row = int(np.searchsorted(csr.indptr, entry, side="right")) - 1
    raise InvalidValueError(
        f"{name} contains NaN or infinity in row {row}, column {csr.indices[entry]}; "
        "remove or impute that row"
    )


def _check_sparse_fits(csr: Any, dtype: np.dtype, name: str) -> None:
    largest = float(np.finfo(dtype).max)
    data = csr.data
    if data.dtype.kind not in "fiu" or data.size == 0:
        return
    info = np.finfo if data.dtype.kind == "f" else np.iinfo
    if float(info(data.dtype).max) <= largest:
        return
    too_large = np.flatnonzero(np.abs(data) > largest)
    if too_large.size == 0:
        return
    entry = int(too_large[0])
    row = int(np.searchsorted(csr.indptr, entry, side="right")) - 1
    value = np.format_float_scientific(data[entry], 3, trim="-")
    raise InvalidValueError(
        f"{name} contains {value} in row {row}, column {csr.indices[entry]}, too large for "
        f"{dtype.name} (largest {largest:.4g}); rescale the features"
    )


def _float_dtype_for(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)
