"""Where data lives: --data-dir beats $SLOPELAB_DATA beats the user cache folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from slopelab.data import DataError, default_data_dir, locations, resolve_data_dir


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLOPELAB_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    return tmp_path / "home"


def test_argument_beats_environment_beats_cache(home, tmp_path, monkeypatch):
    assert resolve_data_dir(None) == home / ".cache" / "slopelab"
    monkeypatch.setenv("SLOPELAB_DATA", str(tmp_path / "from-env"))
    assert resolve_data_dir(None) == tmp_path / "from-env"
    assert default_data_dir() == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "from-arg") == tmp_path / "from-arg"
    assert resolve_data_dir(str(tmp_path / "from-arg")) == tmp_path / "from-arg"


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_values_count_as_not_given(home, monkeypatch, empty):
    monkeypatch.setenv("SLOPELAB_DATA", empty)
    assert resolve_data_dir(empty) == home / ".cache" / "slopelab"


def test_xdg_cache_home_is_honoured_when_absolute(home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "slopelab"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec says: ignore it
    assert default_data_dir() == home / ".cache" / "slopelab"


@pytest.mark.parametrize(
    ("platform", "environment", "expected"),
    [
        ("darwin", {}, "home/Library/Caches/slopelab"),
        ("win32", {"LOCALAPPDATA": "{tmp}/local"}, "local/slopelab/Cache"),
        ("win32", {}, "home/AppData/Local/slopelab/Cache"),
    ],
)
def test_other_platforms(home, tmp_path, monkeypatch, platform, environment, expected):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    assert locations.user_cache_dir() == tmp_path / expected


def test_user_folder_is_expanded(home):
    assert resolve_data_dir("~/datasets") == home / "datasets"


def test_search_order_is_named_folder_then_data_folder_then_system(tmp_path, monkeypatch):
    monkeypatch.setitem(locations.SYSTEM_DIRS, "fashion-mnist", (Path("/system/fm"),))
    assert locations.search_dirs("fashion-mnist", tmp_path) == [
        tmp_path / "fashion-mnist",
        tmp_path,
        Path("/system/fm"),
    ]
    assert locations.dataset_dir("cifar10", tmp_path) == tmp_path / "cifar10"


def test_a_data_folder_that_is_a_file_or_inside_one_is_refused(home, tmp_path, monkeypatch):
    plain = tmp_path / "passwd"
    plain.write_text("root:x:0:0\n")
    with pytest.raises(DataError, match=r"the data folder .*passwd is a file, not a folder; give "
                       r"--data-dir \(data_dir in Python\) a folder$"):  # fmt: skip
        resolve_data_dir(plain)
    with pytest.raises(DataError, match=r"the data folder .*passwd/sub cannot exist: .*passwd is "
                       r"a file, not a folder"):  # fmt: skip
        resolve_data_dir(plain / "sub")
    monkeypatch.setenv("SLOPELAB_DATA", str(plain))
    with pytest.raises(DataError, match=r"is a file, not a folder; set \$SLOPELAB_DATA to a "):
        resolve_data_dir(None)


def test_an_archive_is_a_data_folder_only_where_archives_are_asked_for(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    assert resolve_data_dir(archive, archives=(".tar.gz",)) == archive
    with pytest.raises(DataError, match=r"is a file, not a folder"):
        resolve_data_dir(archive)
