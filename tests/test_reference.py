"""The naive twins (slopelab.reference): every form of every loss equals the vectorized loss.

Tolerances: the forms do the same float64 arithmetic in another order, so they agree to a few
ulps of the values involved (rtol 1e-11); on small-integer data every score and margin is exact,
so the hinge kinks and ties fall the same way in every form.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slopelab.losses import EXAMPLE_LOSSES, get_loss
from slopelab.reference import (
    HALF_VECTORIZED_LOSSES,
    LOOP_LOSSES,
    NAIVE_LOSSES,
    REFERENCE_FORMS,
)

LOSS_NAMES = list(EXAMPLE_LOSSES)
FORMS = list(REFERENCE_FORMS)


def random_problem(seed: int, N: int, D: int, C: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    params = {"W": scale * rng.standard_normal((D, C)), "b": scale * rng.standard_normal(C)}
    return params, X, y


def assert_matches_vectorized(name, twin, params, X, y, reg):
    expected_loss, expected = get_loss(name)(params, X, y, reg)
    loss, grads = twin(params, X, y, reg)
    assert loss == pytest.approx(float(expected_loss), rel=1e-12, abs=1e-12)
    for key in ("W", "b"):
        assert grads[key].shape == params[key].shape
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-11, atol=1e-12)


def test_every_loss_has_every_form():
    for form in REFERENCE_FORMS.values():
        assert form.keys() == EXAMPLE_LOSSES.keys()
    assert list(REFERENCE_FORMS.values()) == [NAIVE_LOSSES, LOOP_LOSSES, HALF_VECTORIZED_LOSSES]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("shape", [(1, 1, 2), (7, 3, 4), (20, 5, 10), (13, 1, 3)])
def test_every_form_equals_the_vectorized_loss(form, name, shape):
    params, X, y = random_problem(sum(shape), *shape)
    assert_matches_vectorized(name, REFERENCE_FORMS[form][name], params, X, y, reg=0.3)


def small_integer_problems():
    """Integer X, W, b in [-2, 2]: exact scores, so margins of exactly 0 and tied rivals are
    common (the cases where a strict ``> 0`` or the first index on ties matters)."""

    @st.composite
    def build(draw):
        N, D, C = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(2, 5))
        small = st.integers(-2, 2).map(float)
        X = draw(arrays(np.float64, (N, D), elements=small))
        W = draw(arrays(np.float64, (D, C), elements=small))
        b = draw(arrays(np.float64, (C,), elements=small))
        y = np.array(draw(st.lists(st.integers(0, C - 1), min_size=N, max_size=N)))
        return {"W": W, "b": b}, X, y

    return build()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", LOSS_NAMES)
@given(problem=small_integer_problems(), reg=st.sampled_from([0.0, 0.25, 3.0]))
@settings(max_examples=60, deadline=None)
def test_forms_agree_at_kinks_and_ties(form, name, problem, reg):
    params, X, y = problem
    assert_matches_vectorized(name, REFERENCE_FORMS[form][name], params, X, y, reg)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", LOSS_NAMES)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 8), st.integers(1, 5), st.integers(2, 6)),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
)
@settings(max_examples=30, deadline=None)
def test_forms_agree_on_random_data(form, name, seed, shape, scale):
    params, X, y = random_problem(seed, *shape, scale=scale)
    assert_matches_vectorized(name, REFERENCE_FORMS[form][name], params, X, y, reg=0.1)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_float32_inputs_are_computed_in_float64(form, name):
    params, X, y = random_problem(3, 9, 4, 3)
    params32 = {key: value.astype(np.float32) for key, value in params.items()}
    X32 = X.astype(np.float32)
    loss, grads = REFERENCE_FORMS[form][name](params32, X32, y, 0.2)
    assert grads["W"].dtype == np.float64 and grads["b"].dtype == np.float64
    as64 = {key: value.astype(np.float64) for key, value in params32.items()}
    assert_matches_vectorized(
        name, REFERENCE_FORMS[form][name], as64, X32.astype(np.float64), y, 0.2
    )
    expected_loss, _ = get_loss(name)(as64, X32.astype(np.float64), y, 0.2)
    assert loss == pytest.approx(float(expected_loss), rel=1e-12)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_inputs_are_not_mutated(form, name):
    params, X, y = random_problem(4, 6, 3, 4)
    copies = ({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
    REFERENCE_FORMS[form][name](params, X, y, 0.5)
    for key in ("W", "b"):
        np.testing.assert_array_equal(params[key], copies[0][key])
    np.testing.assert_array_equal(X, copies[1])
    np.testing.assert_array_equal(y, copies[2])


# Scores s = x W + b with W = identity and b = 0 are the row x itself.
IDENTITY_2 = {"W": np.eye(2), "b": np.zeros(2)}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("svm", [1.0, 0.0]),  # margin s_1 - s_0 + 1 = 0
        ("svm-structured", [1.0, 0.0]),
        ("svm-ova", [1.0, -1.0]),  # 1 - s_0 = 0 and 1 + s_1 = 0
    ],
)
def test_a_margin_of_exactly_zero_adds_no_loss_and_no_gradient(form, name, row):
    loss, grads = REFERENCE_FORMS[form][name](IDENTITY_2, np.array([row]), np.array([0]), 0.0)
    assert loss == 0.0
    np.testing.assert_array_equal(grads["W"], 0.0)
    np.testing.assert_array_equal(grads["b"], 0.0)


@pytest.mark.parametrize("form", FORMS)
def test_structured_svm_takes_the_first_rival_on_ties(form):
    params = {"W": np.eye(3), "b": np.zeros(3)}
    _, grads = REFERENCE_FORMS[form]["svm-structured"](
        params, np.array([[0.0, 0.5, 0.5]]), np.array([0]), 0.0
    )
    np.testing.assert_array_equal(grads["b"], [-1.0, 1.0, 0.0])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("name", "expected"), [("softmax", np.log(10)), ("svm", 9.0)])
def test_cs231n_sanity_losses_at_tiny_weights(form, name, expected):
    """With W near 0 the softmax loss is -log(1/C) and each of the C-1 SVM margins is 1."""
    params, X, y = random_problem(5, 12, 4, 10, scale=1e-9)
    loss, _ = REFERENCE_FORMS[form][name](params, X, y, 0.0)
    assert loss == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("form", FORMS)
def test_softmax_stays_finite_for_huge_scores(form):
    params = {"W": np.array([[1e4, -1e4, 0.0]]), "b": np.zeros(3)}
    loss, grads = REFERENCE_FORMS[form]["softmax"](params, np.array([[1.0], [-1.0]]), [1, 0], 0.0)
    assert loss == pytest.approx(2e4, rel=1e-12)  # each row pays the gap of 2e4 to the top
    assert np.all(np.isfinite(grads["W"])) and np.all(np.isfinite(grads["b"]))
