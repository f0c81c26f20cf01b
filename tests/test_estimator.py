"""LinearClassifier: scikit-learn's own estimator checks, pipelines, grid search, and accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from slopelab import LinearClassifier
from tests.helpers import digits_split


@parametrize_with_checks(
    [
        LinearClassifier(random_state=0),
        LinearClassifier(loss="svm", optimizer="momentum", random_state=0),
        LinearClassifier(loss="svm-ova", optimizer="adam", random_state=0),
        LinearClassifier(loss="svm-structured", optimizer="nesterov", random_state=0),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defaults_reach_95_percent_on_standardized_digits(seed):
    X_train, X_test, y_train, y_test = digits_split(seed)
    model = LinearClassifier(random_state=seed).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.95


@pytest.mark.parametrize("loss", ["svm", "svm-ova", "svm-structured"])
@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
)
def test_every_loss_and_update_rule_learns_digits_with_defaults(loss, optimizer):
    X_train, X_test, y_train, y_test = digits_split()
    model = LinearClassifier(loss=loss, optimizer=optimizer, random_state=0)
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.93


def test_pipeline_and_grid_search():
    X, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), LinearClassifier(epochs=10, random_state=0))
    search = GridSearchCV(
        pipeline,
        {"linearclassifier__loss": ["softmax", "svm"], "linearclassifier__reg": [1e-4, 1e-1]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_params_["linearclassifier__reg"] == 1e-4  # 1e-1 is far too strong
    assert search.score(X, y) > 0.95


def test_fitted_attributes_and_shapes():
    X_train, X_test, y_train, _ = digits_split()
    labels = np.array(list("abcdefghij"))
    model = LinearClassifier(epochs=5, random_state=0).fit(X_train, labels[y_train])
    assert model.coef_.shape == (10, 64) and model.intercept_.shape == (10,)
    assert model.params_["W"].shape == (64, 10)
    np.testing.assert_array_equal(model.classes_, labels)
    assert set(model.predict(X_test)) <= set(labels)
    assert len(model.loss_curve_) == 5 == model.n_iter_
    assert model.t_ == 5 * 8  # ceil(1437 / 200) updates per epoch
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(labels[proba.argmax(axis=1)], model.predict(X_test))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X_test)), proba, rtol=1e-10)


def test_binary_decision_function_is_score_difference():
    X_train, _, y_train, _ = digits_split()
    mask = y_train < 2
    model = LinearClassifier(loss="svm", epochs=5, random_state=0).fit(X_train[mask], y_train[mask])
    decision = model.decision_function(X_train[mask])
    assert decision.shape == (mask.sum(),) and model.coef_.shape == (1, 64)
    np.testing.assert_allclose(decision, X_train[mask] @ model.coef_[0] + model.intercept_[0])
    np.testing.assert_array_equal(model.predict(X_train[mask]), (decision > 0).astype(int))


def test_predict_proba_only_for_softmax():
    model = LinearClassifier(loss="svm")
    assert not hasattr(model, "predict_proba")
    assert hasattr(LinearClassifier(loss="softmax"), "predict_proba")


def test_float32_is_kept():
    X_train, _, y_train, _ = digits_split()
    model = LinearClassifier(epochs=3, random_state=0).fit(X_train.astype(np.float32), y_train)
    assert model.params_["W"].dtype == np.float32
    assert model.decision_function(X_train[:3].astype(np.float32)).dtype == np.float32


def test_same_seed_same_model_and_warm_start_continues():
    X_train, _, y_train, _ = digits_split()
    first = LinearClassifier(epochs=3, random_state=7).fit(X_train, y_train)
    second = LinearClassifier(epochs=3, random_state=7).fit(X_train, y_train)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    warm = LinearClassifier(epochs=3, random_state=7, warm_start=True).fit(X_train, y_train)
    coef_after_first = warm.coef_.copy()
    warm.fit(X_train, y_train)
    assert warm.n_iter_ == 6 and not np.array_equal(warm.coef_, coef_after_first)


def test_partial_fit_needs_classes_first_and_then_learns():
    X_train, X_test, y_train, y_test = digits_split()
    model = LinearClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        model.partial_fit(X_train, y_train)
    for _ in range(10):
        for chunk in np.array_split(np.arange(len(y_train)), 4):
            model.partial_fit(X_train[chunk], y_train[chunk], classes=np.arange(10))
    assert model.score(X_test, y_test) > 0.93
    with pytest.raises(ValueError, match=r"y contains labels \[11\] that are not in classes"):
        model.partial_fit(X_train[:2], np.array([11, 0]))


def test_early_stopping_stops_and_restores_best():
    X_train, X_test, y_train, y_test = digits_split()
    model = LinearClassifier(
        epochs=500, early_stopping=True, n_iter_no_change=3, random_state=0
    ).fit(X_train, y_train)
    assert model.history_.status == "early_stopped"
    assert model.n_iter_ < 500
    assert model.score(X_test, y_test) > 0.93


def test_divergence_raises_a_readable_error():
    X_train, _, y_train, _ = digits_split()
    model = LinearClassifier(loss="svm", learning_rate=1e4, reg=10.0, random_state=0)
    with pytest.raises(RuntimeError, match=r"loss diverged at step \d+ .*try a smaller learning"):
        model.fit(X_train, y_train)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"loss": "hinge"}, ValueError, r"unknown loss 'hinge'; valid choices are 'svm'"),
        ({"optimizer": "lbfgs"}, ValueError, r"unknown optimizer 'lbfgs'; valid choices"),
        ({"batch_size": 0}, ValueError, r"batch_size must be > 0; got 0"),
        ({"batch_size": 2.5}, TypeError, r"batch_size must be an integer; got 2.5"),
        ({"learning_rate": -1.0}, ValueError, r"learning_rate must be > 0"),
        ({"reg": -0.1}, ValueError, r"reg must be >= 0; got -0.1"),
        ({"validation_fraction": 1.5}, ValueError, r"validation_fraction must be in \(0, 1\)"),
    ],
)
def test_bad_hyperparameters_have_clear_errors(params, error, message):
    X_train, _, y_train, _ = digits_split()
    with pytest.raises(error, match=message):
        LinearClassifier(**params).fit(X_train[:50], y_train[:50])


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match=r"y has only one class \(3\); a classifier needs"):
        LinearClassifier().fit(np.ones((4, 2)), [3, 3, 3, 3])
