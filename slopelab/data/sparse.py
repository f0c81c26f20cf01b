"""Sparse feature matrices in a :class:`~slopelab.data.dataset.Dataset`: checked, never densified.

A sparse split is a ``scipy.sparse`` CSR matrix ``X (N, D)`` of float32 (CSC and COO are
converted once): what an svmlight file or a sparse ``.npz`` holds, text features with far more
columns than any row fills. Only its stored values ``X.data`` are checked (the implicit zeros are
finite), so a check costs O(nnz), never O(N x D). scipy is imported only when a sparse matrix is
actually met, so dense datasets never load it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_sparse(X: Any) -> bool:
    """A ``scipy.sparse`` matrix or array, recognised without importing scipy."""
    module = type(X).__module__ or ""
    return module.startswith("scipy.sparse") or (hasattr(X, "tocsr") and hasattr(X, "nnz"))


def check_sparse_features(X: Any, name: str = "X") -> Any:
    """``X`` as a canonical CSR float32 matrix ``(N, D)`` with finite stored values.

    The caller's matrix is never modified; a CSR float32 matrix already in canonical form
    (sorted, no duplicate entries) is returned as is. NaN, infinity, or a value too large for
    float32 is an error naming the first row that holds one.
    """
    if len(X.shape) != 2:
        raise InvalidValueError(
            f"{name} must be a 2-D matrix of shape (N, D), one row per example; got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise InvalidValueError(f"{name} is empty: it has 0 rows; need at least 1 example")
    if X.shape[1] == 0:
        raise InvalidValueError(f"{name} has 0 features (shape {X.shape}); need at least 1 column")
    csr = X.tocsr()
    if csr.dtype.kind not in "biuf":
        raise InvalidValueError(f"{name} must hold numbers; got dtype {csr.dtype}")
    _check_stored_values(csr, name)
    csr = csr.astype(np.float32, copy=False)
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is X else csr
        csr.sum_duplicates()  # sorts each row's indices and adds up repeated entries
    return csr


def _check_stored_values(csr: Any, name: str) -> None:
    """Every stored value is finite and fits float32 (an entry of 1e39 would become infinity)."""
    values = csr.data
    if values.dtype.kind != "f":
        bad = np.flatnonzero(np.abs(values.astype(np.float64)) > FLOAT32_MAX)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.flatnonzero(~(np.abs(values) <= FLOAT32_MAX))  # NaN compares False
    if bad.size:
        row = row_of_entry(csr, int(bad[0]))
        raise InvalidValueError(
            f"{name} contains NaN, infinity or a value too large for float32 in row {row}; "
            "remove or impute that row"
        )


def row_of_entry(csr: Any, entry: int) -> int:
    """The row holding stored entry number ``entry`` of a CSR matrix (its ``indptr`` bracket)."""
    return int(np.searchsorted(csr.indptr, entry, side="right") - 1)


def csr_from_parts(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple) -> Any:
    """A CSR matrix over the given arrays (no copy), in scipy's ``csr_matrix`` class: the class
    scikit-learn's own readers return."""
    from scipy.sparse import csr_matrix

    return csr_matrix((data, indices, indptr), shape=shape, copy=False)
