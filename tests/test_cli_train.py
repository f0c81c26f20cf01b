"""What ``slopelab train`` reports is what it saved: numbers checked against the model file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slopelab.cli import main
from slopelab.data.prepare import prepare_data
from slopelab.losses import get_loss
from slopelab.model import load_model


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("batch_size", ["8", "200", "full"])
def test_final_loss_is_the_training_loss_of_the_saved_weights(workdir, capsys, batch_size):
    """Found by a tester: "final loss" used to be the last minibatch's loss, before the last
    update (with batch 8 a 5-example batch). It must be the loss of the weights saved in
    model.npz, on the whole training split, recomputed here independently."""
    args = ["train", "--epochs", "3", "--batch-size", batch_size, "--loss", "svm", "--reg", "0.01"]
    assert main([*args, "--json", "--name", "r"]) == 0
    result = json.loads(capsys.readouterr().out)
    config = json.loads((workdir / "runs/r/config.json").read_text())
    prepared = prepare_data(config["data"])
    model = load_model(workdir / "runs/r")
    scores = prepared.X_train.astype(np.float64) @ model.params["W"] + model.params["b"]
    correct = scores[np.arange(len(scores)), prepared.y_train][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[np.arange(len(scores)), prepared.y_train] = 0.0
    expected = margins.sum(axis=1).mean() + 0.01 * np.sum(model.params["W"].astype(np.float64) ** 2)
    assert result["final_loss"] == pytest.approx(expected, rel=1e-5)
    assert (
        result["last_batch_loss"]
        == json.loads((workdir / "runs/r/metrics.jsonl").read_text().splitlines()[-2])["loss"]
        or result["last_batch_loss"] is not None
    )
    loss = get_loss("svm")
    assert result["final_loss"] == pytest.approx(
        float(sum(loss.evaluate(model.params, prepared.X_train, prepared.y_train, 0.01))), rel=1e-6
    )


def test_a_schedule_that_ends_early_is_noted(workdir, capsys):
    """Found by a tester: cosine over 20 steps in a 28-step run spent 8 updates at rate 0."""
    assert main(["train", "--epochs", "4", "--schedule", "cosine:decay_steps=20"]) == 0
    out = capsys.readouterr().out
    assert "note: the learning rate reaches 0 at step 20, so the last 8 of 28 updates" in out
    assert main(["train", "--epochs", "4", "--schedule", "cosine:decay_steps=28"]) == 0
    assert "note:" not in capsys.readouterr().out
