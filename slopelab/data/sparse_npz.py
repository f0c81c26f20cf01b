"""Sparse ``.npz`` datasets: the arrays of ``scipy.sparse.save_npz`` plus labels, in one file.

The layout is scipy's own, so ``scipy.sparse.load_npz(path)`` reads the features back: ``format``
(``b"csr"``, ``b"csc"`` or ``b"coo"``), ``shape``, ``data``, and ``indices``/``indptr`` (CSR,
CSC) or ``row``/``col`` (COO), beside the labels ``y (N,)`` and optionally ``class_names``, named
as in a dense ``.npz`` dataset. Written by :func:`save_sparse_npz`, or from a file that
``save_npz`` wrote::

    scipy.sparse.save_npz("X.npz", X)
    np.savez_compressed("data.npz", y=y, **np.load("X.npz"))

Such a file holds one split; the validation and test rows are carved from it, 80/10/10, as from
a dense ``.npz`` with only ``X`` and ``y``. The matrix is checked as scipy's ``check_format``
does (index ranges, ``indptr`` order) and becomes CSR float32, never dense.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.sparse import check_sparse_features, is_sparse
from slopelab.errors import SlopelabError

MATRIX_KEYS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "coo": ("data", "row", "col"),
}
LAYOUT = (
    "a sparse .npz dataset holds scipy.sparse.save_npz's arrays (format, shape, data, "
    "indices, indptr) and y (N,), optionally class_names"
)


def is_sparse_npz(arrays: dict[str, np.ndarray]) -> bool:
    """Whether a ``.npz``'s arrays are a sparse dataset (scipy's ``format`` and ``shape``)."""
    return "format" in arrays and "shape" in arrays


def sparse_features(arrays: dict[str, np.ndarray], path: Path) -> Any:
    """The feature matrix of a sparse ``.npz`` as CSR float32, or a ``DataError`` naming the
    file, the array and the fix."""
    matrix_format = _format(arrays["format"], path)
    missing = [key for key in (*MATRIX_KEYS[matrix_format], "y") if key not in arrays]
    if missing:
        raise DataError(
            f"{path} has no array {missing[0]!r} (found {', '.join(sorted(arrays))}); {LAYOUT}"
        )
    shape = _shape(arrays["shape"], path)
    X = _build(matrix_format, arrays, shape, path)
    try:
        return check_sparse_features(X, "X")
    except SlopelabError as error:
        raise DataError(f"{path}: {error}") from None


def save_sparse_npz(
    path: str | Path, X: Any, y: Any, *, class_names: Sequence[str] | None = None
) -> None:
    """Write ``X`` (any scipy.sparse matrix, stored as CSR) and labels ``y`` in the layout of
    the module docstring, compressed."""
    if not is_sparse(X):
        raise DataError(f"X must be a scipy.sparse matrix; got {type(X).__name__}")
    csr = X.tocsr()
    arrays = {
        "format": np.array(b"csr"),
        "shape": np.array(csr.shape),
        "data": csr.data,
        "indices": csr.indices,
        "indptr": csr.indptr,
        "y": np.asarray(y),
    }
    if class_names is not None:
        arrays["class_names"] = np.array([str(name) for name in class_names])
    np.savez_compressed(path, **arrays)


def _format(value: np.ndarray, path: Path) -> str:
    raw = value.item() if value.ndim == 0 else value
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    if text not in MATRIX_KEYS:
        raise DataError(
            f"{path}: its format array says {text!r}; a sparse .npz must be csr, csc or coo "
            "(convert the matrix with .tocsr() before scipy.sparse.save_npz)"
        )
    return text


def _shape(value: np.ndarray, path: Path) -> tuple[int, int]:
    if value.shape != (2,) or value.dtype.kind not in "iu" or (value < 0).any():
        raise DataError(
            f"{path}: its shape array must be two whole numbers (N, D); got {value.tolist()!r}"
        )
    return int(value[0]), int(value[1])


def _build(matrix_format: str, arrays: dict[str, np.ndarray], shape: tuple, path: Path) -> Any:
    """The scipy matrix, with scipy's full structural check (index ranges, ``indptr``)."""
    import scipy.sparse as sparse

    first, second, third = (arrays[key] for key in MATRIX_KEYS[matrix_format])
    try:
        if matrix_format == "coo":
            matrix = sparse.coo_matrix((first, (second, third)), shape=shape)
        else:
            build = sparse.csr_matrix if matrix_format == "csr" else sparse.csc_matrix
            matrix = build((first, second, third), shape=shape)
            matrix.check_format(full_check=True)
    except (ValueError, TypeError, IndexError) as error:
        raise DataError(
            f"{path}: its {matrix_format} arrays do not form a {shape[0]}x{shape[1]} matrix "
            f"({error}); write the file with scipy.sparse.save_npz or "
            "slopelab.data.save_sparse_npz"
        ) from None
    return matrix
