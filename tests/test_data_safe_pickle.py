"""The restricted unpickler: real CIFAR-10 content loads, nothing else is ever called."""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import pickle
import struct
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data import DataError
from slopelab.data.safe_pickle import ALLOWED_GLOBALS, load_pickle


class Payload:
    """Pickles as a call to ``function(*args)``, the classic pickle exploit."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _qualified(function) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _dangerous(marker):
    command = f"touch {marker}"
    source = f"open({str(marker)!r}, 'w').close()"
    return [
        (os.system, (command,)),
        (builtins.eval, (source,)),
        (builtins.exec, (source,)),
        (subprocess.call, (["touch", str(marker)],)),
        (builtins.open, (str(marker), "w")),
        (np.save, (str(marker), [0.0])),  # numpy, but not array reconstruction
        (builtins.__import__, ("os",)),
    ]


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_calls_to_anything_else_are_refused_before_they_run(tmp_path, case, protocol):
    marker = tmp_path / "pwned"
    function, args = _dangerous(marker)[case]
    data = pickle.dumps({"data": Payload(function, *args)}, protocol=protocol, fix_imports=False)
    expected = (
        f"refusing to unpickle {_qualified(function)} from {tmp_path}/data_batch_1: CIFAR-10 "
        "batch files only contain dicts, lists, bytes and numpy arrays; this file is not a "
        "CIFAR-10 batch"
    )
    with pytest.raises(DataError) as raised:
        load_pickle(data, f"{tmp_path}/data_batch_1")
    assert str(raised.value) == expected
    assert not marker.exists()
    assert not marker.with_suffix(".npy").exists()


def test_python_2_names_are_refused_too():
    data = pickle.dumps(Payload(eval, "1 + 1"), protocol=2, fix_imports=True)
    with pytest.raises(DataError, match=r"refusing to unpickle __builtin__\.eval from meta"):
        load_pickle(data, "meta")


def test_a_class_reference_alone_is_refused():
    with pytest.raises(DataError, match=r"refusing to unpickle builtins\.object"):
        load_pickle(pickle.dumps(object, protocol=3), "meta")


def test_python_3_protocol_2_bytes_need_codecs_which_real_batches_never_use():
    with pytest.raises(DataError, match=r"refusing to unpickle _codecs\.encode from x"):
        load_pickle(pickle.dumps({b"data": b"abc"}, protocol=2), "x")


def test_persistent_references_are_refused():
    class WithPersistentIds(pickle.Pickler):
        def persistent_id(self, obj):
            return "external" if obj == "secret" else None

    buffer = io.BytesIO()
    WithPersistentIds(buffer, protocol=2).dump(["secret"])
    with pytest.raises(DataError, match=r"refusing to unpickle opcode BINPERSID at byte \d+ of x"):
        load_pickle(buffer.getvalue(), "x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # BINSTRING claiming 2 GiB of text: refused before anything is allocated
        (b"\x80\x02T" + struct.pack("<i", 2**31 - 1) + b"abc.", r"truncated or corrupt"),
        # LONG_BINPUT at index 2**31: the unpickler would size its memo table to match
        (b"\x80\x02]r" + struct.pack("<I", 2**31) + b".", r"memo index 2147483648 .* range"),
        # protocol 5 out-of-band buffers and object-building opcodes are not data
        (pickle.dumps(pickle.PickleBuffer(bytearray(b"abc")), protocol=5), r"opcode BYTEARRAY8"),
        (b"\x80\x02(cbuiltins\nobject\no.", r"opcode OBJ"),
        (b"(ibuiltins\nobject\n.", r"opcode INST"),
        (b"\x80\x02\x82\x01.", r"opcode EXT1"),
    ],
)
def test_forged_lengths_and_non_data_opcodes_are_refused(data, message):
    with pytest.raises(DataError, match=message):
        load_pickle(data, "forged")


def test_arrays_and_containers_load_with_bytes_strings():
    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    payload = {"data": data, "labels": [1, 2, 3], "names": ["a"], "n": 7}
    loaded = load_pickle(pickle.dumps(payload, protocol=3), "batch")
    np.testing.assert_array_equal(loaded["data"], data)
    assert loaded["labels"] == [1, 2, 3] and loaded["n"] == 7


def test_only_array_reconstruction_is_admitted():
    assert set(ALLOWED_GLOBALS) == {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_load_or_raise_data_error_only(data):
    try:
        load_pickle(data, "fuzz")
    except DataError as error:
        assert "\n" not in str(error)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_damaged_batches_load_or_raise_data_error_only(position, value):
    batch = {b"data": np.arange(60, dtype=np.uint8).reshape(2, 30), b"labels": [0, 1]}
    data = bytearray(pickle.dumps(batch, protocol=3))
    data[position % len(data)] = value
    with contextlib.suppress(DataError):
        load_pickle(bytes(data), "fuzz")


def test_pickled_dtype_flags_never_reach_numpy():
    """numpy.dtype.__setstate__ trusts the pickled flags; forged ones crash the interpreter
    (found by fuzzing). The stand-ins ignore them and build a plain uint8 array."""
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    data = pickle.dumps(array, protocol=3)
    tail = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"  # elsize -1, alignment -1, flags 0
    assert data.count(tail) == 1
    forged = data.replace(tail, tail[:-2] + b"\x3ft")  # flags: "holds Python objects" and more
    loaded = load_pickle(forged, "forged")
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == np.uint8 and loaded.flags.writeable


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([1, "a"], dtype=object), r"array data must be raw bytes of a plain number type"),
        (np.zeros(2, dtype=[("a", "<i4")]), r"unsupported array type 'V4'"),
        (np.array(["ab"]), r"unsupported array type 'U2'"),
    ],
)
def test_only_plain_number_arrays_are_built(array, message):
    with pytest.raises(DataError, match=message):
        load_pickle(pickle.dumps(array, protocol=3), "odd")


@pytest.mark.parametrize("dtype", ["u1", "<i4", ">i2", "<f8", "|b1"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_plain_arrays_round_trip(dtype, order):
    array = np.asarray(np.arange(12).reshape(3, 4) % 2, dtype=dtype, order=order)
    loaded = load_pickle(pickle.dumps({"a": [array, (array,)]}, protocol=3), "ok")
    for value in (loaded["a"][0], loaded["a"][1][0]):
        np.testing.assert_array_equal(value, array)
        assert value.dtype == array.dtype
