"""What a notebook shows for a History, a gradient check and a fitted LinearClassifier: the
key numbers (read back from the HTML and compared with the object's own fields), every
user-supplied string escaped, tags balanced, and a short one-line text form."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from IPython.lib.pretty import pretty
from sklearn import config_context

from slopelab import Budget, History, LinearClassifier, check_gradient, sgd
from slopelab.display import SPARK_HEIGHT, SPARK_WIDTH, estimator_summary_html, sparkline
from slopelab.gradcheck_report import TABLE_ROWS, WORST_ROWS
from tests.helpers import digits_split

HOSTILE = '<img src=x onerror="alert(1)">&'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;"
VOID = {"br", "hr", "img", "input", "meta", "link"}


class Page(HTMLParser):
    """Collects the text of every table cell, row by row, the SVG polylines, and checks that
    every tag closes in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.rows: list[list[str]] = []
        self.polylines: list[str] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        self.open.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.cell = []

    def handle_startendtag(self, tag, attrs):
        if tag == "polyline":
            self.polylines.append(dict(attrs)["points"])

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.open == [], f"unclosed tags: {page.open}"
    return page


def facts(page: Page) -> dict[str, str]:
    """The two-column rows (name, value) of the page's tables."""
    return {row[0]: row[1] for row in page.rows if len(row) == 2}


def points(polyline: str) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")] for pair in polyline.split()])


@pytest.fixture(scope="module")
def history() -> History:
    X, X_val, y, y_val = digits_split()
    return sgd(
        "softmax",
        X,
        y,
        budget=Budget(epochs=3),
        batch_size=64,
        rng=0,
        X_val=X_val,
        y_val=y_val,
    )


def quadratic(name: str, scale: float = 2.0):
    """``f(p) = sum(p**2)`` with gradient ``scale * p`` (right for scale 2)."""

    def f(params):
        return float(np.sum(params[name] ** 2)), {name: scale * params[name]}

    return f


def test_history_html_shows_its_own_numbers_and_loss_curve(history):
    page = parse(history._repr_html_())
    shown = facts(page)
    assert shown["status"] == history.status
    assert shown["steps"] == str(len(history.steps))
    assert float(shown["final loss"]) == pytest.approx(history.final_loss, rel=1e-3)
    assert float(shown["validation accuracy"]) == pytest.approx(
        history.epochs[-1].val_accuracy, rel=1e-3
    )
    assert float(shown["train accuracy"]) == pytest.approx(
        history.epochs[-1].train_accuracy, rel=1e-3
    )
    assert shown["examples processed"] == str(history.examples)
    (curve,) = page.polylines
    drawn = points(curve)
    losses = history.column("loss")
    assert len(drawn) == len(losses)
    # SVG's y grows downwards: the lowest point drawn is the largest loss, and so on
    assert int(np.argmax(drawn[:, 1])) == int(np.argmin(losses))
    assert int(np.argmin(drawn[:, 1])) == int(np.argmax(losses))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 3000), elements=st.floats(-1e6, 1e6, width=32)))
def test_a_long_curve_is_drawn_in_few_points_that_keep_its_extremes(values):
    (curve,) = parse(sparkline(values.tolist(), "loss")).polylines
    drawn = points(curve)
    assert len(drawn) <= min(len(values), 2 * SPARK_WIDTH + 2)
    assert np.all(np.diff(drawn[:, 0]) >= 0)  # left to right
    assert drawn[0, 0] == 3.0 and drawn[-1, 0] == SPARK_WIDTH - 3.0  # first and last step
    if values.max() > values.min():  # the highest value at the top, the lowest at the bottom
        assert drawn[:, 1].min() == 3.0 and drawn[:, 1].max() == SPARK_HEIGHT - 3.0


def test_history_text_is_one_short_line_with_status_and_loss(history):
    text = repr(history)
    assert "\n" not in text and len(text) < 120
    assert history.status in text and f"{len(history.steps)} steps" in text
    assert float(re.search(r"final loss ([\d.e+-]+)", text)[1]) == pytest.approx(
        history.final_loss, rel=1e-3
    )
    assert pretty(history) == text


def test_a_run_with_no_steps_still_displays():
    empty = History("random search")
    page = parse(empty._repr_html_())
    assert facts(page)["final loss"] == "nan"
    assert page.polylines == []


def test_history_html_escapes_the_strategy_and_message(history):
    hostile = History(HOSTILE, steps=history.steps, status="diverged", message=HOSTILE)
    html = hostile._repr_html_()
    assert HOSTILE not in html and "<img" not in html
    assert html.count(ESCAPED) == 2
    assert facts(parse(html))["message"] == HOSTILE
    assert HOSTILE in repr(hostile)  # plain text is not HTML: nothing to escape


def test_report_html_has_every_row_with_its_status():
    params = {"W": np.random.default_rng(0).standard_normal((3, 4))}
    report = check_gradient(quadratic("W"), params, mode="all")
    page = parse(report._repr_html_())
    shown = facts(page)
    assert shown["verdict"] == report.verdict and shown["passed"] == str(report.passed)
    assert float(shown["max relative error"]) == pytest.approx(report.max_rel_error, rel=1e-3)
    assert shown["evaluations of f"] == str(report.evaluations)
    rows = [row for row in page.rows if len(row) == 5][1:]
    assert [row[0] for row in rows] == [row.label for row in report.rows]
    assert [row[-1] for row in rows] == [row.status for row in report.rows]


def test_a_wrong_gradient_shows_its_verdict_and_failing_rows():
    params = {"W": np.random.default_rng(1).standard_normal((2, 3))}
    report = check_gradient(quadratic("W", scale=2.5), params, mode="all")
    assert report.verdict == "wrong"
    html = report._repr_html_()
    page = parse(html)
    assert facts(page)["verdict"] == "wrong"
    statuses = [row[-1] for row in page.rows if len(row) == 5][1:]
    assert statuses.count("FAIL") == sum(not row.passed for row in report.rows) > 0
    assert "hint: " in html


def test_a_long_report_shows_the_worst_rows_and_says_so():
    params = {"W": np.random.default_rng(2).standard_normal((10, 8))}
    report = check_gradient(quadratic("W"), params, num_checks=TABLE_ROWS + 15)
    assert len(report.rows) > TABLE_ROWS
    page = parse(report._repr_html_())
    rows = [row for row in page.rows if len(row) == 5][1:]
    assert [row[0] for row in rows] == [row.label for row in report.worst_rows()]
    assert len(rows) == WORST_ROWS
    text = re.sub(r"\s+", " ", report._repr_html_())
    assert f"{len(report.rows)} rows (" in text
    assert f"showing the {WORST_ROWS} closest to failing" in text


def test_report_html_escapes_parameter_names():
    params = {HOSTILE: np.ones(3)}
    report = check_gradient(quadratic(HOSTILE), params, mode="all")
    html = report._repr_html_()
    assert HOSTILE not in html and "<img" not in html
    labels = [row[0] for row in parse(html).rows if len(row) == 5][1:]
    assert labels == [row.label for row in report.rows]


def test_report_text_is_one_line_with_the_verdict():
    report = check_gradient(quadratic("W"), {"W": np.arange(1.0, 5.0)}, mode="all")
    text = repr(report)
    assert "\n" not in text and len(text) < 120
    assert report.verdict in text and f"{len(report.rows)} rows" in text
    assert pretty(report) == text
    assert str(report) == report.to_text()  # the full table is still one print() away


@pytest.fixture(scope="module")
def fitted() -> tuple[LinearClassifier, np.ndarray]:
    X, _, y, _ = digits_split()
    names = np.array([HOSTILE if label == 3 else f"digit {label}" for label in y])
    return LinearClassifier(epochs=4, random_state=0).fit(X, names), names


def test_fitted_estimator_html_adds_its_numbers_below_the_diagram(fitted):
    model, _ = fitted
    bundle = model._repr_mimebundle_()
    html = bundle["text/html"]
    assert html.startswith(model._repr_html_()[:200])  # scikit-learn's diagram comes first
    assert "sk-top-container" in html
    assert bundle["text/plain"] == repr(model)
    summary = estimator_summary_html(model)
    assert html.endswith(summary)
    shown = facts(parse(summary))
    assert shown["epochs (all calls)"] == str(model.n_iter_)
    assert shown["updates (all calls)"] == str(model.t_)
    assert float(shown["learning rate"]) == pytest.approx(model.learning_rate_, rel=1e-3)
    assert float(shown["final epoch mean loss"]) == pytest.approx(model.loss_curve_[-1], rel=1e-3)
    assert shown["classes"].startswith(f"{len(model.classes_)}: ")
    (curve,) = parse(summary).polylines
    assert len(points(curve)) == len(model.loss_curve_)


def test_fitted_estimator_html_escapes_class_names(fitted):
    model, _ = fitted
    html = model._repr_mimebundle_()["text/html"]
    assert HOSTILE not in html and ESCAPED in html


def test_an_unfitted_estimator_shows_only_the_diagram(fitted):
    model, _ = fitted
    fresh = LinearClassifier(epochs=4, random_state=0)
    assert "epochs (all calls)" not in fresh._repr_mimebundle_()["text/html"]
    assert "epochs (all calls)" in model._repr_mimebundle_()["text/html"]


def test_display_text_config_is_respected(fitted):
    model, _ = fitted
    with config_context(display="text"):
        assert not hasattr(model, "_repr_html_")
        assert model._repr_mimebundle_() == {"text/plain": repr(model)}


def test_a_schedule_learning_rate_is_named_not_formatted():
    X, _, y, _ = digits_split()
    model = LinearClassifier(epochs=1, learning_rate=lambda step: 0.1 / (1 + step), random_state=0)
    shown = facts(parse(estimator_summary_html(model.fit(X, y))))
    assert shown["learning rate"] == "a schedule"
    assert math.isfinite(float(shown["final epoch mean loss"]))


def test_the_loss_in_the_estimator_summary_is_the_loss_it_trained_on(fitted):
    """The mean loss of the last epoch is recomputed independently from ``history_``."""
    model, _ = fitted
    shown = facts(parse(estimator_summary_html(model)))
    per_epoch = len(model.history_.steps) // model.n_iter_
    last_epoch = model.history_.column("loss")[-per_epoch:]
    assert float(shown["final epoch mean loss"]) == pytest.approx(last_epoch.mean(), rel=1e-3)
