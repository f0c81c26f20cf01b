"""Run folders (slopelab.runs): atomic writes, file modes, the metrics log, folder rules."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import runs
from slopelab.history import Budget, EpochRecord, History, StepRecord
from slopelab.optim import get_optimizer
from slopelab.problem import make_problem
from slopelab.runs import (
    MetricsLog,
    RunError,
    append_lines,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_text,
    hold_run_folder,
    new_run_dir,
    read_config,
    read_history,
    remove_leftovers,
)
from slopelab.train import DescentConfig, descend
from tests.helpers import blobs


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


WRITERS = {
    "text": lambda path: atomic_write_text(path, "{}\n"),
    "bytes": lambda path: atomic_write_bytes(path, b"\x89PNG"),
    "npz": lambda path: atomic_save_npz(path, {"W": np.zeros((2, 3))}),
    "append": lambda path: append_lines(path, ['{"type": "step"}']),
    "metrics": lambda path: MetricsLog(path.parent).rewrite(History("sgd")),
}


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027, 0o077])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_new_files_follow_the_umask(tmp_path, mask, writer):
    """Not 0600 from mkstemp: a run folder is shared like any other file the user makes."""
    path = tmp_path / ("metrics.jsonl" if writer == "metrics" else "file")
    with umask(mask):
        WRITERS[writer](path)
        assert mode(path) == 0o666 & ~mask
        WRITERS[writer](path)  # replacing (or appending to) the file keeps that mode
        assert mode(path) == 0o666 & ~mask
    assert leftovers(tmp_path) == []


def test_atomic_write_replaces_the_content_and_creates_the_folder(tmp_path):
    path = tmp_path / "deep" / "er" / "config.json"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second ü\n")
    assert path.read_text(encoding="utf-8") == "second ü\n"
    assert leftovers(path.parent) == []


class FailingOs:
    """``os`` for slopelab.runs only, where one call of ``name`` raises ``OSError(code)``
    (a write first writes half of its bytes, as a disk that fills up midway)."""

    def __init__(self, name: str, code: int, exception: type[BaseException] = OSError) -> None:
        self.name, self.code, self.exception = name, code, exception

    def __getattr__(self, attribute: str):
        real = getattr(os, attribute)
        if attribute != self.name:
            return real

        def failing(*args, **kwargs):
            if attribute == "write":
                os.write(args[0], bytes(args[1][: len(args[1]) // 2]))
            if attribute == "open" and not args[1] & os.O_CREAT:
                return real(*args, **kwargs)  # reading a folder to flush or lock it
            if self.exception is OSError:
                raise OSError(self.code, os.strerror(self.code))
            raise self.exception

        return failing


FAULTS = [
    ("open", errno.EROFS),
    ("open", errno.EACCES),
    ("write", errno.ENOSPC),
    ("fsync", errno.EIO),
    ("replace", errno.EPERM),
]


@pytest.mark.parametrize(("call", "code"), FAULTS)
def test_a_failed_atomic_write_keeps_the_old_file_and_names_the_target(
    tmp_path, monkeypatch, call, code
):
    path = tmp_path / "checkpoint.npz"
    atomic_write_bytes(path, b"old content")
    monkeypatch.setattr(runs, "os", FailingOs(call, code))
    with pytest.raises(OSError) as raised:
        atomic_write_bytes(path, b"new content, much longer than the old one")
    assert raised.value.errno == code
    assert raised.value.filename == str(path)  # the file the user knows, not the temporary
    assert raised.value.strerror == os.strerror(code)
    assert path.read_bytes() == b"old content"
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_a_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    atomic_write_bytes(path, b"old")
    monkeypatch.setattr(runs, "os", FailingOs("write", 0, KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new content")
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("call", "code"), [f for f in FAULTS if f[0] != "replace"])
def test_a_failed_append_cuts_the_log_back_to_whole_lines(tmp_path, monkeypatch, call, code):
    path = tmp_path / "metrics.jsonl"
    append_lines(path, ['{"a": 1}', '{"a": 2}'])
    before = path.read_bytes()
    monkeypatch.setattr(runs, "os", FailingOs(call, code))
    with pytest.raises(OSError) as raised:
        append_lines(path, ['{"a": 3}', '{"a": 4, "padding": "' + "x" * 5000 + '"}'])
    assert raised.value.errno == code and raised.value.filename == str(path)
    assert path.read_bytes() == before


def small_run(epochs: float = 3, batch_size: int = 16, **config) -> History:
    """A real descent on blobs (N=90), an epoch record after every epoch."""
    X, y = blobs(seed=1, per_class=30)
    problem = make_problem("softmax", X[::2], y[::2], X[1::2], y[1::2])
    settings = DescentConfig(reg=1e-3, batch_size=batch_size, **config)
    optimizer = get_optimizer("sgd", learning_rate=0.1)
    rng = np.random.default_rng(0)
    return descend(problem, optimizer, settings, Budget(epochs=epochs), rng)


def run_order(epochs: float = 3, batch_size: int = 16) -> tuple[History, list[dict]]:
    """A run and its records in the order they happened, seen from the step callback."""
    X, y = blobs(seed=1, per_class=30)
    problem = make_problem("softmax", X[::2], y[::2], X[1::2], y[1::2])
    seen: list[dict] = []
    counts = [0, 0]

    def on_step(state, history: History) -> None:
        for record in history.steps[counts[0] :]:
            seen.append({"type": "step", **asdict(record)})
        for record in history.epochs[counts[1] :]:
            seen.append({"type": "epoch", **asdict(record)})
        counts[:] = [len(history.steps), len(history.epochs)]

    history = descend(
        problem,
        get_optimizer("sgd", learning_rate=0.1),
        DescentConfig(reg=1e-3, batch_size=batch_size),
        Budget(epochs=epochs),
        np.random.default_rng(0),
        on_step=on_step,
    )
    on_step(None, history)  # the final epoch record, added after the last step
    return history, seen


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(("epochs", "batch_size"), [(3, 16), (2.5, 7), (2, 45), (1, 100)])
def test_metrics_are_written_in_run_order_by_sync_and_by_rewrite(tmp_path, epochs, batch_size):
    """Steps of an epoch, then that epoch's record: appended, rewritten and read back."""
    history, order = run_order(epochs, batch_size)
    assert any(r["type"] == "epoch" for r in order[:-1]) == (epochs > 1)  # between steps
    synced, rewritten = tmp_path / "synced", tmp_path / "rewritten"
    synced.mkdir(), rewritten.mkdir()
    log = MetricsLog(synced)
    count = len(history.steps)
    for stop in sorted({1, count // 2, history.epochs[0].step, count}):  # interrupts, epochs
        epochs = [record for record in history.epochs if record.step <= stop]
        log.sync(History("sgd", steps=history.steps[:stop], epochs=epochs))
    log.sync(history)
    MetricsLog(rewritten).rewrite(read_history(synced, "sgd"))
    expected = json.loads(runs.dumps(order))
    assert lines(synced / "metrics.jsonl") == expected
    assert lines(rewritten / "metrics.jsonl") == expected


def test_read_history_up_to_a_step_keeps_the_epochs_recorded_by_then(tmp_path):
    history = small_run(epochs=3, batch_size=16)  # 3 steps per epoch
    MetricsLog(tmp_path).sync(history)
    for step in range(len(history.steps) + 1):
        kept = read_history(tmp_path, "sgd", up_to_step=step)
        assert [r.step for r in kept.steps] == list(range(step))
        assert [r.step for r in kept.epochs] == [r.step for r in history.epochs if r.step <= step]


def test_a_cut_last_line_is_left_out_at_every_byte(tmp_path):
    """A kill can cut the last append anywhere: what is read back is exactly the records
    whose line (newline included) is whole."""
    history = small_run(epochs=1, batch_size=30)  # two steps, then the epoch
    MetricsLog(tmp_path).sync(history)
    path = tmp_path / "metrics.jsonl"
    data = path.read_bytes()
    ends = [index + 1 for index, byte in enumerate(data) if byte == ord("\n")]
    whole = lines(path)
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        read = read_history(tmp_path, "sgd")
        complete = sum(end <= cut for end in ends)
        expected_steps = [r for r in whole[:complete] if r["type"] == "step"]
        assert [r.step for r in read.steps] == [r["step"] for r in expected_steps]
        assert len(read.steps) + len(read.epochs) == complete


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not JSON: Expecting property name"),
        (b"[1, 2]", 'not an object with "type" step or epoch'),
        (b'{"type": "lap", "step": 1}', 'not an object with "type" step or epoch'),
        (b'{"step": 1}', 'not an object with "type" step or epoch'),
        (b'{"type": "step", "step": 1}', r"fields \['step'\], expected \['data_loss', "),
        (b'{"type": "epoch", "step": 1, "x": 2}', r"fields \['step', 'x'\], expected \['epoch"),
        (b"\xff\xfe", "not JSON: 'utf-8' codec can't decode"),
    ],
)
def test_a_broken_whole_line_is_a_run_error_naming_it(tmp_path, line, problem):
    history = small_run(epochs=1, batch_size=30)
    MetricsLog(tmp_path).sync(history)
    path = tmp_path / "metrics.jsonl"
    good = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(good[0] + line + b"\n" + b"".join(good[1:]))
    with pytest.raises(
        RunError, match=rf"metrics.jsonl line 2 is not a metrics record \({problem}"
    ):
        read_history(tmp_path, "sgd")


def test_named_run_folder_rules(tmp_path):
    leftover = tmp_path / "a" / ".config.json.0123abcd.tmp"
    leftover.parent.mkdir()
    leftover.write_text("{")
    assert new_run_dir(tmp_path, "a", "train") == tmp_path / "a"  # only a killed write's temp
    assert list((tmp_path / "a").iterdir()) == []
    (tmp_path / "a" / "config.json").write_text("{}")
    taken = rf"run folder {tmp_path / 'a'} already exists and is not empty; choose another --name"
    with pytest.raises(RunError, match=rf"^{taken}, or continue it with slopelab train --resume "):
        new_run_dir(tmp_path, "a", "train", resume="slopelab train --resume")
    with pytest.raises(RunError, match=rf"^{taken}$"):  # a command without --resume
        new_run_dir(tmp_path, "a", "compare")
    (tmp_path / "f").write_text("")
    with pytest.raises(RunError, match=r"f is a file, so it cannot be a run folder; choose an"):
        new_run_dir(tmp_path, "f", "train")


NAME_RULE = r"must start with a letter or digit and hold only letters, digits"


@pytest.mark.parametrize(
    "name",
    ["-rf", "--help", "...", ".", "..", ".hidden", "_x", "../x", "a/b", "a b", "", "a\nb",
     "x" * 61, "a\\b", "~", "a:b", "*"],
)  # fmt: skip
def test_run_names_must_start_with_a_letter_or_digit_and_stay_plain(tmp_path, name):
    with pytest.raises(RunError, match=rf"run name .* {NAME_RULE}"):
        new_run_dir(tmp_path, name, "train")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a", "9", "run-1.2_b", "x" * 60, "étude", "a..b", "B-"])
def test_plain_run_names_are_accepted(tmp_path, name):
    assert new_run_dir(tmp_path, name, "train") == tmp_path / name
    assert [path.name for path in tmp_path.iterdir()] == [name]


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=70))
def test_any_name_is_refused_or_a_visible_folder_right_under_the_root(name):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            created = new_run_dir(root, name, "train")
        except RunError as error:
            assert NAME_RULE in str(error)
            assert list(root.iterdir()) == []
            return
        assert created.parent == root and created.name == name
        assert name[0].isalnum() and len(name) <= 60  # shown by ls, never read as a flag


def test_out_must_be_a_folder_or_a_path_to_one(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RunError, match=r"--out .*file is a file, not a folder; give a folder"):
        new_run_dir(tmp_path / "file", "a", "train")
    with pytest.raises(RunError, match=r"--out .*file/x/y cannot be created: .*file is a file"):
        new_run_dir(tmp_path / "file" / "x" / "y", None, "train")
    assert new_run_dir(tmp_path / "new" / "deep", None, "train").parent == tmp_path / "new/deep"


@pytest.mark.parametrize("below", ["x.csv", "sub/x.csv"])
def test_writing_below_a_file_names_the_file_in_the_way(tmp_path, below):
    """mkdir says "File exists" (naming the folder it wanted) for a file in the way."""
    (tmp_path / "file").write_text("keep")
    with pytest.raises(NotADirectoryError) as raised:
        atomic_write_text(tmp_path / "file" / below, "text")
    assert raised.value.errno == errno.ENOTDIR and raised.value.filename == str(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "keep"


def test_writing_onto_a_folder_says_it_is_a_folder(tmp_path):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(IsADirectoryError, match=r"out\.csv"):
        atomic_write_text(tmp_path / "out.csv", "text")
    assert leftovers(tmp_path) == []


def test_read_config_says_what_is_wrong(tmp_path):
    with pytest.raises(RunError, match=r"nowhere does not exist; check the path"):
        read_config(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(RunError, match=r"notes.txt is a file, not a run folder; give a run folder"):
        read_config(tmp_path / "notes.txt")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text("{}")
    with pytest.raises(RunError, match=r"other is not a run folder: it has no config.json"):
        read_config(tmp_path / "other")
    (tmp_path / "early").mkdir()
    (tmp_path / "early" / ".config.json.0123abcd.tmp").write_text("{")
    with pytest.raises(RunError, match=r"stopped before it was written.*run the same command"):
        read_config(tmp_path / "early")
    (tmp_path / "early" / "config.json").mkdir()
    with pytest.raises(RunError, match=r"config.json is not a file; the run folder is damaged"):
        read_config(tmp_path / "early")
    (tmp_path / "early" / "config.json").rmdir()
    bad = {
        "{": "is not valid JSON",
        "[1]": "holds no JSON object",
        "[" * 100_000: r"is not valid JSON \(maximum recursion depth",
        '{"seed": ' + "9" * 5000 + "}": r"is not valid JSON \(Exceeds the limit",
        "\udcff": "is not valid JSON",
    }
    for text, message in bad.items():
        (tmp_path / "early" / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
        with pytest.raises(RunError, match=message):
            read_config(tmp_path / "early")
    (tmp_path / "early" / "config.json").write_text("{}")
    for inside in ("config.json", "checkpoint.npz"):
        (tmp_path / "early" / inside).write_text("{}")
        with pytest.raises(RunError, match=rf"{inside} is a file, not a run folder; give the "
                           rf"folder that holds it: .*early$"):  # fmt: skip
            read_config(tmp_path / "early" / inside)


def test_remove_leftovers_removes_only_temporaries(tmp_path):
    names = [".model.npz.0a1b2c3d.tmp", ".config.json.x_y9.tmp", "config.json", "notes.tmp"]
    for name in names:
        (tmp_path / name).write_text("x")
    removed = remove_leftovers(tmp_path)
    assert sorted(path.name for path in removed) == sorted(names[:2])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.json", "notes.tmp"]


def test_a_run_folder_is_held_by_one_process_at_a_time(tmp_path):
    held = pytest.raises(RunError, match=r"is in use by another slopelab process")
    with hold_run_folder(tmp_path), held, hold_run_folder(tmp_path):
        pass
    with hold_run_folder(tmp_path):  # released on the way out
        pass


FINITE_OR_NOT = st.floats() | st.integers(-(2**70), 2**70)
NUMPY_SCALARS = FINITE_OR_NOT.filter(lambda v: abs(v) < 1e300).map(np.float64) | st.integers(
    -(2**62), 2**62
).map(np.int64)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(FINITE_OR_NOT | NUMPY_SCALARS, min_size=10, max_size=10), step=st.booleans())
def test_a_record_line_is_the_json_of_the_whole_record(values, step):
    """The fast line is exactly ``dumps`` of ``asdict``: non-finite numbers as null, numpy
    scalars as plain numbers, fields in their order."""
    kind = StepRecord if step else EpochRecord
    record = kind(*values[: len(fields(kind))])
    name = "step" if step else "epoch"
    assert runs.record_line(name, record) == runs.dumps({"type": name, **asdict(record)})
