"""LinearClassifier: scikit-learn's own estimator checks, pipelines, grid search, and accuracy."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from slopelab import Budget, DivergedError, LinearClassifier, get_loss, gradient_descent
from slopelab.schedules import step_decay
from tests.helpers import blobs, digits_split

# The weighted loss is a weighted mean (sum w L / sum w, so weights k = rows repeated k times);
# on the check's unscaled blobs (std 20) with weights 1000 : 1e-4, the default 50 epochs of
# full-batch steps are too few to shift the predictions; tests/test_sample_weight.py runs the
# check with 500 epochs, where it passes.
CLASS_WEIGHT_BUDGET = {"check_class_weight_classifiers": "needs more than 50 full-batch epochs"}


@parametrize_with_checks(
    [
        LinearClassifier(random_state=0),
        LinearClassifier(loss="svm", optimizer="momentum", random_state=0),
        LinearClassifier(loss="svm-ova", optimizer="adam", random_state=0),
        LinearClassifier(loss="svm-structured", optimizer="nesterov", random_state=0),
    ],
    expected_failed_checks=lambda estimator: CLASS_WEIGHT_BUDGET,
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


# ---------------------------------------------------------------------------------------------
# Continuing a fit: every hyperparameter set in between takes effect
# ---------------------------------------------------------------------------------------------


def fitted_then_changed(changes, **first):
    """Fit 2 epochs (sgd, rate 0.1), then set ``changes`` and one full-batch epoch per step,
    so that the continued run is deterministic: no sampling, only the summation order."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(
        learning_rate=0.1, epochs=2, batch_size=50, random_state=0, warm_start=True, **first
    ).fit(X, y)
    start = {key: value.copy() for key, value in model.params_.items()}
    model.set_params(batch_size=len(y), epochs=3, **changes)
    return model, start, X, y


def continued_by_hand(start, X, y, settings):
    """The oracle: gradient descent from the same parameters with the new settings."""
    settings = {
        "loss": "softmax",
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "reg": 1e-4,
        "penalty": "l2",
        "optimizer_params": None,
        **settings,
    }
    history = gradient_descent(
        get_loss(settings["loss"], settings["penalty"]),
        X,
        y,
        budget=Budget(steps=3),
        reg=settings["reg"],
        optimizer=settings["optimizer"],
        learning_rate=settings["learning_rate"],
        optimizer_params=settings["optimizer_params"],
        params=start,
    )
    return history.params


CHANGES = [
    {"optimizer": "adam", "learning_rate": 0.5},  # the example: both were ignored
    {"learning_rate": 0.01},
    {"optimizer": "momentum", "optimizer_params": {"momentum": 0.5}},
    {"optimizer": "momentum", "learning_rate": "auto"},
    {"loss": "svm"},
    {"reg": 0.1},
    {"penalty": "l1", "reg": 0.01},
    {"loss": "svm-structured", "optimizer": "nesterov", "learning_rate": 0.02},
]


@pytest.mark.parametrize("changes", CHANGES, ids=lambda changes: ",".join(changes))
def test_warm_start_honours_every_hyperparameter_set_in_between(changes):
    model, start, X, y = fitted_then_changed(changes)
    model.fit(X, y)
    expected = continued_by_hand(start, X, y, changes)
    for key in ("W", "b"):
        np.testing.assert_allclose(model.params_[key], expected[key], rtol=1e-9, atol=1e-12)
    rates = model.history_.column("learning_rate")
    if changes.get("learning_rate", 0.1) != "auto":
        np.testing.assert_array_equal(rates, changes.get("learning_rate", 0.1))
    assert model.learning_rate_ == rates[0]


def test_warm_start_with_an_unchanged_recipe_keeps_the_update_rules_state():
    """Momentum's velocity carries over: 2 + 3 warm epochs == 5 epochs in one go."""
    X, _, y, _ = digits_split()
    settings = {"optimizer": "momentum", "batch_size": len(y), "random_state": 0}
    straight = LinearClassifier(epochs=5, **settings).fit(X, y)
    warm = LinearClassifier(epochs=2, warm_start=True, **settings).fit(X, y)
    warm.set_params(epochs=3).fit(X, y)
    for key in ("W", "b"):
        np.testing.assert_allclose(warm.params_[key], straight.params_[key], rtol=1e-9)
    assert warm.t_ == straight.t_ == 5 and warm.n_iter_ == 5
    np.testing.assert_allclose(warm.loss_curve_, straight.loss_curve_, rtol=1e-9)


def test_a_schedule_continues_across_warm_fits():
    """The recipe is unchanged, so update k of the second fit uses rate schedule(k)."""
    X, _, y, _ = digits_split()
    schedule = step_decay(0.1, step_size=5, gamma=0.5)
    model = LinearClassifier(learning_rate=schedule, epochs=1, warm_start=True, random_state=0)
    model.fit(X, y).fit(X, y)
    steps = model.history_.column("step").astype(int)
    assert steps[0] == 8  # ceil(1437 / 200) updates in the first fit
    np.testing.assert_array_equal(
        model.history_.column("learning_rate"), [schedule(k) for k in steps]
    )


def test_a_pickled_estimator_continues_exactly_as_the_original():
    X, _, y, _ = digits_split()
    model = LinearClassifier(optimizer="adam", epochs=2, warm_start=True, random_state=0)
    model.fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    model.fit(X, y)
    copy.fit(X, y)
    for key in ("W", "b"):
        np.testing.assert_array_equal(copy.params_[key], model.params_[key])


def test_a_new_recipe_restarts_the_update_rules_state():
    """Same rule, new momentum: the velocity of the old recipe must not leak into the new."""
    model, start, X, y = fitted_then_changed(
        {"optimizer_params": {"momentum": 0.5}}, optimizer="momentum"
    )
    model.fit(X, y)
    expected = continued_by_hand(
        start, X, y, {"optimizer": "momentum", "optimizer_params": {"momentum": 0.5}}
    )
    np.testing.assert_allclose(model.params_["W"], expected["W"], rtol=1e-9, atol=1e-12)


def exact_lipschitz(X, reg):
    A = np.hstack([X, np.ones((len(X), 1))])
    return 0.5 * np.linalg.eigvalsh(A.T @ A / len(X)).max() + 2 * reg


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_auto_uses_the_momentum_of_optimizer_params(optimizer):
    X, _, y, _ = digits_split()
    model = LinearClassifier(
        optimizer=optimizer, optimizer_params={"momentum": 0.5}, epochs=1, random_state=0
    ).fit(X, y)
    assert model.learning_rate_ == pytest.approx(0.5 / exact_lipschitz(X, 1e-4), rel=1e-2)


def test_auto_is_resolved_again_when_what_it_depends_on_changes():
    X, _, y, _ = digits_split()
    model = LinearClassifier(optimizer="momentum", epochs=1, warm_start=True, random_state=0)
    first = model.fit(X, y).learning_rate_
    assert model.fit(X, y).learning_rate_ == first
    model.set_params(reg=0.5).fit(X, y)
    assert model.learning_rate_ == pytest.approx(0.1 / exact_lipschitz(X, 0.5), rel=1e-2)
    model.set_params(optimizer_params={"momentum": 0.5}).fit(X, y)
    assert model.learning_rate_ == pytest.approx(0.5 / exact_lipschitz(X, 0.5), rel=1e-2)
    model.optimizer_params["momentum"] = 0.8  # changed in place, not through set_params
    model.fit(X, y)
    assert model.learning_rate_ == pytest.approx(0.2 / exact_lipschitz(X, 0.5), rel=1e-2)
    model.set_params(optimizer="adam", optimizer_params=None).fit(X, y)
    assert model.learning_rate_ == pytest.approx(1e-2 / np.sqrt(np.mean(X**2)), rel=1e-12)


def test_partial_fit_chunks_share_one_auto_rate():
    """Chunks of different scale would each give another rate; the stream keeps the first."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(random_state=0)
    model.partial_fit(X[:700], y[:700], classes=np.arange(10))
    rate = model.learning_rate_
    model.partial_fit(3 * X[700:], y[700:])
    assert model.learning_rate_ == rate
    assert np.all(model.history_.column("learning_rate") == rate)


def test_partial_fit_after_set_params_uses_the_new_settings():
    X, _, y, _ = digits_split()
    model = LinearClassifier(random_state=0).partial_fit(X, y, classes=np.arange(10))
    model.set_params(optimizer="adam", learning_rate=0.5)
    model.partial_fit(X, y)
    assert model.learning_rate_ == 0.5
    np.testing.assert_array_equal(model.history_.column("learning_rate"), 0.5)


def test_a_new_random_state_reseeds_a_warm_start():
    X, _, y, _ = digits_split()

    def continued_with(seed):
        model = LinearClassifier(epochs=1, random_state=0, warm_start=True).fit(X, y)
        return model.set_params(random_state=seed).fit(X, y).params_["W"]

    np.testing.assert_array_equal(continued_with(1), continued_with(1))
    assert not np.array_equal(continued_with(1), continued_with(2))
    assert not np.array_equal(continued_with(0), continued_with(1))


@pytest.mark.parametrize("continue_with", ["fit", "partial_fit"])
def test_training_continues_after_early_stopping(continue_with):
    """An early stop once ended every later warm fit or partial_fit before its first step."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(
        epochs=500, early_stopping=True, n_iter_no_change=2, warm_start=True, random_state=0
    ).fit(X, y)
    assert model.history_.status == "early_stopped"
    iterations, coef = model.n_iter_, model.coef_.copy()
    model.set_params(early_stopping=False, epochs=2)
    getattr(model, continue_with)(X, y)
    assert model.history_.status == "completed" and len(model.history_.steps) > 0
    assert model.n_iter_ == iterations + (2 if continue_with == "fit" else 1)
    assert not np.array_equal(model.coef_, coef)


def test_a_much_larger_reg_on_warm_start_is_not_mistaken_for_divergence():
    """The divergence check compares with the first loss of the same call, not of the first
    fit (reg 1e-4): with reg 1000 the loss starts over 100x higher and then goes down."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(reg=1e-4, epochs=5, warm_start=True, random_state=0).fit(X, y)
    model.set_params(reg=1000.0, epochs=3).fit(X, y)
    assert model.loss_curve_[5] > 100 * model.loss_curve_[0]
    assert model.loss_curve_[-1] < model.loss_curve_[5]


def test_warm_start_with_another_number_of_features_has_a_clear_error():
    X, _, y, _ = digits_split()
    model = LinearClassifier(epochs=1, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X has 5 features, but LinearClassifier is expecting 64"):
        model.fit(X[:, :5], y)


def test_bad_new_hyperparameters_leave_the_fitted_model_as_it_was():
    X, X_test, y, y_test = digits_split()
    model = LinearClassifier(epochs=2, warm_start=True, random_state=0).fit(X, y)
    coef, score = model.coef_.copy(), model.score(X_test, y_test)
    model.set_params(optimizer="momentum", optimizer_params={"momentum": 2.0})
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\); got 2.0"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.score(X_test, y_test) == score


# ---------------------------------------------------------------------------------------------
# A failed fit leaves no model that looks fitted
# ---------------------------------------------------------------------------------------------


def assert_unfitted(model):
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((1, 64)))
    assert not [name for name in vars(model) if name.endswith("_") or name.startswith("_")]


DIVERGING = {"loss": "svm", "learning_rate": 1e4, "reg": 10.0, "random_state": 0}


def test_a_diverged_fit_leaves_the_estimator_unfitted():
    """It once kept the half-trained weights: check_is_fitted passed and score gave 0.12."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(**DIVERGING)
    with pytest.raises(DivergedError, match=r"loss diverged at step \d+ .*try a smaller learning"):
        model.fit(X, y)
    assert_unfitted(model)
    model.set_params(learning_rate="auto", reg=1e-4).fit(X, y)  # and it can be fitted again
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("continue_with", ["fit", "partial_fit"])
def test_a_diverged_continuation_leaves_the_estimator_unfitted(continue_with):
    X, _, y, _ = digits_split()
    model = LinearClassifier(epochs=2, warm_start=True, random_state=0).fit(X, y)
    model.set_params(**DIVERGING)
    with pytest.raises(DivergedError, match=r"loss diverged at step \d+"):
        getattr(model, continue_with)(X, y)
    assert_unfitted(model)


def test_a_non_finite_first_loss_is_a_diverged_error_and_leaves_the_estimator_unfitted():
    """A chunk far beyond the float range of the learned weights: the scores overflow before
    any update, and the message says so instead of blaming the learning rate."""
    X, y = blobs()
    model = LinearClassifier(reg=0.0, learning_rate=1.0, epochs=20, random_state=0).fit(X, y)
    W = model.params_["W"]
    feature, _ = np.unravel_index(np.abs(W).argmax(), W.shape)
    assert np.abs(W).max() > 1.1  # so 1.7e308 * W overflows
    row = np.zeros((1, 2))
    row[0, feature] = 1.7e308
    with pytest.raises(DivergedError, match=r"the loss is nan at the first step, before any"):
        model.partial_fit(row, y[:1])
    assert_unfitted(model)


def test_a_fit_rejected_for_a_bad_hyperparameter_leaves_no_fitted_model():
    """The weights were once initialized before the learning rate was checked."""
    X, _, y, _ = digits_split()
    model = LinearClassifier(learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"learning_rate must be > 0"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model, "params_")


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"optimizer_params": [0.9]}, TypeError, r"optimizer_params must be a dict such as"),
        (
            {"optimizer_params": {"learning_rate": 0.1}},
            ValueError,
            r"optimizer_params must not hold learning_rate; set the learning_rate parameter",
        ),
        (
            {"optimizer": "momentum", "optimizer_params": {"mu": 0.9}},
            TypeError,
            r"unknown hyperparameter 'mu' for optimizer 'momentum'",
        ),
        ({"penalty": "l3"}, ValueError, r"unknown penalty 'l3'; valid choices are 'l2'"),
        ({"random_state": "seed"}, TypeError, r"random_state must be None, an int >= 0"),
        ({"random_state": -3}, ValueError, r"random_state must be >= 0; got -3"),
        ({"learning_rate": "fast"}, TypeError, r"learning_rate must be"),
    ],
)
def test_more_bad_hyperparameters_have_clear_errors_and_fit_nothing(params, error, message):
    X_train, _, y_train, _ = digits_split()
    model = LinearClassifier(**params)
    with pytest.raises(error, match=message):
        model.fit(X_train[:50], y_train[:50])
    assert not hasattr(model, "params_")
