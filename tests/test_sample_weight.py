"""Per-example weights: the weighted mean ``sum_i w_i L_i / sum_i w_i`` in the losses, the
strategies and the estimator (``sample_weight``, ``class_weight``).

The references are independent of the vectorized code: a loop over rows of the naive twins
(``slopelab.reference``), finite differences, and the unweighted loss on a data set whose rows
are repeated (integer weights) or removed (weight 0).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import (
    check_class_weight_classifiers,
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
)

from slopelab import Budget, LinearClassifier, check_gradient, get_loss, gradient_descent, sgd
from slopelab.autolr import auto_learning_rate
from slopelab.reference import softmax_naive, svm_ova_naive, svm_structured_naive, svm_ww_naive

NAIVE = {
    "svm": svm_ww_naive,
    "svm-ova": svm_ova_naive,
    "svm-structured": svm_structured_naive,
    "softmax": softmax_naive,
}
LOSSES = list(NAIVE)


def problem(rng, num_examples=12, num_features=5, num_classes=4):
    X = rng.standard_normal((num_examples, num_features))
    y = rng.integers(0, num_classes, size=num_examples)
    params = {
        "W": 0.5 * rng.standard_normal((num_features, num_classes)),
        "b": 0.1 * rng.standard_normal(num_classes),
    }
    return X, y, params


def naive_weighted(name, params, X, y, weights, reg):
    """``sum_i w_i L_i / sum w + reg R`` from one-row calls of the naive twin (the penalty is
    the twin's loss with ``reg`` minus without it, on any one row)."""
    total_weight = weights.sum()
    loss = 0.0
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    for i in range(len(y)):
        row_loss, row_grads = NAIVE[name](params, X[i : i + 1], y[i : i + 1], 0.0)
        loss += weights[i] * row_loss / total_weight
        for key in grads:
            grads[key] += weights[i] * row_grads[key] / total_weight
    with_reg, reg_grads = NAIVE[name](params, X[:1], y[:1], reg)
    without_reg, data_grads = NAIVE[name](params, X[:1], y[:1], 0.0)
    loss += with_reg - without_reg
    for key in grads:
        grads[key] += reg_grads[key] - data_grads[key]
    return loss, grads


def as_sparse(X):
    """A CSR twin of ``X`` built from its nonzero triplets (not from scipy's dense reader)."""
    rows, columns = np.nonzero(X)
    return scipy.sparse.csr_array((X[rows, columns], (rows, columns)), shape=X.shape)


# --- the loss --------------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_weighted_loss_and_gradient_match_a_loop_over_the_naive_twin(name, reg, sparse):
    rng = np.random.default_rng(1)
    X, y, params = problem(rng)
    weights = rng.uniform(0.0, 3.0, size=len(y))
    weights[2] = 0.0
    expected_loss, expected_grads = naive_weighted(name, params, X, y, weights, reg)
    features = as_sparse(X) if sparse else X
    loss, grads = get_loss(name)(params, features, y, reg, sample_weight=weights)
    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
    for key in grads:
        np.testing.assert_allclose(grads[key], expected_grads[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", LOSSES)
def test_weighted_gradient_passes_the_gradient_checker(name, sparse):
    rng = np.random.default_rng(2)
    X, y, params = problem(rng)
    weights = rng.uniform(0.1, 3.0, size=len(y))
    features = as_sparse(X) if sparse else X
    loss = get_loss(name)
    report = check_gradient(
        lambda p: loss(p, features, y, 0.1, sample_weight=weights), params, mode="all"
    )
    assert report.passed, report


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", LOSSES)
def test_unit_weights_give_the_unweighted_loss(name, sparse):
    rng = np.random.default_rng(3)
    X, y, params = problem(rng)
    features = as_sparse(X) if sparse else X
    loss = get_loss(name)
    plain_loss, plain_grads = loss(params, features, y, 0.2)
    for scale in (1.0, 7.5):  # only relative weights matter
        weighted_loss, weighted_grads = loss(
            params, features, y, 0.2, sample_weight=np.full(len(y), scale)
        )
        assert weighted_loss == pytest.approx(plain_loss, rel=1e-12)
        for key in plain_grads:
            np.testing.assert_allclose(weighted_grads[key], plain_grads[key], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(LOSSES),
    counts=st.lists(st.integers(0, 3), min_size=2, max_size=10).filter(any),
    sparse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_integer_weights_equal_repeated_rows_and_zero_equals_removed(name, counts, sparse, seed):
    rng = np.random.default_rng(seed)
    X, y, params = problem(rng, num_examples=len(counts))
    counts = np.array(counts)
    repeated = np.repeat(np.arange(len(counts)), counts)
    loss = get_loss(name)
    features = as_sparse(X) if sparse else X
    repeated_features = as_sparse(X[repeated]) if sparse else X[repeated]
    weighted_loss, weighted_grads = loss(params, features, y, 0.1, sample_weight=counts)
    repeated_loss, repeated_grads = loss(params, repeated_features, y[repeated], 0.1)
    assert weighted_loss == pytest.approx(repeated_loss, rel=1e-12, abs=1e-12)
    for key in weighted_grads:
        np.testing.assert_allclose(weighted_grads[key], repeated_grads[key], rtol=1e-12, atol=1e-12)


# --- the strategies ----------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("learning_rate", [0.1, "auto"])
def test_gradient_descent_with_integer_weights_follows_the_repeated_rows(
    name, learning_rate, sparse
):
    rng = np.random.default_rng(4)
    X, y, params = problem(rng, num_examples=10)
    counts = np.array([1, 0, 2, 3, 1, 1, 0, 4, 1, 2])
    repeated = np.repeat(np.arange(len(counts)), counts)
    features = as_sparse(X) if sparse else X
    repeated_features = as_sparse(X[repeated]) if sparse else X[repeated]
    common = dict(budget=Budget(steps=30), reg=0.05, learning_rate=learning_rate, params=params)
    weighted = gradient_descent(name, features, y, sample_weight=counts, **common)
    plain = gradient_descent(name, repeated_features, y[repeated], **common)
    np.testing.assert_allclose(
        weighted.column("loss"), plain.column("loss"), rtol=1e-10, atol=1e-12
    )
    for key in params:
        np.testing.assert_allclose(weighted.params[key], plain.params[key], rtol=1e-10, atol=1e-12)


def test_gradient_descent_with_weights_moves_differently_from_without():
    """The weights reach the training loop (a loop that dropped them would match unweighted)."""
    rng = np.random.default_rng(5)
    X, y, params = problem(rng)
    common = dict(budget=Budget(steps=5), learning_rate=0.1, params=params)
    weights = np.linspace(0.1, 3.0, len(y))
    weighted = gradient_descent("softmax", X, y, sample_weight=weights, **common)
    plain = gradient_descent("softmax", X, y, **common)
    assert not np.allclose(weighted.params["W"], plain.params["W"])


def test_minibatch_loss_is_the_unbiased_weighted_estimate():
    """Over an epoch of minibatches with the parameters frozen, the batch losses average to the
    full weighted loss; a batch whose weights are all 0 has data loss 0 (no division by the
    batch's own weight sum)."""
    rng = np.random.default_rng(6)
    X, y, params = problem(rng, num_examples=8)
    weights = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 1.0, 0.5, 4.0])
    frozen = dict(learning_rate=1e-300, params=params)  # W + 1e-300 * dW rounds to W
    history = sgd(
        "softmax", X, y, budget=Budget(steps=4), batch_size=2, sample_weight=weights, **frozen
    )
    full_loss, _ = get_loss("softmax")(params, X, y, sample_weight=weights)
    assert history.column("loss").mean() == pytest.approx(full_loss, rel=1e-12)
    one_by_one = sgd(
        "softmax", X, y, budget=Budget(steps=8), batch_size=1, sample_weight=weights, **frozen
    )
    losses = one_by_one.column("loss")
    assert np.count_nonzero(losses == 0.0) == 2
    assert losses.mean() == pytest.approx(full_loss, rel=1e-12)


def test_auto_learning_rate_with_integer_weights_equals_repeated_rows():
    rng = np.random.default_rng(7)
    X, _, _ = problem(rng)
    counts = rng.integers(1, 4, size=len(X)).astype(float)
    repeated = np.repeat(np.arange(len(X)), counts.astype(int))
    normalized = counts * len(X) / counts.sum()
    for optimizer in ("sgd", "momentum", "adam"):
        weighted = auto_learning_rate(X, 0.01, optimizer, sample_weight=normalized)
        plain = auto_learning_rate(X[repeated], 0.01, optimizer)
        assert weighted == pytest.approx(plain, rel=1e-9)


# --- the estimator -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOSSES)
def test_fit_with_integer_weights_equals_fit_on_repeated_rows(name):
    rng = np.random.default_rng(8)
    X, y, _ = problem(rng, num_examples=30)
    counts = rng.integers(0, 4, size=len(y))
    repeated = np.repeat(np.arange(len(y)), counts)
    model = LinearClassifier(loss=name, epochs=20, random_state=0)
    weighted = model.fit(X, y, sample_weight=counts).decision_function(X)
    plain = model.fit(X[repeated], y[repeated]).decision_function(X)
    np.testing.assert_allclose(weighted, plain, rtol=1e-9, atol=1e-10)


def test_balanced_class_weight_equals_explicit_sample_weights():
    rng = np.random.default_rng(9)
    X, _, _ = problem(rng, num_examples=40)
    y = np.array(["a"] * 25 + ["b"] * 10 + ["c"] * 5)
    classes = np.unique(y)
    per_class = compute_class_weight("balanced", classes=classes, y=y)
    explicit = per_class[np.searchsorted(classes, y)]
    balanced = LinearClassifier(class_weight="balanced", epochs=10, random_state=0).fit(X, y)
    weighted = LinearClassifier(epochs=10, random_state=0).fit(X, y, sample_weight=explicit)
    np.testing.assert_array_equal(balanced.coef_, weighted.coef_)
    as_dict = LinearClassifier(class_weight=dict(zip(classes, per_class, strict=True)), epochs=10)
    as_dict.set_params(random_state=0).fit(X, y)
    np.testing.assert_array_equal(as_dict.coef_, weighted.coef_)


def test_balanced_class_weight_helps_the_rare_classes_of_imbalanced_digits():
    """Classes 5-9 cut to ~10% in training: "balanced" raises the balanced accuracy on the
    (balanced) test half (measured: 0.777 -> 0.899)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )
    keep = (y_train < 5) | (np.random.default_rng(0).random(len(y_train)) < 0.1)
    scaler = StandardScaler().fit(X_train[keep])
    X_train, X_test = scaler.transform(X_train[keep]), scaler.transform(X_test)
    y_train = y_train[keep]
    scores = {}
    for class_weight in (None, "balanced"):
        model = LinearClassifier(class_weight=class_weight, random_state=0)
        predicted = model.fit(X_train, y_train).predict(X_test)
        scores[class_weight] = balanced_accuracy_score(y_test, predicted)
    assert scores["balanced"] > scores[None] + 0.05


def test_class_weight_multiplies_sample_weight():
    rng = np.random.default_rng(10)
    X, y, _ = problem(rng, num_examples=20, num_classes=2)
    sample_weight = rng.uniform(0.5, 2.0, size=len(y))
    both = LinearClassifier(class_weight={0: 3.0}, epochs=5, random_state=0)
    both.fit(X, y, sample_weight=sample_weight)
    product = np.where(y == 0, 3.0, 1.0) * sample_weight
    explicit = LinearClassifier(epochs=5, random_state=0).fit(X, y, sample_weight=product)
    np.testing.assert_array_equal(both.coef_, explicit.coef_)


def test_partial_fit_takes_sample_weight_and_a_class_weight_dict():
    rng = np.random.default_rng(11)
    X, y, _ = problem(rng, num_examples=20, num_classes=3)
    counts = rng.integers(1, 3, size=len(y))
    repeated = np.repeat(np.arange(len(y)), counts)
    model = LinearClassifier(batch_size=100, random_state=0, class_weight={1: 2.0})
    weighted = model.partial_fit(X, y, classes=[0, 1, 2], sample_weight=counts).coef_
    plain = LinearClassifier(batch_size=100, random_state=0, class_weight={1: 2.0})
    expected = plain.partial_fit(X[repeated], y[repeated], classes=[0, 1, 2]).coef_
    np.testing.assert_allclose(weighted, expected, rtol=1e-10, atol=1e-12)


def test_partial_fit_refuses_balanced_class_weight():
    X, y, _ = problem(np.random.default_rng(12))
    model = LinearClassifier(class_weight="balanced")
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial_fit"):
        model.partial_fit(X, y, classes=np.arange(4))


def test_score_takes_sample_weight():
    rng = np.random.default_rng(13)
    X, y, _ = problem(rng, num_examples=30, num_classes=2)
    model = LinearClassifier(epochs=5, random_state=0).fit(X, y)
    correct = model.predict(X) == y
    weights = rng.uniform(0.0, 2.0, size=len(y))
    expected = float((weights * correct).sum() / weights.sum())
    assert model.score(X, y, sample_weight=weights) == pytest.approx(expected, rel=1e-12)


def test_early_stopping_keeps_the_training_rows_weights():
    rng = np.random.default_rng(14)
    X, y, _ = problem(rng, num_examples=60, num_classes=2)
    weights = rng.uniform(0.5, 2.0, size=len(y))
    model = LinearClassifier(early_stopping=True, epochs=5, random_state=0)
    weighted = model.fit(X, y, sample_weight=weights).coef_
    plain = LinearClassifier(early_stopping=True, epochs=5, random_state=0).fit(X, y).coef_
    assert np.all(np.isfinite(weighted))
    assert not np.allclose(weighted, plain)


@pytest.mark.parametrize(
    "check",
    [check_sample_weight_equivalence_on_dense_data, check_sample_weight_equivalence_on_sparse_data],
)
@pytest.mark.parametrize("name", LOSSES)
def test_scikit_learn_sample_weight_equivalence(name, check):
    check("LinearClassifier", LinearClassifier(loss=name, random_state=0))


@pytest.mark.parametrize("name", LOSSES)
def test_scikit_learn_class_weight_check_passes_with_enough_epochs(name):
    """The check trains on unscaled blobs (std 20) with weights 1000 : 1e-4; 50 full-batch
    steps (the defaults on its 50 rows) are too few for that conditioning, 500 are enough."""
    check_class_weight_classifiers("LinearClassifier", LinearClassifier(loss=name, epochs=500))


# --- bad weights -------------------------------------------------------------------------------

BAD_WEIGHTS = [
    ([1.0, 2.0], r"sample_weight must have shape \(6,\), one weight per example; got shape \(2,\)"),
    (np.ones((6, 1)), r"must have shape \(6,\).*got shape \(6, 1\)"),
    ([1, 1, np.nan, 1, 1, 1], "sample_weight contains NaN or infinity at index 2"),
    ([1, 1, 1, np.inf, 1, 1], "sample_weight contains NaN or infinity at index 3"),
    ([1, -0.5, 1, 1, 1, 1], r"negative weight \(-0.5\) at index 1; weights must be >= 0"),
    (np.zeros(6), "sample_weight is zero for every example"),
    (["a", "b", "c", "d", "e", "f"], "sample_weight must be an array of N=6 numbers"),
]


@pytest.mark.parametrize(("weights", "message"), BAD_WEIGHTS)
def test_bad_sample_weight_is_refused_by_the_loss_strategies_and_estimator(weights, message):
    rng = np.random.default_rng(15)
    X, y, params = problem(rng, num_examples=6, num_classes=2)
    with pytest.raises(ValueError, match=message):
        get_loss("softmax")(params, X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=message):
        gradient_descent("softmax", X, y, budget=Budget(steps=1), sample_weight=weights)
    with pytest.raises(ValueError, match=message):
        LinearClassifier().fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=message):
        LinearClassifier().partial_fit(X, y, classes=[0, 1], sample_weight=weights)


BAD_CLASS_WEIGHTS = [
    ("heavy", "class_weight must be None, 'balanced' or a dict"),
    ({5: 1.0}, r"class_weight has label 5, which is not among the classes \[0, 1\]"),
    ({0: -1.0}, r"class_weight\[0\] must be a finite number >= 0; got -1.0"),
    ({0: "x"}, r"class_weight\[0\] must be a finite number >= 0; got 'x'"),
    ({0: 0.0, 1: 0.0}, "every example has weight zero"),
]


@pytest.mark.parametrize(("class_weight", "message"), BAD_CLASS_WEIGHTS)
def test_bad_class_weight_is_refused(class_weight, message):
    X, y, _ = problem(np.random.default_rng(16), num_examples=6, num_classes=2)
    y[:2] = [0, 1]
    with pytest.raises(ValueError, match=message):
        LinearClassifier(class_weight=class_weight).fit(X, y)
