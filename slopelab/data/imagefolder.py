"""Image folders (the ImageNet / torchvision ``ImageFolder`` layout): find the images, decode one.

A source folder is either split folders of class folders, ``SOURCE/train/<class>/...`` with
optional ``SOURCE/val/<class>/...`` and ``SOURCE/test/<class>/...``, or directly
``SOURCE/<class>/...`` (all of it the training split). Split folders are recognised in any
letter case and by the aliases in :data:`SPLIT_NAMES` (``valid``, ``validation``, ...). A source
that mixes split folders with other folders, has two folders for one split, or has ``val/`` or
``test/`` but no ``train/`` is refused: which layout it means cannot be guessed.

Class names are the training class folders' names, sorted (label ``i`` is the ``i``-th name, as
torchvision numbers them). Images are found in class folders and their subfolders, by extension
(:data:`IMAGE_SUFFIXES`, any letter case); names starting with ``.`` are ignored; any other file,
a file outside the class folders, and a folder link already followed (a loop, or the same folder
twice) are listed with the reason, to be reported as skipped.

:func:`decode_image` turns one file into a channel-major ``uint8`` row (the CIFAR-10 layout):
decoded with Pillow, converted to RGB (or grey, ``channels=1``), the largest centred square
cropped, and box-resampled (each output pixel the mean of the input pixels it covers) to
``size x size``: the shorter side is scaled to ``size`` and the centre kept, as downsampled
ImageNet does. JPEGs are decoded at a reduced scale when that still leaves at least ``size``
pixels a side (Pillow's ``draft``), which makes large photos several times faster to read.
Grey images of more than 8 bits are scaled to 8: 16-bit ones (Pillow modes ``I;16*``) keep their
top 8 bits (``v >> 8``); 32-bit integer (``I``) and float (``F``) ones have no fixed white, so
each is scaled by its own range, ``(v - min) / (max - min) * 255`` rounded (a constant image
becomes 0).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.labels import listing

IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
)  # fmt: skip
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}  # fmt: skip  (folder name, lower-cased -> split)
MODES = {1: "L", 3: "RGB"}
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")  # Pillow's unsigned 16-bit grey
LAYOUT = "SOURCE/train/<class>/*.jpg (optionally val/ and test/) or SOURCE/<class>/*.jpg"
NOT_AN_IMAGE = "not an image file"
OUTSIDE_CLASSES = "an image outside the class folders (images go in SOURCE/<class>/)"
OUTSIDE_SPLITS = "a file outside the split folders"
LINK_FOLLOWED = "a link to a folder already read (a loop, or the same folder twice); not followed"


@dataclass(frozen=True)
class FolderSplit:
    """The images of one split: paths relative to the source folder (``/``-separated, in
    sorted order) and their labels (int64)."""

    files: tuple[str, ...]
    labels: np.ndarray


@dataclass(frozen=True)
class ImageFolder:
    """What :func:`scan_image_folder` found: class names, the splits present, and the entries
    left out as ``(relative path, reason)``."""

    root: Path
    class_names: tuple[str, ...]
    splits: dict[str, FolderSplit]
    left_out: tuple[tuple[str, str], ...]


def scan_image_folder(source: str | Path) -> ImageFolder:
    """Find the classes and images of ``source`` (see the module docstring).

    A missing folder, a file, an ambiguous layout, no class folders, a single class, or a class
    folder without images is a one-line ``DataError`` saying what was expected.
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
    scan = _Scan(root)
    split_roots = _split_folders(root, scan)
    class_names = tuple(_class_folders(split_roots["train"], scan))
    if len(class_names) < 2:
        found = f"only the class folder {class_names[0]!r}" if class_names else "no class folders"
        raise DataError(
            f"{split_roots['train']} has {found}; a classifier needs at least 2 classes, one "
            f"folder of images each, laid out as {LAYOUT}"
        )
    splits = {"train": _scan_split(split_roots["train"], class_names, class_names, scan)}
    for split in ("val", "test"):
        if split in split_roots:
            folders = _class_folders(split_roots[split], scan)
            splits[split] = _scan_split(split_roots[split], folders, class_names, scan)
    return ImageFolder(root, class_names, splits, tuple(scan.left_out))


@dataclass
class _Scan:
    """The state of one scan: the folders read (to follow no folder twice) and what is left
    out, as ``(relative path, reason)``."""

    root: Path
    visited: set[tuple[int, int]] = field(default_factory=set)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def leave_out(self, path: Path, reason: str) -> None:
        self.left_out.append((path.relative_to(self.root).as_posix(), reason))

    def first_visit(self, folder: Path) -> bool:
        """Whether ``folder`` (after links) is read for the first time; records it."""
        info = folder.stat()
        key = (info.st_dev, info.st_ino)
        if key in self.visited:
            self.leave_out(folder, LINK_FOLLOWED)
            return False
        self.visited.add(key)
        return True


def _split_folders(root: Path, scan: _Scan) -> dict[str, Path]:
    """``{split: folder}``: the split folders of ``root``, or ``{"train": root}`` when it holds
    class folders directly. Files beside split folders are left out."""
    scan.first_visit(root)
    entries = _entries(root)
    folders = [entry.name for entry in entries if entry.is_dir()]
    named = {name: SPLIT_NAMES[name.lower()] for name in folders if name.lower() in SPLIT_NAMES}
    if not named:
        return {"train": root}
    others = [name for name in folders if name not in named]
    if others:
        raise DataError(
            f"{root} holds split folders ({listing(list(named))}) and other folders "
            f"({listing(others)}); use either train/ (val/, test/) of class folders or class "
            "folders only: move or rename the others"
        )
    by_split: dict[str, list[str]] = {}
    for name, split in named.items():
        by_split.setdefault(split, []).append(name)
    for split, names in by_split.items():
        if len(names) > 1:
            raise DataError(
                f"{root} has {len(names)} folders for the {split} split ({listing(names)}); "
                "keep one"
            )
    if "train" not in by_split:
        raise DataError(
            f"{root} has {listing(list(named))} but no train/ folder, so there is nothing to "
            f"learn from; put the training images in {root}/train/<class>/"
        )
    for entry in entries:
        if not entry.is_dir():
            path = Path(entry.path)
            scan.leave_out(path, OUTSIDE_CLASSES if _is_image(path) else OUTSIDE_SPLITS)
    return {split: root / names[0] for split, names in by_split.items()}


def _class_folders(folder: Path, scan: _Scan) -> list[str]:
    """The names of the subfolders of a split folder, sorted; loose files are left out (they
    belong to no class)."""
    if folder != scan.root and not scan.first_visit(folder):
        return []
    names = []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_dir():
            names.append(entry.name)
        else:
            scan.leave_out(path, OUTSIDE_CLASSES if _is_image(path) else NOT_AN_IMAGE)
    return names


def _scan_split(
    folder: Path, found: Sequence[str], class_names: tuple[str, ...], scan: _Scan
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
        images = _images(folder / name, scan)
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


def _images(folder: Path, scan: _Scan) -> list[str]:
    """The image files under ``folder`` (recursively, sorted; no folder twice); other files
    are left out."""
    if not scan.first_visit(folder):
        return []
    images = []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_dir():
            images.extend(_images(path, scan))
        elif _is_image(path):
            images.append(path.relative_to(scan.root).as_posix())
        else:
            scan.leave_out(path, NOT_AN_IMAGE)
    return images


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            visible = [entry for entry in entries if not entry.name.startswith(".")]
    except OSError as error:
        raise DataError(f"cannot read the folder {folder} ({error.strerror or error})") from None
    return sorted(visible, key=lambda entry: entry.name)


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
            eight_bits = _eight_bits(image)
            square = ImageOps.fit(
                eight_bits.convert(mode), (size, size), method=Image.Resampling.BOX
            )
            pixels = np.asarray(square, dtype=np.uint8).reshape(size, size, channels)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)).reshape(-1)


def _eight_bits(image):  # a PIL.Image in, a PIL.Image out (Pillow loads only when used)
    """Grey images of more than 8 bits scaled to 8 (see the module docstring); Pillow's
    ``convert`` would clip them instead (a 16-bit image comes out almost all white)."""
    from PIL import Image

    if image.mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.uint16)
        return Image.fromarray((values >> 8).astype(np.uint8), "L")
    if image.mode not in ("I", "F"):
        return image
    values = np.asarray(image, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"a {image.mode} image with NaN or infinite pixels")
    low, high = values.min(), values.max()
    scaled = (values - low) * (255 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.rint(scaled).astype(np.uint8), "L")
