"""Where datasets live on disk.

The data folder is, in order of precedence: the ``data_dir`` argument (``--data-dir``), the
``SLOPELAB_DATA`` environment variable, then the user cache folder (``$XDG_CACHE_HOME/slopelab``
or ``~/.cache/slopelab`` on Linux, ``~/Library/Caches/slopelab`` on macOS,
``%LOCALAPPDATA%\\slopelab\\Cache`` on Windows). ``download`` puts dataset ``NAME`` in
``<data folder>/NAME``; loaders also look in the data folder itself and in system folders such as
the one Debian's ``dataset-fashion-mnist`` package installs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from slopelab.data.errors import DataError, option

ENV_VAR = "SLOPELAB_DATA"
APP_NAME = "slopelab"

SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),
    "mnist": (Path("/usr/share/datasets/mnist"),),
}
"""Folders that system packages install datasets into, searched after the data folder."""


def user_cache_dir() -> Path:
    """The platform's per-user cache folder for slopelab (created by nobody: it may not exist)."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / APP_NAME


def default_data_dir() -> Path:
    """``$SLOPELAB_DATA`` when set (and not empty), else :func:`user_cache_dir`."""
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser().absolute()
    return user_cache_dir()


def resolve_data_dir(data_dir: str | Path | None, *, archives: tuple[str, ...] = ()) -> Path:
    """The data folder to use: ``data_dir`` if given (not None or ""), else the default.

    A file where the folder should be (``--data-dir /etc/passwd``, or a folder inside a file)
    is a ``DataError``; only a file whose name ends with one of ``archives`` is accepted (a
    dataset's own archive, such as ``cifar-10-python.tar.gz``).
    """
    given = data_dir is not None and str(data_dir).strip() != ""
    folder = Path(data_dir).expanduser().absolute() if given else default_data_dir()
    if archives and folder.is_file() and folder.name.lower().endswith(archives):
        return folder
    blocking = next((path for path in (folder, *folder.parents) if path.is_file()), None)
    if blocking is not None:
        if given:
            fix = f"give {option('data_dir')} a folder"
        elif os.environ.get(ENV_VAR, "").strip():
            fix = f"set ${ENV_VAR} to a folder"
        else:
            fix = f"pass {option('data_dir')} or set ${ENV_VAR} to a folder"
        problem = "is a file" if blocking == folder else f"cannot exist: {blocking} is a file"
        raise DataError(f"the data folder {folder} {problem}, not a folder; {fix}")
    return folder


def dataset_dir(name: str, data_dir: str | Path | None) -> Path:
    """Where ``download(name)`` puts dataset ``name``: ``<data folder>/<name>``."""
    return resolve_data_dir(data_dir) / name


def search_dirs(name: str, data_dir: str | Path | None) -> list[Path]:
    """Folders to look for dataset ``name`` in, most specific first: ``<data folder>/<name>``,
    the data folder itself, then the system folders in :data:`SYSTEM_DIRS`."""
    root = resolve_data_dir(data_dir)
    return [root / name, root, *SYSTEM_DIRS.get(name, ())]


def describe_dirs(folders: list[Path]) -> str:
    """``"/a, /b or /c"`` for messages."""
    names = [str(folder) for folder in folders]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
