"""Figures with labels the font cannot draw (class names in Chinese or Japanese): no warning per
character, a footnote in the figure instead; other warnings still come through."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from slopelab import plots

NAMES = ["日本", "中文", "cat"]


def footnotes(monkeypatch) -> list[list[str]]:
    """The texts each saved figure carries beside its axes."""
    texts = []
    real_render = plots._render

    def render(figure):
        texts.append([text.get_text() for text in figure.texts])
        return real_render(figure)

    monkeypatch.setattr(plots, "_render", render)
    return texts


def test_class_names_the_font_lacks_are_drawn_without_warnings(tmp_path, monkeypatch):
    """matplotlib printed 'UserWarning: Glyph 26085 ... missing from font(s)' with its source
    line for every character during slopelab train (pytest turns it into an error)."""
    texts = footnotes(monkeypatch)
    y = np.array([0, 1, 2, 2])
    plots.confusion_matrix(y, y, NAMES, tmp_path / "confusion.png")
    plots.weight_templates(np.ones((12, 3)), (2, 2, 3), NAMES, tmp_path / "weights.png")
    assert (tmp_path / "confusion.png").read_bytes().startswith(b"\x89PNG")
    assert plots.MISSING_GLYPH_NOTE in texts[-1]


def test_labels_the_font_has_get_no_footnote(tmp_path, monkeypatch):
    texts = footnotes(monkeypatch)
    y = np.array([0, 1, 2, 2])
    plots.confusion_matrix(y, y, ["cat", "dog", "élan"], tmp_path / "confusion.png")
    assert texts == [[]]


def test_other_warnings_of_a_figure_still_come_through(tmp_path, monkeypatch):
    real_render = plots._render

    def render(figure):
        warnings.warn("something else went wrong", RuntimeWarning, stacklevel=1)
        return real_render(figure)

    monkeypatch.setattr(plots, "_render", render)
    figure, axes = plt.subplots()
    axes.set_title("日本")
    with pytest.warns(RuntimeWarning, match="something else went wrong"):
        plots.save(figure, tmp_path / "figure.png")
