"""The pack format: write_pack / open_pack round trips, validation, checksums, RowWriter."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.data.errors import DataError
from slopelab.data.npyformat import RowWriter, npy_header
from slopelab.data.pack import is_pack, open_pack, verify_pack
from slopelab.data.pack_write import write_pack

NAMES = ("cat", "dog", "frog")


def pixels(rows: int, features: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(rows, features)).astype(np.float32)
    return X, rng.integers(0, len(NAMES), size=rows)


def small_pack(folder: Path, seed: int | None = None, **options) -> Path:
    splits = {"train": pixels(10), "val": pixels(4, seed=1), "test": pixels(3, seed=2)}
    write_pack(folder, "tiny", splits, NAMES, (2, 2, 3), "made in a test", seed=seed, **options)
    return folder


def test_round_trip_keeps_rows_labels_and_metadata(tmp_path):
    X, y = pixels(10)
    write_pack(tmp_path / "p", "tiny", {"train": (X, y)}, NAMES, (2, 2, 3), "here", seed=None)
    pack = open_pack(tmp_path / "p")
    train = pack.split("train")
    assert pack.splits == ("train",)
    assert (pack.class_names, pack.image_shape, pack.num_features) == (NAMES, (2, 2, 3), 12)
    assert (pack.source, pack.name, pack.default_preprocess) == ("here", "tiny", "standardize")
    assert pack.dtype == np.uint8 and train.dtype == np.uint8  # whole numbers in [0, 255]
    assert (train.rows, train.num_features) == (10, 12)
    np.testing.assert_array_equal(train.X, X.astype(np.uint8))
    np.testing.assert_array_equal(train.y, y)
    assert train.y.dtype == np.int64
    assert isinstance(train.X, np.memmap) and not train.X.flags.writeable
    assert train.X_path == tmp_path / "p" / "train-X.npy"


def test_non_pixel_values_are_kept_as_float32(tmp_path):
    X, y = pixels(6)
    X[0, 0] = 0.5
    write_pack(tmp_path / "p", "f", {"train": (X, y)}, NAMES, None, "here", seed=None)
    train = open_pack(tmp_path / "p").split("train")
    assert train.dtype == np.float32
    np.testing.assert_array_equal(train.X, X)


def test_seeded_order_is_a_permutation_of_the_rows_and_depends_only_on_the_seed(tmp_path):
    X, y = pixels(50)
    packs = {}
    for label, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_pack(tmp_path / label, "s", {"train": (X, y)}, NAMES, None, "here", seed=seed)
        packs[label] = open_pack(tmp_path / label).split("train")
    a, b, c = packs["a"], packs["b"], packs["c"]
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    original = sorted(map(tuple, np.column_stack([X, y]).tolist()))
    packed = sorted(map(tuple, np.column_stack([a.X, a.y]).tolist()))
    assert packed == original  # every (row, label) pair exactly once
    assert open_pack(tmp_path / "a").seed == 3


def test_pack_json_has_the_documented_fields(tmp_path):
    small_pack(tmp_path / "p", seed=7)
    meta = json.loads((tmp_path / "p" / "pack.json").read_text())
    assert meta["format"] == "slopelab-pack" and meta["version"] == 1
    assert meta["splits"]["val"]["rows"] == 4 and meta["splits"]["val"]["X"] == "val-X.npy"
    assert meta["image_shape"] == [2, 2, 3] and meta["dtype"] == "uint8"
    assert meta["seed"] == 7 and meta["skipped"] == 0
    assert len(meta["splits"]["train"]["sha256"]) == 64


def test_is_pack(tmp_path):
    assert not is_pack(tmp_path)
    assert not is_pack(tmp_path / "missing")
    assert is_pack(small_pack(tmp_path / "p"))


def test_a_second_pack_into_the_same_folder_is_refused(tmp_path):
    small_pack(tmp_path / "p")
    with pytest.raises(DataError, match="already holds a pack; choose another --out"):
        small_pack(tmp_path / "p")


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        ({"val": pixels(3)}, "needs a 'train' split"),
        ({"train": pixels(3), "extra": pixels(3)}, "unknown split 'extra'"),
        ({"train": (np.zeros((3, 4)), np.array([0, 1, 3]))}, r"labels in \[0, 3\)"),
        ({"train": (np.zeros((3, 4)), np.array([0, 1]))}, r"shape \(3,\), one label per row"),
        ({"train": (np.zeros(3), np.array([0, 1, 2]))}, "non-empty 2-D array"),
        ({"train": pixels(3), "val": pixels(2, features=5)}, "different numbers of features"),
    ],
)
def test_bad_arrays_are_refused_with_the_reason(tmp_path, splits, message):
    with pytest.raises(DataError, match=message):
        write_pack(tmp_path / "p", "bad", splits, NAMES, None, "here")
    assert not is_pack(tmp_path / "p")


def test_uint8_asked_for_non_pixels_is_refused(tmp_path):
    X, y = pixels(3)
    X[1, 1] = 300
    with pytest.raises(DataError, match=r"not whole numbers in \[0, 255\]; use float32"):
        write_pack(tmp_path / "p", "b", {"train": (X, y)}, NAMES, None, "h", dtype="uint8")


def _rewrite_meta(folder: Path, change) -> None:
    meta = json.loads((folder / "pack.json").read_text())
    change(meta)
    (folder / "pack.json").write_text(json.dumps(meta))


def _truncate(path: Path, count: int = 1) -> None:
    path.write_bytes(path.read_bytes()[:-count])


DAMAGE = {
    "no pack.json": (lambda p: (p / "pack.json").unlink(), "is not a pack \\(no pack.json\\)"),
    "not json": (lambda p: (p / "pack.json").write_text("{"), "pack.json cannot be read"),
    "other format": (
        lambda p: _rewrite_meta(p, lambda m: m.update(format="x")),
        "not a slopelab pack description",
    ),
    "newer version": (
        lambda p: _rewrite_meta(p, lambda m: m.update(version=2)),
        "pack format version 2; this slopelab reads version 1",
    ),
    "one class": (
        lambda p: _rewrite_meta(p, lambda m: m.update(class_names=["a"])),
        "'class_names' must be a list of 2 to",
    ),
    "bad dtype": (
        lambda p: _rewrite_meta(p, lambda m: m.update(dtype="int16")),
        "'dtype' must be uint8 or float32",
    ),
    "shape mismatch": (
        lambda p: _rewrite_meta(p, lambda m: m.update(image_shape=[3, 3, 3])),
        "holds 27 values but num_features is 12",
    ),
    "missing X": (lambda p: (p / "val-X.npy").unlink(), "val-X.npy is missing"),
    "truncated X": (lambda p: _truncate(p / "train-X.npy"), "train-X.npy has .* \\(truncated\\)"),
    "extra bytes": (
        lambda p: (p / "test-X.npy").write_bytes((p / "test-X.npy").read_bytes() + b"\0"),
        "\\(extra bytes\\)",
    ),
    "not npy": (lambda p: (p / "train-y.npy").write_bytes(b"hello"), "is not a .npy file"),
    "wrong rows": (
        lambda p: _rewrite_meta(p, lambda m: m["splits"]["train"].update(rows=11)),
        "holds uint8 of shape \\(10, 12\\); pack.json says uint8 of shape \\(11, 12\\)",
    ),
    "float X": (
        lambda p: np.save(p / "train-X.npy", np.zeros((10, 12), np.float32)),
        "holds float32 of shape",
    ),
    "label out of range": (
        lambda p: np.save(p / "train-y.npy", np.full(10, 3, np.int64)),
        r"contains label 3 but the pack has 3 classes; labels must be in \[0, 3\)",
    ),
    "path outside": (
        lambda p: _rewrite_meta(p, lambda m: m["splits"]["train"].update(X="../x.npy")),
        "plain names inside the pack folder",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_pack_is_one_clear_error(tmp_path, case):
    damage, message = DAMAGE[case]
    folder = small_pack(tmp_path / "p")
    damage(folder)
    with pytest.raises(DataError, match=message):
        open_pack(folder)


def test_open_pack_names_a_missing_folder_or_a_file(tmp_path):
    with pytest.raises(DataError, match="does not exist; pass the folder"):
        open_pack(tmp_path / "nothing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file; pass the folder"):
        open_pack(tmp_path / "file")


def test_verify_finds_a_changed_byte_that_open_does_not_rehash(tmp_path):
    folder = small_pack(tmp_path / "p")
    verify_pack(folder)
    path = folder / "val-X.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    open_pack(folder)  # headers and sizes are fine: open does not read the data
    with pytest.raises(DataError, match="the val split's files do not match their SHA-256"):
        verify_pack(folder)


def test_missing_split_is_named(tmp_path):
    X, y = pixels(4)
    write_pack(tmp_path / "p", "t", {"train": (X, y)}, NAMES, None, "h")
    with pytest.raises(DataError, match="has no 'test' split; it has train"):
        open_pack(tmp_path / "p").split("test")


def test_row_writer_fills_rows_in_any_order_and_resumes(tmp_path):
    path = tmp_path / "X.npy"
    X = np.arange(40, dtype=np.uint8).reshape(10, 4)
    with RowWriter(path, 10, 4, "uint8") as writer:
        writer.write(6, X[6:])
        writer.write(0, X[:3])
    with RowWriter(path, 10, 4, "uint8") as writer:  # same shape: rows kept
        np.testing.assert_array_equal(writer.read(0, 3), X[:3])
        writer.write(3, X[3:6])
    np.testing.assert_array_equal(np.load(path), X)
    with RowWriter(path, 10, 4, "uint8") as writer:
        writer.shrink(7)
    np.testing.assert_array_equal(np.load(path), X[:7])
    with RowWriter(path, 10, 4, "uint8"):  # a different shape starts again
        pass
    np.testing.assert_array_equal(np.load(path), np.zeros((10, 4), np.uint8))


def test_row_writer_refuses_rows_outside_the_file(tmp_path):
    with RowWriter(tmp_path / "X.npy", 3, 2, "float32") as writer:
        with pytest.raises(ValueError, match="outside"):
            writer.write(2, np.zeros((2, 2)))
        with pytest.raises(ValueError, match="expected"):
            writer.write(0, np.zeros((1, 3)))


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(0, 10**12),
    features=st.integers(1, 10**6),
    fewer=st.integers(0, 10**12),
    dtype=st.sampled_from(["uint8", "float32", "int64"]),
)
def test_npy_header_is_read_by_numpy_and_its_length_does_not_depend_on_the_rows(
    rows, features, fewer, dtype
):
    import io

    header = npy_header((rows, features), np.dtype(dtype))
    assert len(header) % 64 == 0
    shrunk = npy_header((min(fewer, rows), features), np.dtype(dtype))
    assert len(shrunk) == len(header)
    for data, count in ((header, rows), (shrunk, min(fewer, rows))):
        handle = io.BytesIO(data)
        assert np.lib.format.read_magic(handle) == (1, 0)
        shape, fortran, found = np.lib.format.read_array_header_1_0(handle)
        assert (shape, fortran, found) == ((count, features), False, np.dtype(dtype))
        assert handle.tell() == len(header)
