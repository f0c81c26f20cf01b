"""IDX files (MNIST's format) and the MNIST / Fashion-MNIST loaders.

An IDX file is a 4-byte magic number -- two zero bytes, a type code (0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions -- then each
dimension as a big-endian uint32, then the values, big-endian, row-major. Files may be gzipped
(detected from their first bytes, whatever the name says).

The loaders need ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``) in one of:
``<data folder>/<name>``, the data folder itself, torchvision's ``<data folder>/MNIST/raw`` (or
``FashionMNIST/raw``), and system folders such as Debian's ``/usr/share/datasets/fashion-mnist``.
As in CS231n, validation is the last ``num_val`` (1,000) training images.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from slopelab.data import locations
from slopelab.data.dataset import Dataset, check_size, make_dataset, tail_split, take_first
from slopelab.data.errors import DataError, option

IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DIGIT_NAMES = tuple(str(digit) for digit in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CLASS_NAMES = {"mnist": DIGIT_NAMES, "fashion-mnist": FASHION_NAMES}
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
DEFAULT_NUM_VAL = 1000


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not), in native byte order.

    Every problem -- not gzip, truncated, wrong magic number, unknown type code, a size that does
    not match the header -- raises a ``DataError`` naming the file.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(
            f"{path} is not an IDX file: it starts with 0x{raw[:4].hex() or '(nothing)'}, "
            "expected 0x0000 then a type code (08 uint8 ... 0E float64) and the number of "
            "dimensions; check the file name or download it again"
        )
    if raw[2] not in IDX_TYPES:
        raise DataError(
            f"{path} has unknown IDX type code 0x{raw[2]:02X} (expected 08, 09, 0B, 0C, 0D or "
            "0E); the file is corrupt: download it again"
        )
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path} is truncated: its IDX header is cut short; download it again")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        problem = "truncated" if len(raw) - header < expected else "corrupt (too long)"
        raise DataError(
            f"{path} is {problem}: its header says {'x'.join(map(str, shape))} {dtype.name} "
            f"values ({expected} bytes) but it holds {len(raw) - header} bytes of data; "
            "download it again"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False)


def load_idx_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
) -> Dataset:
    """Load ``"mnist"`` or ``"fashion-mnist"`` from IDX files, split the CS231n way."""
    num_train = check_size(num_train, "num_train")
    val_asked = num_val is not None
    num_val = check_size(num_val, "num_val") or DEFAULT_NUM_VAL
    num_test = check_size(num_test, "num_test")
    folder = find_idx_files(name, data_dir)
    files = {part: _existing(folder, stem) for part, stem in IDX_FILES.items()}
    class_names = CLASS_NAMES[name]
    train_full = _images_and_labels(files["train_images"], files["train_labels"], class_names)
    test_full = _images_and_labels(files["test_images"], files["test_labels"], class_names)
    if train_full[0].shape[1:] != test_full[0].shape[1:]:
        raise DataError(
            f"{name} in {folder}: training images are {train_full[0].shape[1:]} but test images "
            f"are {test_full[0].shape[1:]}; the files come from different datasets"
        )
    height, width = train_full[0].shape[1:]
    flat = [(images.reshape(len(images), -1), labels) for images, labels in (train_full, test_full)]
    train, val = tail_split(flat[0], num_train, num_val, f"{name} in {folder}", asked=val_asked)
    test = take_first(flat[1], num_test, "num_test", f"the {name} test set in {folder}")
    return make_dataset(
        name,
        train,
        val,
        test,
        class_names=class_names,
        image_shape=(height, width, 1),
        source=str(folder),
        default_preprocess="center",
    )


def find_idx_files(name: str, data_dir: str | Path | None = None) -> Path:
    """The first folder holding all four IDX files of ``name``; a ``DataError`` if none does."""
    root = locations.resolve_data_dir(data_dir)
    candidates = locations.search_dirs(name, data_dir)
    candidates.insert(2, root / TORCHVISION_FOLDERS[name] / "raw")
    partial = []
    for folder in candidates:
        missing = [stem for stem in IDX_FILES.values() if _existing(folder, stem) is None]
        if not missing:
            return folder
        if len(missing) < len(IDX_FILES):
            partial.append(f"{folder} lacks {', '.join(missing)}")
    found = f" ({'; '.join(partial)})" if partial else ""
    raise DataError(
        f"no {name} found in {locations.describe_dirs(candidates)}: expected "
        f"{', '.join(IDX_FILES.values())} (each may end in .gz){found}; run "
        f"`slopelab data download {name}` (download({name!r}) in Python) or pass "
        f"{option('data_dir')}"
    )


def _existing(folder: Path, stem: str) -> Path | None:
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            return path
    return None


def _images_and_labels(
    images_path: Path, labels_path: Path, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_path} should hold uint8 images (N, height, width); it holds "
            f"{images.dtype} values of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{labels_path} should hold uint8 labels (N,); it holds {labels.dtype} values of "
            f"shape {labels.shape}"
        )
    if len(labels) != len(images):
        raise DataError(
            f"{labels_path} has {len(labels)} labels but {images_path} has {len(images)} "
            "images; they must come from the same release"
        )
    bad = np.flatnonzero(labels >= len(class_names))
    if bad.size:
        raise DataError(
            f"{labels_path}: label {labels[bad[0]]} at position {bad[0]} is outside "
            f"[0, {len(class_names)}); the file is corrupt or not a label file"
        )
    return images, labels.astype(np.int64)


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read()
        return gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataError(
            f"{path} is a truncated or corrupt gzip file ({error}); download it again"
        ) from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
