"""``Dataset``: train / validation / test splits of raw features, and how splits are carved.

Every loader returns a :class:`Dataset` built by :func:`make_dataset`, which validates each
split once (finite ``X (N, D)`` as float32, ``y (N,)`` int64 labels in ``[0, C)``, the same
``D`` everywhere) and turns any problem into a one-line :class:`DataError`. A loader never
prints: what a user should know about how the data was read (a CSV without a header row,
renumbered labels) is in ``Dataset.notes``, which the command line prints.

Image rows are stored **channel-major**, the CIFAR-10 layout: a 32x32 RGB row holds 1024 red
values (row by row), then 1024 green, then 1024 blue. ``image_shape`` is ``(H, W, C)``;
:func:`row_to_image` turns a row back into an ``(H, W, C)`` array for plotting. Grey images
(MNIST, digits) are the same layout with ``C = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from slopelab.data.errors import DataError, reported_as
from slopelab.data.labels import MAX_CLASSES, to_model_classes
from slopelab.validation import check_features, check_labels

PREPROCESS_KINDS = ("standardize", "center", "scale", "none")
SPLITS = ("train", "val", "test")

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Raw features and labels of one dataset, split three ways.

    ``X_*`` are float32 ``(N, D)`` raw (unpreprocessed) rows, ``y_*`` int64 ``(N,)`` labels in
    ``[0, C)``. ``image_shape`` is ``(H, W, C)`` when rows are channel-major images, else None.
    ``default_preprocess`` is what the CLI applies when asked for "auto". ``notes`` are
    one-line remarks on how the data was read, for the user.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int] | None
    source: str
    default_preprocess: str
    notes: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        """C, the number of classes (labels are in ``[0, C)``)."""
        return len(self.class_names)

    @property
    def num_features(self) -> int:
        """D, the length of every row."""
        return int(self.X_train.shape[1])

    def summary(self) -> str:
        """One line, e.g. ``cifar10: 49000 train / 1000 val / 10000 test, 3072 features
        (32x32x3), 10 classes``."""
        shape = ""
        if self.image_shape is not None:
            shape = " (" + "x".join(str(size) for size in self.image_shape) + ")"
        return (
            f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} val / "
            f"{len(self.y_test)} test, {self.num_features} features{shape}, "
            f"{self.num_classes} classes"
        )


def make_dataset(
    name: str,
    train: Split,
    val: Split,
    test: Split,
    *,
    class_names: tuple[str, ...],
    image_shape: tuple[int, int, int] | None,
    source: str,
    default_preprocess: str,
    notes: Sequence[str] = (),
) -> Dataset:
    """Validate three ``(X, y)`` splits and wrap them in a :class:`Dataset`.

    ``X`` becomes C-contiguous float32 and ``y`` int64; NaN or infinity, labels outside
    ``[0, len(class_names))`` or mismatched shapes raise a ``DataError`` naming the split.
    """
    num_classes = len(class_names)
    if num_classes < 2:
        raise DataError(
            f"{name} ({source}) has {num_classes} class; a classifier needs at least 2 classes"
        )
    if num_classes > MAX_CLASSES:
        raise DataError(
            f"{name} ({source}) has {num_classes} classes; slopelab handles at most {MAX_CLASSES}"
        )
    arrays = {}
    with reported_as(f"{name} ({source})"):
        for split, (X, y) in zip(SPLITS, (train, val, test), strict=True):
            X = check_features(X, name=f"X_{split}", dtype=np.float32)
            y = check_labels(y, num_examples=X.shape[0], num_classes=num_classes, name=f"y_{split}")
            arrays[f"X_{split}"] = np.ascontiguousarray(X)
            arrays[f"y_{split}"] = np.ascontiguousarray(y, dtype=np.int64)
    widths = {split: arrays[f"X_{split}"].shape[1] for split in SPLITS}
    if len(set(widths.values())) != 1:
        raise DataError(
            f"{name} ({source}): the splits have different numbers of features "
            f"(train {widths['train']}, val {widths['val']}, test {widths['test']}); "
            "every row must have the same length"
        )
    if image_shape is not None and math.prod(image_shape) != widths["train"]:
        raise DataError(
            f"{name} ({source}): image shape {image_shape} holds {math.prod(image_shape)} "
            f"values but rows have {widths['train']} features"
        )
    if default_preprocess not in PREPROCESS_KINDS:
        raise DataError(
            f"unknown default_preprocess {default_preprocess!r}; use one of {PREPROCESS_KINDS}"
        )
    return Dataset(
        name=name,
        **arrays,
        class_names=tuple(str(class_name) for class_name in class_names),
        image_shape=image_shape,
        source=source,
        default_preprocess=default_preprocess,
        notes=tuple(notes),
    )


def with_class_names(dataset: Dataset, class_names: Sequence[str]) -> Dataset:
    """``dataset`` with its labels renumbered as indices into ``class_names`` (a trained
    model's), matched by name; a class the model does not know is a ``DataError``."""
    labels = {split: getattr(dataset, f"y_{split}") for split in SPLITS}
    mapped = to_model_classes(
        labels, dataset.class_names, class_names, f"{dataset.name} ({dataset.source})"
    )
    return replace(
        dataset,
        class_names=tuple(class_names),
        **{f"y_{split}": mapped[split] for split in SPLITS},
    )


def row_to_image(row: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """A channel-major row ``(H*W*C,)`` as an ``(H, W, C)`` image (a view when possible).

    >>> row = np.array([1, 2, 3, 4, 10, 20, 30, 40])  # 2x2, two channels: [1 2 3 4] [10 20 ...]
    >>> row_to_image(row, (2, 2, 2))[0, 1]  # top row, right pixel: (channel 0, channel 1)
    array([ 2, 20])
    """
    height, width, channels = image_shape
    return np.asarray(row).reshape(channels, height, width).transpose(1, 2, 0)


def rows_to_images(X: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Channel-major rows ``(N, H*W*C)`` as images ``(N, H, W, C)``."""
    height, width, channels = image_shape
    return np.asarray(X).reshape(-1, channels, height, width).transpose(0, 2, 3, 1)


def check_size(value: int | None, name: str) -> int | None:
    """``value`` if it is None or an integer >= 1, else a ``DataError`` naming ``name``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataError(
            f"{name} must be a whole number >= 1 (or None for the default); got {value!r}"
        )
    return int(value)


def check_seed(seed: int) -> int:
    """``seed`` if it is a whole number >= 0 (what every seeded split accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise DataError(f"seed must be an integer; got {seed!r}")
    if seed < 0:
        raise DataError(
            f"seed must be >= 0 (numpy and scikit-learn refuse negative seeds); got {seed}"
        )
    return int(seed)


def take_first(split: Split, count: int | None, name: str, what: str) -> Split:
    """The first ``count`` rows of ``split`` (all when None); asking for more is an error."""
    X, y = split
    if count is None:
        return X, y
    if count > len(y):
        raise DataError(
            f"{name}={count} but {what} has only {len(y)} examples; ask for at most {len(y)}"
        )
    return X[:count], y[:count]


def tail_split(train: Split, num_train: int | None, num_val: int, what: str) -> tuple[Split, Split]:
    """CS231n's split: validation is the *last* ``num_val`` training rows, training the first
    ``num_train`` of the rest (default: all of the rest)."""
    X, y = train
    if num_val >= len(y):
        raise DataError(
            f"num_val={num_val} leaves no training examples: {what} has {len(y)} training rows; "
            "pass a smaller num_val"
        )
    rest = (X[: len(y) - num_val], y[: len(y) - num_val])
    val = (X[len(y) - num_val :], y[len(y) - num_val :])
    return take_first(rest, num_train, "num_train", f"{what} (after taking {num_val} for val)"), val


def ceil_fraction(count: int, fraction: float) -> int:
    """``ceil(fraction * count)``, the size scikit-learn gives a float ``test_size``."""
    return math.ceil(fraction * count)


def shuffle_split(
    data: Split, num_train: int | None, num_val: int, num_test: int, seed: int, what: str
) -> tuple[Split, Split, Split]:
    """Seeded random train / val / test split, stratified by label when possible.

    The test rows are split off first, then the validation rows from what remains (the same two
    ``train_test_split`` calls as carving the digits by hand). ``num_train`` takes the first rows
    of the remainder (default: all of it).
    """
    X, y = data
    if num_val + num_test >= len(y):
        raise DataError(
            f"{what} has {len(y)} examples: too few for {num_val} validation and {num_test} test "
            "examples plus at least 1 for training; pass smaller num_val/num_test or more data"
        )
    rest, test = split_off((X, y), num_test, seed)
    train, val = split_off(rest, num_val, seed)
    return take_first(train, num_train, "num_train", f"{what} (after val and test)"), val, test


def split_off(data: Split, size: int, seed: int) -> tuple[Split, Split]:
    """``(rest, part)``: ``size`` rows drawn at random (seeded), stratified when possible."""
    from sklearn.model_selection import train_test_split  # loads only when a split is carved

    X, y = data
    try:
        parts = train_test_split(X, y, test_size=size, random_state=seed, stratify=y)
    except ValueError:  # a class too small to appear in both parts: fall back to plain shuffling
        parts = train_test_split(X, y, test_size=size, random_state=seed)
    X_rest, X_part, y_rest, y_part = parts
    return (X_rest, y_rest), (X_part, y_part)
