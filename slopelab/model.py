"""``model.npz``: a trained linear classifier with everything needed to use it on raw data.

Arrays: ``W (D, C)`` and ``b (C,)`` in the space of the *preprocessed* features, the
preprocessing (``preprocess/...``, fitted on the training split), ``class_names``, and a JSON
``meta`` string (loss, penalty, dataset, image shape). Loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data import Preprocessor
from slopelab.errors import InvalidValueError
from slopelab.linear import class_scores
from slopelab.runs import MODEL, RunError, atomic_save_npz, load_npz
from slopelab.softmax import softmax_probabilities
from slopelab.validation import check_features


@dataclass
class SavedModel:
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

    def features(self, X_raw: Any) -> np.ndarray:
        """Validate raw rows and apply the saved preprocessing."""
        X = check_features(X_raw)
        if X.shape[1] != self.num_features:
            raise InvalidValueError(
                f"X has {X.shape[1]} features but the model expects {self.num_features}; "
                "use data with the same layout as the training data"
            )
        return self.preprocessor.transform(X).astype(self.params["W"].dtype, copy=False)

    def scores(self, X_raw: Any) -> np.ndarray:
        return class_scores(self.params, self.features(X_raw))

    def predict(self, X_raw: Any) -> np.ndarray:
        """Predicted class indices (N,)."""
        return self.scores(X_raw).argmax(axis=1)

    def probabilities(self, X_raw: Any) -> np.ndarray | None:
        """Softmax probabilities (N, C) for a softmax model, else None."""
        if self.loss != "softmax":
            return None
        return softmax_probabilities(self.scores(X_raw))


def save_model(path: Path, model: SavedModel) -> None:
    arrays = {"W": model.params["W"], "b": model.params["b"]}
    arrays.update({f"preprocess/{k}": v for k, v in model.preprocessor.to_arrays().items()})
    arrays["class_names"] = np.array(model.class_names, dtype=str)
    arrays["meta"] = np.array(json.dumps(model.meta))
    atomic_save_npz(path, arrays)


def load_model(path: Path | str) -> SavedModel:
    """Load a model from ``model.npz`` or from a run folder that holds one."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL
    arrays = load_npz(path, "model file (model.npz)")
    try:
        params = {"W": arrays["W"], "b": arrays["b"]}
        prefix = "preprocess/"
        preprocessor = Preprocessor.from_arrays(
            {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        )
        class_names = tuple(str(name) for name in arrays["class_names"])
        meta = json.loads(str(arrays["meta"]))
    except (KeyError, ValueError) as error:
        raise RunError(
            f"{path} is not a slopelab model: missing or bad entry ({error}); "
            "models are written by `slopelab train`"
        ) from None
    return SavedModel(params, preprocessor, class_names, meta)
