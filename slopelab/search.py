"""The lecture's gradient-free baselines: random search and random local search.

Both propose parameters, evaluate the full training loss (one loss evaluation, N examples), and
keep the proposal only if it beats the best loss so far. They return the same :class:`History`
as the descent strategies; a step is one proposal, and since each processes N examples, one
step is also one epoch.

* **Random search** (strategy #1): ``W = scale * randn(D, C)`` afresh each try, ``scale = 1e-4``.
* **Random local search** (strategy #2): ``W_try = W + step_size * randn(D, C)``, accepted only
  when it lowers the loss (``step_size = 1e-4``, starting from ``W = 1e-3 * randn``).

``sample_size`` makes every loss evaluation use one fixed random sample of that many training
examples (drawn once, first, from ``rng``) instead of all N: a step then processes
``sample_size`` examples. The lecture evaluates all 50,000 CIFAR-10 images 1,000 times; a fixed
sample of 2,000 keeps its 1,000 tries to seconds (:data:`COMMAND_SAMPLE_SIZE`, what ``compare`` and
``tour`` use) and reaches the lecture's accuracies (README). Training accuracy is still measured on
all N examples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.history import Budget, EpochRecord, History, StepRecord
from slopelab.linear import as_generator, init_params
from slopelab.losses import Loss
from slopelab.problem import Problem, make_problem
from slopelab.validation import check_params, check_positive

Params = dict[str, np.ndarray]
Proposal = Callable[[Params, np.random.Generator], Params]
COMMAND_SAMPLE_SIZE = 2000  # examples per search loss evaluation in compare and tour


def command_sample_size(num_examples: int) -> int:
    """The examples a search evaluates the loss on in ``compare`` and ``tour``: all of a small
    training set, a fixed sample of 2,000 of a larger one.

    >>> command_sample_size(1293), command_sample_size(49000)
    (1293, 2000)
    """
    return min(num_examples, COMMAND_SAMPLE_SIZE)


def random_search(
    loss: Loss | str,
    X: Any,
    y: Any,
    *,
    budget: Budget,
    reg: float = 0.0,
    scale: float = 1e-4,
    sample_size: int | None = None,
    rng: np.random.Generator | int | None = None,
    X_val: Any = None,
    y_val: Any = None,
    eval_every: int | None = None,
) -> History:
    """Try independent random parameters ``W = scale * randn(D, C)``, ``b = scale * randn(C)``,
    keeping the one with the lowest training loss (on ``sample_size`` examples if given)."""
    check_positive(scale, "scale")
    problem = make_problem(loss, X, y, X_val, y_val)
    generator = as_generator(rng)
    sample = fixed_sample(problem, sample_size, generator)
    num_features, num_classes = problem.X.shape[1], problem.num_classes
    dtype = problem.X.dtype

    def propose(_: Params, generator: np.random.Generator) -> Params:
        W = scale * generator.standard_normal((num_features, num_classes))
        b = scale * generator.standard_normal(num_classes)
        return {"W": W.astype(dtype), "b": b.astype(dtype)}

    start = {"W": np.zeros((num_features, num_classes), dtype), "b": np.zeros(num_classes, dtype)}
    return _search(
        "random_search",
        problem,
        sample,
        budget,
        reg,
        start,
        propose,
        generator,
        eval_every,
        move_ratio=False,
    )


def random_local_search(
    loss: Loss | str,
    X: Any,
    y: Any,
    *,
    budget: Budget,
    reg: float = 0.0,
    step_size: float = 1e-4,
    params: Params | None = None,
    sample_size: int | None = None,
    rng: np.random.Generator | int | None = None,
    X_val: Any = None,
    y_val: Any = None,
    eval_every: int | None = None,
) -> History:
    """From ``params`` (default ``W = 1e-3 * randn``, ``b = 0``), try ``W + step_size * randn``
    (and the same for ``b``) and move only when the training loss (on ``sample_size`` examples
    if given) goes down."""
    check_positive(step_size, "step_size")
    problem = make_problem(loss, X, y, X_val, y_val)
    generator = as_generator(rng)
    sample = fixed_sample(problem, sample_size, generator)
    num_features, num_classes = problem.X.shape[1], problem.num_classes
    if params is None:
        params = init_params(num_features, num_classes, generator, dtype=problem.X.dtype)
    params = check_params(params, num_features, num_classes)

    def propose(current: Params, generator: np.random.Generator) -> Params:
        return {
            name: (value + step_size * generator.standard_normal(value.shape)).astype(value.dtype)
            for name, value in current.items()
        }

    return _search(
        "random_local_search",
        problem,
        sample,
        budget,
        reg,
        params,
        propose,
        generator,
        eval_every,
        move_ratio=True,
    )


def fixed_sample(
    problem: Problem, sample_size: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of ``sample_size`` training examples drawn without replacement (in their
    original order), or all of them for None or N, drawing nothing from ``rng`` then (so a run
    on all examples is the same whichever way it was asked for)."""
    if sample_size is None:
        return problem.X, problem.y
    check_positive(sample_size, "sample_size", integer=True)
    if sample_size > problem.num_examples:
        raise InvalidValueError(
            f"sample_size {sample_size} is more than the {problem.num_examples} training "
            f"examples; use at most {problem.num_examples}, or None for all of them"
        )
    if sample_size == problem.num_examples:
        return problem.X, problem.y
    rows = np.sort(rng.choice(problem.num_examples, size=sample_size, replace=False))
    return problem.X[rows], problem.y[rows]


def _search(
    strategy: str,
    problem: Problem,
    sample: tuple[np.ndarray, np.ndarray],
    budget: Budget,
    reg: float,
    params: Params,
    propose: Proposal,
    rng: np.random.Generator,
    eval_every: int | None,
    move_ratio: bool,
) -> History:
    """Propose, evaluate on ``sample``, keep if better; until the budget is spent."""
    check_positive(reg, "reg", allow_zero=True)
    if eval_every is not None:
        check_positive(eval_every, "eval_every", integer=True)
    history = History(strategy)
    best_params, best_loss, best_parts = params, math.inf, (math.nan, math.nan)
    steps, seconds = 0, 0.0
    X, y = sample
    per_step = len(y)

    while not budget.exhausted(
        steps=steps,
        epochs=steps * per_step / problem.num_examples,
        evaluations=steps,
        examples=steps * per_step,
        seconds=seconds,
    ):
        started = time.perf_counter()
        candidate = propose(best_params, rng)
        data_loss, reg_loss = problem.loss.evaluate(candidate, X, y, reg)
        candidate_loss = float(data_loss + reg_loss)
        accepted = candidate_loss < best_loss
        ratio = _move_ratio(best_params, candidate) if (move_ratio and accepted) else 0.0
        if accepted:
            best_params, best_loss = candidate, candidate_loss
            best_parts = (float(data_loss), float(reg_loss))
        seconds += time.perf_counter() - started
        steps += 1
        history.steps.append(
            StepRecord(
                step=steps - 1,
                loss=best_loss,
                data_loss=best_parts[0],
                reg_loss=best_parts[1],
                learning_rate=math.nan,
                grad_norm=math.nan,
                update_ratio=ratio if move_ratio else math.nan,
                seconds=seconds,
                evaluations=steps,
                examples=steps * per_step,
            )
        )
        if eval_every is not None and steps % eval_every == 0:
            history.epochs.append(_epoch_record(problem, best_params, steps, per_step, seconds))

    if not history.epochs or history.epochs[-1].step != steps:
        history.epochs.append(_epoch_record(problem, best_params, steps, per_step, seconds))
    history.params = best_params
    where = "" if per_step == problem.num_examples else f" on a fixed sample of {per_step} examples"
    history.message = f"best training loss {best_loss:.4g}{where} after {steps} loss evaluations"
    return history


def _move_ratio(old: Params, new: Params) -> float:
    """``||W_new - W_old|| / ||W_old||``, the update-to-weight ratio of an accepted move."""
    weight_norm = float(np.linalg.norm(old["W"]))
    step_norm = float(np.linalg.norm(new["W"] - old["W"]))
    return step_norm / weight_norm if weight_norm > 0 else math.inf


def _epoch_record(
    problem: Problem, params: Params, steps: int, per_step: int, seconds: float
) -> EpochRecord:
    train, val = problem.accuracies(params)
    return EpochRecord(
        epoch=steps * per_step / problem.num_examples,
        step=steps,
        train_accuracy=train,
        val_accuracy=val,
        seconds=seconds,
        evaluations=steps,
        examples=steps * per_step,
    )
