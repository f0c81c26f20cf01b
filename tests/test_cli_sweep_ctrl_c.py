"""A sweep stopped after its last trial: its one line says every trial finished and what did
not (the test accuracy of the best setting, the report), not "8 of 8 trials"."""

from __future__ import annotations

import json
import signal

import pytest

from slopelab import plots
from slopelab.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    signal.signal(signal.SIGINT, signal.default_int_handler)  # main() installs its own


def ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


def test_a_sweep_stopped_after_its_last_trial_says_so(workdir, capsys, monkeypatch):
    monkeypatch.setattr(plots, "sweep_map", ctrl_c)  # the first thing after the last trial
    code = main(["sweep", "--trials", "2", "--epochs", "1", "--no-progress", "--name", "s"])
    err = capsys.readouterr().err
    assert code == 130
    assert err.splitlines() == [
        "slopelab sweep: interrupted after all 4 trials, before the best setting's test "
        "accuracy and report; kept in runs/s/results.json (marked incomplete)"
    ]
    document = json.loads((workdir / "runs/s/results.json").read_text())
    assert document["complete"] is False and len(document["trials"]) == 4
    assert "best" not in document
