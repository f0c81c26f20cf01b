"""Every strategy on sparse X: the same iterates as on dense X, and X is never densified."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from slopelab import Budget, get_loss, gradient_descent, random_local_search, random_search, sgd
from slopelab.autolr import feature_rms, gradient_lipschitz_constant
from tests.test_sparse_losses import sparse_and_dense

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]


def problem(seed=0, shape=(150, 30), classes=4):
    rng = np.random.default_rng(seed)
    X_sparse, X_dense = sparse_and_dense(shape, 0.15, rng)
    y = rng.integers(0, classes, shape[0])
    return X_sparse, X_dense, y


def assert_same_run(sparse_history, dense_history):
    assert sparse_history.status == dense_history.status
    for key in ("W", "b"):
        np.testing.assert_allclose(
            sparse_history.params[key], dense_history.params[key], rtol=1e-10, atol=1e-10
        )
    np.testing.assert_allclose(
        sparse_history.column("loss"), dense_history.column("loss"), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
def test_sgd_on_sparse_x_follows_the_dense_iterates(optimizer, sampling):
    X_sparse, X_dense, y = problem()
    X_val_sparse, X_val_dense, y_val = problem(seed=1, shape=(40, 30))
    runs = [
        sgd("softmax", X, y, budget=Budget(epochs=3), optimizer=optimizer, learning_rate="auto",
            reg=1e-3, batch_size=32, sampling=sampling, rng=7, X_val=X_val, y_val=y_val)
        for X, X_val in ((X_sparse, X_val_sparse), (X_dense, X_val_dense))
    ]  # fmt: skip
    assert_same_run(*runs)
    np.testing.assert_array_equal(runs[0].column("val_accuracy"), runs[1].column("val_accuracy"))


@pytest.mark.parametrize("loss", ["svm", "svm-ova", "svm-structured", "softmax"])
def test_gradient_descent_on_sparse_x_follows_the_dense_iterates(loss):
    X_sparse, X_dense, y = problem()
    runs = [
        gradient_descent(loss, X, y, budget=Budget(steps=20), learning_rate=0.5, reg=1e-2, rng=3)
        for X in (X_sparse, X_dense)
    ]
    assert_same_run(*runs)


@pytest.mark.parametrize("search", [random_search, random_local_search])
def test_searches_on_sparse_x_follow_the_dense_runs(search):
    X_sparse, X_dense, y = problem()
    runs = [
        search("svm", X, y, budget=Budget(steps=30), sample_size=100, rng=5)
        for X in (X_sparse, X_dense)
    ]
    assert_same_run(*runs)


def test_float32_sparse_training_stays_float32():
    rng = np.random.default_rng(4)
    X_sparse, X_dense = sparse_and_dense((100, 20), 0.2, rng, dtype=np.float32)
    y = rng.integers(0, 3, 100)
    sparse_run = sgd("svm", X_sparse, y, budget=Budget(epochs=2), batch_size=25, rng=1)
    dense_run = sgd("svm", X_dense, y, budget=Budget(epochs=2), batch_size=25, rng=1)
    assert sparse_run.params["W"].dtype == np.float32
    np.testing.assert_allclose(sparse_run.params["W"], dense_run.params["W"], atol=1e-5)


@pytest.mark.parametrize("kind", [scipy.sparse.csr_array, scipy.sparse.csc_matrix])
def test_auto_rate_statistics_equal_dense_ones(kind):
    rng = np.random.default_rng(5)
    X_sparse, X_dense = sparse_and_dense((5000, 25), 0.1, rng, kind=kind)  # > MAX_ROWS: sampled
    X_csr = scipy.sparse.csr_array(X_sparse)
    np.testing.assert_allclose(
        gradient_lipschitz_constant(X_csr, 0.1), gradient_lipschitz_constant(X_dense, 0.1),
        rtol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(feature_rms(X_csr), feature_rms(X_dense), rtol=1e-12)


# ------------------------------------------------------------------------- never densified


def refuse_densifying(monkeypatch):
    """Make every way scipy has to build a dense X raise."""

    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")

    classes = [scipy.sparse.csr_array, scipy.sparse.csr_matrix, scipy.sparse.coo_array,
               scipy.sparse.csc_array]  # fmt: skip
    for cls in classes:
        for klass in cls.__mro__:
            for name in ("toarray", "todense", "__array__", "_todata"):
                if name in vars(klass):
                    monkeypatch.setattr(klass, name, refuse)


def test_the_guard_itself_catches_densifying(monkeypatch):
    X_sparse, _, _ = problem()
    refuse_densifying(monkeypatch)
    with pytest.raises(AssertionError, match="densified"):
        X_sparse.toarray()
    with pytest.raises(AssertionError, match="densified"):
        np.asarray(X_sparse.todense())


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_no_strategy_densifies_x(monkeypatch, optimizer):
    X_sparse, _, y = problem()
    X_val, _, y_val = problem(seed=1, shape=(40, 30))
    refuse_densifying(monkeypatch)
    kwargs = {"X_val": X_val, "y_val": y_val}
    sgd("softmax", X_sparse, y, budget=Budget(epochs=2), optimizer=optimizer,
        learning_rate="auto", batch_size=16, patience=3, **kwargs)  # fmt: skip
    gradient_descent("svm", X_sparse, y, budget=Budget(steps=3), learning_rate="auto", **kwargs)
    random_search("svm", X_sparse, y, budget=Budget(steps=3), sample_size=50, **kwargs)
    random_local_search("softmax", X_sparse.tocoo(), y, budget=Budget(steps=3), **kwargs)
    get_loss("svm-structured")({"W": np.zeros((30, 4)), "b": np.zeros(4)}, X_sparse.tocsc(), y)


def test_a_matrix_far_too_large_to_densify_trains(monkeypatch):
    """100,000 x 2,000,000 float64 would take 1.6 TB dense; its 300,000 nonzeros take 4 MB and
    W (2,000,000 x 3) 48 MB."""
    rng = np.random.default_rng(6)
    num_rows, num_columns, per_row = 100_000, 2_000_000, 3
    third = num_columns // per_row  # one nonzero in each third of the columns: distinct, sorted
    indices = rng.integers(0, third, size=(num_rows, per_row)) + third * np.arange(per_row)
    indptr = np.arange(0, num_rows * per_row + 1, per_row)
    values = rng.standard_normal(num_rows * per_row)
    X = scipy.sparse.csr_array((values, indices.ravel(), indptr), shape=(num_rows, num_columns))
    y = rng.integers(0, 3, num_rows)
    refuse_densifying(monkeypatch)
    history = sgd("softmax", X, y, budget=Budget(steps=5), batch_size=1000, learning_rate="auto")
    assert history.status == "completed"
    assert history.params["W"].shape == (num_columns, 3)
    assert np.isfinite(history.column("loss")).all()
