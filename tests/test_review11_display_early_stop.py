"""An early-stopped History shows the validation accuracy of the weights it returns
(review of issue 11).

Early stopping returns the weights of the best epoch, but the display showed the last epoch's
validation accuracy as "validation accuracy" (0.9444 for weights that score 0.9611), the
number a reader takes for the model's.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

import slopelab
from slopelab.display import history_facts


def validation_accuracy(params, X, y) -> float:
    """The oracle: the returned weights scored directly, independent of the History."""
    return float(np.mean(np.argmax(X @ params["W"] + params["b"], axis=1) == y))


@pytest.fixture(scope="module")
def early_stopped():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, val = order[:1400], order[1400:1700]
    for seed in range(20):  # a run whose best epoch is not its last, found by seed
        history = slopelab.sgd(
            slopelab.get_loss("softmax"), X[train], y[train], X_val=X[val], y_val=y[val],
            budget=slopelab.Budget(epochs=60), patience=3, learning_rate=0.5, rng=seed,
        )  # fmt: skip
        last = history.epochs[-1].val_accuracy
        kept = validation_accuracy(history.params, X[val], y[val])
        if history.status == "early_stopped" and not np.isclose(kept, last):
            return history, kept, last
    raise AssertionError("no seed gave an early stop whose best epoch is not the last")


def test_the_facts_name_the_kept_weights_accuracy(early_stopped):
    history, kept, last = early_stopped
    facts = dict(history_facts(history))
    assert "validation accuracy" not in facts
    (name,) = [name for name in facts if name.startswith("validation accuracy of the kept")]
    assert facts[name] == pytest.approx(kept, abs=1e-9)
    assert facts["validation accuracy, last epoch"] == pytest.approx(last, abs=1e-9)
    epoch = float(re.search(r"epoch ([\d.]+)\)", name)[1])
    (record,) = [record for record in history.epochs if record.epoch == epoch]
    assert record.val_accuracy == pytest.approx(kept, abs=1e-9)


def test_the_one_line_repr_gives_the_kept_weights_accuracy(early_stopped):
    history, kept, _ = early_stopped
    shown = re.search(r"val accuracy ([\d.]+) \(kept weights, epoch [\d.]+\)", repr(history))
    assert float(shown[1]) == pytest.approx(kept, abs=5e-4)
    assert "kept weights" in history._repr_html_()
