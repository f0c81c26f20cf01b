"""LIBSVM / svmlight files (``.svm``, ``.svmlight``, ``.libsvm``) read as sparse CSR rows.

Each line is ``LABEL [qid:Q] INDEX:VALUE INDEX:VALUE ...`` with increasing indices; ``#`` starts
a comment, and blank lines are skipped. scikit-learn's ``load_svmlight_file`` parses the file
(fast, in C) straight into a CSR float32 matrix, never a dense one. When it refuses a line, the
file is read again here line by line to say which line and why: scikit-learn's messages name
neither.

Indices: a file does not say whether its first feature is 0 or 1 (LIBSVM's own files start at
1). ``zero_based="auto"`` follows scikit-learn's rule: one-based unless some index is 0;
``True``/``False`` force it. Which one was used is in the notes. The width ``D`` is not stored
either: it is the largest index, or, for a test file, the training file's ``D`` (a test file
whose largest index is lower gets empty columns; features beyond ``D`` are dropped, with a
note, as LIBLINEAR's ``predict`` does: no weight was trained for them).

Labels are numbers (``1``, ``-1``, ``+1``, ``2.0``); they must be whole numbers, then are
numbered as every file's labels are (:mod:`slopelab.data.labels`: ``{-1, 1}`` becomes classes
0 and 1 named "-1" and "1", with a note). ``qid:`` groups (for ranking) are ignored, with a note:
a classifier reads each line on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.sparse import FLOAT32_MAX, csr_from_parts, row_of_entry

SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm")
LINE_FORMAT = "an svmlight/LIBSVM line is LABEL INDEX:VALUE INDEX:VALUE ... with increasing indices"


@dataclass(frozen=True)
class SvmlightRows:
    """The rows of one svmlight file: ``X`` CSR float32 ``(N, D)``, ``y`` int64 ``(N,)`` labels
    as written (not yet numbered ``0..C-1``), whether indices were read as zero-based, notes."""

    X: Any
    y: np.ndarray
    zero_based: bool
    notes: tuple[str, ...] = ()


def read_svmlight(
    path: str | Path,
    *,
    zero_based: bool | str = "auto",
    num_features: int | None = None,
    width_source: str = "the training file",
) -> SvmlightRows:
    """The rows of the svmlight file at ``path`` (see the module docstring).

    ``num_features`` (a training file's ``D``, named by ``width_source`` in notes) sets the
    width: shorter rows get empty columns, features beyond it are dropped with a note.
    """
    path = Path(path)
    if not (isinstance(zero_based, bool) or zero_based == "auto"):
        raise DataError(f"zero_based must be 'auto', True or False; got {zero_based!r}")
    X, y, has_qid = _parse(path)
    lines = _RowLines(path)
    labels = _whole_labels(y, path, lines)
    _check_values(X, path, lines)
    X, used_zero, notes = _apply_index_base(X, zero_based, path, lines)
    if num_features is not None:
        X, dropped = _fit_width(X, num_features, path, lines, width_source)
        notes += dropped
    if has_qid:
        notes += (
            f"{path}: its qid: groups (for ranking) are ignored; a classifier reads each line on "
            "its own",
        )
    return SvmlightRows(X, labels, used_zero, notes)


def _parse(path: Path) -> tuple[Any, np.ndarray, bool]:
    """scikit-learn's parse with the file's own indices (zero-based, as written), float32."""
    from sklearn.datasets import load_svmlight_file  # scikit-learn loads only for these files

    try:
        X, y, qid = load_svmlight_file(
            str(path), dtype=np.float32, zero_based=True, query_id=True, multilabel=False
        )
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None
    except (ValueError, OverflowError, UnicodeDecodeError) as error:
        raise _line_error(path, error) from None
    if X.shape[0] == 0:
        raise DataError(
            f"{path} has no examples (only comments or blank lines); {LINE_FORMAT}, one example "
            "per line"
        )
    return X, y, len(qid) > 0


def _whole_labels(y: np.ndarray, path: Path, lines: _RowLines) -> np.ndarray:
    """Labels as int64: finite whole numbers (``2.0`` is 2), else an error naming the line."""
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise DataError(
            f"{path}, line {lines.of(bad[0])}: the label is NaN or infinity; a label is a class "
            "number such as 1, -1 or 3"
        )
    fractional = np.flatnonzero(y != np.round(y))
    if fractional.size:
        row = fractional[0]
        raise DataError(
            f"{path}, line {lines.of(row)}: the label {y[row]:g} has a fraction; a classifier "
            "needs whole class numbers such as 1, -1 or 3 (a regression target must be binned "
            "into classes first)"
        )
    if y.size and np.abs(y).max() > 2**53:
        row = int(np.argmax(np.abs(y)))
        raise DataError(f"{path}, line {lines.of(row)}: the label {y[row]:g} is too large")
    return y.astype(np.int64)


def _check_values(X: Any, path: Path, lines: _RowLines) -> None:
    """Every stored value finite and within float32 (parsed as float32, a too-large value is
    already infinity)."""
    bad = np.flatnonzero(~np.isfinite(X.data))
    if bad.size:
        entry = int(bad[0])
        row, index = row_of_entry(X, entry), int(X.indices[entry])
        raise DataError(
            f"{path}, line {lines.of(row)}: feature index {index} holds NaN, infinity or a value "
            f"too large for float32 (|x| > {FLOAT32_MAX:.3g}); fix or drop that line"
        )


def _apply_index_base(
    X: Any, zero_based: bool | str, path: Path, lines: _RowLines
) -> tuple[Any, bool, tuple[str, ...]]:
    """Columns as the file means them: one-based files shift every index down by one."""
    if X.nnz == 0:
        raise DataError(
            f"{path} has no feature values (every line is a label alone); {LINE_FORMAT}"
        )
    smallest = int(X.indices.min())
    if zero_based == "auto":
        use_zero = smallest == 0
        how = (
            "index 0 occurs, so indices are read as zero-based (index 0 is the first column)"
            if use_zero
            else f"the smallest index is {smallest}, not 0, so indices are read as one-based "
            "(LIBSVM's convention: index 1 is the first column)"
        )
        force = (
            "--zero-based no (zero_based=False in Python)"
            if use_zero
            else "--zero-based yes (zero_based=True in Python)"
        )
        note = f"{path}: {how}; force the other reading with {force}"
    else:
        use_zero = bool(zero_based)
        note = f"{path}: indices read as {'zero' if use_zero else 'one'}-based, as asked"
    if not use_zero and smallest == 0:
        row = row_of_entry(X, int(np.flatnonzero(X.indices == 0)[0]))
        raise DataError(
            f"{path}, line {lines.of(row)}: feature index 0 in a file read as one-based "
            "(indices from 1); read it as zero-based (--zero-based yes or auto; zero_based=True or "
            "'auto' in Python), or fix the line"
        )
    if use_zero:
        return X, True, (note,)
    shifted = csr_from_parts(X.data, X.indices - 1, X.indptr, (X.shape[0], X.shape[1] - 1))
    return shifted, False, (note,)


def _fit_width(
    X: Any, num_features: int, path: Path, lines: _RowLines, width_source: str
) -> tuple[Any, tuple[str, ...]]:
    """``X`` with exactly ``num_features`` columns: empty ones added, or those beyond dropped."""
    if X.shape[1] <= num_features:
        return csr_from_parts(X.data, X.indices, X.indptr, (X.shape[0], num_features)), ()
    beyond = X.indices >= num_features
    rows = np.unique(np.searchsorted(X.indptr, np.flatnonzero(beyond), side="right") - 1)
    values, lines_text = _count(int(beyond.sum()), "value"), _count(rows.size, "line")
    note = (
        f"{path}: {values} in {lines_text} (the first on line "
        f"{lines.of(rows[0])}) are features beyond the {num_features} of {width_source}; they "
        "are ignored, as LIBLINEAR's predict ignores them: no weight was trained for them"
    )
    return X[:, :num_features].tocsr(), (note,)


class _RowLines:
    """The file's line number (from 1) of each row, found by reading the file again only when a
    message needs one: comments and blank lines hold no row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._numbers: list[int] | None = None

    def of(self, row: int) -> int:
        if self._numbers is None:
            with self.path.open("rb") as handle:
                self._numbers = [
                    number
                    for number, line in enumerate(handle, start=1)
                    if line.split(b"#", 1)[0].split()
                ]
        return self._numbers[int(row)]


def _line_error(path: Path, error: Exception) -> DataError:
    """The first line scikit-learn refused, and why, as one message."""
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                problem = line_problem(line)
                if problem is not None:
                    return DataError(
                        f"{path}, line {number}: {problem}; {LINE_FORMAT} (is this an svmlight "
                        "file?)"
                    )
    except OSError as read_error:
        return DataError(f"cannot read {path} ({read_error.strerror or read_error})")
    return DataError(f"{path} is not a readable svmlight file ({error}); {LINE_FORMAT}")


def line_problem(line: bytes) -> str | None:
    """What is wrong with one svmlight line, or None: the rules scikit-learn's parser applies.

    >>> line_problem(b"1 3:0.5 2:1")
    'feature index 2 follows 3 on the same line'
    """
    tokens = line.split(b"#", 1)[0].split()
    if not tokens:
        return None
    label, pairs = tokens[0], tokens[1:]
    if b"," in label and all(_is_float(part) for part in label.split(b",")):
        return f"several labels ({_text(label)}); slopelab reads one class per line"
    if not _is_float(label):
        return f"the label {_text(label)} is not a number"
    if pairs and pairs[0].startswith(b"qid:"):
        if not _is_int(pairs[0][4:]):
            return f"{_text(pairs[0])} is not qid:WHOLE_NUMBER"
        pairs = pairs[1:]
    previous = -1
    for pair in pairs:
        index, colon, value = pair.partition(b":")
        if not colon:
            return f"{_text(pair)} is not INDEX:VALUE"
        if not _is_int(index):
            return f"the feature index {_text(index)} is not a whole number"
        if int(index) < 0:
            return f"the feature index {int(index)} is negative"
        if int(index) > np.iinfo(np.int32).max:
            return f"the feature index {int(index)} is too large"
        if not _is_float(value):
            return f"the value {_text(value)} of feature {int(index)} is not a number"
        if int(index) <= previous:
            return f"feature index {int(index)} follows {previous} on the same line"
        previous = int(index)
    return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_int(token: bytes) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def _text(token: bytes) -> str:
    return repr(token.decode("utf-8", "replace"))
