"""Packed datasets: a folder of ``.npy`` files that can be larger than memory.

A pack is a folder::

    PACKED/
      pack.json      what it holds (class names, image shape, dtype, splits, checksums)
      train-X.npy    X (N, D) uint8 or float32, C order, channel-major image rows
      train-y.npy    y (N,) int64 labels in [0, C)
      val-X.npy ...  (val and test are optional)

Rows are in a seeded random order, so a contiguous block mixes the classes and a prefix is a
random subset. ``pack.json`` is written last and atomically: its presence means the pack is
complete. Each split records the SHA-256 of its X file followed by its y file.

:func:`open_pack` validates the metadata and every file's header, size and labels, but does not
rehash the data (gigabytes, on every open); :func:`verify_pack` does. ``X`` is opened as a
read-only memory map; ``y`` is read into memory (8 bytes a row).

:mod:`slopelab.data.pack_write` writes packs (:func:`~slopelab.data.pack_write.write_pack`
from arrays in memory); :class:`~slopelab.data.npyformat.RowWriter` writes the rows of one ``X``
file in any order into a preallocated file, for packers that never hold all of ``X``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.dataset import PREPROCESS_KINDS, SPLITS
from slopelab.data.errors import DataError
from slopelab.data.labels import MAX_CLASSES
from slopelab.data.npyformat import read_npy_header

FORMAT = "slopelab-pack"
VERSION = 1
METADATA = "pack.json"
DTYPES = ("uint8", "float32")
HASH_CHUNK = 1 << 22  # bytes read at a time when hashing
NPY_HEADER_BYTES = 128  # at most, for the 2-D and 1-D arrays of a pack


@dataclass(frozen=True)
class PackedSplit:
    """One split of a pack: ``X`` (read-only memory map), ``y`` (int64, in memory)."""

    name: str
    X_path: Path
    y_path: Path
    rows: int
    num_features: int
    dtype: np.dtype
    sha256: str
    y: np.ndarray = field(repr=False)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 (the X of the shape contract X (N, D))
        """``X (rows, num_features)`` as a read-only memory map (nothing is read until used)."""
        return np.load(self.X_path, mmap_mode="r", allow_pickle=False)


@dataclass(frozen=True)
class Pack:
    """The validated metadata of a pack and its splits (see the module docstring)."""

    path: Path
    name: str
    source: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int] | None
    dtype: np.dtype
    num_features: int
    default_preprocess: str
    seed: int | None
    skipped: int
    skipped_files: tuple[str, ...]
    parts: Mapping[str, PackedSplit] = field(repr=False)

    @property
    def splits(self) -> tuple[str, ...]:
        """The names of the splits present, in the order train, val, test."""
        return tuple(name for name in SPLITS if name in self.parts)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> PackedSplit:
        """The split called ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in self.parts:
            raise DataError(f"{self.path} has no {name!r} split; it has {', '.join(self.splits)}")
        return self.parts[name]


def is_pack(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a ``pack.json`` (a complete pack)."""
    try:
        return (Path(path).expanduser() / METADATA).is_file()
    except (OSError, ValueError):
        return False


def open_pack(path: str | Path) -> Pack:
    """Open the pack at ``path``: metadata, file headers and sizes, labels all checked.

    Any problem (missing or damaged file, truncated ``.npy``, wrong dtype or shape, labels out
    of range) is a one-line ``DataError`` naming the file. The data is not rehashed: see
    :func:`verify_pack`.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise DataError(f"{folder} {what}; pass the folder that `slopelab data pack` wrote")
    meta = _read_metadata(folder)
    class_names = tuple(meta["class_names"])
    dtype = np.dtype(meta["dtype"])
    num_features = meta["num_features"]
    image_shape = None if meta["image_shape"] is None else tuple(meta["image_shape"])
    if image_shape is not None and math.prod(image_shape) != num_features:
        raise DataError(
            f"{folder / METADATA}: image_shape {list(image_shape)} holds "
            f"{math.prod(image_shape)} values but num_features is {num_features}"
        )
    parts = {
        name: _open_split(folder, name, entry, num_features, dtype, len(class_names))
        for name, entry in meta["splits"].items()
    }
    return Pack(
        path=folder,
        name=meta["name"],
        source=meta["source"],
        class_names=class_names,
        image_shape=image_shape,
        dtype=dtype,
        num_features=num_features,
        default_preprocess=meta["default_preprocess"],
        seed=meta["seed"],
        skipped=meta["skipped"],
        skipped_files=tuple(meta.get("skipped_files", ())),
        parts=parts,
    )


def verify_pack(path: str | Path) -> Pack:
    """:func:`open_pack`, then rehash every split's files against ``pack.json``; a mismatch
    is a ``DataError`` naming the split (the pack changed or was damaged after packing)."""
    pack = open_pack(path)
    for name in pack.splits:
        part = pack.split(name)
        actual = split_sha256(part.X_path, part.y_path)
        if actual != part.sha256:
            raise DataError(
                f"{pack.path}: the {name} split's files do not match their SHA-256 in "
                f"{METADATA} (recorded {part.sha256[:12]}..., now {actual[:12]}...); the pack "
                "was changed or damaged: pack it again"
            )
    return pack


def split_sha256(X_path: Path, y_path: Path) -> str:
    """The hex SHA-256 of the X file's bytes followed by the y file's bytes."""
    digest = hashlib.sha256()
    for path in (X_path, y_path):
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(HASH_CHUNK):
                    digest.update(chunk)
        except OSError as error:
            raise DataError(f"cannot read {path} ({error.strerror or error})") from None
    return digest.hexdigest()


def _read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{folder} is not a pack (no {METADATA}); make one with `slopelab data pack`, or "
            "finish an interrupted pack by running the same command again"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path} cannot be read ({error}); pack the data again") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{path} is not a slopelab pack description (no format {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise DataError(
            f"{path} is pack format version {meta.get('version')!r}; this slopelab reads "
            f"version {VERSION}: pack the data again"
        )
    _check_fields(meta, path)
    return meta


def _check_fields(meta: dict[str, Any], path: Path) -> None:
    def bad(key: str, expected: str) -> DataError:
        return DataError(f"{path}: {key!r} must be {expected}; got {meta.get(key)!r}")

    names = meta.get("class_names")
    if not isinstance(names, list) or not 2 <= len(names) <= MAX_CLASSES:
        raise bad("class_names", f"a list of 2 to {MAX_CLASSES} names")
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise bad("class_names", "distinct strings")
    if meta.get("dtype") not in DTYPES:
        raise bad("dtype", "uint8 or float32")
    if not _whole(meta.get("num_features"), 1):
        raise bad("num_features", "a whole number >= 1")
    shape = meta.get("image_shape")
    if shape is not None and not (
        isinstance(shape, list) and len(shape) == 3 and all(_whole(size, 1) for size in shape)
    ):
        raise bad("image_shape", "[H, W, C] or null")
    if meta.get("default_preprocess") not in PREPROCESS_KINDS:
        raise bad("default_preprocess", "one of " + ", ".join(PREPROCESS_KINDS))
    if meta.get("seed") is not None and not _whole(meta.get("seed"), 0):
        raise bad("seed", "a whole number >= 0 or null")
    if not _whole(meta.get("skipped"), 0):
        raise bad("skipped", "a whole number >= 0")
    for key in ("name", "source"):
        if not isinstance(meta.get(key), str):
            raise bad(key, "a string")
    splits = meta.get("splits")
    if not isinstance(splits, dict) or "train" not in splits or set(splits) - set(SPLITS):
        raise bad("splits", "an object with 'train' and optionally 'val' and 'test'")


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _open_split(
    folder: Path, name: str, entry: Any, num_features: int, dtype: np.dtype, num_classes: int
) -> PackedSplit:
    where = f"{folder / METADATA} split {name!r}"
    if not isinstance(entry, dict) or not _whole(entry.get("rows"), 1):
        raise DataError(f"{where} must give 'rows' (a whole number >= 1), 'X', 'y', 'sha256'")
    files = [entry.get("X"), entry.get("y"), entry.get("sha256")]
    if not all(isinstance(value, str) for value in files):
        raise DataError(f"{where} must give the names of its X and y files and their sha256")
    if any(Path(file).name != file for file in files[:2]):
        raise DataError(f"{where}: file names must be plain names inside the pack folder")
    rows = entry["rows"]
    X_path, y_path = folder / entry["X"], folder / entry["y"]
    _check_npy(X_path, (rows, num_features), dtype)
    _check_npy(y_path, (rows,), np.dtype(np.int64))
    y = np.load(y_path, allow_pickle=False)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y.max() if y.max() >= num_classes else y.min())
        raise DataError(
            f"{y_path} contains label {bad} but the pack has {num_classes} classes; labels must "
            f"be in [0, {num_classes}): pack the data again"
        )
    return PackedSplit(name, X_path, y_path, rows, num_features, dtype, entry["sha256"], y)


def _check_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """``path`` is a C-order ``.npy`` of ``shape`` and ``dtype``, with all its bytes."""
    try:
        with open(path, "rb") as handle:
            found_shape, fortran, found_dtype = read_npy_header(handle)
            data_start = handle.tell()
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise DataError(f"{path} is missing; the pack is incomplete: pack the data again") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None
    except ValueError as error:
        raise DataError(f"{path} is not a .npy file ({error}); pack the data again") from None
    if found_dtype != dtype or fortran or tuple(found_shape) != shape:
        raise DataError(
            f"{path} holds {found_dtype} of shape {tuple(found_shape)}"
            f"{' (Fortran order)' if fortran else ''}; {METADATA} says {dtype} of shape {shape} "
            "in C order: pack the data again"
        )
    expected = data_start + math.prod(shape) * dtype.itemsize
    if size != expected:
        raise DataError(
            f"{path} has {size} bytes but a {dtype} array of shape {shape} needs {expected} "
            f"({'truncated' if size < expected else 'extra bytes'}): pack the data again"
        )
