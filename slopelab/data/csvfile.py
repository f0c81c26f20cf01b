"""Reading a user's ``.csv``: text, header, columns and numbers, every problem one DataError.

- **Text**: UTF-8 (a byte-order mark is skipped) or UTF-16 with its byte-order mark (Excel's
  "Unicode text"). Other encodings, binary files and zip archives are refused.
- **Header**: the first line names the columns, unless it looks like data: a first line whose
  cells are all numbers, or all numbers but one text cell where the second line has text too
  (a headerless file with text labels, such as UCI's ``iris.data``). It is then read as data,
  the columns are named by number (``1``..``K``), and a note says so. One exception: a first
  line of exactly ``0,1,...,K-1`` is read as column names, because pandas writes them for
  unnamed columns (``pd.DataFrame(array).to_csv(index=False)``); a note says so too. A first
  column without a name holding ``0..N-1`` is pandas' index (``to_csv()`` without
  ``index=False``): it is dropped, with a note, rather than used as a feature.
- **Rows**: commas separate values (a file of one column holding ``;`` or tabs is refused, not
  misread); blank lines are skipped; every row needs one value per column; a field longer than
  the csv module's limit (``csv.field_size_limit()``, 131,072 characters) is refused.
  Messages count rows from 1, the first data row (not the header) being row 1.
- **Speed**: pandas' C parser reads the data rows when it reads them exactly as the csv module
  would (no quotes, one width, ...; :mod:`slopelab.data.csvframe`); any other file, and any
  file with a bad cell, is read by the csv module, whose messages these are.
- **Columns**: found by exact name, else by name in any letter case. The label column, when not
  given, is the first named ``label``, ``class``, ``target`` or ``y`` (any case).
- **Numbers**: feature cells must parse as numbers, be finite, and fit float32 (|x| < 3.4e38),
  the dtype slopelab trains in; the message names the row and the column.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.csvframe import FrameRows, read_frame
from slopelab.data.errors import DataError, option
from slopelab.data.number_text import all_plain, is_number, why_not_a_number

LABEL_COLUMNS = ("label", "class", "target", "y")
SNIFF_BYTES = 8192  # bytes looked at to tell text from binary
FLOAT32_MAX = float(np.finfo(np.float32).max)
SHOWN_COLUMNS = 12

Rows = list[list[str]] | FrameRows  # the csv module's cells, or pandas' columns


@dataclass(frozen=True)
class Table:
    """The cells of a CSV file: column names, data rows, and notes for the user.

    ``named`` is False when the file has no header row; its columns are then named ``1``..``K``.
    """

    path: Path
    header: tuple[str, ...]
    rows: Rows
    named: bool = True
    notes: tuple[str, ...] = ()

    def column(self, index: int) -> str:
        """How a message names column ``index``: ``'species'``, or ``3`` without a header."""
        return repr(self.header[index]) if self.named else self.header[index]

    def columns(self) -> str:
        """The column names for a message, shortened when there are many."""
        shown = ", ".join(self.header[:SHOWN_COLUMNS])
        if len(self.header) > SHOWN_COLUMNS:
            shown += f", ... ({len(self.header)} in all)"
        return shown + ("" if self.named else " (it has no header row)")


def read_table(path: Path) -> Table:
    """The header and data rows of the CSV file at ``path`` (see the module docstring): read by
    pandas when it reads the file as the csv module would (:mod:`slopelab.data.csvframe`),
    else by the csv module."""
    return _fast_table(path) or read_exact_table(path)


def _fast_table(path: Path) -> Table | None:
    encoding = _encoding(path)
    head = _head(path, encoding)
    if head is None:
        return None
    first, second, header_lines = head
    if len(first) == 1 or (second is not None and len(second) != len(first)):
        return None  # a separator to name, or rows of other widths: the csv module says it
    headerless = _first_line_is_data(first, second)
    names = [cell.strip().lower() for cell in first]
    as_text = [index for index, name in enumerate(names) if name in LABEL_COLUMNS]
    skip = 0 if headerless else header_lines
    rows = read_frame(path, encoding, skip, len(first), [*as_text, len(first) - 1])
    if rows is None:
        return None
    table = _headerless(path, first, rows) if headerless else _with_header(path, first, rows)
    return _without_pandas_index(table)


def _head(path: Path, encoding: str) -> tuple[list[str], list[str] | None, int] | None:
    """The first two rows that are not blank, and how many lines end with the first; None
    when the csv module stops there (an error the full read reports)."""
    rows: list[list[str]] = []
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.reader(handle, strict=True)
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    if len(rows) == 1:
                        header_lines = reader.line_num
                if len(rows) == 2:
                    break
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    if not rows:
        return None
    return rows[0], rows[1] if len(rows) > 1 else None, header_lines


def read_exact_table(path: Path) -> Table:
    """:func:`read_table` by the csv module alone, whose messages name the line and the fix."""
    lines = _read_lines(path)
    if not lines:
        raise DataError(f"{path} is empty; a CSV needs a header row and at least one data row")
    _check_separator(path, lines[0])
    second = lines[1] if len(lines) > 1 else None
    if _first_line_is_data(lines[0], second):
        table = _headerless(path, lines[0], lines)
    else:
        table = _with_header(path, lines[0], lines[1:])
    if not table.rows:
        raise DataError(
            f"{path} needs a header row and at least one data row; it has {len(lines)} line"
        )
    _check_widths(table)
    return _without_pandas_index(table)


def _headerless(path: Path, first: list[str], rows: Rows) -> Table:
    count = len(first)
    note = (
        f"{path} has no header row (its first line holds only data: {_preview(first)}), so "
        f"every line is read as data and the columns are numbered 1..{count}"
    )
    header = tuple(str(number) for number in range(1, count + 1))
    return Table(path, header, rows, named=False, notes=(note,))


def _with_header(path: Path, first: list[str], rows: Rows) -> Table:
    header = tuple(name.strip() for name in first)
    _check_distinct(path, header)
    notes = ()
    if _is_pandas_header(header):
        notes = (
            f"{path}: its first line 0..{len(header) - 1} is read as column names (pandas "
            "writes these for unnamed columns), not as data",
        )
    return Table(path, header, rows, named=True, notes=notes)


def _check_distinct(path: Path, header: tuple[str, ...]) -> None:
    """Two columns of one name: which one is the label, or feature 'x', would be a guess."""
    twice = sorted({name for name in header if header.count(name) > 1})
    if not twice:
        return
    named = ", ".join(repr(name) if name else "'' (no name)" for name in twice)
    raise DataError(
        f"{path}: the header names {'columns' if len(twice) > 1 else 'a column'} {named} more "
        "than once; give every column its own name"
    )


def _without_pandas_index(table: Table) -> Table:
    """Drop a first column with no name that holds the row numbers 0..N-1: the index pandas
    writes unless told ``index=False``. As a feature it would only encode the row order."""
    if not table.named or table.header[0] or len(table.header) < 2:
        return table
    if any(cell.strip() != str(number) for number, cell in enumerate(_text(table.rows, 0))):
        return table
    note = (
        f"{table.path}: its first column has no name and holds the row numbers 0..."
        f"{len(table.rows) - 1} (the index pandas writes without index=False), so it is dropped"
    )
    rows = (
        table.rows.without_first_column()
        if isinstance(table.rows, FrameRows)
        else [row[1:] for row in table.rows]
    )
    return Table(table.path, table.header[1:], rows, named=True, notes=(*table.notes, note))


def _check_separator(path: Path, first: list[str]) -> None:
    if len(first) != 1:
        return
    separator = next((mark for mark in (";", "\t", "|") if mark in first[0]), None)
    if separator is not None:
        raise DataError(
            f"{path} has one column, its values separated by {separator!r}; slopelab reads "
            "comma-separated files (save it as CSV with commas, decimal points as '.')"
        )


def find_column(table: Table, name: str) -> int:
    """The index of column ``name``: an exact match, else the one match in any letter case."""
    wanted = name.strip()
    index = match_column(table, wanted)
    if index is not None:
        return index
    matches = [column for column in table.header if column.lower() == wanted.lower()]
    if matches:
        raise DataError(
            f"{table.path} has several columns named {wanted!r} in different letter case "
            f"({', '.join(matches)}); give the exact name"
        )
    raise DataError(f"{table.path} has no column {wanted!r}; its columns are {table.columns()}")


def match_column(table: Table, name: str) -> int | None:
    """The index of column ``name`` (exact, else the one match in any letter case), or None."""
    if name in table.header:
        return table.header.index(name)
    matches = [index for index, column in enumerate(table.header) if column.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def label_column_index(
    table: Table,
    label_column: str | None,
    *,
    default_last: bool,
    not_features: Collection[str] = (),
) -> int | None:
    """``label_column`` if given, else the first column named label/class/target/y (any case)
    that is not in ``not_features`` (a model's feature columns), else the last column
    (``default_last``) or None."""
    if label_column is not None:
        return find_column(table, label_column)
    if table.named:
        features = {name.lower() for name in not_features}
        lowered = [name.lower() for name in table.header]
        for candidate in LABEL_COLUMNS:
            if candidate in lowered and candidate not in features:
                return lowered.index(candidate)
    return len(table.header) - 1 if default_last else None


def feature_matrix(table: Table, columns: list[int], *, label_known: bool = True) -> np.ndarray:
    """The cells of ``columns`` as float64 ``(N, len(columns))``: numbers, finite, and within
    float32's range; otherwise a DataError naming the row and the column. ``label_known=False``
    (no label column was found) adds a hint to name it when a cell is text."""
    if isinstance(table.rows, FrameRows):
        X = table.rows.numbers(columns)
        if X is not None and not _bad_cells(X).size:
            return X
        table = read_exact_table(table.path)  # its message quotes the cell as written
    cells = [[row[index] for index in columns] for row in table.rows]
    try:
        if not all(all_plain(row) for row in cells):
            raise ValueError("a cell numpy would read but slopelab does not")
        X = np.array(cells, dtype=np.float64).reshape(len(cells), len(columns))
    except ValueError:
        X = _parse_each(table, cells, columns, label_known)
    bad = _bad_cells(X)
    if bad.size:
        row, position = (int(index) for index in bad[0])
        column = table.column(columns[position])
        text = cells[row][position].strip()
        if np.isnan(X[row, position]) or "inf" in text.lower():
            raise DataError(
                f"{table.path}: column {column} in row {row + 1} is NaN or infinite; fill in or "
                "drop that row"
            )
        raise DataError(
            f"{table.path}: column {column} in row {row + 1} holds {text}, too large for float32 "
            f"(largest {FLOAT32_MAX:.4g}); rescale that column"
        )
    return X


def _bad_cells(X: np.ndarray) -> np.ndarray:
    """``(row, position)`` of every value that is not finite or does not fit float32."""
    return np.argwhere(~np.isfinite(X) | (np.abs(X) > FLOAT32_MAX))


def label_cells(table: Table, index: int) -> np.ndarray:
    """The cells of the label column, stripped, as a string array."""
    return np.array([cell.strip() for cell in _text(table.rows, index)], dtype=str)


def _text(rows: Rows, index: int) -> list[str]:
    """The cells of column ``index`` as written in the file."""
    if isinstance(rows, FrameRows):
        return rows.text(index)
    return [row[index] for row in rows]


def _parse_each(
    table: Table, cells: list[list[str]], columns: list[int], label_known: bool
) -> np.ndarray:
    """Cell by cell, to name the first cell that is not a number."""
    X = np.empty((len(cells), len(columns)))
    for row, values in enumerate(cells):
        for position, cell in enumerate(values):
            if is_number(cell):
                X[row, position] = float(cell)
                continue
            column = table.column(columns[position])
            hint = (
                ""
                if label_known
                else f"; if column {column} is the label, name it with {option('label_column')}"
            )
            raise DataError(
                f"{table.path}: column {column} in row {row + 1} holds {cell.strip()[:40]!r}, "
                f"which is not a number{why_not_a_number(cell)}; every column except the label "
                f"column must be numeric (fill in or drop missing values){hint}"
            )
    return X


def _read_lines(path: Path) -> list[list[str]]:
    encoding = _encoding(path)
    lines: list[list[str]] = []
    read_to = 0  # the last line of the last row read: a failing row starts on the next
    try:
        with path.open(newline="", encoding=encoding) as handle:
            # strict: an unbalanced quote is an error, not a field that swallows the lines after it
            reader = csv.reader(handle, strict=True)
            for row in reader:
                read_to = reader.line_num
                if any(cell.strip() for cell in row):
                    lines.append(row)
            return lines
    except UnicodeDecodeError:
        expected = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise DataError(
            f"{path} is not {expected} text ({_first_undecodable(path, encoding)}); save it as "
            "UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None
    except csv.Error as error:
        raise _csv_error(path, error, read_to + 1) from None
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied; fix its permissions") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None


def _csv_error(path: Path, error: csv.Error, line: int) -> DataError:
    """The csv module's complaint, said with the line and the fix."""
    text = str(error)
    if "field larger than field limit" in text:
        return DataError(
            f"{path}: line {line} has a field longer than {csv.field_size_limit():,} "
            "characters (the csv module's limit); a CSV of numbers never has one, so check "
            "that this is the right file and that its quotes are balanced"
        )
    if "unexpected end of data" in text:
        return DataError(
            f"{path}: a quoted field on line {line} is never closed (the file ends inside it); "
            'balance the quotes (write a quote inside a field as "")'
        )
    if "expected after" in text:
        return DataError(
            f"{path}: line {line} has text right after a closing quote ({text}); a quoted "
            'field ends at its closing " (write a quote inside one as "")'
        )
    return DataError(f"{path} is not valid CSV near line {line} ({text})")


def _first_undecodable(path: Path, encoding: str) -> str:
    """Where decoding fails, for the message (the decoder itself only knows its chunk)."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return f"byte {data[error.start]:#04x} on line {line}"
    return "an undecodable byte"


def _encoding(path: Path) -> str:
    """utf-16 for a file with a UTF-16 byte-order mark, else utf-8-sig; binary is refused."""
    try:
        with path.open("rb") as handle:
            start = handle.read(SNIFF_BYTES)
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied; fix its permissions") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if start.startswith(b"PK"):
        raise DataError(f"{path} is a zip archive (a .npz?), not CSV text; name it .npz if it is")
    if b"\x00" in start:
        raise DataError(f"{path} is a binary file (it holds NUL bytes), not CSV text")
    return "utf-8-sig"


def _check_widths(table: Table) -> None:
    width = len(table.header)
    for number, row in enumerate(table.rows, start=1):
        if len(row) != width:
            what = "the header has" if table.named else "the first line has"
            raise DataError(
                f"{table.path}: row {number} has {len(row)} values but {what} {width} "
                "columns; every row needs one value per column"
            )


def _first_line_is_data(first: list[str], second: list[str] | None) -> bool:
    numeric = [is_number(cell) for cell in first]
    if all(numeric):
        return not _is_pandas_header(tuple(cell.strip() for cell in first))
    if numeric.count(False) > 1 or second is None or len(second) != len(first):
        return False
    text_column = numeric.index(False)
    return all(is_number(cell) != (index == text_column) for index, cell in enumerate(second))


def _is_pandas_header(header: tuple[str, ...]) -> bool:
    return header == tuple(str(number) for number in range(len(header)))


def _preview(cells: list[str]) -> str:
    text = ",".join(cell.strip() for cell in cells)
    return text if len(text) <= 40 else text[:37] + "..."
