"""The prologue and epilogue every command that writes a run folder shares.

:func:`start_run` loads the data, lets the command resolve and check all of its options, and
only then creates the folder and writes ``config.json``: bad input never leaves a folder
behind. :func:`finish_run` writes ``results.json`` and emits the JSON document. As a safety
net, :func:`discard_unused_run_folders` removes a folder this process created when the command
failed before writing anything but its config (the CLI calls it on every failure), so a retry
with the same ``--name`` is never blocked.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slopelab.commands.console import Console
from slopelab.data.pack import is_pack
from slopelab.data.prepare import (
    DATA_OPTIONS,
    Prepared,
    data_config,
    prepare_data,
    record_read,
)
from slopelab.data.registry import is_file_name
from slopelab.data.streamed_pack import default_stream
from slopelab.environment import busy_machine_note, describe_environment
from slopelab.problem import is_streamed
from slopelab.runs import (
    CONFIG,
    atomic_write_text,
    check_run_name,
    dumps,
    new_run_dir,
    write_config,
)

NOT_KNOBS = ("handler", "command", "json", "no_progress", "out", "name", "given")

_created: list[Path] = []


def run_slug(data: str) -> str:
    """A folder-name fragment for a dataset name or file path.

    >>> run_slug("toy2d:spiral"), run_slug("/tmp/my data.csv")
    ('toy2d-spiral', 'my-data')
    """
    name = Path(data).stem if ("/" in data or is_file_name(data)) else data
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:40]


def data_config_of(args: argparse.Namespace) -> dict[str, Any]:
    """The data options of a command line, resolved (absolute paths, the data folder)."""
    options = {key: getattr(args, key, None) for key in DATA_OPTIONS}
    options["preprocess"] = options["preprocess"] or "auto"
    options["seed"] = options["seed"] or 0
    data = data_config(**options)
    if getattr(args, "in_memory", True) is False and is_pack(data["data"]):
        data["stream"] = default_stream()  # a command that streams packs, not told otherwise
    return data


def add_in_memory_argument(parser: argparse.ArgumentParser) -> None:
    """``--in-memory``, for the commands that stream a pack (``--data PACKED``) by default."""
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="load a pack (--data PACKED) into memory as float32 instead of streaming it "
        "from disk in blocks (packs stream by default, whatever their size)",
    )


def load_prepared(config: dict[str, Any], console: Console) -> Prepared:
    """Load and preprocess the data a config names, and say what was loaded (with the notes
    on how it was read, e.g. a CSV without a header row)."""
    prepared = prepare_data(config)
    say_loaded(prepared, console)
    return prepared


def say_loaded(prepared: Prepared, console: Console) -> None:
    """What was loaded, and the notes on how it was read (e.g. a CSV without a header)."""
    for note in prepared.dataset.notes + prepared.notes:
        console.say(f"note: {note}")
    console.say(f"{prepared.dataset.summary()}; preprocessing: {prepared.preprocess}")
    X = prepared.X_train
    if is_streamed(X):
        console.say(
            "streaming the pack from disk (--in-memory loads it instead): blocks of "
            f"{min(X.block_rows, X.num_rows)} rows, {X.buffer_blocks} blocks shuffled "
            "together; preprocessing statistics from one pass over the training rows"
        )


def create_run_folder(args: argparse.Namespace, prefix: str, resume: str | None = None) -> Path:
    """``--out/--name`` (or a dated name), remembered so a failed start can be undone."""
    run_dir = new_run_dir(args.out, args.name, prefix, resume)
    _created.append(run_dir)
    return run_dir


def start_run(
    args: argparse.Namespace,
    command: str,
    console: Console,
    resolve: Callable[[Prepared], dict[str, Any]] | None = None,
    resume: str | None = None,
    keep_raw: bool = False,
    environment: dict[str, Any] | None = None,
) -> tuple[Prepared, Path, dict[str, Any]]:
    """Load and preprocess the data, resolve the command's options with ``resolve`` (values
    decided from the data; it raises on bad input), then create the run folder and write its
    config.json: the data options, every other knob, what ``resolve`` adds, the environment.
    Returns the data, the folder and the config.

    ``resume`` is the command that continues such a run (``slopelab train --resume``): its
    config.json is read back, so ``resolve`` must record every knob, and the flags are not
    recorded a second time (an edit of a copy nobody reads would be silently ignored).
    ``keep_raw``: see :func:`slopelab.data.prepare.prepare_data`. ``environment``: entries
    added to the recorded environment (the number of MPI ranks).
    """
    check_run_name(args.out, args.name, resume)
    data = data_config_of(args)
    prepared = prepare_data(data, keep_raw=keep_raw)
    record_read(data, prepared.dataset)  # a resumed run refuses a changed file
    resolved = resolve(prepared) if resolve else {}
    say_loaded(prepared, console)
    busy = busy_machine_note()
    if busy:
        console.say(f"note: {busy}")
    knobs = {
        key: value
        for key, value in vars(args).items()
        if key not in NOT_KNOBS and key not in DATA_OPTIONS
    }
    config = {
        "command": command,
        "data": data,
        **({} if resume else {"arguments": knobs}),
        **resolved,
        "environment": {**describe_environment(), **(environment or {})},
    }
    run_dir = create_run_folder(args, f"{command}-{run_slug(args.data)}", resume)
    write_config(run_dir, config)
    return prepared, run_dir, config


def finish_run(console: Console, run_dir: Path, document: dict[str, Any]) -> int:
    """Save the command's results as results.json in the run folder and emit them."""
    atomic_write_text(run_dir / "results.json", dumps(document, indent=2) + "\n")
    console.emit(document)
    return 0


def forget_run_folders() -> None:
    """Start a new command: folders of earlier commands in this process are not ours to undo."""
    _created.clear()


def discard_unused_run_folders() -> list[Path]:
    """Remove the folders this process created that hold nothing but ``config.json`` (and
    temporary files of an interrupted write); return them."""
    removed = []
    while _created:
        run_dir = _created.pop()
        if discard_if_unused(run_dir):
            removed.append(run_dir)
    return removed


def discard_if_unused(run_dir: Path) -> bool:
    """Remove ``run_dir`` if it holds nothing but ``config.json`` (and temporary files of an
    interrupted write); whether it did."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    names = {path.name for path in run_dir.iterdir() if not path.name.endswith(".tmp")}
    if names <= {CONFIG}:
        shutil.rmtree(run_dir, ignore_errors=True)
        return True
    return False
