"""Feature preprocessing, fitted on the training split only: ``x' = (x - mean_) / scale_``.

Kinds (``mean_`` and ``scale_`` are per-feature vectors of length D):

- ``"center"``: ``mean_`` = the mean training image, ``scale_`` = 1. CS231n's step: subtract the
  mean image, computed on the training set only, from every split.
- ``"standardize"``: per-feature mean and standard deviation; a constant feature (variance
  within rounding error of 0) gets ``scale_`` 1, never a division by (almost) zero.
- ``"scale"``: ``mean_`` = 0, ``scale_`` = the largest absolute training value (255 for
  uint8-range images, 16 for the digits), so features land in [-1, 1].
- ``"none"``: the identity.

Sparse data (``scipy.sparse``) is never centered: subtracting a mean would turn every implicit
zero into a stored value, i.e. make ``X`` dense. It takes the sparse-safe kinds only, ``"scale"``
(max-abs: divide by the largest absolute training value, zeros stay zeros) or ``"none"``, and
comes out as a CSR of the same nonzeros; ``"center"`` and ``"standardize"`` are an error naming
them. :data:`SPARSE_AUTO_PREPROCESS` is what ``"auto"`` means for sparse data, and
:data:`SPARSE_AUTO_NOTE` says so.

Statistics are computed in float64. :meth:`Preprocessor.to_arrays` and
:meth:`Preprocessor.from_arrays` round-trip it through ``np.savez`` with ``allow_pickle=False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from slopelab.data.dataset import PREPROCESS_KINDS
from slopelab.data.errors import DataError, reported_as
from slopelab.sparse import check_sparse_features, is_sparse
from slopelab.validation import check_feature_rows

SPARSE_SAFE_KINDS = ("scale", "none")
SPARSE_AUTO_PREPROCESS = "scale"
SPARSE_AUTO_NOTE = (
    "sparse features are scaled by their largest absolute value (preprocess 'scale'), never "
    "centered: centering would make them dense"
)


class Preprocessor:
    """Fit on training rows, then transform any split the same way.

    >>> X_train = np.array([[0.0, 10.0], [2.0, 30.0]])
    >>> preprocessor = Preprocessor("center").fit(X_train)
    >>> preprocessor.transform(np.array([[1.0, 20.0], [3.0, 20.0]]))
    array([[0., 0.],
           [2., 0.]], dtype=float32)
    """

    def __init__(self, kind: str = "standardize") -> None:
        if kind not in PREPROCESS_KINDS:
            listed = ", ".join(repr(choice) for choice in PREPROCESS_KINDS)
            raise DataError(f"unknown preprocessing {kind!r}; valid choices are {listed}")
        self.kind = kind
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def __repr__(self) -> str:
        fitted = f", fitted on {len(self.mean_)} features" if self.mean_ is not None else ""
        return f"Preprocessor({self.kind!r}{fitted})"

    @property
    def num_features(self) -> int | None:
        """D seen by :meth:`fit`, or None before fitting."""
        return None if self.mean_ is None else len(self.mean_)

    def fit(self, X: Any) -> Preprocessor:
        """Learn ``mean_`` and ``scale_`` from the training rows ``X (N, D)``; returns self."""
        if is_sparse(X):
            return self._fit_sparse(X)
        with reported_as("Preprocessor.fit"):
            X = check_feature_rows(X)  # in its own dtype: no float64 copy of uint8 images
        num_features = X.shape[1]
        mean = np.zeros(num_features)
        scale = np.ones(num_features)
        if self.kind in ("center", "standardize"):
            mean = X.mean(axis=0, dtype=np.float64)
        if self.kind == "standardize":
            variance = _column_variance(X, mean)
            scale = np.where(_is_constant(variance, mean, len(X)), 1.0, np.sqrt(variance))
        if self.kind == "scale":
            largest = max(abs(float(X.max())), abs(float(X.min())))
            scale = np.full(num_features, largest if largest > 0 else 1.0)
        self.mean_, self.scale_ = mean, scale
        return self

    def _fit_sparse(self, X: Any) -> Preprocessor:
        """The sparse-safe statistics: ``mean_`` 0 always; ``scale_`` the largest ``|x|`` among
        the stored values for ``"scale"``, 1 for ``"none"``."""
        _refuse_centering(self.kind)
        with reported_as("Preprocessor.fit"):
            X = check_sparse_features(X)
        scale = 1.0
        if self.kind == "scale" and X.nnz:
            scale = float(np.abs(X.data).max()) or 1.0
        self.mean_ = np.zeros(X.shape[1])
        self.scale_ = np.full(X.shape[1], scale)
        return self

    def transform(self, X: Any, dtype: Any = np.float32) -> Any:
        """``(X - mean_) / scale_`` as ``dtype`` (float32 unless asked for float64); sparse
        ``X`` as a CSR of its own nonzeros, each divided by its column's ``scale_``."""
        if self.mean_ is None or self.scale_ is None:
            raise DataError(
                f"this {self.kind!r} Preprocessor is not fitted yet; call fit(X_train) first"
            )
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise DataError(f"transform dtype must be a float type such as float32; got {dtype}")
        if is_sparse(X):
            return self._transform_sparse(X, dtype)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise DataError(
                f"X has shape {X.shape} but the preprocessing was fitted on {len(self.mean_)} "
                "features; pass rows (N, D) with the same layout as the training data"
            )
        # Work in the output dtype so a large float32 split is never copied to float64.
        out = np.subtract(X, self.mean_.astype(dtype), dtype=dtype)
        out /= self.scale_.astype(dtype)
        return out

    def _transform_sparse(self, X: Any, dtype: np.dtype) -> Any:
        if np.any(self.mean_ != 0):
            raise DataError(
                f"this {self.kind!r} preprocessing was fitted to center the features, which "
                "would make sparse data dense; pass dense rows, or fit 'scale' or 'none' on "
                "sparse data"
            )
        with reported_as("Preprocessor.transform"):
            X = check_sparse_features(X)
        if X.shape[1] != len(self.mean_):
            raise DataError(
                f"X has shape {X.shape} but the preprocessing was fitted on {len(self.mean_)} "
                "features; pass rows (N, D) with the same layout as the training data"
            )
        out = X.astype(dtype)  # a copy: the caller's matrix is left alone
        out.data /= self.scale_[out.indices].astype(dtype)
        return out

    def transform_in_place(self, X: np.ndarray) -> np.ndarray:
        """``X <- (X - mean_) / scale_`` in place, for a writable float32 ``X`` the caller owns
        (no second copy of the data); any other ``X`` gets :meth:`transform`'s new array."""
        if (
            not (isinstance(X, np.ndarray) and X.dtype == np.float32 and X.flags.writeable)
            or self.mean_ is None
        ):
            return self.transform(X)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            return self.transform(X)  # which raises, naming the shapes
        if self.kind in ("center", "standardize"):
            X -= self.mean_.astype(np.float32)
        if self.kind in ("standardize", "scale"):
            X /= self.scale_.astype(np.float32)
        return X

    def fit_transform(self, X: Any, dtype: Any = np.float32) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X, dtype=dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``{"kind": 0-d str array, "mean": (D,), "scale": (D,)}``, safe for ``np.savez``."""
        if self.mean_ is None or self.scale_ is None:
            raise DataError("an unfitted Preprocessor cannot be saved; call fit(X_train) first")
        return {"kind": np.array(self.kind), "mean": self.mean_, "scale": self.scale_}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Preprocessor:
        """The inverse of :meth:`to_arrays`; checks every array before trusting it."""
        missing = {"kind", "mean", "scale"} - set(arrays)
        if missing:
            raise DataError(
                f"saved preprocessing lacks {', '.join(sorted(missing))}; expected kind, mean "
                "and scale arrays written by Preprocessor.to_arrays()"
            )
        kind_array = np.asarray(arrays["kind"])
        if kind_array.shape != () or kind_array.dtype.kind != "U":
            raise DataError(
                f"saved preprocessing kind must be a 0-d string array; got {kind_array!r}"
            )
        preprocessor = cls(str(kind_array[()]))
        mean = np.asarray(arrays["mean"], dtype=np.float64)
        scale = np.asarray(arrays["scale"], dtype=np.float64)
        if mean.ndim != 1 or scale.shape != mean.shape:
            raise DataError(
                f"saved preprocessing mean and scale must be 1-D of equal length; got shapes "
                f"{mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise DataError(
                "saved preprocessing holds NaN, infinity or a scale <= 0; it is corrupt"
            )
        preprocessor.mean_, preprocessor.scale_ = mean, scale
        return preprocessor


def _refuse_centering(kind: str) -> None:
    if kind not in SPARSE_SAFE_KINDS:
        raise DataError(
            f"preprocess {kind!r} centers the features, which would make sparse data dense; "
            "use 'scale' (divide by the largest absolute value) or 'none' for sparse data"
        )


def _column_variance(X: np.ndarray, mean: np.ndarray, rows_per_chunk: int = 1024) -> np.ndarray:
    """``mean((X - mean)^2, axis=0)`` in float64, a chunk of rows at a time, so the temporary is
    a chunk's size rather than a float64 copy of the whole training set."""
    total = np.zeros(len(mean))
    for start in range(0, X.shape[0], rows_per_chunk):
        deviations = X[start : start + rows_per_chunk] - mean  # (chunk, D), float64
        total += np.einsum("ij,ij->j", deviations, deviations)
    return total / X.shape[0]


def _is_constant(variance: np.ndarray, mean: np.ndarray, count: int) -> np.ndarray:
    """Features whose variance is within rounding error of 0 (scikit-learn's bound in
    ``_is_constant_feature``): a column of one repeated value can get a variance of 1e-28
    from summation error, and dividing by its square root would blow the column up."""
    eps = np.finfo(np.float64).eps
    bound = count * eps * variance + (count * mean * eps) ** 2
    return variance <= bound
