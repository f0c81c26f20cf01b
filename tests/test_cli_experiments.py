"""The experiment commands (compare, sweep, lr-find, landscape) tell the truth.

Models are chosen on the validation split and the test split is read once, for the one chosen;
the range test reads its suggestions off a curve without lag; a sweep stays inside the ranges it
was given; absurd sizes are refused in one line before any work starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss

from slopelab.cli import build_parser, main
from slopelab.commands import compare, landscape, lr_find, sweep
from slopelab.commands.compare_budget import compare_budget
from slopelab.commands.limits import MAX_RECORDED_STEPS
from slopelab.data.prepare import data_config, prepare_data
from slopelab.errors import CommandError
from slopelab.history import Budget
from slopelab.linear import init_params
from slopelab.losses import get_loss
from slopelab.optim import OPTIMIZERS
from slopelab.rate_suggestions import read_curve
from slopelab.search import random_search
from slopelab.selection import rank_by_validation
from slopelab.train import gradient_descent, sgd
from tests.test_cli_landscape import softmax_loss

EXPERIMENTS = ("compare", "sweep", "lr-find", "landscape", "tour")


class ReadTestSplitError(AssertionError):
    """Raised when code reads a test split it had no business reading."""


class Untouchable:
    """Stands in for the test split: any use of it raises :class:`ReadTestSplitError`."""

    def _refuse(self, *args, **kwargs):
        raise ReadTestSplitError("the test split was read")

    __array__ = __len__ = __iter__ = __getitem__ = __matmul__ = __rmatmul__ = _refuse
    __eq__ = __ne__ = __getattr__ = _refuse
    __hash__ = None


def run_cli(args: list[str], capsys) -> tuple[int, dict | None, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    document = json.loads(captured.out) if "--json" in args and code == 0 else None
    return code, document, captured.out, captured.err


def refusal(args: list[str], capsys) -> str:
    """The one line a refused command prints (exit code 2, no traceback)."""
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def digits():
    return prepare_data(data_config("digits"))


@pytest.fixture
def shifted_test_labels(workdir):
    """Digits whose test split is the validation images labelled one class off: a model that
    is good on validation is nearly always wrong on it, so ranking on the test split would
    turn the validation ranking upside down."""
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, val = order[:1400], order[1400:]
    np.savez(
        workdir / "shifted.npz",
        X=X[train],
        y=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[val],
        y_test=(y[val] + 1) % 10,
    )
    return "shifted.npz"


# --- selection on the validation split -------------------------------------------------------


def test_ranking_is_by_validation_with_diverged_runs_last_and_ties_in_order():
    ranked = rank_by_validation({"a": 0.5, "b": math.nan, "c": 0.9, "d": 0.5, "e": 0.9})
    assert ranked == ["c", "e", "a", "d", "b"]


def test_compare_ranks_and_selects_on_validation_and_tests_only_the_selected(
    shifted_test_labels, capsys
):
    code, result, _, err = run_cli(
        [
            "compare",
            "--json",
            "--data",
            shifted_test_labels,
            "--epochs",
            "20",
            "--strategies",
            "random-search,gradient-descent,sgd",
        ],
        capsys,
    )
    assert code == 0
    rows = result["strategies"]
    val = [row["val_accuracy"] for row in rows]
    assert val == sorted(val, reverse=True)
    assert rows[-1]["name"] == "random-search"  # first on the (shifted) test split
    assert all("test_accuracy" not in row for row in rows)
    selected = result["selected"]
    assert selected["name"] == rows[0]["name"] and selected["val_accuracy"] == val[0] > 0.8
    assert selected["test_accuracy"] < 0.2  # measured on the shifted test split
    assert f"its test accuracy: {selected['test_accuracy']:.1%}" in err


def test_compare_ranks_strategies_without_reading_the_test_split(digits):
    data = {"X_val": digits.X_val, "y_val": digits.y_val, "reg": 1e-3, "rng": 0}
    histories = {
        "random-search": random_search(
            "svm", digits.X_train, digits.y_train, budget=Budget(evaluations=20), **data
        ),
        "sgd": sgd("svm", digits.X_train, digits.y_train, budget=Budget(epochs=2), **data),
    }
    blind = dataclasses.replace(digits, X_test=Untouchable(), y_test=Untouchable())
    rows = compare.summarize(histories, blind, get_loss("svm"), 1e-3)
    assert [row["name"] for row in rows] == ["sgd", "random-search"]
    with pytest.raises(ReadTestSplitError):
        compare.select(rows, histories, blind)
    assert compare.select(rows, histories, digits)["name"] == "sgd"


def full_softmax_loss(params, X, y, reg) -> float:
    """The oracle for a loss column: softmax loss of the final W on every training example."""
    W, b = params["W"].astype(np.float64), params["b"].astype(np.float64)
    return softmax_loss(X.astype(np.float64) @ W + b, y) + reg * float(np.sum(W**2))


def test_compare_shows_the_full_training_loss_of_each_final_w(digits):
    """The loss column was each run's last record: the loss of SGD's last minibatch and of
    descent before its last update, beside the searches' full loss of the W they kept."""
    data = {"X_val": digits.X_val, "y_val": digits.y_val, "reg": 1e-3, "rng": 0}
    X, y = digits.X_train, digits.y_train
    histories = {
        "random-search": random_search("softmax", X, y, budget=Budget(evaluations=20), **data),
        "gradient-descent": gradient_descent("softmax", X, y, budget=Budget(steps=5), **data),
        "sgd": sgd("softmax", X, y, budget=Budget(epochs=2), batch_size=50, **data),
    }
    rows = compare.summarize(histories, digits, get_loss("softmax"), 1e-3)
    for row in rows:
        expected = full_softmax_loss(histories[row["name"]].params, X, y, 1e-3)
        assert row["final_loss"] == pytest.approx(expected, rel=1e-5), row["name"]
    sgd_row = next(row for row in rows if row["name"] == "sgd")
    assert sgd_row["final_loss"] != histories["sgd"].final_loss  # not its last minibatch's


def test_the_compare_table_says_which_loss_it_shows(workdir, capsys):
    code, _, out, _ = run_cli(["compare", "--epochs", "1", "--strategies", "sgd"], capsys)
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("strategy"))
    assert "train loss (full set, final W)" in header and "final loss" not in header


def test_sweep_records_the_full_training_loss_of_each_trial(workdir, capsys, monkeypatch, digits):
    kept = {}
    original = sweep.sgd

    def remembering(*args, **kwargs):
        history = original(*args, **kwargs)
        kept[(kwargs["learning_rate"], kwargs["reg"])] = history.params
        return history

    monkeypatch.setattr(sweep, "sgd", remembering)
    args = ["sweep", "--json", "--loss", "softmax", "--trials", "3", "--stages", "1"]
    code, result, _, _ = run_cli([*args, "--epochs", "1"], capsys)
    assert code == 0
    for trial in result["trials"]:
        params = kept[(trial["learning_rate"], trial["reg"])]
        expected = full_softmax_loss(params, digits.X_train, digits.y_train, trial["reg"])
        assert trial["final_loss"] == pytest.approx(expected, rel=1e-5)


def test_sweep_selects_on_validation_and_tests_only_the_selected(shifted_test_labels, capsys):
    args = ["sweep", "--json", "--data", shifted_test_labels, "--trials", "4", "--epochs", "1"]
    code, result, _, _ = run_cli(args, capsys)
    assert code == 0
    best = max(result["trials"], key=lambda trial: trial["val_accuracy"] or -1)
    assert result["best"]["val_accuracy"] == best["val_accuracy"] > 0.8
    assert result["best"]["stage"] == best["stage"]
    assert result["best"]["test_accuracy"] < 0.2
    assert all("test_accuracy" not in trial for trial in result["trials"])


# --- one list of update rules ----------------------------------------------------------------


def test_compare_offers_every_update_rule_of_the_library():
    rules = {name.removeprefix("sgd+") for name in compare.STRATEGIES if name.startswith("sgd")}
    assert rules == set(OPTIMIZERS) and "adamw" in rules


# --- sweep: inside the ranges, edges judged against them ----------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-8, 2),
    st.floats(0.5, 8),
    st.floats(0, 1),
    st.floats(0.05, 1),
    st.floats(0, 1),
)
def test_zoom_stays_inside_the_range_and_halves_the_width(low, width, where, share, at):
    limits = (10**low, 10 ** (low + width))
    bounds_low = low + where * width * (1 - share)
    bounds = (10**bounds_low, 10 ** (bounds_low + share * width))
    centre = 10 ** (math.log10(bounds[0]) + at * (math.log10(bounds[1]) - math.log10(bounds[0])))
    zoomed = sweep.zoom(bounds, centre, limits)
    assert limits[0] <= zoomed[0] < zoomed[1] <= limits[1]
    assert math.log10(zoomed[1] / zoomed[0]) == pytest.approx(share * width / 2, rel=1e-6)
    assert zoomed[0] <= centre * (1 + 1e-9) and centre <= zoomed[1] * (1 + 1e-9)


def test_sweep_never_samples_outside_the_ranges_given(workdir, capsys):
    code, result, _, _ = run_cli(
        ["sweep", "--json", "--lr-range", "1e-3:10", "--trials", "16", "--epochs", "1"], capsys
    )
    assert code == 0
    assert len(result["trials"]) == 32
    for trial in result["trials"]:
        assert 1e-3 <= trial["learning_rate"] <= 10 and 1e-6 <= trial["reg"] <= 1


def test_sweep_numbers_stages_from_one_in_json_as_on_screen(workdir, capsys):
    args = ["sweep", "--trials", "2", "--epochs", "1", "--name", "s"]
    code, _, out, _ = run_cli(args, capsys)
    assert code == 0 and "stage 1: 2 settings" in out and "stage 2: 2 settings" in out
    result = json.loads((workdir / "runs/s/results.json").read_text())
    assert [trial["stage"] for trial in result["trials"]] == [1, 1, 2, 2]


def test_edges_are_judged_against_the_range_searched():
    middle = sweep.Trial(1, 1e-1, 1e-3, 0.9, 0.9, 0.1, "completed")
    assert sweep.edge_warnings(middle, (1e-3, 10.0), (1e-6, 1.0)) == []
    low = dataclasses.replace(middle, learning_rate=1.5e-3)
    (warning,) = sweep.edge_warnings(low, (1e-3, 10.0), (1e-6, 1.0))
    assert "learning_rate 0.0015 sits on the lower edge of the searched range [0.001, 10]" in (
        warning
    )


def test_a_single_trial_in_the_middle_of_the_range_raises_no_edge_warning(workdir, capsys):
    code, result, _, _ = run_cli(
        ["sweep", "--json", "--trials", "1", "--stages", "1", "--epochs", "1"], capsys
    )
    assert code == 0
    (trial,) = result["trials"]
    assert 1e-3 * 10**0.4 < trial["learning_rate"] < 10 * 10**-0.4  # inside the outer 10%
    assert 1e-6 * 10**0.6 < trial["reg"] < 1 * 10**-0.6
    assert result["edge_warnings"] == []


def test_sweep_refuses_reg_because_it_searches_it(workdir, capsys):
    err = refusal(["sweep", "--reg", "0.1"], capsys)
    assert "sweep searches the regularization strength over --reg-range; drop --reg" in err


# --- lr-find: suggestions read off a curve without lag -----------------------------------------

STEEPEST_DECADE = -2.0  # where the noiseless curve below falls fastest
TOLERANCE_DECADES = 0.25


def noiseless_loss(decade: np.ndarray) -> np.ndarray:
    """A range-test curve: flat, a fall centred on 1e-2, a floor, then a blow-up past 0.3."""
    fall = 2.1 / (1 + np.exp((decade - STEEPEST_DECADE) / 0.3))
    return 0.2 + fall + 3.0 * np.maximum(0.0, decade + 0.5) ** 2


def noisy_range_test(seed: int):
    rates = np.geomspace(1e-6, 10.0, 100)
    noise = 1 + 0.02 * np.random.default_rng(seed).standard_normal(len(rates))
    return rates, noiseless_loss(np.log10(rates)) * noise


def lowest_decade() -> float:
    fine = np.linspace(-6, 1, 70_001)
    return float(fine[np.argmin(noiseless_loss(fine))])


@pytest.mark.parametrize("seed", range(20))
def test_suggestions_of_a_noisy_curve_land_where_the_noiseless_curve_puts_them(seed):
    rates, losses = noisy_range_test(seed)
    readings = read_curve(rates, losses, blew_up=False).readings
    assert abs(math.log10(readings["steepest"].rate) - STEEPEST_DECADE) < TOLERANCE_DECADES
    minimum_decade = math.log10(readings["minimum/10"].rate) + 1
    assert abs(minimum_decade - lowest_decade()) < TOLERANCE_DECADES


def test_lr_find_command_reads_its_suggestions_without_lag(workdir, capsys, monkeypatch):
    monkeypatch.setattr(lr_find, "range_test", lambda *args: noisy_range_test(0))
    code, result, _, _ = run_cli(["lr-find", "--json"], capsys)
    assert code == 0
    suggestions = result["suggestions"]
    assert abs(math.log10(suggestions["steepest"]) - STEEPEST_DECADE) < TOLERANCE_DECADES
    minimum_decade = math.log10(suggestions["minimum/10"]) + 1
    assert abs(minimum_decade - lowest_decade()) < TOLERANCE_DECADES
    assert len(result["figures"]) == 1 and Path(result["figures"][0]).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "5"], "--steps 5 is too few to read a curve; use at least 10"),
        (["--steps", str(10**9)], "--steps 1000000000 means 1,000,000,000 steps, more than"),
        (["--start", "1e-9", "--end", "1e-7"], "the loss never fell by 10% between rates 1e-09"),
        (["--start", "100", "--end", "1e6"], "no rate to suggest; search a wider range"),
        (["--start", "1000", "--end", "1e9"], "the loss blew up after 6 steps"),
    ],
)
def test_lr_find_refuses_to_suggest_from_a_curve_without_an_answer(workdir, capsys, args, message):
    assert message in refusal(["lr-find", *args], capsys)
    assert not list(workdir.glob("runs/*"))


def test_a_test_that_blows_up_at_once_is_refused():
    rates = np.geomspace(100.0, 1e3, 4)
    with pytest.raises(CommandError, match="the loss blew up after 4 steps, at rate 1e"):
        read_curve(rates, np.array([2.3, 5.0, 50.0, 500.0]), blew_up=True)


# --- landscape ---------------------------------------------------------------------------------


def test_landscape_at_a_tiny_w_measures_the_loss_of_guessing(workdir, capsys):
    """Softmax at W ~ 0 scores every class alike: the loss is ln(10) (an exact oracle)."""
    code, result, _, _ = run_cli(
        ["landscape", "--json", "--at", "init", "--resolution", "3", "--loss", "softmax"], capsys
    )
    assert code == 0
    assert result["center_loss"] == pytest.approx(math.log(10), abs=2e-3)
    assert result["num_examples"] == 1000


def test_landscape_losses_match_an_independent_softmax(digits):
    """Along the line and over the plane, every loss is log_loss(y, softmax(X (W + dW) + b))
    + reg * ||W + dW||^2, computed here with scikit-learn."""
    rng = np.random.default_rng(0)
    X, y, reg = digits.X_train[:300].astype(np.float64), digits.y_train[:300], 0.01
    params = init_params(X.shape[1], 10, rng, scale=0.1)
    d1, d2 = rng.standard_normal((2, *params["W"].shape)) * 0.1
    loss = get_loss("softmax")

    def oracle(dW):
        scores = X @ (params["W"] + dW) + params["b"]
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return log_loss(y, probs, labels=range(10)) + reg * np.sum((params["W"] + dW) ** 2)

    offsets = np.array([-1.0, 0.0, 0.5])
    line = landscape.line_losses(loss, params, d1, offsets, X, y, reg)
    np.testing.assert_allclose(line, [oracle(a * d1) for a in offsets], rtol=1e-9)
    plane = landscape.plane_losses(loss, params, (d1, d2), offsets, X, y, reg)
    expected = [[oracle(a * d1 + b * d2) for a in offsets] for b in offsets]
    np.testing.assert_allclose(plane, expected, rtol=1e-9)


def test_landscape_says_where_its_figures_went(workdir, capsys):
    code, _, out, _ = run_cli(["landscape", "--resolution", "3", "--epochs", "1"], capsys)
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("figures: ")]
    assert all(Path(path).exists() for path in line.removeprefix("figures: ").split(", "))


def test_a_flat_landscape_draws_instead_of_crashing(workdir, capsys):
    code, result, _, _ = run_cli(
        ["landscape", "--json", "--span", "1e-30", "--resolution", "3", "--epochs", "1"], capsys
    )
    assert code == 0 and result["plane_min_loss"] == result["plane_max_loss"]


# --- absurd sizes are refused before any work --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["landscape", "--resolution", "100000"], "--resolution 100000 is out of range"),
        (["landscape", "--resolution", "1"], "use 2 to 201"),
        (["landscape", "--span", "1e6"], "--span 1e+06 is too far"),
        (["landscape", "--epochs", str(10**9)], "--epochs 1000000000 at batch 200 means"),
        (["compare", "--epochs", "1e9"], "--epochs 1e+09 at batch 200 means"),
        (["compare", "--epochs", "1e-9"], "--epochs 1e-09 is less than one example"),
        (["compare", "--evaluations", str(10**9)], "--evaluations 1000000000 means"),
        (["sweep", "--trials", str(10**9)], "means 2,000,000,000 trials, more than 10,000"),
        (["sweep", "--stages", "64"], "--epochs 3 doubled over 64 stages"),
        (["sweep", "--epochs", str(10**9)], "use fewer --epochs or --stages"),
        (["tour", "--tries", str(10**9)], "--tries 1000000000 means 1,000,000,000 steps"),
        (["tour", "--gd-steps", str(10**9)], "--gd-steps 1000000000 means"),
        (["tour", "--epochs", str(10**6)], "use at most --epochs 6172 on this dataset"),
    ],
)
def test_absurd_sizes_are_refused_in_one_line_and_leave_no_folder(workdir, capsys, args, message):
    assert message in refusal(args, capsys)
    assert not list(workdir.glob("runs/*"))


def test_a_budget_in_seconds_is_capped_in_steps_and_says_so():
    args = argparse.Namespace(evaluations=None, seconds=1e9, epochs=None, batch_size=200)
    plan = compare_budget(args, "digits", 1293, list(compare.STRATEGIES))
    assert plan.budget.steps == MAX_RECORDED_STEPS and plan.budget.seconds == 1e9
    assert f"at most {MAX_RECORDED_STEPS:,} steps" in plan.text


# --- help and JSON names -----------------------------------------------------------------------


def command_parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser([name])
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subparsers.choices[name]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_help_is_plain_text_and_explains_every_option(name):
    parser = command_parser(name)
    text = parser.format_help()
    assert "``" not in text and "**" not in text
    undocumented = [
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "args",
    [
        ["lr-find", "--json", "--steps", "30"],
        ["sweep", "--json", "--trials", "2", "--stages", "1", "--epochs", "1"],
        ["landscape", "--json", "--resolution", "3", "--epochs", "1"],
        ["compare", "--json", "--epochs", "1", "--strategies", "sgd"],
    ],
)
def test_every_command_lists_its_figures_under_one_name(workdir, capsys, args):
    code, result, _, _ = run_cli(args, capsys)
    assert code == 0
    assert "figure" not in result
    assert result["figures"] and all(Path(path).exists() for path in result["figures"])
