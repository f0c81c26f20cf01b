"""Figures that tell the truth: what is drawn smoothed, how, and with no lag.

The figures are captured before they are written (``plots.save`` is replaced), so the tests
read the data each line actually plots.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slopelab import plots
from slopelab.history import Budget
from slopelab.search import random_local_search, random_search
from slopelab.smoothing import centered_moving_average
from slopelab.train import gradient_descent, sgd
from tests.helpers import digits_split

finite_values = hnp.arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


@pytest.fixture(scope="module")
def runs():
    """Every kind of run on digits, each with more than 200 steps (the old smoothing cut-off)."""
    X, X_val, y, y_val = digits_split()
    common = {"reg": 1e-3, "rng": 0, "X_val": X_val, "y_val": y_val}
    searches = {"budget": Budget(evaluations=300), "eval_every": 50, **common}
    return {
        "random search": random_search("svm", X, y, **searches),
        "random local search": random_local_search("svm", X, y, **searches),
        "gradient descent": gradient_descent(
            "svm", X, y, budget=Budget(steps=250), learning_rate="auto", **common
        ),
        "full-batch sgd": sgd(
            "svm", X, y, budget=Budget(epochs=250), batch_size=len(y), eval_every=50, **common
        ),
        "minibatch sgd": sgd("svm", X, y, budget=Budget(epochs=10), batch_size=32, **common),
    }


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions would have written, by file name."""
    figures = {}

    def keep(figure, path):
        figures[path.name] = figure
        return path

    monkeypatch.setattr(plots, "save", keep)
    return figures  # bare Figures, unknown to pyplot: nothing to close


def exponential_moving_average(values: np.ndarray, weight: float) -> np.ndarray:
    """The causal average the figures used to draw (bias-corrected), for contrast."""
    averaged, running = np.empty(len(values)), 0.0
    for index, value in enumerate(values):
        running = weight * running + (1 - weight) * value
        averaged[index] = running / (1 - weight ** (index + 1))
    return averaged


def plotted(axes) -> dict[str, list[np.ndarray]]:
    """The y data of every line on ``axes``, grouped by the legend label (unlabelled lines,
    the faint raw ones, go under the label of the line drawn right after them)."""
    lines, pending = {}, []
    for line in axes.get_lines():
        label = line.get_label()
        if label.startswith("_"):
            pending.append(np.asarray(line.get_ydata(), float))
            continue
        lines[label] = [*pending, np.asarray(line.get_ydata(), float)]
        pending = []
    return lines


def test_only_minibatch_losses_count_as_noisy(runs):
    noisy = {name for name, history in runs.items() if plots.is_minibatch(history)}
    assert noisy == {"minibatch sgd"}


def test_search_and_full_batch_curves_are_drawn_exactly_as_measured(runs, drawn, tmp_path):
    plots.compare_curves(runs, "examples", tmp_path / "all.png", "runs")
    lines = plotted(drawn["all.png"].axes[0])
    for name in ("random search", "random local search", "gradient descent", "full-batch sgd"):
        (values,) = lines[name]
        np.testing.assert_array_equal(values, runs[name].column("loss"))


def test_the_staircase_of_random_search_is_not_rounded_off(runs, drawn, tmp_path):
    history = runs["random search"]
    plots.compare_curves({"random search": history}, "evaluations", tmp_path / "rs.png", "rs")
    (values,) = plotted(drawn["rs.png"].axes[0])["random search"]
    assert len(values) > 200
    assert np.all(np.diff(values) <= 0)  # the best loss so far never goes back up
    assert set(values) <= set(history.column("loss"))  # only measured values, no averages


def test_a_minibatch_loss_is_drawn_raw_under_a_centred_mean_and_says_so(runs, drawn, tmp_path):
    history = runs["minibatch sgd"]
    plots.compare_curves({"sgd": history}, "examples", tmp_path / "sgd.png", "sgd")
    loss_axes = drawn["sgd.png"].axes[0]
    window = plots.smoothing_window(history)
    (label,) = plotted(loss_axes)
    raw, smoothed = plotted(loss_axes)[label]
    losses = history.column("loss")
    np.testing.assert_array_equal(raw, losses)
    np.testing.assert_allclose(smoothed, centered_moving_average(losses, window))
    assert window > 1 and f"centred mean of {window}" in label
    assert "faint = measured" in loss_axes.get_title()


def test_the_examples_axis_shows_no_negative_examples(runs, drawn, tmp_path):
    plots.compare_curves(runs, "examples", tmp_path / "all.png", "runs")
    for axes in drawn["all.png"].axes[:2]:
        assert axes.get_xscale() == "log"
        assert axes.get_xlim()[0] > 0


def test_the_training_figure_smooths_only_a_minibatch_run(runs, drawn, tmp_path):
    for name in ("gradient descent", "minibatch sgd"):
        plots.loss_curve(runs[name], tmp_path / f"{name}.png")
        lines = plotted(drawn[f"{name}.png"].axes[0])
        total = next(values for label, values in lines.items() if label.startswith("total"))
        if name == "gradient descent":
            assert len(total) == 1
            np.testing.assert_array_equal(total[0], runs[name].column("loss"))
        else:
            assert len(total) == 2  # the faint measured line and the centred mean over it


def test_a_flat_plane_still_draws(drawn, tmp_path):
    grid = np.linspace(-1, 1, 3)
    plots.landscape_plane(grid, grid, np.full((3, 3), 0.25), tmp_path / "flat.png")
    assert "flat.png" in drawn


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-1e3, 1e3),
    st.floats(-1e3, 1e3),
    st.integers(2, 80),
    st.integers(1, 41),
)
def test_the_centred_mean_of_a_straight_line_is_the_line_itself(intercept, slope, count, window):
    """No lag: a falling (or rising) straight line is not shifted at all."""
    values = intercept + slope * np.arange(count)
    scale = max(1.0, abs(intercept) + abs(slope) * count)
    np.testing.assert_allclose(
        centered_moving_average(values, window), values, rtol=0, atol=1e-9 * scale
    )


def test_the_causal_average_lags_a_straight_line_by_w_over_1_minus_w_steps():
    values = -np.arange(400.0)
    lag = values - exponential_moving_average(values, 0.95)
    assert lag[-1] == pytest.approx(-0.95 / 0.05, rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(finite_values, st.integers(1, 41))
def test_the_centred_mean_commutes_with_reversing_time(values, window):
    """A symmetric window: smoothing the reversed curve gives the reversed smoothed curve."""
    forward = centered_moving_average(values, window)
    backward = centered_moving_average(values[::-1], window)[::-1]
    np.testing.assert_allclose(forward, backward, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(finite_values, st.integers(1, 41))
def test_the_centred_mean_stays_within_the_values(values, window):
    smoothed = centered_moving_average(values, window)
    assert np.all(smoothed >= values.min() - 1e-9) and np.all(smoothed <= values.max() + 1e-9)
    assert smoothed[0] == values[0] and smoothed[-1] == values[-1]


def test_the_centred_mean_finds_the_minimum_of_a_noisy_valley_where_it_is():
    """The smoothed argmin of a noisy parabola sits at the noiseless argmin; the causal
    average's trails it by many steps."""
    steps = np.arange(200)
    valley = 1.0 + ((steps - 120) / 40.0) ** 2
    noisy = valley * (1 + 0.02 * np.random.default_rng(0).standard_normal(len(steps)))
    assert abs(int(np.argmin(centered_moving_average(noisy, 21))) - 120) <= 3
    assert int(np.argmin(exponential_moving_average(noisy, 0.95))) - 120 > 10


def test_non_finite_values_are_left_out_of_the_means():
    values = np.array([1.0, math.nan, 3.0, math.inf, 5.0])
    np.testing.assert_allclose(centered_moving_average(values, 3), [1.0, 2.0, 3.0, 4.0, 5.0])


def test_the_range_test_legend_marks_a_suggestion_that_is_only_a_bound(drawn, tmp_path):
    rates = np.geomspace(1e-6, 0.1, 30)
    losses = np.linspace(2.3, 0.5, 30)
    suggestions = {"valley": 1e-3, "minimum/10": 0.01, "curvature": 0.2}
    plots.lr_range(
        rates, losses, losses, suggestions, tmp_path / "lr.png", bounds={"minimum/10": "at least"}
    )
    (axes,) = drawn["lr.png"].axes
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert "minimum/10: at least 0.01" in labels
    assert "valley: 0.001" in labels and "curvature: 0.2" in labels


def test_the_landscape_figures_name_the_loss_they_draw(drawn, tmp_path):
    grid = np.linspace(-1, 1, 3)
    label = "svm loss + 0.01 x l2 penalty"
    plots.landscape_line(grid, np.array([1.0, 0.5, 1.0]), tmp_path / "line.png", label)
    plots.landscape_plane(grid, grid, np.eye(3), tmp_path / "plane.png", loss_label=label)
    assert drawn["line.png"].axes[0].get_ylabel() == label
    colorbar = drawn["plane.png"].axes[1]
    assert colorbar.get_ylabel() == label
