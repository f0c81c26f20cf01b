"""``slopelab train`` run folders end to end (in-process): resume, the paths a run remembers,
file modes, --resume's flags, --batch-size, full disks and read-only folders mid-run."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from slopelab import plots, runs
from slopelab.cli import main
from slopelab.commands import train as train_command
from slopelab.model import load_model
from tests.helpers import blobs
from tests.test_data_cifar10 import make_images, write_binary


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):  # sums in a fixed order: bit-for-bit comparable runs
        yield


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    """main()'s exit code (argparse's too), stdout and stderr."""
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_blobs(path: Path) -> Path:
    """60 train / 15 val / 15 test points in 4-D, 3 classes, every split given (no carving)."""
    X, y = blobs(seed=3, per_class=30, num_classes=3, num_features=4)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    np.savez(path, X=X[:60], y=y[:60], X_val=X[60:75], y_val=y[60:75], X_test=X[75:], y_test=y[75:])
    return path


@contextmanager
def stop_after(polls: int):
    """Stand-in for Ctrl-C: the loop's stop flag turns True after ``polls`` polls."""

    class Flag:
        count = 0

        def __getitem__(self, index: int) -> bool:
            self.count += 1
            return self.count > polls

    yield Flag()


def records(run_dir: Path) -> list[dict]:
    """metrics.jsonl in file order, without the wall-clock seconds."""
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def arrays(path: Path, skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files if key not in skip}


def assert_same_arrays(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


def assert_same_run(run_dir: Path, reference: Path) -> None:
    """The same model bit for bit, the same checkpoint but for the seconds, the same metrics
    in the same order but for the seconds."""
    assert_same_arrays(arrays(run_dir / "model.npz"), arrays(reference / "model.npz"))
    skip = ("seconds",)
    assert_same_arrays(
        arrays(run_dir / "checkpoint.npz", skip), arrays(reference / "checkpoint.npz", skip)
    )
    assert records(run_dir) == records(reference)


BLOBS = ["train", "--data", "blobs.npz", "--batch-size", "16", "--no-progress"]  # 4 steps/epoch


# --- resume: the stop status and the metrics order -----------------------------------------


def test_resuming_an_early_stopped_run_changes_nothing(workdir, capsys):
    write_blobs(workdir / "blobs.npz")
    args = [*BLOBS, "--epochs", "60", "--patience", "2", "--name", "early"]
    code, out, _ = cli(args, capsys)
    assert code == 0 and "early stop after epoch" in out
    run_dir = workdir / "runs/early"
    before = {path.name: path.read_bytes() for path in run_dir.glob("*") if path.suffix != ".png"}
    assert len(records(run_dir)) < 60 * 5  # it did stop early
    for _ in range(2):
        code, out, _ = cli(["train", "--resume", "runs/early", "--no-progress"], capsys)
        assert code == 0
        assert "runs/early already ended: early stop after epoch" in out
        after = {
            path.name: path.read_bytes() for path in run_dir.glob("*") if path.suffix != ".png"
        }
        assert after.keys() == before.keys()
        for name in ("metrics.jsonl", "checkpoint.npz", "model.npz", "results.json"):
            assert after[name] == before[name], name


def stop_and_resume(common: list[str], stops: list[int], capsys, monkeypatch) -> None:
    """Train ``common`` as runs/stopped, interrupted after each number of polls in ``stops``
    (every interrupt exits 130 with a checkpoint), then resume it to the end."""
    for number, polls in enumerate(stops):
        with monkeypatch.context() as patched:
            patched.setattr(train_command, "interrupt_flag", lambda polls=polls: stop_after(polls))
            resume = ["train", "--resume", "runs/stopped", "--no-progress"]
            code, _, err = cli(resume if number else [*common, "--name", "stopped"], capsys)
        assert code == 130 and "checkpoint saved in runs/stopped" in err
    assert cli(["train", "--resume", "runs/stopped", "--no-progress"], capsys)[0] == 0


@pytest.mark.parametrize(
    "stops",
    [[5], [4], [8, 3], [1, 1, 1, 6], [19]],  # mid-epoch, on an epoch's end, several times
)
def test_an_interrupted_run_resumed_equals_the_uninterrupted_one_line_by_line(
    workdir, capsys, monkeypatch, stops
):
    write_blobs(workdir / "blobs.npz")
    common = [*BLOBS, "--epochs", "5", "--optimizer", "adam", "--seed", "4"]
    assert cli([*common, "--name", "straight"], capsys)[0] == 0
    stop_and_resume(common, stops, capsys, monkeypatch)
    lines = records(workdir / "runs/stopped")
    assert [line["type"] for line in lines] == (["step"] * 4 + ["epoch"]) * 5
    assert_same_run(workdir / "runs/stopped", workdir / "runs/straight")


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(workdir, capsys):
    write_blobs(workdir / "blobs.npz")
    common = [*BLOBS, "--epochs", "3"]
    assert cli([*common, "--name", "straight"], capsys)[0] == 0
    run_dir = workdir / "runs/early"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_bytes((workdir / "runs/straight/config.json").read_bytes())
    (run_dir / ".checkpoint.npz.0a1b2c3d.tmp").write_bytes(b"PK\x03\x04 half a checkpoint")
    code, out, _ = cli(["train", "--resume", "runs/early", "--no-progress"], capsys)
    assert code == 0
    assert "runs/early has no checkpoint yet (it stopped before its first epoch ended); " in out
    assert not list(run_dir.glob("*.tmp"))  # the killed write's temporary is cleaned up
    assert_same_run(run_dir, workdir / "runs/straight")


def test_a_run_killed_before_its_config_is_written_can_be_run_again(workdir, capsys):
    write_blobs(workdir / "blobs.npz")
    (workdir / "runs/early").mkdir(parents=True)
    (workdir / "runs/early/.config.json.0a1b2c3d.tmp").write_text("{")
    code, _, err = cli(["train", "--resume", "runs/early"], capsys)
    assert code == 2
    assert err == (
        "slopelab train: error: runs/early has no config.json: the run stopped before it was "
        "written, so there is nothing to resume; run the same command again (its --name is "
        "free)\n"
    )
    assert cli([*BLOBS, "--epochs", "1", "--name", "early"], capsys)[0] == 0


def test_a_second_resume_of_a_run_in_use_is_refused(workdir, capsys):
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "1", "--name", "busy"], capsys)[0] == 0
    with runs.hold_run_folder(workdir / "runs/busy"):  # as a process still training it would
        code, _, err = cli(["train", "--resume", "runs/busy"], capsys)
    assert code == 2
    assert "runs/busy is in use by another slopelab process" in err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "checkpoint.npz").write_bytes(b"garbage"), r"is not a readable checkpoint"),
        (
            lambda d: np.savez(d / "checkpoint.npz", **{"params/W": np.zeros((3, 3))}),
            r"checkpoint.npz is incomplete or corrupt \(step is missing\)",  # read first
        ),
        (
            lambda d: (d / "metrics.jsonl").write_text('{"type": "step"}\n'),
            r"metrics.jsonl line 1 is not a metrics record",
        ),
        (
            lambda d: (d / "metrics.jsonl").write_text(""),
            r"metrics.jsonl holds 0 of the 4 steps in the checkpoint; it was cut or edited",
        ),
        (lambda d: (d / "config.json").write_text('{"command": "train"}'), r"lacks data: data"),
        (lambda d: (d / "config.json").write_text("[]"), r"holds no JSON object"),
    ],
)
def test_a_damaged_run_folder_gives_one_line_and_exit_2(workdir, capsys, damage, message):
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "1", "--name", "hurt"], capsys)[0] == 0
    damage(workdir / "runs/hurt")
    code, _, err = cli(["train", "--resume", "runs/hurt"], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert re.search(message, err), err


# --- paths a run remembers -----------------------------------------------------------------


def test_a_run_on_a_relative_csv_path_resumes_from_another_folder(tmp_path, capsys, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "data").mkdir(parents=True)
    elsewhere.mkdir()
    X, y = blobs(seed=5, per_class=40, num_classes=3, num_features=3)
    rows = ["a,b,c,label"] + [f"{r[0]},{r[1]},{r[2]},{c}" for r, c in zip(X, y, strict=True)]
    (project / "data/points.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(project)
    common = ["train", "--data", "data/points.csv", "--epochs", "4", "--batch-size", "10"]
    assert cli([*common, "--no-progress", "--name", "straight"], capsys)[0] == 0
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(13))
        assert cli([*common, "--no-progress", "--name", "moved"], capsys)[0] == 130
    config = json.loads((project / "runs/moved/config.json").read_text())
    assert config["data"]["data"] == str(project / "data/points.csv")
    monkeypatch.chdir(elsewhere)
    code, _, err = cli(["train", "--resume", str(project / "runs/moved")], capsys)
    assert code == 0, err
    assert_same_run(project / "runs/moved", project / "runs/straight")
    meta = load_model(project / "runs/moved").meta
    assert meta["data"]["data"] == str(project / "data/points.csv")  # not the stem "points"


@pytest.mark.parametrize("given", ["--data-dir", "SLOPELAB_DATA"])
def test_the_cifar10_folder_is_recorded_resolved(tmp_path, capsys, monkeypatch, given):
    """A relative --data-dir, or $SLOPELAB_DATA, is stored as an absolute folder: the run
    resumes from elsewhere without either."""
    train, test = make_images()
    write_binary(tmp_path / "images" / "cifar-10-batches-bin", train, test)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLOPELAB_DATA", raising=False)
    args = ["train", "--data", "cifar10", "--num-val", "4", "--epochs", "2", "--batch-size", "8"]
    if given == "--data-dir":
        args += ["--data-dir", "images"]
    else:
        monkeypatch.setenv("SLOPELAB_DATA", "images")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(3))
        assert cli([*args, "--no-progress", "--name", "c"], capsys)[0] == 130
    config = json.loads((tmp_path / "runs/c/config.json").read_text())
    assert config["data"]["data_dir"] == str(tmp_path / "images")
    monkeypatch.delenv("SLOPELAB_DATA", raising=False)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, _, err = cli(["train", "--resume", str(tmp_path / "runs/c"), "--no-progress"], capsys)
    assert code == 0, err


# --- file modes ----------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_run_folder_files_follow_the_umask(workdir, capsys, mask):
    write_blobs(workdir / "blobs.npz")
    previous = os.umask(mask)
    try:
        assert cli([*BLOBS, "--epochs", "1", "--name", "shared"], capsys)[0] == 0
    finally:
        os.umask(previous)
    files = sorted((workdir / "runs/shared").iterdir())
    assert {path.name for path in files} >= {"config.json", "checkpoint.npz", "model.npz"}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {
        path.name: 0o666 & ~mask for path in files
    }


# --- --resume and its flags ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--lr", "0.5"], "--learning-rate"),
        (["--batch-size", "8"], "--batch-size"),
        (["--data", "digits"], "--data"),
        (["--seed", "3"], "--seed"),
        (["--name", "other"], "--name"),
        (["--out", "elsewhere"], "--out"),
        (["--patience", "2"], "--patience"),
        (["--opt", "momentum=0.9", "--optimizer", "momentum"], "--opt, --optimizer"),
        (["--reg=0.5", "--loss", "svm", "--schedule", "constant"], "--loss, --reg, --schedule"),
    ],
)
def test_resume_refuses_every_other_flag_in_one_line(workdir, capsys, extra, named):
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "1", "--name", "done"], capsys)[0] == 0
    before = {path.name: path.read_bytes() for path in (workdir / "runs/done").iterdir()}
    code, out, err = cli(["train", "--resume", "runs/done", *extra], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"slopelab train: error: --resume continues runs/done with the settings in its "
        f"config.json, so {named} cannot be given with it; drop them, or start a new run\n"
    )
    after = {path.name: path.read_bytes() for path in (workdir / "runs/done").iterdir()}
    assert after == before


def test_epochs_can_only_extend_a_run(workdir, capsys):
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "3", "--name", "short"], capsys)[0] == 0
    code, _, err = cli(["train", "--resume", "runs/short", "--epochs", "2"], capsys)
    assert code == 2
    assert "runs/short was planned for 3 epochs; --epochs with --resume can only extend it" in err


@pytest.mark.parametrize("interrupted", [False, True])
def test_extending_a_run_equals_planning_it_that_long(workdir, capsys, monkeypatch, interrupted):
    write_blobs(workdir / "blobs.npz")
    common = [*BLOBS, "--optimizer", "momentum", "--schedule", "step:step_size=7,gamma=0.5"]
    assert cli([*common, "--epochs", "6", "--name", "long"], capsys)[0] == 0
    with monkeypatch.context() as patched:
        if interrupted:
            patched.setattr(train_command, "interrupt_flag", lambda: stop_after(10))
        code = cli([*common, "--epochs", "3", "--name", "grown"], capsys)[0]
        assert code == (130 if interrupted else 0)
    code, _, err = cli(["train", "--resume", "runs/grown", "--epochs", "6", "--json"], capsys)
    assert code == 0, err
    assert json.loads((workdir / "runs/grown/config.json").read_text())["training"]["epochs"] == 6
    assert_same_run(workdir / "runs/grown", workdir / "runs/long")


# --- --batch-size --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "used", "full", "steps"),
    [("5000", 60, False, 3), ("full", 60, True, 3), ("16", 16, False, 12)],
)
def test_config_records_the_batch_size_used(workdir, capsys, given, used, full, steps):
    write_blobs(workdir / "blobs.npz")
    args = ["train", "--data", "blobs.npz", "--epochs", "3", "--batch-size", given, "--json"]
    code, out, _ = cli([*args, "--name", "b"], capsys)
    assert code == 0
    training = json.loads((workdir / "runs/b/config.json").read_text())["training"]
    assert (training["batch_size"], training["full_batch"]) == (used, full)
    result = json.loads(out)
    assert result["steps"] == steps and result["epochs"] == 3
    expected, seen = [], 0
    for _epoch in range(3):
        for start in range(0, 60, used):  # the last batch of an epoch holds the remainder
            seen += min(used, 60 - start)
            expected.append(seen)
    examples = [line["examples"] for line in records(workdir / "runs/b") if line["type"] == "step"]
    assert examples == expected


def test_a_full_batch_run_resumes_exactly(workdir, capsys, monkeypatch):
    write_blobs(workdir / "blobs.npz")
    common = ["train", "--data", "blobs.npz", "--batch-size", "full", "--epochs", "9"]
    assert cli([*common, "--name", "straight"], capsys)[0] == 0
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(4))
        assert cli([*common, "--name", "stopped"], capsys)[0] == 130
    assert cli(["train", "--resume", "runs/stopped"], capsys)[0] == 0
    assert_same_run(workdir / "runs/stopped", workdir / "runs/straight")


# --- full disks and read-only folders, at every write --------------------------------------


class FaultyDisk:
    """``os`` as slopelab.runs sees it, where the ``at``-th call of ``call`` on a file fails
    once with ``code``: creating a file (open), writing it (half the bytes land first, as on
    a disk that fills up), flushing it (fsync) or renaming it into place (replace)."""

    def __init__(self, call: str | None = None, at: int = 0, code: int = 0) -> None:
        self.call, self.at, self.code = call, at, code
        self.counts = {"open": 0, "write": 0, "fsync": 0, "replace": 0}
        self.failed = False

    def __getattr__(self, name: str):
        real = getattr(os, name)
        if name not in self.counts:
            return real

        def call(*args, **kwargs):
            if name == "open" and not args[1] & os.O_CREAT:
                return real(*args, **kwargs)  # the run folder, opened to lock it
            self.counts[name] += 1
            if name == self.call and self.counts[name] == self.at and not self.failed:
                self.failed = True
                if name == "write":
                    os.write(args[0], bytes(args[1][: len(args[1]) // 2]))
                raise OSError(self.code, os.strerror(self.code))
            if name == "fsync":
                return None  # a simulated disk: no power cut to survive, so no waiting
            return real(*args, **kwargs)

        return call


CODES = {"open": errno.EROFS, "write": errno.ENOSPC, "fsync": errno.ENOSPC, "replace": errno.EACCES}
HINTS = {
    errno.EROFS: "the file system is read-only; write elsewhere (--out)",
    errno.ENOSPC: "free some disk space or write elsewhere (--out)",
    errno.EACCES: "choose a folder you can write to (--out) or fix its permissions",
}


@pytest.fixture(autouse=True)
def quick_figures(monkeypatch):
    """Figures as a few bytes, written like the real ones: the faults hit the same writes,
    without the seconds matplotlib takes to draw."""

    def figure(*args, **kwargs) -> Path:
        path = next(arg for arg in [*args, *kwargs.values()] if isinstance(arg, Path))
        runs.atomic_write_bytes(path, b"\x89PNG stand-in")
        return path

    for name in ("loss_curve", "accuracy_curves", "confusion_matrix", "weight_templates"):
        monkeypatch.setattr(plots, name, figure)


def assert_whole(run_dir: Path, reference: Path) -> None:
    """Every file is complete, and what is there is what the uninterrupted run wrote."""
    assert not [path.name for path in run_dir.iterdir() if path.name.endswith(".tmp")]
    config = json.loads((run_dir / "config.json").read_text())
    assert config == json.loads((reference / "config.json").read_text())
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        text = metrics.read_text()
        assert text == "" or text.endswith("\n")  # whole lines only
        lines = records(run_dir)
        assert lines == records(reference)[: len(lines)]
    if (run_dir / "checkpoint.npz").exists():
        step = int(arrays(run_dir / "checkpoint.npz")["step"])
        assert step <= sum(line["type"] == "step" for line in records(run_dir))
    if (run_dir / "model.npz").exists():
        assert_same_arrays(arrays(run_dir / "model.npz"), arrays(reference / "model.npz"))
    if (run_dir / "results.json").exists():
        json.loads((run_dir / "results.json").read_text())


def until_done(command: list[str], run_dir: Path, capsys) -> int:
    """What a user does after the error: resume (or, with no config.json yet, run the same
    command again) until it succeeds; return the number of tries."""
    for tries in range(1, 4):
        again = (run_dir / "config.json").exists()
        args = ["train", "--resume", str(run_dir), "--no-progress"] if again else command
        code, _, err = cli(args, capsys)
        if code == 0:
            return tries
        assert code == 2, err
    raise AssertionError("did not finish after 3 tries")


def fault_trials(counts: dict[str, int], every_kind: bool) -> list[tuple[str, int]]:
    """``(call, at)``: every call of every kind, or each file once with the kinds in turn."""
    if every_kind:
        return [(call, at) for call, count in counts.items() for at in range(1, count + 1)]
    trials = []
    for at in range(1, max(counts.values()) + 1):
        kinds = [call for call, count in counts.items() if count >= at]
        trials.append((kinds[at % len(kinds)], at))
    return trials


FAULT_RUN = [*BLOBS, "--epochs", "3", "--optimizer", "adam"]


def test_a_fault_at_any_write_is_one_line_keeps_every_file_whole_and_resumes_exactly(
    workdir, capsys, monkeypatch
):
    """A full disk or read-only folder at each of the writes of a run (and of a resume):
    exit 2, one line naming the file and what to do, every file whole; after the user frees
    the disk, the run resumes to exactly the uninterrupted result."""
    write_blobs(workdir / "blobs.npz")
    counter = FaultyDisk()
    monkeypatch.setattr(runs, "os", counter)
    assert cli([*FAULT_RUN, "--name", "reference"], capsys)[0] == 0
    reference = workdir / "runs/reference"
    during_run = dict(counter.counts)
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(6))
        assert cli([*FAULT_RUN, "--name", "half"], capsys)[0] == 130
    counter = FaultyDisk()
    monkeypatch.setattr(runs, "os", counter)
    assert cli(["train", "--resume", "runs/half", "--no-progress"], capsys)[0] == 0
    during_resume = dict(counter.counts)
    # config, then per epoch a metrics append and a checkpoint, the final checkpoint, the
    # model, three figures, results.json; the appends are not renamed into place
    files = 1 + 2 * 3 + 1 + 1 + 3 + 1
    assert during_run == {"open": files, "write": files, "fsync": files, "replace": files - 3}

    faults = 0
    trials = [("run", trial) for trial in fault_trials(during_run, every_kind=True)]
    trials += [("resume", trial) for trial in fault_trials(during_resume, every_kind=False)]
    for phase, (call, at) in trials:
        name = f"{phase}-{call}-{at}"
        command = [*FAULT_RUN, "--name", name]
        if phase == "resume":
            monkeypatch.setattr(runs, "os", FaultyDisk())
            with monkeypatch.context() as patched:
                patched.setattr(train_command, "interrupt_flag", lambda: stop_after(6))
                assert cli(command, capsys)[0] == 130
        disk = FaultyDisk(call, at, CODES[call])
        monkeypatch.setattr(runs, "os", disk)
        args = command if phase == "run" else ["train", "--resume", f"runs/{name}"]
        code, _, err = cli([*args, "--no-progress"], capsys)
        assert disk.failed, name
        faults += 1
        assert code == 2, (name, err)
        match = re.fullmatch(r"slopelab train: error: (.+): (\S+); (.+)\n", err)
        assert match, (name, err)
        assert match[1] == os.strerror(CODES[call]) and match[3] == HINTS[CODES[call]]
        assert Path(match[2]).parent == Path("runs") / name, (name, err)
        monkeypatch.setattr(runs, "os", FaultyDisk())  # the disk has room again
        run_dir = workdir / "runs" / name
        if run_dir.exists():
            assert_whole(run_dir, reference)
        until_done(command, run_dir, capsys)
        assert_same_run(run_dir, reference)
    assert faults == len(trials) >= 60


# --- bad input and failed starts leave no folder -------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--schedule", "zigzag"], "unknown schedule 'zigzag'"),
        (["--schedule", "step:step_size=0.5"], "schedule option step_size must be a whole"),
        (["--schedule", "cosine:decay_steps=10,alpha=x"], "'x' is not a number"),
        (["--opt", "momentum=0.9"], "--opt momentum is not a hyperparameter of sgd"),
        (["--num-train", "5000"], "has only 60 examples"),
        (["--schedule", "step:step_size=10", "--warmup", "5", "--opt", "beta9=1"], "beta9"),
    ],
)
def test_bad_input_found_after_loading_the_data_leaves_no_folder(workdir, capsys, extra, message):
    write_blobs(workdir / "blobs.npz")
    code, _, err = cli([*BLOBS, "--name", "bad", *extra], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (workdir / "runs/bad").exists()


@pytest.mark.parametrize(
    ("failure", "exit_code"),
    [(KeyboardInterrupt, 130), (OSError(errno.EIO, "Input/output error"), 2), (RuntimeError, 1)],
)
def test_a_start_that_fails_before_training_frees_its_name(
    workdir, capsys, monkeypatch, failure, exit_code
):
    """Whatever stops a run between its config.json and its first file, the folder goes, so
    the same --name works at once."""
    write_blobs(workdir / "blobs.npz")

    def failing(*args, **kwargs):
        raise failure

    with monkeypatch.context() as patched:
        patched.setattr(train_command, "train_run", failing)
        assert cli([*BLOBS, "--epochs", "1", "--name", "again"], capsys)[0] == exit_code
    assert not (workdir / "runs/again").exists()
    assert cli([*BLOBS, "--epochs", "1", "--name", "again"], capsys)[0] == 0
