"""Class labels of a user's file, numbered ``0..C-1``, or matched to a trained model's classes.

The rules, the same for ``.npz`` and ``.csv`` files:

- **Text** labels (``cat``, ``dog``) are sorted; the sorted names are the class names.
- **Whole numbers** that are exactly ``0..C-1`` are used as they are (class names "0".."C-1").
- **Other whole numbers** (gaps such as ``{3, 7}``, negative numbers) are renumbered in
  increasing order and keep their values as class names ("3", "7"), with a note. No class is
  ever made for a value that no example has: labels ``{0, 1000000}`` are 2 classes.
- **Numbers with a fraction** (``0.5``) are refused: they are measurements (a regression
  target), or the wrong column was taken as the label.
- At most :data:`MAX_CLASSES` classes.
- A ``.npz`` with ``class_names`` has labels that index them (or text labels among them).

Given a model's ``class_names`` (``model_names``), labels are matched to them **by name**: a
file holding only ``dog`` rows, or only 7s, is numbered as the model numbers its classes, and a
label the model does not know is an error naming it. Numbers match by their spelling as whole
numbers (the label ``7.0`` is class "7").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from slopelab.data.errors import DataError, option
from slopelab.data.number_text import is_number, parse_numbers
from slopelab.validation import MAX_CLASSES

LARGEST_LABEL = 2**53  # a float64 holds every whole number up to here exactly
SHOWN = 5  # label values listed in a message before "..."
COLUMN_HINT = f"if another column holds the classes, choose it with {option('label_column')}"


@dataclass(frozen=True)
class Labelling:
    """Labels as int64 class indices per split, the class names, and notes for the user."""

    labels: dict[str, np.ndarray]
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()


def number_labels(
    raw: Mapping[str, np.ndarray],
    *,
    where: str,
    describe: Callable[[str], str],
    first_row: int = 0,
    file_names: Sequence[str] | None = None,
    model_names: Sequence[str] | None = None,
    in_column: bool = False,
) -> Labelling:
    """Number the labels of every split by the rules of the module docstring.

    ``where`` names the file, ``describe(split)`` the labels ("the labels", "the y_val labels")
    and ``first_row`` how rows are counted in messages (1 for CSV rows, 0 for array indices).
    ``in_column``: the labels are a CSV column, so a message may suggest choosing another.

    >>> number_labels({"train": np.array([7, 3, 7])}, where="f", describe=str).class_names
    ('3', '7')
    """
    values = {
        split: label_values(np.asarray(y), where, describe(split), first_row, in_column)
        for split, y in raw.items()
    }
    if len({array.dtype.kind for array in values.values()}) > 1:
        raise DataError(f"{where}: the label arrays mix numbers and text; use one kind for all")
    everything = np.concatenate(list(values.values()))
    if everything.size == 0:
        raise DataError(f"{where}: {describe('train')} are empty (0 rows); need at least 1 example")
    notes: tuple[str, ...] = ()
    if file_names is not None:
        names = check_class_names(file_names, f"{where}: class_names")
        indices = _indices_into(values, names, where)
    elif everything.dtype.kind == "i":
        indices, names, notes = _number_integers(values, everything, where, in_column)
    else:
        names = tuple(np.unique(everything).tolist())  # sorted by name
        indices = {split: np.searchsorted(names, array) for split, array in values.items()}
    if model_names is not None:
        return Labelling(to_model_classes(indices, names, model_names, where), tuple(model_names))
    _check_count(len(names), where, describe("train"), in_column)
    return Labelling(
        {split: array.astype(np.int64) for split, array in indices.items()}, names, notes
    )


def label_values(
    y: np.ndarray, where: str, described: str, first_row: int = 0, in_column: bool = False
) -> np.ndarray:
    """Labels as int64 when they are whole numbers (also when written as text), else as
    stripped strings; NaN, infinity, fractions, empty labels and a mix of numbers and text are
    errors naming a row. A column vector ``(N, 1)`` is read as ``(N,)``."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{where}: {described} must be 1-D (N,) or a column (N, 1); got shape {y.shape}"
        )
    if y.dtype.kind in "biu":
        return _integers(y, where, described)
    if y.dtype.kind == "f":
        return _whole_numbers(y.astype(np.float64), where, described, first_row, in_column)
    if y.dtype.kind not in "US":
        raise DataError(f"{where}: {described} must be numbers or text; got dtype {y.dtype}")
    text = np.char.strip(np.char.decode(y, "utf-8", "replace") if y.dtype.kind == "S" else y)
    text = text.astype(str)
    empty = np.flatnonzero(text == "")
    if empty.size:
        raise DataError(
            f"{where}: {described} are empty in row {empty[0] + first_row}; fill them in"
        )
    numbers = parse_numbers(text)
    if numbers is not None:
        return _whole_numbers(numbers, where, described, first_row, in_column)
    _check_one_kind(text, where, described, first_row)
    return text


def _check_one_kind(text: np.ndarray, where: str, described: str, first_row: int) -> None:
    """Text labels hold no number: ``0, 1, True`` is a typo or two columns' worth of labels,
    refused as a ``.npz`` whose label arrays mix numbers and text is."""
    numeric = np.fromiter((is_number(cell) for cell in text.tolist()), bool, len(text))
    if not numeric.any():
        return
    number, word = np.flatnonzero(numeric)[0], np.flatnonzero(~numeric)[0]
    raise DataError(
        f"{where}: {described} mix numbers and text (row {number + first_row} holds "
        f"{str(text[number])!r}, row {word + first_row} holds {str(text[word])!r}); use one "
        "kind: all whole numbers or all class names"
    )


def check_class_names(names: Sequence[str] | np.ndarray, what: str) -> tuple[str, ...]:
    """Class names as a tuple of distinct, non-empty strings (at most :data:`MAX_CLASSES`)."""
    array = np.asarray(names)
    if array.ndim != 1 or array.dtype.kind not in "USiu":
        raise DataError(f"{what} must be a 1-D array of names; got {array.dtype} {array.shape}")
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8", "replace")
    result = tuple(str(name) for name in array.tolist())
    if len(result) > MAX_CLASSES:
        raise DataError(
            f"{what} lists {len(result)} classes; slopelab handles at most {MAX_CLASSES}"
        )
    if any(not name.strip() for name in result):
        raise DataError(f"{what} holds an empty name; give every class a name")
    if len(set(result)) != len(result):
        twice = sorted({name for name in result if result.count(name) > 1})
        raise DataError(f"{what} lists {listing(twice)} more than once; names must be distinct")
    return result


def to_model_classes(
    indices: Mapping[str, np.ndarray],
    names: Sequence[str],
    model_names: Sequence[str],
    where: str,
) -> dict[str, np.ndarray]:
    """Labels that index ``names`` re-indexed into ``model_names``, matched by name."""
    position = {name: index for index, name in enumerate(model_names)}
    used = np.unique(np.concatenate([np.asarray(array) for array in indices.values()]))
    unknown = [names[index] for index in used.tolist() if names[index] not in position]
    if unknown:
        noun = "label" if len(unknown) == 1 else "labels"
        raise DataError(
            f"{where}: {noun} {listing(unknown)} "
            f"{'is not a class' if len(unknown) == 1 else 'are not classes'} of the model, "
            f"whose {len(model_names)} classes are {listing(list(model_names), 10)}; "
            "give data labelled with the model's class names"
        )
    lookup = np.array([position.get(name, -1) for name in names], dtype=np.int64)
    return {split: lookup[np.asarray(array)] for split, array in indices.items()}


def _indices_into(
    values: Mapping[str, np.ndarray], names: tuple[str, ...], where: str
) -> dict[str, np.ndarray]:
    """Integer labels index ``names``; text labels must be among them."""
    result = {}
    for split, array in values.items():
        if array.dtype.kind == "i":
            outside = np.flatnonzero((array < 0) | (array >= len(names)))
            if outside.size:
                raise DataError(
                    f"{where}: label {array[outside[0]]} (row {outside[0]}) is not an index "
                    f"into class_names, which has {len(names)} names; labels must be in "
                    f"[0, {len(names)})"
                )
            result[split] = array
            continue
        unknown = sorted(set(array.tolist()) - set(names))
        if unknown:
            raise DataError(
                f"{where}: labels {listing(unknown)} are not among the class names "
                f"{listing(list(names), 10)}"
            )
        position = {name: index for index, name in enumerate(names)}
        result[split] = np.array([position[name] for name in array.tolist()], dtype=np.int64)
    return result


def _number_integers(
    values: Mapping[str, np.ndarray], everything: np.ndarray, where: str, in_column: bool
) -> tuple[dict[str, np.ndarray], tuple[str, ...], tuple[str, ...]]:
    distinct = np.unique(everything)
    count = len(distinct)
    _check_count(count, where, "the labels", in_column)
    names = tuple(str(value) for value in distinct.tolist())
    if distinct[0] == 0 and distinct[-1] == count - 1:
        return dict(values), names, ()
    note = (
        f"{where}: labels {listing(distinct.tolist())} are not 0..{count - 1}; they are "
        f"renumbered 0..{count - 1} in increasing order and kept as the class names"
    )
    indices = {split: np.searchsorted(distinct, array) for split, array in values.items()}
    return indices, names, (note,)


def _integers(y: np.ndarray, where: str, described: str) -> np.ndarray:
    if y.size and y.dtype.kind == "u" and int(y.max()) > np.iinfo(np.int64).max:
        raise DataError(f"{where}: {described} hold {int(y.max())}, too large for a class label")
    return y.astype(np.int64)


def _whole_numbers(
    numbers: np.ndarray, where: str, described: str, first_row: int, in_column: bool
) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise DataError(
            f"{where}: {described} contain NaN or infinity in row {bad[0] + first_row}; "
            "fill in or drop that row"
        )
    fractional = np.flatnonzero(numbers != np.round(numbers))
    if fractional.size:
        distinct = len(np.unique(numbers))
        hint = f"{COLUMN_HINT}; " if in_column else ""
        raise DataError(
            f"{where}: {described} hold numbers with a fraction, such as "
            f"{numbers[fractional[0]]:g} in row {fractional[0] + first_row} ({distinct} "
            "distinct values): a classifier needs class labels (whole numbers or text); "
            f"{hint}a regression target must be binned into classes first"
        )
    huge = np.flatnonzero(np.abs(numbers) > LARGEST_LABEL)
    if huge.size:
        raise DataError(
            f"{where}: {described} hold {numbers[huge[0]]:g} in row {huge[0] + first_row}, "
            "too large for a class label"
        )
    return numbers.astype(np.int64)


def _check_count(count: int, where: str, described: str, in_column: bool = False) -> None:
    if count > MAX_CLASSES:
        question = (
            f"is this the label column? ({COLUMN_HINT})"
            if in_column
            else "do they hold one class label per row?"
        )
        raise DataError(
            f"{where}: {described} take {count} distinct values, more classes than the "
            f"{MAX_CLASSES} slopelab handles; {question}"
        )


def listing(items: list, limit: int = SHOWN) -> str:
    shown = ", ".join(repr(item) if isinstance(item, str) else str(item) for item in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
