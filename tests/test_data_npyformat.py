"""Damaged .npy headers: every reader of a pack's files answers with a DataError, never with
numpy's SyntaxError, TypeError or tokenizer error."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data.errors import DataError
from slopelab.data.npyformat import npy_shape, read_npy_header
from slopelab.data.npyrows import NpyRows


def _damaged(folder: Path, position: int, junk: bytes) -> Path:
    path = folder / "X.npy"
    np.save(path, np.arange(6, dtype=np.uint8).reshape(3, 2))
    data = bytearray(path.read_bytes())
    data[position : position + len(junk)] = junk
    damaged = folder / "damaged.npy"
    damaged.write_bytes(bytes(data))
    return damaged


# Found by hand: unbalanced brackets made numpy's header parser raise tokenize.TokenError.
@pytest.mark.parametrize("junk", [b"{'descr': [[[, ", b"((((((((", b"\x00\xff\xfe"])
def test_garbled_header_is_a_value_error_then_a_data_error(tmp_path, junk):
    path = _damaged(tmp_path, 10, junk)
    with open(path, "rb") as handle, pytest.raises(ValueError, match=r"header"):
        read_npy_header(handle)
    assert npy_shape(path) is None
    with pytest.raises(DataError, match=r"not a readable \.npy file"):
        NpyRows(path)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, 100), junk=st.binary(min_size=1, max_size=12))
def test_any_header_damage_gives_rows_or_a_data_error(tmp_path_factory, position, junk):
    path = _damaged(tmp_path_factory.mktemp("npy"), position, junk)
    try:
        rows = NpyRows(path)
    except DataError:
        return
    assert rows.shape[1] >= 1 and rows.num_rows >= 1
    rows.close()
