"""The tour's words, from hand-built results: every number a finding or table shows is the one
measured, and the searches say where their loss was evaluated. No training, no matplotlib."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from slopelab.gradcheck_report import GradCheckReport
from slopelab.history import History, StepRecord
from slopelab.tour_gradient import GradientResult, WorkedExample
from slopelab.tour_measure import (
    BatchSizeResult,
    Contest,
    ModelResult,
    SearchResult,
    StepSizeResult,
    UpdateRulesResult,
)
from slopelab.tour_report import (
    batch_size_step,
    gradient_step,
    local_search_step,
    model_step,
    random_search_step,
    step_size_step,
    update_rules_step,
)

FIGURE = Path("figure.png")


def history(name: str, steps: int, status: str = "completed", seconds: float = 1.0) -> History:
    records = [
        StepRecord(i, 2.0, 2.0, 0.0, 0.1, 1.0, 1e-3, seconds * (i + 1) / steps, i + 1, 10 * i)
        for i in range(steps)
    ]
    return History(name, steps=records, status=status)


def contest(val: dict[str, float], loss: dict[str, float], steps: dict[str, int]) -> Contest:
    histories = {name: history(name, steps[name]) for name in val}
    ranked = sorted(val, key=lambda name: -val[name])
    return Contest(histories, val, loss, ranked)


def search(val: float, loss: float, sample: int, num_examples: int) -> SearchResult:
    return SearchResult(history("search", 3), 1000, sample, num_examples, val, loss)


# --- the searches --------------------------------------------------------------------------------


def test_a_search_on_a_sample_says_so_in_its_finding_and_section():
    result = search(0.1534, 9.12345, 2000, 49000)
    step = random_search_step(result, FIGURE, chance=0.1)
    assert step.finding == (
        "random search: 15.3% validation accuracy after 1000 tries (chance 10%), each on a fixed "
        "random sample of 2,000 of the 49,000 training examples; best training data loss 9.123"
    )
    assert "a fixed random sample of 2,000 of the 49,000" in step.section.paragraphs[0]
    assert step.results == {
        "val_accuracy": 0.1534,
        "best_training_loss": 9.12345,
        "sample_size": 2000,
    }


def test_a_search_on_all_examples_says_nothing_about_a_sample():
    step = random_search_step(search(0.208, 8.995, 1293, 1293), FIGURE, chance=0.1)
    assert step.finding == (
        "random search: 20.8% validation accuracy after 1000 tries (chance 10%); "
        "best training data loss 8.995"
    )
    assert "sample" not in step.finding and "sample" not in step.section.paragraphs[0]


def test_the_local_search_is_compared_with_the_random_search():
    local, searched = search(0.2141, 8.1, 2000, 49000), search(0.155, 9.0, 2000, 49000)
    step = local_search_step(local, searched, FIGURE)
    assert step.finding == (
        "random local search: 21.4% validation accuracy after 1000 loss evaluations, each on a "
        "fixed random sample of 2,000 of the 49,000 training examples (random search: 15.5%)"
    )
    assert step.results["final_training_loss"] == 8.1 and step.figures == [FIGURE]


# --- the gradient -------------------------------------------------------------------------------


def check(error: float, verdict: str, kinks: int = 0) -> GradCheckReport:
    return GradCheckReport(
        (), error, verdict == "excellent", verdict, "", (), kinks, 1e-5, "sampled", 1e-7, 21
    )


@pytest.mark.parametrize("estimated", [False, True])
def test_the_gradient_finding_shows_the_costs_and_both_checks(estimated):
    example = WorkedExample((3, 7), 1e-4, 9.0, 8.99, -100.0)
    result = GradientResult(
        500, 0.002, 4.0, 30731, estimated, example, check(2.5e-9, "excellent"),
        check(0.6, "wrong", kinks=2), 0.1,
    )  # fmt: skip
    step = gradient_step(result, FIGURE)
    assert step.finding == (
        f"gradient: numerical 30731 loss evaluations {'(estimated) ' if estimated else ''}4 s vs "
        "analytic 2 ms (2,000x faster); check: max rel error 2.5e-09 (excellent); the demo's "
        "0.5*reg*W bug is caught (wrong)"
    )
    worked, cost = step.section.paragraphs[:2]
    assert "moving W[3, 7] by h = 0.0001 gives 8.99000" in worked
    assert "(8.99000 - 9.00000) / 0.0001 = -100.0000" in worked
    assert "30,731 evaluations here for 30,730 parameters" in cost
    assert ("extrapolated" in cost) == estimated
    (table,) = step.section.tables
    assert table[1] == [
        ["our gradient", "2.50e-09", 0, "excellent"],
        ["0.5*reg*W bug", "6.00e-01", 2, "wrong"],
    ]


def test_the_worked_example_slope_is_the_forward_difference():
    assert WorkedExample((0, 0), 1e-4, 2.0, 2.0003, 3.0).slope == pytest.approx(3.0)


# --- step size -------------------------------------------------------------------------------

RATES = {"lr 0.001": 0.30, "lr 0.01 (auto)": 0.35, "lr 0.03": 0.34, "lr 0.1": math.nan}


def step_size_result(one_step) -> StepSizeResult:
    runs = contest(RATES, {"lr 0.001": 2.5, "lr 0.01 (auto)": 1.23456, "lr 0.03": 1.3,
                           "lr 0.1": math.nan}, dict.fromkeys(RATES, 25))  # fmt: skip
    runs.histories["lr 0.1"].status = "diverged"
    return StepSizeResult(9.0, 0.0123, tuple(one_step), 25, runs, "lr 0.01 (auto)")


def test_the_best_one_step_size_ignores_losses_that_are_not_finite():
    result = step_size_result([(1e-3, 8.0), (1e-2, 7.5), (1e-1, math.nan), (1.0, math.inf)])
    assert result.best_one_step == (1e-2, 7.5)
    assert result.diverged == ["lr 0.1"]


def test_the_step_size_finding_reads_the_auto_run_and_names_the_diverged():
    step = step_size_step(step_size_result([(1e-3, 8.0), (1e-2, 7.5), (1.0, math.inf)]), FIGURE)
    assert step.finding == (
        "gradient descent: from loss 9.000 one step is best at step size 0.01 (loss 7.500); 25 "
        "steps at the auto rate 0.0123 reach loss 1.235 and 35.0% validation accuracy; lr 0.1 "
        "diverged"
    )
    sweep, runs = step.section.tables
    assert sweep[1] == [["0.001", "8"], ["0.01", "7.5"], ["1", "inf"]]
    assert runs[1][1] == ["lr 0.01 (auto)", "completed", "1.235", "35.0%"]
    assert runs[1][3] == ["lr 0.1", "diverged", "nan", "nan%"]
    assert step.results["selected"] == "lr 0.01 (auto)"
    assert step.results["one_step"][1] == {"step_size": 1e-2, "loss": 7.5}


# --- batch size, update rules, the model --------------------------------------------------------


def test_the_batch_size_finding_names_the_winner_and_the_full_batch():
    val = {"batch 8": 0.30, "batch 32": 0.36, "full batch": 0.25}
    runs = contest(
        val, dict.fromkeys(val, 1.5), {"batch 8": 600, "batch 32": 150, "full batch": 10}
    )
    step = batch_size_step(BatchSizeResult(10, runs), FIGURE)
    assert step.finding == (
        "minibatch SGD, 10 epochs each: batch 32 reaches the best validation accuracy, 36.0% "
        "(150 updates); full batch 25.0% (10 updates)"
    )
    assert step.section.tables[0][1][1] == ["batch 32", 150, "1.5", "36.0%", "1.00"]


def test_the_update_rules_are_listed_in_rank_order_with_their_rates():
    val = {"sgd": 0.38, "adam": 0.36, "momentum": 0.385}
    runs = contest(val, {"sgd": 1.0, "adam": 2.0, "momentum": 0.9}, dict.fromkeys(val, 5))
    rates = {"sgd": 1e-7, "adam": 1e-2, "momentum": 9e-8}
    step = update_rules_step(UpdateRulesResult(10, 200, runs, rates), FIGURE)
    assert step.finding == (
        "update rules, 10 epochs, by validation accuracy: momentum 38.5%, sgd 38.0%, adam 36.0%"
    )
    assert [row[:2] for row in step.section.tables[0][1]] == [
        ["momentum", "9e-08"], ["sgd", "1e-07"], ["adam", "0.01"],
    ]  # fmt: skip


def test_the_model_finding_is_the_only_one_with_a_test_accuracy():
    result = ModelResult("sgd", 0.4, 0.391, np.zeros((3, 2)), np.zeros(4, int), np.zeros(4, int))
    step = model_step(result, [(FIGURE, "confusion")], chance=0.1)
    assert step.finding == (
        "the model selected on validation accuracy (sgd, 40.0%) reaches 39.1% test accuracy "
        "(chance 10%)"
    )
    assert step.results == {"selected": "sgd", "val_accuracy": 0.4, "test_accuracy": 0.391}
