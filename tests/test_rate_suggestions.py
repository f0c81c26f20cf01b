"""lr-find's readings agree with the curve they were read off, for every shape of curve.

Each printed line is parsed back and checked against the smoothed curve, recomputed here: the
rate of the lowest loss and a tenth of it, the steepest fall and its slope, the falling stretch
of the valley, and what the first line claims the curve did (blew up, turned up, or not yet, in
which case the readings that touch --end are marked "at least").
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.cli import main
from slopelab.commands import lr_find
from slopelab.errors import CommandError
from slopelab.rate_suggestions import (
    MIN_RISE,
    read_curve,
    reasoning,
    smoothing_window,
    suggestion_line,
)
from slopelab.smoothing import centered_moving_average

NUMBER = r"[-+0-9.e]+"
REFUSALS = ("the loss blew up after", "the loss never fell by 10%")


def parse(pattern: str, line: str) -> list[float]:
    match = re.search(pattern, line)
    assert match, f"{pattern!r} not in {line!r}"
    return [float(value) for value in match.groups()]


def same(printed: float, value: float) -> bool:
    """``printed`` is ``value`` written with 3 significant digits."""
    return float(f"{value:.3g}") == printed


def printed_as(value: float, rates: np.ndarray) -> list[int]:
    """The indices of the rates written as ``value``."""
    return [index for index, rate in enumerate(rates) if same(value, rate)]


def check_lines_agree_with_the_curve(
    rates: np.ndarray, losses: np.ndarray, blew_up: bool, lines: list[str]
) -> None:
    """Every number and claim in ``lines`` (reasoning, then the suggestion line) holds on the
    centred mean of ``losses``, recomputed here."""
    smoothed = centered_moving_average(losses, smoothing_window(rates))
    usable = np.isfinite(smoothed)
    count = int(np.argmin(usable)) if not usable.all() else len(smoothed)
    s, r = smoothed[:count], rates[:count]
    lowest = int(np.argmin(s))
    by_name = {line.split(" ")[0]: line for line in lines}
    summary, suggested = lines[0], lines[-1]

    low_loss, low_rate, stopped = parse(
        rf"lowest ({NUMBER}) at rate ({NUMBER}); the test stopped at ({NUMBER})", summary
    )
    assert same(low_rate, r[lowest]) and float(f"{s[lowest]:.3f}") == low_loss
    assert same(stopped, rates[-1])
    rise = s[lowest:].max() - s[lowest]
    turned_up = blew_up or rise >= MIN_RISE * (s[0] - s[lowest])
    assert ("when the loss blew up" in summary) == blew_up
    assert ("after the loss turned up" in summary) == (turned_up and not blew_up)
    assert ("the range ended before the loss turned up" in summary) == (not turned_up)
    assert ("widen --end" in summary) == (not turned_up)

    minimum = by_name["minimum/10"]
    bound, value, at = re.search(
        rf"minimum/10 (at least )?({NUMBER}): a tenth of the rate at the lowest loss "
        rf"\(({NUMBER})\)",
        minimum,
    ).groups()
    assert same(float(at), r[lowest]) and same(float(value), r[lowest] / 10)
    assert bool(bound) == (not turned_up)  # a lower bound exactly when the loss never turned up

    steep = by_name["steepest"]
    value, per_decade, left, right = parse(
        rf"steepest (?:at least |at most )?({NUMBER}): where the loss falls fastest, "
        rf"({NUMBER}) per decade \(between ({NUMBER}) and ({NUMBER})\)",
        steep,
    )
    slopes = np.diff(s[: lowest + 1]) / np.diff(np.log10(r[: lowest + 1]))
    step = int(np.argmin(slopes))
    assert slopes[step] < 0 and same(per_decade, -slopes[step])
    assert same(left, r[step]) and same(right, r[step + 1])
    assert float(f"{r[step]:.3g}") <= value <= float(f"{r[step + 1]:.3g}")
    if "at least" in steep:
        assert not turned_up and step + 1 == count - 1
    if "at most" in steep:
        assert step == 0

    valley = by_name["valley"]
    value, first, last = parse(
        rf"valley (?:at least |at most )?({NUMBER})(?: \(unlocated\))?: two thirds into the "
        rf"longest stretch where the loss keeps falling \(({NUMBER}) to ({NUMBER})\)",
        valley,
    )
    stretches = [  # rates that print alike are told apart by the curve
        (start, end)
        for start in printed_as(first, r)
        for end in printed_as(last, r)
        if start < end <= lowest and np.all(np.diff(s[start : end + 1]) < 0)
    ]
    assert stretches, valley  # the stretch really falls
    assert first <= value <= last
    if "at least" in valley or "unlocated" in valley:
        assert not turned_up and any(end == count - 1 for _, end in stretches)
    if "at most" in valley or "unlocated" in valley:
        assert any(start == 0 for start, _ in stretches)
        assert "already falling fast at --start" in summary

    assert suggested.startswith("suggested learning rate: ")
    assert valley.split(":")[0].removeprefix("valley ") in suggested
    if not turned_up and "at least" in valley:
        assert "widen --end" in suggested


def lines_of(rates: np.ndarray, losses: np.ndarray, blew_up: bool) -> list[str]:
    curve = read_curve(rates, losses, blew_up)
    return [*reasoning(curve, curvature=0.1), suggestion_line(curve)]


# --- every shape of curve ----------------------------------------------------------------------


@st.composite
def range_tests(draw):
    """A synthetic range test: a fall (somewhere, maybe outside the range), maybe a blow-up
    (maybe outside the range), noise; cut where the stop rule would have fired."""
    steps = draw(st.integers(10, 300))
    first = draw(st.floats(-7, -1))
    span = draw(st.floats(0.3, 9))
    decades = np.linspace(first, first + span, steps)
    floor = draw(st.floats(0.01, 3))
    fall = draw(st.one_of(st.just(0.0), st.floats(0.3, 10)))
    centre = draw(st.floats(first - 0.5, first + span + 0.5))
    width = draw(st.floats(0.02, 2))
    blow_from = draw(st.floats(first + 0.2 * span, first + span + 3))
    blow = draw(st.floats(0, 30))
    noise = draw(st.sampled_from([0.0, 0.005, 0.02, 0.05]))
    seed = draw(st.integers(0, 2**16))
    losses = floor + fall / (1 + np.exp((decades - centre) / width))
    losses = losses + blow * np.maximum(0.0, decades - blow_from) ** 2
    losses = losses * (1 + noise * np.random.default_rng(seed).standard_normal(steps))
    losses = np.maximum(losses, 1e-6)
    blown = np.flatnonzero(losses > 4 * np.minimum.accumulate(losses))
    cut = int(blown[0]) + 1 if len(blown) else steps
    if cut < steps and draw(st.booleans()):
        losses[cut - 1] = math.inf  # the stop rule also fires on a non-finite loss
    return 10 ** decades[:cut], losses[:cut], cut < steps


@settings(max_examples=400, deadline=None)
@given(range_tests())
def test_every_reading_agrees_with_the_curve_it_was_read_off(test):
    rates, losses, blew_up = test
    try:
        lines = lines_of(rates, losses, blew_up)
    except CommandError as error:
        assert any(str(error).startswith(refusal) for refusal in REFUSALS), str(error)
        return
    check_lines_agree_with_the_curve(rates, losses, blew_up, lines)


def falling_to_the_end(steps: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """A loss that is still falling, fast, at the last rate."""
    rates = np.geomspace(1e-6, 0.1, steps)
    return rates, 0.5 + 2.0 / (1 + np.exp((np.log10(rates) + 0.5) / 0.4))


def test_a_loss_still_falling_at_end_makes_every_reading_at_the_end_a_lower_bound():
    rates, losses = falling_to_the_end()
    curve = read_curve(rates, losses, blew_up=False)
    assert curve.lowest == len(rates) - 1 and not curve.turned_up
    assert curve.readings["minimum/10"].rate == pytest.approx(rates[-1] / 10)
    assert {name: r.bound for name, r in curve.readings.items()} == {
        "valley": "at least",
        "steepest": "at least",
        "minimum/10": "at least",
    }
    lines = lines_of(rates, losses, False)
    assert "widen --end (e.g. --end 1)" in lines[0]
    check_lines_agree_with_the_curve(rates, losses, False, lines)


def test_a_loss_that_turns_up_inside_the_range_is_read_without_bounds():
    rates = np.geomspace(1e-6, 10, 100)
    decades = np.log10(rates)
    losses = 0.2 + 2.0 / (1 + np.exp((decades + 2) / 0.3)) + 3 * np.maximum(0, decades) ** 2
    curve = read_curve(rates, losses, blew_up=False)
    assert curve.turned_up and not any(r.bound for r in curve.readings.values())
    lowest = rates[np.argmin(losses)]  # 1, where the rise begins
    assert abs(math.log10(curve.readings["minimum/10"].rate * 10 / lowest)) < 0.25


def test_a_loss_already_falling_at_start_makes_the_readings_there_upper_bounds():
    rates = np.geomspace(1e-2, 10, 60)
    decades = np.log10(rates)
    losses = 0.2 + 2.0 / (1 + np.exp((decades + 2.5) / 0.3)) + 3 * np.maximum(0, decades) ** 2
    curve = read_curve(rates, losses, blew_up=False)
    assert curve.falling_at_start
    assert curve.readings["valley"].bound == "at most"
    assert curve.readings["steepest"].bound == "at most"
    lines = lines_of(rates, losses, False)
    assert "start lower (e.g. --start 0.0001)" in lines[0]
    check_lines_agree_with_the_curve(rates, losses, False, lines)


def test_a_loss_falling_over_the_whole_range_leaves_the_valley_unlocated():
    rates = np.geomspace(1e-2, 1e-1, 40)
    losses = 3.0 - 2.0 * np.linspace(0, 1, 40)
    curve = read_curve(rates, losses, blew_up=False)
    assert curve.readings["valley"].bound == "unlocated"
    assert "widen --start and --end" in suggestion_line(curve)


def test_ten_points_are_read_as_ten_points_and_say_they_are_coarse():
    rates, losses = falling_to_the_end(10)
    lines = lines_of(rates, losses, False)
    assert lines[1].startswith("note: neighbouring rates are 3.59x apart")
    check_lines_agree_with_the_curve(rates, losses, False, lines)
    assert "minimum/10 at least 0.01:" in "\n".join(lines)


@pytest.mark.parametrize(
    ("losses", "message"),
    [
        (np.full(50, 2.3), "the loss never fell by 10% between rates 1e-06 and 10"),
        (np.linspace(2.3, 9.0, 50), "the loss never fell by 10%"),
        (np.array([2.3, 2.2, 2.0, 9.0, math.inf]), "the loss blew up after 4 steps, at rate"),
        (np.array([math.inf]), "the loss blew up after 0 steps, at rate 1e-06"),
    ],
)
def test_curves_without_an_answer_are_refused_with_the_fix(losses, message):
    rates = np.geomspace(1e-6, 10.0, 50)[: len(losses)]
    with pytest.raises(CommandError, match=re.escape(message)):
        read_curve(rates, losses, blew_up=len(losses) < 50)


# --- the command: what it prints agrees with what it measured ----------------------------------


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_lr_find(args: list[str], capsys) -> tuple[dict, list[str]]:
    assert main(["lr-find", "--json", *args]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err.splitlines()[1:-1]  # data line; figures line


@pytest.mark.parametrize(
    "args",
    [
        ["--steps", "10"],  # the tester's: "minimum/10 0.000129" beside "lowest 0.685 at 10"
        ["--end", "0.1"],  # the tester's: lowest at 0.1, yet minimum/10 0.00559
        [],
        ["--loss", "svm", "--steps", "40"],
        ["--start", "0.1", "--end", "1000"],
    ],
)
def test_the_command_prints_readings_that_agree_with_its_own_curve(workdir, capsys, args):
    result, lines = run_lr_find(args, capsys)
    rates, losses = np.array(result["learning_rates"]), np.array(result["losses"])
    steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 100
    blew_up = len(losses) < steps
    check_lines_agree_with_the_curve(rates, losses, blew_up, lines)
    curve = result["curve"]
    assert curve["blew_up"] == blew_up
    assert result["suggestions"]["minimum/10"] == pytest.approx(curve["lowest_at"] / 10)
    assert set(result["bounds"]) <= {"valley", "steepest", "minimum/10"}
    if not curve["turned_up"]:
        assert result["bounds"]["minimum/10"] == "at least"


def test_a_curve_still_falling_at_end_asks_for_a_wider_range(workdir, capsys, monkeypatch):
    monkeypatch.setattr(lr_find, "range_test", lambda *args: falling_to_the_end())
    result, lines = run_lr_find([], capsys)
    assert "the range ended before the loss turned up" in lines[0] and "--end 1)" in lines[0]
    assert "minimum/10 at least 0.01: a tenth of the rate at the lowest loss (0.1)" in lines
    assert lines[-1].startswith("suggested learning rate: at least ")
    assert result["bounds"] == {
        "valley": "at least",
        "steepest": "at least",
        "minimum/10": "at least",
    }
    assert result["curve"]["turned_up"] is False
