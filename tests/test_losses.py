"""Losses: vectorized == naive loops, == finite differences, == independent oracles, fixtures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import hinge_loss, log_loss

from slopelab.losses import EXAMPLE_LOSS_VALUES, EXAMPLE_LOSSES, Loss, get_loss
from slopelab.reference import NAIVE_LOSSES
from slopelab.softmax import log_softmax, softmax_cross_entropy, softmax_probabilities

LOSS_NAMES = list(EXAMPLE_LOSSES)

# The CS231n demo's 9 points, default W (rows per class there, so transposed here) and b.
DEMO_X = np.array(
    [
        [0.5, 0.4],
        [0.8, 0.3],
        [0.3, 0.8],
        [-0.4, 0.3],
        [-0.3, 0.7],
        [-0.7, 0.2],
        [0.7, -0.4],
        [0.5, -0.6],
        [-0.4, -0.5],
    ]
)
DEMO_Y = np.repeat([0, 1, 2], 3)
DEMO_PARAMS = {
    "W": np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]]).T,
    "b": np.array([0.0, 0.5, -0.5]),
}


def random_problem(
    seed: int, num_examples: int, num_features: int, num_classes: int, scale: float = 1.0
):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, num_features))
    y = rng.integers(0, num_classes, num_examples)
    params = {
        "W": scale * rng.standard_normal((num_features, num_classes)),
        "b": scale * rng.standard_normal(num_classes),
    }
    return params, X, y


def centered_difference(f, params, h=1e-5):
    """An independent finite-difference gradient, written here so the test owns its oracle."""
    grads = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += h
            minus[name][index] -= h
            grad[index] = (f(plus) - f(minus)) / (2 * h)
        grads[name] = grad
    return grads


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("shape", [(1, 1, 2), (7, 3, 4), (20, 5, 10), (13, 1, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_vectorized_equals_naive(name, shape, seed):
    params, X, y = random_problem(seed, *shape)
    loss, grads = get_loss(name)(params, X, y, reg=0.3)
    naive_loss, naive_grads = NAIVE_LOSSES[name](params, X, y, reg=0.3)
    # Same math in a different order: agreement to a few ulps of the values involved.
    assert loss == pytest.approx(naive_loss, rel=1e-12, abs=1e-12)
    for key in ("W", "b"):
        np.testing.assert_allclose(grads[key], naive_grads[key], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("penalty", ["l2", "l1", "none"])
def test_gradient_matches_finite_differences(name, penalty):
    params, X, y = random_problem(3, 6, 4, 5)
    loss_fn = get_loss(name, penalty)
    reg = 0.7

    def total(candidate):
        return float(loss_fn(candidate, X, y, reg)[0])

    _, grads = loss_fn(params, X, y, reg)
    numeric = centered_difference(total, params)
    # Away from kinks (random continuous data puts no margin within h of 0 here) the centered
    # difference is accurate to O(h^2) plus rounding: relative error below 1e-7, or, for
    # entries that are essentially zero, absolute error below 1e-8 (rounding is ~eps*|f|/h).
    for key in ("W", "b"):
        error = np.abs(grads[key] - numeric[key])
        rel = error / np.maximum(np.maximum(np.abs(grads[key]), np.abs(numeric[key])), 1e-300)
        assert np.all((rel < 1e-7) | (error < 1e-8)), (key, rel.max(), error.max())


@pytest.mark.parametrize(
    ("name", "data", "reg", "total", "example_losses"),
    [
        ("svm", 2.77, 3.50, 6.27, [0.3, 1.7, 0.0, 3.2, 6.8, 2.4, 2.5, 3.3, 4.7]),
        ("svm-ova", 4.02, 3.50, 7.52, [2.5, 4.5, 0.6, 3.7, 6.0, 3.4, 5.4, 5.2, 4.9]),
        ("svm-structured", 2.37, 3.50, 5.87, [0.3, 1.2, 0.0, 2.7, 5.0, 2.4, 2.5, 3.3, 3.9]),
        ("softmax", 1.84, 3.50, 5.34, [0.56, 1.04, 0.11, 1.96, 4.06, 1.68, 1.72, 2.40, 3.00]),
    ],
)
def test_cs231n_demo_fixtures(name, data, reg, total, example_losses):
    """The values the CS231n web demo shows at its defaults (reg 0.1), to 2 decimals."""
    loss_fn = get_loss(name)
    parts = loss_fn.parts(DEMO_PARAMS, DEMO_X, DEMO_Y, 0.1)
    assert round(float(parts.data_loss), 2) == data
    assert round(float(parts.reg_loss), 2) == reg
    assert round(float(parts.total), 2) == total
    losses, _ = loss_fn.example_losses(DEMO_PARAMS, DEMO_X, DEMO_Y)
    np.testing.assert_allclose(losses, example_losses, atol=0.005)


def test_demo_bias_gradient_matches_the_demo():
    """The demo's bias gradients (0.11, -0.11, 0.00) are right; its W gradient is not."""
    _, grads = get_loss("svm")(DEMO_PARAMS, DEMO_X, DEMO_Y, 0.1)
    np.testing.assert_allclose(grads["b"], [0.11, -0.11, 0.0], atol=0.005)
    # Finite differences of the displayed total give these rows (the reference notes, 1.4).
    np.testing.assert_allclose(
        grads["W"].T, [[-0.23, 0.37], [0.81, -1.18], [0.62, 0.21]], atol=0.005
    )


def test_regularization_convention_is_reg_times_sum_of_squares():
    params, X, y = random_problem(0, 5, 3, 4)
    zero_reg, _ = get_loss("softmax")(params, X, y, 0.0)
    with_reg, grads = get_loss("softmax")(params, X, y, 2.0)
    _, grads_zero = get_loss("softmax")(params, X, y, 0.0)
    assert with_reg - zero_reg == pytest.approx(2.0 * np.sum(params["W"] ** 2))
    np.testing.assert_allclose(grads["W"] - grads_zero["W"], 2 * 2.0 * params["W"])
    np.testing.assert_array_equal(grads["b"], grads_zero["b"])  # bias not regularized


def test_softmax_matches_scikit_learn_log_loss():
    params, X, y = random_problem(4, 30, 6, 5)
    loss, _ = get_loss("softmax")(params, X, y, 0.0)
    probs = softmax_probabilities(X @ params["W"] + params["b"])
    assert loss == pytest.approx(log_loss(y, probs, labels=range(5)), rel=1e-12)


def test_svm_structured_matches_scikit_learn_multiclass_hinge():
    """scikit-learn's multiclass hinge_loss is Crammer–Singer (structured), not Weston–Watkins;
    the WW SVM's outside oracle is PyTorch (below)."""
    params, X, y = random_problem(5, 40, 6, 4)
    scores = X @ params["W"] + params["b"]
    loss, _ = get_loss("svm-structured")(params, X, y, 0.0)
    assert loss == pytest.approx(hinge_loss(y, scores, labels=range(4)), rel=1e-12)


def torch_svm_ww(scores, y):
    """``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``, written out in torch."""
    correct = scores.gather(1, y[:, None])  # (N, 1)
    others = torch.ones_like(scores).scatter(1, y[:, None], 0.0)  # 0 at the correct class
    return (torch.relu(scores - correct + 1.0) * others).sum(dim=1)


def torch_svm_ova(scores, y):
    """``L_i = sum_j max(0, 1 - t_ij s_j)``, ``t = +1`` at the correct class, ``-1`` elsewhere."""
    targets = -torch.ones_like(scores).scatter(1, y[:, None], -1.0)
    return torch.relu(1.0 - targets * scores).sum(dim=1)


def torch_svm_structured(scores, y):
    """``L_i = max(0, max_{j != y_i} s_j - s_{y_i} + 1)``."""
    correct = scores.gather(1, y[:, None]).squeeze(1)
    rival = scores.scatter(1, y[:, None], -torch.inf).max(dim=1).values
    return torch.relu(rival - correct + 1.0)


TORCH_LOSSES = {
    "svm": torch_svm_ww,
    "svm-ova": torch_svm_ova,
    "svm-structured": torch_svm_structured,
    "softmax": lambda scores, y: torch.nn.functional.cross_entropy(scores, y, reduction="none"),
}
TORCH_PENALTIES = {"l2": lambda W: (W * W).sum(), "l1": lambda W: W.abs().sum()}


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("penalty", ["l2", "l1"])
@pytest.mark.parametrize("shape", [(1, 1, 2), (9, 3, 4), (40, 6, 10)])
def test_loss_and_gradient_match_pytorch_autograd(name, penalty, shape):
    """Float64 autograd of the formula written independently in torch: the same numbers up to
    summation order (random continuous data puts no hinge exactly at its kink)."""
    params, X, y = random_problem(14, *shape)
    reg = 0.3
    W = torch.tensor(params["W"], requires_grad=True)
    b = torch.tensor(params["b"], requires_grad=True)
    scores = torch.tensor(X) @ W + b
    total = TORCH_LOSSES[name](scores, torch.tensor(y)).mean() + reg * TORCH_PENALTIES[penalty](W)
    total.backward()
    loss, grads = get_loss(name, penalty)(params, X, y, reg)
    assert loss == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W"], W.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(grads["b"], b.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_binary_ova_matches_scikit_learn_binary_hinge():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((25, 3))
    y = rng.integers(0, 2, 25)
    w = rng.standard_normal(3)
    # A two-class OVA model with W = [-w, w] has scores -s, s: each example pays the binary
    # hinge twice (once per class), so the OVA loss is twice scikit-learn's binary hinge.
    params = {"W": np.stack([-w, w], axis=1), "b": np.zeros(2)}
    loss, _ = get_loss("svm-ova")(params, X, y, 0.0)
    assert loss == pytest.approx(2 * hinge_loss(2 * y - 1, X @ w), rel=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_full_batch_gradient_is_size_weighted_mean_of_minibatch_gradients(name):
    params, X, y = random_problem(7, 23, 4, 3)
    loss_fn = get_loss(name)
    full = loss_fn.parts(params, X, y, 0.0)
    batches = np.array_split(np.arange(23), [5, 12, 20])  # sizes 5, 7, 8, 3
    weighted_W = sum(len(b) * loss_fn.parts(params, X[b], y[b], 0.0).grads["W"] for b in batches)
    weighted_loss = sum(len(b) * loss_fn.parts(params, X[b], y[b], 0.0).data_loss for b in batches)
    np.testing.assert_allclose(weighted_W / 23, full.grads["W"], rtol=1e-12, atol=1e-15)
    assert weighted_loss / 23 == pytest.approx(full.data_loss, rel=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_float32_in_float32_out(name):
    params, X, y = random_problem(8, 10, 4, 3)
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    loss, grads = get_loss(name)(params32, X.astype(np.float32), y, 0.1)
    assert np.asarray(loss).dtype == np.float32
    assert grads["W"].dtype == np.float32 and grads["b"].dtype == np.float32
    loss64, grads64 = get_loss(name)(params, X, y, 0.1)
    assert float(loss) == pytest.approx(float(loss64), rel=1e-5)
    np.testing.assert_allclose(grads["W"], grads64["W"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_do_not_mutate_inputs(name):
    params, X, y = random_problem(9, 8, 3, 4)
    copies = ({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
    get_loss(name)(params, X, y, 0.5)
    scores = X @ params["W"]
    scores_copy = scores.copy()
    EXAMPLE_LOSSES[name](scores, y)
    np.testing.assert_array_equal(scores, scores_copy)
    for key in ("W", "b"):
        np.testing.assert_array_equal(params[key], copies[0][key])
    np.testing.assert_array_equal(X, copies[1])
    np.testing.assert_array_equal(y, copies[2])


@pytest.mark.parametrize("name", ["svm", "svm-ova", "svm-structured"])
def test_hinge_is_inactive_exactly_at_the_kink(name):
    """A margin of exactly 0 contributes neither loss nor gradient (strict > 0)."""
    # WW/structured margin s_1 - s_0 + 1 = 0 with s = (1, 0); OVA margin 1 - s_0 = 0 for the
    # correct class, 1 + s_1 = 0 for the other.
    scores = np.array([[1.0, 0.0]]) if name != "svm-ova" else np.array([[1.0, -1.0]])
    losses, dscores = EXAMPLE_LOSSES[name](scores, np.array([0]))
    assert losses[0] == 0.0
    np.testing.assert_array_equal(dscores, 0.0)


def test_structured_svm_takes_first_rival_on_ties():
    _, dscores = EXAMPLE_LOSSES["svm-structured"](np.array([[0.0, 0.5, 0.5]]), np.array([0]))
    np.testing.assert_array_equal(dscores, [[-1.0, 1.0, 0.0]])


finite_scores = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(2, 6)),
    elements=st.floats(-50, 50, allow_nan=False),
)


@given(scores=finite_scores, shift=st.floats(-1e3, 1e3), data=st.data())
@settings(max_examples=200, deadline=None)
def test_softmax_is_invariant_to_shifting_scores(scores, shift, data):
    y = np.array(
        data.draw(
            st.lists(
                st.integers(0, scores.shape[1] - 1),
                min_size=scores.shape[0],
                max_size=scores.shape[0],
            )
        )
    )
    losses, dscores = softmax_cross_entropy(scores, y)
    shifted_losses, shifted_dscores = softmax_cross_entropy(scores + shift, y)
    np.testing.assert_allclose(shifted_losses, losses, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(shifted_dscores, dscores, rtol=1e-9, atol=1e-12)


@given(
    scores=arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(2, 5)),
        elements=st.floats(-1e4, 1e4, allow_nan=False),
    )
)
@settings(max_examples=200, deadline=None)
def test_softmax_is_finite_and_normalized_for_huge_scores(scores):
    y = np.zeros(scores.shape[0], dtype=int)
    losses, dscores = softmax_cross_entropy(scores, y)
    assert np.all(np.isfinite(losses)) and np.all(losses >= 0)
    assert np.all(np.isfinite(dscores))
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-9)  # p sums to 1, minus 1
    np.testing.assert_allclose(np.exp(log_softmax(scores)).sum(axis=1), 1.0, rtol=1e-12)


def test_softmax_sanity_loss_is_log_of_class_count():
    """CS231n: with near-zero weights the softmax loss is about -log(1/C)."""
    params, X, y = random_problem(10, 50, 8, 10, scale=1e-8)
    loss, _ = get_loss("softmax")(params, X, y, 0.0)
    assert loss == pytest.approx(np.log(10), rel=1e-6)


def test_svm_sanity_loss_is_classes_minus_one():
    """CS231n: with near-zero weights every one of the C-1 margins is about 1."""
    params, X, y = random_problem(11, 50, 8, 10, scale=1e-8)
    loss, _ = get_loss("svm")(params, X, y, 0.0)
    assert loss == pytest.approx(9.0, rel=1e-6)


def test_get_loss_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; valid choices are 'svm', "):
        get_loss("hinge")
    with pytest.raises(ValueError, match=r"unknown penalty 'l3'; valid choices are 'l2'"):
        get_loss("svm", penalty="l3")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p, X, y: (p, X[:, :2], y), r"params\['W'\] has 4 rows but X has 2 features"),
        (lambda p, X, y: (p, X, y + 10), r"y contains label 1[0-9] but there are only"),
        (lambda p, X, y: (p, X, y[:3]), r"X has 6 rows but y has 3 labels"),
        (lambda p, X, y: ({"W": p["W"]}, X, y), r'params must be a dict with keys "W"'),
        (
            lambda p, X, y: ({"W": p["W"], "b": p["b"][:2]}, X, y),
            r"params\['b'\] must have shape \(3,\)",
        ),
    ],
)
def test_loss_call_validates_inputs(mutate, message):
    params, X, y = random_problem(12, 6, 4, 3)
    with pytest.raises(ValueError, match=message):
        get_loss("softmax")(*mutate(params, X, y), 0.1)


def test_negative_reg_is_rejected():
    params, X, y = random_problem(13, 6, 4, 3)
    with pytest.raises(ValueError, match=r"reg must be >= 0; got -1"):
        get_loss("svm")(params, X, y, -1)


def test_every_loss_has_a_loss_only_twin():
    assert EXAMPLE_LOSS_VALUES.keys() == EXAMPLE_LOSSES.keys()
    for name in LOSS_NAMES:
        assert get_loss(name).example_loss_values is EXAMPLE_LOSS_VALUES[name]


tie_scores = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(2, 5)),
    elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]),  # ties and kinks
)


@pytest.mark.parametrize("name", LOSS_NAMES)
@given(scores=st.one_of(finite_scores, tie_scores), data=st.data())
@settings(max_examples=100, deadline=None)
def test_loss_only_twin_gives_the_same_losses(name, scores, data):
    y = np.array(
        data.draw(
            st.lists(
                st.integers(0, scores.shape[1] - 1),
                min_size=scores.shape[0],
                max_size=scores.shape[0],
            )
        )
    )
    before = scores.copy()
    losses = EXAMPLE_LOSS_VALUES[name](scores, y)
    np.testing.assert_array_equal(scores, before)  # not mutated
    expected, _ = EXAMPLE_LOSSES[name](scores, y)
    np.testing.assert_array_equal(losses, expected)
    assert losses.shape == (scores.shape[0],) and losses.dtype == scores.dtype


def refuse_gradient(scores, y):
    raise AssertionError("the gradient was computed for a loss-only evaluation")


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("penalty", ["l2", "l1", "none"])
def test_evaluate_and_example_losses_never_compute_the_gradient(name, penalty):
    params, X, y = random_problem(15, 12, 4, 3)
    loss_fn = get_loss(name, penalty)
    parts = loss_fn.parts(params, X, y, 0.2)
    loss_only = dataclasses.replace(loss_fn, example_loss=refuse_gradient)
    data_loss, reg_loss = loss_only.evaluate(params, X, y, 0.2)
    assert data_loss == pytest.approx(parts.data_loss, rel=1e-15)
    assert reg_loss == parts.reg_loss
    losses, scores = loss_only.example_losses(params, X, y)
    np.testing.assert_array_equal(scores, parts.scores)
    assert losses.mean() == pytest.approx(parts.data_loss, rel=1e-15)


def test_a_custom_loss_without_a_loss_only_twin_still_evaluates():
    params, X, y = random_problem(16, 8, 3, 4)
    custom = Loss("softmax", softmax_cross_entropy)
    expected = get_loss("softmax").evaluate(params, X, y, 0.1)
    assert custom.evaluate(params, X, y, 0.1) == pytest.approx(expected, rel=1e-15)
