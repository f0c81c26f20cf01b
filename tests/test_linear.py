"""The linear classifier: scores, predictions, accuracy, initialization, generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slopelab.linear import accuracy, as_generator, class_scores, init_params, predict_classes


def scores_by_loops(params, X):
    """``s_ij = sum_d x_id W_dj + b_j`` one entry at a time: the oracle for class_scores."""
    W, b = params["W"], params["b"]
    scores = np.zeros((X.shape[0], W.shape[1]))
    for i in range(X.shape[0]):
        for j in range(W.shape[1]):
            scores[i, j] = sum(float(X[i, d]) * float(W[d, j]) for d in range(X.shape[1]))
            scores[i, j] += float(b[j])
    return scores


@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 4)),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=100, deadline=None)
def test_class_scores_match_the_formula(shape, seed):
    num_examples, num_features, num_classes = shape
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, num_features))
    params = {
        "W": rng.standard_normal((num_features, num_classes)),
        "b": rng.standard_normal(num_classes),
    }
    copies = {key: value.copy() for key, value in params.items()}
    scores = class_scores(params, X)
    np.testing.assert_allclose(scores, scores_by_loops(params, X), rtol=1e-12, atol=1e-12)
    for key in params:  # the bias is added in place to the product, never to the params
        np.testing.assert_array_equal(params[key], copies[key])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_scores_keep_the_dtype(dtype):
    params = {"W": np.ones((3, 2), dtype), "b": np.ones(2, dtype)}
    assert class_scores(params, np.ones((4, 3), dtype)).dtype == dtype


def test_predictions_take_the_highest_score_and_the_first_on_ties():
    params = {"W": np.eye(3), "b": np.zeros(3)}
    X = np.array([[0.1, 0.9, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -0.5]])
    np.testing.assert_array_equal(predict_classes(params, X), [1, 0, 0, 2])


@given(
    scores=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 4)),
        elements=st.floats(-10, 10, allow_nan=False),
    ),
    data=st.data(),
)
@settings(max_examples=100, deadline=None)
def test_accuracy_is_the_fraction_of_correct_rows(scores, data):
    """With W = I and b = 0 the scores are the rows of X themselves."""
    num_examples, num_classes = scores.shape
    y = np.array(
        data.draw(
            st.lists(st.integers(0, num_classes - 1), min_size=num_examples, max_size=num_examples)
        )
    )
    params = {"W": np.eye(num_classes), "b": np.zeros(num_classes)}
    correct = sum(int(np.argmax(row)) == label for row, label in zip(scores, y, strict=True))
    assert accuracy(params, scores, y) == pytest.approx(correct / num_examples)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_params_follow_cs231n(dtype):
    params = init_params(400, 50, np.random.default_rng(0), dtype=dtype)
    assert params["W"].shape == (400, 50) and params["b"].shape == (50,)
    assert params["W"].dtype == dtype and params["b"].dtype == dtype
    np.testing.assert_array_equal(params["b"], 0.0)
    # 20000 draws of 0.001 * N(0, 1): the sample std is 0.001 within 2% (5 sigma is 2.5%).
    assert params["W"].std() == pytest.approx(1e-3, rel=0.025)
    assert abs(params["W"].mean()) < 5 * 1e-3 / np.sqrt(20000)


def test_init_params_scale_and_reproducibility():
    first = init_params(5, 3, np.random.default_rng(7), scale=0.5)
    again = init_params(5, 3, np.random.default_rng(7), scale=0.5)
    np.testing.assert_array_equal(first["W"], again["W"])
    reference = 0.5 * np.random.default_rng(7).standard_normal((5, 3))
    np.testing.assert_array_equal(first["W"], reference)


def test_as_generator_accepts_generators_seeds_and_none():
    generator = np.random.default_rng(3)
    assert as_generator(generator) is generator
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert as_generator(np.int64(5)).integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(as_generator(None), np.random.Generator)


@pytest.mark.parametrize(
    ("rng", "message"),
    [
        (True, r"rng must be a numpy.random.Generator, an int seed or None; got bool"),
        (1.5, r"rng must be .* got float"),
        ("0", r"rng must be .* got str"),
        (np.random.RandomState(0), r"rng must be .* got RandomState"),
    ],
)
def test_as_generator_rejects_anything_else(rng, message):
    with pytest.raises(TypeError, match=message):
        as_generator(rng)


def test_a_negative_seed_has_a_clear_error():
    with pytest.raises(ValueError, match=r"rng seed must be >= 0; got -1"):
        as_generator(-1)
