"""Reading a CSV strictly: balanced quotes, distinct column names, and numbers as a CSV writer
writes them (no ``1_000``, no digits of other scripts), each refused in one line that says where."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data import DataError, load_dataset
from slopelab.data.files import read_csv
from slopelab.data.number_text import is_number, parse_numbers
from slopelab.data.rows import read_features

ROWS = "".join(f"{index},{index % 3},{index % 2}\n" for index in range(20))


def write(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------- quotes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the reader used to take every line after the quote into one label: a new class
        ("a,b,label\n" + ROWS + '5,6,"unterminated\n', r"t\.csv: a quoted field on line 22 is "
         r"never closed \(the file ends inside it\); balance the quotes"),
        ("a,b,label\n" + '5,6,"open\n' + ROWS, r"a quoted field on line 2 is never closed"),
        ("a,b,label\n" + ROWS + '5,6,"cat"s\n', r"t\.csv: line 22 has text right after a "
         r"closing quote"),
        ('a,"b,label\n' + ROWS, r"a quoted field on line 1 is never closed"),
    ],
)  # fmt: skip
def test_unbalanced_quotes_are_refused_naming_the_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        load_dataset(path)
    with pytest.raises(DataError, match=message):
        read_features(path)


def test_balanced_quotes_still_read(tmp_path):
    text = "a,b,label\n" + "".join(f'"{i}",{i % 3},"cat ""{i % 2}"""\n' for i in range(20))
    loaded = read_csv(write(tmp_path, text))
    assert loaded.class_names == ('cat "0"', 'cat "1"')
    np.testing.assert_array_equal(loaded.X[:, 0], np.arange(20))


# ------------------------------------------------------------------------------- column names


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("a,label,label", r"the header names a column 'label' more than once; give every column "
         r"its own name"),
        ("a,a,label", r"names a column 'a' more than once"),
        ("a,b,a,b", r"names columns 'a', 'b' more than once"),
        (" a ,a,label", r"names a column 'a' more than once"),  # names are stripped
        (",,label", r"names a column '' \(no name\) more than once"),
    ],
)  # fmt: skip
def test_duplicate_column_names_are_refused(tmp_path, header, message):
    width = header.count(",") + 1
    rows = "".join(",".join(["1"] * (width - 1) + [str(i % 2)]) + "\n" for i in range(20))
    path = write(tmp_path, header + "\n" + rows)
    with pytest.raises(DataError, match=message):
        load_dataset(path)
    with pytest.raises(DataError, match=message):
        read_features(path)


def test_names_in_two_letter_cases_are_distinct_columns(tmp_path):
    rows = "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))
    loaded = read_csv(write(tmp_path, "a,A,label\n" + rows))
    np.testing.assert_array_equal(loaded.X[:, 1], np.arange(20) * 2)


# ------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("1_000", r"\(digit separators such as '_' are not allowed\)"),
        ("１", r"\(it holds a character that is not ASCII; write digits 0-9\)"),  # full width
        ("١٢", r"\(it holds a character that is not ASCII"),  # float() reads this as 12
        ("1__0", r"\(digit separators"),
    ],
)
def test_numbers_python_reads_but_no_csv_writer_writes_are_refused(tmp_path, cell, hint):
    path = write(tmp_path, "width,label\n" + "1.5,0\n" * 5 + f"{cell},1\n" + "2.5,1\n" * 5)
    message = rf"column 'width' in row 6 holds '{cell}', which is not a number {hint}"
    with pytest.raises(DataError, match=message):
        load_dataset(path)
    with pytest.raises(DataError, match=message):
        read_features(path)


def test_a_first_line_with_1_000_is_a_header_not_data(tmp_path):
    """Header detection uses the same rule: ``1_000`` is a name, so the line is the header."""
    loaded = read_csv(
        write(tmp_path, "1_000,label\n" + "".join(f"{i},{i % 2}\n" for i in range(9)))
    )
    assert len(loaded.y) == 9 and loaded.feature_names == ("1_000",)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str)))
def test_is_number_is_float_without_underscores_or_non_ascii(text):
    try:
        float(text)
        python_reads = True
    except ValueError:
        python_reads = False
    plain = text.isascii() and "_" not in text
    assert is_number(text) == (python_reads and plain)
    parsed = parse_numbers(np.array([text], dtype=str))
    if is_number(text):
        expected = float(text)
        assert parsed is not None
        assert parsed[0] == expected or (np.isnan(parsed[0]) and np.isnan(expected))
    else:
        assert parsed is None
