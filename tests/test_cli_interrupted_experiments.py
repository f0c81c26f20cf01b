"""Ctrl-C during an experiment command: one line, exit 130, and what finished is kept, marked.

Every experiment command (tour, compare, sweep, lr-find, landscape) keeps the parts it finished
in results.json with ``"complete": false`` (the tour also writes their report, titled
incomplete) and names the file in its one line; with nothing finished it removes its run folder
and says so. The interrupt is a monkeypatched step raising KeyboardInterrupt, or the error a
library makes of a Ctrl-C (see tests/test_kill_resume.py for real signals).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from slopelab import plots, tour
from slopelab.cli import main
from slopelab.commands import compare, interrupts, landscape, lr_find, sweep
from slopelab.tour import TOUR_STEPS


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    signal.signal(signal.SIGINT, signal.default_int_handler)  # main() installs its own


def ctrl_c_at_call(number: int, original=None, library_error: bool = False):
    """A stand-in that runs ``original`` until its ``number``-th call, which is a Ctrl-C (or,
    with ``library_error``, the ImportError a library made of one)."""
    calls = [0]

    def stand_in(*args, **kwargs):
        calls[0] += 1
        if calls[0] < number:
            return original(*args, **kwargs)
        if library_error:
            interrupts._seen[0] = True
            raise ImportError("PyCapsule_Import could not import module")
        raise KeyboardInterrupt

    return stand_in


def interrupted(args: list[str], capsys) -> tuple[str, str]:
    """Run ``args``; it must exit 130 with one line about the interrupt, last on stderr (with
    --json, the human output comes before it there). Returns (line, stdout)."""
    code = main(args)
    captured = capsys.readouterr()
    assert code == 130, captured.err
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err and "Error" not in captured.err, captured.err
    assert [line for line in lines if line.startswith("slopelab ")] == lines[-1:], lines
    if "--json" not in args:
        assert len(lines) == 1
    return lines[-1], captured.out


def kept(line: str, command: str, done: str, path: str) -> None:
    assert line == (
        f"slopelab {command}: interrupted after {done}; kept in {path} (marked incomplete)"
    )


def results(path: str) -> dict:
    document = json.loads(Path(path).read_text())
    assert document["complete"] is False
    return document


QUICK_TOUR = ["tour", "--tries", "20", "--gd-steps", "5", "--epochs", "1", "--name", "u"]


@pytest.mark.parametrize("library_error", [False, True])
def test_an_interrupted_tour_keeps_the_report_of_the_steps_done(
    workdir, capsys, monkeypatch, library_error
):
    monkeypatch.setattr(tour, "batch_size_step", ctrl_c_at_call(1, library_error=library_error))
    line, _ = interrupted(QUICK_TOUR, capsys)
    kept(line, "tour", f"4 of {len(TOUR_STEPS)} steps", "runs/u/report.html")
    report = (workdir / "runs/u/report.html").read_text()
    assert "Optimization, measured: digits (incomplete)" in report
    assert "INCOMPLETE: interrupted after 4 of 7 steps" in report
    assert report.count("<h2>") == 4
    document = results("runs/u/results.json")
    assert [step["name"] for step in document["steps"]] == list(TOUR_STEPS[:4])
    for step in document["steps"]:
        assert step["figures"] and all((workdir / path).is_file() for path in step["figures"])


def test_a_tour_interrupted_before_its_first_step_leaves_no_folder(workdir, capsys, monkeypatch):
    monkeypatch.setattr(tour, "random_search_step", ctrl_c_at_call(1))
    line, _ = interrupted(QUICK_TOUR, capsys)
    assert line == "slopelab tour: interrupted before anything finished; removed runs/u"
    assert not (workdir / "runs/u").exists()


def test_a_finished_tour_names_all_its_steps_and_keeps_its_results(workdir, capsys):
    assert main([*QUICK_TOUR, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [step["name"] for step in document["steps"]] == list(TOUR_STEPS)
    saved = json.loads((workdir / "runs/u/results.json").read_text())
    assert saved == document and "complete" not in saved
    assert "(incomplete)" not in (workdir / "runs/u/report.html").read_text()


def test_an_interrupted_compare_keeps_the_strategies_that_finished(workdir, capsys, monkeypatch):
    monkeypatch.setattr(compare, "sgd", ctrl_c_at_call(2, compare.sgd))
    args = ["compare", "--json", "--epochs", "2", "--name", "c"]
    line, out = interrupted([*args, "--strategies", "random-search,sgd,sgd+adam,sgd+adamw"], capsys)
    kept(line, "compare", "2 of 4 strategies", "runs/c/results.json")
    assert out == ""  # no half document on stdout
    document = results("runs/c/results.json")
    assert {row["name"] for row in document["strategies"]} == {"random-search", "sgd"}
    assert "selected" not in document  # nothing is chosen from half a comparison
    assert document["interrupted_after"] == "2 of 4 strategies"


def test_an_interrupted_sweep_keeps_the_trials_that_finished(workdir, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "run_trial", ctrl_c_at_call(4, sweep.run_trial))
    args = ["sweep", "--trials", "2", "--epochs", "1", "--name", "s"]
    line, _ = interrupted(args, capsys)
    kept(line, "sweep", "3 of 4 trials", "runs/s/results.json")
    document = results("runs/s/results.json")
    assert [trial["stage"] for trial in document["trials"]] == [1, 1, 2]
    assert "best" not in document


def test_lr_find_keeps_its_measured_curve_when_stopped_while_drawing(workdir, capsys, monkeypatch):
    monkeypatch.setattr(plots, "lr_range", ctrl_c_at_call(1))
    line, _ = interrupted(["lr-find", "--steps", "30", "--name", "f"], capsys)
    kept(line, "lr-find", "the range test (its figure was not drawn)", "runs/f/results.json")
    document = results("runs/f/results.json")
    assert len(document["losses"]) == len(document["learning_rates"]) == 30
    assert "figures" not in document and not (workdir / "runs/f/lr_find.png").exists()


def test_lr_find_stopped_during_the_range_test_leaves_no_folder(workdir, capsys, monkeypatch):
    monkeypatch.setattr(lr_find, "range_test", ctrl_c_at_call(1))
    line, _ = interrupted(["lr-find", "--name", "f"], capsys)
    assert line == "slopelab lr-find: interrupted before anything finished; removed runs/f"
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_landscape_keeps_its_line_when_stopped_on_the_plane(workdir, capsys, monkeypatch):
    monkeypatch.setattr(landscape, "plane_losses", ctrl_c_at_call(1))
    args = ["landscape", "--at", "init", "--resolution", "3", "--name", "l"]
    line, _ = interrupted(args, capsys)
    kept(line, "landscape", "the line (the plane was not finished)", "runs/l/results.json")
    document = results("runs/l/results.json")
    assert document["line_min_loss"] <= document["center_loss"]
    assert "plane_min_loss" not in document


def test_landscape_stopped_while_training_leaves_no_folder(workdir, capsys, monkeypatch):
    monkeypatch.setattr(landscape, "point_and_path", ctrl_c_at_call(1))
    line, _ = interrupted(["landscape", "--resolution", "3", "--name", "l"], capsys)
    assert line == "slopelab landscape: interrupted before anything finished; removed runs/l"
    assert not (workdir / "runs/l").exists()
