"""pandas' fast path reads every CSV exactly as the csv module does, or steps aside.

The oracle is slopelab's csv-module reader (``read_exact_table``), which the CSV tests pin: for
any file, both paths give the same matrix, labels, names and notes, or the same error message.
"""

from __future__ import annotations

import csv
import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data import DataError, csvfile
from slopelab.data.csvframe import FrameRows
from slopelab.data.files import read_csv
from slopelab.data.rows import read_features

NUMBERS = ["0", "1", "-0", "007", "+5", "1e5", " 1.5 ", "1.", ".5", "-2.25", "3.4e38", "1e-320",
           "0.1000000000000000055511151231257827", "123456789012345678", "9" * 25]  # fmt: skip
ODD = ["cat", "True", "nan", "NaN", "inf", "-Infinity", "1e999", "3.5e38", "1_000", "１", "",
       " ", "0x10", "1d5", "dog"]  # fmt: skip
HEADERS = ["a,b,label", "x,y,class", ",a,label", "0,1,2", "a,a,label"]


@contextmanager
def exact_only():
    with mock.patch.object(csvfile, "_fast_table", return_value=None):
        yield


def outcome(read, path: Path):
    """What a reader makes of ``path``: its fields as plain values, or its error message."""
    try:
        result = read(path)
    except DataError as error:
        return ("error", str(error))
    fields = {}
    for name, value in vars(result).items():
        if isinstance(value, np.ndarray):  # bit for bit: -0.0 is not 0.0 here
            value = (value.dtype.str, value.shape, value.tobytes())
        fields[name] = value
    return ("ok", fields)


def both_paths(read, path: Path):
    fast = outcome(read, path)
    with exact_only():
        exact = outcome(read, path)
    return fast, exact


@st.composite
def csv_texts(draw) -> str:
    width = draw(st.integers(1, 4))
    numeric = draw(st.lists(st.booleans(), min_size=width, max_size=width))
    lines = []
    header = draw(st.sampled_from([*HEADERS, None]))
    if header is not None:
        lines.append(",".join((header.split(",") * 2)[:width]))
    for number in range(draw(st.integers(0, 6))):
        cells = [
            draw(st.sampled_from(NUMBERS if is_numeric and draw(st.integers(0, 5)) else ODD))
            for is_numeric in numeric
        ]
        if draw(st.integers(0, 3)) == 0:
            cells[0] = str(number)  # the index pandas writes
        if draw(st.integers(0, 15)) == 0:
            cells = cells[:-1] if draw(st.booleans()) else [*cells, "1"]  # a short or long row
        lines.append(",".join(cells))
        if draw(st.integers(0, 10)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", ",,"])))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return draw(st.sampled_from(["", "\ufeff"])) + ending.join(lines) + ending


@settings(max_examples=200, deadline=None)
@given(text=csv_texts(), label=st.sampled_from([None, "label", "1"]))
def test_both_paths_agree_on_any_file(text, label):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text, encoding="utf-8", newline="")
        for read in (
            lambda file: read_csv(file, label_column=label),
            lambda file: read_features(file, label_column=label, class_names=["0", "1", "cat"]),
        ):
            fast, exact = both_paths(read, path)
            assert fast == exact, text


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_clean_file_of_numbers_takes_the_fast_path(tmp_path):
    path = write(tmp_path, "a,b,label\n" + "".join(f"{i},{i / 4},{i % 3}\n" for i in range(30)))
    table = csvfile.read_table(path)
    assert isinstance(table.rows, FrameRows)
    loaded = read_csv(path)
    np.testing.assert_array_equal(loaded.X, [[i, i / 4] for i in range(30)])
    assert loaded.class_names == ("0", "1", "2")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('a,label\n1,"x"\n2,y\n', "a quote: the csv module's strict quoting"),
        ("a,label\n1,x\n2\n", "a short row: pandas pads it"),
        ("a,label\n1,x\n2,\n", "a blank text cell: padding or not, the csv module says"),
        ("a,b,label\nTrue,1,x\nFalse,2,y\n", "pandas reads True as a bool"),
        ("a;b;label\n1;2;3\n", "one column holding ';'"),
        ("a,label\n", "no data row"),
    ],
)
def test_files_pandas_could_misread_go_to_the_csv_module(tmp_path, text, why):
    path = write(tmp_path, text)
    assert csvfile._fast_table(path) is None, why


def test_a_label_column_of_numbers_keeps_its_text(tmp_path):
    """Its values are pandas' numbers, but a message quotes the cell as written: ``01``."""
    path = write(tmp_path, "f,label\n" + "".join(f"{i},0{i % 2}\n" for i in range(9)) + "9,x\n")
    assert isinstance(csvfile.read_table(path).rows, FrameRows)
    with pytest.raises(DataError, match=r"the labels mix numbers and text \(row 1 holds '00', "
                       r"row 10 holds 'x'\)"):  # fmt: skip
        read_csv(path)


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-3e38, max_value=3e38),
        min_size=2,
        max_size=40,
    ),
    digits=st.integers(1, 25),
)
def test_numbers_are_read_as_float_reads_them(values, digits):
    """pandas' parser against Python's ``float()``, bit for bit, at any number of digits."""
    cells = [f"{value:.{digits}g}" for value in values]
    text = "x,label\n" + "".join(f"{cell},{i % 2}\n" for i, cell in enumerate(cells))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text)
        fast = isinstance(csvfile.read_table(path).rows, FrameRows)
        assert fast or "-0" in text  # a -0 among whole numbers: the csv module reads it
        X = read_csv(path).X[:, 0]
    expected = np.array([float(cell) for cell in cells])
    np.testing.assert_array_equal(X.view(np.int64), expected.view(np.int64))


@pytest.mark.parametrize("cells", [["-0", "3"], ["-00", "0", "1"], ["0", "-0.0"]])
def test_negative_zero_keeps_its_sign(tmp_path, cells):
    """pandas reads the whole number ``-0`` as 0; ``float("-0")`` is -0.0."""
    path = write(tmp_path, "x,label\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(cells)))
    X = read_csv(path).X[:, 0]
    assert np.signbit(X).tolist() == [cell.startswith("-") for cell in cells]


def test_a_number_longer_than_the_field_limit_is_refused_on_both_paths(tmp_path):
    """pandas has no field limit; the csv module's (131,072 characters) names the line."""
    previous = csv.field_size_limit(100)
    try:
        path = write(tmp_path, "x,label\n1,0\n" + "0" * 150 + "1,1\n")
        assert csvfile._fast_table(path) is None
        with pytest.raises(DataError, match=r"line 3 has a field longer than 100 characters"):
            read_csv(path)
    finally:
        csv.field_size_limit(previous)


def test_the_first_error_is_the_csv_modules_message(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,inf,1\n")
    with pytest.raises(DataError, match=r"column 'b' in row 2 is NaN or infinite; fill in"):
        read_csv(path)
