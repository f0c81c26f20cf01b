"""``slopelab train --average [START]``, ``--penalty elasticnet --l1-ratio R``: the model is the
average, the summary reports the sparsity, and an interrupted averaged run resumes bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slopelab.commands import train as train_command
from slopelab.losses import get_loss
from slopelab.model import load_model
from tests.test_cli_resume import one_error_line
from tests.test_cli_runs import (  # the fixtures are used by name
    BLOBS,
    assert_same_run,
    cli,
    one_blas_thread,  # noqa: F401
    quick_figures,  # noqa: F401
    stop_after,
    stop_and_resume,
    workdir,  # noqa: F401
    write_blobs,
)

ELASTIC = ["--penalty", "elasticnet", "--l1-ratio", "0.8", "--reg", "0.3", "--seed", "4"]


@pytest.mark.parametrize("stops", [[5], [3, 7]])
def test_an_interrupted_averaged_elastic_net_run_resumes_bit_for_bit(
    workdir,  # noqa: F811 - the workdir fixture
    capsys,
    monkeypatch,
    stops,
):
    write_blobs(workdir / "blobs.npz")
    common = [*BLOBS, "--epochs", "5", "--average", "3", *ELASTIC]
    assert cli([*common, "--name", "straight"], capsys)[0] == 0
    stop_and_resume(common, stops, capsys, monkeypatch)
    assert_same_run(workdir / "runs/stopped", workdir / "runs/straight")


def test_the_summary_and_results_report_the_average_and_the_sparsity(workdir, capsys):  # noqa: F811 - the fixture
    write_blobs(workdir / "blobs.npz")
    code, out, _ = cli([*BLOBS, "--epochs", "4", "--average", *ELASTIC, "--name", "en"], capsys)
    assert code == 0
    model = load_model(workdir / "runs/en/model.npz")
    W = model.params["W"]
    zeros = int(np.count_nonzero(W == 0.0))
    assert f"sparsity: {zeros} of {W.size} weights ({zeros / W.size:.1%}) are exactly 0" in out
    assert "the model is the average of the iterates from update 1 on" in out
    results = json.loads((workdir / "runs/en/results.json").read_text())
    assert results["sparsity"] == zeros / W.size and results["averaged_from"] == 1
    config = json.loads((workdir / "runs/en/config.json").read_text())
    assert config["loss"]["l1_ratio"] == 0.8 and config["training"]["average"] == 1
    assert model.meta["penalty"] == "elasticnet" and model.meta["l1_ratio"] == 0.8


def test_the_final_loss_uses_the_runs_l1_ratio(workdir, capsys):  # noqa: F811 - the fixture
    write_blobs(workdir / "blobs.npz")
    assert cli([*BLOBS, "--epochs", "2", *ELASTIC, "--name", "en"], capsys)[0] == 0
    model = load_model(workdir / "runs/en/model.npz")
    data = np.load(workdir / "blobs.npz")
    results = json.loads((workdir / "runs/en/results.json").read_text())
    X_train = model.preprocessor.transform(data["X"]) if model.preprocessor else data["X"]
    loss = get_loss("softmax", "elasticnet", 0.8)
    expected = float(sum(loss.evaluate(model.params, X_train, data["y"], 0.3)))
    assert results["final_loss"] == pytest.approx(expected, rel=1e-6)


def test_a_plain_run_says_it_keeps_the_last_iterate(workdir, capsys):  # noqa: F811 - the fixture
    write_blobs(workdir / "blobs.npz")
    code, out, _ = cli([*BLOBS, "--epochs", "1", "--name", "plain"], capsys)
    assert code == 0
    assert "the model is the last iterate; sparsity: 0 of 12 weights (0.0%)" in out


@pytest.mark.parametrize(
    "flags, wording",
    [
        (["--l1-ratio", "1.5"], "argument --l1-ratio: must be a number from 0 to 1; got 1.5"),
        (["--l1-ratio", "-0.1"], "argument --l1-ratio: must be a number from 0 to 1; got -0.1"),
        (["--l1-ratio", "half"], "argument --l1-ratio: must be a number; got 'half'"),
        (["--average", "0"], "argument --average: must be a positive whole number; got 0"),
        (["--average", "2.5"], "argument --average: must be a whole number; got '2.5'"),
    ],
)
def test_bad_flags_are_refused_in_one_line(workdir, capsys, flags, wording):  # noqa: F811 - the fixture
    write_blobs(workdir / "blobs.npz")
    code, _, err = cli([*BLOBS, *flags], capsys)
    assert code == 2
    assert wording in one_error_line(err)


@pytest.mark.parametrize(
    "section, key, value, wording",
    [
        ("loss", "l1_ratio", 2, "loss.l1_ratio must be a number from 0 to 1; got 2"),
        ("training", "average", 0, "training.average must be a positive whole number; got 0"),
    ],
)
def test_a_hand_edited_config_is_held_to_the_flags_rules(
    workdir,  # noqa: F811 - the workdir fixture
    capsys,
    monkeypatch,
    section,
    key,
    value,
    wording,
):
    write_blobs(workdir / "blobs.npz")
    with monkeypatch.context() as patched:
        patched.setattr(train_command, "interrupt_flag", lambda: stop_after(3))
        assert cli([*BLOBS, "--epochs", "3", *ELASTIC, "--name", "cut"], capsys)[0] == 130
    path = workdir / "runs/cut/config.json"
    config = json.loads(path.read_text())
    config[section][key] = value
    path.write_text(json.dumps(config))
    code, _, err = cli(["train", "--resume", "runs/cut", "--no-progress"], capsys)
    assert code == 2
    assert wording in one_error_line(err)
