"""``slopelab evaluate`` and ``slopelab predict``: use a saved model on data."""

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
from slopelab.data.files import LABEL_COLUMNS
from slopelab.errors import CommandError
from slopelab.model import load_model
from slopelab.runs import atomic_write_text, load_npz


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help=summary("evaluate"),
        description="Load a model (a run folder or its model.npz) and report its accuracy on "
        "the train, validation and test splits of a dataset (default: the one it was trained "
        "on, with the same split options given again if they were changed).",
    )
    evaluate.add_argument("model", metavar="RUN|MODEL.npz")
    add_data_arguments(evaluate, default=None)
    add_common_arguments(evaluate, runs=False)
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help=summary("predict"),
        description="Predict classes for the rows of a .npz (array X) or .csv file (numeric "
        "columns; a label column, if present, is ignored) and write a CSV: row, class index, "
        "class name, and for softmax models the probability of each class.",
    )
    predict.add_argument("model", metavar="RUN|MODEL.npz")
    predict.add_argument("--input", required=True, metavar="FILE", help=".npz or .csv rows")
    predict.add_argument(
        "--output", metavar="FILE.csv", help="where to write predictions (default: stdout)"
    )
    predict.add_argument("--label-column", metavar="NAME", help="label column to ignore")
    add_common_arguments(predict, runs=False)
    predict.set_defaults(handler=run_predict)


def run_evaluate(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    name = args.data or model.meta.get("dataset")
    if not name:
        raise CommandError("the model does not say which dataset it was trained on; pass --data")
    dataset = load_dataset(
        name,
        data_dir=args.data_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        seed=args.seed,
        label_column=args.label_column,
    )
    results: dict[str, Any] = {"model": str(args.model), "data": dataset.name}
    rows = []
    for split in ("train", "val", "test"):
        X, y = getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}")
        value = float(np.mean(model.predict(X) == y))
        results[f"{split}_accuracy"] = value
        rows.append([split, f"{value:.2%}", len(y)])
    console.say(dataset.summary())
    console.table(["split", "accuracy", "examples"], rows)
    console.emit(results)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    console = console_for(args)
    model = load_model(args.model)
    X = read_rows(Path(args.input), args.label_column)
    predicted = model.predict(X)
    probabilities = model.probabilities(X)
    text = _csv(predicted, model.class_names, probabilities)
    if args.output:
        atomic_write_text(Path(args.output), text)
        console.say(f"wrote {len(predicted)} predictions to {args.output}")
    else:
        if not args.json:
            sys.stdout.write(text)
    console.emit(
        {
            "predictions": predicted.tolist(),
            "class_names": [model.class_names[i] for i in predicted],
            "output": args.output,
        }
    )
    return 0


def read_rows(path: Path, label_column: str | None) -> np.ndarray:
    """Feature rows of a file, in file order: ``X`` of a .npz, or the numeric columns of a
    .csv without its label column (``label_column``, or one named label/class/target/y)."""
    if not path.is_file():
        raise CommandError(f"no such file: {path}; pass a .npz (with X) or .csv file")
    if path.suffix.lower() == ".npz":
        arrays = load_npz(path, ".npz file")
        if "X" not in arrays:
            raise CommandError(f"{path} has no array 'X'; save the rows with np.savez(path, X=X)")
        return arrays["X"]
    if path.suffix.lower() != ".csv":
        raise CommandError(f"{path}: unknown file type; use a .npz or .csv file")
    with path.open(newline="") as stream:
        table = [row for row in csv.reader(stream) if row]
    if len(table) < 2:
        raise CommandError(f"{path} needs a header row and at least one data row")
    header = [name.strip() for name in table[0]]
    names = [label_column] if label_column else list(LABEL_COLUMNS)
    dropped = {i for i, name in enumerate(header) if name.lower() in names}
    if label_column and not dropped:
        raise CommandError(f"{path} has no column {label_column!r}; columns: {', '.join(header)}")
    keep = [i for i in range(len(header)) if i not in dropped]
    try:
        return np.array([[float(row[i]) for i in keep] for row in table[1:]])
    except (ValueError, IndexError) as error:
        raise CommandError(f"{path}: every feature must be a number ({error})") from None


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
