"""The class-region grid the demo page draws (issue 10, defect 11 made it 200 x 200 and built its
string with numpy instead of a Python join): every character is the argmax of the scores at its
cell's centre, rows from the top, for every class count the API allows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.losses import get_loss
from slopelab.web.compute import evaluate
from slopelab.web.convert import Setup
from slopelab.web.models import MAX_CLASSES, MAX_GRID, MIN_CLASSES


def expected_classes(W: np.ndarray, b: np.ndarray, size: int) -> str:
    """The oracle: scores at each cell centre of [-1, 1]^2, row by row from the top."""
    rows = []
    for row in range(size):
        x1 = 1 - (row + 0.5) * 2 / size
        for column in range(size):
            x0 = -1 + (column + 0.5) * 2 / size
            scores = x0 * W[0] + x1 * W[1] + b  # (C,)
            rows.append(str(int(np.argmax(scores))))
    return "".join(rows)


@settings(max_examples=25, deadline=None)
@given(
    num_classes=st.integers(MIN_CLASSES, MAX_CLASSES),
    size=st.sampled_from([1, 2, 7, 50, MAX_GRID]),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_grid_character_is_the_predicted_class_at_its_cell_centre(num_classes, size, seed):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(2, num_classes)), rng.normal(size=num_classes)
    X = rng.uniform(-1, 1, size=(num_classes, 2))
    setup = Setup(X, np.arange(num_classes), num_classes, get_loss("svm"), 0.1)
    grid = evaluate(setup, {"W": W, "b": b}, grid_size=size)["grid"]
    assert grid == {"size": size, "classes": expected_classes(W, b, size)}
