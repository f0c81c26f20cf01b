"""svmlight/LIBSVM files: read against scikit-learn's writer, index bases, every bad line named by
its number, float labels, a separate test file's width, and CSR all the way (never dense)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import dump_svmlight_file

from slopelab.cli import main
from slopelab.data.errors import DataError
from slopelab.data.files import load_file, read_svmlight_file
from slopelab.data.registry import is_file_name, load_dataset
from slopelab.data.svmlight import line_problem, read_svmlight


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def same(A, B) -> bool:
    """Equal sparse matrices: same shape, no entry that differs."""
    return A.shape == B.shape and (sp.csr_matrix(A) != sp.csr_matrix(B)).nnz == 0


@st.composite
def sparse_problems(draw):
    rows = draw(st.integers(1, 12))
    cols = draw(st.integers(1, 9))
    cells = draw(st.lists(st.integers(-20, 20), min_size=rows * cols, max_size=rows * cols))
    dense = np.array(cells, dtype=np.float64).reshape(rows, cols) / 4  # exact in float32
    labels = np.array(draw(st.lists(st.sampled_from([-1, 1, 2]), min_size=rows, max_size=rows)))
    return sp.csr_matrix(dense), labels


# ------------------------------------------------------------------------------- round trips


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=sparse_problems(), written_zero_based=st.booleans())
def test_a_file_dumped_by_scikit_learn_reads_back_exactly(tmp_path, problem, written_zero_based):
    X, y = problem
    path = tmp_path / "data.svm"
    dump_svmlight_file(X, y, str(path), zero_based=written_zero_based)
    if X.nnz == 0:
        with pytest.raises(DataError, match="has no feature values"):
            read_svmlight(path)
        return
    rows = read_svmlight(path, zero_based=written_zero_based, num_features=X.shape[1])
    assert same(rows.X, X)
    assert rows.X.dtype == np.float32 and sp.isspmatrix_csr(rows.X)
    np.testing.assert_array_equal(rows.y, y)
    assert rows.zero_based is written_zero_based


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=sparse_problems(), written_zero_based=st.booleans())
def test_auto_detection_reads_a_file_as_written_when_it_can_tell(
    tmp_path, problem, written_zero_based
):
    """One-based files are always read right; a zero-based file is, when index 0 occurs (when
    it does not, no reader can tell: scikit-learn's heuristic then says one-based)."""
    X, y = problem
    uses_first_column = X[:, 0].nnz > 0
    path = tmp_path / "data.svm"
    dump_svmlight_file(X, y, str(path), zero_based=written_zero_based)
    if X.nnz == 0:
        return
    rows = read_svmlight(path, num_features=X.shape[1])
    if written_zero_based and not uses_first_column:
        assert rows.zero_based is False
        assert same(rows.X[:, : X.shape[1] - 1], X[:, 1:])  # every column one to the left
        return
    assert rows.zero_based is written_zero_based
    assert same(rows.X, X)


def test_without_a_width_the_file_is_as_wide_as_its_largest_index(tmp_path):
    path = write(tmp_path / "d.svm", "1 2:1 7:3\n2 4:1\n")
    assert read_svmlight(path).X.shape == (2, 7)  # one-based: index 7 is column 6
    assert read_svmlight(path, zero_based=True).X.shape == (2, 8)


# ---------------------------------------------------------------------------- index base notes


@pytest.mark.parametrize(
    ("text", "zero_based", "note"),
    [
        ("1 0:1 2:1\n", "auto", "index 0 occurs, so indices are read as zero-based"),
        ("1 1:1 2:1\n", "auto", "the smallest index is 1, not 0, so indices are read as one-based"),
        ("1 3:1\n", "auto", "the smallest index is 3, not 0, so indices are read as one-based"),
        ("1 1:1\n", True, "indices read as zero-based, as asked"),
        ("1 1:1\n", False, "indices read as one-based, as asked"),
    ],
)
def test_the_notes_say_which_index_base_was_used(tmp_path, text, zero_based, note):
    path = write(tmp_path / "d.svm", text)
    rows = read_svmlight(path, zero_based=zero_based)
    assert any(note in line for line in rows.notes)


def test_forcing_zero_based_keeps_index_one_in_column_one(tmp_path):
    path = write(tmp_path / "d.svm", "1 1:5\n2 2:6\n")
    np.testing.assert_array_equal(
        read_svmlight(path, zero_based=True).X.toarray(), [[0, 5, 0], [0, 0, 6]]
    )
    np.testing.assert_array_equal(read_svmlight(path).X.toarray(), [[5, 0], [0, 6]])


def test_forcing_one_based_on_a_file_with_index_0_names_the_line(tmp_path):
    path = write(tmp_path / "d.svm", "1 1:1\n# comment\n2 0:1 3:1\n")
    with pytest.raises(DataError, match=r"d\.svm, line 3: feature index 0 in a file read as one"):
        read_svmlight(path, zero_based=False)


def test_the_dataset_records_how_indices_were_read(tmp_path):
    zero = load_file(write(tmp_path / "zero.svm", "1 0:1\n2 1:1\n" * 5), num_val=1, num_test=1)
    one = load_file(write(tmp_path / "one.svm", "1 1:1\n2 2:1\n" * 5), num_val=1, num_test=1)
    csv = load_file(write(tmp_path / "d.csv", "a,label\n" + "1,0\n2,1\n" * 5))
    assert (zero.zero_based, one.zero_based, csv.zero_based) == (True, False, None)


def test_another_file_read_with_the_recorded_base_keeps_the_models_columns(tmp_path):
    """A zero-based training file, then new rows that happen to lack index 0: detected alone
    they would be one-based, every feature one column to the left; the recorded base keeps
    them where the model's weights are."""
    train = load_file(write(tmp_path / "train.svm", "1 0:1 1:2\n2 2:1\n" * 5), num_val=1)
    new = write(tmp_path / "new.svm", "1 1:2 2:5\n")
    alone = read_svmlight(new, num_features=train.num_features)
    as_trained = read_svmlight(new, zero_based=train.zero_based, num_features=train.num_features)
    np.testing.assert_array_equal(alone.X.toarray(), [[2, 5, 0]])
    np.testing.assert_array_equal(as_trained.X.toarray(), [[0, 2, 5]])


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_zero_based_must_be_auto_or_a_bool(tmp_path, value):
    path = write(tmp_path / "d.svm", "1 1:1\n")
    with pytest.raises(DataError, match="zero_based must be 'auto', True or False"):
        read_svmlight(path, zero_based=value)


# ------------------------------------------------------------------------------ bad input


BAD_LINES = [
    ("1 1:1\n1 3:0.5 2:1\n", 2, "feature index 2 follows 3 on the same line"),
    ("1 1:1\n1 2:1 2:3\n", 2, "feature index 2 follows 2 on the same line"),
    ("1 1:1\n# c\n\n1 -1:2\n", 4, "the feature index -1 is negative"),
    ("1 1:abc\n", 1, "the value 'abc' of feature 1 is not a number"),
    ("1 1:\n", 1, "the value '' of feature 1 is not a number"),
    ("abc 1:1\n", 1, "the label 'abc' is not a number"),
    ("1 1:1\n1 2\n", 2, "'2' is not INDEX:VALUE"),
    ("1 x:1\n", 1, "the feature index 'x' is not a whole number"),
    ("1 1.5:1\n", 1, "the feature index '1.5' is not a whole number"),
    ("1 99999999999:1\n", 1, "the feature index 99999999999 is too large"),
    ("1,2 1:1\n", 1, r"several labels \('1,2'\); slopelab reads one class per line"),
    ("a,b,label\n1,2,0\n", 1, "the label 'a,b,label' is not a number"),
    ("1 qid:x 1:1\n", 1, "'qid:x' is not qid:WHOLE_NUMBER"),
    ("1 1:1 qid:3\n", 1, "the feature index 'qid' is not a whole number"),
    (b"1 1:1\n\xff\xfe 2:1\n", 2, "the label '\ufffd\ufffd' is not a number"),
    ("1 1:1\n\n1 2:nan\n", 3, "feature index 2 holds NaN, infinity or a value too large"),
    ("1 1:1\n1 2:-inf\n", 2, "feature index 2 holds NaN, infinity"),
    ("1 1:1e39\n", 1, "feature index 1 holds NaN, infinity or a value too large for float32"),
    ("1 1:1\nnan 2:1\n", 2, "the label is NaN or infinity"),
    ("1 1:1\ninf 2:1\n", 2, "the label is NaN or infinity"),
    ("1 1:1\n1.5 2:1\n", 2, "the label 1.5 has a fraction"),
    ("1 1:1\n1e300 2:1\n", 2, "the label 1e\\+300 is too large"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD_LINES)
def test_a_bad_line_is_one_data_error_naming_the_file_and_line(tmp_path, text, line, problem):
    path = write(tmp_path / "bad.svm", text)
    with pytest.raises(DataError, match=rf"bad\.svm, line {line}: {problem}") as caught:
        load_file(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty\.svm has no examples \(only comments or blank lines\)"),
        ("# only\n\n   \n", r"empty\.svm has no examples"),
        ("1\n2\n", r"empty\.svm has no feature values \(every line is a label alone\)"),
    ],
)
def test_a_file_without_examples_or_values_is_refused(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_file(write(tmp_path / "empty.svm", text))


def test_line_numbers_count_comments_blank_lines_and_crlf(tmp_path):
    text = "# header\r\n\r\n1 1:1 # trailing\r\n   \r\n2 2:inf\r\n"
    with pytest.raises(DataError, match=r"line 5: feature index 2 holds NaN"):
        read_svmlight(write(tmp_path / "d.svm", text))


@pytest.mark.parametrize("line", [b"", b"# only a comment", b"1", b"-1 qid:3 1:0.5 7:2 # x"])
def test_line_problem_accepts_good_lines(line):
    assert line_problem(line) is None


def test_the_cli_refuses_a_bad_file_with_exit_2_and_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "bad.svm", "1 1:1\n2 1:1\n1 3:1 2:1\n")
    code = main(["train", "--data", "bad.svm", "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "bad.svm, line 3: feature index 2 follows 3 on the same line" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ---------------------------------------------------------------------------------- labels


def test_plus_minus_one_labels_become_two_named_classes_with_a_note(tmp_path):
    text = "".join(f"{label} 1:{index + 1}\n" for index, label in enumerate(["+1", "-1"] * 10))
    dataset = load_file(write(tmp_path / "pm.svm", text), num_val=2, num_test=2)
    assert dataset.class_names == ("-1", "1")
    assert any("labels -1, 1 are not 0..1; they are renumbered" in note for note in dataset.notes)
    train = read_svmlight_file(tmp_path / "pm.svm")
    np.testing.assert_array_equal(train.splits["train"][1], [1, 0] * 10)  # -1 is class 0


def test_whole_float_labels_are_classes_and_0_to_c_minus_1_needs_no_note(tmp_path):
    text = "".join(f"{label} 1:1\n" for label in ["0.0", "1.0", "2.0", "1e0"] * 5)
    rows = read_svmlight_file(write(tmp_path / "f.svm", text))
    assert rows.class_names == ("0", "1", "2")
    np.testing.assert_array_equal(rows.splits["train"][1], [0, 1, 2, 1] * 5)
    assert not any("renumbered" in note for note in rows.notes)


def test_qid_groups_are_ignored_with_a_note(tmp_path):
    path = write(tmp_path / "q.svm", "1 qid:1 1:1\n2 qid:1 2:1\n1 qid:2 1:3\n")
    rows = read_svmlight(path)
    np.testing.assert_array_equal(rows.X.toarray(), [[1, 0], [0, 1], [3, 0]])
    assert any("qid: groups (for ranking) are ignored" in note for note in rows.notes)


def test_label_column_is_refused_for_an_svmlight_file(tmp_path):
    path = write(tmp_path / "d.svm", "1 1:1\n2 1:2\n")
    with pytest.raises(DataError, match="is an svmlight file, whose labels start each line"):
        load_file(path, label_column="y")


# ------------------------------------------------------------------------------- a test file


def balanced(rows: int, width_index: int, base: int = 1) -> str:
    """``rows`` lines alternating labels 1 and 2, each with a value in column ``width_index``."""
    return "".join(f"{1 + row % 2} {base}:{row + 1} {width_index}:1\n" for row in range(rows))


def test_a_test_file_with_fewer_columns_is_padded_to_the_training_width(tmp_path):
    train = write(tmp_path / "train.svm", balanced(20, 9))
    test = write(tmp_path / "test.svm", "1 1:5\n2 2:6\n")
    dataset = load_dataset(str(train), test_data=test, num_val=2)
    assert dataset.X_test.shape == (2, 9) and dataset.X_train.shape[1] == 9
    np.testing.assert_array_equal(dataset.X_test[:, :2].toarray(), [[5, 0], [0, 6]])
    np.testing.assert_array_equal(dataset.y_test, [0, 1])
    assert any("test.svm: read with train.svm's one-based indices and its 9" in note
               for note in dataset.notes)  # fmt: skip


def test_features_beyond_the_training_width_are_dropped_with_a_note(tmp_path):
    train = write(tmp_path / "train.svm", balanced(20, 4))
    test = write(tmp_path / "test.svm", "1 1:5 6:2 9:1\n# c\n2 2:6\n1 12:3\n")
    dataset = load_dataset(str(train), test_data=test, num_val=2)
    np.testing.assert_array_equal(
        dataset.X_test.toarray(), [[5, 0, 0, 0], [0, 6, 0, 0], [0, 0, 0, 0]]
    )
    assert any(
        "test.svm: 3 values in 2 lines (the first on line 1) are features beyond the 4 of the "
        "training file train.svm; they are ignored" in note
        for note in dataset.notes
    )


def test_the_test_file_is_read_with_the_training_files_index_base(tmp_path):
    """Alone, ``1 2:1`` would be detected one-based: with a zero-based training file it is not."""
    train = write(tmp_path / "train.svm", balanced(20, 3, base=0))
    test = write(tmp_path / "test.svm", "1 2:7\n")
    dataset = load_dataset(str(train), test_data=test, num_val=2)
    np.testing.assert_array_equal(dataset.X_test.toarray(), [[0, 0, 7, 0]])


def test_index_0_in_the_test_file_of_a_one_based_training_file_names_its_line(tmp_path):
    train = write(tmp_path / "train.svm", balanced(20, 3))
    test = write(tmp_path / "test.svm", "1 1:1\n2 0:1\n")
    with pytest.raises(DataError, match=r"test\.svm, line 2: feature index 0 in a file read as"):
        load_dataset(str(train), test_data=test)


def test_a_bad_line_in_the_test_file_names_the_test_file(tmp_path):
    train = write(tmp_path / "train.svm", balanced(20, 3))
    test = write(tmp_path / "test.svm", "1 1:1\n2 1:nan\n")
    with pytest.raises(DataError, match=r"test\.svm, line 2: feature index 1 holds NaN"):
        load_dataset(str(train), test_data=test)


def test_a_class_only_the_test_file_has_is_refused(tmp_path):
    train = write(tmp_path / "train.svm", balanced(20, 3))
    test = write(tmp_path / "test.svm", "1 1:1\n7 1:1\n")
    with pytest.raises(DataError, match=r"class '7' has 1 example in the test split \(given\) but"):
        load_dataset(str(train), test_data=test)


@pytest.mark.parametrize(
    ("data", "test_data", "message"),
    [
        ("train.csv", "test.svm", "a separate test file .* is read for svmlight training files"),
        ("train.svm", "test.csv", r"the test file .*test\.csv is not an svmlight file"),
        ("train.svm", "missing.svm", r"no such file: .*missing\.svm"),
        ("digits", "test.svm", "a test file and zero_based apply to svmlight files"),
    ],
)
def test_a_test_file_that_cannot_be_used_is_refused(tmp_path, data, test_data, message):
    write(tmp_path / "train.svm", balanced(20, 3))
    write(tmp_path / "test.svm", "1 1:1\n")
    write(tmp_path / "train.csv", "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    write(tmp_path / "test.csv", "a,label\n1,0\n")
    name = data if data == "digits" else str(tmp_path / data)
    with pytest.raises(DataError, match=message):
        load_dataset(name, test_data=tmp_path / test_data)


# ----------------------------------------------------------------------------- never dense


@pytest.fixture
def no_densifying(monkeypatch):
    """Any ``toarray``/``todense`` of a scipy sparse matrix fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for kind in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.coo_array):
        monkeypatch.setattr(kind, "toarray", refuse)
        monkeypatch.setattr(kind, "todense", refuse)


@pytest.mark.parametrize("suffix", [".svm", ".svmlight", ".libsvm", ".SVM"])
def test_every_split_stays_csr_float32(tmp_path, no_densifying, suffix):
    train = write(tmp_path / f"train{suffix}", balanced(40, 30))
    test = write(tmp_path / "test.svm", "1 1:5 40:2\n2 2:6\n")
    assert is_file_name(str(train))
    for dataset in (load_dataset(str(train)), load_dataset(str(train), test_data=test)):
        assert dataset.is_sparse and dataset.default_preprocess == "none"
        for split in ("train", "val", "test"):
            X = getattr(dataset, f"X_{split}")
            assert sp.isspmatrix_csr(X) and X.dtype == np.float32, split
        assert dataset.num_features == 30


@pytest.mark.parametrize("with_test_file", [False, True])
def test_no_two_splits_share_a_buffer(tmp_path, with_test_file):
    """Preprocessing may scale each split's ``data`` in place: a shared buffer would be scaled
    twice (``np.may_share_memory`` cannot see into a sparse matrix to warn of it)."""
    train = write(tmp_path / "train.svm", balanced(40, 30))
    test = write(tmp_path / "test.svm", "1 1:5\n2 2:6\n") if with_test_file else None
    dataset = load_dataset(str(train), test_data=test, num_train=20)
    buffers = [getattr(dataset, f"X_{split}") for split in ("train", "val", "test")]
    for index, first in enumerate(buffers):
        for second in buffers[index + 1 :]:
            for part in ("data", "indices", "indptr"):
                assert not np.shares_memory(getattr(first, part), getattr(second, part))


def test_a_sparse_file_is_not_packed_into_dense_rows(tmp_path):
    from slopelab.data.packing import pack_dataset

    train = write(tmp_path / "train.svm", balanced(20, 30))
    with pytest.raises(DataError, match=r"train\.svm holds sparse rows .* a pack stores dense"):
        pack_dataset(str(train), tmp_path / "pack")
    assert not (tmp_path / "pack").exists()


def test_a_100k_row_file_loads_as_csr(tmp_path):
    rng = np.random.default_rng(0)
    X = sp.random(100_000, 2_000, density=0.005, format="csr", random_state=rng)
    y = rng.integers(0, 5, size=100_000)
    path = tmp_path / "big.svm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    dataset = load_dataset(str(path), num_val=1_000, num_test=1_000)
    assert len(dataset.y_train) == 98_000 and dataset.X_train.nnz > 0
    assert sp.isspmatrix_csr(dataset.X_train)
