"""Image folders: what scan_image_folder finds, and what decode_image makes of one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from slopelab.data.errors import DataError
from slopelab.data.imagefolder import (
    LINK_FOLLOWED,
    NOT_AN_IMAGE,
    OUTSIDE_CLASSES,
    OUTSIDE_SPLITS,
    decode_image,
    scan_image_folder,
)

CLASSES = ("ant", "bee", "cat")


def colour_of(index: int) -> tuple[int, int, int]:
    """A distinct RGB colour for each image index (< 4096): the oracle of which file a row
    came from, read back without any slopelab code."""
    return (index % 16 * 16, index // 16 % 16 * 16, index // 256 * 16)


def save_image(path: Path, colour, size=(4, 4), kind: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, tuple(colour)).save(path, format=kind)
    return path


def image_tree(root: Path, per_class: dict[str, int], start: int = 0, size=(4, 4)) -> dict:
    """Solid-colour PNGs ``root/<class>/<i>.png``; returns {colour: class index}."""
    colours = {}
    index = start
    for label, name in enumerate(CLASSES):
        for number in range(per_class.get(name, 0)):
            colour = colour_of(index)
            save_image(root / name / f"{number:03d}.png", colour, size)
            colours[colour] = label
            index += 1
    return colours


def test_train_val_test_layout(tmp_path):
    image_tree(tmp_path / "train", {"ant": 3, "bee": 2, "cat": 1})
    image_tree(tmp_path / "val", {"ant": 1, "cat": 1})
    image_tree(tmp_path / "test", {"bee": 2})
    folder = scan_image_folder(tmp_path)
    assert folder.class_names == CLASSES
    assert sorted(folder.splits) == ["test", "train", "val"]
    assert folder.splits["train"].files == (
        "train/ant/000.png", "train/ant/001.png", "train/ant/002.png",
        "train/bee/000.png", "train/bee/001.png", "train/cat/000.png",
    )  # fmt: skip
    assert folder.splits["train"].labels.tolist() == [0, 0, 0, 1, 1, 2]
    assert folder.splits["val"].labels.tolist() == [0, 2]  # numbered as in train
    assert folder.splits["test"].labels.tolist() == [1, 1]
    assert folder.left_out == ()


def test_class_folders_directly_are_the_training_split(tmp_path):
    image_tree(tmp_path, {"ant": 1, "bee": 1})
    folder = scan_image_folder(tmp_path)
    assert list(folder.splits) == ["train"]
    assert folder.splits["train"].files == ("ant/000.png", "bee/000.png")
    assert folder.class_names == ("ant", "bee")


def test_subfolders_upper_case_suffixes_hidden_and_other_files(tmp_path):
    image_tree(tmp_path, {"ant": 1, "bee": 1})
    save_image(tmp_path / "ant" / "deeper" / "x.JPEG", (1, 2, 3), kind="JPEG")
    save_image(tmp_path / "bee" / ".hidden.png", (1, 2, 3))
    (tmp_path / ".cache").mkdir()
    (tmp_path / "bee" / "notes.txt").write_text("not an image")
    (tmp_path / "README").write_text("loose")
    folder = scan_image_folder(tmp_path)
    assert folder.class_names == ("ant", "bee")
    assert folder.splits["train"].files == ("ant/000.png", "ant/deeper/x.JPEG", "bee/000.png")
    assert sorted(folder.left_out) == [("README", NOT_AN_IMAGE), ("bee/notes.txt", NOT_AN_IMAGE)]


def _one_class(root: Path) -> None:
    image_tree(root, {"ant": 2})


def _empty_class(root: Path) -> None:
    image_tree(root, {"ant": 1})
    (root / "bee").mkdir()


def _text_only_class(root: Path) -> None:
    image_tree(root, {"ant": 1})
    (root / "bee").mkdir()
    (root / "bee" / "a.txt").write_text("x")


def _unknown_val_class(root: Path) -> None:
    image_tree(root / "train", {"ant": 1, "bee": 1})
    save_image(root / "val" / "zebra" / "0.png", (0, 0, 0))


def _flat_val(root: Path) -> None:
    image_tree(root / "train", {"ant": 1, "bee": 1})
    save_image(root / "val" / "0.png", (0, 0, 0))


FOLDER_ERRORS = {
    "missing": (None, "no such folder: .*; pass a folder of images laid out as"),
    "no classes": (lambda root: root.mkdir(), "has no class folders; a classifier needs"),
    "one class": (_one_class, "has only the class folder 'ant'; a classifier needs at least 2"),
    "empty class": (_empty_class, "class folder .*bee has no image files .*remove the folder"),
    "only text": (_text_only_class, "class folder .*bee has no image files"),
    "unknown val class": (_unknown_val_class, "class folder 'zebra', which the training"),
    "flat val": (_flat_val, "val has no class folders of images"),
}


@pytest.mark.parametrize("case", sorted(FOLDER_ERRORS))
def test_folder_problems_are_one_line_errors_with_the_fix(tmp_path, case):
    make, message = FOLDER_ERRORS[case]
    root = tmp_path / "source"
    if make is not None:
        make(root)
    with pytest.raises(DataError, match=message):
        scan_image_folder(root)


def test_a_file_instead_of_a_folder(tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match="is a file; pass a folder of images"):
        scan_image_folder(path)


def test_rows_are_channel_major(tmp_path):
    path = save_image(tmp_path / "a.png", (10, 20, 30), size=(3, 3))
    row = decode_image(path, 3)
    assert row.dtype == np.uint8
    assert row.tolist() == [10] * 9 + [20] * 9 + [30] * 9


def test_the_centre_square_is_kept(tmp_path):
    image = np.zeros((2, 6, 3), np.uint8)  # 2 high, 6 wide: red | green | blue thirds
    image[:, 0:2, 0] = 255
    image[:, 2:4, 1] = 255
    image[:, 4:6, 2] = 255
    Image.fromarray(image).save(tmp_path / "wide.png")
    row = decode_image(tmp_path / "wide.png", 2)
    assert row.tolist() == [0] * 4 + [255] * 4 + [0] * 4  # only green remains


def test_downsizing_averages_the_pixels_each_output_pixel_covers(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(1, 63, size=(8, 8, 3)).astype(np.uint8) * 4  # 4 .. 248, no wrapping
    image[:, :, :] = image[::2, ::2, :].repeat(2, axis=0).repeat(2, axis=1)  # 2x2 blocks
    image[0::2, 0::2] += 2  # each 2x2 block: three values v, one v + 2 -> mean v + 0.5
    image[1::2, 1::2] -= 2  # and one v - 2: mean exactly v
    Image.fromarray(image).save(tmp_path / "a.png")
    expected = image.astype(float).reshape(4, 2, 4, 2, 3).mean(axis=(1, 3))
    row = decode_image(tmp_path / "a.png", 4)
    np.testing.assert_array_equal(row, expected.transpose(2, 0, 1).reshape(-1))


def test_grey_images_become_three_equal_channels_and_colour_becomes_grey(tmp_path):
    Image.new("L", (2, 2), 77).save(tmp_path / "grey.png")
    assert decode_image(tmp_path / "grey.png", 2).tolist() == [77] * 12
    save_image(tmp_path / "red.png", (255, 0, 0), size=(2, 2))
    # ITU-R 601-2 luma, as Pillow documents: L = 0.299 R + 0.587 G + 0.114 B = 76.2
    assert decode_image(tmp_path / "red.png", 2, channels=1).tolist() == [76] * 4


def test_a_large_jpeg_is_decoded_close_to_its_colour(tmp_path):
    path = save_image(tmp_path / "big.jpg", (200, 100, 50), size=(640, 480), kind="JPEG")
    row = decode_image(path, 8).astype(int)
    expected = np.repeat([200, 100, 50], 64)
    assert np.max(np.abs(row - expected)) <= 3  # JPEG is lossy


def test_palette_and_alpha_images_are_read(tmp_path):
    Image.new("RGBA", (2, 2), (9, 8, 7, 100)).save(tmp_path / "alpha.png")
    Image.new("P", (2, 2), 3).save(tmp_path / "palette.gif")
    assert decode_image(tmp_path / "alpha.png", 2).tolist() == [9] * 4 + [8] * 4 + [7] * 4
    assert decode_image(tmp_path / "palette.gif", 2).shape == (12,)


@pytest.mark.parametrize(
    "content", [b"", b"\xff\xd8\xff garbage", b"hello", "truncated png"], ids=repr
)
def test_unreadable_files_raise_what_pillow_raises(tmp_path, content):
    path = tmp_path / "bad.png"
    if content == "truncated png":
        save_image(path, (1, 2, 3), size=(64, 64))
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.write_bytes(content)
    with pytest.raises((OSError, ValueError, SyntaxError)):
        decode_image(path, 4)


def _two_classes(folder: Path, start: int = 0) -> None:
    image_tree(folder, {"ant": 1, "bee": 1}, start=start)


SPELLINGS = {
    "train": ("train", "Train", "TRAIN", "training", "Training"),
    "val": ("val", "Val", "VAL", "valid", "Valid", "validation", "Validation"),
    "test": ("test", "Test", "TEST", "testing", "Testing"),
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    train=st.sampled_from(SPELLINGS["train"]),
    val=st.none() | st.sampled_from(SPELLINGS["val"]),
    test=st.none() | st.sampled_from(SPELLINGS["test"]),
)
def test_split_folders_in_any_case_and_with_the_usual_aliases(tmp_path_factory, train, val, test):
    root = tmp_path_factory.mktemp("source")
    names = {"train": train, "val": val, "test": test}
    for index, name in enumerate(names.values()):
        if name is not None:
            _two_classes(root / name, start=10 * index)
    folder = scan_image_folder(root)
    assert folder.class_names == ("ant", "bee")  # never the split folders' names
    assert sorted(folder.splits) == sorted(split for split, name in names.items() if name)
    for split, part in folder.splits.items():
        assert part.files == (f"{names[split]}/ant/000.png", f"{names[split]}/bee/000.png")
        assert part.labels.tolist() == [0, 1]


def _split_and_class_folders(root: Path) -> None:
    _two_classes(root / "Train")
    image_tree(root / "cat", {"ant": 1})


def _no_train(root: Path) -> None:
    _two_classes(root / "val")
    _two_classes(root / "Test")


def _two_val_folders(root: Path) -> None:
    _two_classes(root / "train")
    _two_classes(root / "val")
    _two_classes(root / "Validation")


LAYOUT_ERRORS = {
    "split and class folders": (
        _split_and_class_folders,
        r"holds split folders \('Train'\) and other folders \('cat'\); use either train/",
    ),
    "val and test without train": (_no_train, r"has 'Test', 'val' but no train/ folder"),
    "two folders for val": (
        _two_val_folders,
        r"has 2 folders for the val split \('Validation', 'val'\); keep one",
    ),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_ERRORS))
def test_ambiguous_layouts_are_refused_naming_the_folders(tmp_path, case):
    make, message = LAYOUT_ERRORS[case]
    make(tmp_path)
    with pytest.raises(DataError, match=message):
        scan_image_folder(tmp_path)


def test_files_outside_class_folders_are_left_out_with_the_reason(tmp_path):
    _two_classes(tmp_path / "train")
    save_image(tmp_path / "loose.png", (1, 2, 3))
    (tmp_path / "notes.txt").write_text("x")
    save_image(tmp_path / "train" / "stray.jpg", (1, 2, 3), kind="JPEG")
    folder = scan_image_folder(tmp_path)
    assert dict(folder.left_out) == {
        "loose.png": OUTSIDE_CLASSES,
        "notes.txt": OUTSIDE_SPLITS,
        "train/stray.jpg": OUTSIDE_CLASSES,
    }
    flat = tmp_path / "flat"
    _two_classes(flat)
    save_image(flat / "loose.png", (1, 2, 3))
    assert scan_image_folder(flat).left_out == (("loose.png", OUTSIDE_CLASSES),)


def test_folder_links_are_followed_once_and_loops_end(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "ant" / "up").symlink_to(tmp_path / "ant")  # a loop
    (tmp_path / "bee" / "again").symlink_to(tmp_path / "ant")  # a folder read twice
    (tmp_path / "bee" / "more").mkdir()
    save_image(tmp_path / "bee" / "more" / "x.png", (1, 2, 3))
    (tmp_path / "ant" / "more").symlink_to(tmp_path / "bee" / "more")  # a link read first
    folder = scan_image_folder(tmp_path)
    assert folder.splits["train"].files == (
        "ant/000.png", "ant/more/x.png", "bee/000.png",
    )  # fmt: skip
    assert dict(folder.left_out) == {
        "ant/up": LINK_FOLLOWED,
        "bee/again": LINK_FOLLOWED,
        "bee/more": LINK_FOLLOWED,
    }


GRADIENT = np.tile(np.arange(256), (256, 1))  # columns 0 .. 255: the oracle is its 8-bit value


@pytest.mark.parametrize(
    ("mode", "values", "kind"),
    [
        ("I;16", GRADIENT * 257, "PNG"),  # 0 .. 65535 exactly
        ("I;16", GRADIENT * 256 + 255, "TIFF"),  # low bits set: dropped, not rounded up
        ("I;16B", GRADIENT * 257, "TIFF"),
        ("I", GRADIENT * 1000 - 50_000, "TIFF"),  # own range [-50000, 205000] -> [0, 255]
        ("F", GRADIENT / 255 * 3.5 + 1, "TIFF"),  # own range [1, 4.5] -> [0, 255]
    ],
    ids=["I;16 png", "I;16 tiff low bits", "I;16B tiff", "I tiff", "F tiff"],
)
def test_deep_grey_images_are_scaled_to_eight_bits(tmp_path, mode, values, kind):
    dtype = {"I;16": "<u2", "I;16B": ">u2", "I": "<i4", "F": "<f4"}[mode]
    image = Image.frombytes(mode, (256, 256), values.astype(dtype).tobytes())
    path = tmp_path / f"deep.{kind.lower()}"
    image.save(path, format=kind)
    with Image.open(path) as reread:
        assert reread.mode == mode  # the file really is that deep
    row = decode_image(path, 256, channels=1)
    np.testing.assert_array_equal(row.reshape(256, 256), GRADIENT)
    assert decode_image(path, 32).reshape(3, 32, 32).mean() == pytest.approx(127.5, abs=0.5)


def test_constant_and_non_finite_deep_images(tmp_path):
    Image.fromarray(np.full((4, 4), 7.0, np.float32)).save(tmp_path / "flat.tiff")
    assert decode_image(tmp_path / "flat.tiff", 2).tolist() == [0] * 12
    values = np.ones((4, 4), np.float32)
    values[1, 2] = np.nan
    Image.fromarray(values).save(tmp_path / "nan.tiff")
    with pytest.raises(ValueError, match="F image with NaN or infinite pixels"):
        decode_image(tmp_path / "nan.tiff", 2)
