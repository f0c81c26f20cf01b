"""Preparing data keeps one copy of it: the splits are preprocessed in place (the same numbers
as the copying transform), and nothing else of the dataset's size is allocated on the way."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import slopelab.npzfile
from slopelab.data.prepare import data_config, prepare_data
from slopelab.data.preprocess import Preprocessor


@pytest.mark.parametrize("kind", ["standardize", "center", "scale", "none"])
def test_transform_in_place_matches_transform(kind):
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((50, 7)) * 30 + 100).astype(np.float32)
    preprocessor = Preprocessor(kind).fit(X)
    expected = preprocessor.transform(X)
    result = preprocessor.transform_in_place(X)
    assert result is X
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_transform_in_place_copies_what_it_does_not_own():
    """float64, read-only or uint8 input is left as it was."""
    X = np.arange(12.0).reshape(4, 3)
    preprocessor = Preprocessor("center").fit(X)
    before = X.copy()
    result = preprocessor.transform_in_place(X)
    assert result is not X and result.dtype == np.float32
    np.testing.assert_array_equal(X, before)
    frozen = X.astype(np.float32)
    frozen.flags.writeable = False
    assert preprocessor.transform_in_place(frozen) is not frozen


def write_npz(path, num_rows=6000, num_features=300):
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((num_rows, num_features)) * 20 + 50).astype(np.float32)
    y = rng.integers(0, 5, num_rows)
    val, test = num_rows // 10, num_rows // 5
    np.savez(
        path, X=X[: -val - test], y=y[: -val - test], X_val=X[-val - test : -test],
        y_val=y[-val - test : -test], X_test=X[-test:], y_test=y[-test:],
    )  # fmt: skip
    return X


@pytest.mark.parametrize("preprocess", ["standardize", "center"])
def test_prepared_splits_equal_the_copying_transform(tmp_path, preprocess):
    path = tmp_path / "rows.npz"
    X = write_npz(path, 600, 20)
    config = data_config(str(path), preprocess=preprocess)
    in_place, copied = prepare_data(config), prepare_data(config, keep_raw=True)
    for split in ("X_train", "X_val", "X_test"):
        np.testing.assert_array_equal(getattr(in_place, split), getattr(copied, split))
    assert in_place.dataset.X_train is in_place.X_train  # one copy
    np.testing.assert_array_equal(copied.dataset.X_train, X[: len(copied.y_train)])  # raw kept


def test_preparing_allocates_the_data_once(tmp_path, monkeypatch):
    """Reading the file allocates the data once; preprocessing in place adds only vectors and
    a chunk of rows. The file is read in chunks
    smaller than this test's data, as they are smaller than real datasets."""
    monkeypatch.setattr(slopelab.npzfile, "CHUNK", 1 << 16)
    path = tmp_path / "rows.npz"
    X = write_npz(path)
    config = data_config(str(path), preprocess="standardize")
    tracemalloc.start()
    try:
        prepared = prepare_data(config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prepared.X_train.dtype == np.float32
    # the data once, plus the file's labels, a float64 chunk of rows for the variance and
    # per-feature vectors; standardizing into new arrays (and a float64 variance of the whole
    # training split) made it over three times the data
    assert peak < 2 * X.nbytes


def test_shared_splits_are_not_transformed_twice():
    """toy2d's nine points are every split: each must be preprocessed once."""
    config = data_config("toy2d", preprocess="standardize")
    prepared = prepare_data(config)
    np.testing.assert_allclose(prepared.X_train.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_array_equal(prepared.X_train, prepared.X_test)
