"""Rows given to a trained model to predict: a ``.npz``'s ``X``, a CSV's feature columns, or an
svmlight file's rows (a CSR, read with the model's width and index base).

A CSV's columns are matched to the model's features (:mod:`slopelab.data.columns`): by name
when both have names, else by position. Its label column (``label_column``, the model's own, or
one named label/class/target/y) is not a feature; its labels, and a ``.npz``'s ``y``, are
matched to the model's classes by name so that ``predict`` can report the accuracy on them.
Labels are optional here: labels that do not match cost the accuracy (with a note), not the
predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.columns import Layout, check_width, feature_columns, label_index, position_notes
from slopelab.data.csvfile import feature_matrix, label_cells, read_table
from slopelab.data.errors import DataError, reported_as
from slopelab.data.files import existing_file, no_label_column
from slopelab.data.labels import number_labels
from slopelab.data.sparse_npz import is_sparse_npz, sparse_features
from slopelab.data.svmlight import SVMLIGHT_SUFFIXES, read_svmlight
from slopelab.npzfile import load_npz
from slopelab.validation import check_features


@dataclass(frozen=True)
class FeatureRows:
    """Rows to predict, in file order: ``X (N, D)`` float32, the feature columns' names (a
    CSV's; None for a ``.npz``) and notes for the user. ``y`` holds the file's labels as the
    model's class indices when it has a label column (a ``.npz``: ``y``) that they all match,
    else None; ``label`` names where they came from."""

    X: np.ndarray
    columns: tuple[str, ...] | None
    notes: tuple[str, ...] = ()
    y: np.ndarray | None = None
    label: str | None = None


def read_features(
    path: str | Path,
    *,
    label_column: str | None = None,
    layout: Layout | None = None,
    class_names: Sequence[str] | None = None,
    zero_based: bool | str = "auto",
) -> FeatureRows:
    """Rows to predict, in file order: ``X`` of a ``.npz``, or the columns of a ``.csv``
    except its label column (``label_column``, the model's label column, or one named
    label/class/target/y, if any). With ``layout`` the columns are matched to the model's
    features (:mod:`slopelab.data.columns`); with ``class_names`` the file's labels, if any,
    are matched to the model's classes for :attr:`FeatureRows.y`. ``zero_based`` is how an
    svmlight file's indices are read: the base of the model's own training file."""
    path = existing_file(path)
    if path.suffix.lower() in SVMLIGHT_SUFFIXES:
        no_label_column(label_column, path)
        return _svmlight_features(path, layout, class_names, zero_based)
    if path.suffix.lower() == ".npz":
        no_label_column(label_column, path)
        return _npz_features(path, layout, class_names)
    table = read_table(path)
    label = label_index(table, label_column, layout, required=False)
    features, notes = feature_columns(table, label, layout)
    if not features:
        raise DataError(f"{path} has only a label column; it needs at least one feature column")
    columns = tuple(table.header[index] for index in features)
    X = feature_matrix(table, features, label_known=label is not None)
    X = X.astype(np.float32)  # within float32's range: checked
    notes = table.notes + notes
    if label is None or class_names is None:
        return FeatureRows(X, columns, notes)
    where = f"{path}, column {table.column(label)}"
    y, label_notes = _model_labels(label_cells(table, label), where, class_names, 1, None)
    return FeatureRows(X, columns, notes + label_notes, y, f"column {table.column(label)}")


def _npz_features(
    path: Path, layout: Layout | None, class_names: Sequence[str] | None
) -> FeatureRows:
    arrays = load_npz(path, ".npz of rows", error=DataError)
    if is_sparse_npz(arrays):  # scipy.sparse.save_npz's arrays plus y: a CSR, never densified
        X = sparse_features(arrays, path)
    elif "X" not in arrays:
        raise DataError(f"{path} has no array 'X'; save the rows with np.savez(path, X=X)")
    else:
        with reported_as(str(path)):
            X = check_features(arrays["X"], name="X", dtype=np.float32)
    notes: tuple[str, ...] = ()
    if layout is not None:
        check_width(X.shape[1], layout, str(path))
        notes = position_notes(str(path), layout)
    if "y" not in arrays or class_names is None:
        return FeatureRows(X, None, notes)
    y, label_notes = _model_labels(
        arrays["y"], str(path), class_names, 0, arrays.get("class_names"), X.shape[0]
    )
    return FeatureRows(X, None, notes + label_notes, y, "array y")


def _svmlight_features(
    path: Path, layout: Layout | None, class_names: Sequence[str] | None, zero_based: bool | str
) -> FeatureRows:
    read = read_svmlight(
        path,
        zero_based=zero_based,
        num_features=None if layout is None else layout.num_features,
        width_source="the model",
    )
    if class_names is None:
        return FeatureRows(read.X, None, read.notes)
    y, label_notes = _model_labels(read.y, str(path), class_names, 1, None, read.X.shape[0])
    return FeatureRows(read.X, None, read.notes + label_notes, y, "the svmlight labels")


def _model_labels(
    raw: np.ndarray,
    where: str,
    class_names: Sequence[str],
    first_row: int,
    file_names: np.ndarray | None,
    num_rows: int | None = None,
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """A file's labels as the model's class indices, or None and a note saying why not: to
    predict, labels are optional, so labels that do not fit cost the score, not the run."""
    try:
        if num_rows is not None and np.ndim(raw) >= 1 and len(raw) != num_rows:
            raise DataError(f"{where}: y has {len(raw)} labels for {num_rows} rows")
        labelling = number_labels(
            {"train": raw},
            where=where,
            describe=lambda _: "the labels",
            first_row=first_row,
            file_names=file_names,
            model_names=class_names,
        )
    except DataError as error:
        return None, (f"no accuracy reported: {error}",)
    return labelling.labels["train"], ()
