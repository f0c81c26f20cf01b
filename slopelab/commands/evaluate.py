"""``slopelab evaluate`` and ``slopelab predict``: use a saved model on data.

``evaluate`` reloads the data a model was trained on from the data options saved in its
``model.npz`` (absolute path, data folder, split sizes, seed), so ``slopelab evaluate RUN``
gives the same splits from any working directory; flags given on the command line override
them. Labels are matched to the model's classes by name, never renumbered per file.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.commands import summary
from slopelab.commands.arguments import add_common_arguments, add_data_arguments
from slopelab.commands.console import console_for
from slopelab.data import load_dataset
from slopelab.data.errors import reported_as
from slopelab.data.files import FeatureRows, read_features
from slopelab.data.prepare import DATA_OPTIONS, data_config
from slopelab.data.registry import ALIASES, DATASETS, is_file_name
from slopelab.errors import CommandError
from slopelab.model import SavedModel, load_model
from slopelab.runs import atomic_write_text

EVALUATE = """Load a model (a run folder or its model.npz) and report its accuracy on the train,
validation and test splits of a dataset. By default that is the data it was trained on, found
and split exactly as in training (the path, data folder, split sizes and seed are saved in
model.npz); --data evaluates on other data; any data flag given overrides the saved value.
Labels are matched to the model's classes by name; a label the model does not know is an
error."""

PREDICT = """Predict classes for the rows of a .npz (array X) or .csv file (numeric columns; a
label column, if present, is ignored) and write a CSV: row, class index, class name, and for
softmax models the probability of each class."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser("evaluate", help=summary("evaluate"), description=EVALUATE)
    evaluate.add_argument("model", metavar="RUN|MODEL.npz")
    add_data_arguments(evaluate, default=None, preprocess=False)
    add_common_arguments(evaluate, runs=False)
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser("predict", help=summary("predict"), description=PREDICT)
    predict.add_argument("model", metavar="RUN|MODEL.npz")
    predict.add_argument("--input", required=True, metavar="FILE", help=".npz or .csv rows")
    predict.add_argument(
        "--output", metavar="FILE.csv", help="where to write predictions (default: stdout)"
    )
    predict.add_argument(
        "--label-column",
        metavar="NAME",
        help="a CSV column to ignore, any letter case (default: one named label, class, "
        "target or y, if any)",
    )
    add_common_arguments(predict, runs=False, seed=False)
    predict.set_defaults(handler=run_predict)


def run_evaluate(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    config = evaluation_data(args, model)
    dataset = load_dataset(
        config["data"],
        data_dir=config["data_dir"],
        num_train=config["num_train"],
        num_val=config["num_val"],
        num_test=config["num_test"],
        seed=config["seed"],
        label_column=config["label_column"],
        class_names=model.class_names,
    )
    for note in dataset.notes:
        console.say(f"note: {note}")
    results: dict[str, Any] = {"model": str(args.model), "data": dataset.name}
    rows = []
    with reported_as(dataset.source):
        for split in ("train", "val", "test"):
            X, y = getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}")
            value = float(np.mean(model.predict(X) == y))
            results[f"{split}_accuracy"] = value
            rows.append([split, f"{value:.2%}", len(y)])
    console.say(dataset.summary())
    console.table(["split", "accuracy", "examples"], rows)
    results["notes"] = list(dataset.notes)
    console.emit(results)
    return 0


def evaluation_data(args: argparse.Namespace, model: SavedModel) -> dict[str, Any]:
    """The data options to evaluate on: the model's saved ones when ``--data`` is not given
    (or names the same data), else the flags; flags given on the command line always win."""
    given = getattr(args, "given", set())
    flags = {key: getattr(args, key, None) for key in DATA_OPTIONS if key in given}
    saved = model.meta.get("data")
    if args.data is not None:
        wanted = data_config(args.data)["data"]
        if not (saved and saved.get("data") == wanted):
            return _resolved({"data": args.data, "seed": args.seed, **flags})
    elif not saved:
        return _resolved({"data": _dataset_name(args, model), "seed": args.seed, **flags})
    else:
        _check_saved_file(saved["data"], args)
    return _resolved({**saved, **flags})


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
    if is_file_name(data) and not Path(data).is_file():
        raise CommandError(
            f"{args.model} was trained on {data}, which is not there any more; pass --data FILE"
        )


def run_predict(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    rows = read_features(Path(args.input), label_column=args.label_column)
    csv_on_stdout = not args.output and not args.json
    for note in rows.notes:
        if csv_on_stdout:  # stdout carries the predictions
            print(f"note: {note}", file=sys.stderr, flush=True)
        else:
            console.say(f"note: {note}")
    _check_width(rows, model, args.input)
    with reported_as(str(args.input)):
        predicted = model.predict(rows.X)
        probabilities = model.probabilities(rows.X)
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
            "output": args.output,
        }
    )
    return 0


def _check_width(rows: FeatureRows, model: SavedModel, path: str) -> None:
    width, expected = rows.X.shape[1], model.num_features
    if width == expected:
        return
    message = f"{path} has {width} feature columns but the model expects {expected}"
    if rows.columns is not None and width == expected + 1:
        shown = ", ".join(rows.columns[:12]) + (", ..." if len(rows.columns) > 12 else "")
        message += f"; if one of them ({shown}) is the label, name it with --label-column"
    else:
        message += "; give rows with the same columns as the training data"
    raise CommandError(message)


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
