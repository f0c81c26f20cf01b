"""How the columns of a file line up with the features a trained model reads.

A model trained on a CSV with a header row remembers the names of its feature columns, in the
order of ``W``'s rows, and the name of its label column (``model.npz``'s meta). Rows given to
it later (``slopelab predict``, ``slopelab evaluate --data``) are matched as follows.

- **A CSV with a header row**: each feature is found by name (exact, else in any letter case),
  so columns in another order are put in the model's order, with a note. A feature the file
  lacks, or a column that is neither a feature nor the label, is an error naming them.
- **By position** otherwise (a headerless CSV, a ``.npz``, or a model trained on data without
  column names): the columns are taken in order and their number must be the model's. When
  the model knows names the file cannot be checked against, a note says so.

The label column is ``label_column`` if given, else the model's own label column when the file
has it, else a column named label/class/target/y that is not one of the model's features.
"""

from __future__ import annotations

from dataclasses import dataclass

from slopelab.data.csvfile import SHOWN_COLUMNS, Table, label_column_index, match_column
from slopelab.data.errors import DataError, option


@dataclass(frozen=True)
class Layout:
    """The columns a model reads: how many, their names in ``W``'s row order (None: the
    training data had no column names), and the name of the label column it was trained on."""

    num_features: int
    feature_names: tuple[str, ...] | None = None
    label_column: str | None = None

    def features(self) -> str:
        """The feature names for a message, shortened when there are many."""
        names = self.feature_names or ()
        shown = ", ".join(names[:SHOWN_COLUMNS])
        return shown + (f", ... ({len(names)} in all)" if len(names) > SHOWN_COLUMNS else "")


def label_index(
    table: Table, label_column: str | None, layout: Layout | None, *, required: bool
) -> int | None:
    """The label column of ``table`` for rows given to a model (see the module docstring).

    ``required`` (to evaluate): when no column is named as a label, the one column that is not
    a feature of the model, else the last column; otherwise (to predict) None.
    """
    if layout is None:
        return label_column_index(table, label_column, default_last=required)
    if label_column is None and layout.label_column is not None and table.named:
        index = match_column(table, layout.label_column)
        if index is not None:
            return index
    features = layout.feature_names or ()
    index = label_column_index(table, label_column, default_last=False, not_features=features)
    if index is not None or not required:
        return index
    if features and table.named:
        others = [
            index for index in range(len(table.header)) if not _is_feature(table, index, layout)
        ]
        if len(others) == 1:
            return others[0]
    return len(table.header) - 1


def feature_columns(
    table: Table, label: int | None, layout: Layout | None
) -> tuple[list[int], tuple[str, ...]]:
    """The columns of ``table`` that hold the model's features, in the model's order, and
    notes for the user; a ``DataError`` when they do not line up."""
    others = [index for index in range(len(table.header)) if index != label]
    if layout is None:
        return others, ()
    if layout.feature_names is None or not table.named:
        names = [table.header[index] for index in others] if table.named else None
        check_width(len(others), layout, str(table.path), names, label is not None)
        return others, position_notes(str(table.path), layout)
    found = {name: match_column(table, name) for name in layout.feature_names}
    if label is not None and label in found.values():
        raise DataError(
            f"{table.path}: column {table.column(label)} is taken as the label, but the model "
            f"reads it as a feature ({layout.features()}); name the label column with "
            f"{option('label_column')}"
        )
    missing = [name for name, index in found.items() if index is None]
    extra = [table.header[index] for index in others if index not in found.values()]
    if missing or extra:
        raise DataError(_mismatch(table, layout, missing, extra, label))
    indices = [found[name] for name in layout.feature_names]
    if indices == sorted(indices):
        return indices, ()
    note = (
        f"{table.path}: its columns are in another order than the model's features; they are "
        f"matched by name and read in the model's order ({layout.features()})"
    )
    return indices, (note,)


def check_width(
    width: int,
    layout: Layout,
    where: str,
    columns: list[str] | None = None,
    label_found: bool = True,
) -> None:
    """Rows read by position have as many columns as the model has features."""
    expected = layout.num_features
    if width == expected:
        return
    message = f"{where} has {width} feature columns but the model expects {expected}"
    if columns is not None and width == expected + 1 and not label_found:
        shown = ", ".join(columns[:SHOWN_COLUMNS]) + (", ..." if width > SHOWN_COLUMNS else "")
        message += f"; if one of them ({shown}) is the label, name it with {option('label_column')}"
    else:
        message += "; give rows with the same columns as the training data"
    raise DataError(message)


def position_notes(where: str, layout: Layout) -> tuple[str, ...]:
    """A note when a model that knows its columns' names gets rows without names."""
    if layout.feature_names is None:
        return ()
    return (
        f"{where} has no column names, so its {layout.num_features} columns are taken by "
        f"position as the model's features ({layout.features()})",
    )


def _is_feature(table: Table, index: int, layout: Layout) -> bool:
    name = table.header[index].lower()
    return any(name == feature.lower() for feature in layout.feature_names or ())


def _mismatch(
    table: Table, layout: Layout, missing: list[str], extra: list[str], label: int | None
) -> str:
    parts = []
    if missing:
        parts.append(f"it lacks {_names(missing)}")
    if extra:
        parts.append(f"{_names(extra)} {'is' if len(extra) == 1 else 'are'} not among them")
    fix = "give it the columns the model was trained on (by name, in any order)"
    if len(extra) == 1 and label is None:
        fix += f", or, if {extra[0]!r} is the label, name it with {option('label_column')}"
    return (
        f"{table.path}: the model reads the feature columns {layout.features()}; "
        f"{' and '.join(parts)}; {fix}"
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:SHOWN_COLUMNS])
    more = f", ... ({len(names)} in all)" if len(names) > SHOWN_COLUMNS else ""
    noun = "column" if len(names) == 1 else "columns"
    return f"{noun} {shown}{more}"
