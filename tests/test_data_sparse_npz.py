"""Sparse ``.npz`` datasets (scipy's ``save_npz`` arrays plus ``y``), and sparse splits in a
``Dataset``: CSR float32, checked in O(nnz), never densified."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slopelab.data import save_sparse_npz
from slopelab.data.dataset import make_dataset
from slopelab.data.errors import DataError
from slopelab.data.files import load_file, read_npz

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def sparse_problems(draw):
    rows = draw(st.integers(1, 10))
    cols = draw(st.integers(1, 8))
    cells = draw(st.lists(st.integers(-8, 8), min_size=rows * cols, max_size=rows * cols))
    dense = np.array(cells, dtype=np.float64).reshape(rows, cols) / 2
    labels = np.array(draw(st.lists(st.integers(0, 2), min_size=rows, max_size=rows)))
    return dense, labels


def arrays_of(matrix) -> dict[str, np.ndarray]:
    """What ``scipy.sparse.save_npz`` writes for ``matrix`` (read back from a real file)."""
    return {key: value for key, value in np.load(_saved(matrix)).items()}


def _saved(matrix):
    import io

    buffer = io.BytesIO()
    sp.save_npz(buffer, matrix)
    buffer.seek(0)
    return buffer


@SETTINGS
@given(problem=sparse_problems(), kind=st.sampled_from(["csr", "csc", "coo"]))
def test_scipy_save_npz_plus_y_reads_back_exactly_as_csr(tmp_path, problem, kind):
    dense, y = problem
    matrix = sp.csr_matrix(dense).asformat(kind)
    path = tmp_path / "data.npz"
    np.savez_compressed(path, y=y, **arrays_of(matrix))
    X, labels = read_npz(path).splits["train"]
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    np.testing.assert_array_equal(X.toarray(), dense)
    np.testing.assert_array_equal(labels, np.unique(y, return_inverse=True)[1])


@SETTINGS
@given(problem=sparse_problems())
def test_save_sparse_npz_round_trips(tmp_path, problem):
    dense, y = problem
    path = tmp_path / "data.npz"
    save_sparse_npz(path, sp.csc_matrix(dense), y, class_names=["a", "b", "c"])
    rows = read_npz(path)
    assert rows.class_names == ("a", "b", "c")
    np.testing.assert_array_equal(rows.splits["train"][0].toarray(), dense)
    np.testing.assert_array_equal(rows.splits["train"][1], y)
    assert (sp.load_npz(path) != sp.csr_matrix(dense)).nnz == 0  # scipy reads it too


def test_the_readme_recipe_from_a_save_npz_file_works(tmp_path):
    X = sp.random(30, 12, density=0.3, format="csr", random_state=0)
    y = np.arange(30) % 3
    sp.save_npz(tmp_path / "X.npz", X)
    np.savez_compressed(tmp_path / "data.npz", y=y, **np.load(tmp_path / "X.npz"))
    dataset = load_file(tmp_path / "data.npz", num_val=3, num_test=3)
    assert dataset.summary() == "data: 24 train / 3 val / 3 test, 12 features, 3 classes"
    assert dataset.is_sparse and dataset.default_preprocess == "none"
    carved = sp.vstack([dataset.X_train, dataset.X_val, dataset.X_test])
    assert carved.nnz == X.nnz  # every row in exactly one split


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def good_arrays() -> dict:
    return {**arrays_of(sp.csr_matrix(np.eye(4, 3))), "y": np.array([0, 1, 0, 1])}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y": None}, r"has no array 'y' .*; a sparse \.npz dataset holds"),
        ({"indptr": None}, r"has no array 'indptr'"),
        ({"format": np.array(b"dia")}, r"its format array says 'dia'; a sparse \.npz must be csr"),
        ({"shape": np.array([4])}, r"its shape array must be two whole numbers \(N, D\)"),
        ({"shape": np.array([4.0, 3.0])}, r"its shape array must be two whole numbers"),
        ({"indices": np.array([0, 1, 7])}, r"its csr arrays do not form a 4x3 matrix"),
        ({"indptr": np.array([0, 2, 1, 3, 3])}, r"its csr arrays do not form a 4x3 matrix"),
        ({"data": np.array([1.0, np.nan, 1.0])}, r"X contains NaN, infinity or .* in row 1"),
        ({"data": np.array([1.0, 1.0, 1e39])}, r"X contains NaN, infinity or a value too large"),
        ({"y": np.array([0, 1, 0])}, r"y must hold one label per row of the 4 rows of X"),
        ({"y": np.array([0, 1.5, 0, 1])}, r"the y labels hold numbers with a fraction"),
        ({"shape": np.array([0, 3]), "indptr": np.array([0])}, r"X is empty: it has 0 rows"),
    ],
)
def test_a_damaged_sparse_npz_is_one_data_error(tmp_path, change, message):
    arrays = {**good_arrays(), **change}
    arrays = {key: value for key, value in arrays.items() if value is not None}
    with pytest.raises(DataError, match=message) as caught:
        load_file(save(tmp_path / "bad.npz", **arrays))
    assert "bad.npz" in str(caught.value) and "\n" not in str(caught.value)


def test_a_negative_coo_index_is_refused(tmp_path):
    arrays = arrays_of(sp.coo_matrix(np.eye(3)))
    arrays["row"] = np.array([0, -1, 2], dtype=arrays["row"].dtype)
    with pytest.raises(DataError, match=r"its coo arrays do not form a 3x3 matrix"):
        load_file(save(tmp_path / "bad.npz", y=np.array([0, 1, 0]), **arrays))


def test_save_sparse_npz_refuses_a_dense_matrix(tmp_path):
    with pytest.raises(DataError, match=r"X must be a scipy\.sparse matrix; got ndarray"):
        save_sparse_npz(tmp_path / "d.npz", np.eye(3), [0, 1, 0])


# ----------------------------------------------------------------------- sparse Dataset splits


def splits_of(X, y):
    return (X, y), (X, y), (X, y)


def test_make_dataset_keeps_csr_converts_csc_and_never_touches_the_callers_matrix():
    X = sp.csc_matrix(np.array([[0, 2.0], [3.0, 0]]))
    before = X.copy()
    dataset = make_dataset(
        "m", *splits_of(X, np.array([0, 1])), class_names=("a", "b"), image_shape=None,
        source="test", default_preprocess="none",
    )  # fmt: skip
    assert sp.isspmatrix_csr(dataset.X_train) and dataset.X_train.dtype == np.float32
    assert dataset.num_features == 2 and dataset.is_sparse
    assert (before != X).nnz == 0 and sp.isspmatrix_csc(X)


def test_make_dataset_sums_duplicate_entries_of_a_non_canonical_matrix():
    X = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 2])), shape=(1, 2))
    assert not X.has_canonical_format
    dataset = make_dataset(
        "m", *splits_of(X, np.array([0])), class_names=("a", "b"), image_shape=None,
        source="test", default_preprocess="none",
    )  # fmt: skip
    np.testing.assert_array_equal(dataset.X_train.toarray(), [[0, 3]])
    assert X.nnz == 2  # the caller's matrix is as it was


@pytest.mark.parametrize(
    ("X_val", "message"),
    [
        (np.zeros((2, 2)), "some splits are sparse matrices and some dense arrays"),
        (sp.csr_matrix(np.array([[0, 1.0], [0, np.inf]])), r"X_val contains NaN.* in row 1"),
        (sp.csr_matrix(np.zeros((2, 3))), "the splits have different numbers of features"),
    ],
)
def test_make_dataset_refuses_bad_sparse_splits(X_val, message):
    X, y = sp.csr_matrix(np.eye(2)), np.array([0, 1])
    with pytest.raises(DataError, match=message):
        make_dataset(
            "m", (X, y), (X_val, y), (X, y), class_names=("a", "b"), image_shape=None,
            source="test", default_preprocess="none",
        )  # fmt: skip


def test_loading_a_sparse_npz_never_densifies(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for kind in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(kind, "toarray", refuse)
        monkeypatch.setattr(kind, "todense", refuse)
    X = sp.random(200, 50, density=0.1, format="coo", random_state=1)
    path = tmp_path / "d.npz"
    np.savez(path, y=np.arange(200) % 4, **arrays_of(X))
    dataset = load_file(path)
    for split in ("train", "val", "test"):
        assert sp.isspmatrix_csr(getattr(dataset, f"X_{split}"))
