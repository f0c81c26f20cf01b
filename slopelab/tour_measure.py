"""The tour's measurements: one function per step of the lecture, each returning a small frozen
dataclass of what it measured. No words and no figures here (see :mod:`slopelab.tour_report`).

Runs are compared on the validation split only (a :class:`Contest`); the test split is read once,
by :func:`measure_model`, for the one model selected (see :mod:`slopelab.selection`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from slopelab.autolr import auto_learning_rate
from slopelab.data.prepare import Prepared
from slopelab.history import Budget, History
from slopelab.linear import accuracy, init_params, predict_classes
from slopelab.losses import get_loss, training_loss
from slopelab.optim import OPTIMIZERS
from slopelab.search import random_local_search, random_search
from slopelab.selection import rank_by_validation
from slopelab.train import gradient_descent, sgd

Params = dict[str, np.ndarray]
BATCH_SIZES = (8, 32, 128, 512)  # the minibatch step also runs the full batch
UPDATE_RULES_BATCH_SIZE = 200
RATE_FACTORS = (0.1, 1.0, 3.0, 10.0)  # gradient descent at these multiples of the auto rate
# The lecture's searches minimise the data loss L alone (its L has no regularization term). With
# a penalty a local search mostly shrinks W: at reg 5e3 on mean-centred CIFAR-10 it stayed at 11%.
SEARCH_REG = 0.0


@dataclass(frozen=True)
class TourSettings:
    """Every knob of a tour. ``search_sample``: examples per search loss evaluation (None: all)."""

    loss: str = "svm"
    reg: float = 1e-4
    tries: int = 1000
    gd_steps: int = 100
    epochs: int = 10
    dev_size: int = 500
    seed: int = 0
    search_sample: int | None = None


@dataclass(frozen=True)
class Contest:
    """Runs on one budget, ranked by validation accuracy (ties keep the order they ran in), and
    the full training loss at each run's final parameters."""

    histories: dict[str, History]
    val_accuracy: dict[str, float]
    training_loss: dict[str, float]
    ranked: list[str]

    @property
    def winner(self) -> str:
        return self.ranked[0]

    def results(self) -> dict[str, Any]:
        return {"val_accuracy": self.val_accuracy, "ranked": self.ranked, "selected": self.winner}


@dataclass(frozen=True)
class SearchResult:
    """A search's run: ``tries`` loss evaluations on ``sample_size`` of the ``num_examples``
    training examples; ``training_loss`` is the data loss of its W on all of them."""

    history: History
    tries: int
    sample_size: int
    num_examples: int
    val_accuracy: float
    training_loss: float


@dataclass(frozen=True)
class StepSizeResult:
    """The lecture's sweep (the loss after one step of each size from ``start_loss``), then
    ``gd_steps`` of full-batch descent at multiples of the curvature rate ``auto_rate``."""

    start_loss: float
    auto_rate: float
    one_step: tuple[tuple[float, float], ...]
    gd_steps: int
    runs: Contest
    auto_label: str

    @property
    def best_one_step(self) -> tuple[float, float]:
        """The step size with the lowest finite loss after one step, and that loss."""
        return min(self.one_step, key=lambda pair: pair[1] if math.isfinite(pair[1]) else math.inf)

    @property
    def diverged(self) -> list[str]:
        return [label for label, h in self.runs.histories.items() if h.status == "diverged"]


@dataclass(frozen=True)
class BatchSizeResult:
    """Minibatch SGD at each batch size (and the full batch) for ``epochs`` epochs each."""

    epochs: int
    runs: Contest


@dataclass(frozen=True)
class UpdateRulesResult:
    """Every update rule at its default rate, ``epochs`` epochs of batches of ``batch_size``."""

    epochs: int
    batch_size: int
    runs: Contest
    learning_rates: dict[str, float]


@dataclass(frozen=True)
class ModelResult:
    """The model selected on validation accuracy and its one test measurement."""

    selected: str
    val_accuracy: float
    test_accuracy: float
    W: np.ndarray
    y_test: np.ndarray
    predicted: np.ndarray


def contest(prepared: Prepared, settings: TourSettings, histories: dict[str, History]) -> Contest:
    """Rank ``histories`` by validation accuracy; the training loss of each final W beside."""
    loss = get_loss(settings.loss)
    val, train = {}, {}
    for name, history in histories.items():
        val[name] = accuracy(history.params, prepared.X_val, prepared.y_val)
        train[name] = training_loss(
            loss, history.params, prepared.X_train, prepared.y_train, settings.reg
        )
    return Contest(histories, val, train, rank_by_validation(val))


def measure_search(prepared: Prepared, settings: TourSettings, local: bool) -> SearchResult:
    """Random search (``local`` False) or random local search, ``settings.tries`` loss
    evaluations of the data loss alone (:data:`SEARCH_REG`)."""
    strategy = random_local_search if local else random_search
    history = strategy(
        settings.loss,
        prepared.X_train,
        prepared.y_train,
        budget=Budget(evaluations=settings.tries),
        reg=SEARCH_REG,
        sample_size=settings.search_sample,
        rng=settings.seed,
        X_val=prepared.X_val,
        y_val=prepared.y_val,
        eval_every=max(1, settings.tries // 20),
    )
    num_examples = len(prepared.y_train)
    data_loss = training_loss(
        get_loss(settings.loss), history.params, prepared.X_train, prepared.y_train, SEARCH_REG
    )
    return SearchResult(
        history,
        settings.tries,
        settings.search_sample or num_examples,
        num_examples,
        accuracy(history.params, prepared.X_val, prepared.y_val),
        data_loss,
    )


def measure_step_size(prepared: Prepared, settings: TourSettings) -> StepSizeResult:
    """From one CS231n-initialized W: the loss after one step of size 10^k for nine k around
    the auto rate, then full-batch descent at each of :data:`RATE_FACTORS` times it."""
    X, y, loss = prepared.X_train, prepared.y_train, get_loss(settings.loss)
    rng = np.random.default_rng(settings.seed)
    params = init_params(X.shape[1], prepared.dataset.num_classes, rng, dtype=X.dtype)
    start = loss.parts(params, X, y, settings.reg)
    auto = auto_learning_rate(X, settings.reg, "sgd")
    one_step = one_step_losses(prepared, settings, params, start.grads, auto)
    histories = descent_at_rates(prepared, settings, params, auto)
    auto_label = next(label for label in histories if label.endswith("(auto)"))
    runs = contest(prepared, settings, histories)
    return StepSizeResult(
        float(start.total), auto, tuple(one_step), settings.gd_steps, runs, auto_label
    )


def one_step_losses(
    prepared: Prepared, settings: TourSettings, params: Params, grads: Params, auto: float
) -> list[tuple[float, float]]:
    """The lecture's sweep: the loss after one step of size 10^k from ``params``."""
    X, y, loss = prepared.X_train, prepared.y_train, get_loss(settings.loss)
    centre = math.floor(math.log10(auto))
    losses = []
    for exponent in range(centre - 5, centre + 4):
        size = 10.0**exponent
        moved = {"W": params["W"] - size * grads["W"], "b": params["b"] - size * grads["b"]}
        losses.append((size, float(sum(loss.evaluate(moved, X, y, settings.reg)))))
    return losses


def descent_at_rates(
    prepared: Prepared, settings: TourSettings, params: Params, auto: float
) -> dict[str, History]:
    """Full-batch gradient descent from ``params`` at each of :data:`RATE_FACTORS` times the
    auto rate, labelled ``lr RATE`` (``(auto)`` for the auto rate itself)."""
    histories = {}
    for factor in RATE_FACTORS:
        rate = auto * factor
        label = f"lr {rate:.3g}" + (" (auto)" if factor == 1.0 else "")
        histories[label] = gradient_descent(
            settings.loss,
            prepared.X_train,
            prepared.y_train,
            budget=Budget(steps=settings.gd_steps),
            reg=settings.reg,
            learning_rate=rate,
            params=params,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
            eval_every=max(1, settings.gd_steps // 10),
        )
    return histories


def batch_sizes(num_examples: int) -> list[int]:
    """The minibatch sizes the tour compares, smaller than the data, then the full batch."""
    return [size for size in BATCH_SIZES if size < num_examples] + [num_examples]


def minibatch_run(
    prepared: Prepared, settings: TourSettings, batch_size: int, optimizer: str = "sgd"
) -> History:
    """Minibatch SGD with ``optimizer`` at its auto rate for ``settings.epochs`` epochs, from
    the tour's seed: every minibatch run of the tour starts the same way."""
    return sgd(
        settings.loss,
        prepared.X_train,
        prepared.y_train,
        budget=Budget(epochs=settings.epochs),
        reg=settings.reg,
        optimizer=optimizer,
        learning_rate="auto",
        batch_size=batch_size,
        rng=settings.seed,
        X_val=prepared.X_val,
        y_val=prepared.y_val,
    )


def measure_batch_sizes(prepared: Prepared, settings: TourSettings) -> BatchSizeResult:
    """Minibatch SGD at the auto rate, ``settings.epochs`` epochs at each of :func:`batch_sizes`
    (the last one labelled ``full batch``), from the same seed."""
    num_examples = len(prepared.y_train)
    histories = {}
    for size in batch_sizes(num_examples):
        label = "full batch" if size == num_examples else f"batch {size}"
        histories[label] = minibatch_run(prepared, settings, batch_size=size)
    return BatchSizeResult(settings.epochs, contest(prepared, settings, histories))


def measure_update_rules(prepared: Prepared, settings: TourSettings) -> UpdateRulesResult:
    """Every update rule of the library at its default (auto) rate, from the same start on the
    same batches."""
    histories = {}
    for rule in OPTIMIZERS:
        histories[rule] = minibatch_run(
            prepared, settings, batch_size=UPDATE_RULES_BATCH_SIZE, optimizer=rule
        )
    rates = {rule: history.steps[0].learning_rate for rule, history in histories.items()}
    batch = min(UPDATE_RULES_BATCH_SIZE, len(prepared.y_train))
    return UpdateRulesResult(settings.epochs, batch, contest(prepared, settings, histories), rates)


def measure_model(prepared: Prepared, rules: Contest) -> ModelResult:
    """The one use of the test split: the model of the rule ranked first on validation."""
    selected = rules.winner
    params = rules.histories[selected].params
    return ModelResult(
        selected,
        rules.val_accuracy[selected],
        accuracy(params, prepared.X_test, prepared.y_test),
        params["W"],
        prepared.y_test,
        predict_classes(params, prepared.X_test),
    )
