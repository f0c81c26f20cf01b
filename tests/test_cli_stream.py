"""``slopelab train/evaluate/compare --data PACKED``: packs are streamed from disk, end to end
(in-process): the run records how, resume is bit-exact, the results match the in-memory
computation, and what needs the rows in memory says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from slopelab import train as train_module
from slopelab.commands import train as train_command
from slopelab.data.pack_write import write_pack
from slopelab.data.stream import block_order
from tests.test_cli_runs import (  # the fixtures are used by name
    arrays,
    cli,
    one_blas_thread,  # noqa: F401
    quick_figures,  # noqa: F401
    stop_after,
    workdir,  # noqa: F401
)

TRAIN = ["train", "--data", "packed", "--epochs", "3", "--batch-size", "32", "--no-progress"]


def write_toy_pack(folder: Path, dtype: str = "uint8") -> Path:
    """130 train / 40 test rows of 6 features, 3 classes a linear model can learn."""
    rng = np.random.default_rng(1)

    def split(num_rows):
        y = rng.integers(0, 3, num_rows)
        X = 70.0 * y[:, None] + 50.0 * rng.random((num_rows, 6))
        return (X.astype(np.uint8) if dtype == "uint8" else X.astype(np.float32)), y

    splits = {"train": split(130), "test": split(40)}
    write_pack(folder, "toy", splits, ["a", "b", "c"], None, "test", dtype=dtype)
    return folder


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_train_streams_a_pack_and_records_how(workdir, capsys, dtype):  # noqa: F811
    write_toy_pack(workdir / "packed", dtype)
    code, out, err = cli([*TRAIN, "--name", "streamed"], capsys)
    assert code == 0, err
    assert "streaming the pack from disk (--in-memory loads it instead): blocks of 117 rows" in out
    config = json.loads((workdir / "runs/streamed/config.json").read_text())
    assert config["data"]["data"] == str(workdir / "packed")
    assert config["data"]["stream"]["buffer_blocks"] == 16
    assert config["data"]["stream"]["block_rows"] >= 117  # about 8 MB of rows: one block here
    code, out, _ = cli([*TRAIN, "--name", "loaded", "--in-memory"], capsys)
    assert code == 0
    assert "streaming" not in out
    assert "stream" not in json.loads((workdir / "runs/loaded/config.json").read_text())["data"]


def test_streamed_results_are_those_of_the_rows_in_memory(workdir, capsys):  # noqa: F811
    """The final accuracies and loss computed in blocks equal evaluate's, in blocks and with
    the pack loaded into memory."""
    write_toy_pack(workdir / "packed")
    assert cli([*TRAIN, "--name", "run", "--json"], capsys)[0] == 0
    trained = results(workdir / "runs/run")
    for extra in ([], ["--in-memory"]):
        code, out, err = cli(["evaluate", "runs/run", "--json", *extra], capsys)
        assert code == 0, err
        evaluated = json.loads(out)
        for split in ("train", "val", "test"):
            assert evaluated[f"{split}_accuracy"] == trained[f"{split}_accuracy"]


def test_the_epochs_follow_the_block_shuffle_of_the_seed(workdir, capsys, monkeypatch):  # noqa: F811
    write_toy_pack(workdir / "packed")
    seen = []
    real_read = train_module._gather

    def recording(X, indices, buffer):
        seen.append(np.array(indices))
        return real_read(X, indices, buffer)

    monkeypatch.setattr(train_module, "_gather", recording)
    assert cli([*TRAIN, "--name", "run", "--seed", "5"], capsys)[0] == 0
    config = json.loads((workdir / "runs/run/config.json").read_text())
    block_rows = config["data"]["stream"]["block_rows"]
    num_train = 117  # 130 rows, the last 13 (10%) carved off as the validation split
    steps = -(-num_train // 32)
    for epoch in range(3):
        visited = np.concatenate(seen[epoch * steps : (epoch + 1) * steps])
        assert np.array_equal(visited, block_order(num_train, block_rows, 16, 5, epoch))


@pytest.mark.parametrize("polls", [2, 4, 6])
def test_resume_after_an_interrupt_ends_with_the_same_model(workdir, capsys, monkeypatch, polls):  # noqa: F811
    """Stopped mid-epoch (2, 6 of 4 steps an epoch) or at an epoch's end (4): the resumed run
    ends with the bits of the uninterrupted one."""
    write_toy_pack(workdir / "packed")
    assert cli([*TRAIN, "--name", "whole"], capsys)[0] == 0
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(polls))
        assert cli([*TRAIN, "--name", "cut"], capsys)[0] == 130
    code, out, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 0, err
    assert "streaming the pack from disk" in out
    whole = arrays(workdir / "runs/whole/model.npz", skip=("meta",))
    resumed = arrays(workdir / "runs/cut/model.npz", skip=("meta",))
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert np.array_equal(whole[key], resumed[key]), key


def test_a_resumed_run_keeps_its_way_of_reading(workdir, capsys, monkeypatch):  # noqa: F811
    write_toy_pack(workdir / "packed")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(2))
        assert cli([*TRAIN, "--name", "cut"], capsys)[0] == 130
    code, _, err = cli(["train", "--resume", "runs/cut", "--in-memory"], capsys)
    assert code == 2
    assert "--in-memory cannot be given with it" in err
    config_path = workdir / "runs/cut/config.json"
    config = json.loads(config_path.read_text())
    config["data"]["stream"] = {"block_rows": 0, "buffer_blocks": 16}
    config_path.write_text(json.dumps(config))
    code, _, err = cli(["train", "--resume", "runs/cut"], capsys)
    assert code == 2
    assert "data.stream block_rows must be a whole number >= 1; got 0" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "full"], "full-batch gradient descent needs all 117 training rows"),
        (["--sampling", "replacement"], "sampling 'replacement' would read random rows"),
    ],
)
def test_what_streaming_cannot_do_is_one_line(workdir, capsys, flags, message):  # noqa: F811
    write_toy_pack(workdir / "packed")
    code, _, err = cli(
        ["train", "--data", "packed", "--epochs", "1", "--no-progress", *flags], capsys
    )
    assert code == 2
    assert err.count("\n") == 1 and message in err and "--in-memory" in err


def test_compare_streams_the_minibatch_strategies_only(workdir, capsys):  # noqa: F811
    write_toy_pack(workdir / "packed")
    base = ["compare", "--data", "packed", "--epochs", "2", "--no-progress"]
    code, _, err = cli([*base, "--strategies", "sgd,gradient-descent"], capsys)
    assert code == 2
    assert "gradient-descent needs the training rows in memory" in err
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())
    code, out, err = cli([*base, "--json"], capsys)
    assert code == 0, err
    names = {row["name"] for row in json.loads(out)["strategies"]}
    assert "gradient-descent" not in names and "sgd+adam" in names
    code, out, err = cli([*base, "--json", "--in-memory"], capsys)
    assert code == 0, err
    assert "gradient-descent" in {row["name"] for row in json.loads(out)["strategies"]}


def edit_data(run_dir: Path, change) -> None:
    path = run_dir / "config.json"
    config = json.loads(path.read_text())
    change(config["data"])
    path.write_text(json.dumps(config))


def set_entry(*keys_and_value):
    *keys, value = keys_and_value

    def change(data: dict) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


@pytest.mark.parametrize("polls", [2, 4])  # in the middle of an epoch, and at its end
@pytest.mark.parametrize(
    ("change", "entry", "after"),
    [
        (set_entry("stream", "block_rows", 100), "data.stream.block_rows", "100"),
        (set_entry("stream", "buffer_blocks", 1), "data.stream.buffer_blocks", "1"),
        (set_entry("stream", None), "data.stream", "null"),
        (set_entry("preprocess", "standardize"), "data.preprocess", '"standardize"'),
        (set_entry("num_val", 5), "data.num_val", "5"),
        (set_entry("seed", 3), "data.seed", "3"),
    ],
)
def test_a_resume_refuses_other_data_or_another_order_of_its_rows(
    workdir,  # noqa: F811
    capsys,
    monkeypatch,
    polls,
    change,
    entry,
    after,
):
    """block_rows edited mid-epoch resumed at the step, and the run went on in another order
    (the checkpoint's position and parameters belong to the rows as they were read)."""
    write_toy_pack(workdir / "packed")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(polls))
        assert cli([*TRAIN, "--name", "cut"], capsys)[0] == 130
    run_dir = workdir / "runs/cut"
    saved = json.loads((run_dir / "config.json").read_text())
    for key in entry.split(".")[:-1]:
        saved = saved[key]
    before = json.dumps(saved[entry.split(".")[-1]])
    edit_data(run_dir, change)
    before_files = {path.name: path.read_bytes() for path in run_dir.iterdir()}
    code, out, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 2 and "resuming" not in out
    assert err.count("\n") == 1
    assert f"runs/cut/checkpoint.npz was saved by a run on data with {entry} {before}" in err
    assert f"now says {after}; set {entry} back" in err
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()} == before_files


def test_a_moved_pack_resumes(workdir, capsys, monkeypatch):  # noqa: F811
    """The pack's path may change: the run checks the pack's bytes (its SHA-256)."""
    write_toy_pack(workdir / "packed")
    assert cli([*TRAIN, "--name", "whole"], capsys)[0] == 0
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(2))
        assert cli([*TRAIN, "--name", "cut"], capsys)[0] == 130
    (workdir / "packed").rename(workdir / "moved")
    edit_data(workdir / "runs/cut", set_entry("data", str(workdir / "moved")))
    code, out, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 0, err
    assert "resuming runs/cut at step 2" in out
    whole = arrays(workdir / "runs/whole/model.npz", skip=("meta",))
    resumed = arrays(workdir / "runs/cut/model.npz", skip=("meta",))
    for key in whole:
        assert np.array_equal(whole[key], resumed[key]), key


@pytest.mark.parametrize(
    ("change", "entry"),
    [
        (set_entry("preprocess", "standardize"), "data.preprocess"),
        (set_entry("num_train", 100), "data.num_train"),
        (set_entry("sha256", None), "data.sha256"),  # so that another file may be given
    ],
)
def test_a_resume_in_memory_refuses_other_data_too(workdir, capsys, monkeypatch, change, entry):  # noqa: F811
    """Another preprocessing resumed silently on other numbers (exit 0)."""
    write_toy_pack(workdir / "packed")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(2))
        assert cli([*TRAIN, "--in-memory", "--name", "cut"], capsys)[0] == 130
    edit_data(workdir / "runs/cut", change)
    code, _, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"on data with {entry} " in err, err


@pytest.mark.parametrize("command", ["train", "evaluate", "compare", "sweep", "lr-find"])
def test_the_data_flag_says_it_takes_a_packed_folder(capsys, command):
    code, out, _ = cli([command, "--help"], capsys)
    assert code == 0
    out = " ".join(out.split())
    assert "--data NAME|FILE|PACKED" in out
    assert "or a folder packed by slopelab data pack" in out
