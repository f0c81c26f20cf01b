"""The descent loop: sampling, budgets, records, divergence, early stopping, resume."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import Loss, get_loss
from slopelab.optim import get_optimizer
from slopelab.problem import make_problem
from slopelab.train import (
    DescentConfig,
    descend,
    gradient_descent,
    resolve_optimizer,
    sgd,
    start_state,
    steps_per_epoch,
)
from tests.helpers import blobs, digits_split


@dataclass(frozen=True)
class RecordingLoss(Loss):
    """Softmax that remembers which examples each evaluation saw (feature 0 holds the index)."""

    seen: list = field(default_factory=list, compare=False)

    def parts(self, params, X, y, reg=0.0):
        self.seen.append(X[:, 0].astype(int).copy())
        return super().parts(params, X, y, reg)


def indexed_problem(num_examples=23):
    X, y = blobs(per_class=num_examples, num_classes=1)
    X = np.column_stack([np.arange(num_examples), X[:num_examples]])
    y = np.arange(num_examples) % 3
    softmax = get_loss("softmax")
    return RecordingLoss("softmax", softmax.example_loss), X, y


def test_shuffle_visits_every_example_once_per_epoch_with_a_short_last_batch():
    loss, X, y = indexed_problem(23)
    sgd(loss, X, y, budget=Budget(epochs=3), batch_size=5, rng=0, learning_rate=1e-3)
    assert [len(batch) for batch in loss.seen] == [5, 5, 5, 5, 3] * 3
    for epoch in range(3):
        visited = np.concatenate(loss.seen[5 * epoch : 5 * epoch + 5])
        np.testing.assert_array_equal(np.sort(visited), np.arange(23))
    assert not np.array_equal(np.concatenate(loss.seen[:5]), np.concatenate(loss.seen[5:10]))


def test_replacement_sampling_draws_full_batches_independently():
    loss, X, y = indexed_problem(23)
    sgd(
        loss,
        X,
        y,
        budget=Budget(steps=200),
        batch_size=5,
        sampling="replacement",
        rng=0,
        learning_rate=1e-3,
    )
    assert all(len(batch) == 5 for batch in loss.seen)
    counts = np.bincount(np.concatenate(loss.seen), minlength=23)
    assert any(len(set(batch)) < 5 for batch in loss.seen)  # repeats happen
    assert counts.min() > 0 and counts.sum() == 1000


def test_gradient_descent_uses_the_whole_set_every_step():
    loss, X, y = indexed_problem(23)
    history = gradient_descent(loss, X, y, budget=Budget(steps=4), learning_rate=1e-3)
    assert all(np.array_equal(batch, np.arange(23)) for batch in loss.seen)
    assert history.examples == 4 * 23 and history.evaluations == 4


@pytest.mark.parametrize(
    ("budget", "steps"),
    [
        (Budget(steps=7), 7),
        (Budget(epochs=2), 2 * 8),  # ceil(1437 / 200) = 8 batches per epoch
        (Budget(epochs=0.5), 4),
        (Budget(evaluations=11), 11),
        (Budget(examples=1000), 5),  # 5 batches of 200 reach 1000 examples
        (Budget(steps=100, epochs=1), 8),  # the first limit reached wins
    ],
)
def test_budgets_stop_at_the_first_limit(budget, steps):
    X, _, y, _ = digits_split()
    history = sgd("softmax", X, y, budget=budget, rng=0, learning_rate=0.1)
    assert len(history.steps) == steps


def test_seconds_budget_stops():
    X, _, y, _ = digits_split()
    history = sgd(
        "softmax", X, y, budget=Budget(seconds=0.05), rng=0, learning_rate=0.1, eval_every=None
    )
    assert 0.05 <= history.seconds < 1.0


def test_step_records_are_consistent():
    X, X_val, y, y_val = digits_split()
    history = sgd(
        "softmax",
        X,
        y,
        budget=Budget(epochs=3),
        reg=1e-3,
        rng=0,
        learning_rate=0.1,
        X_val=X_val,
        y_val=y_val,
    )
    steps = history.steps
    assert [record.step for record in steps] == list(range(24))
    for record in steps:
        assert record.loss == pytest.approx(record.data_loss + record.reg_loss)
        assert record.learning_rate == 0.1 and record.grad_norm > 0
    # Plain SGD: ||update|| / ||W|| = lr * ||dW|| / ||W||; the first step's loss is ~log(10).
    assert steps[0].loss == pytest.approx(math.log(10), abs=0.05)
    assert np.all(np.diff(history.column("examples")) > 0)
    assert [e.epoch for e in history.epochs] == [1.0, 2.0, 3.0]
    assert history.epochs[-1].val_accuracy == accuracy(history.params, X_val, y_val)
    assert history.status == "completed"


def test_update_ratio_is_update_norm_over_weight_norm():
    X, _, y, _ = digits_split()
    problem = make_problem("softmax", X, y)
    optimizer = get_optimizer("sgd", learning_rate=0.05)
    state = start_state(problem, optimizer, np.random.default_rng(0))
    W0 = state.params["W"]
    grads = problem.loss.parts(state.params, X, y, 0.0).grads
    history = descend(
        problem,
        optimizer,
        DescentConfig(batch_size=None),
        Budget(steps=1),
        np.random.default_rng(0),
        state=state,
    )
    expected = 0.05 * np.linalg.norm(grads["W"]) / np.linalg.norm(W0)
    assert history.steps[0].update_ratio == pytest.approx(expected, rel=1e-12)


def test_gradient_descent_with_auto_rate_never_increases_the_softmax_loss():
    """Step 1/L on an L-smooth function cannot go uphill (slopelab.autolr)."""
    X, _, y, _ = digits_split()
    history = gradient_descent(
        "softmax", X, y, budget=Budget(steps=60), reg=1e-3, learning_rate="auto", rng=0
    )
    assert np.all(np.diff(history.column("loss")) <= 1e-12)
    assert history.final_loss < 0.3


def test_divergence_stops_with_a_message_and_keeps_finite_params():
    X, _, y, _ = digits_split()
    history = gradient_descent(
        "svm", X, y, budget=Budget(steps=100), reg=10.0, learning_rate=1e3, rng=0
    )
    assert history.status == "diverged"
    assert history.message.startswith("loss diverged at step ")
    assert "try a smaller learning rate than 1e+03" in history.message
    assert len(history.steps) < 100
    assert all(np.all(np.isfinite(value)) for value in history.params.values())


def test_early_stopping_restores_the_best_validation_parameters():
    X, X_val, y, y_val = digits_split()
    history = sgd(
        "softmax",
        X,
        y,
        budget=Budget(epochs=300),
        rng=0,
        learning_rate=0.5,
        batch_size=50,
        X_val=X_val,
        y_val=y_val,
        patience=2,
    )
    assert history.status == "early_stopped"
    assert "validation accuracy has not improved" in history.message
    best = max(record.val_accuracy for record in history.epochs)
    assert accuracy(history.params, X_val, y_val) == best


def test_same_seed_same_run_different_seed_different_run():
    X, _, y, _ = digits_split()

    def run(seed):
        return sgd("svm", X, y, budget=Budget(epochs=2), rng=seed, learning_rate=0.1)

    first, again, other = run(1), run(1), run(2)
    np.testing.assert_array_equal(first.params["W"], again.params["W"])
    np.testing.assert_array_equal(first.column("loss"), again.column("loss"))
    assert not np.array_equal(first.params["W"], other.params["W"])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
def test_resuming_from_a_state_matches_an_uninterrupted_run(optimizer, sampling):
    """Stop after 13 steps (mid-epoch), continue to 30: same parameters as 30 straight."""
    X, _, y, _ = digits_split()
    problem = make_problem("softmax", X, y)
    rule = get_optimizer(optimizer, learning_rate=0.01)
    config = DescentConfig(reg=1e-3, batch_size=128, sampling=sampling)

    straight = descend(problem, rule, config, Budget(steps=30), np.random.default_rng(5))

    rng = np.random.default_rng(5)
    state = start_state(problem, rule, rng)
    calls = iter(range(1000))
    first = descend(
        problem,
        rule,
        config,
        Budget(steps=30),
        rng,
        state=state,
        stop_requested=lambda: next(calls) >= 13,
    )
    assert first.status == "interrupted" and state.step == 13
    resumed = descend(problem, rule, config, Budget(steps=30), rng, state=state, history=first)
    assert resumed.status == "completed" and len(resumed.steps) == 30
    for key in ("W", "b"):
        np.testing.assert_array_equal(resumed.params[key], straight.params[key])
    np.testing.assert_array_equal(resumed.column("loss"), straight.column("loss"))
    # the running training accuracy of the interrupted epoch carries over too
    np.testing.assert_array_equal(
        resumed.column("train_accuracy"), straight.column("train_accuracy")
    )


def test_on_step_sees_every_step():
    X, y = blobs()
    seen = []
    problem = make_problem("softmax", X, y)
    descend(
        problem,
        get_optimizer("sgd"),
        DescentConfig(batch_size=30),
        Budget(steps=9),
        np.random.default_rng(0),
        on_step=lambda state, history: seen.append(state.step),
    )
    assert seen == list(range(1, 10))


def test_float32_training_stays_float32():
    X, _, y, _ = digits_split()
    history = sgd(
        "softmax",
        X.astype(np.float32),
        y,
        budget=Budget(epochs=2),
        rng=0,
        learning_rate=0.1,
        optimizer="adam",
    )
    assert history.params["W"].dtype == np.float32
    assert accuracy(history.params, X.astype(np.float32), y) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"patience": 3}, ValueError, r"patience \(early stopping\) needs a validation split"),
        (
            {"sampling": "sorted"},
            ValueError,
            r"unknown sampling 'sorted'; valid choices are 'shuffle', 'replacement'",
        ),
        ({"batch_size": 0}, ValueError, r"batch_size must be > 0; got 0"),
        ({"reg": -1.0}, ValueError, r"reg must be >= 0; got -1.0"),
        (
            {"X_val": np.ones((3, 5)), "y_val": [0, 1, 2]},
            ValueError,
            r"X_val has 5 features but X has 2; they must match",
        ),
        ({"X_val": np.ones((3, 2))}, ValueError, r"X_val and y_val must be given together"),
        ({"optimizer": "lbfgs"}, ValueError, r"unknown optimizer 'lbfgs'"),
    ],
)
def test_bad_arguments_have_clear_errors(kwargs, error, message):
    X, y = blobs()
    with pytest.raises(error, match=message):
        sgd("softmax", X, y, budget=Budget(steps=3), **kwargs)


def test_bad_data_has_clear_errors():
    X, y = blobs()
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity in row 4, column 1"):
        sgd("softmax", X, y, budget=Budget(steps=3))


def test_budget_needs_a_limit():
    with pytest.raises(ValueError, match="budget has no limit; set at least one of steps"):
        Budget()
    with pytest.raises(ValueError, match=r"budget epochs must be > 0; got -1"):
        Budget(epochs=-1)


@given(num_examples=st.integers(1, 60), batch_size=st.integers(1, 80))
@settings(max_examples=40, deadline=None)
def test_steps_per_epoch_is_the_number_of_batches_one_epoch_draws(num_examples, batch_size):
    loss, X, y = indexed_problem(num_examples)
    sgd(loss, X, y, budget=Budget(epochs=1), batch_size=batch_size, rng=0, learning_rate=1e-3)
    assert steps_per_epoch(num_examples, batch_size) == len(loss.seen)
    assert sum(len(batch) for batch in loss.seen) == num_examples


def test_steps_per_epoch_of_the_full_batch_is_one():
    assert steps_per_epoch(1437, None) == 1
    assert steps_per_epoch(1437, 1437) == steps_per_epoch(1437, 10**9) == 1
    assert steps_per_epoch(1437, 200) == 8 and steps_per_epoch(1400, 200) == 7


def huge_start(num_features=2, num_classes=3):
    """Finite parameters whose scores overflow: the very first loss is NaN or infinite."""
    W = np.full((num_features, num_classes), 1e308)
    W[:, 0] = -1e308
    return {"W": W, "b": np.zeros(num_classes)}


@pytest.mark.parametrize("strategy", [sgd, gradient_descent])
@pytest.mark.parametrize("loss", ["softmax", "svm", "svm-ova", "svm-structured"])
def test_a_non_finite_first_loss_ends_the_run_as_diverged_without_an_exception(strategy, loss):
    """No update was made, so there is no learning rate to blame: the message says so (it
    once crashed formatting the missing start loss), and numpy's overflow warnings, errors
    under pytest, stay inside the loop that detects the overflow."""
    X, y = blobs()
    start = huge_start()
    history = strategy(loss, X, y, budget=Budget(steps=5), params=start, learning_rate=0.1)
    assert history.status == "diverged"
    assert re.fullmatch(
        r"the loss is (nan|inf) at the first step, before any update: the features or the "
        r"starting weights are too large for float arithmetic; scale the features .*",
        history.message,
    )
    assert history.steps == []
    for key in ("W", "b"):
        np.testing.assert_array_equal(history.params[key], start[key])


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_an_update_that_overflows_is_divergence_with_the_last_finite_params(loss):
    """Gradients ~1e3 times a rate of 1e307 overflow W to infinity in the first update."""
    X, _, y, _ = digits_split()
    history = gradient_descent(loss, 1e3 * X, y, budget=Budget(steps=5), learning_rate=1e307, rng=0)
    assert history.status == "diverged"
    assert re.match(r"loss diverged at step 1 \(loss nan, started at ", history.message)
    assert len(history.steps) == 1
    assert all(np.all(np.isfinite(value)) for value in history.params.values())


@pytest.mark.parametrize("strategy", [sgd, gradient_descent])
@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_auto_learning_rate_honours_the_momentum_given(strategy, optimizer):
    """``(1 - mu) / L`` with the momentum of optimizer_params (L from numpy's eigvalsh)."""
    X, _, y, _ = digits_split()
    A = np.hstack([X, np.ones((len(X), 1))])
    lipschitz = 0.5 * np.linalg.eigvalsh(A.T @ A / len(X)).max() + 2 * 1e-3
    history = strategy(
        "softmax",
        X,
        y,
        budget=Budget(steps=2),
        reg=1e-3,
        optimizer=optimizer,
        learning_rate="auto",
        optimizer_params={"momentum": 0.5},
        rng=0,
    )
    assert history.steps[0].learning_rate == pytest.approx(0.5 / lipschitz, rel=1e-2)


def test_optimizer_params_reach_the_update_rule():
    X, _, y, _ = digits_split()
    by_name = gradient_descent(
        "softmax",
        X,
        y,
        budget=Budget(steps=5),
        optimizer="momentum",
        learning_rate=0.1,
        optimizer_params={"momentum": 0.5},
        rng=0,
    )
    by_object = gradient_descent(
        "softmax",
        X,
        y,
        budget=Budget(steps=5),
        optimizer=get_optimizer("momentum", learning_rate=0.1, momentum=0.5),
        rng=0,
    )
    for key in ("W", "b"):
        np.testing.assert_array_equal(by_name.params[key], by_object.params[key])


@pytest.mark.parametrize(
    ("optimizer", "learning_rate", "hyperparams", "message"),
    [
        (get_optimizer("sgd"), 0.1, None, r"learning_rate and optimizer_params are part of the"),
        (get_optimizer("momentum"), None, {"momentum": 0.5}, r"are part of the Optimizer object"),
        ("momentum", None, {"learning_rate": 0.5}, r"optimizer_params must not hold learning_rate"),
        ("momentum", 0.1, {"momentum": 1.5}, r"momentum must be in \[0, 1\); got 1.5"),
        ("momentum", "auto", {"momentum": 1.5}, r"momentum must be in \[0, 1\); got 1.5"),
        ("sgd", 0.1, {"beta1": 0.5}, r"unknown hyperparameter 'beta1' for optimizer 'sgd'"),
    ],
)
def test_resolve_optimizer_errors(optimizer, learning_rate, hyperparams, message):
    X, _ = blobs()
    with pytest.raises((ValueError, TypeError), match=message):
        resolve_optimizer(optimizer, learning_rate, X, 0.0, hyperparams)
