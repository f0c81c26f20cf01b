"""IDX files and the MNIST / Fashion-MNIST loaders, on files written here in the real format."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slopelab.data import DataError, load_dataset, locations, row_to_image
from slopelab.data.idx import FASHION_NAMES, IDX_TYPES, find_idx_files, read_idx

CODES = {f"{dtype.kind}{dtype.itemsize}": code for code, dtype in IDX_TYPES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic, big-endian dimensions, big-endian values."""
    code = CODES[f"{array.dtype.kind}{array.dtype.itemsize}"]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_mnist(folder: Path, compress: bool = True, shape=(4, 5), seed: int = 0):
    """Four IDX files with the distributed names (30 train, 10 test); returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, *shape), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 30).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, *shape), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array, compress)
    return arrays


@settings(max_examples=60, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(["u1", "i1", ">i2", ">i4", ">f4", ">f8"]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    ),
    compress=st.booleans(),
)
def test_read_idx_round_trips_every_type(tmp_path_factory, array, compress):
    path = write_idx(tmp_path_factory.mktemp("idx") / "values-idx", array, compress)
    loaded = read_idx(path)
    assert loaded.dtype.isnative and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


HEADER = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 4)

BAD_FILES = {
    "empty": (b"", r"is not an IDX file: it starts with 0x\(nothing\)"),
    "wrong magic": (b"\x01\x02\x08\x01" + bytes(8), r"is not an IDX file: it starts with 0x0102"),
    "text": (b"hello world", r"is not an IDX file: it starts with 0x68656c6c"),
    "unknown type": (bytes([0, 0, 0x07, 1]) + bytes(8), r"has unknown IDX type code 0x07 \("),
    "no dimensions": (bytes([0, 0, 0x08, 0]), r"is truncated: its IDX header is cut short"),
    "short header": (bytes([0, 0, 0x08, 3, 0, 0]), r"is truncated: its IDX header is cut short"),
    "truncated data": (
        HEADER + bytes(3),
        r"is truncated: its header says 4 uint8 values \(4 bytes\) but it holds 3 bytes of data",
    ),
    "too long": (HEADER + bytes(5), r"is corrupt \(too long\): its header says 4 uint8 values"),
}


@pytest.mark.parametrize("case", BAD_FILES)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_idx_files_name_the_file_and_the_problem(tmp_path, case, compress):
    content, message = BAD_FILES[case]
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DataError, match=f"^{path}" + r"\S* " + message):
        read_idx(path)


@pytest.mark.parametrize("cut", [10, -6])
def test_truncated_gzip_is_reported(tmp_path, cut):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(HEADER + bytes(4) * 100)[:cut])
    message = r"train-images-idx3-ubyte\.gz is a truncated or corrupt gzip file"
    with pytest.raises(DataError, match=message):
        read_idx(path)


@pytest.mark.parametrize(
    ("name", "class_names"), [("mnist", tuple("0123456789")), ("fashion-mnist", FASHION_NAMES)]
)
@pytest.mark.parametrize("compress", [False, True])
def test_loaders_round_trip_pixels_and_labels(tmp_path, name, class_names, compress):
    arrays = write_mnist(tmp_path / name, compress=compress)
    dataset = load_dataset(name, data_dir=tmp_path, num_val=5)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    np.testing.assert_array_equal(dataset.X_train, images[:25].reshape(25, -1))
    np.testing.assert_array_equal(dataset.y_train, labels[:25])
    np.testing.assert_array_equal(dataset.X_val, images[25:].reshape(5, -1))  # the LAST images
    np.testing.assert_array_equal(dataset.y_val, labels[25:])
    np.testing.assert_array_equal(dataset.X_test, arrays["t10k-images-idx3-ubyte"].reshape(10, -1))
    np.testing.assert_array_equal(dataset.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert dataset.X_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    assert dataset.class_names == class_names
    assert dataset.image_shape == (4, 5, 1)
    assert dataset.default_preprocess == "center"
    first_test_image = row_to_image(dataset.X_test[0], (4, 5, 1))[:, :, 0]
    np.testing.assert_array_equal(first_test_image, arrays["t10k-images-idx3-ubyte"][0])
    summary = f"{name}: 25 train / 5 val / 10 test, 20 features (4x5x1), 10 classes"
    assert dataset.summary() == summary


def test_sizes_are_options(tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    dataset = load_dataset("mnist", data_dir=tmp_path, num_train=8, num_val=3, num_test=4)
    images = arrays["train-images-idx3-ubyte"].reshape(30, -1)
    np.testing.assert_array_equal(dataset.X_train, images[:8])
    np.testing.assert_array_equal(dataset.X_val, images[-3:])
    assert len(dataset.y_test) == 4
    with pytest.raises(DataError, match=r"the training set of mnist in .* has 30 examples: too "
                       r"few for 1000 validation examples \(the default\)"):  # fmt: skip
        load_dataset("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("where", ["fashion-mnist", ".", "FashionMNIST/raw"])
def test_found_in_the_named_folder_the_data_folder_or_torchvision_layout(
    tmp_path, where, monkeypatch
):
    monkeypatch.setitem(locations.SYSTEM_DIRS, "fashion-mnist", ())
    write_mnist(tmp_path / where)
    assert find_idx_files("fashion-mnist", tmp_path) == (tmp_path / where).absolute()


def test_debian_package_is_found_automatically(tmp_path, monkeypatch):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    arrays = write_mnist(debian)
    monkeypatch.setitem(locations.SYSTEM_DIRS, "fashion-mnist", (debian,))
    empty_data_dir = tmp_path / "empty"
    dataset = load_dataset("fashion-mnist", data_dir=empty_data_dir, num_val=5)
    assert dataset.source == str(debian)
    np.testing.assert_array_equal(dataset.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_data_folder_beats_the_system_folder(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    write_mnist(debian, seed=1)
    mine = write_mnist(tmp_path / "data" / "fashion-mnist", seed=2)
    monkeypatch.setitem(locations.SYSTEM_DIRS, "fashion-mnist", (debian,))
    dataset = load_dataset("fashion-mnist", data_dir=tmp_path / "data", num_val=5)
    np.testing.assert_array_equal(dataset.y_test, mine["t10k-labels-idx1-ubyte"])


def test_missing_files_are_listed_with_what_was_found(tmp_path, monkeypatch):
    monkeypatch.setitem(locations.SYSTEM_DIRS, "mnist", ())
    write_mnist(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as raised:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(raised.value)
    where = f"{tmp_path}/mnist, {tmp_path} or {tmp_path}/MNIST/raw"
    assert message.startswith(f"no mnist found in {where}: expected ")
    assert "expected train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images" in message
    assert f"({tmp_path}/mnist lacks t10k-labels-idx1-ubyte)" in message
    assert message.endswith(
        "run `slopelab data download mnist` (download('mnist') in Python) or pass --data-dir "
        "(data_dir in Python)"
    )


def _replace(folder: Path, stem: str, array: np.ndarray) -> None:
    (folder / f"{stem}.gz").unlink()
    write_idx(folder / stem, array)  # raw beside gzipped files: both are accepted


@pytest.mark.parametrize(
    ("stem", "array", "message"),
    [
        ("train-labels-idx1-ubyte", np.array([0] * 29 + [10], np.uint8),
         r"train-labels-idx1-ubyte: label 10 at position 29 is outside \[0, 10\)"),
        ("train-labels-idx1-ubyte", np.zeros(29, np.uint8),
         r"train-labels-idx1-ubyte has 29 labels but .*train-images-idx3-ubyte.gz has 30 images"),
        ("t10k-images-idx3-ubyte", np.zeros((10, 20), np.uint8),
         r"t10k-images-idx3-ubyte should hold uint8 images \(N, height, width\); it holds uint8 "
         r"values of shape \(10, 20\)"),
        ("t10k-labels-idx1-ubyte", np.zeros(10, ">i4"), r"should hold uint8 labels \(N,\); it "
         r"holds int32"),
        ("t10k-images-idx3-ubyte", np.zeros((10, 5, 4), np.uint8),
         r"training images are \(4, 5\) but test images are \(5, 4\)"),
    ],
)  # fmt: skip
def test_inconsistent_files_are_rejected(tmp_path, stem, array, message):
    write_mnist(tmp_path / "mnist")
    _replace(tmp_path / "mnist", stem, array)
    with pytest.raises(DataError, match=message):
        load_dataset("mnist", data_dir=tmp_path, num_val=5)
