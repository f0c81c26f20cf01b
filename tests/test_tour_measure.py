"""The tour's measurements on small generated data: what each returns, checked against an
independent computation or an invariant (no figures, no words)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from slopelab.data.dataset import Dataset
from slopelab.data.prepare import Prepared
from slopelab.data.preprocess import Preprocessor
from slopelab.linear import accuracy
from slopelab.optim import OPTIMIZERS
from slopelab.tour_gradient import measure_gradient
from slopelab.tour_measure import (
    SEARCH_REG,
    TourSettings,
    measure_batch_sizes,
    measure_model,
    measure_search,
    measure_step_size,
    measure_update_rules,
)
from tests.test_cli_landscape import svm_loss

NUM_CLASSES = 4


def generated(num_train: int = 120, num_features: int = 6, seed: int = 0) -> Prepared:
    """Four Gaussian blobs, split 120 / 40 / 40 (float32, as prepare_data leaves them)."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((NUM_CLASSES, num_features))

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, NUM_CLASSES, count)
        X = centres[y] + rng.standard_normal((count, num_features))
        return X.astype(np.float32), y

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = split(num_train), split(40), split(40)
    dataset = Dataset(
        "blobs", X_train, y_train, X_val, y_val, X_test, y_test,
        tuple(f"class {c}" for c in range(NUM_CLASSES)), None, "generated", "none",
    )  # fmt: skip
    preprocessor = Preprocessor("none").fit(X_train)
    return Prepared(dataset, preprocessor, "none", X_train, y_train, X_val, y_val, X_test, y_test)


@pytest.fixture(scope="module")
def blobs() -> Prepared:
    return generated()


def data_loss(params, X, y) -> float:
    W, b = params["W"].astype(np.float64), params["b"].astype(np.float64)
    return svm_loss(X.astype(np.float64) @ W + b, y)


# --- the searches ----------------------------------------------------------------------------


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("sample", [None, 30])
def test_a_search_minimises_the_data_loss_alone_whatever_the_tour_reg(blobs, local, sample):
    """The cifar10 tour's reg 5e3 made the local search shrink W instead of fitting: 11%."""
    settings = TourSettings(reg=5e3, tries=40, search_sample=sample)
    result = measure_search(blobs, settings, local=local)
    history = result.history
    assert SEARCH_REG == 0.0 and np.all(history.column("reg_loss") == 0.0)
    per_try = sample or 120
    assert (result.tries, result.sample_size, result.num_examples) == (40, per_try, 120)
    assert history.evaluations == 40 and history.examples == 40 * per_try
    assert result.val_accuracy == accuracy(history.params, blobs.X_val, blobs.y_val)
    expected = data_loss(history.params, blobs.X_train, blobs.y_train)
    assert result.training_loss == pytest.approx(expected, rel=1e-5)
    if sample is None:  # on all examples the search's own best loss is that loss
        assert history.column("loss")[-1] == pytest.approx(expected, rel=1e-5)


# --- step size -------------------------------------------------------------------------------


def test_the_step_size_sweep_spans_nine_decades_around_the_auto_rate(blobs):
    settings = TourSettings(reg=1e-3, gd_steps=4)
    result = measure_step_size(blobs, settings)
    sizes = [size for size, _ in result.one_step]
    exponents = np.log10(sizes)
    np.testing.assert_allclose(np.diff(exponents), 1.0)
    assert len(sizes) == 9 and sizes[0] <= result.auto_rate < sizes[-1]
    assert result.best_one_step[1] == min(loss for _, loss in result.one_step if np.isfinite(loss))
    labels = list(result.runs.histories)
    assert len(labels) == 4 and result.auto_label in labels and labels[1] == result.auto_label
    for label, history in result.runs.histories.items():
        assert len(history.steps) == 4, label
        assert history.steps[0].loss == pytest.approx(result.start_loss, rel=1e-5)
        expected = data_loss(history.params, blobs.X_train, blobs.y_train) + 1e-3 * float(
            np.sum(history.params["W"].astype(np.float64) ** 2)
        )
        assert result.runs.training_loss[label] == pytest.approx(expected, rel=1e-4)


# --- batch sizes and update rules ------------------------------------------------------------


def test_each_batch_size_runs_the_epochs_asked_and_the_last_is_the_full_batch(blobs):
    result = measure_batch_sizes(blobs, TourSettings(epochs=2))
    updates = {label: len(h.steps) for label, h in result.runs.histories.items()}
    # ceil(120 / b) updates per epoch; 128 and 512 are more than the data, so they are left out
    assert updates == {"batch 8": 30, "batch 32": 8, "full batch": 2}
    assert all(h.examples == 240 for h in result.runs.histories.values())
    assert result.runs.ranked[0] == result.runs.winner


def test_every_update_rule_runs_from_the_same_start_and_reports_its_rate(blobs):
    result = measure_update_rules(blobs, TourSettings(epochs=1))
    assert list(result.runs.histories) == list(OPTIMIZERS)
    assert result.batch_size == 120  # batches of 200 are all of these 120 examples
    for rule, history in result.runs.histories.items():
        assert result.learning_rates[rule] == history.steps[0].learning_rate > 0
        assert history.steps[0].loss == result.runs.histories["sgd"].steps[0].loss


def test_the_model_is_the_winner_measured_once_on_the_test_split(blobs):
    runs = measure_update_rules(blobs, TourSettings(epochs=1)).runs
    reversed_ranks = dataclasses.replace(runs, ranked=runs.ranked[::-1])
    for contest in (runs, reversed_ranks):
        model = measure_model(blobs, contest)
        params = contest.histories[contest.ranked[0]].params
        assert model.selected == contest.ranked[0]
        assert model.test_accuracy == accuracy(params, blobs.X_test, blobs.y_test)
        assert np.mean(model.predicted == blobs.y_test) == model.test_accuracy


# --- the gradient ----------------------------------------------------------------------------


@pytest.mark.parametrize(("num_features", "estimated"), [(6, False), (1300, True)])
def test_the_gradient_step_times_both_and_catches_the_demo_bug(num_features, estimated):
    prepared = generated(num_features=num_features)
    result = measure_gradient(prepared, TourSettings(dev_size=50))
    parameters = (num_features + 1) * NUM_CLASSES
    assert (result.num_examples, result.evaluations) == (50, parameters + 1)
    assert result.estimated is estimated
    assert result.speedup == result.numeric_seconds / result.analytic_seconds > 0
    assert result.check.passed and not result.buggy_check.passed
    example = result.example
    assert example.slope == pytest.approx(example.analytic, rel=0.05, abs=1e-3)
