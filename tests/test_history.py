"""History and Budget: columns, headline properties, limits."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

from slopelab.history import Budget, EpochRecord, History, StepRecord


def step(index: int, loss: float, seconds: float = 0.0) -> StepRecord:
    return StepRecord(
        step=index,
        loss=loss,
        data_loss=loss - 0.5,
        reg_loss=0.5,
        learning_rate=0.1 / (index + 1),
        grad_norm=float(index),
        update_ratio=1e-3,
        seconds=seconds,
        evaluations=index + 1,
        examples=25 * (index + 1),
    )


def epoch(number: float, train: float, val: float = math.nan) -> EpochRecord:
    return EpochRecord(
        epoch=number,
        step=int(4 * number),
        train_accuracy=train,
        val_accuracy=val,
        seconds=number,
        evaluations=int(4 * number),
        examples=int(100 * number),
    )


def example_history() -> History:
    steps = [step(i, 3.0 - i, seconds=0.25 * (i + 1)) for i in range(3)]
    return History("sgd", steps=steps, epochs=[epoch(1, 0.5, 0.4), epoch(2, 0.75, 0.6)])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("loss", [3.0, 2.0, 1.0]),
        ("data_loss", [2.5, 1.5, 0.5]),
        ("learning_rate", [0.1, 0.05, 0.1 / 3]),
        ("examples", [25, 50, 75]),
        ("train_accuracy", [0.5, 0.75]),
        ("val_accuracy", [0.4, 0.6]),
        ("epoch", [1.0, 2.0]),
    ],
)
def test_column_reads_one_field_of_every_record(name, expected):
    column = example_history().column(name)
    assert column.dtype == np.float64
    np.testing.assert_array_equal(column, expected)


def test_fields_on_both_records_are_read_from_the_steps():
    """``step``, ``seconds``, ``evaluations``, ``examples`` exist on both records; the column
    is the steps' (the epochs' values are on ``history.epochs``)."""
    history = example_history()
    shared = {f.name for f in fields(StepRecord)} & {f.name for f in fields(EpochRecord)}
    assert shared == {"step", "seconds", "evaluations", "examples"}
    for name in shared:
        assert len(history.column(name)) == len(history.steps)


def test_unknown_column_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown History column 'accuracy'; valid columns are"):
        example_history().column("accuracy")


def test_empty_history_has_empty_columns_and_neutral_totals():
    history = History("random_search")
    assert history.column("loss").shape == (0,) and history.column("epoch").shape == (0,)
    assert math.isnan(history.final_loss)
    assert (history.evaluations, history.examples, history.seconds) == (0, 0, 0.0)
    assert history.status == "completed" and history.params is None


def test_totals_are_those_of_the_last_step():
    history = example_history()
    assert history.final_loss == 1.0
    assert (history.evaluations, history.examples, history.seconds) == (3, 75, 0.75)


@pytest.mark.parametrize(
    ("budget", "used", "exhausted"),
    [
        (Budget(steps=10), {"steps": 9}, False),
        (Budget(steps=10), {"steps": 10}, True),  # the limit counts as reached
        (Budget(epochs=1.5), {"epochs": 1.49}, False),
        (Budget(epochs=1.5), {"epochs": 1.5}, True),
        (Budget(evaluations=3), {"evaluations": 3}, True),
        (Budget(examples=1000), {"examples": 999}, False),
        (Budget(seconds=0.5), {"seconds": 0.6}, True),
        (Budget(steps=100, epochs=2), {"steps": 5, "epochs": 2.0}, True),  # the first wins
        (Budget(steps=100, epochs=2), {"steps": 5, "epochs": 1.0}, False),
    ],
)
def test_budget_is_exhausted_at_the_first_limit_reached(budget, used, exhausted):
    counters = {"steps": 0, "epochs": 0.0, "evaluations": 0, "examples": 0, "seconds": 0.0}
    assert budget.exhausted(**{**counters, **used}) is exhausted


@pytest.mark.parametrize(
    ("limits", "error", "message"),
    [
        ({}, ValueError, r"budget has no limit; set at least one of steps, epochs"),
        ({"steps": 0}, ValueError, r"budget steps must be > 0; got 0"),
        ({"steps": 2.5}, TypeError, r"budget steps must be an integer; got 2.5"),
        ({"evaluations": 1.0}, TypeError, r"budget evaluations must be an integer"),
        ({"epochs": -1}, ValueError, r"budget epochs must be > 0; got -1"),
        ({"seconds": math.inf}, ValueError, r"budget seconds must be > 0; got inf"),
        ({"examples": True}, TypeError, r"budget examples must be a number; got True"),
    ],
)
def test_budget_rejects_missing_or_bad_limits(limits, error, message):
    with pytest.raises(error, match=message):
        Budget(**limits)


def test_fractional_epochs_and_examples_are_allowed():
    assert Budget(epochs=0.5).epochs == 0.5
    assert Budget(examples=1e6).examples == 1e6
