"""Your own data: a ``.npz`` of arrays or a ``.csv`` with a header row.

``.npz`` holds ``X (N, D)`` and ``y (N,)``, optionally ``X_val``/``y_val``, ``X_test``/``y_test``
and ``class_names``; it is read with ``allow_pickle=False``, so it can never run code.

``.csv`` has a header row. The label column is ``label_column`` if given, else the first column
named ``label``, ``class``, ``target`` or ``y``, else the last column. Every other column must be
numeric. Labels that are all non-negative integers are used as they are (class names "0", "1",
...); any other labels (strings such as "cat") are sorted and numbered 0..C-1, and the sorted
names become ``class_names``.

Splits a file does not provide are carved from ``X, y`` 80/10/10, seeded and stratified by label
when every class is large enough.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.dataset import (
    Dataset,
    Split,
    ceil_fraction,
    check_size,
    make_dataset,
    split_off,
    take_first,
)
from slopelab.data.errors import DataError, reported_as
from slopelab.validation import check_features

LABEL_COLUMNS = ("label", "class", "target", "y")
ZIP_MAGIC = b"PK"  # every zip archive, and so every .npz, starts with these bytes
CARVE_FRACTION = 0.1  # of X, y for each missing split: 80/10/10


@dataclass(frozen=True)
class LabelledRows:
    """Rows read from a file in file order: ``X (N, D)``, ``y (N,)`` and the class names."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]


def load_file(
    path: str | Path,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
    label_column: str | None = None,
) -> Dataset:
    """A :class:`Dataset` from a ``.npz`` or ``.csv`` file (see the module docstring)."""
    path = Path(path).expanduser()
    sizes = {
        "num_train": check_size(num_train, "num_train"),
        "num_val": check_size(num_val, "num_val"),
        "num_test": check_size(num_test, "num_test"),
    }
    if not path.is_file():
        raise DataError(f"no such file: {path}; pass the path of a .npz or .csv file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        splits, class_names = read_npz(path)
    elif suffix == ".csv":
        rows = read_csv(path, label_column=label_column)
        splits, class_names = {"train": (rows.X, rows.y)}, rows.class_names
    else:
        raise DataError(f"{path}: unknown file type {suffix!r}; use a .npz or .csv file")
    _check_rows(splits, path)
    train, val, test = _complete_splits(splits, sizes, seed, str(path))
    return make_dataset(
        path.stem,
        train,
        val,
        test,
        class_names=class_names,
        image_shape=None,
        source=str(path),
        default_preprocess="standardize",
    )


def _check_rows(splits: dict[str, Split], path: Path) -> None:
    """Finite 2-D features and one label per row, checked before carving so that a bad row is
    numbered as in the file."""
    with reported_as(str(path)):
        for split, (X, y) in splits.items():
            tag = "" if split == "train" else f"_{split}"
            X = check_features(X, name=f"X{tag}")
            if len(X) != len(y):
                raise DataError(
                    f"{path}: X{tag} has {len(X)} rows but y{tag} has {len(y)} labels; they "
                    "must have the same length"
                )


def read_npz(path: str | Path) -> tuple[dict[str, Split], tuple[str, ...]]:
    """The splits in a ``.npz`` (``"train"`` always; ``"val"``/``"test"`` when present) and the
    class names (from ``class_names``, from string labels, or "0".."C-1")."""
    path = Path(path)
    with path.open("rb") as handle:
        if handle.read(2) != ZIP_MAGIC:
            raise DataError(f"{path} is not a .npz file (not a zip archive); save it with np.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as error:  # object arrays need pickle, which is refused
        raise DataError(
            f"{path} holds an array that needs pickle ({error}); save plain numeric or "
            "string arrays (np.savez with X, y, ...)"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from None
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
    names = arrays.get("class_names")
    return _number_labels(splits, None if names is None else [str(n) for n in names.ravel()])


def read_csv(path: str | Path, *, label_column: str | None = None) -> LabelledRows:
    """Rows of a ``.csv`` in file order, labels numbered (see the module docstring)."""
    path = Path(path)
    header, rows = _read_table(path)
    label_index = _label_index(header, label_column, path)
    feature_columns = [index for index in range(len(header)) if index != label_index]
    if not feature_columns:
        raise DataError(f"{path} has only a label column; it needs at least one feature column")
    X = _numeric(rows, feature_columns, header, path)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, position = bad[0]
        raise DataError(
            f"{path}: column {header[feature_columns[position]]!r} in row {row + 1} is NaN or "
            "infinite; fill in or drop that row"
        )
    labels = [row[label_index].strip() for row in rows]
    splits, class_names = _number_labels({"train": (X, np.array(labels))}, None)
    return LabelledRows(X, splits["train"][1], class_names)


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            table = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path} as CSV text ({error})") from None
    if len(table) < 2:
        raise DataError(f"{path} needs a header row and at least one data row; it has {len(table)}")
    header, rows = [name.strip() for name in table[0]], table[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise DataError(
                f"{path}: row {number} has {len(row)} values but the header has {len(header)} "
                "columns; every row needs one value per column"
            )
    return header, rows


def _label_index(header: list[str], label_column: str | None, path: Path) -> int:
    if label_column is not None:
        if label_column not in header:
            raise DataError(
                f"{path} has no column {label_column!r}; its columns are {', '.join(header)}"
            )
        return header.index(label_column)
    lowered = [name.lower() for name in header]
    for candidate in LABEL_COLUMNS:
        if candidate in lowered:
            return lowered.index(candidate)
    return len(header) - 1


def _numeric(rows: list[list[str]], columns: list[int], header: list[str], path: Path):
    cells = [[row[index] for index in columns] for row in rows]
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass  # find the first bad cell to name it
    for number, row in enumerate(cells, start=1):
        for position, cell in enumerate(row):
            try:
                float(cell)
            except ValueError:
                name = header[columns[position]]
                raise DataError(
                    f"{path}: column {name!r} in row {number} holds {cell.strip()!r}, which is "
                    "not a number; every column except the label column must be numeric "
                    "(fill in or drop missing values)"
                ) from None
    raise DataError(f"{path}: the feature columns could not be read as numbers")


def _number_labels(
    splits: dict[str, Split], class_names: list[str] | None
) -> tuple[dict[str, Split], tuple[str, ...]]:
    """Labels as 0..C-1: non-negative whole numbers as they are, anything else sorted."""
    values = {split: _label_values(np.asarray(y), split) for split, (_, y) in splits.items()}
    kinds = {array.dtype.kind for array in values.values()}
    if len(kinds) > 1:
        raise DataError("the label arrays mix numbers and text; use one kind for every split")
    everything = np.concatenate(list(values.values()))
    if kinds == {"f"} and np.all(everything == np.round(everything)) and everything.min() >= 0:
        numbers = {split: array.astype(np.int64) for split, array in values.items()}
        names = class_names or [str(label) for label in range(int(everything.max()) + 1)]
        return _relabel(splits, numbers), tuple(names)
    if class_names is None:  # np.unique sorts numbers numerically and text by name
        class_names = [_label_name(value) for value in np.unique(everything).tolist()]
    index = {name: position for position, name in enumerate(class_names)}
    unknown = sorted({_label_name(value) for value in everything.tolist()} - set(index))
    if unknown:
        raise DataError(f"labels {unknown[:5]} are not among the class names {class_names}")
    numbers = {
        split: np.array([index[_label_name(value)] for value in array.tolist()], np.int64)
        for split, array in values.items()
    }
    return _relabel(splits, numbers), tuple(class_names)


def _label_values(y: np.ndarray, split: str) -> np.ndarray:
    """Labels as float64 when they are all numbers, else as stripped strings."""
    if y.ndim != 1:
        raise DataError(f"labels of the {split} split must be 1-D (N,); got shape {y.shape}")
    if y.dtype.kind in "biuf":
        numbers = y.astype(np.float64)
    else:
        text = np.char.strip(y.astype(str))
        empty = np.flatnonzero(text == "")
        if empty.size:
            raise DataError(f"the {split} labels are empty in row {empty[0] + 1}; fill them in")
        try:
            numbers = text.astype(np.float64)
        except ValueError:
            return text
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise DataError(f"the {split} labels contain NaN or infinity in row {bad[0] + 1}")
    return numbers


def _label_name(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _relabel(splits: dict[str, Split], numbers: dict[str, np.ndarray]) -> dict[str, Split]:
    return {split: (X, numbers[split]) for split, (X, _) in splits.items()}


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
