"""Rich display in Jupyter: the HTML (``_repr_html_``) and short text of a ``History``, a
``GradCheckReport`` and a fitted ``LinearClassifier``.

Standard library only (an inline SVG draws the loss curve), so showing an object costs no
matplotlib import. Every string that may come from the user (a strategy's name, a class
name, a message) goes through :func:`html.escape`; the numbers are the object's own fields,
formatted, never recomputed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slopelab.gradcheck_report import GradCheckReport
    from slopelab.history import History

SPARK_WIDTH, SPARK_HEIGHT = 240, 60
CLASSES_SHOWN = 10
STYLE = "border-collapse:collapse;font-size:0.9em"
CELL = "padding:1px 8px;text-align:left"
VERDICT_COLORS = {
    "excellent": "#009E73",
    "acceptable": "#0072B2",
    "suspicious": "#E69F00",
    "wrong": "#D55E00",
    "non-finite": "#D55E00",
}


def number(value: float) -> str:
    """``0.4123``, ``3.1e-09``, ``nan``: four significant digits."""
    if isinstance(value, int | bool):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"


def sparkline(values: Sequence[float], title: str) -> str:
    """An inline SVG polyline of ``values`` against their index (non-finite values left out),
    ``SPARK_WIDTH`` x ``SPARK_HEIGHT`` pixels, the first and last values written beside it;
    ``""`` with fewer than two finite values. ``title`` becomes its tooltip (escaped). Beyond
    ``SPARK_WIDTH`` values, each pixel column keeps its lowest and highest value (see
    :func:`envelope`), so the HTML stays small and no spike or minimum is lost."""
    points = envelope([(i, float(v)) for i, v in enumerate(values) if math.isfinite(v)])
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span, last = (high - low) or 1.0, max(len(values) - 1, 1)
    pad = 3
    coordinates = " ".join(
        f"{pad + (SPARK_WIDTH - 2 * pad) * i / last:.1f},"
        f"{pad + (SPARK_HEIGHT - 2 * pad) * (high - v) / span:.1f}"
        for i, v in points
    )
    caption = f"{number(points[0][1])} &#8594; {number(points[-1][1])}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_WIDTH}" '
        f'height="{SPARK_HEIGHT}" role="img"><title>{html.escape(title)}</title>'
        f'<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="{coordinates}"/>'
        f'</svg><div style="font-size:0.8em">{html.escape(title)}: {caption}</div>'
    )


def envelope(
    points: list[tuple[int, float]], columns: int = SPARK_WIDTH
) -> list[tuple[int, float]]:
    """``points`` (index, value) as they are when there are at most ``columns`` of them;
    otherwise the first and last point and, for each of ``columns`` runs of consecutive
    points, its lowest and highest point, in index order."""
    if len(points) <= columns:
        return points
    kept = {points[0], points[-1]}
    for column in range(columns):
        run = points[column * len(points) // columns : (column + 1) * len(points) // columns]
        kept |= {min(run, key=lambda p: p[1]), max(run, key=lambda p: p[1])}
    return sorted(kept)


def table(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column HTML table of (name, value); values are escaped (numbers formatted)."""
    cells = "".join(
        f'<tr><th style="{CELL}">{html.escape(name)}</th>'
        f'<td style="{CELL}">{html.escape(_text(value))}</td></tr>'
        for name, value in rows
    )
    return f'<table style="{STYLE}">{cells}</table>'


def _text(value: Any) -> str:
    if isinstance(value, Real) and not isinstance(value, Integral):
        return number(float(value))
    return str(value)


def _box(heading: str, body: str) -> str:
    return f'<div style="display:inline-block"><strong>{heading}</strong>{body}</div>'


def loss_name(history: History) -> str:
    """What ``final_loss`` is: the run's last loss, or, for a run that diverged, the last one
    recorded before it (the diverging step is not recorded; its loss is in the message)."""
    return "loss before it diverged" if history.status == "diverged" else "final loss"


def kept_epoch(history: History) -> Any:
    """The epoch whose weights an early-stopped run returns (its first best validation
    accuracy); None for any other status (a History does not record whether a completed run
    had patience, so its last epoch is shown as it is)."""
    scored = [epoch for epoch in history.epochs if math.isfinite(epoch.val_accuracy)]
    if history.status != "early_stopped" or not scored:
        return None
    return max(scored, key=lambda epoch: epoch.val_accuracy)  # the first of equal ones


def history_facts(history: History) -> list[tuple[str, Any]]:
    """The key numbers of a run, as (name, value), from the History's own fields."""
    facts: list[tuple[str, Any]] = [
        ("strategy", history.strategy),
        ("status", history.status),
        ("steps", len(history.steps)),
        (loss_name(history), history.final_loss),
    ]
    if history.epochs:
        last = history.epochs[-1]
        facts += [("epochs", last.epoch), ("train accuracy", last.train_accuracy)]
        kept = kept_epoch(history)
        if kept is not None:
            facts += [
                (
                    f"validation accuracy of the kept weights (epoch {number(kept.epoch)})",
                    kept.val_accuracy,
                ),
                ("validation accuracy, last epoch", last.val_accuracy),
            ]
        elif math.isfinite(last.val_accuracy):
            facts.append(("validation accuracy", last.val_accuracy))
    facts += [
        ("loss evaluations", history.evaluations),
        ("examples processed", history.examples),
        ("seconds", history.seconds),
    ]
    if history.message:
        facts.append(("message", history.message))
    return facts


def history_html(history: History) -> str:
    """A History as HTML: its key numbers and its loss curve (as measured)."""
    curve = sparkline(history.column("loss").tolist(), "loss per step")
    return _box("History", table(history_facts(history)) + curve)


def history_text(history: History) -> str:
    """``History('sgd', completed, 120 steps, final loss 0.4123, val accuracy 0.93)``."""
    parts = [f"{history.strategy!r}", history.status, f"{len(history.steps)} steps"]
    parts.append(f"{loss_name(history)} {number(history.final_loss)}")
    kept = kept_epoch(history)
    if kept is not None:
        parts.append(
            f"val accuracy {number(kept.val_accuracy)} (kept weights, epoch {number(kept.epoch)})"
        )
    elif history.epochs and math.isfinite(history.epochs[-1].val_accuracy):
        parts.append(f"val accuracy {number(history.epochs[-1].val_accuracy)}")
    return f"History({', '.join(parts)})"


def report_facts(report: GradCheckReport) -> list[tuple[str, Any]]:
    return [
        ("verdict", report.verdict),
        ("passed", report.passed),
        ("max relative error", report.max_rel_error),
        ("rows", len(report.rows)),
        ("kink rows", report.kinks),
        ("mode", report.mode),
        ("h", report.h),
        ("tol", report.tol),
        ("evaluations of f", report.evaluations),
    ]


def report_html(report: GradCheckReport) -> str:
    """A gradient check as HTML: the verdict and its reason, the key numbers, and the rows
    with each one's status (beyond ``TABLE_ROWS`` rows: the rows closest to failing, and the
    counts by status, saying so), then problems, warnings and hints."""
    from slopelab.gradcheck_report import TABLE_ROWS

    color = VERDICT_COLORS.get(report.verdict, "#000000")
    verdict = (
        f'<p><span style="color:{color};font-weight:bold">{html.escape(report.verdict)}'
        f"</span>: {html.escape(report.reason)}</p>"
    )
    rows, note = report.rows, ""
    if len(rows) > TABLE_ROWS:
        rows = report.worst_rows()
        counted = ", ".join(f"{count} {status}" for status, count in report.counts().items())
        note = (
            f"<p>{len(report.rows)} rows ({html.escape(counted)}); showing the {len(rows)} "
            "closest to failing (<code>report.format_table()</code> lists all)</p>"
        )
    notes = [f"not finite: {problem}" for problem in report.problems]
    notes += [f"warning: {warning}" for warning in report.warnings]
    notes += [f"hint: {hint}" for hint in report.hints]
    listed = "".join(f"<li>{html.escape(line)}</li>" for line in notes)
    body = verdict + table(report_facts(report)) + note + _rows_table(rows)
    return _box("GradCheckReport", body + (f"<ul>{listed}</ul>" if listed else ""))


def _rows_table(rows: Sequence[Any]) -> str:
    headings = ("coordinate", "analytic", "numeric", "relative error", "status")
    head = "".join(f'<th style="{CELL}">{name}</th>' for name in headings)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{CELL}">{html.escape(_text(value))}</td>'
            for value in (row.label, row.analytic, row.numeric, row.rel_error, row.status)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table style="{STYLE}"><tr>{head}</tr>{body}</table>'


def report_text(report: GradCheckReport) -> str:
    """``GradCheckReport(excellent, passed, max rel error 3.1e-09, 20 rows, 0 kinks)``."""
    passed = "passed" if report.passed else "failed"
    return (
        f"GradCheckReport({report.verdict}, {passed}, max rel error "
        f"{number(report.max_rel_error)}, {len(report.rows)} rows, {report.kinks} kinks)"
    )


def estimator_facts(estimator: Any) -> list[tuple[str, Any]]:
    """The fitted numbers of a ``LinearClassifier``, from its own fitted attributes."""
    learning_rate = estimator.learning_rate_
    classes = [str(label) for label in estimator.classes_]
    shown = ", ".join(classes[:CLASSES_SHOWN]) + (", ..." if len(classes) > CLASSES_SHOWN else "")
    return [
        ("status", estimator.history_.status),
        ("classes", f"{len(classes)}: {shown}"),
        ("features", estimator.n_features_in_),
        ("epochs (all calls)", estimator.n_iter_),
        ("updates (all calls)", estimator.t_),
        ("learning rate", learning_rate if isinstance(learning_rate, Real) else "a schedule"),
        ("final epoch mean loss", estimator.loss_curve_[-1]),
    ]


def estimator_summary_html(estimator: Any) -> str:
    """A fitted estimator's numbers and its mean training loss per epoch, as HTML."""
    curve = sparkline(estimator.loss_curve_, "mean training loss per epoch")
    return _box("fitted", table(estimator_facts(estimator)) + curve)
