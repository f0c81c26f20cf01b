"""Every CLI command end to end (mostly with --json), exit codes, run folders and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from slopelab.cli import main
from slopelab.commands import train as train_command
from slopelab.model import load_model


def run_cli(args: list[str], capsys) -> tuple[int, dict | None, str]:
    """Run the CLI in-process; parse stdout as JSON when --json was given."""
    code = main(args)
    captured = capsys.readouterr()
    document = json.loads(captured.out) if "--json" in args and captured.out.strip() else None
    return code, document, captured.err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_defaults_reach_95_percent_and_write_a_complete_run_folder(workdir, capsys):
    code, result, _ = run_cli(["train", "--json", "--name", "default"], capsys)
    assert code == 0
    assert set(result) >= {
        "train_accuracy",
        "val_accuracy",
        "test_accuracy",
        "final_loss",
        "epochs",
        "seconds",
        "run_dir",
    }
    assert result["test_accuracy"] >= 0.95
    assert result["epochs"] == 50
    run_dir = Path(result["run_dir"])
    assert run_dir == Path("runs/default")
    names = {path.name for path in run_dir.iterdir()}
    assert {
        "config.json",
        "metrics.jsonl",
        "model.npz",
        "checkpoint.npz",
        "loss.png",
        "accuracy.png",
        "confusion.png",
        "weights.png",
    } <= names
    assert not [name for name in names if name.endswith(".tmp")]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["optimizer"]["learning_rate_spec"] == "auto"
    assert config["optimizer"]["learning_rate"] > 0 and config["data"]["data"] == "digits"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["type"] == "step"]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert len(steps) == 50 * 7 and len(epochs) == 50  # ceil(1293 / 200) = 7 steps per epoch
    assert epochs[-1]["val_accuracy"] == pytest.approx(result["val_accuracy"])
    with np.load(run_dir / "model.npz", allow_pickle=False) as model:
        assert model["W"].shape == (64, 10) and model["b"].shape == (10,)
        assert list(model["class_names"]) == [str(i) for i in range(10)]
    assert (run_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_prints_epochs_and_summary(workdir, capsys):
    assert main(["train", "--epochs", "3", "--loss", "svm", "--optimizer", "adam"]) == 0
    out = capsys.readouterr().out
    assert out.count("epoch ") == 3
    assert "split  accuracy  examples" in out and "test " in out
    assert "run folder: runs/train-digits-" in out


@contextmanager
def stop_after(reads: int):
    """Stand-in for Ctrl-C: the loop's stop flag turns True after ``reads`` polls."""

    class Flag:
        def __init__(self) -> None:
            self.polls = 0

        def __getitem__(self, index: int) -> bool:
            self.polls += 1
            return self.polls > reads

    yield Flag()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_ends_with_exactly_the_parameters_of_an_uninterrupted_run(
    workdir, capsys, monkeypatch, optimizer
):
    common = [
        "train",
        "--epochs",
        "6",
        "--batch-size",
        "64",
        "--optimizer",
        optimizer,
        "--schedule",
        "step:step_size=40,gamma=0.5",
        "--seed",
        "3",
        "--no-progress",
    ]
    with threadpool_limits(1):  # one BLAS thread: sums in a fixed order, bit-for-bit results
        assert main([*common, "--name", "straight"]) == 0
        with monkeypatch.context() as patched:
            patched.setattr(train_command, "interrupt_flag", lambda: stop_after(57))
            assert main([*common, "--name", "stopped"]) == 130
        err = capsys.readouterr().err
        assert "stopped at step 57 of 126" in err
        assert "Resume with: slopelab train --resume runs/stopped" in err
        assert not (workdir / "runs/stopped/model.npz").exists()
        assert main(["train", "--resume", "runs/stopped", "--no-progress"]) == 0
    straight, resumed = load_model("runs/straight"), load_model("runs/stopped")
    np.testing.assert_array_equal(resumed.params["W"], straight.params["W"])
    np.testing.assert_array_equal(resumed.params["b"], straight.params["b"])
    # The metrics agree too (all but the wall-clock times).
    assert step_losses(workdir / "runs/stopped") == step_losses(workdir / "runs/straight")


def step_losses(run_dir: Path) -> list[tuple[int, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return sorted((r["step"], r["loss"]) for r in records if r["type"] == "step")


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(workdir):
    """A real SIGINT to a real process, then resume to the end."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "slopelab",
        "train",
        "--epochs",
        "400",
        "--batch-size",
        "8",
        "--no-progress",
        "--name",
        "long",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    metrics = workdir / "runs/long/metrics.jsonl"
    deadline = time.monotonic() + 60
    while not (metrics.exists() and metrics.stat().st_size > 0):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "checkpoint saved" in err and "--resume runs/long" in err
    assert "Traceback" not in err
    assert (workdir / "runs/long/checkpoint.npz").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "missing.npz"], "missing.npz"),
        (["train", "--learning-rate", "-1"], "must be a positive number"),
        (["train", "--opt", "momentum=0.9"], "--opt momentum is not a hyperparameter of sgd"),
        (["train", "--schedule", "zigzag"], "unknown schedule 'zigzag'"),
        (["train", "--loss", "hinge"], "invalid choice: 'hinge'"),
        (["train", "--resume", "runs/nothing"], "runs/nothing does not exist"),
        (["evaluate", "nowhere"], "no model file"),
        (["compare", "--strategies", "sgd,magic"], "unknown strategy 'magic'"),
        (["sweep", "--lr-range", "1:0.1"], "0 < LOW < HIGH"),
    ],
)
def test_bad_input_exits_2_with_one_readable_line(workdir, capsys, args, message):
    code = exit_code(args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def exit_code(args: list[str]) -> int:
    """main()'s return value, or the code of the SystemExit argparse raises on bad usage."""
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def test_diverging_training_exits_2_and_names_the_step(workdir, capsys):
    code = main(
        ["train", "--learning-rate", "1000", "--loss", "svm", "--reg", "10", "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "loss diverged at step" in err and "try a smaller learning rate" in err


def test_tour_json_lists_every_step_and_writes_a_self_contained_report(workdir, capsys):
    code, result, _ = run_cli(
        ["tour", "--json", "--tries", "60", "--gd-steps", "10", "--epochs", "2", "--name", "tour"],
        capsys,
    )
    assert code == 0
    names = [step["name"] for step in result["steps"]]
    assert names == [
        "random_search",
        "random_local_search",
        "gradient",
        "step_size",
        "batch_size",
        "update_rules",
        "model",
    ]
    assert all(step["finding"] and step["figures"] for step in result["steps"])
    assert result["steps"][0]["finding"].startswith("random search: ")
    assert "after 60 tries (chance 10%)" in result["steps"][0]["finding"]
    report = Path(result["report"]).read_text()
    assert report.count("data:image/png;base64,") >= 8
    assert "http://" not in report and "https://" not in report and "<script" not in report
    for step in result["steps"]:
        assert step["finding"] in report.replace("&#x27;", "'")


def test_compare_ranks_the_lecture_strategies_for_an_equal_budget_of_examples(workdir, capsys):
    code, result, _ = run_cli(
        [
            "compare",
            "--json",
            "--epochs",
            "200",
            "--seed",
            "0",
            "--strategies",
            "random-search,random-local-search,gradient-descent,sgd",
        ],
        capsys,
    )
    assert code == 0
    accuracy = {row["name"]: row["val_accuracy"] for row in result["strategies"]}
    assert accuracy["sgd"] > accuracy["gradient-descent"] > accuracy["random-local-search"]
    assert accuracy["random-local-search"] > accuracy["random-search"]
    for row in result["strategies"]:
        assert set(row) >= {"name", "val_accuracy", "final_loss", "examples_processed", "seconds"}
        assert row["examples_processed"] == 200 * 1293
    assert all(Path(figure).exists() for figure in result["figures"])


def test_compare_runs_every_update_rule(workdir, capsys):
    code, result, _ = run_cli(["compare", "--json", "--epochs", "5"], capsys)
    assert code == 0
    assert {row["name"] for row in result["strategies"]} == {
        "random-search",
        "random-local-search",
        "gradient-descent",
        "sgd",
        "sgd+momentum",
        "sgd+nesterov",
        "sgd+adagrad",
        "sgd+rmsprop",
        "sgd+adam",
        "sgd+adamw",
    }


def test_gradcheck_passes_on_a_builtin_loss(workdir, capsys):
    for loss in ("svm", "softmax"):
        code, result, _ = run_cli(["gradcheck", "--json", "--loss", loss], capsys)
        assert code == 0
        assert result["passed"] is True and result["max_rel_error"] < 1e-7
        assert {"max_rel_error", "passed", "kinks", "rows"} <= set(result)
        assert {row["name"] for row in result["rows"]} == {"W", "b"}


def test_gradcheck_fails_with_exit_1_on_a_wrong_user_gradient(workdir, capsys):
    (workdir / "mylosses.py").write_text(
        "import numpy as np\n"
        "def buggy(params):\n"
        "    W = params['W']\n"
        "    return float(np.sum(W ** 3)), {'W': 2 * W ** 2}\n"  # should be 3 W^2
        "def right(params):\n"
        "    W = params['W']\n"
        "    return float(np.sum(W ** 3)), {'W': 3 * W ** 2}\n"
    )
    np.savez(workdir / "point.npz", W=np.linspace(0.5, 1.5, 6).reshape(2, 3))
    code, result, _ = run_cli(
        ["gradcheck", "--json", "--function", "mylosses:buggy", "--params", "point.npz"], capsys
    )
    assert code == 1 and result["passed"] is False and result["verdict"] == "wrong"
    code, result, _ = run_cli(
        ["gradcheck", "--json", "--function", "mylosses:right", "--params", "point.npz", "--full"],
        capsys,
    )
    assert code == 0 and len(result["rows"]) == 6


def test_gradcheck_full_announces_its_cost(workdir, capsys):
    assert main(["gradcheck", "--full", "--num-examples", "3", "--data", "toy2d"]) == 0
    out = capsys.readouterr().out
    assert "full check: 9 parameters x 6 loss evaluations" in out


def test_lr_find_suggests_a_rate_near_the_curvature_bound(workdir, capsys):
    code, result, _ = run_cli(["lr-find", "--json"], capsys)
    assert code == 0
    suggested = result["suggested_learning_rate"]
    assert set(result["suggestions"]) == {"valley", "steepest", "minimum/10", "curvature"}
    # The curvature bound 1/L is a safe rate; the range test's valley should be within 30x.
    assert (
        result["suggestions"]["curvature"] / 30
        < suggested
        < 30 * result["suggestions"]["curvature"]
    )
    assert len(result["learning_rates"]) == len(result["losses"]) <= 100
    assert np.all(np.diff(result["learning_rates"]) > 0)
    assert all(Path(figure).exists() for figure in result["figures"])


def test_sweep_finds_a_setting_and_warns_about_edges(workdir, capsys):
    code, result, _ = run_cli(
        ["sweep", "--json", "--trials", "6", "--stages", "2", "--epochs", "1"], capsys
    )
    assert code == 0
    assert len(result["trials"]) == 12
    assert result["best"]["val_accuracy"] == max(
        t["val_accuracy"] for t in result["trials"] if t["val_accuracy"] is not None
    )
    code, result, _ = run_cli(
        [
            "sweep",
            "--json",
            "--search",
            "grid",
            "--trials",
            "4",
            "--stages",
            "1",
            "--epochs",
            "1",
            "--lr-range",
            "1e-5:1e-3",
            "--reg-range",
            "1e-6:1e-5",
        ],
        capsys,
    )
    assert code == 0
    # Rates far below the useful range: the best one is the largest tried, on the edge.
    assert result["best"]["learning_rate"] == pytest.approx(1e-3)
    assert any(
        "upper edge" in warning and "learning_rate" in warning
        for warning in result["edge_warnings"]
    )


def test_landscape_writes_line_and_plane(workdir, capsys):
    code, result, _ = run_cli(
        [
            "landscape",
            "--json",
            "--resolution",
            "9",
            "--epochs",
            "2",
            "--trajectory",
            "--num-examples",
            "200",
        ],
        capsys,
    )
    assert code == 0
    assert len(result["figures"]) == 2 and all(Path(f).exists() for f in result["figures"])


def test_evaluate_and_predict_use_the_saved_model(workdir, capsys):
    code, trained, _ = run_cli(["train", "--json", "--epochs", "5", "--name", "m"], capsys)
    assert code == 0
    code, evaluated, _ = run_cli(["evaluate", "runs/m", "--json"], capsys)
    assert code == 0
    assert evaluated["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(workdir / "rows.npz", X=digits.data[:20], y=digits.target[:20])
    code, predicted, _ = run_cli(
        ["predict", "runs/m", "--input", "rows.npz", "--output", "out.csv", "--json"], capsys
    )
    assert code == 0
    assert len(predicted["predictions"]) == 20
    assert np.mean(np.array(predicted["predictions"]) == digits.target[:20]) >= 0.9
    lines = (workdir / "out.csv").read_text().splitlines()
    assert lines[0].startswith("row,class,name,p_0") and len(lines) == 21


def test_data_list_and_info(workdir, capsys, monkeypatch):
    monkeypatch.setenv("SLOPELAB_DATA", str(workdir / "data"))
    code, listing, _ = run_cli(["data", "list", "--json"], capsys)
    assert code == 0
    names = {entry["name"]: entry for entry in listing["datasets"]}
    assert names["digits"]["found"] and "cifar10" in names
    code, info, _ = run_cli(["data", "info", "digits", "--json"], capsys)
    assert code == 0 and info["num_features"] == 64 and info["num_test"] == 360


def test_every_command_has_help(capsys):
    for command in (
        "tour",
        "train",
        "compare",
        "gradcheck",
        "lr-find",
        "sweep",
        "landscape",
        "evaluate",
        "predict",
        "data",
        "demo",
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: slopelab " + command in capsys.readouterr().out


@pytest.mark.slow
def test_demo_command_serves_the_page_on_localhost(workdir):
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "slopelab", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, body = time.monotonic() + 30, None
        while body is None:
            assert time.monotonic() < deadline and process.poll() is None
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/defaults") as reply:
                    body = json.loads(reply.read())
            except OSError:
                time.sleep(0.1)
        assert body["reg"] == 0.1 and len(body["data"]["X"]) == 9  # the CS231n defaults
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
