"""Preprocessing: fitted on the training split only, float32 out, saved without pickle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.preprocessing import StandardScaler

from slopelab.data import DataError, Preprocessor

X_TRAIN = np.array([[0.0, 5.0, -2.0], [2.0, 5.0, 4.0], [4.0, 5.0, 1.0]])
X_VAL = np.array([[1.0, 6.0, 0.0]])

# kind -> (mean_, scale_) expected on X_TRAIN
EXPECTED = {
    "center": ([2.0, 5.0, 1.0], [1.0, 1.0, 1.0]),
    "standardize": ([2.0, 5.0, 1.0], [np.sqrt(8 / 3), 1.0, np.sqrt(6.0)]),  # constant: 1
    "scale": ([0.0, 0.0, 0.0], [5.0, 5.0, 5.0]),  # the largest |x| in the training data
    "none": ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("kind", EXPECTED)
def test_statistics_come_from_the_training_split_only(kind):
    mean, scale = EXPECTED[kind]
    preprocessor = Preprocessor(kind).fit(X_TRAIN)
    np.testing.assert_allclose(preprocessor.mean_, mean)
    np.testing.assert_allclose(preprocessor.scale_, scale)
    out = preprocessor.transform(X_VAL)  # validation rows use the *training* statistics
    np.testing.assert_allclose(out, (X_VAL - mean) / scale, rtol=1e-6)
    assert out.dtype == np.float32


def test_center_subtracts_the_mean_training_image_like_cs231n():
    rng = np.random.default_rng(0)
    X_train = rng.integers(0, 256, (50, 12)).astype(np.float32)
    X_val = rng.integers(0, 256, (5, 12)).astype(np.float32)
    mean_image = np.mean(X_train, axis=0)
    out = Preprocessor("center").fit(X_train).transform(X_val)
    np.testing.assert_allclose(out, X_val - mean_image, rtol=1e-5, atol=1e-4)


def test_standardize_matches_scikit_learn():
    rng = np.random.default_rng(1)
    X_train = rng.normal(3.0, 2.0, (40, 5))
    X_train[:, 2] = 7.0  # a constant feature: scikit-learn also uses scale 1
    X_test = rng.normal(3.0, 2.0, (10, 5))
    oracle = StandardScaler().fit(X_train)
    ours = Preprocessor("standardize").fit(X_train)
    np.testing.assert_allclose(ours.transform(X_test, dtype=np.float64), oracle.transform(X_test))
    np.testing.assert_allclose(ours.transform(X_train)[:, 2], 0.0)


def test_a_repeated_value_is_constant_despite_rounding():
    X = np.full((13, 1), 315.49232019)  # its float64 mean is off by one ulp: variance 1e-27
    np.testing.assert_array_equal(Preprocessor("standardize").fit_transform(X), 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype(dtype):
    out = Preprocessor("standardize").fit(X_TRAIN).transform(X_TRAIN.astype(np.float32), dtype)
    assert out.dtype == dtype


@pytest.mark.parametrize("kind", EXPECTED)
def test_save_and_load_inside_an_npz_without_pickle(tmp_path, kind):
    preprocessor = Preprocessor(kind).fit(X_TRAIN)
    arrays = {f"preprocess/{key}": value for key, value in preprocessor.to_arrays().items()}
    assert arrays["preprocess/kind"].shape == () and arrays["preprocess/kind"].dtype.kind == "U"
    np.savez(tmp_path / "model.npz", W=np.zeros((3, 2)), **arrays)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as saved:
        loaded = Preprocessor.from_arrays(
            {key.split("/", 1)[1]: saved[key] for key in saved.files if key.startswith("pre")}
        )
    assert loaded.kind == kind
    np.testing.assert_array_equal(loaded.transform(X_VAL), preprocessor.transform(X_VAL))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"kind": np.array("center"), "mean": np.zeros(2)}, r"saved preprocessing lacks scale"),
        ({"kind": np.array("zca"), "mean": np.zeros(2), "scale": np.ones(2)},
         r"unknown preprocessing 'zca'; valid choices are 'standardize', 'center', 'scale'"),
        ({"kind": np.array(["center"]), "mean": np.zeros(2), "scale": np.ones(2)},
         r"kind must be a 0-d string array"),
        ({"kind": np.array("center"), "mean": np.zeros(2), "scale": np.ones(3)},
         r"mean and scale must be 1-D of equal length; got shapes \(2,\) and \(3,\)"),
        ({"kind": np.array("scale"), "mean": np.zeros(2), "scale": np.array([1.0, 0.0])},
         r"holds NaN, infinity or a scale <= 0; it is corrupt"),
    ],
)  # fmt: skip
def test_from_arrays_checks_what_it_loads(arrays, message):
    with pytest.raises(DataError, match=message):
        Preprocessor.from_arrays(arrays)


def test_misuse_is_explained():
    with pytest.raises(DataError, match=r"unknown preprocessing 'whiten'; valid choices are"):
        Preprocessor("whiten")
    with pytest.raises(DataError, match=r"this 'center' Preprocessor is not fitted yet; call fit"):
        Preprocessor("center").transform(X_VAL)
    with pytest.raises(DataError, match=r"an unfitted Preprocessor cannot be saved"):
        Preprocessor("center").to_arrays()
    fitted = Preprocessor("center").fit(X_TRAIN)
    with pytest.raises(DataError, match=r"X has shape \(1, 2\) but the preprocessing was fitted "
                       r"on 3 features"):  # fmt: skip
        fitted.transform(np.ones((1, 2)))
    with pytest.raises(DataError, match=r"transform dtype must be a float type"):
        fitted.transform(X_VAL, dtype=np.int32)
    with pytest.raises(DataError, match=r"Preprocessor.fit: X contains NaN or infinity in row 1"):
        Preprocessor("center").fit([[1.0], [np.nan]])
    assert repr(fitted) == "Preprocessor('center', fitted on 3 features)"


@settings(max_examples=50, deadline=None)
@given(
    X=hnp.arrays(np.float64, st.tuples(st.integers(2, 20), st.integers(1, 6)),
                 elements=st.floats(-1e3, 1e3, allow_nan=False)),
    kind=st.sampled_from(["standardize", "center", "scale"]),
)  # fmt: skip
def test_transform_is_finite_and_scaled_as_promised(X, kind):
    out = Preprocessor(kind).fit_transform(X, dtype=np.float64)
    assert np.all(np.isfinite(out))
    if kind == "scale":
        assert np.abs(out).max() <= 1.0 + 1e-12
    if kind in ("center", "standardize"):
        np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-6 * (1 + np.abs(X).max()))
