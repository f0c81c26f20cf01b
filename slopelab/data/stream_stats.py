"""Preprocessing statistics of a file too large for memory, in one streaming pass."""

from __future__ import annotations

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.npyrows import NpyRows
from slopelab.data.preprocess import Preprocessor

BLOCK_BYTES = 8 * 2**20  # one sequential read: large enough to run at the disk's speed


def default_block_rows(row_bytes: int) -> int:
    """Rows in a block of about :data:`BLOCK_BYTES` (at least one row).

    >>> default_block_rows(3072)  # a 32x32x3 uint8 image
    2730
    """
    return max(1, BLOCK_BYTES // row_bytes)


def fit_streaming(
    rows: NpyRows, kind: str, block_rows: int | None = None, chunk_rows: int = 256
) -> Preprocessor:
    """A :class:`Preprocessor` of ``kind`` fitted in one pass over the file, in float64.

    Each chunk's mean and sum of squared deviations ``M2`` are merged into the running ones
    (Chan, Golub and LeVeque):
    ``delta = m_b - m_a``, ``m = m_a + delta n_b / n``, ``M2 = M2_a + M2_b + delta^2 n_a n_b / n``,
    so the variance ``M2 / N`` has no cancellation of large sums. It equals
    ``Preprocessor(kind).fit(X)`` on the whole array to float64 rounding (the test holds it to
    a relative 1e-10); the largest absolute value (``"scale"``) is exact. A row holding NaN or
    infinity is a DataError naming it.
    """
    preprocessor = Preprocessor(kind)
    num_rows, num_features = rows.shape
    block_rows = block_rows or default_block_rows(rows.row_bytes)
    raw = np.empty((min(block_rows, num_rows), num_features), rows.dtype)
    chunk = np.empty((min(chunk_rows, num_rows), num_features))
    count, mean, m2, largest = 0, np.zeros(num_features), np.zeros(num_features), 0.0
    for start in range(0 if kind != "none" else num_rows, num_rows, len(raw)):
        block = rows.read_range(start, min(start + len(raw), num_rows), raw)
        for offset in range(0, len(block), len(chunk)):
            values = chunk[: len(block[offset : offset + len(chunk)])]
            np.copyto(values, block[offset : offset + len(values)])
            chunk_mean = values.mean(axis=0)
            if not np.all(np.isfinite(chunk_mean)):
                _raise_not_finite(rows, values, start + offset)
            deviations = values - chunk_mean
            delta = chunk_mean - mean
            total = count + len(values)
            mean += delta * (len(values) / total)
            m2 += np.einsum("ij,ij->j", deviations, deviations) + delta**2 * (
                count * len(values) / total
            )
            count = total
            largest = max(largest, float(values.max()), -float(values.min()))
    return _fitted(preprocessor, num_features, num_rows, mean, m2 / max(count, 1), largest)


def _fitted(
    preprocessor: Preprocessor,
    num_features: int,
    count: int,
    mean: np.ndarray,
    variance: np.ndarray,
    largest: float,
) -> Preprocessor:
    """Set ``mean_`` and ``scale_`` as :meth:`Preprocessor.fit` would from these statistics."""
    from slopelab.data.preprocess import _is_constant  # the same rule as fit, not a copy of it

    kind = preprocessor.kind
    preprocessor.mean_ = mean if kind in ("center", "standardize") else np.zeros(num_features)
    scale = np.ones(num_features)
    if kind == "standardize":
        scale = np.where(_is_constant(variance, mean, count), 1.0, np.sqrt(variance))
    if kind == "scale":
        scale = np.full(num_features, largest if largest > 0 else 1.0)
    preprocessor.scale_ = scale
    return preprocessor


def _raise_not_finite(rows: NpyRows, values: np.ndarray, first_row: int) -> None:
    bad = int(np.flatnonzero(~np.all(np.isfinite(values), axis=1))[0])
    raise DataError(
        f"{rows.path} holds NaN or infinity in row {first_row + bad}; pack finite values only"
    )
