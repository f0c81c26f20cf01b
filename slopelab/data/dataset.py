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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from slopelab.data.errors import DataError, option, reported_as
from slopelab.data.labels import MAX_CLASSES, listing, to_model_classes
from slopelab.data.sparse import check_sparse_features, is_sparse
from slopelab.validation import check_features, check_labels

PREPROCESS_KINDS = ("standardize", "center", "scale", "none")
SPLITS = ("train", "val", "test")
SPLIT_NOUNS = {"num_train": "training", "num_val": "validation", "num_test": "test"}
HELD_OUT_OPTIONS = "--num-val/--num-test (num_val/num_test in Python)"

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Raw features and labels of one dataset, split three ways.

    ``X_*`` are float32 ``(N, D)`` raw (unpreprocessed) rows, ``y_*`` int64 ``(N,)`` labels in
    ``[0, C)``. The ``X_*`` of a sparse file (svmlight, sparse ``.npz``) are scipy CSR float32
    matrices, all three (``is_sparse``), never densified. ``image_shape`` is ``(H, W, C)``
    when rows are channel-major images, else None.
    ``default_preprocess`` is what the CLI applies when asked for "auto". ``notes`` are
    one-line remarks on how the data was read, for the user. A CSV with a header row also
    gives ``feature_names`` (the columns of ``X``, in order) and ``label_column``; ``sha256``
    is the hex SHA-256 of a user's file, so a run can tell later whether it changed.
    ``zero_based`` is how an svmlight file's indices were read (True: index 0 is column 0;
    False: index 1 is), None for every other source: a model trained on it must read other
    svmlight files the same way.
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
    feature_names: tuple[str, ...] | None = None
    label_column: str | None = None
    sha256: str | None = None
    zero_based: bool | None = None

    @property
    def num_classes(self) -> int:
        """C, the number of classes (labels are in ``[0, C)``)."""
        return len(self.class_names)

    @property
    def is_sparse(self) -> bool:
        """Whether the ``X_*`` are scipy CSR matrices rather than numpy arrays."""
        return is_sparse(self.X_train)

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
    feature_names: Sequence[str] | None = None,
    label_column: str | None = None,
    sha256: str | None = None,
    zero_based: bool | None = None,
) -> Dataset:
    """Validate three ``(X, y)`` splits and wrap them in a :class:`Dataset`.

    ``X`` becomes C-contiguous float32 and ``y`` int64; NaN or infinity, labels outside
    ``[0, len(class_names))`` or mismatched shapes raise a ``DataError`` naming the split.
    Sparse splits (all three, or none) become canonical CSR float32, checked in O(nnz).
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
    splits = (train, val, test)
    kinds = {is_sparse(X) for X, _ in splits}
    if len(kinds) != 1:
        raise DataError(
            f"{name} ({source}): some splits are sparse matrices and some dense arrays; give "
            "every split in the same form"
        )
    arrays = {}
    with reported_as(f"{name} ({source})"):
        for split, (X, y) in zip(SPLITS, splits, strict=True):
            X = _check_split_features(X, f"X_{split}")
            y = check_labels(y, num_examples=X.shape[0], num_classes=num_classes, name=f"y_{split}")
            arrays[f"X_{split}"] = X
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
    if feature_names is not None and len(feature_names) != widths["train"]:
        raise DataError(
            f"{name} ({source}): {len(feature_names)} feature names for {widths['train']} "
            "features; give one name per column"
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
        feature_names=None if feature_names is None else tuple(feature_names),
        label_column=label_column,
        sha256=sha256,
        zero_based=zero_based,
    )


def _check_split_features(X: object, name: str) -> object:
    """Dense rows as C-contiguous float32; sparse rows as canonical CSR float32 (never dense)."""
    if is_sparse(X):
        return check_sparse_features(X, name)
    return np.ascontiguousarray(check_features(X, name=name, dtype=np.float32))


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


def note_untrained_classes(dataset: Dataset) -> Dataset:
    """``dataset`` with a note naming the classes its training split has no example of (after
    a small ``num_train``, or class names that no row has): the model cannot learn them."""
    trained = set(np.unique(dataset.y_train).tolist())
    held_out = set(np.unique(np.concatenate([dataset.y_val, dataset.y_test])).tolist())
    untrained = [index for index in range(dataset.num_classes) if index not in trained]
    notes = []
    evaluated = [dataset.class_names[index] for index in untrained if index in held_out]
    if evaluated:
        notes.append(
            f"{dataset.name}: the training split ({len(dataset.y_train)} examples) has no "
            f"example of {_classes(evaluated)}, which the validation or test split has; the "
            f"model cannot learn them (a larger {option('num_train')} may include them)"
        )
    unused = [dataset.class_names[index] for index in untrained if index not in held_out]
    if unused:
        notes.append(
            f"{dataset.name}: no split has an example of {_classes(unused)}; the model has a "
            "column for them but never learns them"
        )
    return replace(dataset, notes=(*dataset.notes, *notes)) if notes else dataset


def _classes(names: list[str]) -> str:
    return f"{'class' if len(names) == 1 else 'classes'} {listing(names)}"


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


def given_sizes(**sizes: int | None) -> set[str]:
    """The names of the sizes the user gave (not None), e.g. ``{"num_test"}``."""
    return {name for name, value in sizes.items() if value is not None}


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
            f"{option(name, count)} but {what} has only {len(y)} examples; ask for at most {len(y)}"
        )
    return X[:count], y[:count]


def size_text(name: str, value: int, asked: bool) -> str:
    """A split size as the user gave it (``--num-val 5 (num_val=5 in Python)``) or as a default
    (``144 validation examples (the default)``)."""
    if asked:
        return option(name, value)
    plural = "" if value == 1 else "s"
    return f"{value} {SPLIT_NOUNS[name]} example{plural} (the default)"


def check_room(
    total: int, sizes: dict[str, int], asked: Collection[str], what: str, fix: str
) -> None:
    """The held-out ``sizes`` (``{"num_val": 5, ...}``) leave at least one training example;
    otherwise a ``DataError`` naming each size as the user gave it. A size asked for that
    alone is too large is named on its own."""
    if sum(sizes.values()) < total:
        return
    alone = {name: value for name, value in sizes.items() if name in asked and value >= total}
    listed = " and ".join(
        size_text(name, value, name in asked) for name, value in (alone or sizes).items()
    )
    examples = "example" if total == 1 else "examples"
    raise DataError(
        f"{what} has {total} {examples}: too few for {listed} plus at least 1 for training; {fix}"
    )


def tail_split(
    train: Split, num_train: int | None, num_val: int, what: str, *, asked: bool = True
) -> tuple[Split, Split]:
    """CS231n's split: validation is the *last* ``num_val`` training rows, training the first
    ``num_train`` of the rest (default: all of the rest). ``asked``: ``num_val`` is the user's,
    not a default (for the message)."""
    X, y = train
    check_room(
        len(y),
        {"num_val": num_val},
        {"num_val"} if asked else (),
        f"the training set of {what}",
        f"pass a smaller {option('num_val')}",
    )
    rest = (X[: len(y) - num_val], y[: len(y) - num_val])
    val = (X[len(y) - num_val :], y[len(y) - num_val :])
    return take_first(rest, num_train, "num_train", f"{what} (after taking {num_val} for val)"), val


def ceil_fraction(count: int, fraction: float) -> int:
    """``ceil(fraction * count)``, the size scikit-learn gives a float ``test_size``."""
    return math.ceil(fraction * count)


def shuffle_split(
    data: Split,
    num_train: int | None,
    num_val: int,
    num_test: int,
    seed: int,
    what: str,
    *,
    asked: Collection[str] = ("num_val", "num_test"),
) -> tuple[Split, Split, Split]:
    """Seeded random train / val / test split, stratified by label when possible.

    The test rows are split off first, then the validation rows from what remains (the same two
    ``train_test_split`` calls as carving the digits by hand). ``num_train`` takes the first rows
    of the remainder (default: all of it). ``asked`` names the sizes the user gave (the others
    are defaults), for the message when they do not fit.
    """
    X, y = data
    check_room(
        len(y),
        {"num_val": num_val, "num_test": num_test},
        asked,
        what,
        f"pass a smaller {HELD_OUT_OPTIONS} or more data",
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
