"""The one .npz loader: every way a file can be damaged is one NpzFileError on one line."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib import format as npy_format

from slopelab.errors import SlopelabError
from slopelab.npzfile import NpzFileError, load_npz
from slopelab.runs import RunError
from slopelab.runs import load_npz as runs_load_npz
from tests.helpers import refuse_opening


def saved(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


GOOD = {"X": np.arange(12.0).reshape(4, 3), "y": np.array([0, 1, 0, 1])}


def npy_member(header: dict, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def duplicated_member() -> bytes:
    member = npy_member({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\x00" * 8)
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # zipfile warns about the duplicate we make on purpose
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("X.npy", member)
            archive.writestr("X.npy", member)
    return buffer.getvalue()


def flipped(data: bytes, offset: int) -> bytes:
    damaged = bytearray(data)
    damaged[offset] ^= 0xFF
    return bytes(damaged)


def with_compression_method(data: bytes, method: int) -> bytes:
    """A zip whose (single) member claims a compression method zipfile cannot read."""
    damaged = bytearray(data)
    local = damaged.index(b"PK\x03\x04")
    central = damaged.index(b"PK\x01\x02")
    struct.pack_into("<H", damaged, local + 8, method)
    struct.pack_into("<H", damaged, central + 10, method)
    return bytes(damaged)


def with_encryption_flag(data: bytes) -> bytes:
    damaged = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = damaged.index(signature)
        (flags,) = struct.unpack_from("<H", damaged, start + offset)
        struct.pack_into("<H", damaged, start + offset, flags | 0x1)
    return bytes(damaged)


def compressed_payload_offset(data: bytes) -> int:
    """An offset inside the compressed bytes of the first member (past its local header)."""
    start = data.index(b"PK\x03\x04")
    name_length, extra_length = struct.unpack_from("<HH", data, start + 26)
    return start + 30 + name_length + extra_length + 40


GOOD_BYTES = saved(GOOD)
BIG_COMPRESSED = saved({"X": np.arange(20000.0)}, compressed=True)

DAMAGED = {
    "empty": (b"", r"is empty \(0 bytes\), not a dataset"),
    "not a zip": (b"\x80\x04 a pickle", r"is not a readable dataset: it is not a zip archive"),
    "text": (b"X,y\n1,0\n", r"is not a readable dataset: it is not a zip archive"),
    "truncated": (GOOD_BYTES[: len(GOOD_BYTES) // 2], r"zip archive is truncated or corrupt"),
    "last bytes cut": (GOOD_BYTES[:-5], r"zip archive is truncated or corrupt"),
    "PK and garbage": (b"PK" + b"\x00" * 40, r"zip archive is truncated or corrupt"),
    "bad CRC": (flipped(GOOD_BYTES, 200), r"truncated or corrupt \(Bad CRC-32 for file 'X\.npy'\)"),
    "bad zlib stream": (
        flipped(BIG_COMPRESSED, compressed_payload_offset(BIG_COMPRESSED)),
        r"truncated or corrupt \(Error -3 while decompressing data",
    ),
    "object array": (
        saved({"y": np.array([1, None], dtype=object)}),
        r"holds an array that needs pickle \('y\.npy' has dtype object\).*save plain numeric",
    ),
    "not an array": (zipped({"notes.txt": b"hello"}), r"holds 'notes\.txt', which is not a \.npy"),
    "forged shape": (
        zipped(
            {
                "X.npy": npy_member(
                    {"descr": "<f8", "fortran_order": False, "shape": (10**13,)}, b"\x00" * 24
                )
            }
        ),
        r"'X\.npy' should hold 80000000000000 bytes for shape \(10000000000000,\) of float64 "
        r"but holds 24; the file is truncated or corrupt",
    ),
    "short payload": (
        zipped(
            {
                "X.npy": npy_member(
                    {"descr": "<f8", "fortran_order": False, "shape": (3,)}, b"\x00" * 16
                )
            }
        ),
        r"should hold 24 bytes .* but holds 16",
    ),
    "negative shape": (
        zipped(
            {"X.npy": npy_member({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"")}
        ),
        r"invalid shape \(-1,\)",
    ),
    "garbled header": (
        zipped({"X.npy": b"\x93NUMPY\x01\x00\x20\x00{'descr': <<<<<<<<<<<<<<<<<<<<<<<"}),
        r"'X\.npy' is not a readable \.npy array \(its header is corrupt\)",
    ),
    "not npy magic": (zipped({"X.npy": b"hello world"}), r"its header is corrupt"),
    "duplicate names": (duplicated_member(), r"holds two arrays named 'X'"),
    "unsupported compression": (
        with_compression_method(
            zipped(
                {
                    "X.npy": npy_member(
                        {"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\x00" * 8
                    )
                }
            ),
            99,
        ),
        r"is not a readable dataset \(That compression method is not supported\)",
    ),
    "encrypted": (with_encryption_flag(GOOD_BYTES), r"'X\.npy' is encrypted"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_every_damaged_file_is_one_error_on_one_line(tmp_path, case):
    data, message = DAMAGED[case]
    path = tmp_path / "data.npz"
    path.write_bytes(data)
    with pytest.raises(NpzFileError, match=message) as raised:
        load_npz(path, "dataset")
    assert "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_missing_file_and_a_folder_are_named(tmp_path):
    with pytest.raises(NpzFileError, match=r"no model file at .*nothing\.npz; check the path"):
        load_npz(tmp_path / "nothing.npz", "model file")
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(NpzFileError, match=r"folder\.npz is a folder, not a model file"):
        load_npz(tmp_path / "folder.npz", "model file")


def test_permission_denied_is_an_error_not_an_os_error(tmp_path, monkeypatch):
    path = tmp_path / "locked.npz"
    path.write_bytes(GOOD_BYTES)
    refuse_opening(monkeypatch, path)
    with pytest.raises(NpzFileError, match=r"cannot read .*locked\.npz: permission denied"):
        load_npz(path)


def test_the_caller_chooses_the_error_class(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"")
    with pytest.raises(RunError, match=r"model\.npz is empty"):
        load_npz(path, "model", error=RunError)
    # slopelab.runs.load_npz (checkpoints, --params) goes through the same loader.
    path.write_bytes(GOOD_BYTES[:100])
    with pytest.raises(RunError, match=r"truncated or corrupt"):
        runs_load_npz(path, "checkpoint")


ARRAYS = st.dictionaries(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_/]{0,8}", fullmatch=True),
    hnp.arrays(
        st.one_of(
            hnp.scalar_dtypes(), hnp.unicode_string_dtypes(), hnp.byte_string_dtypes()
        ).filter(lambda dtype: dtype.kind not in "mMV"),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays=ARRAYS, compressed=st.booleans(), fortran=st.booleans())
def test_whatever_np_savez_writes_loads_back_identically(tmp_path_factory, arrays, compressed,
                                                         fortran):  # fmt: skip
    if fortran:
        arrays = {key: np.asfortranarray(value) for key, value in arrays.items()}
    path = tmp_path_factory.mktemp("npz") / "arrays.npz"
    path.write_bytes(saved(arrays, compressed))
    loaded = load_npz(path)
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)


@settings(max_examples=150, deadline=None)
@given(
    cut=st.integers(0, len(GOOD_BYTES) - 1),
    flips=st.lists(st.integers(0, len(GOOD_BYTES) - 1), max_size=3),
    compressed=st.booleans(),
)
def test_any_truncation_or_corruption_loads_or_is_one_npz_error(tmp_path_factory, cut, flips,
                                                                compressed):  # fmt: skip
    data = bytearray(saved(GOOD, compressed))
    for offset in flips:
        data[offset % len(data)] ^= 0xA5
    path = tmp_path_factory.mktemp("npz") / "damaged.npz"
    path.write_bytes(bytes(data[: max(cut, 1) if cut < len(data) else len(data)]))
    try:
        loaded = load_npz(path, "dataset")
    except NpzFileError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(loaded, dict)
    assert all(isinstance(value, np.ndarray) for value in loaded.values())


def test_npz_error_is_a_slopelab_value_error():
    assert issubclass(NpzFileError, SlopelabError) and issubclass(NpzFileError, ValueError)
