"""Averaged SGD and the elastic-net penalty (issue 12, section 2): the running average against a
naive mean of the iterates, the proximal L1 step against its formula, exact zeros, and both
carried through partial_fit, warm_start and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import check_estimator

from slopelab.checkpoint import load_checkpoint, save_checkpoint
from slopelab.errors import InvalidValueError
from slopelab.estimator import LinearClassifier
from slopelab.history import Budget, History
from slopelab.losses import get_loss, proximal_loss
from slopelab.optim import get_optimizer
from slopelab.problem import make_problem
from slopelab.regularization import soft_threshold
from slopelab.train import DescentConfig, descend, sgd, start_state
from tests.helpers import blobs

X, Y = blobs(seed=3, per_class=15, num_classes=3, num_features=5)
DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
DIGITS_X = DIGITS_X / 16.0


def recorded_run(start: int, steps: int = 23, optimizer: str = "momentum"):
    """A run with averaging from ``start``, and every iterate ``W_t`` (after ``t`` updates)."""
    problem = make_problem("softmax", X, Y)
    rule = get_optimizer(optimizer, learning_rate=0.05)
    rng = np.random.default_rng(0)
    state = start_state(problem, rule, rng)
    iterates = {}

    def on_step(current, history):
        iterates[current.step] = {key: value.copy() for key, value in current.params.items()}

    config = DescentConfig(reg=1e-3, batch_size=8, average=start)
    history = descend(problem, rule, config, Budget(steps=steps), rng, state=state, on_step=on_step)
    return history, iterates


@pytest.mark.parametrize("start", [1, 5, 23])
def test_the_average_is_the_naive_mean_of_the_iterates_from_the_start_step(start):
    history, iterates = recorded_run(start)
    assert sorted(iterates) == list(range(1, 24))
    for key in ("W", "b"):
        naive = np.mean([iterates[t][key] for t in range(start, 24)], axis=0)
        np.testing.assert_allclose(history.params[key], naive, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(history.raw_params[key], iterates[23][key])
    if start < 23:
        assert not np.allclose(history.params["W"], history.raw_params["W"])


def test_before_the_start_step_the_model_is_the_raw_iterate():
    history, iterates = recorded_run(start=30)
    np.testing.assert_array_equal(history.params["W"], iterates[23]["W"])
    assert history.raw_params is None


@pytest.mark.parametrize("bad", [-1, 1.5, "yes", None])
def test_bad_average_is_refused_with_wording(bad):
    with pytest.raises(InvalidValueError, match=r"average must be True, False or the update"):
        sgd("softmax", X, Y, budget=Budget(steps=2), average=bad)
    with pytest.raises(ValueError, match=r"average must be True, False or the update"):
        LinearClassifier(average=bad, epochs=1).fit(X, Y)


def test_average_true_and_false():
    averaged = sgd("softmax", X, Y, budget=Budget(steps=9), rng=1, batch_size=8, average=True)
    plain = sgd("softmax", X, Y, budget=Budget(steps=9), rng=1, batch_size=8, average=False)
    np.testing.assert_array_equal(averaged.raw_params["W"], plain.params["W"])
    assert plain.raw_params is None
    assert not np.array_equal(averaged.params["W"], plain.params["W"])


def test_the_estimator_predicts_with_the_average():
    model = LinearClassifier(average=True, epochs=3, batch_size=16, random_state=0).fit(X, Y)
    average = model.history_.params
    assert model.params_ is average
    np.testing.assert_array_equal(model.coef_, average["W"].T)
    scores = X @ average["W"] + average["b"]
    np.testing.assert_array_equal(model.predict(X), model.classes_[scores.argmax(axis=1)])
    np.testing.assert_allclose(model.decision_function(X), scores, rtol=1e-12)
    assert not np.allclose(model._raw_params["W"], average["W"])


@pytest.mark.parametrize("average", [True, 4])
def test_partial_fit_and_warm_start_continue_both_the_iterate_and_the_average(average):
    kwargs = dict(average=average, batch_size=16, random_state=0, learning_rate=0.1)
    whole = LinearClassifier(epochs=3, **kwargs).fit(X, Y)
    streamed = LinearClassifier(**kwargs)
    for _ in range(3):
        streamed.partial_fit(X, Y, classes=[0, 1, 2])
    warm = LinearClassifier(epochs=1, warm_start=True, **kwargs)
    for _ in range(3):
        warm.fit(X, Y)
    for other in (streamed, warm):
        for key in ("W", "b"):
            np.testing.assert_array_equal(other.params_[key], whole.params_[key])
            np.testing.assert_array_equal(other._raw_params[key], whole._raw_params[key])


def test_resume_with_averaging_is_bit_exact(tmp_path):
    problem = make_problem("softmax", X, Y)
    config = DescentConfig(reg=1e-3, batch_size=7, average=3)

    def run(steps, state=None, rng=None, history=None):
        rule = get_optimizer("adam", learning_rate=0.05)
        rng = rng if rng is not None else np.random.default_rng(4)
        state = state if state is not None else start_state(problem, rule, rng)
        history = descend(
            problem, rule, config, Budget(steps=steps), rng, state=state, history=history
        )
        return state, rng, history

    _, _, whole = run(20)
    state, rng, _ = run(8)
    assert state.averaged == 6
    save_checkpoint(tmp_path, state, rng)
    fresh_rng = np.random.default_rng(99)
    rule = get_optimizer("adam", learning_rate=0.05)
    loaded = load_checkpoint(tmp_path, problem, rule, fresh_rng)
    np.testing.assert_array_equal(loaded.average["W"], state.average["W"])
    _, _, resumed = run(20, loaded, fresh_rng, History("sgd"))
    for key in ("W", "b"):
        np.testing.assert_array_equal(resumed.params[key], whole.params[key])
        np.testing.assert_array_equal(resumed.raw_params[key], whole.raw_params[key])


def test_a_checkpoint_whose_average_and_count_disagree_is_refused(tmp_path):
    problem = make_problem("softmax", X, Y)
    rule = get_optimizer("sgd", learning_rate=0.05)
    rng = np.random.default_rng(0)
    state = start_state(problem, rule, rng)
    descend(problem, rule, DescentConfig(average=1), Budget(steps=3), rng, state=state)
    state.averaged = 0
    save_checkpoint(tmp_path, state, rng)
    with pytest.raises(InvalidValueError, match=r"averaged is 0 but average/\* is present"):
        load_checkpoint(tmp_path, problem, rule, np.random.default_rng(0))


# --- elastic net -------------------------------------------------------------------------------


def numerical_gradient(function, W, h=1e-6):
    gradient = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        plus, minus = W.copy(), W.copy()
        plus[index] += h
        minus[index] -= h
        gradient[index] = (function(plus) - function(minus)) / (2 * h)
    return gradient


def random_params(seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(5, 3))
    W += np.sign(W) * 0.1  # away from the kink of |W| at 0, where finite differences fail
    return {"W": W, "b": rng.normal(size=3)}


@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("loss_name", ["softmax", "svm"])
def test_elastic_net_gradients_against_finite_differences(loss_name, l1_ratio):
    reg = 0.7
    params = random_params(1)
    loss = get_loss(loss_name, "elasticnet", l1_ratio)

    def total(W):
        return float(sum(loss.evaluate({"W": W, "b": params["b"]}, X, Y, reg)))

    def smooth(W):
        return total(W) - reg * l1_ratio * np.abs(W).sum()

    _, grads = loss(params, X, Y, reg)
    np.testing.assert_allclose(grads["W"], numerical_gradient(total, params["W"]), atol=1e-6)
    proximal = proximal_loss(loss).parts(params, X, Y, reg)
    np.testing.assert_allclose(
        proximal.grads["W"], numerical_gradient(smooth, params["W"]), atol=1e-6
    )
    assert proximal.total == pytest.approx(total(params["W"]), rel=1e-12)


def test_the_elastic_net_penalty_is_its_formula():
    W = random_params(2)["W"]
    value, _ = get_loss("softmax", "elasticnet", 0.25).penalty(W)
    assert value == pytest.approx(0.25 * np.abs(W).sum() + 0.75 * (W**2).sum(), rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    W=hnp.arrays(np.float64, (4, 3), elements=st.floats(-10, 10)),
    threshold=st.floats(0, 5),
)
def test_soft_threshold_matches_the_naive_formula(W, threshold):
    naive = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        w = W[index]
        naive[index] = w - threshold * np.sign(w) if abs(w) > threshold else 0.0
    np.testing.assert_allclose(soft_threshold(W, threshold), naive, rtol=1e-15, atol=0)
    assert np.all(soft_threshold(W, threshold)[np.abs(W) <= threshold] == 0.0)


def test_one_sgd_step_is_the_gradient_step_of_the_smooth_part_then_the_prox():
    reg, l1_ratio, rate = 0.5, 0.6, 0.1
    loss = get_loss("softmax", "elasticnet", l1_ratio)
    rng = np.random.default_rng(3)
    params = {"W": rng.normal(scale=0.05, size=(5, 3)), "b": np.zeros(3)}  # some under 0.03
    history = sgd(loss, X, Y, budget=Budget(steps=1), reg=reg, learning_rate=rate, params=params)
    smooth = proximal_loss(loss).parts(params, X, Y, reg).grads
    expected = soft_threshold(params["W"] - rate * smooth["W"], rate * reg * l1_ratio)
    np.testing.assert_allclose(history.params["W"], expected, rtol=1e-12, atol=0)
    assert np.any(expected == 0.0)


def test_elastic_net_gives_exact_zeros_on_digits_where_l2_gives_none():
    kwargs = dict(reg=1e-2, epochs=5, random_state=0)
    sparse = LinearClassifier(penalty="elasticnet", l1_ratio=0.9, **kwargs)
    sparse.fit(DIGITS_X, DIGITS_Y)
    dense = LinearClassifier(penalty="l2", **kwargs).fit(DIGITS_X, DIGITS_Y)
    zeros = np.count_nonzero(sparse.params_["W"] == 0.0)
    assert zeros > 0.2 * sparse.params_["W"].size
    assert sparse.sparsity_ == zeros / sparse.params_["W"].size
    assert sparse.history_.sparsity == sparse.sparsity_
    assert dense.sparsity_ == 0.0
    assert sparse.score(DIGITS_X, DIGITS_Y) > 0.8


def test_l1_ratio_zero_is_l2_exactly():
    kwargs = dict(reg=1e-2, epochs=3, random_state=0, batch_size=50)
    l2 = LinearClassifier(penalty="l2", **kwargs).fit(DIGITS_X, DIGITS_Y)
    net = LinearClassifier(penalty="elasticnet", l1_ratio=0.0, **kwargs).fit(DIGITS_X, DIGITS_Y)
    for key in ("W", "b"):
        np.testing.assert_array_equal(net.params_[key], l2.params_[key])
    params = random_params(4)
    assert (
        get_loss("svm", "elasticnet", 0.0)(params, X, Y, 0.3)[0]
        == (get_loss("svm", "l2")(params, X, Y, 0.3)[0])
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "half", True, None])
def test_bad_l1_ratio_is_refused_with_wording(bad):
    wording = r"l1_ratio must be a number in \[0, 1\] \(0: pure l2, 1: pure l1\); got"
    with pytest.raises(ValueError, match=wording):
        LinearClassifier(penalty="elasticnet", l1_ratio=bad, epochs=1).fit(X, Y)
    with pytest.raises(InvalidValueError, match=wording):
        get_loss("softmax", "elasticnet", bad)


def test_check_estimator_passes_with_averaging_and_the_elastic_net():
    # check_class_weight_classifiers needs more epochs (see tests/test_estimator.py)
    check_estimator(
        LinearClassifier(epochs=5, random_state=0, average=True, penalty="elasticnet"),
        expected_failed_checks={"check_class_weight_classifiers": "needs more epochs"},
        on_skip=None,
    )


def test_turning_averaging_off_makes_the_iterate_the_model_again():
    problem = make_problem("softmax", X, Y)
    rule = get_optimizer("sgd", learning_rate=0.05)
    rng = np.random.default_rng(0)
    state = start_state(problem, rule, rng)
    descend(problem, rule, DescentConfig(average=1), Budget(steps=4), rng, state=state)
    assert state.averaged == 4
    history = descend(problem, rule, DescentConfig(), Budget(steps=6), rng, state=state)
    assert state.average is None and history.raw_params is None
    np.testing.assert_array_equal(history.params["W"], state.params["W"])


def test_early_stopping_keeps_the_best_average():
    X_train, y_train, X_val, y_val = X[::2], Y[::2], X[1::2], Y[1::2]
    history = sgd(
        "softmax",
        X_train,
        y_train,
        X_val=X_val,
        y_val=y_val,
        budget=Budget(epochs=30),
        batch_size=8,
        learning_rate=0.5,
        patience=2,
        rng=0,
        average=True,
    )
    problem = make_problem("softmax", X_train, y_train, X_val, y_val)
    best = max(record.val_accuracy for record in history.epochs)
    assert problem.val_accuracy(history.params) == best
    assert not np.array_equal(history.params["W"], history.raw_params["W"])
