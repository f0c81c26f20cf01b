"""learning_rate="auto": the power iteration against numpy's eigvalsh, subsampling, momentum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import load_digits

from slopelab.autolr import (
    ADAPTIVE_DEFAULTS,
    auto_learning_rate,
    feature_rms,
    gradient_lipschitz_constant,
    resolve_learning_rate,
    sample_rows,
)
from slopelab.history import Budget
from slopelab.losses import get_loss
from slopelab.schedules import step_decay
from slopelab.train import sgd
from tests.helpers import blobs


def exact_lipschitz(X: np.ndarray, reg: float = 0.0) -> float:
    """The oracle: ``lambda_max([X 1]^T [X 1] / N) / 2 + 2 reg`` from a dense eigensolver."""
    A = np.hstack([X.astype(np.float64), np.ones((X.shape[0], 1))])
    return 0.5 * float(np.linalg.eigvalsh(A.T @ A / A.shape[0]).max()) + 2.0 * reg


def digits(standardize: bool) -> np.ndarray:
    X, _ = load_digits(return_X_y=True)
    if standardize:
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return X


def one_hot_pair() -> np.ndarray:
    """A standardized binary feature and its complement: columns z and -z, exactly."""
    z = np.tile([1.0, -1.0], 50)
    return np.column_stack([z, -z, np.zeros(100)])


def gaussian(shape: tuple[int, int], scale: float = 1.0, seed: int = 0) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(shape)


DATASETS = {
    "digits raw": lambda: digits(False),
    "digits standardized": lambda: digits(True),
    "gaussian tall": lambda: gaussian((500, 50)),
    "gaussian wide": lambda: gaussian((50, 500)),
    "gaussian large scale": lambda: gaussian((300, 4), scale=1e3),
    "float32": lambda: gaussian((200, 10)).astype(np.float32),
    "one-hot pair": one_hot_pair,
    "one row": lambda: np.array([[2.0, -1.0, 0.5]]),
}


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_power_iteration_matches_eigvalsh(name, reg):
    """30 power iterations reach lambda_max to 1% from below: ``||M v|| <= lambda_max`` for a
    unit ``v``, so the step ``1 / L`` errs on the large side by at most that."""
    X = DATASETS[name]()
    estimate, exact = gradient_lipschitz_constant(X, reg), exact_lipschitz(X, reg)
    assert estimate <= exact * (1 + 1e-12)
    assert estimate >= 0.99 * exact


def test_power_iteration_finds_an_eigenvector_orthogonal_to_the_ones_vector():
    """The one-hot pair's top eigenvector (1, -1, 0, 0) is orthogonal to (1, 1, 1, 1), where
    a constant start vector stays: it found lambda = 1 (the bias) instead of 2, so L came out
    half its value and the step twice too large."""
    X = one_hot_pair()
    assert exact_lipschitz(X) == pytest.approx(1.0)
    assert gradient_lipschitz_constant(X) == pytest.approx(1.0, rel=1e-5)


@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 8)),
        elements=st.floats(-100, 100, allow_nan=False),
    )
)
@settings(max_examples=200, deadline=None)
def test_the_estimate_never_exceeds_lambda_max(X):
    """A lower bound for any data (so a subsample-free estimate can only make the step larger
    by the power iteration's shortfall, which the test above bounds)."""
    estimate, exact = gradient_lipschitz_constant(X), exact_lipschitz(X)
    assert estimate <= exact * (1 + 1e-9) + 1e-12
    assert estimate >= 0.5  # the bias column alone gives lambda >= 1


@pytest.mark.parametrize("max_rows", [1, 7, 256, 1000])
def test_subsampled_estimate_is_eigvalsh_of_the_sampled_rows(max_rows):
    X = digits(True)
    rows = sample_rows(X, max_rows)
    assert rows.shape == (max_rows, X.shape[1])
    estimate = gradient_lipschitz_constant(X, max_rows=max_rows)
    assert estimate == pytest.approx(exact_lipschitz(rows), rel=1e-2)
    assert estimate <= exact_lipschitz(rows) * (1 + 1e-12)


def test_sample_rows_draws_distinct_rows_in_order_and_is_deterministic():
    X = np.arange(1000.0)[:, None]
    rows = sample_rows(X, 100)
    assert len(np.unique(rows)) == 100 and np.all(np.diff(rows[:, 0]) > 0)
    np.testing.assert_array_equal(sample_rows(X, 100), rows)
    assert sample_rows(X, 1000) is X and sample_rows(X, 5000) is X


def test_subsampling_does_not_alias_with_a_periodic_row_order():
    """Rows that take turns (small, large, small, ...): every other row, as a stride of 2
    picks, sees only the small ones and put L 38x too low (a step 38x too large)."""
    X = np.where(np.arange(8192)[:, None] % 2 == 0, 1.0, 10.0) * np.ones((8192, 3))
    exact = exact_lipschitz(X)
    assert exact_lipschitz(X[::2]) < exact / 30  # what a stride would have seen
    assert gradient_lipschitz_constant(X, max_rows=4096) == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize(
    ("standardize", "low", "high", "mean_low", "mean_high"),
    [(True, 0.85, 1.6, 1.05, 1.2), (False, 0.96, 1.04, 0.99, 1.01)],
)
def test_what_subsampling_does_to_the_estimate(standardize, low, high, mean_low, mean_high):
    """256 of 1797 standardized digits: the estimate scatters around lambda_max (measured over
    50 orders of the rows: -10% .. +47%, mean +11%). It is high on average because lambda_max
    is convex in the second-moment matrix (Jensen): a smaller, safer step. On raw pixels one
    direction (the mean) dominates and every estimate is within 4%."""
    rng = np.random.default_rng(1)
    X = digits(standardize)
    exact = exact_lipschitz(X)
    ratios = [
        gradient_lipschitz_constant(X[rng.permutation(len(X))], max_rows=256) / exact
        for _ in range(50)
    ]
    assert low <= min(ratios) and max(ratios) <= high
    assert mean_low <= np.mean(ratios) <= mean_high


def test_feature_rms_matches_its_formula_and_is_one_for_zero_data():
    X = gaussian((40, 6), scale=3.0)
    assert feature_rms(X) == pytest.approx(np.sqrt(np.mean(X**2)), rel=1e-12)
    assert feature_rms(np.zeros((5, 2))) == 1.0
    big = gaussian((10000, 2))
    assert feature_rms(big, max_rows=500) == pytest.approx(
        np.sqrt(np.mean(sample_rows(big, 500) ** 2)), rel=1e-12
    )


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
@pytest.mark.parametrize(
    ("hyperparams", "momentum"), [(None, 0.9), ({}, 0.9), ({"momentum": 0.5}, 0.5)]
)
def test_auto_honours_the_momentum_of_momentum_rules(optimizer, hyperparams, momentum):
    X = digits(True)
    expected = (1 - momentum) / exact_lipschitz(X, 1e-3)
    rate = auto_learning_rate(X, 1e-3, optimizer, hyperparams)
    assert rate == pytest.approx(expected, rel=1e-2)
    assert rate >= expected * (1 - 1e-12)  # never smaller than the exact (1 - mu) / L


def test_auto_for_sgd_is_one_over_l():
    X = digits(True)
    assert auto_learning_rate(X, 0.1, "sgd") == pytest.approx(1 / exact_lipschitz(X, 0.1), rel=1e-2)


@pytest.mark.parametrize("optimizer", sorted(ADAPTIVE_DEFAULTS))
def test_auto_for_adaptive_rules_scales_with_the_features(optimizer):
    X = gaussian((100, 5), scale=60.0)
    rms = np.sqrt(np.mean(X**2))
    expected = {"adagrad": 1e-1, "rmsprop": 1e-2, "adam": 1e-2, "adamw": 1e-2}[optimizer] / rms
    assert auto_learning_rate(X, 0.5, optimizer) == pytest.approx(expected, rel=1e-12)
    assert auto_learning_rate(X, 0.5, optimizer, {"eps": 1e-6}) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("optimizer", "hyperparams", "error", "message"),
    [
        ("momentum", {"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\); got 1.0"),
        ("nesterov", {"momentum": -0.5}, ValueError, r"momentum must be >= 0; got -0.5"),
        ("sgd", {"momentum": 0.9}, TypeError, r"unknown hyperparameter 'momentum' for optimizer"),
        ("lbfgs", {}, ValueError, r"unknown optimizer 'lbfgs'; valid choices"),
    ],
)
def test_auto_checks_the_hyperparameters_it_reads(optimizer, hyperparams, error, message):
    """A momentum of 1 would give a rate of 0, a negative one a rate above 1 / L."""
    with pytest.raises(error, match=message):
        auto_learning_rate(np.ones((3, 2)), 0.0, optimizer, hyperparams)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_auto_refuses_features_too_large_for_float_arithmetic(optimizer):
    """[X 1]^T [X 1] overflows at |x| ~ 1e154; the rate would be 0 or NaN."""
    X = np.full((10, 3), 1e200)
    with pytest.raises(ValueError, match=r"learning_rate='auto' found no usable step .* too large"):
        auto_learning_rate(X, 0.0, optimizer)


def test_resolve_learning_rate_passes_everything_but_auto_through():
    X = digits(True)
    schedule = step_decay(0.1, step_size=10)
    for given_rate in (0.05, schedule, None):
        assert resolve_learning_rate(given_rate, X, 0.0, "momentum") is given_rate
    assert resolve_learning_rate("auto", X, 0.0, "momentum", {"momentum": 0.5}) == (
        auto_learning_rate(X, 0.0, "momentum", {"momentum": 0.5})
    )


def test_only_the_l2_penalty_adds_curvature():
    X, _ = blobs()
    rates = {
        penalty: auto_learning_rate(X, 10.0, "sgd", penalty=penalty)
        for penalty in ("l2", "l1", "none")
    }
    lipschitz = gradient_lipschitz_constant(X, 0.0)
    assert rates["none"] == pytest.approx(1 / lipschitz)
    assert rates["l2"] == pytest.approx(1 / (lipschitz + 20.0))


@pytest.mark.parametrize("reg", [1e-4, 1.0, 1e3])
def test_l1_caps_the_step_so_the_subgradient_jitter_stays_below_one_unit_of_loss(reg):
    """Found by a tester: with ``penalty="l1"`` and a large reg, "auto" diverged at once."""
    X, y = blobs()
    rate = auto_learning_rate(X, reg, "sgd", penalty="l1", num_classes=3)
    assert rate <= 0.1 / (reg * reg * X.shape[1] * 3) * (1 + 1e-12)
    assert rate <= 1.0 / gradient_lipschitz_constant(X, 0.0) * (1 + 1e-12)
    history = sgd(
        get_loss("softmax", "l1"), X, y, budget=Budget(epochs=5), reg=reg, rng=0,
        learning_rate="auto", batch_size=20,
    )  # fmt: skip
    assert history.status == "completed"
    losses = history.column("loss")
    assert losses[-1] <= 1.1 * losses[0] + 0.1  # the jitter costs at most 0.1 (plus noise)
