"""Figures for runs and notebooks: each ``plot_*`` function draws on a matplotlib ``Axes``.

The design follows scikit-learn's Display objects (``ConfusionMatrixDisplay.plot(ax=None)``)
in its simplest form, since the numbers already live in a ``History`` or in arrays: every
``plot_*`` function takes the data and an optional keyword ``ax``, draws on it and returns it;
without ``ax`` it draws on a new pyplot figure (shown inline in a notebook). Notebooks compose
them::

    fig, (left, right) = plt.subplots(1, 2)
    plot_loss_curve(history, ax=left)
    plot_accuracy(history, ax=right)

The CLI's PNG files are drawn by the same functions: ``loss_curve(history, path)`` and the
others build a ``matplotlib.figure.Figure`` of their own, draw on its axes and render it with
the Agg canvas (atomically, see :func:`save`). Nothing here selects a backend or imports pyplot
at import time, so a notebook's inline backend is left alone. Nothing here computes a result:
the numbers come from the training code.
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from slopelab.history import History
from slopelab.plot_inputs import paired_labels, template_shape
from slopelab.runs import atomic_write_bytes
from slopelab.smoothing import centered_moving_average

# Okabe–Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


MISSING_GLYPH = re.compile(r"Glyph \d+ .*missing from font")  # matplotlib's UserWarning
MISSING_GLYPH_NOTE = "some characters of the labels are not in the font (drawn as boxes)"


def file_axes(figsize: tuple[float, float]) -> Axes:
    """The axes of a new figure meant for a file: a bare ``Figure`` on the Agg canvas, unknown
    to pyplot (no backend involved, nothing to close)."""
    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure.add_subplot()


def _axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new pyplot figure (what a notebook shows inline)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only here: pyplot picks the user's backend

    return plt.subplots(figsize=figsize)[1]


def save(figure: Figure, path: Path) -> Path:
    """Render ``figure`` to PNG at ``path`` atomically (and close it if pyplot holds it).
    Labels with characters the font lacks (class names in Chinese, say) are drawn as boxes,
    and the figure says so in a footnote, instead of matplotlib warning once per character."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = _render(figure)
    missing = [warning for warning in caught if MISSING_GLYPH.search(str(warning.message))]
    for warning in caught:
        if warning not in missing:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if missing:
        figure.text(0.0, 1.0, MISSING_GLYPH_NOTE, fontsize=7, color="0.4", va="bottom")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=MISSING_GLYPH.pattern)
            png = _render(figure)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(figure)
    atomic_write_bytes(Path(path), png)
    return Path(path)


def _render(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def is_minibatch(history: History) -> bool:
    """Whether each step's loss was measured on a minibatch, i.e. on fewer examples than one
    epoch holds: only such losses are noisy. A search records its best loss so far and full-batch
    descent the exact loss; both are drawn exactly as measured.

    The examples in one epoch come from the epoch records (``examples / epoch``), those of one
    step from the first step record.
    """
    if not history.steps:
        return False
    per_epoch = [record.examples / record.epoch for record in history.epochs if record.epoch > 0]
    return bool(per_epoch) and history.steps[0].examples < per_epoch[0] - 0.5


def smoothing_window(history: History) -> int:
    """Steps in the centred mean drawn over a loss curve: 1 (drawn as measured) unless the
    losses are minibatch losses, then an odd window of about a thirtieth of the run."""
    if not is_minibatch(history):
        return 1
    return 2 * (len(history.steps) // 60) + 1


@dataclass(frozen=True)
class LossLine:
    """What to draw for one run's loss: the values as measured and, for a noisy minibatch loss,
    their centred moving average over ``window`` steps (no lag), drawn over the faint raw line."""

    label: str
    x: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray | None
    window: int


def loss_lines(histories: Mapping[str, History], x_column: str) -> list[LossLine]:
    """The loss lines of several runs against ``x_column`` (smoothed only where noisy)."""
    lines = []
    for name, history in histories.items():
        losses, window = history.column("loss"), smoothing_window(history)
        smoothed = centered_moving_average(losses, window) if window > 1 else None
        lines.append(LossLine(name, history.column(x_column), losses, smoothed, window))
    return lines


LOSS_SIZE = (7, 4)


def plot_loss_curve(
    history: History, *, ax: Axes | None = None, title: str = "Training loss"
) -> Axes:
    """Data, regularization and total loss against steps (log scale when it spans decades);
    a noisy minibatch loss is drawn faintly under its centred mean (see :func:`loss_lines`).

    Returns ``ax`` (a new figure's axes without it), with three labelled lines, plus three
    faint unlabelled ones for a minibatch run."""
    ax = _axes_or_new(ax, LOSS_SIZE)
    steps = history.column("step")
    window = smoothing_window(history)
    series = (
        ("loss", "total", PALETTE[0], "-"),
        ("data_loss", "data", PALETTE[1], "--"),
        ("reg_loss", "regularization", PALETTE[2], "-"),
    )
    for name, label, color, style in series:
        values = history.column(name)
        if window > 1:
            ax.plot(steps, values, color=color, alpha=0.2, linewidth=0.8)
            label += f" (centred mean of {window} steps)"
            values = centered_moving_average(values, window)
        ax.plot(steps, values, color=color, linestyle=style, label=label)
    if _spans_decades([history.column("loss")], ratio=100.0):
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def loss_curve(history: History, path: Path, title: str = "Training loss") -> Path:
    """:func:`plot_loss_curve` saved as PNG at ``path``."""
    return save(plot_loss_curve(history, ax=file_axes(LOSS_SIZE), title=title).figure, path)


def plot_accuracy(history: History, *, ax: Axes | None = None, title: str = "Accuracy") -> Axes:
    """Train and validation accuracy against epochs. The training accuracy is the running one
    the loop records (each batch scored by the weights it was about to update, no extra pass);
    the validation accuracy is that of the weights at the end of the epoch (drawn only when
    the run had a validation split). Returns ``ax``."""
    ax = _axes_or_new(ax, LOSS_SIZE)
    epochs = history.column("epoch")
    ax.plot(
        epochs,
        history.column("train_accuracy"),
        color=PALETTE[0],
        marker="o",
        markersize=3,
        label="train (running, over each epoch's batches)",
    )
    val = history.column("val_accuracy")
    if np.any(np.isfinite(val)):
        ax.plot(epochs, val, color=PALETTE[1], marker="o", markersize=3, label="validation")
    ax.set(xlabel="epoch", ylabel="accuracy", title=title, ylim=(0, 1.01))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def accuracy_curves(history: History, path: Path, title: str = "Accuracy") -> Path:
    """:func:`plot_accuracy` saved as PNG at ``path``."""
    return save(plot_accuracy(history, ax=file_axes(LOSS_SIZE), title=title).figure, path)


def _templates_size(num_classes: int) -> tuple[float, float]:
    columns = min(num_classes, 10)
    return 1.3 * columns, 1.6 * math.ceil(num_classes / columns)


def plot_weight_templates(
    W: np.ndarray,
    image_shape: Sequence[int],
    class_names: Sequence[str],
    *,
    ax: Axes | None = None,
    title: str = "Learned weights as class templates",
) -> Axes:
    """Each column of ``W`` (D, C) drawn as an image of ``image_shape`` ``(height, width)`` or
    ``(height, width, channels)`` (features stored channel by channel), all rescaled together
    to [0, 1] (as in the CS231n notes), on a grid of up to 10 per row. ``ax`` holds the grid:
    its frame is hidden and each template is an inset axes of it (``ax.child_axes``, one image
    each, titled with its class name). Returns ``ax``."""
    height, width, channels = template_shape(W, image_shape, class_names)
    num_classes = W.shape[1]
    ax = _axes_or_new(ax, _templates_size(num_classes))
    columns = min(num_classes, 10)
    rows = math.ceil(num_classes / columns)
    ax.axis("off")
    ax.set_title(title)
    low, high = float(W.min()), float(W.max())
    for index in range(num_classes):
        row, column = divmod(index, columns)
        cell = ax.inset_axes([column / columns, 1 - (row + 1) / rows, 0.9 / columns, 0.8 / rows])
        cell.axis("off")
        template = W[:, index].reshape(channels, height, width).transpose(1, 2, 0)
        template = (template - low) / (high - low if high > low else 1.0)
        cell.imshow(
            template[:, :, 0] if channels == 1 else template,
            cmap="gray" if channels == 1 else None,
            interpolation="nearest",
        )
        cell.set_title(str(class_names[index])[:12], fontsize=8)
    return ax


def weight_templates(
    W: np.ndarray,
    image_shape: Sequence[int],
    class_names: Sequence[str],
    path: Path,
    title: str = "Learned weights as class templates",
) -> Path:
    """:func:`plot_weight_templates` saved as PNG at ``path``."""
    ax = file_axes(_templates_size(W.shape[1]))
    plot_weight_templates(W, image_shape, class_names, ax=ax, title=title)
    return save(ax.figure, path)


def _confusion_size(num_classes: int) -> tuple[float, float]:
    size = max(4.0, 0.45 * num_classes + 2)
    return size, size


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    *,
    ax: Axes | None = None,
    title: str = "Confusion matrix (test)",
) -> Axes:
    """Counts of true class (rows) against predicted class (columns), labels ``0 .. C-1``
    naming ``class_names``; one image, each nonzero count written in its cell. Labels must be
    those indices (an ``InvalidValueError`` otherwise, never a miscounted cell): map a model's
    labels with ``np.searchsorted(model.classes_, labels)``. Returns ``ax``."""
    y_true, y_pred = paired_labels(y_true, y_pred, class_names)
    num_classes = len(class_names)
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    ax = _axes_or_new(ax, _confusion_size(num_classes))
    ax.imshow(counts, cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):
        if count:
            light = count > counts.max() / 2
            ax.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if light else "black",
            )
    labels = [str(name)[:10] for name in class_names]
    ax.set_xticks(range(num_classes), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(num_classes), labels, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return ax


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    title: str = "Confusion matrix (test)",
) -> Path:
    """:func:`plot_confusion_matrix` saved as PNG at ``path``."""
    ax = file_axes(_confusion_size(len(class_names)))
    return save(plot_confusion_matrix(y_true, y_pred, class_names, ax=ax, title=title).figure, path)


def compare_curves(histories: Mapping[str, History], x_column: str, path: Path, title: str) -> Path:
    """:func:`compare_figure` saved as PNG at ``path``."""
    return save(compare_figure(histories, x_column, title), path)


def compare_figure(histories: Mapping[str, History], x_column: str, title: str) -> Figure:
    """Loss (left) and validation/train accuracy (right) of several runs against one axis:
    ``"examples"``, ``"evaluations"`` or ``"seconds"``. Losses are drawn as measured; a noisy
    minibatch loss is drawn faintly, under its centred moving average (see :func:`loss_lines`).
    A bare ``Figure`` (no pyplot); in a notebook, display it as it is."""
    figure = Figure(figsize=(12, 4.2))
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    lines = loss_lines(histories, x_column)
    _draw_loss_lines(loss_axes, lines)
    accuracy_title = "validation accuracy"
    for index, (name, history) in enumerate(histories.items()):
        epoch_x = np.array([getattr(record, x_column) for record in history.epochs], float)
        accuracy = history.column("val_accuracy")
        if not np.any(np.isfinite(accuracy)):
            accuracy = history.column("train_accuracy")
            accuracy_title = "accuracy (training accuracy where there is no validation split)"
            # descent records a running training accuracy; the searches an exact one
        color = PALETTE[index % len(PALETTE)]
        accuracy_axes.plot(epoch_x, accuracy, color=color, marker="o", markersize=3, label=name)
    label = {
        "examples": "examples processed",
        "evaluations": "loss evaluations",
        "seconds": "seconds",
    }[x_column]
    smoothed = any(line.smoothed is not None for line in lines)
    loss_title = "loss (minibatch: faint = measured, line = centred mean)" if smoothed else "loss"
    loss_axes.set(xlabel=label, ylabel="training loss", title=loss_title)
    if _spans_decades([history.column("loss") for history in histories.values()]):
        loss_axes.set_yscale("log")
    accuracy_axes.set(xlabel=label, ylabel="accuracy", title=accuracy_title, ylim=(0, 1))
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        if x_column == "examples":
            _set_examples_scale(axes, histories)
    loss_axes.legend(fontsize=7)
    accuracy_axes.legend(fontsize=8)
    figure.suptitle(title)
    return figure


def _draw_loss_lines(axes: Axes, lines: Sequence[LossLine]) -> None:
    for index, line in enumerate(lines):
        color = PALETTE[index % len(PALETTE)]
        if line.smoothed is None:
            axes.plot(line.x, line.raw, color=color, label=line.label)
        else:
            axes.plot(line.x, line.raw, color=color, alpha=0.25, linewidth=0.8)
            label = f"{line.label} (centred mean of {line.window})"
            axes.plot(line.x, line.smoothed, color=color, label=label)


def _spans_decades(series: list[np.ndarray], ratio: float = 20.0) -> bool:
    values = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in series] or [np.ones(1)])
    return len(values) > 0 and values.max() / values.min() > ratio


def _set_examples_scale(axes: Axes, histories: Mapping[str, History]) -> None:
    """Log scale (examples processed span decades); symlog only if a run holds a zero."""
    values = [history.column("examples") for history in histories.values()]
    values = np.concatenate([v for v in values if len(v)] or [np.ones(1)])
    if np.all(values > 0):
        axes.set_xscale("log")
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    else:
        positive = values[values > 0]
        axes.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0)


def plot_lr_range(
    learning_rates: np.ndarray,
    losses: np.ndarray,
    smoothed: np.ndarray,
    suggestions: Mapping[str, float],
    *,
    ax: Axes | None = None,
    smoothed_label: str = "smoothed loss",
    bounds: Mapping[str, str] | None = None,
) -> Axes:
    """The learning-rate range test: the measured minibatch losses (faint), the smoothed curve
    the suggestions were read off, and the suggestions, against an exponentially growing rate.
    ``bounds`` marks a suggestion that is only a bound ("at least", "at most", "unlocated").
    Returns ``ax``."""
    bounds = bounds or {}
    ax = _axes_or_new(ax, LOSS_SIZE)
    ax.plot(learning_rates, losses, color=PALETTE[0], alpha=0.3, label="minibatch loss")
    ax.plot(learning_rates, smoothed, color=PALETTE[0], label=smoothed_label)
    for index, (name, rate) in enumerate(suggestions.items()):
        bound = bounds.get(name, "")
        ax.axvline(
            rate,
            color=PALETTE[(index + 1) % len(PALETTE)],
            linestyle=":" if bound else "--",
            label=f"{name}: {bound + ' ' if bound else ''}{rate:.3g}",
        )
    finite = smoothed[np.isfinite(smoothed)]
    measured = losses[np.isfinite(losses)]
    if len(finite):
        lowest = min(finite.min(), measured.min()) if len(measured) else finite.min()
        ax.set_ylim(lowest * 0.9, min(finite.max(), finite[0] * 3) * 1.05)
    ax.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="training loss",
        title="Learning-rate range test",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def lr_range(
    learning_rates: np.ndarray,
    losses: np.ndarray,
    smoothed: np.ndarray,
    suggestions: Mapping[str, float],
    path: Path,
    smoothed_label: str = "smoothed loss",
    bounds: Mapping[str, str] | None = None,
) -> Path:
    """:func:`plot_lr_range` saved as PNG at ``path``."""
    ax = plot_lr_range(
        learning_rates,
        losses,
        smoothed,
        suggestions,
        ax=file_axes(LOSS_SIZE),
        smoothed_label=smoothed_label,
        bounds=bounds,
    )
    return save(ax.figure, path)


SWEEP_SIZE = (6.5, 5)


def plot_sweep_map(
    learning_rates: np.ndarray,
    regs: np.ndarray,
    accuracies: np.ndarray,
    best: tuple[float, float],
    *,
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Validation accuracy of every (learning rate, reg) trial on log axes, the best starred,
    with a colour bar beside ``ax``. Returns ``ax``."""
    ax = _axes_or_new(ax, SWEEP_SIZE)
    points = ax.scatter(
        learning_rates,
        regs,
        c=accuracies,
        cmap="viridis",
        s=90,
        edgecolors="black",
        linewidths=0.5,
        vmin=np.nanmin(accuracies),
        vmax=np.nanmax(accuracies),
    )
    ax.scatter(
        [best[0]], [best[1]], marker="*", s=320, color="#D55E00", edgecolors="black", label="best"
    )
    ax.figure.colorbar(points, ax=ax, label="validation accuracy")
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="reg", title=title)
    ax.legend(loc="best")
    return ax


def sweep_map(
    learning_rates: np.ndarray,
    regs: np.ndarray,
    accuracies: np.ndarray,
    best: tuple[float, float],
    path: Path,
    title: str,
) -> Path:
    """:func:`plot_sweep_map` saved as PNG at ``path``."""
    ax = file_axes(SWEEP_SIZE)
    plot_sweep_map(learning_rates, regs, accuracies, best, ax=ax, title=title)
    return save(ax.figure, path)


LINE_SIZE, PLANE_SIZE = (6.5, 4), (6.5, 5.5)


def plot_landscape_line(
    offsets: np.ndarray, losses: np.ndarray, *, ax: Axes | None = None, loss_label: str = "loss"
) -> Axes:
    """The loss along a line through W (``W + a d``, ``||d|| = ||W||``) against the offsets
    ``a``, with W marked at ``a = 0``; ``loss_label`` names the loss (e.g. its penalty).
    Returns ``ax``."""
    ax = _axes_or_new(ax, LINE_SIZE)
    ax.plot(offsets, losses, color=PALETTE[0])
    ax.axvline(0.0, color="gray", linestyle=":", label="W")
    ax.set(
        xlabel="a  (W + a·d, d a random direction with ||d|| = ||W||)",
        ylabel=loss_label,
        title="Loss along a random line through W",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def landscape_line(
    offsets: np.ndarray, losses: np.ndarray, path: Path, loss_label: str = "loss"
) -> Path:
    """:func:`plot_landscape_line` saved as PNG at ``path``."""
    ax = plot_landscape_line(offsets, losses, ax=file_axes(LINE_SIZE), loss_label=loss_label)
    return save(ax.figure, path)


def plot_landscape_plane(
    alphas: np.ndarray,
    betas: np.ndarray,
    losses: np.ndarray,
    *,
    ax: Axes | None = None,
    trajectory: np.ndarray | None = None,
    title: str = "",
    loss_label: str = "loss",
) -> Axes:
    """Filled contours of the loss over the plane ``W + a d1 + b d2`` (``losses[j, i]`` at
    ``(alphas[i], betas[j])``), a colour bar beside ``ax``, W marked at the origin, and an
    optional projected path ``trajectory`` (K, 2). Returns ``ax``."""
    ax = _axes_or_new(ax, PLANE_SIZE)
    contour = ax.contourf(alphas, betas, losses, levels=_contour_levels(losses), cmap="viridis")
    ax.figure.colorbar(contour, ax=ax, label=loss_label)
    ax.plot(0, 0, marker="x", color="white", markersize=9, label="W")
    if trajectory is not None and len(trajectory):
        ax.plot(
            trajectory[:, 0],
            trajectory[:, 1],
            color="#E69F00",
            marker=".",
            markersize=3,
            label="optimizer path",
        )
    ax.set(xlabel="a", ylabel="b", title=title or "Loss over a random plane W + a·d1 + b·d2")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def landscape_plane(
    alphas: np.ndarray,
    betas: np.ndarray,
    losses: np.ndarray,
    path: Path,
    trajectory: np.ndarray | None = None,
    title: str = "",
    loss_label: str = "loss",
) -> Path:
    """:func:`plot_landscape_plane` saved as PNG at ``path``."""
    ax = file_axes(PLANE_SIZE)
    plot_landscape_plane(
        alphas, betas, losses, ax=ax, trajectory=trajectory, title=title, loss_label=loss_label
    )
    return save(ax.figure, path)


def _contour_levels(losses: np.ndarray) -> np.ndarray | int:
    """25 quantiles of the finite losses (even colour bands), or a band around one value when
    the plane is flat (contourf needs two distinct levels)."""
    finite = losses[np.isfinite(losses)]
    if not len(finite):
        return 20
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, 25)))
    if len(levels) < 2:
        width = max(abs(float(levels[0])), 1.0) * 1e-6
        levels = np.array([levels[0] - width, levels[0] + width])
    return levels


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    path: Path,
    title: str,
    ylabel: str,
    log: bool = False,
) -> Path:
    """One bar per label (the tour's gradient cost), saved as PNG at ``path``."""
    axes = file_axes((6.5, 3.6))
    axes.bar(range(len(values)), values, color=PALETTE[: len(values)] or PALETTE[0])
    axes.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    axes.set(title=title, ylabel=ylabel)
    if log:
        axes.set_yscale("log")
    axes.grid(alpha=0.3, axis="y")
    return save(axes.figure, path)
