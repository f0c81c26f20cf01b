"""Image folders (the ImageNet / torchvision ``ImageFolder`` layout): find the images, decode one.

A source folder is either ``SOURCE/train/<class>/...`` with optional ``SOURCE/val/<class>/...``
and ``SOURCE/test/<class>/...``, or directly ``SOURCE/<class>/...`` (all of it the training
split). Class names are the training class folders' names, sorted (label ``i`` is the ``i``-th
name, as torchvision numbers them). Images are found in class folders and their subfolders, by
extension (:data:`IMAGE_SUFFIXES`, any letter case); names starting with ``.`` are ignored; any
other file is listed as not an image, to be reported as skipped.

:func:`decode_image` turns one file into a channel-major ``uint8`` row (the CIFAR-10 layout):
decoded with Pillow, converted to RGB (or grey, ``channels=1``), the largest centred square
cropped, and box-resampled (each output pixel the mean of the input pixels it covers) to
``size x size``: the shorter side is scaled to ``size`` and the centre kept, as downsampled
ImageNet does. JPEGs are decoded at a reduced scale when that still leaves at least ``size``
pixels a side (Pillow's ``draft``), which makes large photos several times faster to read.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.labels import listing

IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
)  # fmt: skip
SPLIT_FOLDERS = ("train", "val", "test")
MODES = {1: "L", 3: "RGB"}
LAYOUT = "SOURCE/train/<class>/*.jpg (optionally val/ and test/) or SOURCE/<class>/*.jpg"


@dataclass(frozen=True)
class FolderSplit:
    """The images of one split: paths relative to the source folder (``/``-separated, in
    sorted order) and their labels (int64)."""

    files: tuple[str, ...]
    labels: np.ndarray


@dataclass(frozen=True)
class ImageFolder:
    """What :func:`scan_image_folder` found: class names, the splits present, and the files
    that are not images (relative paths)."""

    root: Path
    class_names: tuple[str, ...]
    splits: dict[str, FolderSplit]
    not_images: tuple[str, ...]


def scan_image_folder(source: str | Path) -> ImageFolder:
    """Find the classes and images of ``source`` (see the module docstring).

    A missing folder, a file, no class folders, a single class, or a class folder without
    images is a one-line ``DataError`` saying what was expected.
    """
    root = Path(source).expanduser()
    if not root.exists():
        raise DataError(
            f"no such folder: {root}; pass a folder of images laid out as {LAYOUT}, or a "
            "dataset name (cifar10, mnist, fashion-mnist, digits) or a .npz/.csv file"
        )
    if not root.is_dir():
        raise DataError(
            f"{root} is a file; pass a folder of images laid out as {LAYOUT}, or a dataset "
            "name or a .npz/.csv file"
        )
    split_roots = {"train": root}
    if (root / "train").is_dir():
        split_roots = {split: root / split for split in SPLIT_FOLDERS if (root / split).is_dir()}
    not_images: list[str] = []
    class_names = tuple(_class_folders(split_roots["train"], root, not_images))
    if len(class_names) < 2:
        found = f"only the class folder {class_names[0]!r}" if class_names else "no class folders"
        raise DataError(
            f"{split_roots['train']} has {found}; a classifier needs at least 2 classes, one "
            f"folder of images each, laid out as {LAYOUT}"
        )
    splits = {
        "train": _scan_split(split_roots["train"], root, class_names, class_names, not_images)
    }
    for split in ("val", "test"):
        if split in split_roots:
            folders = _class_folders(split_roots[split], root, not_images)
            splits[split] = _scan_split(split_roots[split], root, folders, class_names, not_images)
    return ImageFolder(root, class_names, splits, tuple(not_images))


def _class_folders(folder: Path, root: Path, not_images: list[str]) -> list[str]:
    """The names of the subfolders of a split folder, sorted; loose files go to
    ``not_images`` (they belong to no class)."""
    names = []
    for entry in _entries(folder):
        if entry.is_dir():
            names.append(entry.name)
        else:
            not_images.append(_relative(Path(entry.path), root))
    return names


def _scan_split(
    folder: Path,
    root: Path,
    found: Sequence[str],
    class_names: tuple[str, ...],
    not_images: list[str],
) -> FolderSplit:
    unknown = [name for name in found if name not in class_names]
    if unknown:
        raise DataError(
            f"{folder} has class folder {listing(unknown)}, which the training folder lacks; a "
            "classifier cannot learn a class it never sees: add training images of it, or "
            "remove the folder"
        )
    files, labels = [], []
    for name in found:
        images = _images(folder / name, root, not_images)
        if not images:
            raise DataError(
                f"class folder {folder / name} has no image files "
                f"({', '.join(IMAGE_SUFFIXES[:3])}, ...); add images, or remove the folder"
            )
        files.extend(images)
        labels.extend([class_names.index(name)] * len(images))
    if not files:
        raise DataError(
            f"{folder} has no class folders of images (a {folder.name}/ folder needs one "
            f"subfolder per class); lay it out as {LAYOUT}"
        )
    return FolderSplit(tuple(files), np.asarray(labels, dtype=np.int64))


def _images(folder: Path, root: Path, not_images: list[str]) -> list[str]:
    """The image files under ``folder`` (recursively, sorted); others go to ``not_images``."""
    images = []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_dir():
            images.extend(_images(path, root, not_images))
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(_relative(path, root))
        else:
            not_images.append(_relative(path, root))
    return images


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            visible = [entry for entry in entries if not entry.name.startswith(".")]
    except OSError as error:
        raise DataError(f"cannot read the folder {folder} ({error.strerror or error})") from None
    return sorted(visible, key=lambda entry: entry.name)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def decode_image(path: str | Path, size: int, channels: int = 3) -> np.ndarray:
    """The image at ``path`` as a channel-major ``uint8`` row of ``size * size * channels``
    values (see the module docstring for the resampling). Raises what Pillow raises for a file
    it cannot read (OSError, ValueError, ...)."""
    from PIL import Image, ImageOps  # loads only when images are packed

    mode = MODES[channels]
    with warnings.catch_warnings():
        # A large image, odd EXIF, a palette with transparency: Pillow warns but decodes them.
        warnings.simplefilter("ignore")
        with Image.open(path) as image:
            image.draft(mode, (size, size))
            square = ImageOps.fit(image.convert(mode), (size, size), method=Image.Resampling.BOX)
            pixels = np.asarray(square, dtype=np.uint8).reshape(size, size, channels)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)).reshape(-1)
