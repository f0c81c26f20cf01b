"""model.npz: saved and loaded exactly, and every damaged part named in one RunError."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slopelab.data import Preprocessor
from slopelab.data.columns import Layout
from slopelab.errors import InvalidValueError
from slopelab.model import SavedModel, load_model, save_model
from slopelab.runs import RunError

RNG = np.random.default_rng(0)
X_TRAIN = RNG.standard_normal((30, 3)) * [1.0, 10.0, 0.1]


def model(**meta) -> SavedModel:
    params = {
        "W": RNG.standard_normal((3, 4)).astype(np.float32),
        "b": RNG.standard_normal(4).astype(np.float32),
    }
    meta = {"loss": "softmax", "penalty": "l2", "dataset": "toy", **meta}
    return SavedModel(params, Preprocessor("standardize").fit(X_TRAIN), ("a", "b", "c", "d"), meta)


def arrays_of(saved: SavedModel) -> dict[str, np.ndarray]:
    arrays = {"W": saved.params["W"], "b": saved.params["b"]}
    arrays.update({f"preprocess/{k}": v for k, v in saved.preprocessor.to_arrays().items()})
    arrays["class_names"] = np.array(saved.class_names)
    arrays["meta"] = np.array(json.dumps(saved.meta))
    return arrays


def test_a_saved_model_loads_back_and_predicts_the_same(tmp_path):
    original = model(data={"data": "/abs/t.csv", "seed": 3, "num_val": None})
    save_model(tmp_path / "model.npz", original)
    loaded = load_model(tmp_path)  # a run folder works too
    assert loaded.class_names == original.class_names and loaded.meta == original.meta
    np.testing.assert_array_equal(loaded.params["W"], original.params["W"])
    np.testing.assert_array_equal(loaded.predict(X_TRAIN), original.predict(X_TRAIN))
    manual = (loaded.preprocessor.transform(X_TRAIN) @ loaded.params["W"]) + loaded.params["b"]
    np.testing.assert_array_equal(loaded.predict(X_TRAIN), manual.argmax(axis=1))


def changed(**changes):
    arrays = arrays_of(model())
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


BAD_MODELS = {
    "no W": (changed(W=None), r"it has no W \(it has b, class_names, meta, preprocess/kind"),
    "no meta": (changed(meta=None), r"it has no meta"),
    "W 1-D": (changed(W=np.ones(3)), r"params\['W'\] must be 2-D of shape \(D, C\)"),
    "b mismatch": (changed(b=np.ones(3)), r"params\['b'\] must have shape \(4,\) to match W"),
    "W NaN": (changed(W=np.full((3, 4), np.nan)), r"params\['W'\] contains NaN or infinity"),
    "W text": (changed(W=np.full((3, 4), "x")), r"params\['W'\] must be numeric"),
    "one class": (changed(W=np.ones((3, 1)), b=np.ones(1)), r"W has shape \(3, 1\); a classifier"),
    "fewer names": (
        changed(class_names=np.array(["a", "b", "c"])),
        r"it has 3 class names but W has 4 columns \(classes\); they must match",
    ),
    "more names": (changed(class_names=np.array(list("abcde"))), r"5 class names but W has 4"),
    "duplicate names": (changed(class_names=np.array(list("abca"))), r"lists 'a' more than once"),
    "2-D names": (changed(class_names=np.array([["a", "b", "c", "d"]])), r"must be a 1-D array"),
    "meta not JSON": (changed(meta=np.array("{loss: softmax")), r"meta is not valid JSON"),
    "meta a list": (changed(meta=np.array("[1, 2]")), r"meta must be a JSON object; got list"),
    "meta numbers": (changed(meta=np.array([1.0, 2.0])), r"meta must be a JSON string"),
    "unknown loss": (changed(meta=np.array('{"loss": "hinge"}')), r"unknown loss 'hinge'"),
    "loss a list": (changed(meta=np.array('{"loss": [1]}')), r"unknown loss \[1\]"),
    "data not dict": (changed(meta=np.array('{"data": 3}')), r"meta's data must be a JSON obj"),
    "data seed text": (
        changed(meta=np.array('{"data": {"data": "digits", "seed": "0"}}')),
        r"meta's data has a malformed seed: '0'",
    ),
    "feature_names short": (
        changed(meta=np.array('{"feature_names": ["a", "b"]}')),
        r"meta names 2 feature columns but W has 3 rows",
    ),
    "feature_names numbers": (
        changed(meta=np.array('{"feature_names": [1, 2, 3]}')),
        r"meta's feature_names must be a list of column names",
    ),
    "feature_names a string": (
        changed(meta=np.array('{"feature_names": "abc"}')),
        r"meta's feature_names must be a list of column names",
    ),
    "feature_names twice": (
        changed(meta=np.array('{"feature_names": ["a", "b", "a"]}')),
        r"meta's feature_names name a column twice",
    ),
    "label_column number": (
        changed(meta=np.array('{"label_column": 3}')),
        r"meta's label_column must be a column name; got 3",
    ),
    "data sha256 number": (
        changed(meta=np.array('{"data": {"data": "/a.csv", "sha256": 5}}')),
        r"meta's data has a malformed sha256: 5",
    ),
    "preprocess missing": (changed(**{"preprocess/scale": None}), r"preprocessing lacks scale"),
    "preprocess text": (
        changed(**{"preprocess/mean": np.array(["a", "b", "c"])}),
        r"its preprocessing mean must be numbers; got dtype <U1",
    ),
    "preprocess width": (
        changed(**{"preprocess/mean": np.zeros(5), "preprocess/scale": np.ones(5)}),
        r"its preprocessing is for 5 features but W has 3 rows",
    ),
    "preprocess zero scale": (
        changed(**{"preprocess/scale": np.zeros(3)}),
        r"saved preprocessing holds NaN, infinity or a scale <= 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_every_damaged_part_of_a_model_is_named(tmp_path, case):
    arrays, message = BAD_MODELS[case]
    np.savez(tmp_path / "model.npz", **arrays)
    with pytest.raises(RunError, match=message) as raised:
        load_model(tmp_path / "model.npz")
    assert "\n" not in str(raised.value) and "model.npz" in str(raised.value)


def test_damaged_model_files_are_run_errors(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"")
    with pytest.raises(RunError, match=r"model\.npz is empty \(0 bytes\), not a model file"):
        load_model(path)
    with pytest.raises(RunError, match=r"no model file \(model\.npz\) at .*nowhere"):
        load_model(tmp_path / "nowhere")


def test_rows_too_large_for_float32_or_after_preprocessing_are_errors_not_guesses():
    saved = model()
    with pytest.raises(InvalidValueError, match=r"X contains 1e\+40 in row 1, column 0, too large "
                       r"for float32"):  # fmt: skip
        saved.predict(np.array([[0.0, 0.0, 0.0], [1e40, 0.0, 0.0]]))
    saved.preprocessor.scale_ = np.array([1e-30, 1.0, 1.0])  # a feature that barely varied
    with pytest.raises(InvalidValueError, match=r"row 0 of X overflows after the model's "
                       r"preprocessing"):  # fmt: skip
        saved.predict(np.array([[1e10, 0.0, 0.0]]))


def test_scores_that_overflow_are_errors():
    saved = model()
    saved.params["W"] = np.full((3, 4), 3e38, dtype=np.float32)
    saved.preprocessor = Preprocessor("none").fit(X_TRAIN)
    with pytest.raises(
        InvalidValueError, match=r"row 0 of X overflows in the model's class scores"
    ):
        saved.probabilities(np.array([[10.0, 10.0, 10.0]]))


def test_a_model_knows_its_columns_from_meta(tmp_path):
    save_model(tmp_path / "model.npz", model(feature_names=["x", "y", "z"], label_column="kind"))
    layout = load_model(tmp_path).layout
    assert (layout.num_features, layout.feature_names, layout.label_column) == (
        3,
        ("x", "y", "z"),
        "kind",
    )
    save_model(tmp_path / "model.npz", model())  # written before models knew their columns
    assert load_model(tmp_path).layout == Layout(3, None, None)
