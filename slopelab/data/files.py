"""Your own data: a ``.npz`` of arrays, a ``.csv`` file, or an svmlight/LIBSVM file.

``.npz`` holds ``X (N, D)`` and ``y (N,)``, optionally ``X_val``/``y_val``, ``X_test``/``y_test``
and ``class_names``. It is read by :func:`slopelab.npzfile.load_npz`, never with pickle, so it
can never run code, and every way it can be damaged is one readable error.

A sparse ``.npz`` (scipy's ``save_npz`` arrays plus ``y``; :mod:`slopelab.data.sparse_npz`) and
an svmlight file (``.svm``, ``.svmlight``, ``.libsvm``; :mod:`slopelab.data.svmlight`) give
CSR float32 splits, never dense ones. An svmlight file may come with a separate test file
(``test_data``, LIBLINEAR's habit), read with the training file's width and index base.

``.csv`` is read by :mod:`slopelab.data.csvfile` (encodings, a missing header row, rows counted
from 1). The label column is ``label_column`` if given (its exact name, else in any letter
case), else the first column named ``label``, ``class``, ``target`` or ``y``, else the last
column. Every other column must be numeric.

Labels are numbered by :mod:`slopelab.data.labels`: text sorted; whole numbers ``0..C-1`` as
they are; other whole numbers (``{3, 7}``) renumbered in order, keeping their values as class
names, with a note; numbers with a fraction refused; at most 1,000 classes. Given the
``class_names`` of a trained model, labels are matched to them by name instead.

Features must be finite and fit float32; a bad value is reported where it sits in the file
(a CSV's row and column name, an array's index), before any shuffling. Every split has at
least one row; ``y`` may be ``(N,)`` or a column ``(N, 1)``. Splits a file does not provide are
carved from ``X, y`` 80/10/10, seeded and stratified by label when every class is large enough.

A class that the validation or test split holds but the training split lacks is refused: a
classifier cannot learn a class it never sees, and its score would count those rows as
unlearnable errors. A class with no training example only because ``num_train`` asked for few
rows, or one that ``class_names`` declares but no row has, gets a note instead.

Given a trained model's columns (a :class:`~slopelab.data.columns.Layout`), a CSV's columns are
matched to its features by name (:mod:`slopelab.data.columns`). Every loaded file records its
SHA-256, so a run can tell later whether the file changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.columns import Layout, check_width, feature_columns, label_index, position_notes
from slopelab.data.csvfile import LABEL_COLUMNS, feature_matrix, label_cells, read_table
from slopelab.data.dataset import (
    HELD_OUT_OPTIONS,
    Dataset,
    Split,
    ceil_fraction,
    check_room,
    check_seed,
    check_size,
    make_dataset,
    note_untrained_classes,
    split_off,
    take_first,
)
from slopelab.data.errors import DataError, option, reported_as
from slopelab.data.labels import listing, number_labels
from slopelab.data.sparse import is_sparse
from slopelab.data.sparse_npz import is_sparse_npz, sparse_features
from slopelab.data.svmlight import SVMLIGHT_SUFFIXES, read_svmlight
from slopelab.npzfile import load_npz
from slopelab.validation import check_features

__all__ = [
    "LABEL_COLUMNS",
    "FileRows",
    "LabelledRows",
    "file_sha256",
    "load_file",
    "read_csv",
    "read_npz",
    "read_svmlight_file",
]

FILE_SUFFIXES = (".npz", ".csv", *SVMLIGHT_SUFFIXES)
FILE_KINDS = "a .npz, .csv or svmlight (.svm, .svmlight, .libsvm) file"

CARVE_FRACTION = 0.1  # of X, y for each missing split: 80/10/10
CHUNK = 1 << 20  # bytes hashed at a time


@dataclass(frozen=True)
class FileRows:
    """What a file holds, in file order: ``(X, y)`` for each split it has (``"train"``
    always), the class names, notes for the user (no header row, renumbered labels), and the
    names of the feature and label columns (a CSV with a header row; else None)."""

    splits: dict[str, Split]
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()
    feature_names: tuple[str, ...] | None = None
    label_column: str | None = None
    zero_based: bool | None = None  # how an svmlight file's indices were read


@dataclass(frozen=True)
class LabelledRows:
    """The rows of a CSV in file order: ``X (N, D)``, ``y (N,)`` numbered, class names, notes,
    and the names of the feature and label columns (None without a header row)."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()
    feature_names: tuple[str, ...] | None = None
    label_column: str | None = None


def load_file(
    path: str | Path,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
    label_column: str | None = None,
    class_names: Sequence[str] | None = None,
    layout: Layout | None = None,
    test_data: str | Path | None = None,
    zero_based: bool | str = "auto",
) -> Dataset:
    """A :class:`Dataset` from a ``.npz``, ``.csv`` or svmlight file (see the module docstring).

    With ``class_names`` (a trained model's), labels are matched to them by name, the dataset
    has exactly those classes, and a label not among them is a ``DataError`` naming it. With
    ``layout`` (the same model's columns), a CSV's columns are matched to its features.
    ``test_data`` (svmlight only) is the test split's own file; ``zero_based`` (svmlight only)
    forces the index base instead of detecting it.
    """
    path = existing_file(path)
    svmlight = path.suffix.lower() in SVMLIGHT_SUFFIXES
    if test_data is not None and not svmlight:
        raise DataError(
            f"a separate test file (--test-data, test_data in Python) is read for svmlight "
            f"training files; {path} is not one: give a .npz X_test/y_test arrays, or let the "
            "test split be carved"
        )
    if zero_based != "auto" and not svmlight:
        raise DataError(f"zero_based only applies to svmlight files; {path} is not one")
    sizes = {
        "num_train": check_size(num_train, "num_train"),
        "num_val": check_size(num_val, "num_val"),
        "num_test": check_size(num_test, "num_test"),
    }
    seed = check_seed(seed)
    if svmlight:
        no_label_column(label_column, path)
        rows = read_svmlight_file(
            path, test_data, zero_based=zero_based, class_names=class_names, layout=layout
        )
    elif path.suffix.lower() == ".npz":
        no_label_column(label_column, path)
        rows = read_npz(path, class_names=class_names, layout=layout)
    else:
        labelled = read_csv(path, label_column=label_column, class_names=class_names, layout=layout)
        rows = FileRows(
            {"train": (labelled.X, labelled.y)},
            labelled.class_names,
            labelled.notes,
            labelled.feature_names,
            labelled.label_column,
        )
    carved, train, val, test = _complete_splits(dict(rows.splits), sizes, seed, path)
    if class_names is None:
        _check_training_classes(carved, {"val": val[1], "test": test[1]}, rows, path)
    dataset = make_dataset(
        path.stem,
        train,
        val,
        test,
        class_names=rows.class_names,
        image_shape=None,
        source=str(path),
        default_preprocess="none" if is_sparse(train[0]) else "standardize",
        notes=rows.notes,
        feature_names=rows.feature_names,
        label_column=rows.label_column,
        sha256=file_sha256(path),
        zero_based=rows.zero_based,
    )
    return dataset if class_names is not None else note_untrained_classes(dataset)


def read_npz(
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    layout: Layout | None = None,
) -> FileRows:
    """The splits in a ``.npz`` (``"train"`` always; ``"val"``/``"test"`` when present), labels
    numbered, in file order. With ``layout``, ``X`` must have the model's number of columns."""
    path = Path(path)
    arrays = load_npz(path, "dataset (.npz)", error=DataError)
    if is_sparse_npz(arrays):
        splits = {"train": (sparse_features(arrays, path), arrays["y"])}
        return _numbered(_check_labels(splits, path), path, arrays, class_names, layout)
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
    splits = _check_rows(splits, path)
    return _numbered(splits, path, arrays, class_names, layout)


def _numbered(
    splits: dict[str, Split],
    path: Path,
    arrays: dict[str, np.ndarray],
    class_names: Sequence[str] | None,
    layout: Layout | None,
) -> FileRows:
    """A ``.npz``'s checked splits with their labels numbered (and widths matched to
    ``layout``)."""
    notes: tuple[str, ...] = ()
    if layout is not None:
        for split, (X, _) in splits.items():
            check_width(X.shape[1], layout, f"{path} ({_tag('X', split)})")
        notes = position_notes(str(path), layout)
    labelling = number_labels(
        {split: y for split, (_, y) in splits.items()},
        where=str(path),
        describe=lambda split: f"the {_tag('y', split)} labels",
        file_names=arrays.get("class_names"),
        model_names=class_names,
    )
    numbered = {split: (X, labelling.labels[split]) for split, (X, _) in splits.items()}
    return FileRows(numbered, labelling.class_names, notes + labelling.notes)


def read_svmlight_file(
    path: str | Path,
    test_data: str | Path | None = None,
    *,
    zero_based: bool | str = "auto",
    class_names: Sequence[str] | None = None,
    layout: Layout | None = None,
) -> FileRows:
    """The training rows of an svmlight file (and the test rows of ``test_data``, read with
    the same index base and the training width), labels numbered together. With ``layout`` the
    width is the model's, as a test file's is the training file's."""
    path = Path(path)
    train = read_svmlight(
        path,
        zero_based=zero_based,
        num_features=None if layout is None else layout.num_features,
        width_source="the model",
    )
    splits = {"train": (train.X, train.y)}
    notes = train.notes
    if test_data is not None:
        test_path = existing_file(test_data)
        if test_path.suffix.lower() not in SVMLIGHT_SUFFIXES:
            raise DataError(
                f"the test file {test_path} is not an svmlight file (.svm, .svmlight, .libsvm); "
                "give the test rows in the training file's format"
            )
        test = read_svmlight(
            test_path,
            zero_based=train.zero_based,
            num_features=train.X.shape[1],
            width_source=f"the training file {path.name}",
        )
        splits["test"] = (test.X, test.y)
        base = "zero" if train.zero_based else "one"
        read_as = (
            f"{test_path}: read with {path.name}'s {base}-based indices and its "
            f"{train.X.shape[1]} features"
        )
        notes += (*test.notes[1:], read_as)
    labelling = number_labels(
        {split: y for split, (_, y) in splits.items()},
        where=str(path) if test_data is None else f"{path} and {test_data}",
        describe=lambda split: "the labels" if split == "train" else "the test file's labels",
        model_names=class_names,
    )
    numbered = {split: (X, labelling.labels[split]) for split, (X, _) in splits.items()}
    return FileRows(
        numbered, labelling.class_names, notes + labelling.notes, zero_based=train.zero_based
    )


def read_csv(
    path: str | Path,
    *,
    label_column: str | None = None,
    class_names: Sequence[str] | None = None,
    layout: Layout | None = None,
) -> LabelledRows:
    """Rows of a ``.csv`` in file order, labels numbered (see the module docstring)."""
    table = read_table(Path(path))
    label = label_index(table, label_column, layout, required=True)
    features, notes = feature_columns(table, label, layout)
    if not features:
        raise DataError(f"{path} has only a label column; it needs at least one feature column")
    X = feature_matrix(table, features)
    labelling = number_labels(
        {"train": label_cells(table, label)},
        where=f"{path}, column {table.column(label)}",
        describe=lambda _: "the labels",
        first_row=1,
        model_names=class_names,
        in_column=True,
    )
    named = table.named
    return LabelledRows(
        X,
        labelling.labels["train"],
        labelling.class_names,
        table.notes + notes + labelling.notes,
        tuple(table.header[index] for index in features) if named else None,
        table.header[label] if named else None,
    )


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None
    return digest.hexdigest()


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path, if it is an existing ``.npz``, ``.csv`` or svmlight file."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass the path of {FILE_KINDS}")
    if not path.is_file():
        raise DataError(f"no such file: {path}; pass the path of {FILE_KINDS}")
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use {FILE_KINDS}")
    return path


def no_label_column(label_column: str | None, path: Path) -> None:
    """A ``.npz`` or svmlight file has no columns: ``label_column`` must not be given."""
    if label_column is not None:
        whose = (
            "a .npz, whose labels are its array y"
            if path.suffix.lower() == ".npz"
            else "an svmlight file, whose labels start each line"
        )
        raise DataError(
            f"{option('label_column')} only applies to .csv files; {path} is {whose} (it has "
            "no columns)"
        )


def _tag(array: str, split: str) -> str:
    return array if split == "train" else f"{array}_{split}"


def _check_labels(splits: dict[str, Split], path: Path) -> dict[str, Split]:
    """One label per row of a sparse ``X`` (``(N,)`` or a column ``(N, 1)``)."""
    checked = {}
    for split, (X, y) in splits.items():
        y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1 or len(y) != X.shape[0]:
            raise DataError(
                f"{path}: {_tag('y', split)} must hold one label per row of the {X.shape[0]} "
                f"rows of {_tag('X', split)}; got shape {y.shape}"
            )
        checked[split] = (X, y)
    return checked


def _check_rows(splits: dict[str, Split], path: Path) -> dict[str, Split]:
    """At least one row and one feature, finite float32 ``X`` and one label per row (``(N,)``
    or a column ``(N, 1)``), checked before labels are numbered or splits carved, so that a
    bad row is numbered as in the file."""
    checked = {}
    with reported_as(str(path)):
        for split, (X, y) in splits.items():
            X = check_features(X, name=_tag("X", split), dtype=np.float32)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1:
                raise DataError(
                    f"{path}: {_tag('y', split)} must be 1-D (N,) or a column (N, 1), one "
                    f"label per row; got shape {y.shape}"
                )
            if len(X) != len(y):
                raise DataError(
                    f"{path}: {_tag('X', split)} has {len(X)} rows but {_tag('y', split)} has "
                    f"{len(y)} labels; they must have the same length"
                )
            checked[split] = (X, y)
    return checked


def _complete_splits(
    splits: dict[str, Split], sizes: dict[str, int | None], seed: int, path: Path
) -> tuple[Split, Split, Split, Split]:
    """Use the splits a file provides; carve the missing ones from its X, y (test first).
    Returns the training rows before ``num_train`` takes the first of them, then the three
    splits."""
    data = splits["train"]
    total = len(data[1])
    carve = {
        f"num_{split}": sizes[f"num_{split}"] or ceil_fraction(total, CARVE_FRACTION)
        for split in ("test", "val")
        if split not in splits
    }
    fix = f"add rows, or pass a smaller {HELD_OUT_OPTIONS}"
    if path.suffix.lower() == ".npz":
        fix += ", or give X_val/y_val and X_test/y_test arrays"
    asked = {name for name in carve if sizes[name] is not None}
    check_room(total, carve, asked, str(path), fix)
    for split in ("test", "val"):
        name = f"num_{split}"
        if name in carve:
            data, splits[split] = split_off(data, carve[name], seed)
        else:
            splits[split] = take_first(splits[split], sizes[name], name, f"{path} X_{split}")
    train = take_first(data, sizes["num_train"], "num_train", str(path))
    return data, train, splits["val"], splits["test"]


def _check_training_classes(
    train: Split, held_out: dict[str, np.ndarray], rows: FileRows, path: Path
) -> None:
    """Every class of the validation and test splits has training examples (before
    ``num_train`` takes its share: that gap is the user's choice, and only gets a note)."""
    trained = np.unique(train[1])
    for split, y in held_out.items():
        absent = np.setdiff1d(np.unique(y), trained)
        if not absent.size:
            continue
        names = [rows.class_names[index] for index in absent.tolist()]
        noun = "class" if len(names) == 1 else "classes"
        counts = [int(np.sum(y == index)) for index in absent.tolist()]
        how = "given" if split in rows.splits else "carved from the file's rows"
        them = "it" if len(names) == 1 else "them"
        raise DataError(
            f"{path}: {noun} {listing(names)} {'has' if len(names) == 1 else 'have'} "
            f"{sum(counts)} example{'s' if sum(counts) != 1 else ''} in the {split} split "
            f"({how}) but none in the training split; a classifier cannot learn a class it "
            f"never sees: add training examples of {them}, or drop "
            f"{'its' if len(names) == 1 else 'their'} rows"
        )
