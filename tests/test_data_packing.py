"""Packing image folders and datasets: rows, order, splits, skipped files, resuming, and
load_dataset on the result."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slopelab.data import load_dataset
from slopelab.data.errors import DataError
from slopelab.data.npyformat import RowWriter
from slopelab.data.pack import verify_pack
from slopelab.data.pack_write import write_pack
from slopelab.data.packing import PROGRESS, pack_dataset, pack_image_folder
from tests.test_data_cifar10 import CLASS_NAMES as CIFAR_NAMES
from tests.test_data_cifar10 import make_images, write_python
from tests.test_data_imagefolder import CLASSES, image_tree, save_image


def colours_and_labels(pack, split: str) -> tuple[list[tuple[int, ...]], list[int]]:
    """Each row of a 2x2 solid-colour pack read back as its (R, G, B) colour."""
    part = pack.split(split)
    images = np.asarray(part.X).reshape(part.rows, 3, 4)
    assert (images == images[:, :, :1]).all()  # every pixel of a row has the row's colour
    return [tuple(colour) for colour in images[:, :, 0].tolist()], part.y.tolist()


def packed_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def source(tmp_path) -> tuple[Path, dict]:
    colours = image_tree(tmp_path / "src", {"ant": 9, "bee": 7, "cat": 5})
    return tmp_path / "src", colours


def test_every_image_is_one_row_with_its_label(tmp_path, source):
    root, colours = source
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1, chunk_rows=4)
    assert pack.splits == ("train", "val")
    assert pack.class_names == CLASSES and pack.image_shape == (2, 2, 3)
    assert pack.dtype == np.uint8 and pack.num_features == 12
    found = {}
    for split in pack.splits:
        rows, labels = colours_and_labels(pack, split)
        found.update(zip(rows, labels, strict=True))
        assert len(rows) == len(set(rows))
    assert found == colours  # every image exactly once, with its class
    assert pack.split("val").rows == math.ceil(0.1 * 21)  # the default: 10%, rounded up
    assert pack.skipped == 0
    assert not (tmp_path / "out" / PROGRESS).exists()
    verify_pack(tmp_path / "out")


def test_the_order_is_random_and_a_function_of_the_seed(tmp_path, source):
    root, _ = source
    orders = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        pack = pack_image_folder(root, tmp_path / name, size=2, seed=seed, jobs=1, num_val=3)
        orders[name] = colours_and_labels(pack, "train")[1] + colours_and_labels(pack, "val")[1]
    assert packed_bytes(tmp_path / "a") == packed_bytes(tmp_path / "b")
    assert orders["a"] != orders["c"]
    assert orders["a"] != sorted(orders["a"])  # not class by class
    assert sorted(orders["a"]) == sorted(orders["c"])


def test_val_and_test_folders_are_used(tmp_path):
    root = tmp_path / "src"
    train = image_tree(root / "train", {"ant": 3, "bee": 3})
    val = image_tree(root / "val", {"ant": 2, "bee": 1}, start=100)
    test = image_tree(root / "test", {"bee": 2}, start=200)
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    for split, expected in (("train", train), ("val", val), ("test", test)):
        rows, labels = colours_and_labels(pack, split)
        assert dict(zip(rows, labels, strict=True)) == expected
    with pytest.raises(DataError, match="has a val/ folder, which is the validation split"):
        pack_image_folder(root, tmp_path / "other", size=2, jobs=1, num_val=1)


def test_num_val_carves_that_many(tmp_path, source):
    root, _ = source
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1, num_val=5)
    assert (pack.split("train").rows, pack.split("val").rows) == (16, 5)
    with pytest.raises(DataError, match=r"too few for --num-val 21 .* plus at least 1"):
        pack_image_folder(root, tmp_path / "other", size=2, jobs=1, num_val=21)


def add_bad_files(root: Path) -> None:
    (root / "ant" / "notes.txt").write_text("not an image")
    (root / "bee" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    png = save_image(root / "cat" / "truncated.png", (1, 2, 3), size=(64, 64))
    png.write_bytes(png.read_bytes()[:60])
    (root / "cat" / "empty.png").write_bytes(b"")


def test_unreadable_files_are_skipped_listed_and_counted(tmp_path, source):
    root, colours = source
    add_bad_files(root)
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1, chunk_rows=4)
    found = {}
    for split in pack.splits:
        rows, labels = colours_and_labels(pack, split)
        found.update(zip(rows, labels, strict=True))
    assert found == colours  # the good images, each once; no zero rows in place of bad ones
    assert pack.skipped == 4
    listed = sorted(entry.partition(":")[0] for entry in pack.skipped_files)
    assert listed == ["ant/notes.txt", "bee/broken.jpg", "cat/empty.png", "cat/truncated.png"]
    assert "ant/notes.txt: not an image file" in pack.skipped_files
    verify_pack(tmp_path / "out")


def test_a_split_of_only_unreadable_images_is_an_error(tmp_path):
    root = tmp_path / "src"
    image_tree(root / "train", {"ant": 2, "bee": 2})
    (root / "test" / "ant").mkdir(parents=True)
    (root / "test" / "ant" / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of the 1 test images could be read"):
        pack_image_folder(root, tmp_path / "out", size=2, jobs=1, num_val=1)


class Stop(KeyboardInterrupt):
    """An interruption injected by a test."""


def stop_after(calls: int):
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) > calls:
            raise Stop

    return progress, seen


def _fail_once(monkeypatch, target, name: str) -> None:
    real = getattr(target, name)
    state = {"failed": False}

    def failing(*args, **kwargs):
        if not state["failed"]:
            state["failed"] = True
            raise Stop
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def _fail_on_call(monkeypatch, target, name: str, call: int, when=lambda *args: True) -> None:
    """Raise Stop on the ``call``-th call of ``target.name`` for which ``when(*args)`` holds."""
    real = getattr(target, name)
    seen = []

    def failing(*args, **kwargs):
        if when(*args):
            seen.append(1)
            if len(seen) == call:
                raise Stop
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def _writing_val(writer, *args) -> bool:
    return writer.path.name == "val-X.npy"


STOPS = [
    "after 1 chunk",
    "after 4 chunks",
    "while shrinking",
    "copying val rows",
    "cutting val rows off",
    "cutting val rows off, val file lost",
    "writing y",
    "writing pack.json",
]


@pytest.mark.parametrize("stop", STOPS)
def test_an_interrupted_pack_continues_to_the_same_bytes(tmp_path, source, monkeypatch, stop):
    root, _ = source
    add_bad_files(root)
    options = {"size": 2, "jobs": 1, "chunk_rows": 3, "seed": 5}
    pack_image_folder(root, tmp_path / "whole", **options)
    out = tmp_path / "out"
    progress = None
    if stop.startswith("after"):
        progress, _ = stop_after(int(stop.split()[1]))
    elif stop == "while shrinking":
        _fail_once(monkeypatch, RowWriter, "shrink")
    elif stop == "copying val rows":
        _fail_on_call(monkeypatch, RowWriter, "write", 1, when=_writing_val)
    elif stop.startswith("cutting val rows off"):
        _fail_on_call(monkeypatch, RowWriter, "shrink", 2)  # the first fills the holes
    elif stop == "writing y":
        _fail_once(monkeypatch, __import__("slopelab.data.packing").data.packing, "npy_bytes")
    else:
        _fail_once(monkeypatch, __import__("slopelab.data.packing").data.packing, "finish_pack")
    with pytest.raises(Stop):
        pack_image_folder(root, out, on_progress=progress, **options)
    assert (out / PROGRESS).exists() and not (out / "pack.json").exists()
    if stop.endswith("val file lost"):
        (out / "val-X.npy").unlink()  # the carved rows are gone: train is decoded again
    resumed, seen = stop_after(10**6)
    pack_image_folder(root, out, on_progress=resumed, **options)
    assert packed_bytes(out) == packed_bytes(tmp_path / "whole")
    if stop == "after 4 chunks":
        assert seen[0] == 4 * 3  # the rerun started after the 4 chunks recorded
    if stop.endswith("val file lost"):
        assert seen[0] == 0


def test_a_rerun_with_other_options_is_refused_unless_overwrite(tmp_path, source):
    root, _ = source
    progress, _ = stop_after(1)
    with pytest.raises(Stop):
        pack_image_folder(
            root, tmp_path / "out", size=2, jobs=1, chunk_rows=3, on_progress=progress
        )
    with pytest.raises(
        DataError, match=r"interrupted pack made with other options .*\(size differ\)"
    ):
        pack_image_folder(root, tmp_path / "out", size=3, jobs=1, chunk_rows=3)
    pack = pack_image_folder(root, tmp_path / "out", size=3, jobs=1, chunk_rows=3, overwrite=True)
    assert pack.image_shape == (3, 3, 3)


def test_a_complete_pack_or_a_folder_of_other_files_is_not_replaced(tmp_path, source):
    root, _ = source
    pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    with pytest.raises(DataError, match="already holds a pack; choose another --out, or pass"):
        pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    assert (
        pack_image_folder(root, tmp_path / "out", size=3, jobs=1, overwrite=True).num_features == 27
    )
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(DataError, match=r"holds thesis\.tex\) and is not a pack; choose a new"):
            pack_image_folder(root, tmp_path / "mine", size=2, jobs=1, overwrite=overwrite)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.slow
def test_two_processes_write_the_same_bytes_as_one(tmp_path, source):
    root, _ = source
    add_bad_files(root)
    pack_image_folder(root, tmp_path / "one", size=2, jobs=1, chunk_rows=3)
    pack_image_folder(root, tmp_path / "two", size=2, jobs=2, chunk_rows=3)
    assert packed_bytes(tmp_path / "one") == packed_bytes(tmp_path / "two")


def fake_cifar10(root: Path) -> tuple[list, tuple]:
    train, test = make_images()
    write_python(root / "cifar-10-batches-py", train, test)
    return train, test


def test_cifar10_is_packed_as_uint8_with_its_splits(tmp_path):
    train, test = fake_cifar10(tmp_path / "data")
    pack = pack_dataset("cifar10", tmp_path / "out", num_val=10, data_dir=tmp_path / "data")
    assert pack.dtype == np.uint8 and pack.image_shape == (32, 32, 3)
    assert pack.class_names == tuple(CIFAR_NAMES)
    assert {split: pack.split(split).rows for split in pack.splits} == {
        "train": 90, "val": 10, "test": 20,
    }  # fmt: skip
    X = np.concatenate([data for data, _ in train])
    y = np.concatenate([labels for _, labels in train])
    expected = {  # CS231n's split: val is the last training rows
        "train": (X[:90], y[:90]), "val": (X[90:], y[90:]), "test": test,
    }  # fmt: skip
    for split, (X_split, y_split) in expected.items():
        part = pack.split(split)
        rows = sorted(map(tuple, np.column_stack([part.X, part.y]).tolist()))
        assert rows == sorted(map(tuple, np.column_stack([X_split, y_split]).tolist()))
    assert pack.split("train").y.tolist() != y[:90].tolist()  # shuffled


def test_a_csv_is_packed_as_float32(tmp_path):
    rows = ["a,b,label"] + [f"{i * 0.5},{i % 3},{'xy'[i % 2]}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    pack = pack_dataset(str(tmp_path / "d.csv"), tmp_path / "out")
    assert pack.dtype == np.float32 and pack.image_shape is None
    assert pack.class_names == ("x", "y")
    assert sum(pack.split(split).rows for split in pack.splits) == 30


def test_size_does_not_resize_a_dataset(tmp_path):
    with pytest.raises(DataError, match=r"--size 16 .* digits are 8x8x1 images .* drop --size"):
        pack_dataset("digits", tmp_path / "out", size=16)
    assert pack_dataset("digits", tmp_path / "out", size=8).image_shape == (8, 8, 1)


def test_load_dataset_reads_a_pack_as_float32(tmp_path):
    fake_cifar10(tmp_path / "data")
    pack = pack_dataset("cifar10", tmp_path / "out", num_val=10, data_dir=tmp_path / "data")
    dataset = load_dataset(tmp_path / "out")
    assert (
        dataset.summary()
        == "cifar10: 90 train / 10 val / 20 test, 3072 features (32x32x3), 10 classes"
    )
    assert dataset.X_train.dtype == np.float32
    np.testing.assert_array_equal(dataset.X_train, pack.split("train").X)
    np.testing.assert_array_equal(dataset.y_test, pack.split("test").y)
    assert dataset.default_preprocess == pack.default_preprocess
    assert dataset.notes == ()
    small = load_dataset(str(tmp_path / "out"), num_train=5, num_val=3, num_test=2)
    np.testing.assert_array_equal(small.X_val, pack.split("val").X[:3])
    assert small.summary().startswith("cifar10: 5 train / 3 val / 2 test")


def test_a_pack_without_val_and_test_lends_them_its_last_training_rows(tmp_path):
    X = np.arange(40 * 2).reshape(40, 2) % 256
    y = np.arange(40) % 2
    write_pack(tmp_path / "p", "t", {"train": (X, y)}, ("a", "b"), None, "here", seed=None)
    dataset = load_dataset(tmp_path / "p")
    np.testing.assert_array_equal(dataset.X_test, X[36:])  # 10% of 40, from the end
    np.testing.assert_array_equal(dataset.X_val, X[32:36])
    np.testing.assert_array_equal(dataset.X_train, X[:32])
    assert any(
        "has no test split; its last 4 training rows serve as one" in n for n in dataset.notes
    )
    asked = load_dataset(tmp_path / "p", num_val=10, num_test=10)
    assert (len(asked.y_train), len(asked.y_val)) == (20, 10)
    with pytest.raises(DataError, match="pass a smaller --num-val"):
        load_dataset(tmp_path / "p", num_val=40, num_test=1)


def test_load_dataset_on_a_pack_matches_a_models_class_names(tmp_path):
    X = np.arange(20 * 2).reshape(20, 2) % 256
    y = np.arange(20) % 2
    write_pack(tmp_path / "p", "t", {"train": (X, y)}, ("a", "b"), None, "here", seed=None)
    dataset = load_dataset(tmp_path / "p", class_names=("b", "a", "c"))
    np.testing.assert_array_equal(dataset.y_train, 1 - y[: len(dataset.y_train)])
    with pytest.raises(DataError, match=r"only applies to \.csv files"):
        load_dataset(tmp_path / "p", label_column="label")


def test_a_folder_that_is_not_a_pack(tmp_path):
    with pytest.raises(DataError, match=r"is not a pack \(no pack\.json\); make one with"):
        load_dataset(tmp_path)


def test_a_changed_pack_changes_the_datasets_fingerprint(tmp_path, source):
    root, _ = source
    pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    before = load_dataset(tmp_path / "out").sha256
    pack_image_folder(root, tmp_path / "out", size=2, jobs=1, seed=9, overwrite=True)
    assert load_dataset(tmp_path / "out").sha256 != before
    meta = json.loads((tmp_path / "out" / "pack.json").read_text())
    assert meta["seed"] == 9


def test_out_inside_the_source_is_refused(tmp_path, source):
    root, _ = source
    with pytest.raises(DataError, match=r"is inside the source folder .* choose a folder outside"):
        pack_image_folder(root, root / "packed", size=2, jobs=1)
    assert not (root / "packed").exists()


def test_one_channel_packs_grey_rows(tmp_path, source):
    root, colours = source
    pack = pack_image_folder(root, tmp_path / "out", size=2, channels=1, jobs=1)
    assert pack.image_shape == (2, 2, 1) and pack.num_features == 4
    # ITU-R 601-2 luma, L = 0.299 R + 0.587 G + 0.114 B, in the 16-bit fixed point of
    # Pillow's Convert.c (weights 19595, 38470, 7471 out of 65536, rounded)
    luma = [(r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16 for r, g, b in colours]
    rows = np.concatenate([pack.split(split).X for split in pack.splits])
    assert (rows == rows[:, :1]).all()
    assert sorted(rows[:, 0].tolist()) == sorted(luma)


def test_a_dataset_pack_cut_short_is_written_again_without_overwrite(tmp_path, monkeypatch):
    import slopelab.data.pack_write as pack_module

    _fail_once(monkeypatch, pack_module, "finish_pack")
    with pytest.raises(Stop):
        pack_dataset("digits", tmp_path / "out")
    assert (tmp_path / "out" / "train-X.npy").exists()
    assert not (tmp_path / "out" / "pack.json").exists()
    whole = pack_dataset("digits", tmp_path / "whole")
    again = pack_dataset("digits", tmp_path / "out")
    np.testing.assert_array_equal(again.split("train").X, whole.split("train").X)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 0}, "size must be a whole number >= 1"),
        ({"chunk_rows": 0}, "chunk_rows must be a whole number >= 1"),
        ({"jobs": -1}, "jobs must be a whole number >= 1"),
        ({"channels": 2}, r"channels must be 1 \(grey\) or 3 \(RGB\); got 2"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"size": 100_000}, r"--size 100000 \(size=100000 in Python\) is too large: at most 256"),
        ({"size": 257}, "is too large: at most 256 pixels a side, since a row holds"),
        (
            {"size": 256, "chunk_rows": 2000},
            r"--chunk 2000 \(chunk_rows=2000 in Python\): rows of 196,608 bytes is 393 MB for "
            "each decoding process to hold; at most 256 MB: pass --chunk 1302 or less",
        ),
        ({"size": 32, "chunk_rows": 10**7}, r"rows of 3,072 bytes is 31 GB .* --chunk 83333 or"),
        ({"jobs": 4 * (os.cpu_count() or 1) + 1}, r"decoding processes .* \(4 a core\)"),
    ],
)
def test_bad_options_from_python_are_named(tmp_path, source, options, message):
    root, _ = source
    with pytest.raises(DataError, match=message):
        pack_image_folder(root, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_data_name_is_not_taken_for_the_current_folder(text):
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset(text)


def test_split_folders_in_other_spellings_are_splits_not_classes(tmp_path):
    root = tmp_path / "src"
    train = image_tree(root / "Train", {"ant": 3, "bee": 3})
    val = image_tree(root / "validation", {"ant": 1, "bee": 1}, start=100)
    test = image_tree(root / "Test", {"ant": 2, "bee": 1}, start=200)
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    assert pack.class_names == ("ant", "bee")
    for split, expected in (("train", train), ("val", val), ("test", test)):
        rows, labels = colours_and_labels(pack, split)
        assert dict(zip(rows, labels, strict=True)) == expected  # val not carved from train


def test_loose_files_are_reported_with_why_they_were_left_out(tmp_path):
    root = tmp_path / "src"
    image_tree(root / "train", {"ant": 3, "bee": 3})
    save_image(root / "loose.png", (1, 2, 3))
    pack = pack_image_folder(root, tmp_path / "out", size=2, jobs=1)
    assert pack.skipped_files == (
        "loose.png: an image outside the class folders (images go in SOURCE/<class>/)",
    )


def _good_and_junk(root: Path, good: int) -> dict:
    colours = image_tree(root, {"ant": good, "bee": good})
    for name in ("ant", "bee"):
        (root / name / "bad.png").write_bytes(b"junk")
    return colours


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31), num_val=st.none() | st.integers(1, 7))
def test_validation_is_carved_from_the_images_that_were_read(tmp_path_factory, seed, num_val):
    root = tmp_path_factory.mktemp("src")
    colours = _good_and_junk(root, good=4)  # 8 readable images, 2 junk ones, in any order
    out = tmp_path_factory.mktemp("out") / "pack"
    pack = pack_image_folder(root, out, size=2, jobs=1, chunk_rows=3, seed=seed, num_val=num_val)
    expected_val = num_val or math.ceil(0.1 * 8)  # 10% of the readable images, rounded up
    assert pack.split("val").rows == expected_val
    assert pack.split("train").rows == 8 - expected_val
    found = {}
    for split in pack.splits:
        rows, labels = colours_and_labels(pack, split)
        found.update(zip(rows, labels, strict=True))
    assert found == colours
    assert pack.skipped == 2


def test_too_few_readable_images_for_the_validation_rows(tmp_path):
    _good_and_junk(tmp_path / "src", good=2)
    with pytest.raises(
        DataError, match=r"has 4 readable training images \(of 6\): too few for --num-val 4 "
    ):
        pack_image_folder(tmp_path / "src", tmp_path / "out", size=2, jobs=1, num_val=4)


def test_a_class_none_of_whose_images_can_be_read_is_refused(tmp_path):
    root = tmp_path / "src"
    image_tree(root, {"ant": 3, "bee": 3})
    for number in range(2):
        (root / "cat" / f"{number}.png").parent.mkdir(exist_ok=True)
        (root / "cat" / f"{number}.png").write_bytes(b"junk")
    with pytest.raises(
        DataError, match=r"no training image of class 'cat' could be read \(the first: cat/"
    ):
        pack_image_folder(root, tmp_path / "out", size=2, jobs=1)


def test_a_class_whose_only_images_went_to_validation_is_noted(tmp_path):
    root = tmp_path / "src"
    image_tree(root, {"ant": 6, "bee": 1})
    notes = []
    for seed in range(50):
        pack = pack_image_folder(
            root,
            tmp_path / f"out{seed}",
            size=2,
            jobs=1,
            seed=seed,
            num_val=1,
            on_note=notes.append,
        )
        if 1 not in pack.split("train").y.tolist():
            break
    assert pack.split("val").y.tolist() == [1]
    assert notes == [
        "class 'bee' has no training rows: its few images all went to the validation split; "
        "pass a smaller --num-val or another --seed, or add images"
    ]


def test_a_pack_larger_than_the_free_space_is_refused_before_any_file(
    tmp_path, source, monkeypatch
):
    root, _ = source  # 21 images of 2 x 2 x 3 bytes: 21 x (12 + 8) + 6 x 128 + 3 x 20 bytes
    needed = 21 * 20 + 6 * 128 + math.ceil(0.1 * 21) * 20
    usage = shutil.disk_usage(tmp_path)

    def disk_usage(path):
        return usage._replace(free=needed - 1)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    out = tmp_path / "new" / "out"
    with pytest.raises(DataError, match=rf"the pack needs 1.2 KB but {tmp_path} has 1.2 KB free"):
        pack_image_folder(root, out, size=2, jobs=1)
    assert not (tmp_path / "new").exists()
    with pytest.raises(DataError, match=r"the pack needs .* free; free some space, choose another"):
        pack_dataset("digits", tmp_path / "digits")
    assert not (tmp_path / "digits").exists()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=needed))
    assert pack_image_folder(root, out, size=2, jobs=1).split("train").rows == 18
