"""Your own data: a ``.npz`` of arrays or a ``.csv`` file.

``.npz`` holds ``X (N, D)`` and ``y (N,)``, optionally ``X_val``/``y_val``, ``X_test``/``y_test``
and ``class_names``. It is read by :func:`slopelab.npzfile.load_npz`, never with pickle, so it
can never run code, and every way it can be damaged is one readable error.

``.csv`` is read by :mod:`slopelab.data.csvfile` (encodings, a missing header row, rows counted
from 1). The label column is ``label_column`` if given (its exact name, else in any letter
case), else the first column named ``label``, ``class``, ``target`` or ``y``, else the last
column. Every other column must be numeric.

Labels are numbered by :mod:`slopelab.data.labels`: text sorted; whole numbers ``0..C-1`` as
they are; other whole numbers (``{3, 7}``) renumbered in order, keeping their values as class
names, with a note; numbers with a fraction refused; at most 1,000 classes. Given the
``class_names`` of a trained model, labels are matched to them by name instead.

Features must be finite and fit float32; a bad value is reported where it sits in the file
(a CSV's row and column name, an array's index), before any shuffling. Splits a file does not
provide are carved from ``X, y`` 80/10/10, seeded and stratified by label when every class is
large enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.csvfile import (
    LABEL_COLUMNS,
    feature_matrix,
    label_cells,
    label_column_index,
    read_table,
)
from slopelab.data.dataset import (
    Dataset,
    Split,
    ceil_fraction,
    check_seed,
    check_size,
    make_dataset,
    split_off,
    take_first,
)
from slopelab.data.errors import DataError, reported_as
from slopelab.data.labels import number_labels
from slopelab.npzfile import load_npz
from slopelab.validation import check_features

__all__ = [
    "LABEL_COLUMNS",
    "FeatureRows",
    "FileRows",
    "LabelledRows",
    "load_file",
    "read_csv",
    "read_features",
    "read_npz",
]

CARVE_FRACTION = 0.1  # of X, y for each missing split: 80/10/10


@dataclass(frozen=True)
class FileRows:
    """What a file holds, in file order: ``(X, y)`` for each split it has (``"train"``
    always), the class names, and notes for the user (no header row, renumbered labels)."""

    splits: dict[str, Split]
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelledRows:
    """The rows of a CSV in file order: ``X (N, D)``, ``y (N,)`` numbered, class names, notes."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeatureRows:
    """Rows to predict, in file order: ``X (N, D)`` float32, the feature columns' names (a
    CSV's; None for a ``.npz``) and notes for the user."""

    X: np.ndarray
    columns: tuple[str, ...] | None
    notes: tuple[str, ...] = ()


def load_file(
    path: str | Path,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
    label_column: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Dataset:
    """A :class:`Dataset` from a ``.npz`` or ``.csv`` file (see the module docstring).

    With ``class_names`` (a trained model's), labels are matched to them by name, the dataset
    has exactly those classes, and a label not among them is a ``DataError`` naming it.
    """
    path = _existing_file(path)
    sizes = {
        "num_train": check_size(num_train, "num_train"),
        "num_val": check_size(num_val, "num_val"),
        "num_test": check_size(num_test, "num_test"),
    }
    seed = check_seed(seed)
    if path.suffix.lower() == ".npz":
        if label_column is not None:
            raise DataError(f"label_column only applies to .csv files, not to {path}")
        rows = read_npz(path, class_names=class_names)
    else:
        labelled = read_csv(path, label_column=label_column, class_names=class_names)
        rows = FileRows({"train": (labelled.X, labelled.y)}, labelled.class_names, labelled.notes)
    splits = _check_rows(rows.splits, path)
    train, val, test = _complete_splits(splits, sizes, seed, str(path))
    return make_dataset(
        path.stem,
        train,
        val,
        test,
        class_names=rows.class_names,
        image_shape=None,
        source=str(path),
        default_preprocess="standardize",
        notes=rows.notes,
    )


def read_npz(path: str | Path, *, class_names: Sequence[str] | None = None) -> FileRows:
    """The splits in a ``.npz`` (``"train"`` always; ``"val"``/``"test"`` when present), labels
    numbered, in file order."""
    path = Path(path)
    arrays = load_npz(path, "dataset (.npz)", error=DataError)
    for required in ("X", "y"):
        if required not in arrays:
            raise DataError(
                f"{path} has no array {required!r} (found {', '.join(sorted(arrays)) or 'none'}); "
                "a .npz dataset needs X (N, D) and y (N,), optionally X_val, y_val, X_test, "
                "y_test and class_names"
            )
    splits = {"train": (arrays["X"], arrays["y"])}
    for split in ("val", "test"):
        present = [key in arrays for key in (f"X_{split}", f"y_{split}")]
        if any(present) and not all(present):
            raise DataError(f"{path} has only one of X_{split} and y_{split}; give both or neither")
        if all(present):
            splits[split] = (arrays[f"X_{split}"], arrays[f"y_{split}"])
    labelling = number_labels(
        {split: y for split, (_, y) in splits.items()},
        where=str(path),
        describe=lambda split: "the y labels" if split == "train" else f"the y_{split} labels",
        file_names=arrays.get("class_names"),
        model_names=class_names,
    )
    numbered = {split: (X, labelling.labels[split]) for split, (X, _) in splits.items()}
    return FileRows(numbered, labelling.class_names, labelling.notes)


def read_csv(
    path: str | Path,
    *,
    label_column: str | None = None,
    class_names: Sequence[str] | None = None,
) -> LabelledRows:
    """Rows of a ``.csv`` in file order, labels numbered (see the module docstring)."""
    table = read_table(Path(path))
    label_index = label_column_index(table, label_column, default_last=True)
    features = [index for index in range(len(table.header)) if index != label_index]
    if not features:
        raise DataError(f"{path} has only a label column; it needs at least one feature column")
    X = feature_matrix(table, features)
    labelling = number_labels(
        {"train": label_cells(table, label_index)},
        where=f"{path}, column {table.column(label_index)}",
        describe=lambda _: "the labels",
        first_row=1,
        model_names=class_names,
    )
    return LabelledRows(
        X, labelling.labels["train"], labelling.class_names, table.notes + labelling.notes
    )


def read_features(path: str | Path, *, label_column: str | None = None) -> FeatureRows:
    """Rows to predict, in file order: ``X`` of a ``.npz``, or the columns of a ``.csv``
    except its label column (``label_column``, or one named label/class/target/y, if any)."""
    path = _existing_file(path)
    if path.suffix.lower() == ".npz":
        if label_column is not None:
            raise DataError(f"label_column only applies to .csv files, not to {path}")
        arrays = load_npz(path, ".npz of rows", error=DataError)
        if "X" not in arrays:
            raise DataError(f"{path} has no array 'X'; save the rows with np.savez(path, X=X)")
        with reported_as(str(path)):
            X = check_features(arrays["X"], name="X", dtype=np.float32)
        return FeatureRows(X, None)
    table = read_table(path)
    label_index = label_column_index(table, label_column, default_last=False)
    features = [index for index in range(len(table.header)) if index != label_index]
    if not features:
        raise DataError(f"{path} has only a label column; it needs at least one feature column")
    columns = tuple(table.header[index] for index in features)
    X = feature_matrix(table, features, label_known=label_index is not None)
    X = X.astype(np.float32)  # within float32's range: checked
    return FeatureRows(X, columns, table.notes)


def _existing_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass the path of a .npz or .csv file")
    if not path.is_file():
        raise DataError(f"no such file: {path}; pass the path of a .npz or .csv file")
    if path.suffix.lower() not in (".npz", ".csv"):
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use a .npz or .csv file")
    return path


def _check_rows(splits: dict[str, Split], path: Path) -> dict[str, Split]:
    """Finite 2-D float32 features and one label per row, checked before carving so that a
    bad row is numbered as in the file."""
    checked = {}
    with reported_as(str(path)):
        for split, (X, y) in splits.items():
            tag = "" if split == "train" else f"_{split}"
            X = check_features(X, name=f"X{tag}", dtype=np.float32)
            if len(X) != len(y):
                raise DataError(
                    f"{path}: X{tag} has {len(X)} rows but y{tag} has {len(y)} labels; they "
                    "must have the same length"
                )
            checked[split] = (X, y)
    return checked


def _complete_splits(
    splits: dict[str, Split], sizes: dict[str, int | None], seed: int, what: str
) -> tuple[Split, Split, Split]:
    """Use the splits a file provides; carve the missing ones from its X, y (test first)."""
    data = splits["train"]
    total = len(data[1])
    for split in ("test", "val"):
        if split in splits:
            count = sizes[f"num_{split}"]
            splits[split] = take_first(splits[split], count, f"num_{split}", f"{what} X_{split}")
            continue
        size = sizes[f"num_{split}"] or ceil_fraction(total, CARVE_FRACTION)
        if size >= len(data[1]):
            raise DataError(
                f"{what} has {total} examples: too few to carve {size} for {split} and keep at "
                "least 1 for training; add rows, pass smaller num_val/num_test, or give "
                f"X_{split}/y_{split} arrays"
            )
        data, splits[split] = split_off(data, size, seed)
    train = take_first(data, sizes["num_train"], "num_train", what)
    return train, splits["val"], splits["test"]
