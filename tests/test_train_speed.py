"""The behaviours that make training fast, each guarded: no extra pass over the training set per
epoch (training accuracy is a running count over the batches), float32 kept end to end, the
update rule's checks only on the first step, and no copy of X for ``learning_rate="auto"``.

Nothing here times anything (timings belong to ``benchmarks/bench_speed.py``); each test checks
the mechanism instead, so it fails whenever the mechanism is lost.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import slopelab.linear
import slopelab.losses
from slopelab.autolr import MAX_ROWS, resolve_learning_rate
from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import Loss, get_loss
from slopelab.optim import OPTIMIZERS, get_optimizer
from slopelab.problem import make_problem
from slopelab.train import DescentConfig, descend, sgd, start_state
from tests.helpers import blobs, digits_split


@pytest.fixture
def scored_rows(monkeypatch):
    """Count the rows every ``X @ W + b`` scores, in the loss and in accuracy alike."""
    rows = []
    real = slopelab.linear.class_scores

    def counting(params, X):
        rows.append(X.shape[0])
        return real(params, X)

    monkeypatch.setattr(slopelab.linear, "class_scores", counting)
    monkeypatch.setattr(slopelab.losses, "class_scores", counting)
    return rows


@pytest.mark.parametrize("eval_every", [1, 2, None])
def test_an_epoch_scores_each_training_row_once(scored_rows, eval_every):
    """Per epoch: N training rows (the batches) and the validation split when accuracy is due;
    never a second pass over the training set for its accuracy."""
    X, X_val, y, y_val = digits_split()
    history = sgd(
        "softmax", X, y, budget=Budget(epochs=4), learning_rate=0.1, batch_size=100, rng=0,
        X_val=X_val, y_val=y_val, eval_every=eval_every,
    )  # fmt: skip
    evaluated = len(history.epochs)
    assert evaluated == {1: 4, 2: 2, None: 1}[eval_every]  # None: the final record only
    assert sum(scored_rows) == 4 * len(y) + evaluated * len(y_val)


def replay_running_accuracy(X, y, batch_size, epochs, learning_rate):
    """The naive reference: replay the run step by step, scoring each batch with the
    parameters it was about to update, and average per epoch."""
    problem = make_problem("softmax", X, y)
    rule = get_optimizer("sgd", learning_rate)
    state = start_state(problem, rule, np.random.default_rng(7))
    params_before, orders = [state.params], []

    def remember(state, history):
        params_before.append(state.params)
        orders.append(state.order)

    history = descend(
        problem, rule, DescentConfig(batch_size=batch_size), Budget(epochs=epochs),
        np.random.default_rng(7), state=state, on_step=remember,
    )  # fmt: skip
    per_epoch = -(-len(y) // batch_size)
    expected = []
    for epoch in range(epochs):
        correct = 0
        for k in range(per_epoch):
            step = epoch * per_epoch + k
            rows = orders[step][k * batch_size : (k + 1) * batch_size]
            predicted = slopelab.linear.predict_classes(params_before[step], X[rows])
            correct += int(np.sum(predicted == y[rows]))
        expected.append(correct / len(y))
    return history, expected


def test_training_accuracy_is_the_running_accuracy_of_the_epochs_batches():
    X, _, y, _ = digits_split()
    history, expected = replay_running_accuracy(X, y, batch_size=128, epochs=3, learning_rate=0.1)
    assert [record.train_accuracy for record in history.epochs] == pytest.approx(expected, abs=0)


def test_training_accuracy_equals_the_exact_accuracy_when_the_weights_stand_still():
    X, _, y, _ = digits_split()
    params = {"W": np.random.default_rng(1).standard_normal((64, 10)), "b": np.zeros(10)}
    history = sgd(
        "softmax", X, y, budget=Budget(epochs=2), learning_rate=lambda step: 0.0, batch_size=97,
        rng=0, params=params,
    )  # fmt: skip
    exact = accuracy(params, X, y)
    assert [record.train_accuracy for record in history.epochs] == [exact, exact]


def test_full_batch_training_accuracy_is_that_of_the_weights_before_the_step():
    """With the whole set as the batch an epoch is one step: its training accuracy is the
    exact accuracy of the weights that step started from."""
    X, y = blobs()
    problem = make_problem("softmax", X, y)
    rule = get_optimizer("sgd", 0.5)
    state = start_state(problem, rule, np.random.default_rng(0))
    params_before = [state.params]
    history = descend(
        problem, rule, DescentConfig(batch_size=None, strategy="gradient_descent"),
        Budget(steps=3), np.random.default_rng(0), state=state,
        on_step=lambda state, history: params_before.append(state.params),
    )  # fmt: skip
    expected = [accuracy(params, X, y) for params in params_before[:3]]
    assert [record.train_accuracy for record in history.epochs] == expected
    assert expected[0] != expected[-1]  # the weights moved: a stale count would be caught


def float32_checking_loss(name: str) -> Loss:
    """The loss ``name`` with every scores and dscores array checked to be float32."""
    real = get_loss(name)

    def example_loss(scores, y):
        assert scores.dtype == np.float32, scores.dtype
        losses, dscores = real.example_loss(scores, y)
        assert losses.dtype == np.float32 and dscores.dtype == np.float32
        return losses, dscores

    return Loss(name, example_loss, real.penalty_name, real.example_loss_values)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("loss", ["softmax", "svm", "svm-ova", "svm-structured"])
def test_float32_stays_float32_through_every_loss_and_rule(loss, optimizer):
    X, X_val, y, y_val = digits_split()
    problem = make_problem(
        float32_checking_loss(loss), X.astype(np.float32), y, X_val.astype(np.float32), y_val
    )
    assert problem.X.dtype == np.float32
    rule = get_optimizer(optimizer, 1e-3)
    history = descend(
        problem, rule, DescentConfig(reg=1e-3, batch_size=200), Budget(epochs=2),
        np.random.default_rng(0),
    )  # fmt: skip
    assert history.status == "completed"
    assert {value.dtype for value in history.params.values()} == {np.dtype(np.float32)}


def test_the_rules_checks_run_on_the_first_step_only(monkeypatch):
    X, y = blobs()
    calls = {"checked": 0, "unchecked": 0}
    real = get_optimizer("momentum", 0.1)

    def count(kind, update):
        def counted(*args, **kwargs):
            calls[kind] += 1
            return update(*args, **kwargs)

        return counted

    rule = real._replace(
        update=count("checked", real.update),
        unchecked_update=count("unchecked", real.unchecked_update),
    )
    descend(make_problem("softmax", X, y), rule, DescentConfig(batch_size=30), Budget(steps=7),
            np.random.default_rng(0))  # fmt: skip
    assert calls == {"checked": 1, "unchecked": 6}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_auto_learning_rate_never_copies_the_data(optimizer):
    """``"auto"`` reads a subsample of at most MAX_ROWS rows, in place: its peak memory is
    that subsample's size, far below one copy of X (the old code built ``[X 1]`` in
    float64)."""
    rows, features = 4 * MAX_ROWS, 300
    X = np.random.default_rng(0).standard_normal((rows, features), dtype=np.float32)
    tracemalloc.start()
    try:
        rate = resolve_learning_rate("auto", X, 1e-4, optimizer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rate > 0
    subsample = MAX_ROWS * features * X.itemsize
    assert peak < 1.5 * subsample < 0.5 * X.nbytes
