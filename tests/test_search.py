"""Random search and random local search, and the lecture's comparison with minibatch SGD."""

from __future__ import annotations

import numpy as np
import pytest

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import get_loss
from slopelab.problem import make_problem
from slopelab.search import fixed_sample, random_local_search, random_search
from slopelab.train import sgd
from tests.helpers import blobs, digits_split


def total_loss(name, params, X, y, reg):
    return float(get_loss(name)(params, X, y, reg)[0])


@pytest.mark.parametrize("strategy", [random_search, random_local_search])
def test_keeps_only_improvements_and_returns_the_best(strategy):
    X, y = blobs(num_features=4)
    history = strategy("svm", X, y, budget=Budget(evaluations=60), reg=0.01, rng=0)
    losses = history.column("loss")
    assert len(losses) == 60 and np.all(np.diff(losses) <= 0)
    assert losses[-1] < losses[0]
    assert total_loss("svm", history.params, X, y, 0.01) == pytest.approx(losses[-1])
    assert history.examples == 60 * len(y) and history.evaluations == 60
    assert np.all(np.isnan(history.column("learning_rate")))


def test_random_search_draws_at_the_given_scale():
    X, y = blobs(num_features=4)
    history = random_search("softmax", X, y, budget=Budget(evaluations=5), scale=1e-4, rng=0)
    assert 1e-5 < np.abs(history.params["W"]).mean() < 1e-3


def test_local_search_moves_by_step_size_and_reports_the_move_ratio():
    X, y = blobs(num_features=4)
    start = {"W": np.ones((4, 3)), "b": np.zeros(3)}
    history = random_local_search(
        "softmax", X, y, budget=Budget(evaluations=50), step_size=1e-3, params=start, rng=0
    )
    moved = np.abs(history.params["W"] - 1.0).max()
    assert 0 < moved < 50 * 5e-3
    ratios = history.column("update_ratio")
    accepted = np.diff(np.concatenate([[np.inf], history.column("loss")])) < 0
    assert np.all(ratios[~accepted] == 0) and np.all(ratios[accepted][1:] > 0)


def test_search_is_reproducible_from_the_seed():
    X, y = blobs(num_features=4)
    first = random_search("svm", X, y, budget=Budget(evaluations=20), rng=3)
    again = random_search("svm", X, y, budget=Budget(evaluations=20), rng=3)
    np.testing.assert_array_equal(first.params["W"], again.params["W"])


def test_search_records_accuracy_when_asked():
    X, y = blobs(num_features=4)
    history = random_search(
        "svm", X, y, X_val=X, y_val=y, budget=Budget(evaluations=20), rng=0, eval_every=5
    )
    assert [record.step for record in history.epochs] == [5, 10, 15, 20]
    assert history.epochs[-1].val_accuracy == accuracy(history.params, X, y)


def test_minibatch_sgd_beats_random_search_in_the_same_number_of_loss_evaluations():
    """The lecture's point, on digits: following the gradient wins by a wide margin."""
    X_train, X_test, y_train, y_test = digits_split()
    budget = Budget(evaluations=300)
    searched = random_search("softmax", X_train, y_train, budget=budget, reg=1e-4, rng=0)
    local = random_local_search("softmax", X_train, y_train, budget=budget, reg=1e-4, rng=0)
    descended = sgd(
        "softmax", X_train, y_train, budget=budget, reg=1e-4, rng=0, learning_rate="auto"
    )
    search_accuracy = accuracy(searched.params, X_test, y_test)
    local_accuracy = accuracy(local.params, X_test, y_test)
    sgd_accuracy = accuracy(descended.params, X_test, y_test)
    assert sgd_accuracy >= 0.95
    assert sgd_accuracy - search_accuracy > 0.5  # random search stays near chance (10%)
    assert sgd_accuracy - local_accuracy > 0.3
    assert descended.final_loss < 0.5 * local.final_loss < searched.final_loss


def test_bad_arguments():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"scale must be > 0; got 0"):
        random_search("svm", X, y, budget=Budget(evaluations=3), scale=0)
    with pytest.raises(ValueError, match=r"step_size must be > 0; got -1"):
        random_local_search("svm", X, y, budget=Budget(evaluations=3), step_size=-1)
    with pytest.raises(ValueError, match=r"params\['W'\] has 3 rows but X has 2 features"):
        random_local_search(
            "svm",
            X,
            y,
            budget=Budget(evaluations=3),
            params={"W": np.ones((3, 3)), "b": np.zeros(3)},
        )


# --- a fixed sample for the loss evaluations ------------------------------------------------------


@pytest.mark.parametrize("strategy", [random_search, random_local_search])
def test_a_search_on_a_sample_is_the_search_on_those_rows(strategy):
    """The sample is drawn once, first, from the generator; every try evaluates it."""
    X, y = blobs(num_features=4, per_class=30)
    sampled = strategy("svm", X, y, budget=Budget(evaluations=30), sample_size=25, rng=5)
    generator = np.random.default_rng(5)
    X_sample, y_sample = fixed_sample(make_problem("svm", X, y), 25, generator)
    alone = strategy("svm", X_sample, y_sample, budget=Budget(evaluations=30), rng=generator)
    np.testing.assert_array_equal(sampled.column("loss"), alone.column("loss"))
    np.testing.assert_array_equal(sampled.params["W"], alone.params["W"])
    rows = {tuple(row) for row in X_sample}
    assert len(rows) == 25 and rows <= {tuple(row) for row in X}  # 25 distinct training rows


@pytest.mark.parametrize("strategy", [random_search, random_local_search])
def test_a_sampled_search_counts_the_sample_and_measures_accuracy_on_all(strategy):
    X, y = blobs(num_features=4, per_class=30)
    history = strategy(
        "svm", X, y, X_val=X, y_val=y, budget=Budget(examples=500), sample_size=20, rng=0,
        eval_every=10,
    )  # fmt: skip
    assert history.evaluations == 25 and history.examples == 500  # ceil(500 / 20) tries
    assert [record.examples for record in history.epochs] == [200, 400, 500]
    assert [record.epoch for record in history.epochs] == [200 / 90, 400 / 90, 500 / 90]
    assert history.epochs[-1].train_accuracy == accuracy(history.params, X, y)
    assert "on a fixed sample of 20 examples" in history.message


@pytest.mark.parametrize("strategy", [random_search, random_local_search])
def test_a_sample_of_every_example_is_no_sample_at_all(strategy):
    X, y = blobs(num_features=4)
    every = strategy("svm", X, y, budget=Budget(evaluations=15), sample_size=len(y), rng=2)
    unsampled = strategy("svm", X, y, budget=Budget(evaluations=15), rng=2)
    np.testing.assert_array_equal(every.column("loss"), unsampled.column("loss"))
    assert "sample" not in every.message


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [
        (121, InvalidValueError, r"^sample_size 121 is more than the 120 training examples; use "
         r"at most 120, or None for all of them$"),
        (0, InvalidValueError, r"^sample_size must be > 0; got 0"),
        (2.5, InvalidTypeError, r"^sample_size must be an integer; got"),
        (True, InvalidTypeError, r"^sample_size must be an integer; got"),
    ],
)  # fmt: skip
def test_a_bad_sample_size_is_refused_by_name(size, error, message):
    X, y = blobs()
    with pytest.raises(error, match=message):
        random_search("svm", X, y, budget=Budget(evaluations=3), sample_size=size)
