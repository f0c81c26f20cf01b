"""The ``plot_*`` functions draw on the axes they are given and return them (so a notebook can
compose them), draw on a new figure without one, and importing slopelab.plots leaves the
user's matplotlib backend alone."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from slopelab import Budget, plots, sgd
from slopelab.train import gradient_descent
from tests.helpers import digits_split

NAMES = [f"digit {label}" for label in range(10)]


@pytest.fixture(scope="module")
def runs():
    X, X_val, y, y_val = digits_split()
    common = {"reg": 1e-3, "rng": 0}
    return {
        "minibatch": sgd(
            "softmax", X, y, budget=Budget(epochs=3), batch_size=64, X_val=X_val, y_val=y_val,
            **common,
        ),
        "full batch": gradient_descent(
            "svm", X, y, budget=Budget(steps=30), learning_rate="auto", **common
        ),
    }  # fmt: skip


@pytest.fixture
def ax():
    """An axes of a bare Figure, unknown to pyplot."""
    return Figure().add_subplot()


@pytest.fixture(autouse=True)
def close_pyplot_figures():
    yield
    plt.close("all")


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_loss_curve_draws_total_data_and_regularization(runs, ax):
    history = runs["full batch"]
    assert plots.plot_loss_curve(history, ax=ax) is ax
    assert labels(ax) == ["total", "data", "regularization"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), history.column("loss"))
    assert ax.get_xlabel() == "step" and ax.get_title() == "Training loss"


def test_a_minibatch_loss_curve_adds_the_faint_measured_lines(runs, ax):
    plots.plot_loss_curve(runs["minibatch"], ax=ax, title="mine")
    assert len(ax.get_lines()) == 6 and len(labels(ax)) == 3
    assert ax.get_title() == "mine"


def test_accuracy_draws_validation_only_when_the_run_had_a_split(runs):
    with_split, without = Figure().add_subplot(), Figure().add_subplot()
    assert plots.plot_accuracy(runs["minibatch"], ax=with_split) is with_split
    plots.plot_accuracy(runs["full batch"], ax=without)
    assert labels(with_split)[1] == "validation" and len(labels(without)) == 1
    history = runs["minibatch"]
    np.testing.assert_array_equal(
        with_split.get_lines()[1].get_ydata(), history.column("val_accuracy")
    )


def test_confusion_matrix_draws_the_counts_scikit_learn_counts(ax):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 200), rng.integers(0, 10, 200)
    assert plots.plot_confusion_matrix(y_true, y_pred, NAMES, ax=ax) is ax
    (image,) = ax.get_images()
    expected = confusion_matrix(y_true, y_pred, labels=range(10))
    np.testing.assert_array_equal(image.get_array(), expected)
    assert [tick.get_text() for tick in ax.get_xticklabels()] == NAMES
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")


def test_weight_templates_draw_one_image_per_class_inside_the_axes(ax):
    W = np.random.default_rng(1).standard_normal((8 * 8 * 1, 12))
    assert plots.plot_weight_templates(W, (8, 8, 1), [*NAMES, "a", "b"], ax=ax) is ax
    cells = ax.child_axes
    assert len(cells) == 12 and all(len(cell.get_images()) == 1 for cell in cells)
    assert [cell.get_title() for cell in cells] == [*NAMES, "a", "b"]
    rescaled = (W[:, 5] - W.min()) / (W.max() - W.min())
    np.testing.assert_allclose(cells[5].get_images()[0].get_array(), rescaled.reshape(8, 8))


def test_landscape_line_names_its_loss(ax):
    offsets, losses = np.linspace(-1, 1, 9), np.linspace(-1, 1, 9) ** 2 + 0.5
    assert plots.plot_landscape_line(offsets, losses, ax=ax, loss_label="svm loss") is ax
    assert labels(ax) == ["W"] and len(ax.get_lines()) == 2
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), losses)
    assert ax.get_ylabel() == "svm loss"


def test_landscape_plane_draws_contours_a_colour_bar_and_the_path(ax):
    grid = np.linspace(-1, 1, 5)
    losses = grid[None, :] ** 2 + grid[:, None] ** 2
    path = np.array([[0.5, 0.5], [0.2, 0.1], [0.0, 0.0]])
    result = plots.plot_landscape_plane(grid, grid, losses, ax=ax, trajectory=path)
    assert result is ax
    assert labels(ax) == ["W", "optimizer path"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xydata(), path)
    colour_bar = ax.figure.axes[1]
    assert colour_bar.get_ylabel() == "loss"


def test_lr_range_and_sweep_map_draw_on_the_given_axes(ax):
    rates = np.geomspace(1e-5, 1, 20)
    losses = np.linspace(2.3, 1.0, 20)
    assert plots.plot_lr_range(rates, losses, losses, {"valley": 1e-2}, ax=ax) is ax
    assert labels(ax) == ["minibatch loss", "smoothed loss", "valley: 0.01"]
    sweep = Figure().add_subplot()
    accuracies = np.array([0.5, 0.7, 0.9])
    result = plots.plot_sweep_map(rates[:3], rates[:3], accuracies, (rates[2], rates[2]), ax=sweep)
    assert result is sweep and len(sweep.collections) == 2
    np.testing.assert_array_equal(sweep.collections[0].get_array(), accuracies)


def test_every_plot_function_makes_its_own_pyplot_figure_without_axes(runs):
    history = runs["minibatch"]
    grid = np.linspace(-1, 1, 3)
    drawn = [
        plots.plot_loss_curve(history),
        plots.plot_accuracy(history),
        plots.plot_confusion_matrix(np.arange(3), np.arange(3), ["a", "b", "c"]),
        plots.plot_weight_templates(np.ones((4, 2)), (2, 2, 1), ["a", "b"]),
        plots.plot_landscape_line(grid, grid**2),
        plots.plot_landscape_plane(grid, grid, np.eye(3)),
        plots.plot_lr_range(grid + 2, grid, grid, {}),
        plots.plot_sweep_map(grid + 2, grid + 2, grid, (2.0, 2.0)),
    ]
    figures = [ax.figure for ax in drawn]
    assert len({id(figure) for figure in figures}) == len(drawn)
    assert all(plt.fignum_exists(figure.number) for figure in figures)


def test_notebook_figures_compose(runs):
    figure, (left, right) = plt.subplots(1, 2)
    plots.plot_loss_curve(runs["minibatch"], ax=left)
    plots.plot_accuracy(runs["minibatch"], ax=right)
    assert figure.axes == [left, right]
    assert left.get_lines() and right.get_lines()


IMPORT_AND_DRAW = """
import sys
import matplotlib
matplotlib.use("svg")
from pathlib import Path
import slopelab.plots as plots
after_import = (matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
from slopelab.history import History, StepRecord, EpochRecord
steps = [StepRecord(i, 2.0 - i / 10, 2.0 - i / 10, 0.0, 0.1, 1.0, 1e-3, 0.0, i + 1, 10 * (i + 1))
         for i in range(5)]
history = History("sgd", steps=steps, epochs=[EpochRecord(1.0, 5, 0.5, 0.4, 0.0, 5, 50)])
plots.loss_curve(history, Path(sys.argv[1]))
print(*after_import, matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


def test_importing_plots_and_writing_a_figure_leave_the_backend_alone(tmp_path):
    """plots called matplotlib.use("Agg") at import, which switched a notebook's inline
    backend off; files are now rendered by a bare Figure on the Agg canvas."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    environment.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_DRAW, str(tmp_path / "loss.png")],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert result.stdout.split() == ["svg", "False", "svg", "False"]
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
