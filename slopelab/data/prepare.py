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
from slopelab.data.errors import DataError
from slopelab.data.locations import resolve_data_dir
from slopelab.data.pack import is_pack
from slopelab.data.preprocess import Preprocessor
from slopelab.data.registry import DATASETS, is_file_name, load_dataset

DATA_OPTIONS = (
    "data",
    "data_dir",
    "num_train",
    "num_val",
    "num_test",
    "preprocess",
    "label_column",
    "seed",
)


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
) -> dict[str, Any]:
    """The data part of a run's config: a file as its absolute path, and the data folder of a
    named dataset resolved (``--data-dir`` > ``$SLOPELAB_DATA`` > the user cache)."""
    named = not is_file_name(data) and data.partition(":")[0].lower() in DATASETS
    needs_folder = named and data.lower() not in ("digits",) and not data.startswith("toy2d")
    if is_file_name(data) or is_pack(data):
        data = str(Path(data).expanduser().resolve())
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
    }


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
    recorded = config.get("sha256")
    if recorded and dataset.sha256 != recorded:
        raise DataError(
            f"{config['data']} changed since this run started (its SHA-256 differs from the one "
            "in the run's config.json), so its splits would not be the run's; restore the file, "
            "or start a new run"
        )
    kind = config.get("preprocess", "auto")
    kind = dataset.default_preprocess if kind == "auto" else kind
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
    )
