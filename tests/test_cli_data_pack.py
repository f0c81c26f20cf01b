"""``slopelab data pack`` and ``data info`` on packs, from the command line; ``--data PACKED``
in other commands; Ctrl-C and SIGKILL in the middle of a pack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from slopelab.data.pack import open_pack
from slopelab.data.packing import PROGRESS, pack_image_folder
from tests.test_cli_runs import cli as run
from tests.test_data_imagefolder import image_tree, save_image
from tests.test_data_packing import add_bad_files, fake_cifar10, packed_bytes

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def assert_one_line_error(code: int, err: str, message: str) -> None:
    assert code == 2, err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture
def images(tmp_path) -> Path:
    image_tree(tmp_path / "src", {"ant": 12, "bee": 10, "cat": 8})
    return tmp_path / "src"


def test_pack_prints_what_it_made_and_the_skipped_files(tmp_path, images, capsys):
    add_bad_files(images)
    code, out, err = run(["data", "pack", str(images), "--out", str(tmp_path / "p"),
                          "--size", "2", "--jobs", "1", "--no-progress"], capsys)  # fmt: skip
    assert code == 0, err
    assert "src: 27 train / 3 val, 12 features (2x2x3, uint8), 3 classes" in out
    assert "skipped 4 files: ant/notes.txt: not an image file; " in out
    assert "and 1 more (listed with the reason in" in out
    assert open_pack(tmp_path / "p").skipped == 4


def test_pack_json_document_and_info(tmp_path, images, capsys):
    arguments = ["--size", "2", "--jobs", "1", "--json", "--seed", "3"]
    code, out, err = run(
        ["data", "pack", str(images), "--out", str(tmp_path / "p"), *arguments], capsys
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["splits"] == {"train": 27, "val": 3}
    assert document["image_shape"] == [2, 2, 3] and document["seed"] == 3
    assert document["class_names"] == ["ant", "bee", "cat"]
    code, out, err = run(["data", "info", str(tmp_path / "p"), "--verify", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["verified"] is True and info["splits"] == {"train": 27, "val": 3}
    assert "verified: every file matches its SHA-256" in err


def test_info_verify_finds_a_damaged_pack(tmp_path, images, capsys):
    run(["data", "pack", str(images), "--out", str(tmp_path / "p"), "--size", "2",
         "--jobs", "1"], capsys)  # fmt: skip
    path = tmp_path / "p" / "train-X.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    code, _, err = run(["data", "info", str(tmp_path / "p")], capsys)
    assert code == 0, err  # opening does not rehash
    code, _, err = run(["data", "info", str(tmp_path / "p"), "--verify"], capsys)
    assert_one_line_error(code, err, "the train split's files do not match their SHA-256")
    code, _, err = run(["data", "info", "digits", "--verify"], capsys)
    assert_one_line_error(
        code, err, "--verify rehashes a pack's files against its pack.json; digits is not a pack"
    )


def test_cifar10_packs_and_trains_evaluates_and_compares(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake_cifar10(tmp_path / "data")
    code, out, err = run(["data", "pack", "cifar10", "--data-dir", "data", "--out", "packed",
                          "--num-val", "10", "--no-progress"], capsys)  # fmt: skip
    assert code == 0, err
    assert "cifar10: 90 train / 10 val / 20 test, 3072 features (32x32x3, uint8)" in out
    code, out, err = run(["train", "--data", "packed", "--epochs", "1", "--json",
                          "--no-progress", "--name", "t"], capsys)  # fmt: skip
    assert code == 0, err
    trained = json.loads(out)
    code, out, err = run(["evaluate", "runs/t", "--json", "--no-progress"], capsys)
    assert code == 0, err
    evaluated = json.loads(out)
    for split in ("train", "val", "test"):  # the pack gives evaluate the same splits again
        assert evaluated[f"{split}_accuracy"] == trained[f"{split}_accuracy"]
    code, out, err = run(["compare", "--data", "packed", "--epochs", "1", "--no-progress",
                          "--name", "c"], capsys)  # fmt: skip
    assert code == 0, err


SOURCE_ERRORS = {
    "missing": (["nowhere"], "no such folder: nowhere; pass a folder of images laid out as"),
    "file": (["x.jpg"], "is a file; pass a folder of images"),
    "one class": (["one"], "has only the class folder 'ant'; a classifier needs at least 2"),
    "size for a dataset": (["digits", "--size", "4"], "--size 4 (size=4 in Python) resizes"),
    "size too large": (["two", "--size", "100000"], "is too large: at most 256 pixels a side"),
    "val without train": (["splits"], "has 'Test', 'val' but no train/ folder"),
}


@pytest.mark.parametrize("case", sorted(SOURCE_ERRORS))
def test_bad_sources_are_one_line_errors(tmp_path, monkeypatch, capsys, case):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jpg").write_bytes(b"x")
    image_tree(tmp_path / "one", {"ant": 2})
    image_tree(tmp_path / "two", {"ant": 2, "bee": 2})
    image_tree(tmp_path / "splits" / "val", {"ant": 2, "bee": 2})
    image_tree(tmp_path / "splits" / "Test", {"ant": 2, "bee": 2})
    arguments, message = SOURCE_ERRORS[case]
    code, _, err = run(["data", "pack", *arguments, "--out", "p", "--jobs", "1"], capsys)
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "p").exists()


def test_out_that_is_a_file_or_a_pack(tmp_path, images, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run(["data", "pack", str(images), "--out", str(tmp_path / "file")], capsys)
    assert_one_line_error(code, err, "is a file; --out must be a folder")
    arguments = ["data", "pack", str(images), "--out", str(tmp_path / "p"), "--jobs", "1"]
    assert run(arguments, capsys)[0] == 0
    code, _, err = run(arguments, capsys)
    assert_one_line_error(code, err, "already holds a pack; choose another --out, or pass")
    assert run([*arguments, "--overwrite", "--size", "4"], capsys)[0] == 0
    assert open_pack(tmp_path / "p").image_shape == (4, 4, 3)


def many_images(root: Path, count: int) -> None:
    for index in range(count):
        save_image(root / ("ab"[index % 2]) / f"{index:04d}.png", (index % 256, 0, 7))


def start_pack(source: Path, out: Path, *extra: str) -> subprocess.Popen:
    """The pack in a session of its own, as a terminal runs a command: its process group gets
    the terminal's Ctrl-C (and the test's own group does not)."""
    command = [sys.executable, "-m", "slopelab", "data", "pack", str(source), "--out", str(out),
               "--size", "2", "--chunk", "2", "--no-progress", *extra]  # fmt: skip
    return subprocess.Popen(
        command,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def chunks_done(out: Path) -> int:
    try:
        return sum(json.loads((out / PROGRESS).read_text())["done"].values())
    except (OSError, ValueError, KeyError):
        return 0


def wait_for_chunks(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while chunks_done(out) < count:
        assert process.poll() is None, "the pack ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.002)


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigkill_then_the_same_command_gives_the_uninterrupted_pack(tmp_path, jobs):
    many_images(tmp_path / "src", 300)
    whole = start_pack(tmp_path / "src", tmp_path / "whole", "--jobs", "1")
    whole.communicate(timeout=120)
    assert whole.returncode == 0
    out = tmp_path / "out"
    for kill_after in (5, 40):  # killed twice, further along each time
        process = start_pack(tmp_path / "src", out, "--jobs", jobs)
        wait_for_chunks(process, out, kill_after)
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=30)  # the workers hold stderr open until they end
        assert process.returncode == -signal.SIGKILL
        assert err == b""  # orphaned workers end quietly: no BrokenPipe, no leaked semaphores
        assert not (out / "pack.json").exists()
    process = start_pack(tmp_path / "src", out, "--jobs", jobs)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert packed_bytes(out) == packed_bytes(tmp_path / "whole")


@pytest.mark.slow
def test_ctrl_c_stops_with_one_line_saying_how_to_continue(tmp_path):
    many_images(tmp_path / "src", 300)
    out = tmp_path / "out"
    process = start_pack(tmp_path / "src", out, "--jobs", "2")
    wait_for_chunks(process, out, 5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    lines = err.decode().strip().splitlines()
    assert lines == [
        f"slopelab data: interrupted; the images packed so far are kept in {out}: run the same "
        "command again to continue"
    ]
    process = start_pack(tmp_path / "src", out, "--jobs", "2")
    process.communicate(timeout=120)
    assert process.returncode == 0
    assert open_pack(out).split("train").rows + open_pack(out).split("val").rows == 300
    pixels = np.concatenate([open_pack(out).split(s).X[:, 0] for s in ("train", "val")])
    assert sorted(pixels.tolist()) == sorted(index % 256 for index in range(300))


def wait_for(condition, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, "the pack ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.001)


MOMENTS = {
    "as the workers start": lambda process, out: wait_for((out / PROGRESS).exists, process),
    "after 20 chunks": lambda process, out: wait_for(lambda: chunks_done(out) >= 20, process),
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("to", ["process group", "parent"])
def test_ctrl_c_at_any_moment_prints_one_line_and_the_rerun_is_the_same_pack(tmp_path, moment, to):
    many_images(tmp_path / "src", 1000)
    pack_image_folder(tmp_path / "src", tmp_path / "whole", size=2, chunk_rows=2, jobs=1)
    out = tmp_path / "out"
    process = start_pack(tmp_path / "src", out, "--jobs", "2")
    MOMENTS[moment](process, out)
    if to == "parent":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slopelab data: interrupted"), lines
    if chunks_done(out) == 0:
        assert "kept in" not in lines[0]
    process = start_pack(tmp_path / "src", out, "--jobs", "2")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == b"", err.decode()
    assert packed_bytes(out) == packed_bytes(tmp_path / "whole")


def test_ctrl_c_before_out_exists_does_not_say_images_are_kept_in_it(
    tmp_path, images, capsys, monkeypatch
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("slopelab.data.packing.pack_image_folder", interrupted)
    code, _, err = run(["data", "pack", str(images), "--out", str(tmp_path / "p")], capsys)
    assert code == 130
    assert err == (
        "slopelab data: interrupted before any image was packed; run the same command again "
        "to start\n"
    )


DATASET_OPTIONS = {  # digits: 8x8 grey images; a CSV: not images
    ("digits", "--size", "8"): "ok",
    ("digits", "--channels", "1"): "ok",
    ("digits", "--size", "8", "--channels", "1"): "ok",
    ("digits", "--size", "32"): "--size 32 (size=32 in Python) resizes the images of a folder; "
    "the rows of digits are 8x8x1 images and are packed as they are: drop --size",
    ("digits", "--channels", "3"): "--channels 3 (channels=3 in Python) converts the images of "
    "a folder; the rows of digits are 8x8x1 images and are packed as they are: drop --channels",
    ("table.csv", "--channels", "1"): "the rows of table are not images and are packed as they",
    ("table.csv", "--size", "8"): "the rows of table are not images and are packed as they",
}


@pytest.mark.parametrize("arguments", list(DATASET_OPTIONS), ids=" ".join)
def test_a_dataset_takes_the_options_that_match_it_and_refuses_the_others(
    tmp_path, monkeypatch, capsys, arguments
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.csv").write_text("a,b,label\n" + "1,2,0\n3,4,1\n" * 20)
    code, _, err = run(["data", "pack", *arguments, "--out", "p", "--no-progress"], capsys)
    expected = DATASET_OPTIONS[arguments]
    if expected == "ok":
        assert code == 0, err
        assert open_pack(tmp_path / "p").image_shape == (8, 8, 1)
    else:
        assert_one_line_error(code, err, expected)
        assert not (tmp_path / "p").exists()


def test_decoding_options_are_noted_as_ignored_for_a_dataset(tmp_path, capsys):
    arguments = ["data", "pack", "digits", "--out", str(tmp_path / "p"), "--no-progress"]
    code, out, _ = run([*arguments, "--jobs", "2", "--chunk", "64"], capsys)
    assert code == 0
    assert (
        "note: --jobs and --chunk apply to decoding an image folder; a dataset is packed as it "
        "is, so they are ignored\n"
    ) in out
    code, out, _ = run([*arguments, "--overwrite"], capsys)
    assert code == 0 and "note:" not in out


def test_one_skipped_file_is_one_file(tmp_path, images, capsys):
    save_image(images / "loose.png", (1, 2, 3))
    code, out, err = run(["data", "pack", str(images), "--out", str(tmp_path / "p"),
                          "--size", "2", "--jobs", "1", "--no-progress"], capsys)  # fmt: skip
    assert code == 0, err
    assert (
        "skipped 1 file: loose.png: an image outside the class folders (images go in "
        f"SOURCE/<class>/) (listed with the reason in {tmp_path / 'p' / 'pack.json'})\n"
    ) in out
