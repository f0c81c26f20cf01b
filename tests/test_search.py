"""Random search and random local search, and the lecture's comparison with minibatch SGD."""

from __future__ import annotations

import numpy as np
import pytest

from slopelab.history import Budget
from slopelab.linear import accuracy
from slopelab.losses import get_loss
from slopelab.search import random_local_search, random_search
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
