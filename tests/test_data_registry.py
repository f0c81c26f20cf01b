"""Dataset names: digits (embedded), toy2d, the registry, and the public API of slopelab.data."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import slopelab.data
from slopelab.data import DATASETS, DataError, find_dataset, load_dataset
from slopelab.data.toy2d import GENERATORS, cs231n_points

EXPECTED_API = {
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Preprocessor",
    "RemoteFile",
    "default_data_dir",
    "download",
    "find_dataset",
    "load_dataset",
    "resolve_data_dir",
    "row_to_image",
    "rows_to_images",
    "save_sparse_npz",
}


def test_public_api_is_pinned():
    assert set(slopelab.data.__all__) == EXPECTED_API
    for name in slopelab.data.__all__:
        assert getattr(slopelab.data, name) is not None


def test_digits_default_split_is_stratified_80_20_then_10_percent_val():
    dataset = load_dataset("digits")
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (1293, 144, 360)
    X, y = load_digits(return_X_y=True)
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    np.testing.assert_array_equal(dataset.X_test, X_test.astype(np.float32))  # the usual split
    np.testing.assert_array_equal(dataset.y_test, y_test)
    overall = np.bincount(y, minlength=10) / len(y)
    for labels in (dataset.y_train, dataset.y_val, dataset.y_test):
        share = np.bincount(labels, minlength=10) / len(labels)
        np.testing.assert_allclose(share, overall, atol=0.011)  # stratified: same class mix
    rows = np.concatenate([dataset.X_train, dataset.X_val, dataset.X_test])
    np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(X.astype(np.float32), axis=0))
    assert dataset.class_names == tuple("0123456789")
    assert dataset.image_shape == (8, 8, 1) and dataset.default_preprocess == "standardize"
    assert dataset.source == "scikit-learn"
    assert dataset.summary() == (
        "digits: 1293 train / 144 val / 360 test, 64 features (8x8x1), 10 classes"
    )


def test_digits_seed_and_sizes():
    first, again, other = (load_dataset("digits", seed=seed) for seed in (5, 5, 6))
    np.testing.assert_array_equal(first.X_val, again.X_val)
    assert not np.array_equal(first.X_val, other.X_val)
    sized = load_dataset("digits", num_train=500, num_val=200, num_test=100)
    assert (len(sized.y_train), len(sized.y_val), len(sized.y_test)) == (500, 200, 100)


def test_toy2d_is_the_cs231n_points_in_every_split():
    dataset = load_dataset("toy2d")
    X, y = cs231n_points()
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(dataset, f"X_{split}"), X.astype(np.float32))
        np.testing.assert_array_equal(getattr(dataset, f"y_{split}"), y)
    assert dataset.image_shape is None and dataset.default_preprocess == "none"
    assert dataset.summary() == "toy2d: 9 train / 9 val / 9 test, 2 features, 3 classes"


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_toy2d_generators_split_60_20_20(generator):
    dataset = load_dataset(f"toy2d:{generator}", seed=1)
    total = sum(len(getattr(dataset, f"y_{split}")) for split in ("train", "val", "test"))
    assert (
        abs(len(dataset.y_val) - 0.2 * total) <= 1 and abs(len(dataset.y_test) - 0.2 * total) <= 1
    )
    assert dataset.name == f"toy2d:{generator}" and dataset.num_features == 2
    again = load_dataset(f"toy2d:{generator}", seed=1)
    np.testing.assert_array_equal(again.X_train, dataset.X_train)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("imagenet", {}, "unknown dataset 'imagenet'; use one of digits, cifar10, mnist, "
         "fashion-mnist, toy2d or toy2d:GENERATOR, or the path of a .npz, .csv or svmlight "
         "(.svm, .svmlight, .libsvm) file"),
        ("digits:big", {}, "unknown dataset 'digits:big'"),
        ("toy2d:moons", {}, "unknown toy2d generator 'moons'; use toy2d, or toy2d:NAME with NAME "
         "one of blobs, spiral"),
        ("digits", {"num_train": 0}, "num_train must be a whole number >= 1 (or None for the "
         "default); got 0"),
        ("digits", {"num_val": 2.5}, "num_val must be a whole number >= 1"),
        ("digits", {"seed": "zero"}, "seed must be an integer; got 'zero'"),
        ("digits", {"label_column": "y"}, "--label-column (label_column in Python) only applies "
         "to .csv files; 'digits' is not a CSV file but a dataset name"),
        ("digits", {"num_train": 5000}, "--num-train 5000 (num_train=5000 in Python) but digits "
         "(after val and test) has only 1293 examples; ask for at most 1293"),
        ("digits", {"num_val": 1000, "num_test": 900}, "digits has 1797 examples: too few for "
         "--num-val 1000 (num_val=1000 in Python) and --num-test 900 (num_test=900 in Python) "
         "plus at least 1 for training; pass a smaller --num-val/--num-test (num_val/num_test "
         "in Python) or more data"),
        ("toy2d", {"num_val": 10}, "--num-val 10 (num_val=10 in Python) but toy2d has only 9 "
         "examples"),
    ],
)  # fmt: skip
def test_bad_requests_are_explained(name, options, message):
    with pytest.raises(DataError, match="^" + re.escape(message)):
        load_dataset(name, **options)


def test_names_are_forgiving_about_case_and_spelling():
    assert load_dataset("DIGITS").name == "digits"
    assert load_dataset(" toy2d ").name == "toy2d"


def test_registry_describes_every_dataset():
    assert list(DATASETS) == ["digits", "cifar10", "mnist", "fashion-mnist", "toy2d"]
    for name, info in DATASETS.items():
        assert info.name == name and info.description and info.default_split
    for name in ("cifar10", "mnist", "fashion-mnist"):
        info = DATASETS[name]
        assert info.urls and len(info.urls) == len(info.downloads)
        for remote in info.downloads:
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
            assert remote.url.endswith("/" + remote.filename)
            assert remote.url.startswith(("https://", "http://fashion-mnist.s3"))
    assert not DATASETS["digits"].urls and not DATASETS["toy2d"].urls


def test_find_dataset_only_looks(tmp_path, monkeypatch):
    monkeypatch.setitem(slopelab.data.locations.SYSTEM_DIRS, "mnist", ())
    assert find_dataset("digits", tmp_path) == "scikit-learn"
    assert find_dataset("cifar10", tmp_path) is None
    assert find_dataset("mnist", tmp_path) is None
    (tmp_path / "cifar10" / "cifar-10-batches-py").mkdir(parents=True)
    (tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"")
    assert find_dataset("cifar10", tmp_path) == str(tmp_path / "cifar10" / "cifar-10-batches-py")


@pytest.mark.parametrize("name", ["toy2d:", "digits:", "cifar10:", "mnist:", "TOY2D:"])
def test_a_name_with_an_empty_variant_is_refused(name):
    with pytest.raises(DataError, match=f"^unknown dataset {re.escape(repr(name))}; use one of"):
        load_dataset(name)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("digits", {"num_test": 1_000_000}, "digits has 1797 examples: too few for --num-test "
         "1000000 (num_test=1000000 in Python) plus at least 1 for training"),
        ("digits", {"num_val": 1_000_000}, "too few for --num-val 1000000 (num_val=1000000 in "
         "Python) plus"),
        ("digits", {"num_val": 1500}, "too few for --num-val 1500 (num_val=1500 in Python) and "
         "360 test examples (the default) plus"),
        ("toy2d:blobs", {"num_test": 1_000_000}, "toy2d:blobs has 60 examples: too few for "
         "--num-test 1000000 (num_test=1000000 in Python) plus"),
        ("toy2d:blobs", {"num_test": 50}, "too few for 12 validation examples (the default) and "
         "--num-test 50 (num_test=50 in Python) plus"),
    ],
)  # fmt: skip
def test_split_size_messages_show_the_sizes_asked_for_never_a_negative_one(name, options, message):
    with pytest.raises(DataError, match=re.escape(message)) as error:
        load_dataset(name, **options)
    assert not re.search(r"-\d", str(error.value))


def test_a_data_folder_that_is_a_file_is_refused_for_every_dataset(tmp_path):
    plain = tmp_path / "passwd"
    plain.write_text("root:x:0:0\n")
    for name in ("digits", "toy2d", "mnist", "cifar10", "fashion-mnist"):
        with pytest.raises(DataError, match=f"the data folder {re.escape(str(plain))} is a file"):
            load_dataset(name, data_dir=plain)
