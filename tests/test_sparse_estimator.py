"""LinearClassifier on sparse X: every method gives what it gives on the dense twin, X is never
densified, bad sparse input is named. (scikit-learn's own checks, which send sparse input, run in
tests/test_estimator.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import check_estimator

from slopelab import LinearClassifier
from tests.test_sparse_losses import sparse_and_dense
from tests.test_sparse_training import refuse_densifying

KINDS = [scipy.sparse.csr_array, scipy.sparse.csr_matrix, scipy.sparse.csc_matrix,
         scipy.sparse.coo_array]  # fmt: skip


def blobs_sparse(seed=0, num_rows=240, num_columns=60, classes=3, dtype=np.float64):
    """Separable-ish sparse data: every class lights up its own block of columns."""
    rng = np.random.default_rng(seed)
    _, X_dense = sparse_and_dense((num_rows, num_columns), 0.05, rng, dtype=dtype)
    y = rng.integers(0, classes, num_rows)
    block = num_columns // classes
    for row, label in enumerate(y):
        columns = label * block + rng.choice(block, size=3, replace=False)
        X_dense[row, columns] = 1.0
    X_csr = scipy.sparse.csr_array(X_dense)  # built from the dense twin's nonzeros
    return X_csr, X_dense, y


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_every_method_on_sparse_x_matches_dense_x(kind, loss):
    X_csr, X_dense, y = blobs_sparse()
    X_sparse = kind(X_csr)
    settings = {"loss": loss, "epochs": 5, "batch_size": 32, "random_state": 0}
    sparse_model = LinearClassifier(**settings).fit(X_sparse, y)
    dense_model = LinearClassifier(**settings).fit(X_dense, y)
    np.testing.assert_allclose(sparse_model.coef_, dense_model.coef_, rtol=1e-10, atol=1e-10)
    assert sparse_model.learning_rate_ == pytest.approx(dense_model.learning_rate_, rel=1e-12)
    np.testing.assert_allclose(
        sparse_model.decision_function(X_sparse), dense_model.decision_function(X_dense),
        rtol=1e-10, atol=1e-10,
    )  # fmt: skip
    np.testing.assert_array_equal(sparse_model.predict(X_sparse), dense_model.predict(X_dense))
    assert sparse_model.score(X_sparse, y) == dense_model.score(X_dense, y) > 0.9
    # a model fitted on sparse rows scores dense rows the same way, and the other way round
    np.testing.assert_array_equal(sparse_model.predict(X_dense), dense_model.predict(X_sparse))
    if loss == "softmax":
        np.testing.assert_allclose(
            sparse_model.predict_proba(X_sparse), dense_model.predict_proba(X_dense), atol=1e-10
        )
        np.testing.assert_allclose(
            sparse_model.predict_log_proba(X_sparse),
            dense_model.predict_log_proba(X_dense),
            atol=1e-10,
        )


def test_partial_fit_warm_start_and_early_stopping_on_sparse_x():
    X_csr, X_dense, y = blobs_sparse(1)
    sparse_model = LinearClassifier(random_state=0, batch_size=50)
    dense_model = LinearClassifier(random_state=0, batch_size=50)
    for start in range(0, 240, 80):
        rows = slice(start, start + 80)
        sparse_model.partial_fit(X_csr[rows], y[rows], classes=[0, 1, 2])
        dense_model.partial_fit(X_dense[rows], y[rows], classes=[0, 1, 2])
    np.testing.assert_allclose(sparse_model.coef_, dense_model.coef_, rtol=1e-10, atol=1e-10)
    warm = LinearClassifier(epochs=2, warm_start=True, random_state=0)
    warm.fit(X_csr, y).fit(X_csr, y)
    assert warm.n_iter_ == 4
    settings = {"early_stopping": True, "n_iter_no_change": 2, "random_state": 0}
    stopped_sparse = LinearClassifier(**settings).fit(X_csr, y)
    stopped_dense = LinearClassifier(**settings).fit(X_dense, y)
    assert stopped_sparse.n_iter_ == stopped_dense.n_iter_ < 50  # the same held-out rows
    np.testing.assert_allclose(stopped_sparse.coef_, stopped_dense.coef_, rtol=1e-10, atol=1e-10)


def test_float32_sparse_input_gives_float32_parameters():
    X_csr, _, y = blobs_sparse(2, dtype=np.float32)
    model = LinearClassifier(epochs=3, random_state=0).fit(X_csr.astype(np.float32), y)
    assert model.params_["W"].dtype == np.float32
    assert model.decision_function(X_csr.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_no_estimator_method_densifies_x(monkeypatch, optimizer):
    X_csr, _, y = blobs_sparse(3)
    refuse_densifying(monkeypatch)
    model = LinearClassifier(optimizer=optimizer, epochs=3, random_state=0, early_stopping=True)
    model.fit(X_csr.tocsc(), y)
    model.partial_fit(X_csr.tocoo(), y)
    model.predict(X_csr)
    model.decision_function(X_csr)
    model.predict_proba(X_csr)
    model.score(X_csr, y)
    assert cross_val_score(LinearClassifier(epochs=2, random_state=0), X_csr, y, cv=3).shape == (3,)


@pytest.mark.parametrize(
    ("values", "indices", "indptr", "message"),
    [
        ([1.0, np.nan], [3, 1], [0, 0, 1, 2],
         r"^X contains NaN or infinity in row 2, column 1; remove or impute that row$"),
        ([1.0, 2.0, 5.0], [3, 1, 3], [0, 0, 3, 3],
         r"^X \(sparse\) has two entries for row 1, column 3; call X\.sum_duplicates\(\)"),
        ([1.0, 2.0], [3, -1], [0, 0, 1, 2],
         r"^X \(sparse\) has a negative column index -1 in row 2 but only 4 columns"),
    ],
)  # fmt: skip
def test_bad_sparse_input_is_named_by_every_method(values, indices, indptr, message):
    bad = scipy.sparse.csr_array(
        (np.array(values), np.array(indices), np.array(indptr)), shape=(3, 4)
    )
    with pytest.raises(ValueError, match=message):
        LinearClassifier().fit(bad, [0, 1, 2])
    with pytest.raises(ValueError, match=message):
        LinearClassifier().partial_fit(bad, [0, 1, 2], classes=[0, 1, 2])
    model = LinearClassifier(epochs=1, random_state=0).fit(np.eye(4)[:3], [0, 1, 2])
    for method in (model.predict, model.decision_function, model.predict_proba):
        with pytest.raises(ValueError, match=message):
            method(bad)


def test_wrong_number_of_sparse_features_at_predict_is_named():
    X_csr, _, y = blobs_sparse(4)
    model = LinearClassifier(epochs=1, random_state=0).fit(X_csr, y)
    with pytest.raises(
        ValueError, match=r"X has 59 features, but LinearClassifier is expecting 60"
    ):
        model.predict(X_csr[:, :59])


def test_estimator_tags_say_sparse_input_is_supported():
    assert LinearClassifier().__sklearn_tags__().input_tags.sparse


def test_check_estimator_passes_with_sparse_support_declared():
    # check_class_weight_classifiers needs more epochs (see tests/test_estimator.py)
    check_estimator(
        LinearClassifier(epochs=5, random_state=0),
        expected_failed_checks={"check_class_weight_classifiers": "needs more epochs"},
        on_skip=None,
    )
