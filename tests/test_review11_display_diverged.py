"""A diverged History does not show its last recorded loss as its final loss (review of issue 11).

The diverging step is not recorded, so ``final_loss`` of a diverged run is the loss before it
blew up (2.306 for a run whose loss reached 4.9e+04): shown as "final loss", it read as where
the run ended.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import slopelab


@pytest.fixture(scope="module")
def diverged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20)) * 10
    y = rng.integers(0, 3, size=200)
    history = slopelab.sgd(
        slopelab.get_loss("softmax"),
        X,
        y,
        budget=slopelab.Budget(steps=50),
        learning_rate=1e4,
        rng=0,
    )
    assert history.status == "diverged"
    return history


def test_the_text_names_the_loss_before_divergence(diverged):
    text = repr(diverged)
    assert "final loss" not in text
    shown = float(re.search(r"loss before it diverged ([\d.e+-]+)", text)[1])
    assert shown == pytest.approx(diverged.final_loss, rel=1e-3)


def test_the_html_names_the_loss_before_divergence_and_keeps_the_message(diverged):
    page = diverged._repr_html_()
    assert "final loss" not in page
    assert "loss before it diverged" in page
    assert "loss diverged at step" in page


def test_a_completed_run_still_shows_its_final_loss():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 2, size=50)
    history = slopelab.sgd(slopelab.get_loss("svm"), X, y, budget=slopelab.Budget(steps=3), rng=0)
    assert history.status == "completed"
    assert "final loss" in repr(history) and "final loss" in history._repr_html_()
