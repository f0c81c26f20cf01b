"""The fast path of reading a ``.csv``: pandas' C parser, for files it reads as the csv module does.

:func:`slopelab.data.csvfile.read_table` decides the header from the first lines, then asks
:func:`read_frame` for the data rows. It answers None, and the csv module reads the file
instead (with its exact rules and messages), whenever pandas could read the file differently:

- a quote or a NUL byte anywhere (pandas accepts text after a closing quote; the csv module,
  strict, refuses it), or text that is not UTF-8;
- a row with another number of values than the first (pandas pads a short row with empty
  cells), a blank cell in a text column (it could be such padding), or no data row at all;
- a column that is neither all numbers nor all text (pandas reads ``True`` as a bool and
  ``10**23`` as a Python int), or a text cell longer than the csv module's field limit.

Numbers are pandas' (correctly rounded, as ``float()`` reads them; a property test compares the
two paths). The likely label columns (named label/class/target/y, and the last one) are read
as text, since a message quotes a label as written (``01`` is not ``1``); a column of numbers
keeps only its values, and its text is read again if it turns out to be needed. The gain on a
60,000 x 785 CSV is in benchmarks/bench_csv.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from slopelab.data.number_text import parse_numbers

SCAN_BYTES = 1 << 20
REFUSED_BYTES = (b'"', b"\x00")  # quoting and NUL: the csv module's rules, not pandas'
NEGATIVE_ZERO = b"-0"


class FrameRows:
    """The data rows of a CSV as pandas read them: float64 values for each column of numbers,
    the cells for each column of text. ``file_columns[i]`` is column ``i``'s place in the file
    (they differ once a pandas index column is dropped)."""

    def __init__(
        self,
        path: Path,
        values: list[np.ndarray | list[str]],
        skip: int,
        file_columns: list[int] | None = None,
    ) -> None:
        self.path, self.values, self.skip = path, values, skip
        self.file_columns = list(range(len(values))) if file_columns is None else file_columns

    def __len__(self) -> int:
        return len(self.values[0])

    def numbers(self, columns: list[int]) -> np.ndarray | None:
        """float64 ``(N, len(columns))``, or None when one of ``columns`` holds text."""
        X = np.empty((len(self), len(columns)))
        for position, index in enumerate(columns):
            column = self.values[index]
            if not isinstance(column, np.ndarray):
                column = parse_numbers(np.array(column, dtype=str))  # the csv path's rule
                if column is None:
                    return None
            X[:, position] = column
        return X

    def text(self, index: int) -> list[str]:
        """The cells of column ``index`` as written in the file."""
        column = self.values[index]
        if not isinstance(column, np.ndarray):
            return column
        import pandas as pd

        usecols = [self.file_columns[index]]
        frame = pd.read_csv(self.path, **_options(self.skip), usecols=usecols, dtype=str)
        return frame.iloc[:, 0].tolist()

    def without_first_column(self) -> FrameRows:
        return FrameRows(self.path, self.values[1:], self.skip, self.file_columns[1:])


def read_frame(
    path: Path, encoding: str, skip: int, width: int, as_text: list[int]
) -> FrameRows | None:
    """The rows after the first ``skip`` lines, ``width`` values each, or None when pandas
    might read them differently from the csv module (see the module docstring). Columns
    ``as_text`` (the likely label columns) are read as text at once, sparing a second read."""
    if encoding != "utf-8-sig":
        return None
    found, longest = _scan(path, (*REFUSED_BYTES, NEGATIVE_ZERO))
    if any(mark in found for mark in REFUSED_BYTES) or longest > csv.field_size_limit():
        return None  # a line that long may hold a field the csv module refuses
    import pandas as pd

    try:
        frame = pd.read_csv(path, **_options(skip), dtype=dict.fromkeys(as_text, str))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None  # UnicodeDecodeError is a ValueError
    if frame.shape[1] != width or len(frame) == 0:
        return None
    values = [_column(frame.iloc[:, index], NEGATIVE_ZERO in found) for index in range(width)]
    if any(column is None for column in values):
        return None
    return FrameRows(path, values, skip)


def _options(skip: int) -> dict:
    return {
        "header": None,
        "skiprows": skip,
        "encoding": "utf-8-sig",
        "na_filter": False,  # "nan" and "" stay text, for the csv module's messages
        "low_memory": False,  # one dtype per column, never a mix chunk by chunk
        "skip_blank_lines": True,
    }


def _column(series, negative_zero: bool) -> np.ndarray | list[str] | None:
    """A column's float64 values, or its cells as text, or None for anything else (also for
    whole numbers with a 0 in a file holding ``-0``: pandas reads ``-0`` as 0, float() as -0.0)."""
    if series.dtype.kind in "iu" and negative_zero and (series == 0).any():
        return None
    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64)
    if series.dtype.kind == "b":
        return None
    cells = series.tolist()
    limit = csv.field_size_limit()
    if all(isinstance(cell, str) and cell.strip() and len(cell) <= limit for cell in cells):
        return cells
    return None


def _scan(path: Path, marks: tuple[bytes, ...]) -> tuple[set[bytes], int]:
    """Which of ``marks`` (one or two bytes each) the file holds, and its longest line's
    length in bytes."""
    found: set[bytes] = set()
    tail, longest, current = b"", 0, 0  # current: the length of the line still open
    with path.open("rb") as handle:
        while chunk := handle.read(SCAN_BYTES):
            window = tail + chunk  # a mark may straddle two chunks
            found.update(mark for mark in marks if mark in window)
            tail = chunk[-1:]
            pieces = chunk.replace(b"\r", b"\n").split(b"\n")
            current += len(pieces[0])
            if len(pieces) > 1:
                longest = max(longest, current, *(len(piece) for piece in pieces[1:-1]))
                current = len(pieces[-1])
    return found, max(longest, current)
