"""The tour chooses on the validation split, reads the test split once, and uses the
regularization each dataset is meant to get."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest

from slopelab.autolr import auto_learning_rate
from slopelab.cli import main
from slopelab.commands import tour as tour_command
from slopelab.data.prepare import data_config, prepare_data
from slopelab.linear import accuracy, init_params, predict_classes
from slopelab.losses import get_loss
from slopelab.optim import OPTIMIZERS
from slopelab.selection import rank_by_validation
from slopelab.tour import (
    DATASET_REG,
    REG,
    TourContext,
    TourSettings,
    default_reg,
    descent_at_rates,
    final_step,
    run_steps,
    step_size_step,
    update_rules_step,
)
from tests.test_cli_experiments import ReadTestSplitError, Untouchable
from tests.test_cli_landscape import svm_loss
from tests.test_data_cifar10 import make_images, write_python

QUICK = ["--tries", "5", "--gd-steps", "2", "--epochs", "1"]
STEPS = ["random_search", "random_local_search", "gradient", "step_size", "batch_size"]


@pytest.fixture(scope="module")
def digits():
    return prepare_data(data_config("digits"))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_cifar10(tmp_path):
    """A CIFAR-10 folder in the real python layout: 5 x 20 training images, 20 test images."""
    train, test = make_images()
    return write_python(tmp_path / "cifar", train, test)


def tour_arguments(**given) -> argparse.Namespace:
    values = {"loss": "svm", "reg": None, "tries": 10, "gd_steps": 10, "epochs": 1, "seed": 0}
    return argparse.Namespace(**{**values, **given})


# --- the regularization each dataset gets -----------------------------------------------------


def test_each_dataset_gets_its_own_regularization_unless_reg_is_given(digits):
    assert default_reg("cifar10") == DATASET_REG["cifar10"] == 5e3
    assert default_reg("digits") == default_reg("mnist") == REG
    cifar = dataclasses.replace(digits, dataset=dataclasses.replace(digits.dataset, name="cifar10"))
    assert tour_command.resolve(tour_arguments(), cifar).reg == 5e3
    assert tour_command.resolve(tour_arguments(), digits).reg == REG
    assert tour_command.resolve(tour_arguments(reg=0.0), cifar).reg == 0.0  # 0 is a value
    assert tour_command.resolve(tour_arguments(reg=0.5), digits).reg == 0.5


def test_tour_on_cifar10_uses_and_records_the_cifar10_regularization(workdir, capsys, fake_cifar10):
    args = ["tour", "--data", "cifar10", "--data-dir", str(fake_cifar10), "--num-val", "10"]
    assert main([*args, *QUICK, "--name", "c"]) == 0
    out = capsys.readouterr().out
    assert "(svm loss, reg 5000)" in out
    config = json.loads((workdir / "runs/c/config.json").read_text())
    assert config["settings"]["reg"] == 5e3
    assert "reg 5000" in (workdir / "runs/c/report.html").read_text()


# --- the test split: read once, for the model selected -----------------------------------------


def test_no_step_reads_the_test_split_before_the_model_is_chosen(digits, tmp_path):
    blind = dataclasses.replace(digits, X_test=Untouchable(), y_test=Untouchable())
    settings = TourSettings(tries=20, gd_steps=5, epochs=1)
    announced = []
    with pytest.raises(ReadTestSplitError):
        run_steps(blind, settings, tmp_path, lambda step: announced.append(step.name))
    assert announced == [*STEPS, "update_rules"]


def test_the_model_is_chosen_on_validation_even_when_the_test_split_disagrees(digits, tmp_path):
    """First pass: rank the update rules. Second pass, same runs: the test labels are now the
    predictions of the rule ranked last, so on the test split that rule is perfect and
    choosing by test accuracy would pick it."""
    settings = TourSettings(epochs=2)
    _, contest = update_rules_step(TourContext(digits, settings, tmp_path, get_loss("svm")))
    worst = contest.ranked[-1]
    rigged = dataclasses.replace(
        digits,
        X_test=digits.X_val,
        y_test=predict_classes(contest.histories[worst].params, digits.X_val),
    )
    context = TourContext(rigged, settings, tmp_path, get_loss("svm"))
    _, again = update_rules_step(context)
    test = {
        rule: accuracy(h.params, rigged.X_test, rigged.y_test)
        for rule, h in again.histories.items()
    }
    best_on_test = {rule for rule, value in test.items() if value == max(test.values())}
    assert worst in best_on_test and again.winner not in best_on_test  # the splits disagree
    assert again.ranked == contest.ranked == rank_by_validation(again.val_accuracy)
    model = final_step(context, again)
    assert model.results["selected"] == again.winner
    assert model.results["test_accuracy"] == test[again.winner]
    assert f"({again.winner}, {again.val_accuracy[again.winner]:.1%})" in model.finding


def test_every_update_rule_of_the_library_is_toured(digits, tmp_path):
    settings = TourSettings(epochs=1)
    step, contest = update_rules_step(TourContext(digits, settings, tmp_path, get_loss("svm")))
    assert set(contest.histories) == set(OPTIMIZERS)
    assert step.results["val_accuracy"] == contest.val_accuracy
    for rule, history in contest.histories.items():
        expected = accuracy(history.params, digits.X_val, digits.y_val)
        assert contest.val_accuracy[rule] == expected


def test_tour_json_reports_the_selection_and_a_test_accuracy_only_for_it(workdir, capsys):
    args = ["tour", "--json", "--tries", "20", "--gd-steps", "5", "--epochs", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    steps = {step["name"]: step for step in json.loads(captured.out)["steps"]}
    rules, model = steps["update_rules"]["results"], steps["model"]["results"]
    assert model["selected"] == rules["selected"] == rank_by_validation(rules["val_accuracy"])[0]
    assert model["val_accuracy"] == rules["val_accuracy"][model["selected"]]
    assert 0.8 < model["test_accuracy"] <= 1
    findings = [step["finding"] for step in steps.values()]
    assert [finding for finding in findings if "test accuracy" in finding] == [
        steps["model"]["finding"]
    ]
    assert np.isfinite(steps["batch_size"]["results"]["val_accuracy"]["full batch"])


# --- loss columns: the full training loss of each final W ---------------------------------------

LOSS_COLUMN = "train loss (full set, final W)"


def full_svm_loss(params, prepared, reg) -> float:
    W, b = params["W"].astype(np.float64), params["b"].astype(np.float64)
    scores = prepared.X_train.astype(np.float64) @ W + b
    return svm_loss(scores, prepared.y_train) + reg * float(np.sum(W**2))


def loss_column(table) -> dict[str, float]:
    headers, rows = table
    column = headers.index(LOSS_COLUMN)
    return {row[0]: float(row[column]) for row in rows}


def test_the_update_rules_table_shows_the_full_training_loss_of_each_final_w(digits, tmp_path):
    """It showed each rule's last minibatch loss, taken before the last update."""
    settings = TourSettings(epochs=1)
    step, contest = update_rules_step(TourContext(digits, settings, tmp_path, get_loss("svm")))
    (table,) = step.section.tables
    for rule, shown in loss_column(table).items():
        expected = full_svm_loss(contest.histories[rule].params, digits, settings.reg)
        assert shown == pytest.approx(expected, rel=1e-3), rule  # printed with 4 digits


def test_gradient_descent_reports_the_loss_after_its_last_step(digits, tmp_path):
    """The table and the finding showed the loss before the last update."""
    settings = TourSettings(gd_steps=5)
    context = TourContext(digits, settings, tmp_path, get_loss("svm"))
    step = step_size_step(context)
    X = digits.X_train
    start = init_params(X.shape[1], 10, np.random.default_rng(settings.seed), dtype=X.dtype)
    histories = descent_at_rates(context, start, auto_learning_rate(X, settings.reg, "sgd"))
    shown = loss_column(step.section.tables[1])
    for label, history in histories.items():
        expected = full_svm_loss(history.params, digits, settings.reg)
        assert shown[label] == pytest.approx(expected, rel=1e-3), label
    auto = next(label for label in histories if label.endswith("(auto)"))
    expected = full_svm_loss(histories[auto].params, digits, settings.reg)
    assert f"reach loss {expected:.3f} and" in step.finding
    assert step.results["val_accuracy"] == context.contest(histories).val_accuracy
