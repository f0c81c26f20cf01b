"""A dataset ready to train on: loaded by a config, preprocessed (fitted on the training split).

``data_config`` turns data options into the JSON-ready dict a run folder records, with every
path resolved, so a run can be evaluated or resumed from any working directory;
``prepare_data`` loads what such a dict names and applies the preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.dataset import Dataset
from slopelab.data.errors import DataError, option
from slopelab.data.files import file_sha256
from slopelab.data.locations import resolve_data_dir
from slopelab.data.pack import is_pack
from slopelab.data.preprocess import SPARSE_AUTO_NOTE, SPARSE_AUTO_PREPROCESS, Preprocessor
from slopelab.data.registry import DATASETS, is_file_name, load_dataset
from slopelab.data.svmlight import SVMLIGHT_SUFFIXES

DATA_OPTIONS = (
    "data",
    "data_dir",
    "num_train",
    "num_val",
    "num_test",
    "preprocess",
    "label_column",
    "seed",
    "test_data",
    "zero_based",
)
ZERO_BASED_CHOICES = {"auto": "auto", "yes": True, "no": False}


@dataclass
class Prepared:
    """A dataset with its preprocessing fitted on the training split and applied to all.
    ``X_*`` are arrays, or :class:`~slopelab.data.stream.StreamedRows` for a streamed pack."""

    dataset: Dataset
    preprocessor: Preprocessor
    preprocess: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    notes: tuple[str, ...] = ()  # on the preprocessing chosen, for the user

    @property
    def chance(self) -> float:
        return 1.0 / self.dataset.num_classes


def data_config(
    data: str,
    *,
    data_dir: str | None = None,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    preprocess: str = "auto",
    label_column: str | None = None,
    seed: int = 0,
    test_data: str | None = None,
    zero_based: bool | str | None = "auto",
) -> dict[str, Any]:
    """The data part of a run's config: a file as its absolute path, and the data folder of a
    named dataset resolved (``--data-dir`` > ``$SLOPELAB_DATA`` > the user cache).

    ``test_data`` (an svmlight test file) becomes an absolute path too; ``zero_based`` is the
    index base asked for: ``"auto"`` (or None), True/False, or the flag's ``yes``/``no``.
    :func:`record_read` replaces both by what was read (the file's SHA-256, the base used)."""
    named = not is_file_name(data) and data.partition(":")[0].lower() in DATASETS
    needs_folder = named and data.lower() not in ("digits",) and not data.startswith("toy2d")
    if is_file_name(data) or is_pack(data):
        data = str(Path(data).expanduser().resolve())
    base = _index_base(zero_based)
    if (test_data is not None or base != "auto") and not is_svmlight_name(data):
        asked, why = (
            (option("test_data"), " (its test split comes from the data itself)")
            if test_data is not None
            else (option("zero_based"), "")
        )
        raise DataError(
            f"{asked} applies to svmlight files ({', '.join(SVMLIGHT_SUFFIXES)}); {data} is not "
            f"one{why}: drop the option"
        )
    folder = resolve_data_dir(data_dir) if needs_folder else data_dir
    return {
        "data": data,
        "data_dir": None if folder is None else str(Path(folder).expanduser().resolve()),
        "num_train": num_train,
        "num_val": num_val,
        "num_test": num_test,
        "preprocess": preprocess,
        "label_column": label_column,
        "seed": seed,
        "test_data": None if test_data is None else str(Path(test_data).expanduser().resolve()),
        "zero_based": base,
    }


def is_svmlight_name(data: str | None) -> bool:
    """Whether ``data`` names an svmlight file (by its suffix)."""
    return data is not None and Path(data).suffix.lower() in SVMLIGHT_SUFFIXES


def _index_base(zero_based: bool | str | None) -> bool | str:
    if zero_based is None or isinstance(zero_based, bool):
        return "auto" if zero_based is None else zero_based
    if zero_based not in ZERO_BASED_CHOICES:
        raise DataError(f"zero_based must be 'auto', 'yes' or 'no'; got {zero_based!r}")
    return ZERO_BASED_CHOICES[zero_based]


def record_read(config: dict[str, Any], dataset: Dataset) -> None:
    """Record in a data config what reading it found, so the run can be resumed and its model
    read other files the same way: the files' SHA-256 (a resumed run refuses a changed file)
    and the svmlight index base actually used (never "auto": another file may not show it)."""
    config["sha256"] = dataset.sha256
    if dataset.zero_based is not None:
        config["zero_based"] = dataset.zero_based
    if config.get("test_data"):
        config["test_sha256"] = file_sha256(Path(config["test_data"]))


def prepare_data(config: dict[str, Any], keep_raw: bool = False) -> Prepared:
    """Load the dataset named in ``config`` and preprocess it (float32). A config that records
    its file's SHA-256 (a run's, to resume it) refuses a file that changed since: its splits
    would not be the run's.

    The splits are preprocessed in place, so the data is in memory once (CIFAR-10's 600 MB, not
    twice that) and ``prepared.dataset.X_*`` hold the preprocessed rows too; ``keep_raw=True``
    keeps the raw rows in ``prepared.dataset`` beside preprocessed copies (for a command that
    applies a saved model's own preprocessing to the raw data).

    A config with a ``stream`` entry (a pack, for a command that streams it) reads nothing but
    the labels here: see :mod:`slopelab.data.streamed_pack`."""
    if config.get("stream") is not None:
        from slopelab.data.streamed_pack import prepare_streamed

        return prepare_streamed(config)
    dataset = load_dataset(
        config["data"],
        data_dir=config.get("data_dir"),
        num_train=config.get("num_train"),
        num_val=config.get("num_val"),
        num_test=config.get("num_test"),
        seed=config.get("seed", 0),
        label_column=config.get("label_column"),
        test_data=config.get("test_data"),
        zero_based=config.get("zero_based", "auto"),
    )
    _check_unchanged(config["data"], dataset.sha256, config.get("sha256"))
    if config.get("test_sha256"):
        test_path = Path(config["test_data"])
        _check_unchanged(config["test_data"], file_sha256(test_path), config["test_sha256"])
    asked = config.get("preprocess", "auto")
    kind = preprocess_kind(asked, dataset)
    preprocessor = Preprocessor(kind).fit(dataset.X_train)

    splits = (dataset.X_train, dataset.X_val, dataset.X_test)
    shared = any(
        np.may_share_memory(a, b) for i, a in enumerate(splits) for b in splits[i + 1 :]
    )  # the same rows in two splits (toy2d's 9 points) must not be transformed twice

    def transform(X: np.ndarray) -> np.ndarray:
        if keep_raw or shared:
            return preprocessor.transform(X).astype(np.float32, copy=False)
        return preprocessor.transform_in_place(X)

    return Prepared(
        dataset,
        preprocessor,
        kind,
        transform(dataset.X_train),
        dataset.y_train,
        transform(dataset.X_val),
        dataset.y_val,
        transform(dataset.X_test),
        dataset.y_test,
        preprocess_notes(asked, dataset),
    )


def preprocess_kind(asked: str, dataset: Dataset) -> str:
    """The preprocessing ``asked`` names: ``"auto"`` is the dataset's default, and for sparse
    data the sparse-safe scaling (:data:`SPARSE_AUTO_PREPROCESS`, never centering)."""
    if asked != "auto":
        return asked
    return SPARSE_AUTO_PREPROCESS if dataset.is_sparse else dataset.default_preprocess


def preprocess_notes(asked: str, dataset: Dataset) -> tuple[str, ...]:
    """What to tell the user about the preprocessing: why sparse data is only scaled."""
    return (SPARSE_AUTO_NOTE,) if asked == "auto" and dataset.is_sparse else ()


def _check_unchanged(path: str, sha256: str | None, recorded: str | None) -> None:
    if recorded and sha256 != recorded:
        raise DataError(
            f"{path} changed since this run started (its SHA-256 differs from the one in the "
            "run's config.json), so its splits would not be the run's; restore the file, or "
            "start a new run"
        )
