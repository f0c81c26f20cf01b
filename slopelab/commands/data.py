"""``slopelab data``: list the datasets, show what is on disk, download from official URLs."""

from __future__ import annotations

import argparse

from slopelab.commands import summary
from slopelab.commands.arguments import add_common_arguments
from slopelab.commands.console import console_for
from slopelab.data import DATASETS, download, find_dataset, load_dataset, resolve_data_dir


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
    add_common_arguments(info, runs=False, seed=False, threads=False)
    info.set_defaults(handler=run_info)

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


def run_info(args: argparse.Namespace) -> int:
    console = console_for(args)
    dataset = load_dataset(args.name, data_dir=resolve_data_dir(args.data_dir))
    console.say(dataset.summary())
    console.say(f"source: {dataset.source}")
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
        }
    )
    return 0


def run_download(args: argparse.Namespace) -> int:
    console = console_for(args)
    resolve_data_dir(args.data_dir)
    folder = download(args.name, args.data_dir, progress=None if not args.no_progress else False)
    console.say(f"{args.name} is ready in {folder}")
    console.emit({"name": args.name, "path": str(folder)})
    return 0
