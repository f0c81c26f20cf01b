"""``slopelab data pack``: turn an image folder, or any dataset slopelab reads, into a pack.

An image folder (:mod:`slopelab.data.imagefolder`) is decoded in chunks of ``chunk_rows``
images, in worker processes (:mod:`slopelab.data.decoding`), straight into preallocated
``.npy`` files (:class:`~slopelab.data.npyformat.RowWriter`), so ``X`` never has to fit in
memory. After each step, ``.pack-progress.json`` in the output folder is replaced atomically
(:mod:`slopelab.data.pack_progress`): it records the options, the chunks done and the files
that could not be read. Run the same command again
after an interruption (Ctrl-C, a kill, a crash) and it continues after the last recorded
chunk; other options are refused unless ``overwrite``. A file that cannot be decoded leaves a
hole, filled at the end by a row from the end of the split (the order stays a seeded random
one), and is listed in ``pack.json`` with the reason.

The order: the training images are permuted with ``default_rng(seed)``; without a ``val/``
folder, once they are decoded, the last ``num_val`` of those that could be read (default: 10%
of them, rounded up, at most 10,000) are moved to the validation split. ``val/`` and ``test/``
are permuted with ``default_rng([seed, 1])`` and ``default_rng([seed, 2])``. A class none of
whose training images can be read is refused.

Before any file is created, the options are bounded (``size``, ``chunk_rows``, ``jobs``: see
their constants for why) and the pack's size is checked against the free disk space.

A dataset name or a ``.npz``/``.csv`` file is loaded with :func:`load_dataset` (its usual
train/val/test split) and written with :func:`~slopelab.data.pack_write.write_pack`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.dataset import check_seed, check_size
from slopelab.data.decoding import Task, decoded
from slopelab.data.errors import DataError, option
from slopelab.data.imagefolder import MODES, ImageFolder, scan_image_folder
from slopelab.data.labels import listing
from slopelab.data.npyformat import RowWriter, npy_bytes
from slopelab.data.pack import NPY_HEADER_BYTES, Pack, is_pack
from slopelab.data.pack_progress import (
    PACK_FILES,
    PROGRESS,
    clear_pack_files,
    save_state,
    split_writer,
    start_progress,
)
from slopelab.data.pack_write import check_free_space, finish_pack, size_text, write_pack
from slopelab.runs import atomic_write_bytes

CHUNK_ROWS = 512  # images decoded per task; progress is recorded after each chunk
DEFAULT_SIZE = 32  # pixels a side, as the downsampled-ImageNet benchmarks use
# Rows are the features of a linear classifier, and every decoding process holds a chunk of
# them: 256 x 256 RGB is 196,608 bytes a row (100 MB a chunk of 512), and a weight matrix of
# 196,608 x 1,000 float64 is already 1.6 GB. Downsampled ImageNet uses 8 to 64.
MAX_SIZE = 256
JOBS_PER_CORE = 4  # decoding processes waiting on a slow disk can outnumber the cores a little
MAX_CHUNK_BYTES = 256_000_000  # a chunk of decoded rows held by one decoding process
VAL_FRACTION, MAX_DEFAULT_VAL = 0.1, 10_000
MAX_LISTED = 1000  # skipped files named in pack.json (the count is always exact)
COPY_ROWS = 1024  # rows copied at a time when the validation rows are carved off

Progress = Callable[[int, int], None]  # (images done, images in all)


def pack_image_folder(
    source: str | Path,
    out: str | Path,
    *,
    size: int = DEFAULT_SIZE,
    channels: int = 3,
    seed: int = 0,
    num_val: int | None = None,
    jobs: int | None = None,
    overwrite: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Progress | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Pack:
    """Pack the image folder ``source`` into the folder ``out`` (see the module docstring);
    ``on_progress(done, total)`` is called after each chunk, ``on_note(text)`` with what the
    caller should be told (a class with no training rows)."""
    _check_options(size, channels, seed, jobs, chunk_rows)
    folder = scan_image_folder(source)
    out = Path(out).expanduser()
    if out.resolve().is_relative_to(folder.root.resolve()):
        raise DataError(
            f"--out {out} is inside the source folder {folder.root}, where it would be read as "
            "a class of images; choose a folder outside it"
        )
    plan = _plan(folder, seed, num_val)
    options = {
        "source": str(folder.root.resolve()),
        "size": size,
        "channels": channels,
        "seed": seed,
        "num_val": num_val,
        "chunk_rows": chunk_rows,
        "files": _files_digest(plan),
    }
    num_features = size * size * channels
    check_free_space(out, _pack_bytes(plan, num_features, num_val))
    state = start_progress(out, options, overwrite)
    writers = {}
    try:
        for split, (files, _) in plan.items():
            writers[split] = split_writer(out, split, len(files), num_features, state)
        tasks = _tasks(folder.root, plan, state, size, channels, chunk_rows)
        _decode_into(writers, tasks, jobs, out, state, plan, on_progress)
        labels = {
            split: _close_holes(writers[split], plan[split][1], split, out, state) for split in plan
        }
        _check_every_class_read(folder, plan, labels["train"], state)
        if "val" not in plan:
            found = len(plan["train"][0])
            _check_val_count(len(labels["train"]), found, num_val, folder.root)
            labels["train"], labels["val"] = _carve_val(
                writers["train"], labels["train"], num_val, out, state
            )
    finally:
        for writer in writers.values():
            writer.close()
    for split, y in labels.items():
        atomic_write_bytes(out / f"{split}-y.npy", npy_bytes(y))
    _note_classes_without_training_rows(folder, labels, on_note)
    skipped = _skipped(folder, plan, state)
    pack = finish_pack(
        out,
        name=folder.root.resolve().name,
        source=options["source"],
        class_names=folder.class_names,
        image_shape=(size, size, channels),
        dtype="uint8",
        num_features=num_features,
        default_preprocess="standardize",
        seed=seed,
        splits={split: len(y) for split, y in labels.items()},
        skipped_files=skipped[:MAX_LISTED],
        extra={"skipped": len(skipped), "resize": RESIZE},
    )
    (out / PROGRESS).unlink(missing_ok=True)
    return pack


def _check_options(size: int, channels: int, seed: int, jobs: int | None, chunk_rows: int) -> None:
    check_seed(seed)
    for name, value in (("size", size), ("chunk_rows", chunk_rows), ("jobs", jobs or 1)):
        check_size(value, name)
    if channels not in MODES:
        raise DataError(f"channels must be 1 (grey) or 3 (RGB); got {channels!r}")
    cores = os.cpu_count() or 1
    if jobs is not None and jobs > JOBS_PER_CORE * cores:
        raise DataError(
            f"{option('jobs', jobs)} starts {jobs} decoding processes (each a Python with numpy "
            f"and Pillow, about 40 MB) on {cores} cores; at most {JOBS_PER_CORE * cores} "
            f"({JOBS_PER_CORE} a core)"
        )
    if size > MAX_SIZE:
        raise DataError(
            f"{option('size', size)} is too large: at most {MAX_SIZE} pixels a side, since a "
            f"row holds size x size x channels bytes, each decoding process holds {chunk_rows} "
            "of them, and a linear classifier has a weight per byte per class (downsampled "
            "ImageNet uses 8 to 64)"
        )
    row_bytes = size * size * channels
    largest = MAX_CHUNK_BYTES // row_bytes
    if chunk_rows > largest:
        raise DataError(
            f"--chunk {chunk_rows} (chunk_rows={chunk_rows} in Python): rows of {row_bytes:,} "
            f"bytes is {size_text(chunk_rows * row_bytes)} for each decoding process to hold; "
            f"at most {size_text(MAX_CHUNK_BYTES)}: pass --chunk {largest} or less"
        )


def _tasks(
    root: Path, plan: dict, state: dict, size: int, channels: int, chunk_rows: int
) -> list[Task]:
    """The chunks not yet recorded as done, in order."""
    tasks = []
    for split, (files, _) in plan.items():
        done = state["done"].get(split, 0)
        for start in range(done * chunk_rows, len(files), chunk_rows):
            paths = tuple(str(root / name) for name in files[start : start + chunk_rows])
            tasks.append(Task(split, start, paths, size, channels))
    return tasks


def _decode_into(
    writers: dict[str, RowWriter],
    tasks: list[Task],
    jobs: int | None,
    out: Path,
    state: dict[str, Any],
    plan: dict,
    on_progress: Progress | None,
) -> None:
    """Decode ``tasks`` and write their rows; after each, the rows reach the disk before the
    progress file says the chunk is done."""
    total = sum(len(files) for files, _ in plan.values())
    done_rows = total - sum(len(task.paths) for task in tasks)
    if on_progress is not None:
        on_progress(done_rows, total)
    with closing(decoded(tasks, jobs)) as results:  # an interruption stops the workers now
        for task, rows, failures in results:
            writers[task.split].write(task.start, rows)
            writers[task.split].sync()
            for index, reason in failures:
                state["failed"].setdefault(task.split, {})[str(task.start + index)] = reason
            state["done"][task.split] = state["done"].get(task.split, 0) + 1
            save_state(out, state)
            done_rows += len(task.paths)
            if on_progress is not None:
                on_progress(done_rows, total)


def _skipped(folder: ImageFolder, plan: dict, state: dict[str, Any]) -> list[str]:
    """``"path: reason"`` for every file left out: by the scan, then those that failed."""
    skipped = [f"{name}: {reason}" for name, reason in folder.left_out]
    for split, failed in state["failed"].items():
        files = plan[split][0]
        for slot in sorted(failed, key=int):
            skipped.append(f"{files[int(slot)]}: {failed[slot]}")
    return skipped


RESIZE = "centre square crop, box-resampled to size x size (shorter side to size)"


def _plan(folder: ImageFolder, seed: int, num_val: int | None) -> dict[str, tuple[tuple, Any]]:
    """``{split: (files, labels)}`` of the split folders, in the order the rows are written.
    Without a val/ folder, the validation rows are carved from the training rows once they
    are decoded (:func:`_carve_val`): how many depends on how many can be read."""
    plan = {}
    for index, split in enumerate(PACK_FILES):
        if split in folder.splits:
            part = folder.splits[split]
            rng = np.random.default_rng(seed if split == "train" else [seed, index])
            order = rng.permutation(len(part.files))
            plan[split] = (tuple(part.files[i] for i in order), part.labels[order])
    if "val" in plan and num_val is not None:
        raise DataError(
            f"{option('num_val', num_val)} carves the validation split from the training "
            f"images, but {folder.root} has a val/ folder, which is the validation split; "
            "drop --num-val"
        )
    if "val" not in plan:
        _check_val_count(len(plan["train"][0]), len(plan["train"][0]), num_val, folder.root)
    return plan


def _pack_bytes(plan: dict, num_features: int, num_val: int | None) -> int:
    """The bytes a pack of ``plan`` takes at most, while the validation rows are carved off
    (then both copies exist) included."""
    rows = sum(len(files) for files, _ in plan.values())
    carved = 0 if "val" in plan else _val_count(len(plan["train"][0]), num_val)
    header_bytes = 2 * len(PACK_FILES) * NPY_HEADER_BYTES
    return rows * (num_features + 8) + carved * (num_features + 8) + header_bytes


def _val_count(readable: int, num_val: int | None) -> int:
    """The validation rows carved from ``readable`` training rows."""
    return num_val or min(math.ceil(VAL_FRACTION * readable), MAX_DEFAULT_VAL)


def _check_val_count(readable: int, found: int, num_val: int | None, where: object) -> None:
    count = _val_count(readable, num_val)
    if count < readable:
        return
    images = (
        f"{found} training images"
        if readable == found
        else (f"{readable} readable training images (of {found})")
    )
    raise DataError(
        f"{where} has {images}: too few for "
        f"{option('num_val', count) if num_val else f'{count} validation images'} plus "
        "at least 1 for training; pass a smaller --num-val, or add a val/ folder"
    )


def _carve_val(
    train: RowWriter, y: np.ndarray, num_val: int | None, out: Path, state: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Move the last training rows (of those read) to ``val-X.npy``; return the training and
    validation labels. Recorded in the progress state before the training file is cut, so an
    interruption at any point redoes or skips the copy, never loses rows."""
    readable = len(y)
    count = _val_count(readable, num_val)
    cut = readable - count
    if "train" not in state["carved"]:
        with RowWriter(out / "val-X.npy", count, train.num_features, "uint8") as val:
            for start in range(0, count, COPY_ROWS):
                block = min(COPY_ROWS, count - start)
                val.write(start, train.read(cut + start, block))
            val.sync()
        state["carved"]["train"] = count
        save_state(out, state)
    if train.rows != cut:
        train.shrink(cut)
        train.sync()
    return y[:cut], y[cut:]


def _check_every_class_read(
    folder: ImageFolder, plan: dict, y: np.ndarray, state: dict[str, Any]
) -> None:
    """Refuse a class none of whose training images could be read: no row would teach it."""
    counts = np.bincount(y, minlength=len(folder.class_names))
    unread = [label for label, count in enumerate(counts) if count == 0]
    if not unread:
        return
    files, labels = plan["train"]
    failed = state["failed"]["train"]
    slot = next(int(s) for s in sorted(failed, key=int) if labels[int(s)] == unread[0])
    names = listing([folder.class_names[label] for label in unread])
    raise DataError(
        f"no training image of class {names} could be read (the first: {files[slot]}: "
        f"{failed[str(slot)]}); a classifier cannot learn a class it never sees: fix or "
        "remove those files, then pack again with --overwrite"
    )


def _note_classes_without_training_rows(
    folder: ImageFolder, labels: dict[str, np.ndarray], on_note: Callable[[str], None] | None
) -> None:
    counts = np.bincount(labels["train"], minlength=len(folder.class_names))
    empty = [folder.class_names[label] for label, count in enumerate(counts) if count == 0]
    if empty and on_note is not None:
        on_note(
            f"class {listing(empty)} has no training rows: its few images all went to the "
            "validation split; pass a smaller --num-val or another --seed, or add images"
        )


def _files_digest(plan: dict[str, tuple[tuple, Any]]) -> str:
    digest = hashlib.sha256()
    for split, (files, labels) in plan.items():
        for name, label in zip(files, labels.tolist(), strict=True):
            digest.update(f"{split}\t{name}\t{label}\n".encode())
    return digest.hexdigest()


def _close_holes(
    writer: RowWriter, labels: np.ndarray, split: str, out: Path, state: dict[str, Any]
) -> np.ndarray:
    """Move rows from the end of the split into the rows of files that failed and cut the
    file to the rows kept; return their labels.

    Donor rows lie past the kept rows and are never written, so redoing the moves after an
    interruption gives the same result."""
    failed = sorted(int(slot) for slot in state["failed"].get(split, {}))
    rows = len(labels)
    kept = rows - len(failed)
    if kept == 0:
        first = state["failed"][split][str(failed[0])]
        raise DataError(
            f"none of the {rows} {split} images could be read (the first: {first}); check that "
            "they are image files Pillow can decode"
        )
    missing = set(failed)
    holes = [slot for slot in failed if slot < kept]
    donors = [slot for slot in range(kept, rows) if slot not in missing]
    if split not in state["filled"]:
        for hole, donor in zip(holes, donors, strict=True):
            writer.write(hole, writer.read(donor, 1))
        writer.sync()
        state["filled"][split] = kept
        save_state(out, state)
    y = labels.copy()
    y[holes] = y[donors]
    if writer.rows == rows and rows != kept:
        writer.shrink(kept)
        writer.sync()
    return y[:kept]


def pack_dataset(
    source: str,
    out: str | Path,
    *,
    size: int | None = None,
    channels: int | None = None,
    seed: int = 0,
    num_val: int | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
) -> Pack:
    """Pack a dataset name or a ``.npz``/``.csv`` file as :func:`load_dataset` splits it
    (``seed`` and ``num_val`` as there). Its rows are packed as they are, so ``size`` and
    ``channels`` must be None or what its images are: anything else is refused, since the
    rows would not be what was asked for."""
    from slopelab.data.registry import load_dataset

    dataset = load_dataset(source, data_dir=data_dir, num_val=num_val, seed=seed)
    if dataset.is_sparse:
        raise DataError(
            f"{source} holds sparse rows (scipy CSR, {dataset.num_features} features); a pack "
            "stores dense rows, which would take N x D floats: train from the file itself"
        )
    shape = dataset.image_shape
    what = "x".join(map(str, shape)) + " images" if shape else "not images"
    for name, value, matches, verb in (
        ("size", size, shape is not None and shape[:2] == (size, size), "resizes"),
        ("channels", channels, shape is not None and shape[2] == channels, "converts"),
    ):
        if value is not None and not matches:
            raise DataError(
                f"{option(name, value)} {verb} the images of a folder; the rows of "
                f"{dataset.name} are {what} and are packed as they are: drop --{name}"
            )
    out = Path(out).expanduser()
    _make_room(out, overwrite)
    splits = {
        split: (getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}"))
        for split in PACK_FILES
    }
    return write_pack(
        out,
        dataset.name,
        splits,
        dataset.class_names,
        shape,
        dataset.source,
        default_preprocess=dataset.default_preprocess,
        seed=seed,
    )


def _make_room(out: Path, overwrite: bool) -> None:
    """``out`` ready for a new pack: absent, empty, or (``overwrite``) a pack cleared."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; --out must be a folder (new, or empty)")
    if not out.is_dir() or not any(out.iterdir()):
        return
    ours = is_pack(out) or (out / PROGRESS).exists()
    if ours and not overwrite:
        raise DataError(
            f"{out} already holds a pack (or an interrupted one); choose another --out, or pass "
            "--overwrite to replace it"
        )
    clear_pack_files(out)


def is_folder_source(source: str) -> bool:
    """Whether ``slopelab data pack SOURCE`` reads an image folder rather than calling
    :func:`load_dataset`: anything but a dataset name, a ``.npz``/``.csv`` file or a pack."""
    from slopelab.data.registry import ALIASES, DATASETS, is_file_name

    base = source.strip().partition(":")[0].lower()
    if ALIASES.get(base, base) in DATASETS or is_file_name(source):
        return False
    return not is_pack(source)
