"""Writing packs: :func:`write_pack` from arrays in memory, :func:`finish_pack` for any packer
once its ``.npy`` files are complete (``pack.json`` last, atomically), and the checks before
anything is written (free disk space, values that fit the dtype).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.dataset import SPLITS
from slopelab.data.errors import DataError
from slopelab.data.npyformat import npy_bytes
from slopelab.data.pack import (
    DTYPES,
    FORMAT,
    METADATA,
    NPY_HEADER_BYTES,
    VERSION,
    Pack,
    is_pack,
    open_pack,
    split_sha256,
)
from slopelab.runs import atomic_write_bytes, atomic_write_text


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
