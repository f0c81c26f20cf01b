"""``slopelab evaluate`` and ``slopelab predict``: use a saved model on data.

``evaluate`` reloads the data a model was trained on from the data options saved in its
``model.npz`` (absolute path, data folder, split sizes, seed), so ``slopelab evaluate RUN``
gives the same splits from any working directory; flags given on the command line override
them. A data file that changed since training (its SHA-256 is saved too) is refused: its
re-created "test" split would hold rows the model was trained on. ``--data FILE`` scores any
file as new data. Labels are matched to the model's classes by name, never renumbered per
file, and a CSV's columns to the model's features by name (:mod:`slopelab.data.columns`).

``predict`` writes one line per row and never overwrites its input or the model. When the rows
carry labels (the model's label column, ``--label-column``, or a ``.npz``'s ``y``) it also
reports the accuracy on them.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.commands import summary
from slopelab.commands.arguments import add_common_arguments, add_data_arguments
from slopelab.commands.console import console_for
from slopelab.commands.runfolder import add_in_memory_argument
from slopelab.data import load_dataset
from slopelab.data.dataset import Dataset
from slopelab.data.errors import reported_as
from slopelab.data.files import file_sha256
from slopelab.data.labels import to_model_classes
from slopelab.data.npyrows import NpyRows
from slopelab.data.pack import METADATA, is_pack, open_pack
from slopelab.data.pack_splits import carve_splits
from slopelab.data.prepare import DATA_OPTIONS, data_config, is_svmlight_name
from slopelab.data.registry import ALIASES, DATASETS, is_file_name
from slopelab.data.rows import read_features
from slopelab.data.stream import EVAL_ROWS
from slopelab.data.streamed_pack import read_split_rows
from slopelab.errors import CommandError
from slopelab.model import SavedModel, load_model
from slopelab.runs import MODEL, atomic_write_text

EVALUATE = """Load a model (a run folder or its model.npz) and report its accuracy on the train,
validation and test splits of a dataset. By default that is the data it was trained on, found
and split exactly as in training (the path, data folder, split sizes and seed are saved in
model.npz); --data evaluates on other data; any data flag given overrides the saved value.
Labels are matched to the model's classes by name; a label the model does not know is an
error. A CSV's columns are matched to the model's features by name. A data file that changed
since training is refused unless --data names it (it is then scored as new data). A pack is
read in blocks, never loaded whole (--in-memory loads it)."""

PREDICT = """Predict classes for the rows of a .npz (array X), .csv or svmlight file (read with
the model's index base) and write a CSV:
row, class index, class name, and for softmax models the probability of each class. A CSV's
columns are matched to the model's features by name (any order); its label column (the
model's, --label-column, or one named label, class, target or y), if present, is not a
feature: the accuracy on it is reported instead."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser("evaluate", help=summary("evaluate"), description=EVALUATE)
    evaluate.add_argument("model", metavar="RUN|MODEL.npz")
    add_data_arguments(evaluate, default=None, preprocess=False)
    add_in_memory_argument(evaluate)
    add_common_arguments(evaluate, runs=False)
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser("predict", help=summary("predict"), description=PREDICT)
    predict.add_argument("model", metavar="RUN|MODEL.npz")
    predict.add_argument(
        "--input", required=True, metavar="FILE", help=".npz, .csv or svmlight (.svm) rows"
    )
    predict.add_argument(
        "--output", metavar="FILE.csv", help="where to write predictions (default: stdout)"
    )
    predict.add_argument(
        "--label-column",
        metavar="NAME",
        help="a CSV column that holds labels, not features, any letter case (default: the "
        "model's label column, else one named label, class, target or y, if any)",
    )
    add_common_arguments(predict, runs=False, seed=False)
    predict.set_defaults(handler=run_predict)


def run_evaluate(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    config, notes = evaluation_data(args, model)
    if is_pack(config["data"]) and not args.in_memory:
        dataset = streamed_dataset(config, model)
    else:
        dataset = load_dataset(
            config["data"],
            data_dir=config["data_dir"],
            num_train=config["num_train"],
            num_val=config["num_val"],
            num_test=config["num_test"],
            seed=config["seed"],
            label_column=config["label_column"],
            class_names=model.class_names,
            layout=model.layout,
            test_data=config["test_data"],
            zero_based=config["zero_based"],
        )
    notes = (*notes, *dataset.notes)
    for note in notes:
        console.say(f"note: {note}")
    results: dict[str, Any] = {"model": str(args.model), "data": dataset.name}
    rows = []
    with reported_as(dataset.source):
        for split in ("train", "val", "test"):
            X, y = getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}")
            value = float(np.mean(predictions(model, X) == y))
            results[f"{split}_accuracy"] = value
            rows.append([split, f"{value:.2%}", len(y)])
    console.say(dataset.summary())
    console.table(["split", "accuracy", "examples"], rows)
    results["notes"] = list(notes)
    console.emit(results)
    return 0


def streamed_dataset(config: dict[str, Any], model: SavedModel) -> Dataset:
    """The pack ``config["data"]`` carved into splits as training carved it, each split's
    ``X`` a row range of its file (:class:`~slopelab.data.npyrows.NpyRows`) that
    :func:`predictions` scores a block at a time; labels renumbered into the model's classes."""
    pack = open_pack(config["data"])
    splits, notes = carve_splits(
        pack, read_split_rows, config["num_train"], config["num_val"], config["num_test"]
    )
    if pack.num_features != model.num_features:
        raise CommandError(
            f"{pack.path} has {pack.num_features} features but {model_name(model)} expects "
            f"{model.num_features}; evaluate it on data with the same layout"
        )
    labels = to_model_classes(
        {name: y for name, (_, y) in splits.items()},
        pack.class_names,
        model.class_names,
        f"{pack.name} ({pack.path})",
    )
    return Dataset(
        name=pack.name,
        **{f"X_{name}": rows for name, (rows, _) in splits.items()},
        **{f"y_{name}": labels[name] for name in splits},
        class_names=tuple(model.class_names),
        image_shape=pack.image_shape,
        source=str(pack.path),
        default_preprocess=pack.default_preprocess,
        notes=tuple(notes),
    )


def model_name(model: SavedModel) -> str:
    return f"the model ({model.meta.get('dataset') or 'saved'})"


def predictions(model: SavedModel, X: Any, block_rows: int = EVAL_ROWS) -> np.ndarray:
    """The model's classes for rows in memory, or for a pack's rows read a block at a time
    (raw rows, converted to float32 for the model's own preprocessing)."""
    if not isinstance(X, NpyRows):
        return model.predict(X)
    predicted = np.empty(X.num_rows, np.int64)
    raw = np.empty((min(block_rows, X.num_rows), X.num_features), X.dtype)
    for start in range(0, X.num_rows, len(raw)):
        stop = min(start + len(raw), X.num_rows)
        rows = X.read_range(start, stop, raw).astype(np.float32)
        predicted[start:stop] = model.predict(rows)
    return predicted


def evaluation_data(
    args: argparse.Namespace, model: SavedModel
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The data options to evaluate on, and notes: the model's saved ones when ``--data`` is
    not given (or names the same, unchanged file), else the flags; flags given on the command
    line always win. A saved data file that changed since training is refused, unless
    ``--data`` names it: it is then split afresh, as new data."""
    given = getattr(args, "given", set())
    flags = {key: getattr(args, key, None) for key in DATA_OPTIONS if key in given}
    saved = model.meta.get("data")
    fresh = {"data": args.data, "seed": args.seed, **flags}
    if is_svmlight_name(args.data) and "zero_based" not in flags:
        fresh["zero_based"] = model_index_base(model)  # else columns may shift by one
    if args.data is not None:
        wanted = data_config(args.data)["data"]
        if not (saved and saved.get("data") == wanted):
            return _resolved(fresh), ()
        if _changed(saved):
            note = (
                f"{wanted} changed since {args.model} was trained on it, so it is split afresh "
                "as new data: its val and test splits are not the ones held out in training "
                "and may hold rows the model was trained on"
            )
            return _resolved(fresh), (note,)
    elif not saved:
        return _resolved({**fresh, "data": _dataset_name(args, model)}), ()
    else:
        _check_saved_file(saved["data"], args)
        _check_test_file(saved, flags, args)
        if _changed(saved):
            raise CommandError(
                f"{saved['data']} changed since {args.model} was trained on it (its SHA-256 "
                f"{'(of pack.json) ' if is_pack(saved['data']) else ''}differs from the one in "
                "model.npz), so its splits cannot be re-created: the "
                "test split would hold rows the model was trained on; restore the file to "
                f"score the held-out splits, or pass --data {saved['data']} to score the file "
                "as it is now, as new data"
            )
    return _resolved({**saved, **flags}), ()


def _changed(saved: dict[str, Any]) -> bool:
    """Whether the data saved in a model's meta differs from its recorded SHA-256: a file's
    own, or for a pack the SHA-256 of its pack.json (which holds the SHA-256 of every split
    and the seed of its row order, so a pack written again differs)."""
    recorded = saved.get("sha256")
    path = Path(saved["data"])
    if not recorded:
        return False  # nothing recorded (an older model)
    if is_pack(path):
        return file_sha256(path / METADATA) != recorded
    if not is_file_name(saved["data"]) or not path.is_file():
        return False  # missing: the loader says so
    return file_sha256(path) != recorded


def model_index_base(model: SavedModel) -> bool | str:
    """The index base of the svmlight file a model was trained on ("auto": it was not one), to
    read another svmlight file the same way: detected afresh, a file without index 0 would be
    read one-based and every column shift by one under a zero-based model."""
    saved = model.meta.get("data") or {}
    base = saved.get("zero_based", "auto")
    return base if isinstance(base, bool) else "auto"


def _check_test_file(saved: dict[str, Any], flags: dict[str, Any], args: Any) -> None:
    """The model's own test file (``--test-data`` in training), unless another is given, must
    be the one it was trained beside: its test accuracy would otherwise not be the run's."""
    recorded, path = saved.get("test_sha256"), saved.get("test_data")
    if not recorded or "test_data" in flags or not path:
        return
    if not Path(path).is_file() or file_sha256(Path(path)) != recorded:
        raise CommandError(
            f"{path}, the test file {args.model} was trained beside, is gone or changed since "
            "(its SHA-256 differs from the one in model.npz); restore it, or pass "
            "--test-data FILE to score another test file"
        )


def _resolved(options: dict[str, Any]) -> dict[str, Any]:
    known = {key: options.get(key) for key in DATA_OPTIONS if key not in ("data", "preprocess")}
    known["seed"] = known["seed"] or 0
    return data_config(str(options["data"]), **known)


def _dataset_name(args: argparse.Namespace, model: SavedModel) -> str:
    """The dataset an older model names (before model.npz saved its data options)."""
    name = str(model.meta.get("dataset") or "")
    base = name.partition(":")[0].lower()
    if base in DATASETS or base in ALIASES:
        return name
    raise CommandError(
        f"{args.model} does not record where its data came from (only the name {name!r}: it "
        "was written by an older slopelab); pass --data NAME|FILE"
    )


def _check_saved_file(data: str, args: argparse.Namespace) -> None:
    """A saved file or pack (recorded by its absolute path) that is gone is named as such."""
    if (is_file_name(data) or Path(data).is_absolute()) and not Path(data).exists():
        raise CommandError(
            f"{args.model} was trained on {data}, which is not there any more; pass "
            "--data FILE|PACKED"
        )


def run_predict(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    _check_output(args)
    rows = read_features(
        Path(args.input),
        label_column=args.label_column,
        layout=model.layout,
        class_names=model.class_names,
        zero_based=model_index_base(model),
    )
    csv_on_stdout = not args.output and not args.json

    def say(line: str) -> None:
        if csv_on_stdout:  # stdout carries the predictions
            print(line, file=sys.stderr, flush=True)
        else:
            console.say(line)

    for note in rows.notes:
        say(f"note: {note}")
    with reported_as(str(args.input)):
        predicted = model.predict(rows.X)
        probabilities = model.probabilities(rows.X)
    accuracy = None if rows.y is None else float(np.mean(predicted == rows.y))
    if accuracy is not None:
        say(f"accuracy {accuracy:.2%} on {len(predicted)} rows (labels: {rows.label})")
    text = _csv(predicted, model.class_names, probabilities)
    if args.output:
        atomic_write_text(Path(args.output), text)
        console.say(f"wrote {len(predicted)} predictions to {args.output}")
    elif csv_on_stdout:
        sys.stdout.write(text)
    console.emit(
        {
            "predictions": predicted.tolist(),
            "predicted_names": [model.class_names[index] for index in predicted],
            "class_names": list(model.class_names),
            "accuracy": accuracy,
            "labels": rows.label if accuracy is not None else None,
            "notes": list(rows.notes),
            "output": args.output,
        }
    )
    return 0


def _check_output(args: argparse.Namespace) -> None:
    """``--output`` is neither the input nor the model (also through another path, a symlink
    or a hard link): predictions written there would destroy it."""
    if not args.output:
        return
    output = Path(args.output).expanduser()
    model = Path(args.model).expanduser()
    model = model / MODEL if model.is_dir() else model
    for flag, path in (("--input", Path(args.input).expanduser()), ("the model", model)):
        if _same_file(output, path):
            raise CommandError(
                f"--output {args.output} is the same file as {flag} {path}; writing the "
                "predictions there would overwrite it: choose another --output"
            )
    if output.is_dir():
        raise CommandError(f"--output {args.output} is a folder; give the path of a .csv file")


def _same_file(first: Path, second: Path) -> bool:
    try:
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
    except OSError:
        pass
    return first.resolve() == second.resolve()


def _csv(
    predicted: np.ndarray, class_names: tuple[str, ...], probabilities: np.ndarray | None
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["row", "class", "name"]
    if probabilities is not None:
        header += [f"p_{name}" for name in class_names]
    writer.writerow(header)
    for row, index in enumerate(predicted):
        line = [row, int(index), class_names[index]]
        if probabilities is not None:
            line += [f"{p:.6f}" for p in probabilities[row]]
        writer.writerow(line)
    return buffer.getvalue()
