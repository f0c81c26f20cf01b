"""CIFAR-10 in all four official forms, written here in the real layouts, read back exactly."""

from __future__ import annotations

import pickle
import pickletools
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from slopelab.data import DataError, load_dataset, row_to_image
from slopelab.data.cifar10 import CLASS_NAMES, load_cifar10, read_cifar10

PER_BATCH = 20
REAL_GLOBALS = {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}


class Python2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` opcodes, as cPickle did when CIFAR-10 was made
    (Python 3's protocol 2 would instead call ``_codecs.encode``, which real files never do)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def python2_pickle(obj: object, legacy_numpy: bool = True) -> bytes:
    """Protocol 2 with Python 2 strings; ``legacy_numpy`` names numpy.core as numpy 1 did."""
    from io import BytesIO

    buffer = BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    data = buffer.getvalue()
    if legacy_numpy:
        data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return data


def make_images(num_batches: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    batches = [
        (
            rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
            rng.integers(0, 10, PER_BATCH).astype(np.int64),
        )
        for _ in range(num_batches + 1)
    ]
    return batches[:-1], batches[-1]


def write_python(folder: Path, train, test, legacy_numpy: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    named = [(f"data_batch_{i + 1}", batch) for i, batch in enumerate(train)]
    for name, (data, labels) in [*named, ("test_batch", test)]:
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(label) for label in labels],
            b"data": data,
            b"filenames": [f"image_{i}.png".encode() for i in range(len(labels))],
        }
        (folder / name).write_bytes(python2_pickle(batch, legacy_numpy))
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_cases_per_batch": PER_BATCH}
    (folder / "batches.meta").write_bytes(python2_pickle(meta))
    return folder


def write_binary(folder: Path, train, test) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    named = [(f"data_batch_{i + 1}.bin", batch) for i, batch in enumerate(train)]
    for name, (data, labels) in [*named, ("test_batch.bin", test)]:
        records = np.column_stack([labels.astype(np.uint8), data])
        (folder / name).write_bytes(records.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(CLASS_NAMES) + "\n\n")
    return folder


def write_archive(path: Path, folder: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return path


def write_format(kind: str, root: Path, train, test) -> Path:
    """Write CIFAR-10 in one form under ``root``; return what was written."""
    if kind == "python":
        return write_python(root / "cifar-10-batches-py", train, test)
    if kind == "binary":
        return write_binary(root / "cifar-10-batches-bin", train, test)
    staging = root.parent / f"{root.name}-staging"
    writer, folder = (write_python, "py") if kind == "python.tar.gz" else (write_binary, "bin")
    written = writer(staging / f"cifar-10-batches-{folder}", train, test)
    archive = "cifar-10-python.tar.gz" if folder == "py" else "cifar-10-binary.tar.gz"
    root.mkdir(parents=True, exist_ok=True)
    return write_archive(root / archive, written)


FORMATS = ["python", "binary", "python.tar.gz", "binary.tar.gz"]


def test_fixture_pickles_use_only_what_real_batches_use(tmp_path):
    train, test = make_images(1)
    folder = write_python(tmp_path / "cifar-10-batches-py", train, test)
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        opcodes = list(pickletools.genops((folder / name).read_bytes()))
        assert opcodes[0][0].name == "PROTO" and opcodes[0][1] == 2
        assert {arg for op, arg, _ in opcodes if op.name == "GLOBAL"} <= REAL_GLOBALS


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_round_trips_pixels_and_labels_exactly(tmp_path, kind):
    train, test = make_images()
    write_format(kind, tmp_path, train, test)
    dataset = load_dataset("cifar10", data_dir=tmp_path, num_val=10)
    X_all = np.concatenate([data for data, _ in train])
    y_all = np.concatenate([labels for _, labels in train])
    assert dataset.X_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    np.testing.assert_array_equal(dataset.X_train, X_all[:90])
    np.testing.assert_array_equal(dataset.y_train, y_all[:90])
    np.testing.assert_array_equal(dataset.X_val, X_all[90:])  # the LAST training images
    np.testing.assert_array_equal(dataset.y_val, y_all[90:])
    np.testing.assert_array_equal(dataset.X_test, test[0])
    np.testing.assert_array_equal(dataset.y_test, test[1])
    assert dataset.class_names == CLASS_NAMES
    assert dataset.image_shape == (32, 32, 3)
    assert dataset.default_preprocess == "standardize"
    assert dataset.summary() == (
        "cifar10: 90 train / 10 val / 20 test, 3072 features (32x32x3), 10 classes"
    )


def test_numpy_2_spelling_of_reconstruct_is_accepted(tmp_path):
    train, test = make_images(1)
    folder = write_python(tmp_path / "cifar-10-batches-py", train, test, legacy_numpy=False)
    assert b"numpy._core" in (folder / "data_batch_1").read_bytes()
    images = read_cifar10(folder)
    np.testing.assert_array_equal(images.X_train, train[0][0])


@pytest.mark.parametrize(
    ("layout", "data_dir"),
    [
        ("python", "cifar-10-batches-py"),  # the batches folder itself
        ("python", "."),  # its parent
        ("python", "cifar10"),  # <data dir>/cifar10/cifar-10-batches-py, where download puts it
        ("binary", "."),
        ("python.tar.gz", "."),  # holding the archive
        ("python.tar.gz", "cifar-10-python.tar.gz"),  # the archive itself
        ("binary.tar.gz", "."),
    ],
)
def test_found_from_the_folder_its_parent_or_beside_the_archive(tmp_path, layout, data_dir):
    root = tmp_path / "cifar10" if data_dir == "cifar10" else tmp_path
    train, test = make_images(1)
    write_format(layout, root, train, test)
    location = tmp_path if data_dir == "cifar10" else root / data_dir
    dataset = load_cifar10(location, num_val=5)
    assert len(dataset.y_train) == 15 and len(dataset.y_test) == PER_BATCH
    assert Path(dataset.source).name.startswith("cifar-10-")


def test_four_batch_copy_gives_all_training_rows_minus_val(tmp_path):
    train, test = make_images(num_batches=4)
    write_python(tmp_path / "cifar-10-batches-py", train, test)
    dataset = load_dataset("cifar10", data_dir=tmp_path, num_val=10)
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (70, 10, 20)
    # a copy that lacks a training batch says so (the command line prints the note)
    assert len(dataset.notes) == 1
    assert (
        "lacks data_batch_5: training uses the 4 training batches that are there (80 images)"
        in (dataset.notes[0])
    )


def test_a_complete_copy_has_no_note(tmp_path):
    train, test = make_images(num_batches=5)
    write_python(tmp_path / "cifar-10-batches-py", train, test)
    assert load_dataset("cifar10", data_dir=tmp_path, num_val=10).notes == ()


def test_sizes_are_options(tmp_path):
    train, test = make_images()
    write_python(tmp_path / "cifar-10-batches-py", train, test)
    dataset = load_dataset("cifar10", data_dir=tmp_path, num_train=30, num_val=7, num_test=4)
    X_all = np.concatenate([data for data, _ in train])
    np.testing.assert_array_equal(dataset.X_train, X_all[:30])
    np.testing.assert_array_equal(dataset.X_val, X_all[-7:])
    np.testing.assert_array_equal(dataset.X_test, test[0][:4])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {},
            r"the training set of CIFAR-10 in .* has 100 examples: too few for 1000 validation "
            r"examples \(the default\) plus at least 1 for training; pass a smaller --num-val "
            r"\(num_val in Python\)",
        ),
        ({"num_val": 100}, r"too few for --num-val 100 \(num_val=100 in Python\) plus at least"),
        (
            {"num_val": 10, "num_train": 91},
            r"--num-train 91 \(num_train=91 in Python\) but "
            r"CIFAR-10 in .* has only 90",
        ),
        (
            {"num_val": 10, "num_test": 21},
            r"--num-test 21 \(num_test=21 in Python\) but .* has "
            r"only 20 examples",
        ),
        ({"num_val": 0}, r"num_val must be a whole number >= 1"),
    ],
)
def test_impossible_sizes_are_explained(tmp_path, options, message):
    train, test = make_images()
    write_python(tmp_path / "cifar-10-batches-py", train, test)
    with pytest.raises(DataError, match=message):
        load_dataset("cifar10", data_dir=tmp_path, **options)


def test_missing_dataset_says_what_was_expected_and_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as raised:
        load_dataset("cifar10", data_dir=tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"no CIFAR-10 found in {tmp_path}: expected data_batch_1..5 and ")
    assert "test_batch (the 'cifar-10-batches-py' folder)" in message
    assert message.endswith(
        "run `slopelab data download cifar10` (download('cifar10') in Python) or pass --data-dir "
        "(data_dir in Python)"
    )


def test_missing_test_batch_is_named(tmp_path):
    train, test = make_images(1)
    folder = write_python(tmp_path / "cifar-10-batches-py", train, test)
    (folder / "test_batch").unlink()
    with pytest.raises(DataError, match=r"incomplete: test_batch is missing"):
        read_cifar10(folder)


def _corrupt_python(folder: Path, name: str, content: bytes) -> None:
    (folder / name).write_bytes(content)


def _batch(data, labels) -> bytes:
    return python2_pickle({b"data": data, b"labels": labels})


GOOD = np.zeros((PER_BATCH, 3072), np.uint8)
CORRUPT_PYTHON = {
    "truncated": (
        lambda: _batch(GOOD, [0] * PER_BATCH)[:500],
        r"data_batch_2 is not a readable CIFAR-10 batch file \(truncated or corrupt",
    ),
    "garbage": (lambda: b"\x00garbage" * 40, r"data_batch_2 is not a readable CIFAR-10 batch"),
    "empty": (lambda: b"", r"data_batch_2 is not a readable CIFAR-10 batch"),
    "a list": (lambda: python2_pickle([1, 2]), r"data_batch_2 holds a list, not a CIFAR-10 batch"),
    "no labels": (
        lambda: python2_pickle({b"data": GOOD}),
        r"data_batch_2 has no 'labels' entry \(found b'data'\)",
    ),
    "wrong width": (
        lambda: _batch(np.zeros((20, 100), np.uint8), [0] * 20),
        r"b'data' must be uint8 rows of shape \(N, 3072\); got dtype uint8 and shape \(20, 100\)",
    ),
    "float pixels": (lambda: _batch(GOOD.astype(np.float32), [0] * 20), r"got dtype float32"),
    "label 12": (
        lambda: _batch(GOOD, [0, 0, 0, 12] + [0] * 16),
        r"data_batch_2: label 12 of image 3 is outside \[0, 10\)",
    ),
    "too few labels": (
        lambda: _batch(GOOD, [0] * 5),
        r"expected 20 integer labels, one per image",
    ),
}


@pytest.mark.parametrize("case", CORRUPT_PYTHON)
def test_corrupt_python_batches_are_rejected_with_the_file_named(tmp_path, case):
    content, message = CORRUPT_PYTHON[case]
    train, test = make_images(2)
    folder = write_python(tmp_path / "cifar-10-batches-py", train, test)
    _corrupt_python(folder, "data_batch_2", content())
    with pytest.raises(DataError, match=message):
        load_dataset("cifar10", data_dir=tmp_path, num_val=5)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (3073 * 2 - 1, r"holds 6145 bytes, not a whole number of 3073-byte records"),
        (0, r"holds 0 bytes"),
    ],
)
def test_binary_batch_of_wrong_size_is_rejected(tmp_path, size, message):
    train, test = make_images(1)
    folder = write_binary(tmp_path / "cifar-10-batches-bin", train, test)
    (folder / "test_batch.bin").write_bytes(bytes(size))
    with pytest.raises(DataError, match=r"test_batch\.bin " + message):
        load_cifar10(tmp_path, num_val=5)


def test_binary_label_out_of_range(tmp_path):
    train, test = make_images(1)
    folder = write_binary(tmp_path / "cifar-10-batches-bin", train, test)
    records = bytearray((folder / "data_batch_1.bin").read_bytes())
    records[3073 * 2] = 200
    (folder / "data_batch_1.bin").write_bytes(bytes(records))
    with pytest.raises(DataError, match=r"data_batch_1\.bin: label 200 of image 2 is outside"):
        load_cifar10(tmp_path, num_val=5)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_archive_is_rejected(tmp_path, damage):
    train, test = make_images(1)
    archive = write_format("python.tar.gz", tmp_path / "data", train, test)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"not a tar" * 100)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz is not a readable CIFAR-10 "):
        load_cifar10(tmp_path / "data", num_val=5)


def test_archive_members_are_read_in_memory_never_extracted(tmp_path):
    train, test = make_images(1)
    folder = write_python(tmp_path / "staging" / "cifar-10-batches-py", train, test)
    data_dir = tmp_path / "data" / "inner"
    data_dir.mkdir(parents=True)
    archive = data_dir / "cifar-10-python.tar.gz"
    escape = tmp_path / "staging" / "escape.txt"
    escape.write_text("should never be written outside the data folder")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
        tar.add(escape, arcname="../escaped.txt")
    before = sorted(tmp_path.rglob("*"))
    dataset = load_cifar10(data_dir, num_val=5)
    assert sorted(tmp_path.rglob("*")) == before
    np.testing.assert_array_equal(dataset.X_test, test[0])


def test_malicious_batch_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    train, test = make_images(1)
    folder = write_python(tmp_path / "cifar-10-batches-py", train, test)
    (folder / "data_batch_1").write_bytes(python2_pickle({b"data": Payload()}))
    expected = (
        r"refusing to unpickle (posix|nt|os)\.system from .*data_batch_1: CIFAR-10 batch files "
        r"only contain dicts, lists, bytes and numpy arrays; this file is not a CIFAR-10 batch$"
    )
    with pytest.raises(DataError, match=expected):
        load_dataset("cifar10", data_dir=tmp_path, num_val=5)
    assert not marker.exists()


def test_class_names_come_from_the_metadata(tmp_path):
    train, test = make_images(1)
    folder = write_binary(tmp_path / "cifar-10-batches-bin", train, test)
    names = [f"thing {i}" for i in range(10)]
    (folder / "batches.meta.txt").write_text("\n".join(names))
    assert load_cifar10(tmp_path, num_val=5).class_names == tuple(names)


def test_rows_are_channel_major_and_row_to_image_undoes_it(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)  # (H, W, C)
    row = image.transpose(2, 0, 1).ravel()  # CIFAR-10: all red, then all green, then all blue
    train, test = make_images(1)
    train[0][0][0] = row
    write_python(tmp_path / "cifar-10-batches-py", train, test)
    dataset = load_cifar10(tmp_path, num_val=5)
    np.testing.assert_array_equal(dataset.X_train[0, :1024], image[:, :, 0].ravel())  # red plane
    np.testing.assert_array_equal(row_to_image(dataset.X_train[0], dataset.image_shape), image)
