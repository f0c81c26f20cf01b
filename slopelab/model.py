"""``model.npz``: a trained linear classifier with everything needed to use it on raw data.

Arrays: ``W (D, C)`` and ``b (C,)`` in the space of the *preprocessed* features, the
preprocessing (``preprocess/kind``, ``preprocess/mean (D,)``, ``preprocess/scale (D,)``, fitted
on the training split), ``class_names (C,)``, and ``meta``, a JSON object (loss, penalty, the
dataset's name, its resolved data config with the SHA-256 of a data file, image shape, and
for a CSV with a header row ``feature_names`` (D names, in ``W``'s row order) and
``label_column``). Rows given to the model later are matched to those names
(:mod:`slopelab.data.columns`).

:func:`load_model` reads it with :func:`slopelab.npzfile.load_npz` (no pickle) and checks every
part before trusting it: a missing array, a wrong shape, ``W`` and ``b`` that disagree, a
number of class names other than ``C``, malformed ``meta`` or preprocessing is one
:class:`~slopelab.runs.RunError` naming the file and the part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data import Preprocessor
from slopelab.data.columns import Layout
from slopelab.data.labels import check_class_names
from slopelab.errors import InvalidValueError, SlopelabError
from slopelab.linear import class_scores
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.npzfile import load_npz
from slopelab.runs import MODEL, RunError, atomic_save_npz
from slopelab.softmax import softmax_probabilities
from slopelab.sparse import is_sparse
from slopelab.validation import check_features, check_params

PREPROCESS = "preprocess/"
REQUIRED = ("W", "b", "class_names", "meta")


@dataclass
class SavedModel:
    """A linear classifier on raw rows: preprocessing, then ``scores = X @ W + b``."""

    params: dict[str, np.ndarray]
    preprocessor: Preprocessor
    class_names: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def loss(self) -> str:
        return self.meta.get("loss", "softmax")

    @property
    def num_features(self) -> int:
        return self.params["W"].shape[0]

    @property
    def layout(self) -> Layout:
        """The columns the model reads: how many, their names and the label column's name
        (None when its training data had no column names)."""
        names = self.meta.get("feature_names")
        return Layout(
            self.num_features,
            None if names is None else tuple(names),
            self.meta.get("label_column"),
        )

    def features(self, X_raw: Any) -> Any:
        """Validate raw rows and apply the saved preprocessing (in ``W``'s dtype); sparse rows
        stay a sparse CSR (a preprocessing that centers refuses them)."""
        dtype = self.params["W"].dtype
        X = check_features(X_raw, dtype=dtype)
        if X.shape[1] != self.num_features:
            raise InvalidValueError(
                f"X has {X.shape[1]} features but the model expects {self.num_features}; "
                "use data with the same layout as the training data"
            )
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, by row
            features = self.preprocessor.transform(X, dtype=dtype)
        _check_rows_finite(features, "after the model's preprocessing")
        return features

    def scores(self, X_raw: Any) -> np.ndarray:
        """Class scores ``(N, C)``; a row whose scores overflow is an error, not a guess."""
        features = self.features(X_raw)
        with np.errstate(over="ignore", invalid="ignore"):
            scores = class_scores(self.params, features)
        _check_rows_finite(scores, "in the model's class scores")
        return scores

    def predict(self, X_raw: Any) -> np.ndarray:
        """Predicted class indices (N,)."""
        return self.scores(X_raw).argmax(axis=1)

    def probabilities(self, X_raw: Any) -> np.ndarray | None:
        """Softmax probabilities (N, C) for a softmax model, else None."""
        if self.loss != "softmax":
            return None
        return softmax_probabilities(self.scores(X_raw))


def _check_rows_finite(values: Any, where: str) -> None:
    if is_sparse(values):  # only the stored values can be NaN or infinite
        bad_entries = np.flatnonzero(~np.isfinite(values.data))
        bad = np.searchsorted(values.indptr, bad_entries, side="right") - 1
    else:
        bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise InvalidValueError(
            f"row {bad[0]} of X overflows {where} (its values lie far outside the range of "
            "the training data); check that row"
        )


def save_model(path: Path, model: SavedModel) -> None:
    arrays = {"W": model.params["W"], "b": model.params["b"]}
    arrays.update({PREPROCESS + k: v for k, v in model.preprocessor.to_arrays().items()})
    arrays["class_names"] = np.array(model.class_names, dtype=str)
    arrays["meta"] = np.array(json.dumps(model.meta))
    atomic_save_npz(path, arrays)


def load_model(path: Path | str) -> SavedModel:
    """Load a model from ``model.npz`` or from a run folder that holds one."""
    path = Path(path).expanduser()
    if path.is_dir() and not (path / MODEL).exists():
        from slopelab.checkpoint import missing_model_error  # only for a folder without a model

        raise missing_model_error(path)
    if path.is_dir():
        path = path / MODEL
    arrays = load_npz(path, "model file (model.npz)", error=RunError)
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        raise RunError(
            f"{path} is not a slopelab model: it has no {', '.join(missing)} (it has "
            f"{', '.join(sorted(arrays)) or 'no arrays'}); models are written by `slopelab train`"
        )
    try:
        params = _params(arrays)
        num_features, num_classes = params["W"].shape
        class_names = _class_names(arrays["class_names"], num_classes)
        preprocessor = _preprocessor(arrays, num_features)
        meta = _meta(arrays["meta"], num_features)
    except SlopelabError as error:
        raise RunError(f"{path} is not a usable slopelab model: {error}") from None
    return SavedModel(params, preprocessor, class_names, meta)


def _params(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    params = check_params({"W": arrays["W"], "b": arrays["b"]})
    dtype = params["W"].dtype if params["W"].dtype.kind == "f" else np.dtype(np.float64)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    num_features, num_classes = params["W"].shape
    if num_features < 1 or num_classes < 2:
        raise InvalidValueError(
            f"W has shape {params['W'].shape}; a classifier needs W (D, C) with D >= 1, C >= 2"
        )
    return {key: value.astype(dtype, copy=False) for key, value in params.items()}


def _class_names(names: np.ndarray, num_classes: int) -> tuple[str, ...]:
    result = check_class_names(names, "class_names")
    if len(result) != num_classes:
        raise InvalidValueError(
            f"it has {len(result)} class names but W has {num_classes} columns (classes); "
            "they must match"
        )
    return result


def _preprocessor(arrays: dict[str, np.ndarray], num_features: int) -> Preprocessor:
    saved = {
        key[len(PREPROCESS) :]: value for key, value in arrays.items() if key.startswith(PREPROCESS)
    }
    for key in ("mean", "scale"):
        if key in saved and saved[key].dtype.kind not in "fiu":
            raise InvalidValueError(
                f"its preprocessing {key} must be numbers; got dtype {saved[key].dtype}"
            )
    preprocessor = Preprocessor.from_arrays(saved)
    if preprocessor.num_features != num_features:
        raise InvalidValueError(
            f"its preprocessing is for {preprocessor.num_features} features but W has "
            f"{num_features} rows"
        )
    return preprocessor


def _meta(array: np.ndarray, num_features: int) -> dict[str, Any]:
    if array.shape != () or array.dtype.kind != "U":
        raise InvalidValueError(f"meta must be a JSON string; got {array.dtype} {array.shape}")
    try:
        meta = json.loads(str(array[()]))
    except json.JSONDecodeError as error:
        raise InvalidValueError(f"meta is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise InvalidValueError(f"meta must be a JSON object; got {type(meta).__name__}")
    loss = meta.get("loss", "softmax")
    if not isinstance(loss, str) or loss not in EXAMPLE_LOSSES:
        raise InvalidValueError(f"meta names an unknown loss {loss!r}")
    _check_data_options(meta.get("data"))
    _check_columns(meta, num_features)
    return meta


def _check_columns(meta: dict[str, Any], num_features: int) -> None:
    """``feature_names``: None or D distinct strings; ``label_column``: None or a string."""
    names = meta.get("feature_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise InvalidValueError("meta's feature_names must be a list of column names")
        if len(names) != num_features:
            raise InvalidValueError(
                f"meta names {len(names)} feature columns but W has {num_features} rows"
            )
        if len(set(names)) != len(names):
            raise InvalidValueError("meta's feature_names name a column twice")
    label = meta.get("label_column")
    if label is not None and not isinstance(label, str):
        raise InvalidValueError(f"meta's label_column must be a column name; got {label!r}")


def _check_data_options(options: Any) -> None:
    """``meta["data"]``: the run's resolved data options, as ``slopelab train`` saves them."""
    if options is None:
        return
    if not isinstance(options, dict) or not isinstance(options.get("data"), str):
        raise InvalidValueError("meta's data must be a JSON object naming the data")
    kinds = {"data_dir": str, "label_column": str, "seed": int, "sha256": str}
    kinds.update({"test_data": str, "test_sha256": str})
    kinds.update({key: int for key in ("num_train", "num_val", "num_test")})
    for key, kind in kinds.items():
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise InvalidValueError(f"meta's data has a malformed {key}: {value!r}")
    base = options.get("zero_based", "auto")
    if not (isinstance(base, bool) or base == "auto"):
        raise InvalidValueError(f"meta's data has a malformed zero_based: {base!r}")
