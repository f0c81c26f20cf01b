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

:func:`write_pack` writes arrays in memory; :class:`~slopelab.data.npyformat.RowWriter` writes
the rows of one ``X`` file in any order into a preallocated file, for packers that never hold
all of ``X``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.dataset import PREPROCESS_KINDS, SPLITS
from slopelab.data.errors import DataError
from slopelab.data.labels import MAX_CLASSES
from slopelab.data.npyformat import npy_bytes, read_npy_header
from slopelab.runs import atomic_write_bytes, atomic_write_text

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


def write_pack(
    out: str | Path,
    name: str,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    image_shape: tuple[int, int, int] | None,
    source: str,
    *,
    default_preprocess: str = "standardize",
    seed: int | None = 0,
    dtype: str | None = None,
) -> Pack:
    """Write arrays in memory as a pack in folder ``out`` (created; must hold no pack yet).

    ``splits`` maps ``"train"`` (required), ``"val"``, ``"test"`` to ``(X (N, D), y (N,))``.
    With an integer ``seed``, the rows of each split are written in a random order drawn from
    it (``default_rng([seed, index of the split])``); with ``seed=None``, in the order given.
    ``dtype`` is ``"uint8"`` (values must be whole numbers in [0, 255]) or ``"float32"``;
    None picks uint8 when every value fits, else float32.
    """
    folder = Path(out).expanduser()
    if "train" not in splits:
        raise DataError("a pack needs a 'train' split")
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise DataError(f"unknown split {unknown[0]!r}; use train, val and test")
    dtype = dtype or smallest_dtype([X for X, _ in splits.values()])
    arrays = {}
    for index, split in enumerate(SPLITS):
        if split not in splits:
            continue
        X, y = _checked_split(split, *splits[split], dtype, len(class_names))
        if seed is not None:
            order = np.random.default_rng([seed, index]).permutation(len(y))
            X, y = X[order], y[order]
        arrays[split] = (X, y)
    _check_consistent(arrays, image_shape)
    row_bytes = arrays["train"][0].shape[1] * np.dtype(dtype).itemsize
    check_free_space(
        folder,
        sum(npy_file_bytes(len(y), row_bytes + 8) + NPY_HEADER_BYTES for _, y in arrays.values()),
    )
    make_pack_folder(folder)
    for split, (X, y) in arrays.items():
        atomic_write_bytes(folder / f"{split}-X.npy", npy_bytes(X))
        atomic_write_bytes(folder / f"{split}-y.npy", npy_bytes(y))
    return finish_pack(
        folder,
        name=name,
        source=source,
        class_names=class_names,
        image_shape=image_shape,
        dtype=dtype,
        num_features=int(arrays["train"][0].shape[1]),
        default_preprocess=default_preprocess,
        seed=seed,
        splits={split: len(y) for split, (_, y) in arrays.items()},
    )


def finish_pack(
    folder: Path,
    *,
    name: str,
    source: str,
    class_names: Sequence[str],
    image_shape: tuple[int, int, int] | None,
    dtype: str,
    num_features: int,
    default_preprocess: str,
    seed: int | None,
    splits: Mapping[str, int],
    skipped_files: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> Pack:
    """Hash the split files already in ``folder`` (``{split}-X.npy``, ``{split}-y.npy``; rows
    per split in ``splits``), write ``pack.json`` atomically, and open the result."""
    entries = {}
    for split in SPLITS:
        if split in splits:
            X_path, y_path = folder / f"{split}-X.npy", folder / f"{split}-y.npy"
            entries[split] = {
                "rows": int(splits[split]),
                "X": X_path.name,
                "y": y_path.name,
                "sha256": split_sha256(X_path, y_path),
            }
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "name": str(name),
        "source": str(source),
        "class_names": [str(class_name) for class_name in class_names],
        "image_shape": None if image_shape is None else [int(size) for size in image_shape],
        "dtype": str(dtype),
        "num_features": int(num_features),
        "default_preprocess": default_preprocess,
        "seed": seed,
        "skipped": len(skipped_files),
        "skipped_files": list(skipped_files),
        "splits": entries,
        **(extra or {}),
    }
    atomic_write_text(folder / METADATA, json.dumps(meta, indent=2) + "\n")
    return open_pack(folder)


def check_free_space(folder: Path, needed: int) -> None:
    """Refuse, before any file is written, a pack of ``needed`` bytes that the file system
    holding ``folder`` has no room for; the pack files already in ``folder`` count as room
    (they are replaced)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return  # no answer (an odd file system): the writes themselves will say
    if folder.is_dir():
        free += sum(
            path.stat().st_blocks * 512 for path in folder.glob("*-[Xy].npy") if path.is_file()
        )
    if needed > free:
        raise DataError(
            f"the pack needs {size_text(needed)} but {existing} has {size_text(free)} free; free "
            "some space, choose another --out, or pack fewer or smaller images"
        )


def size_text(num_bytes: int) -> str:
    """``num_bytes`` for people: ``"3.2 TB"``, ``"147 MB"``, ``"12 KB"``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if num_bytes >= scale:
            value = num_bytes / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{num_bytes} bytes"


def npy_file_bytes(rows: int, row_bytes: int) -> int:
    """The size of an ``.npy`` file of ``rows`` rows of ``row_bytes`` bytes (header included)."""
    return NPY_HEADER_BYTES + rows * row_bytes


def make_pack_folder(folder: Path) -> None:
    """Create ``folder`` for a new pack; refuse one that already holds a pack."""
    if is_pack(folder):
        raise DataError(
            f"{folder} already holds a pack; choose another --out, or pass --overwrite to "
            "replace it"
        )
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file; --out must be a folder (new, or empty)")
    folder.mkdir(parents=True, exist_ok=True)


def smallest_dtype(arrays: Sequence[np.ndarray]) -> str:
    """``"uint8"`` when every value is a whole number in [0, 255] (pixels), else float32."""
    for X in arrays:
        X = np.asarray(X)
        if X.size and not (
            np.all(np.isfinite(X)) and X.min() >= 0 and X.max() <= 255 and np.all(np.round(X) == X)
        ):
            return "float32"
    return "uint8"


def _checked_split(
    split: str, X: np.ndarray, y: np.ndarray, dtype: str, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if dtype not in DTYPES:
        raise DataError(f"unknown pack dtype {dtype!r}; use uint8 or float32")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise DataError(f"X_{split} must be a non-empty 2-D array (N, D); got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise DataError(f"y_{split} must have shape ({X.shape[0]},), one label per row of X")
    if dtype == "uint8" and smallest_dtype([X]) != "uint8":
        raise DataError(f"X_{split} has values that are not whole numbers in [0, 255]; use float32")
    if dtype == "float32" and not np.all(np.isfinite(X.astype(np.float32))):
        raise DataError(f"X_{split} contains NaN or infinity (or values beyond float32)")
    if not np.issubdtype(y.dtype, np.integer) or (
        y.size and (y.min() < 0 or y.max() >= num_classes)
    ):
        raise DataError(
            f"y_{split} must hold whole-number labels in [0, {num_classes}) (one per class name)"
        )
    return np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(y, dtype=np.int64)


def _check_consistent(arrays: Mapping[str, tuple[np.ndarray, np.ndarray]], image_shape) -> None:
    widths = {split: X.shape[1] for split, (X, _) in arrays.items()}
    if len(set(widths.values())) != 1:
        raise DataError(f"the splits have different numbers of features {widths}")
    width = widths["train"]
    if image_shape is not None and math.prod(image_shape) != width:
        raise DataError(f"image shape {tuple(image_shape)} does not hold {width} features")


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
