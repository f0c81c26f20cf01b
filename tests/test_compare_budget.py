"""``slopelab compare``: each dataset's default budget is the one it gets, the budget line says
what every strategy got, and accuracy is measured only as often as the curves need."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.cli import main
from slopelab.commands import compare
from slopelab.commands.compare_budget import budget_line, compare_budget
from slopelab.history import Budget
from slopelab.search import random_search
from slopelab.train import gradient_descent, sgd
from tests.test_data_cifar10 import make_images, write_python


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def budget_args(**given) -> argparse.Namespace:
    values = {"epochs": None, "evaluations": None, "seconds": None, "batch_size": 200}
    return argparse.Namespace(**{**values, **given})


# --- the default each dataset gets ---------------------------------------------------------------

# Written out by hand: the searches' tries times a sample of at most 2,000 examples.
DEFAULTS = {
    ("cifar10", 49000): (2_000_000, 2000),  # the lecture's 1,000 tries
    ("cifar10", 39000): (2_000_000, 2000),  # the dev copy (four training batches)
    ("cifar10", 90): (90_000, 90),
    ("digits", 1293): (258_600, 1293),  # 200 tries on all of it: 200 epochs
    ("mnist", 59000): (400_000, 2000),
}


@pytest.mark.parametrize(("dataset", "num_examples"), sorted(DEFAULTS))
def test_each_dataset_gets_its_default_budget(dataset, num_examples):
    examples, sample = DEFAULTS[dataset, num_examples]
    plan = compare_budget(budget_args(), dataset, num_examples, list(compare.STRATEGIES))
    assert plan.budget == Budget(examples=examples)
    assert plan.search_sample == sample


def test_the_cifar10_budget_line_says_what_each_strategy_gets():
    plan = compare_budget(budget_args(), "cifar10", 49000, list(compare.STRATEGIES))
    assert plan.text == (
        "2,000,000 examples each (40.8 epochs of 49,000): the searches 1,000 loss evaluations "
        "on a fixed random sample of 2,000 training examples, gradient descent 41 full-batch "
        "steps (2,009,000 examples, whole steps), minibatch SGD 10,000 steps of 200"
    )
    assert plan.headline == "2,000,000 examples each (40.8 epochs of 49,000)"


def test_the_line_names_only_the_kinds_of_strategy_that_run():
    plan = compare_budget(budget_args(epochs=2.0), "digits", 1293, ["sgd", "sgd+adam"])
    assert plan.text == "2,586 examples each (2 epochs of 1,293): minibatch SGD 14 steps of 200"


@pytest.fixture
def fake_cifar10(tmp_path):
    train, test = make_images()
    return write_python(tmp_path / "cifar", train, test)


def test_compare_on_cifar10_runs_the_cifar10_default_and_says_so(workdir, capsys, fake_cifar10):
    """Through the command: 1,000 tries of the 90 training examples, and as many examples for
    SGD; a per-dataset default that is never read fails here."""
    args = ["compare", "--data", "cifar10", "--data-dir", str(fake_cifar10), "--num-val", "10"]
    code = main([*args, "--json", "--strategies", "random-search,sgd", "--name", "c"])
    captured = capsys.readouterr()
    assert code == 0
    document = json.loads(captured.out)
    assert {row["examples_processed"] for row in document["strategies"]} == {90_000}
    evaluations = {row["name"]: row["evaluations"] for row in document["strategies"]}
    assert evaluations == {"random-search": 1000, "sgd": 1000}
    line = (
        "90,000 examples each (1,000 epochs of 90): the searches 1,000 loss evaluations on all "
        "90 training examples, minibatch SGD 1,000 steps of 90"
    )
    assert document["budget"] == line and f"budget: {line}\n" in captured.err
    assert "svm loss, l2 penalty, reg 0.0001\n" in captured.err  # the lecture's loss
    config = json.loads((workdir / "runs/c/config.json").read_text())
    assert config["budget"] == line and config["search_sample"] == 90
    assert config["loss"] == "svm"


@pytest.mark.parametrize(("flags", "loss"), [([], "softmax"), (["--loss", "svm-ova"], "svm-ova")])
def test_compare_elsewhere_minimises_softmax_unless_told(workdir, capsys, flags, loss):
    args = ["compare", "--epochs", "1", "--strategies", "sgd", "--name", "d", *flags]
    assert main(args) == 0
    assert f"{loss} loss, l2 penalty" in capsys.readouterr().out
    assert json.loads((workdir / "runs/d/config.json").read_text())["loss"] == loss


# --- the line tells the truth ------------------------------------------------------------------

SEARCH = ["random-search", "gradient-descent"]
BUDGETS = st.one_of(
    st.builds(lambda e: budget_args(epochs=e), st.floats(0.05, 6.0)),
    st.builds(lambda n: budget_args(evaluations=n), st.integers(1, 40)),
)


def counted(pattern: str, text: str) -> int:
    return int(re.search(pattern, text).group(1).replace(",", ""))


@settings(max_examples=25, deadline=None)
@given(
    args=BUDGETS,
    num_examples=st.integers(5, 60),
    batch=st.integers(1, 70),
    sample=st.integers(1, 60),
)
def test_the_budget_line_counts_what_each_strategy_then_does(args, num_examples, batch, sample):
    sample = min(sample, num_examples)
    args.batch_size = batch
    if args.epochs is not None and round(args.epochs * num_examples) < 1:
        return
    rng = np.random.default_rng(0)
    X = rng.standard_normal((num_examples, 3))
    y = np.arange(num_examples) % 3
    budget = compare_budget(args, "digits", num_examples, list(compare.STRATEGIES)).budget
    text = budget_line(budget, num_examples, min(batch, num_examples), sample, ["sgd", *SEARCH])
    searched = random_search("svm", X, y, budget=budget, sample_size=sample, rng=0)
    descended = gradient_descent("svm", X, y, budget=budget, learning_rate=1e-3)
    stochastic = sgd("svm", X, y, budget=budget, batch_size=batch, learning_rate=1e-3, rng=0)
    if budget.evaluations is not None:
        assert counted(r"^([\d,]+) loss evaluations each", text) == searched.evaluations
        assert counted(r"searches on .*? \(([\d,]+) examples\)", text) == searched.examples
        assert counted(r"gradient descent .*?\(([\d,]+) examples\)", text) == descended.examples
        assert counted(r"minibatch SGD .*?\(([\d,]+) examples\)", text) == stochastic.examples
    else:
        assert counted(r"searches ([\d,]+) loss evaluations", text) == searched.evaluations
        assert counted(r"gradient descent ([\d,]+) full-batch", text) == len(descended.steps)
        assert counted(r"minibatch SGD ([\d,]+) steps", text) == len(stochastic.steps)
    assert counted(r"minibatch SGD [\d,]+ steps of (\d+)", text) == min(batch, num_examples)


# --- accuracy only as often as needed ----------------------------------------------------------


def test_each_strategy_measures_accuracy_about_ten_times(workdir, capsys, monkeypatch):
    """It measured every epoch: 200 times per SGD rule by default on digits, a full pass over
    CIFAR-10's training set each time."""
    seen = {}

    def recording(name, run):
        def wrapped(*args, **kwargs):
            seen[name] = run(*args, **kwargs)
            return seen[name]

        return wrapped

    for name in ("sgd", "gradient_descent", "random_search", "random_local_search"):
        monkeypatch.setattr(compare, name, recording(name, getattr(compare, name)))
    strategies = "random-search,random-local-search,gradient-descent,sgd"
    assert main(["compare", "--no-progress", "--strategies", strategies]) == 0
    for name, history in seen.items():
        assert 10 <= len(history.epochs) <= 11, name
        assert history.epochs[-1].step == len(history.steps), name  # the last one is measured
