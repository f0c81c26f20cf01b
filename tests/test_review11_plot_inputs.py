"""The plot functions refuse labels and shapes they would draw wrongly (review of issue 11).

numpy indexing took a label -1 as the last class and broadcast one prediction over every true
label, so ``plot_confusion_matrix`` showed counts that were not the data's, without an error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from slopelab import plots
from slopelab.errors import InvalidValueError


def new_axes():
    return Figure().add_subplot()


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([-1, -1, 1, 1], [-1, 1, 1, 1], r"y_true holds -1 at position 0, outside 0\.\.1"),
        ([0, 1, 1, 0], [0, 2, 1, 0], r"y_pred holds 2 at position 1, outside 0\.\.1"),
        ([0, 1, 1, 0], [1], r"y_true has 4 labels and y_pred 1"),
        ([0.0, 1.0], [0, 1], r"y_true must hold class indices 0\.\.1 \(integers\); got dtype"),
        (["a", "b"], ["a", "b"], r"np\.searchsorted\(model\.classes_, labels\)"),
        ([[0, 1]], [[0, 1]], r"y_true must be a 1-D array of labels; got shape \(1, 2\)"),
    ],
)
def test_labels_that_are_not_class_indices_are_refused(y_true, y_pred, message):
    with pytest.raises(InvalidValueError, match=message):
        plots.plot_confusion_matrix(np.array(y_true), np.array(y_pred), ["a", "b"], ax=new_axes())


@settings(max_examples=50, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_the_drawn_counts_are_the_pairs_counted(pairs):
    y_true = np.array([true for true, _ in pairs])
    y_pred = np.array([pred for _, pred in pairs])
    ax = plots.plot_confusion_matrix(y_true, y_pred, list("abcd"), ax=new_axes())
    drawn = np.asarray(ax.images[0].get_array())
    for true in range(4):
        for pred in range(4):
            assert drawn[true, pred] == pairs.count((true, pred))


@pytest.mark.parametrize(
    ("shape", "names", "message"),
    [
        ((8, 8, 3), list("0123456789"), r"image_shape \(8, 8, 3\) holds 192 values but W has 64"),
        ((8,), list("0123456789"), r"image_shape \(height, width\[, channels\]\)"),
        ((8, 8), list("012"), r"W has 10 columns \(classes\) but class_names has 3 names"),
    ],
)
def test_weight_templates_refuse_shapes_that_do_not_fit(shape, names, message):
    with pytest.raises(InvalidValueError, match=message):
        plots.plot_weight_templates(np.zeros((64, 10)), shape, names, ax=new_axes())


def test_weight_templates_take_height_and_width_for_one_channel():
    W = np.arange(64 * 2, dtype=float).reshape(64, 2)
    ax = plots.plot_weight_templates(W, (8, 8), ["a", "b"], ax=new_axes())
    first = np.asarray(ax.child_axes[0].images[0].get_array())
    assert first.shape == (8, 8)
    np.testing.assert_allclose(first, (W[:, 0].reshape(8, 8) - W.min()) / (W.max() - W.min()))
