"""``slopelab data``: list the datasets, show what is on disk, download from official URLs, and
pack image folders or datasets into packs (:mod:`slopelab.data.packing`)."""

from __future__ import annotations

import argparse
import time

from slopelab.commands import summary
from slopelab.commands.arguments import add_common_arguments, positive_int
from slopelab.commands.console import Console, console_for
from slopelab.data import DATASETS, download, find_dataset, load_dataset, resolve_data_dir
from slopelab.data.dataset import Dataset
from slopelab.data.errors import DataError
from slopelab.data.pack import Pack, is_pack, open_pack, verify_pack
from slopelab.errors import InterruptedRun

SKIPPED_SHOWN = 3  # skipped files named on the terminal (pack.json lists them)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help=summary("data"),
        description="Datasets live in --data-dir, else $SLOPELAB_DATA, else the user cache "
        "folder. digits ships with scikit-learn; Debian's dataset-fashion-mnist package is "
        "found automatically.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="known datasets and whether they are on disk")
    listing.add_argument("--data-dir", metavar="DIR")
    add_common_arguments(listing, runs=False, seed=False, threads=False)
    listing.set_defaults(handler=run_list)

    info = actions.add_parser("info", help="load a dataset and describe its splits")
    info.add_argument("name", metavar="NAME|FILE")
    info.add_argument("--data-dir", metavar="DIR")
    info.add_argument(
        "--verify",
        action="store_true",
        help="for a pack: rehash its files against the SHA-256 in pack.json",
    )
    add_common_arguments(info, runs=False, seed=False, threads=False)
    info.set_defaults(handler=run_info)

    add_pack_parser(actions)

    fetch = actions.add_parser(
        "download", help="download from the official URL (SHA-256 verified, atomic, retried)"
    )
    fetch.add_argument("name", choices=[n for n, d in DATASETS.items() if d.urls])
    fetch.add_argument("--data-dir", metavar="DIR")
    add_common_arguments(fetch, runs=False, seed=False, threads=False)
    fetch.set_defaults(handler=run_download)


def run_list(args: argparse.Namespace) -> int:
    console = console_for(args)
    folder = resolve_data_dir(args.data_dir)
    rows, document = [], []
    for name, info in DATASETS.items():
        found = find_dataset(name, data_dir=folder) or ""
        rows.append([name, found or "not found", info.description])
        document.append({"name": name, "found": found or None, "description": info.description})
    console.say(f"data folder: {folder}")
    console.table(["dataset", "location", "description"], rows)
    console.emit({"data_dir": str(folder), "datasets": document})
    return 0


def add_pack_parser(actions: argparse._SubParsersAction) -> None:
    pack = actions.add_parser(
        "pack",
        help="pack an image folder or a dataset into .npy files for --data PACKED",
        description="SOURCE is an image folder (SOURCE/train/<class>/*.jpg, optionally val/ "
        "and test/, or SOURCE/<class>/*.jpg) or anything --data reads (cifar10, mnist, "
        "fashion-mnist, digits, a .npz or .csv file). Images become RGB rows of --size x "
        "--size pixels (the centre square, box-resampled), uint8, in a seeded random order. "
        "An interrupted pack continues when the same command is run again. A dataset is "
        "packed as it is: --size and --channels, if given, must be what its images are, and "
        "--jobs and --chunk are ignored (a note says so).",
    )
    pack.add_argument("source", metavar="SOURCE")
    pack.add_argument("--out", required=True, metavar="PACKED", help="folder to write")
    pack.add_argument(
        "--size", type=positive_int, metavar="PIXELS", help="image side (default: 32)"
    )
    pack.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        help="3: RGB (default; grey images are repeated); 1: grey",
    )
    pack.add_argument(
        "--jobs", type=positive_int, metavar="N", help="decoding processes (default: one a core)"
    )
    pack.add_argument(
        "--num-val",
        type=positive_int,
        metavar="N",
        help="validation images carved from train when there is no val/ folder (default: "
        "10%%, at most 10,000); for a dataset, as --num-val everywhere",
    )
    pack.add_argument(
        "--chunk",
        type=positive_int,
        metavar="N",
        help="images per decoding task; progress is saved after each (default: 512)",
    )
    pack.add_argument(
        "--overwrite", action="store_true", help="replace a pack (or an interrupted one) in --out"
    )
    pack.add_argument("--data-dir", metavar="DIR", help="where named datasets live")
    add_common_arguments(pack, runs=False, seed=True, threads=False)
    pack.set_defaults(handler=run_pack)


def run_pack(args: argparse.Namespace) -> int:
    from slopelab.data.packing import (
        CHUNK_ROWS,
        DEFAULT_SIZE,
        is_folder_source,
        pack_dataset,
        pack_image_folder,
    )

    console = console_for(args)
    started = time.perf_counter()
    if not is_folder_source(args.source):
        ignored = [f"--{name}" for name in ("jobs", "chunk") if getattr(args, name) is not None]
        if ignored:
            console.say(
                f"note: {' and '.join(ignored)} apply to decoding an image folder; a dataset "
                "is packed as it is, so they are ignored"
            )
        pack = pack_dataset(
            args.source,
            args.out,
            size=args.size,
            channels=args.channels,
            seed=args.seed,
            num_val=args.num_val,
            overwrite=args.overwrite,
            data_dir=args.data_dir,
        )
    else:
        with console.bar(None, "packing images") as bar:

            def show(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                pack = pack_image_folder(
                    args.source,
                    args.out,
                    size=args.size or DEFAULT_SIZE,
                    channels=args.channels or 3,
                    seed=args.seed,
                    num_val=args.num_val,
                    jobs=args.jobs,
                    chunk_rows=args.chunk or CHUNK_ROWS,
                    overwrite=args.overwrite,
                    on_progress=show,
                    on_note=lambda text: console.say(f"note: {text}"),
                )
            except KeyboardInterrupt:
                raise InterruptedRun(_interrupted(args.out)) from None
    seconds = time.perf_counter() - started
    _describe_pack(console, pack)
    console.say(f"packed into {pack.path} in {seconds:.1f} s")
    console.emit({**_pack_document(pack), "seconds": seconds})
    return 0


def _interrupted(out: str) -> str:
    from slopelab.data.pack_progress import chunks_done

    if chunks_done(out):
        return (
            f"interrupted; the images packed so far are kept in {out}: run the same command "
            "again to continue"
        )
    return "interrupted before any image was packed; run the same command again to start"


def _describe_pack(console: Console, pack: Pack) -> None:
    rows = " / ".join(f"{pack.split(split).rows} {split}" for split in pack.splits)
    shape = "x".join(map(str, pack.image_shape)) if pack.image_shape else "not images"
    console.say(
        f"{pack.name}: {rows}, {pack.num_features} features ({shape}, {pack.dtype}), "
        f"{pack.num_classes} classes"
    )
    console.say(f"source: {pack.source}")
    if pack.skipped:
        named = "; ".join(pack.skipped_files[:SKIPPED_SHOWN])
        more = f" and {pack.skipped - SKIPPED_SHOWN} more" if pack.skipped > SKIPPED_SHOWN else ""
        files = "1 file" if pack.skipped == 1 else f"{pack.skipped} files"
        console.say(
            f"skipped {files}: {named}{more} (listed with the reason in {pack.path / 'pack.json'})"
        )


def _pack_document(pack: Pack) -> dict:
    return {
        "path": str(pack.path),
        "name": pack.name,
        "source": pack.source,
        "splits": {split: pack.split(split).rows for split in pack.splits},
        "num_features": pack.num_features,
        "image_shape": list(pack.image_shape) if pack.image_shape else None,
        "dtype": str(pack.dtype),
        "class_names": list(pack.class_names),
        "seed": pack.seed,
        "skipped": pack.skipped,
        "skipped_files": list(pack.skipped_files),
    }


def run_info(args: argparse.Namespace) -> int:
    console = console_for(args)
    if is_pack(args.name):
        pack = verify_pack(args.name) if args.verify else open_pack(args.name)
        _describe_pack(console, pack)
        console.say("classes: " + ", ".join(pack.class_names))
        if args.verify:
            console.say("verified: every file matches its SHA-256 in pack.json")
        console.emit({**_pack_document(pack), "verified": bool(args.verify)})
        return 0
    if args.verify:
        raise DataError(
            f"--verify rehashes a pack's files against its pack.json; {args.name} is not a "
            "pack (a folder written by `slopelab data pack`)"
        )
    dataset = load_dataset(args.name, data_dir=resolve_data_dir(args.data_dir))
    for note in dataset.notes:
        console.say(f"note: {note}")
    console.say(dataset.summary())
    console.say(f"source: {dataset.source}")
    if dataset.is_sparse:
        console.say(f"sparse: {_density(dataset)}")
    console.say("classes: " + ", ".join(dataset.class_names))
    console.emit(
        {
            "name": dataset.name,
            "summary": dataset.summary(),
            "source": dataset.source,
            "num_train": len(dataset.y_train),
            "num_val": len(dataset.y_val),
            "num_test": len(dataset.y_test),
            "num_features": dataset.num_features,
            "class_names": list(dataset.class_names),
            "sparse": dataset.is_sparse,
            "zero_based": dataset.zero_based,
            "notes": list(dataset.notes),
        }
    )
    return 0


def _density(dataset: Dataset) -> str:
    """How many values the sparse training rows store, and which fraction of N x D that is."""
    stored = dataset.X_train.nnz
    cells = dataset.X_train.shape[0] * dataset.X_train.shape[1]
    return f"{stored} stored values in the training rows ({stored / cells:.2%} of N x D)"


def run_download(args: argparse.Namespace) -> int:
    console = console_for(args)
    resolve_data_dir(args.data_dir)
    folder = download(args.name, args.data_dir, progress=None if not args.no_progress else False)
    console.say(f"{args.name} is ready in {folder}")
    console.emit({"name": args.name, "path": str(folder)})
    return 0
