"""Dataset names and what they stand for: ``DATASETS`` and :func:`load_dataset`.

``load_dataset`` takes a name (``digits``, ``cifar10``, ``mnist``, ``fashion-mnist``, ``toy2d``
or ``toy2d:GENERATOR``), the path of a ``.npz``/``.csv``/svmlight file or of a pack (a folder
written by ``slopelab data pack``, read into memory; see :mod:`slopelab.data.pack`), and returns a
validated :class:`~slopelab.data.dataset.Dataset` of raw float32 features (CSR for sparse files).
Preprocessing is separate (:class:`~slopelab.data.preprocess.Preprocessor`), fitted on the
training split by the caller.

Download checksums are SHA-256 of the files as published, taken from public sources cited next
to each one; ``download`` refuses a file whose hash differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slopelab.data import toy2d
from slopelab.data.cifar10 import ARCHIVE_SUFFIXES, find_cifar10, load_cifar10
from slopelab.data.columns import Layout, check_width
from slopelab.data.dataset import (
    Dataset,
    Split,
    ceil_fraction,
    check_seed,
    check_size,
    given_sizes,
    make_dataset,
    note_untrained_classes,
    shuffle_split,
    take_first,
    with_class_names,
)
from slopelab.data.errors import DataError, option
from slopelab.data.files import FILE_SUFFIXES, file_sha256, load_file
from slopelab.data.idx import DIGIT_NAMES, find_idx_files, load_idx_dataset
from slopelab.data.locations import resolve_data_dir
from slopelab.data.pack import METADATA, Pack, is_pack, open_pack
from slopelab.data.pack_splits import carve_splits


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: where from, and the SHA-256 (hex) it must have."""

    filename: str
    url: str
    sha256: str
    size: int | None = None  # bytes, for the progress bar when the server sends no length


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset name means: a description, the files a loader looks for, the default
    split, and where ``download`` fetches it from (empty when nothing needs downloading)."""

    name: str
    description: str
    files: tuple[str, ...]
    default_split: str
    downloads: tuple[RemoteFile, ...] = field(default=())

    @property
    def urls(self) -> tuple[str, ...]:
        """The download URLs, in order (empty for embedded or generated data)."""
        return tuple(remote.url for remote in self.downloads)


# SHA-256 of cifar-10-python.tar.gz (170,498,071 bytes; MD5 c58f30108f718f92721af3b95e74349a as
# published on https://www.cs.toronto.edu/~kriz/cifar.html): the `file_hash` in Keras' loader,
# tensorflow/tensorflow tensorflow/python/keras/datasets/cifar10.py.
CIFAR10_FILES = (
    RemoteFile(
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        170_498_071,
    ),
)

# Fashion-MNIST's official S3 host (zalandoresearch/fashion-mnist README). SHA-256 and sizes from
# tensorflow/datasets tensorflow_datasets/url_checksums/fashion_mnist.txt (same URLs).
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_FILES = tuple(
    RemoteFile(name, _FASHION_URL + name, sha256, size)
    for name, sha256, size in (
        (
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            26_421_880,
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            29_515,
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            4_422_102,
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            5_148,
        ),
    )
)

# MNIST from the mirror torchvision uses (yann.lecun.com often refuses downloads). SHA-256 and
# sizes from tensorflow/datasets tensorflow_datasets/url_checksums/mnist.txt, measured on the
# CVDF mirror; the mirrors serve LeCun's original files (same sizes, and torchvision's MD5s for
# this mirror are the originals'), so the hashes carry over.
_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = tuple(
    RemoteFile(name, _MNIST_URL + name, sha256, size)
    for name, sha256, size in (
        (
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9_912_422,
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28_881,
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1_648_877,
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4_542,
        ),
    )
)

_IDX_NAMES = (
    "train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]",
    "t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]",
)  # fmt: skip
_IDX_SPLIT = "the last 1,000 of 60,000 training images for val, 10,000 test"

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits",
        "scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes); embedded, no download",
        (),
        "stratified 80/20 train/test, then 10% of train for val (seeded)",
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        "CIFAR-10: 32x32 colour images in 10 classes (60,000 images, 163 MiB download)",
        ("cifar-10-batches-py/", "cifar-10-batches-bin/", "cifar-10-python.tar.gz"),
        "CS231n: 49,000 train / the last 1,000 training images for val / 10,000 test",
        CIFAR10_FILES,
    ),
    "mnist": DatasetInfo(
        "mnist",
        "MNIST: 28x28 handwritten digits (70,000 images, 11 MiB download)",
        _IDX_NAMES,
        _IDX_SPLIT,
        MNIST_FILES,
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST: 28x28 clothing images in 10 classes (70,000 images, 29 MiB download; "
        "Debian's dataset-fashion-mnist package is found automatically)",
        _IDX_NAMES,
        _IDX_SPLIT,
        FASHION_MNIST_FILES,
    ),
    "toy2d": DatasetInfo(
        "toy2d",
        "2-D toys: the CS231n demo's 9 points, or toy2d:GENERATOR with GENERATOR one of "
        + ", ".join(toy2d.GENERATORS),
        (),
        "toy2d: all 9 points in every split; toy2d:GENERATOR: 60/20/20 (seeded)",
    ),
}

ALIASES = {"cifar-10": "cifar10", "fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def load_dataset(
    name_or_path: str | Path,
    *,
    data_dir: str | Path | None = None,
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
    """Load a dataset by name or from a ``.npz``/``.csv``/svmlight path (see :data:`DATASETS`).

    ``num_val``/``num_test`` set the sizes of those splits and ``num_train`` takes that many of
    the remaining training rows (default: all). ``seed`` drives every random split.
    ``class_names`` (a trained model's, to evaluate it) numbers the labels as the model does,
    matched by name; a label the model does not know is a ``DataError`` naming it. ``layout``
    (the same model's columns) matches a CSV's columns to its features by name, and checks
    that the rows are as long as the model's. ``test_data`` and ``zero_based`` apply to an
    svmlight file: the test split's own file, and its index base forced (default: detected).

    >>> load_dataset("digits").summary()
    'digits: 1293 train / 144 val / 360 test, 64 features (8x8x1), 10 classes'
    """
    text = str(name_or_path).strip()
    sizes = {
        "num_train": check_size(num_train, "num_train"),
        "num_val": check_size(num_val, "num_val"),
        "num_test": check_size(num_test, "num_test"),
    }
    seed = check_seed(seed)
    if data_dir is not None and str(data_dir).strip():  # even unused: a file there is a mistake
        cifar = text.partition(":")[0].lower() in ("cifar10", "cifar-10")
        resolve_data_dir(data_dir, archives=ARCHIVE_SUFFIXES if cifar else ())
    if is_file_name(text):
        return load_file(
            text,
            seed=seed,
            label_column=label_column,
            class_names=class_names,
            layout=layout,
            test_data=test_data,
            zero_based=zero_based,
            **sizes,
        )
    if test_data is not None or zero_based != "auto":
        raise DataError(
            f"a test file and zero_based apply to svmlight files; {text!r} is a dataset name or "
            "a pack, whose test split is known"
        )
    if label_column is not None:
        raise DataError(
            f"{option('label_column')} only applies to .csv files; {text!r} is not a CSV file "
            "but a dataset name or a pack, whose labels are known"
        )
    if is_pack(text) or _is_folder_path(text):
        dataset = load_packed(text, **sizes)
    else:
        dataset = _load_named(text, data_dir, seed, sizes)
    if layout is not None:
        check_width(dataset.num_features, layout, f"{dataset.name} ({dataset.source})")
    if class_names is None:
        return note_untrained_classes(dataset)
    return with_class_names(dataset, class_names)


def _load_named(
    text: str, data_dir: str | Path | None, seed: int, sizes: dict[str, int | None]
) -> Dataset:
    base, colon, variant = text.partition(":")
    base = ALIASES.get(base.lower(), base.lower())
    if base == "toy2d" and (variant or not colon):
        return load_toy2d(variant, seed=seed, **sizes)
    if colon or base not in DATASETS:
        raise DataError(f"unknown dataset {text!r}; {_choices()}")
    if base == "digits":
        return load_digits_dataset(seed=seed, **sizes)
    if base == "cifar10":
        return load_cifar10(data_dir, **sizes)
    return load_idx_dataset(base, data_dir, **sizes)


def _is_folder_path(text: str) -> bool:
    """Whether ``text`` names a folder rather than a dataset (a path, not a bare known name):
    such a folder must be a pack, and :func:`open_pack` says why it is not."""
    base = ALIASES.get(text.partition(":")[0].lower(), text.partition(":")[0].lower())
    return bool(text) and base not in DATASETS and Path(text).expanduser().is_dir()


def load_packed(
    path: str | Path,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
) -> Dataset:
    """A pack read into memory as float32, its splits carved by
    :func:`~slopelab.data.pack_splits.carve_splits` (a split it lacks is its last training
    rows, with a note saying so)."""
    pack = open_pack(path)
    splits, notes = carve_splits(pack, _in_memory, num_train, num_val, num_test)
    return make_dataset(
        pack.name,
        splits["train"],
        splits["val"],
        splits["test"],
        class_names=pack.class_names,
        image_shape=pack.image_shape,
        source=str(pack.path),
        default_preprocess=pack.default_preprocess,
        notes=notes,
        sha256=file_sha256(pack.path / METADATA),  # it holds the SHA-256 of every split
    )


def _in_memory(pack: Pack, split: str) -> Split:
    part = pack.split(split)
    return np.asarray(part.X, dtype=np.float32), part.y


def is_file_name(text: str) -> bool:
    """Whether ``--data TEXT`` names a file of the user's (by its extension), not a dataset.

    >>> is_file_name("rows.CSV"), is_file_name("cifar10")
    (True, False)
    """
    return str(text).strip().lower().endswith(FILE_SUFFIXES)


def find_dataset(name: str, data_dir: str | Path | None = None) -> str | None:
    """Where dataset ``name`` would be loaded from, without loading it (None: not on disk).

    Cheap enough for a listing: it only looks at file names.
    """
    try:
        if name == "cifar10":
            return str(find_cifar10(data_dir))
        if name in ("mnist", "fashion-mnist"):
            return str(find_idx_files(name, data_dir))
    except DataError:
        return None
    return "scikit-learn" if name == "digits" else "generated" if name == "toy2d" else None


def load_digits_dataset(
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """scikit-learn's digits: stratified 80/20 train/test, then 10% of train for val."""
    from sklearn.datasets import load_digits  # scikit-learn loads only when digits is used

    X, y = load_digits(return_X_y=True)
    asked = given_sizes(num_val=num_val, num_test=num_test)
    num_test = num_test or ceil_fraction(len(y), 0.2)
    num_val = num_val or ceil_fraction(max(len(y) - num_test, 1), 0.1)
    train, val, test = shuffle_split(
        (X, y), num_train, num_val, num_test, seed, "digits", asked=asked
    )
    return make_dataset(
        "digits",
        train,
        val,
        test,
        class_names=DIGIT_NAMES,
        image_shape=(8, 8, 1),
        source="scikit-learn",
        default_preprocess="standardize",
    )


def load_toy2d(
    variant: str = "",
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """``""``: the CS231n demo's 9 points in every split (``num_*`` take the first rows).
    A generator name: its default number of points, seeded, split 60/20/20."""
    if not variant:
        X, y = toy2d.cs231n_points()
        counts = {"num_train": num_train, "num_val": num_val, "num_test": num_test}
        splits = [take_first((X, y), count, key, "toy2d") for key, count in counts.items()]
        name, source = "toy2d", "the CS231n linear-classifier demo"
    elif variant in toy2d.GENERATORS:
        X, y = toy2d.GENERATORS[variant](rng=np.random.default_rng(seed))
        asked = given_sizes(num_val=num_val, num_test=num_test)
        num_val = num_val or ceil_fraction(len(y), 0.2)
        num_test = num_test or ceil_fraction(len(y), 0.2)
        splits = shuffle_split(
            (X, y), num_train, num_val, num_test, seed, f"toy2d:{variant}", asked=asked
        )
        name, source = f"toy2d:{variant}", f"generated (seed {seed})"
    else:
        listed = ", ".join(toy2d.GENERATORS)
        raise DataError(
            f"unknown toy2d generator {variant!r}; use toy2d, or toy2d:NAME with NAME one of "
            f"{listed}"
        )
    class_names = tuple(str(label) for label in range(int(y.max()) + 1))
    return make_dataset(
        name,
        *splits,
        class_names=class_names,
        image_shape=None,
        source=source,
        default_preprocess="none",
    )


def _choices() -> str:
    names = ", ".join(name for name in DATASETS if name != "toy2d")
    return (
        f"use one of {names}, toy2d or toy2d:GENERATOR, or the path of a .npz, .csv or "
        "svmlight (.svm, .svmlight, .libsvm) file"
    )
