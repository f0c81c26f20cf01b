"""Gradient descent and minibatch SGD: one training loop for both.

Every step reads top to bottom: sample a batch, evaluate the loss and its gradient, ask the
update rule for an update, apply it, record. Full-batch gradient descent is the same loop with
the whole training set as the batch.

Batches: ``sampling="shuffle"`` (default) visits a fresh permutation every epoch, the last batch
of an epoch holding the remainder; ``"replacement"`` draws every batch independently with
replacement, as the CS231n assignment does (an "epoch" is then ``ceil(N / batch_size)`` steps).

Cost: a step is one gather of the batch into a preallocated buffer, the two matrix products
``X_b W`` and ``X_b^T dS`` and a few operations on (B, C) and (D, C) arrays; per epoch it adds
one pass over the validation split (when accuracy is due). The training accuracy recorded per
epoch is the running accuracy of the epoch's batches, from the scores the loss computed anyway,
so no step ever scores the whole training set again. ``benchmarks/bench_speed.py`` measures an
epoch against the two products alone.

Sparse ``X`` (CSR, :mod:`slopelab.sparse`): a batch is a new CSR of its rows' nonzeros (no
buffer), the two products are sparse, and ``W`` stays dense: every step still updates all
``D x C`` weights (no lazy or scaled updates), which ``benchmarks/bench_sparse.py`` measures
against the sparse work.

Averaged SGD (``average``, Polyak & Juditsky 1992, "Acceleration of stochastic approximation by
averaging"; Ruppert 1988): from update ``t0 = average`` on, the loop keeps the running mean of the
iterates ``W_t`` (the parameters after ``t`` updates), ``Wbar += (W_t - Wbar) / (t - t0 + 1)``.
The mean is the model: ``History.params``, the early-stopping choice and the validation
accuracy use it, while the updates go on from the raw iterate (``History.raw_params``).
``average=True`` starts at the first update. scikit-learn's ``SGDClassifier(average=k)`` counts
examples seen; here ``k`` counts updates.

The elastic-net penalty's L1 part is handled by a soft-thresholding step after every update (see
:mod:`slopelab.regularization`), so weights reach exactly 0.0; ``History.sparsity`` reports the
fraction of them.

The loop's whole position lives in a :class:`DescentState` (parameters, optimizer state, counters,
the current epoch's permutation), so a run can be checkpointed and resumed exactly: the RNG is the
only other state, and it is passed in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from slopelab.autolr import resolve_learning_rate
from slopelab.errors import InvalidValueError
from slopelab.history import Budget, EpochRecord, History, StepRecord
from slopelab.linear import as_generator, init_params
from slopelab.losses import Loss, proximal_loss
from slopelab.optim import Optimizer, add_updates, get_optimizer
from slopelab.problem import Problem, is_streamed, make_problem
from slopelab.regularization import l1_weight, soft_threshold
from slopelab.sparse import is_sparse
from slopelab.validation import check_choice, check_params, check_positive
from slopelab.weights import check_sample_weight, normalized_weights

if TYPE_CHECKING:
    from slopelab.distributed import Reducer

Params = dict[str, np.ndarray]
SAMPLINGS = ("shuffle", "replacement")


@dataclass
class DescentState:
    """Where a descent run is; everything a checkpoint needs besides the RNG."""

    params: Params
    opt_state: Any
    step: int = 0
    batch_in_epoch: int = 0
    epochs_done: int = 0
    order: np.ndarray | None = None
    evaluations: int = 0
    examples: int = 0
    seconds: float = 0.0
    start_loss: float | None = None
    best_val_accuracy: float = -math.inf
    best_params: Params | None = None
    stale_epochs: int = 0
    epoch_correct: int = 0  # training examples classified right so far this epoch (running)
    epoch_scored: int = 0  # training examples scored so far this epoch
    status: str = "running"  # or how the run ended: completed, early_stopped, diverged, ...
    message: str = ""
    average: Params | None = None  # averaged SGD: the running mean of the iterates so far
    averaged: int = 0  # how many iterates the mean holds


@dataclass(frozen=True)
class DescentConfig:
    """The knobs of one descent run (validated by :func:`descend`)."""

    reg: float = 0.0
    batch_size: int | None = 200
    sampling: str = "shuffle"
    eval_every: int | None = 1
    patience: int | None = None
    divergence_factor: float = 100.0
    strategy: str = "sgd"
    average: int | None = None  # averaged SGD from this update on (see average_start)


def sgd(
    loss: Loss | str,
    X: Any,
    y: Any,
    *,
    budget: Budget,
    reg: float = 0.0,
    optimizer: Optimizer | str = "sgd",
    learning_rate: Any = None,
    optimizer_params: Mapping[str, Any] | None = None,
    batch_size: int = 200,
    sampling: str = "shuffle",
    rng: np.random.Generator | int | None = None,
    params: Params | None = None,
    X_val: Any = None,
    y_val: Any = None,
    patience: int | None = None,
    eval_every: int | None = 1,
    divergence_factor: float = 100.0,
    sample_weight: Any = None,
    average: bool | int = False,
) -> History:
    """Minibatch stochastic gradient descent.

    Each step takes ``batch_size`` examples, computes ``grad L_batch(W)`` and applies the update
    rule (plain SGD: ``W <- W - learning_rate * grad``). ``patience`` (epochs) turns on early
    stopping on validation accuracy, restoring the best parameters. ``optimizer_params`` are the
    other knobs of a rule given by name, e.g. ``{"momentum": 0.95}`` (``"auto"`` accounts for
    them). ``sample_weight`` (N,) weights the examples: the loss is the weighted mean
    ``sum_i w_i L_i / sum_i w_i + reg R(W)``, each batch an unbiased estimate of it
    (:mod:`slopelab.weights`).
    ``average`` (True, or the update ``t0 >= 1`` to start from) turns on averaged SGD:
    ``history.params`` is then the mean of the iterates ``W_t, t >= t0`` and
    ``history.raw_params`` the last iterate.
    """
    config = DescentConfig(
        reg,
        batch_size,
        sampling,
        eval_every,
        patience,
        divergence_factor,
        average=average_start(average),
    )
    problem = make_problem(loss, X, y, X_val, y_val)
    problem.sample_weight = _training_weights(sample_weight, problem)
    optimizer = resolve_optimizer(
        optimizer, learning_rate, problem.X, reg, optimizer_params, problem=problem
    )
    return descend(problem, optimizer, config, budget, as_generator(rng), params)


def gradient_descent(
    loss: Loss | str,
    X: Any,
    y: Any,
    *,
    budget: Budget,
    reg: float = 0.0,
    optimizer: Optimizer | str = "sgd",
    learning_rate: Any = None,
    optimizer_params: Mapping[str, Any] | None = None,
    params: Params | None = None,
    X_val: Any = None,
    y_val: Any = None,
    patience: int | None = None,
    eval_every: int | None = 10,
    divergence_factor: float = 100.0,
    rng: np.random.Generator | int | None = None,
    sample_weight: Any = None,
) -> History:
    """Full-batch gradient descent: every step uses the gradient over all N examples.

    One step is one epoch, so ``eval_every`` counts steps here. ``rng`` only initializes the
    parameters when ``params`` is not given. ``sample_weight`` (N,) weights the examples: the
    loss is ``sum_i w_i L_i / sum_i w_i + reg R(W)``, so an integer weight k gives the same
    iterates as the row repeated k times.
    """
    config = DescentConfig(
        reg, None, "shuffle", eval_every, patience, divergence_factor, strategy="gradient_descent"
    )
    problem = make_problem(loss, X, y, X_val, y_val)
    problem.sample_weight = _training_weights(sample_weight, problem)
    optimizer = resolve_optimizer(
        optimizer, learning_rate, problem.X, reg, optimizer_params, problem=problem
    )
    return descend(problem, optimizer, config, budget, as_generator(rng), params)


def _training_weights(sample_weight: Any, problem: Problem) -> np.ndarray | None:
    """Checked weights normalized to mean 1 over the training set, or None."""
    if sample_weight is None:
        return None
    return normalized_weights(check_sample_weight(sample_weight, problem.num_examples))


def resolve_optimizer(
    optimizer: Optimizer | str,
    learning_rate: Any = None,
    X: np.ndarray | None = None,
    reg: float = 0.0,
    hyperparams: Mapping[str, Any] | None = None,
    *,
    problem: Problem | None = None,
) -> Optimizer:
    """An Optimizer object from a name, a learning rate (None: the rule's default; ``"auto"``:
    from the curvature of ``X``, see ``slopelab.autolr``; ``problem`` tells it the penalty and
    the number of classes) and the rule's other hyperparameters; or the Optimizer object as
    given."""
    if isinstance(optimizer, str):
        hyperparams = dict(hyperparams or {})
        if "learning_rate" in hyperparams:
            raise InvalidValueError(
                "optimizer_params must not hold learning_rate; pass it as learning_rate"
            )
        if X is not None:
            penalty = problem.loss.penalty_name if problem is not None else "l2"
            classes = problem.num_classes if problem is not None else None
            weights = problem.sample_weight if problem is not None else None
            l1_ratio = problem.loss.l1_ratio if problem is not None else 0.15
            learning_rate = resolve_learning_rate(
                learning_rate,
                X,
                reg,
                optimizer,
                hyperparams,
                penalty=penalty,
                num_classes=classes,
                sample_weight=weights,
                l1_ratio=l1_ratio,
            )
        return get_optimizer(optimizer, learning_rate=learning_rate, **hyperparams)
    if learning_rate is not None or hyperparams:
        raise InvalidValueError(
            "learning_rate and optimizer_params are part of the Optimizer object; "
            "pass the object or a name with them, not both"
        )
    return optimizer


def average_start(average: Any) -> int | None:
    """The update averaging starts from: None for ``False``/0 (no averaging), 1 for ``True``,
    ``average`` itself for a whole number >= 1."""
    if isinstance(average, (bool, np.bool_)):
        return 1 if average else None
    if isinstance(average, (int, np.integer)) and average >= 0:
        return int(average) or None
    raise InvalidValueError(
        "average must be True, False or the update to start averaging from (a whole number "
        f">= 1; 0 turns averaging off); got {average!r}"
    )


def steps_per_epoch(num_examples: int, batch_size: int | None) -> int:
    """Updates in one pass over ``N`` examples: ``ceil(N / min(batch_size, N))``, the last batch
    holding the remainder; 1 for the full batch (``batch_size`` None).

    >>> steps_per_epoch(1437, 200), steps_per_epoch(1437, 5000), steps_per_epoch(1437, None)
    (8, 1, 1)
    """
    if batch_size is None or batch_size >= num_examples:
        return 1
    return -(-num_examples // batch_size)


def start_state(
    problem: Problem, optimizer: Optimizer, rng: np.random.Generator, params: Params | None = None
) -> DescentState:
    """Fresh state: given or CS231n-initialized parameters and the optimizer's initial state."""
    num_features = problem.X.shape[1]
    if params is None:
        params = init_params(num_features, problem.num_classes, rng, dtype=problem.X.dtype)
    else:
        params = check_params(params, num_features, problem.num_classes)
    return DescentState(params=params, opt_state=optimizer.init(params))


# A loss that overflows is what divergence detection is for: the loop reports it (status
# "diverged", a message, the last finite parameters), so numpy's warnings would only be noise.
@np.errstate(over="ignore", invalid="ignore")
def descend(
    problem: Problem,
    optimizer: Optimizer,
    config: DescentConfig,
    budget: Budget,
    rng: np.random.Generator,
    params: Params | None = None,
    state: DescentState | None = None,
    history: History | None = None,
    on_step: Callable[[DescentState, History], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
    reducer: Reducer | None = None,
) -> History:
    """Run the loop until the budget is spent, the loss diverges, or early stopping fires.

    ``state``/``history`` continue an earlier run (resume); ``on_step`` is called after every
    step (progress bars, checkpoints); ``stop_requested`` is polled before every step so an
    interrupt leaves a consistent state. ``reducer`` (:class:`slopelab.distributed.Reducer`,
    None for one process): this rank evaluates its shard of every global batch and the reducer
    combines the ranks' loss and gradient into the global batch's; ``stop_requested`` must then
    answer alike on every rank (``reducer.agreed_stop``).
    """
    _check_config(config, problem)
    if reducer is not None and problem.sample_weight is not None:
        raise InvalidValueError("sample_weight is not supported with several processes (MPI)")
    state = state if state is not None else start_state(problem, optimizer, rng, params)
    if config.average is None:  # averaging off (or turned off): the model is the iterate
        state.average, state.averaged = None, 0
    history = history if history is not None else History(config.strategy)
    num_examples = problem.num_examples
    batch_size = num_examples if config.batch_size is None else min(config.batch_size, num_examples)
    batches_per_epoch = steps_per_epoch(num_examples, config.batch_size)
    last_good_params = state.params
    if state.status == "early_stopped":  # a resumed run that already ended: nothing to add
        _finish(history, state, state.status, state.message)
        return history
    # The first update goes through the rule's checks; later ones have the same keys and
    # shapes by construction, so they skip them: the checks cost more than a small step.
    update = optimizer.update
    first_step = state.step
    batch_rows = _batch_buffer(problem, config, batch_size)
    loss = proximal_loss(problem.loss)
    l1_strength = config.reg * l1_weight(loss.penalty_name, loss.l1_ratio)

    while not _spent(budget, state, num_examples):
        if stop_requested is not None and stop_requested():
            _finish(history, state, "interrupted", f"interrupted at step {state.step}")
            return history
        started = time.perf_counter()
        X_batch, y_batch, w_batch = _next_batch(
            problem, state, config, rng, batch_size, batch_rows, reducer
        )
        parts = _loss_parts(loss, state, X_batch, y_batch, config.reg, reducer, w_batch)
        loss_value = float(parts.total)
        grad_norm = gradient_norm(parts.grads)
        if _diverged(loss_value, grad_norm, state, config):
            _stop_diverged(history, state, optimizer, parts, grad_norm, config.reg)
            history.params = last_good_params
            return history
        last_good_params = state.params
        learning_rate = float(optimizer.learning_rate(state.step))
        updates, opt_state = update(parts.grads, state.opt_state, state.params)
        if state.step == first_step and optimizer.unchecked_update is not None:
            update = optimizer.unchecked_update
        new_params = add_updates(state.params, updates)
        if l1_strength:
            new_params = {
                **new_params,
                "W": soft_threshold(new_params["W"], learning_rate * l1_strength),
            }
        state.seconds += time.perf_counter() - started

        history.steps.append(
            _step_record(state, parts, grad_norm, learning_rate, updates, len(y_batch))
        )
        state.params, state.opt_state = new_params, opt_state
        state.step += 1
        if config.average is not None and state.step >= config.average:
            _add_to_average(state)
        state.batch_in_epoch += 1
        if state.batch_in_epoch == batches_per_epoch:
            state.batch_in_epoch = 0
            state.epochs_done += 1
            if _epoch_end(problem, config, state, history):
                break
        if on_step is not None:
            on_step(state, history)

    _record_final_epoch(problem, state, history)
    if history.status != "early_stopped":
        _finish(history, state, "completed", f"budget spent after {state.step} steps")
    return history


def _add_to_average(state: DescentState) -> None:
    """``Wbar += (W_t - Wbar) / n`` for the ``n``-th averaged iterate; the first is copied."""
    state.averaged += 1
    if state.average is None or state.averaged == 1:
        state.average = {key: value.copy() for key, value in state.params.items()}
        state.averaged = 1
        return
    count = state.averaged
    state.average = {
        key: mean + (state.params[key] - mean) / count for key, mean in state.average.items()
    }


def model_params(state: DescentState) -> Params:
    """The parameters the run's model is: the average of the iterates once averaging has
    started, the current iterate otherwise."""
    return state.average if state.average is not None else state.params


def _check_config(config: DescentConfig, problem: Problem) -> None:
    check_positive(config.reg, "reg", allow_zero=True)
    if config.batch_size is not None:
        check_positive(config.batch_size, "batch_size", integer=True)
    check_choice(config.sampling, "sampling", SAMPLINGS)
    if config.eval_every is not None:
        check_positive(config.eval_every, "eval_every", integer=True)
    check_positive(config.divergence_factor, "divergence_factor")
    if is_streamed(problem.X):
        problem.X.check_sampling(config.batch_size, config.sampling)
    if config.patience is not None:
        check_positive(config.patience, "patience", integer=True)
        if problem.X_val is None:
            raise InvalidValueError(
                "patience (early stopping) needs a validation split; pass X_val and y_val"
            )


def _spent(budget: Budget, state: DescentState, num_examples: int) -> bool:
    return budget.exhausted(
        steps=state.step,
        epochs=state.examples / num_examples,
        evaluations=state.evaluations,
        examples=state.examples,
        seconds=state.seconds,
    )


def _batch_buffer(problem: Problem, config: DescentConfig, batch_size: int) -> np.ndarray | None:
    """One ``(batch_size, D)`` array that every minibatch is gathered into: no allocation, and
    no page faults on fresh memory, per step. None when a batch is the whole training set (a
    buffer would be a second copy of it)."""
    if config.batch_size is None or batch_size >= problem.num_examples or is_sparse(problem.X):
        return None  # a sparse batch is a new CSR of the batch's nonzeros, O(nnz) per step
    return np.empty((batch_size, problem.X.shape[1]), dtype=problem.X.dtype)


def _gather(X: np.ndarray, indices: np.ndarray, buffer: np.ndarray | None) -> np.ndarray:
    """``X[indices]``, written into ``buffer`` when there is one. ``mode="clip"`` because the
    indices are in range by construction, and numpy buffers ``out`` for ``mode="raise"``. Sparse
    ``X`` (CSR) gathers its rows' nonzeros into a new CSR, in the order of ``indices``."""
    if is_streamed(X):
        return X.read(indices, buffer)
    if buffer is None:
        return X[indices]
    rows = buffer[: len(indices)]
    np.take(X, indices, axis=0, out=rows, mode="clip")
    return rows


def _next_batch(
    problem: Problem,
    state: DescentState,
    config: DescentConfig,
    rng: np.random.Generator,
    batch_size: int,
    buffer: np.ndarray | None = None,
    reducer: Reducer | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The next batch's rows, labels and weights (None when the problem has none)."""
    weights = problem.sample_weight
    num_examples = problem.num_examples
    if batch_size == num_examples and config.batch_size is None:
        indices = None
    elif config.sampling == "replacement":
        indices = rng.integers(0, num_examples, size=batch_size)
    else:
        if state.batch_in_epoch == 0:
            state.order = (
                problem.X.epoch_order(state.epochs_done)  # streamed: block shuffle, own seed
                if is_streamed(problem.X)
                else rng.permutation(num_examples)
            )
        start = state.batch_in_epoch * batch_size
        indices = state.order[start : start + batch_size]
    state.evaluations += 1
    if indices is None:
        state.examples += num_examples
        if reducer is None:  # the whole set as it is (slicing a sparse X would copy it)
            return problem.X, problem.y, weights
        rows = reducer.shard(num_examples)
        return problem.X[rows], problem.y[rows], None
    state.examples += len(indices)
    if reducer is not None:  # every rank drew the same global batch: gather only this shard
        indices = indices[reducer.shard(len(indices))]
    batch_weights = None if weights is None else weights[indices]
    return _gather(problem.X, indices, buffer), problem.y[indices], batch_weights


def _diverged(
    loss_value: float, grad_norm: float, state: DescentState, config: DescentConfig
) -> bool:
    if state.start_loss is None and math.isfinite(loss_value):
        state.start_loss = loss_value
    if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
        return True
    return loss_value > config.divergence_factor * max(state.start_loss, 1.0)


def gradient_norm(grads: Params) -> float:
    """``sqrt(sum of every squared gradient entry)``; inf or NaN when an entry overflowed."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def _norm(array: np.ndarray) -> float:
    return math.sqrt(float(np.vdot(array, array)))


def _loss_parts(
    loss: Loss,
    state: DescentState,
    X_batch: np.ndarray,
    y_batch: np.ndarray,
    reg: float,
    reducer: Reducer | None,
    w_batch: np.ndarray | None = None,
) -> Any:
    """The batch's loss parts, its examples added to the running accuracy; with a reducer,
    those of the global batch whose shard this rank holds. With weights (normalized to mean 1
    over the training set) the batch loss is ``(1/n) sum_i w_i L_i``, an unbiased estimate of
    the weighted mean over the training set (:mod:`slopelab.weights`)."""
    if reducer is not None:
        return reducer.loss_parts(loss, state, X_batch, y_batch, reg)
    if w_batch is None:  # the unweighted call, as custom losses that predate weights take it
        parts = loss.parts(state.params, X_batch, y_batch, reg)
    else:
        parts = loss.parts(state.params, X_batch, y_batch, reg, w_batch)
    _count_correct(state, parts.scores, y_batch)
    return parts


def _count_correct(state: DescentState, scores: np.ndarray, y_batch: np.ndarray) -> None:
    """Add the batch to the epoch's running training accuracy, from the scores the loss already
    computed (no extra pass over the training set)."""
    state.epoch_correct += int(np.count_nonzero(scores.argmax(axis=1) == y_batch))
    state.epoch_scored += len(y_batch)


def _stop_diverged(
    history: History,
    state: DescentState,
    optimizer: Optimizer,
    parts: Any,
    grad_norm: float,
    reg: float,
) -> None:
    rate = optimizer.learning_rate(state.step)
    _finish(history, state, "diverged", divergence_message(state, parts, grad_norm, reg, rate))


def divergence_message(
    state: DescentState, parts: Any, grad_norm: float, reg: float, rate: float
) -> str:
    """Why the run stopped, naming the term that is not finite and what to change."""
    data_loss, reg_loss = float(parts.data_loss), float(parts.reg_loss)
    loss_value = data_loss + reg_loss
    if state.start_loss is None or state.step == 0:  # before any update: not the rate's fault
        where = "at the first step, before any update"
        if math.isfinite(data_loss) and not math.isfinite(reg_loss):
            return (
                f"the regularization term reg * R(W) is {reg_loss} {where}: reg={reg:g} is too "
                "large for float arithmetic; use a smaller reg"
            )
        quantity = (
            f"the loss is {data_loss}"
            if not math.isfinite(data_loss)
            else f"the gradient is {grad_norm} (the loss is {loss_value:.4g})"
        )
        return (
            f"{quantity} {where}: the features or the starting weights are too large for float "
            "arithmetic; scale the features (standardize them) or start from smaller weights"
        )
    if not math.isfinite(loss_value) or math.isfinite(grad_norm):
        return (
            f"loss diverged at step {state.step} (loss {loss_value:.4g}, started at "
            f"{state.start_loss:.4g}); try a smaller learning rate than {rate:.3g}"
        )
    return (
        f"the gradient overflowed at step {state.step} (loss {loss_value:.4g}); try a smaller "
        f"learning rate than {rate:.3g}, or scale the features"
    )


def _step_record(
    state: DescentState,
    parts: Any,
    grad_norm: float,
    learning_rate: float,
    updates: Params,
    batch_examples: int,
) -> StepRecord:
    weight_norm = _norm(state.params["W"])
    update_norm = _norm(updates["W"])
    ratio = update_norm / weight_norm if weight_norm > 0 else math.inf
    return StepRecord(
        step=state.step,
        loss=float(parts.total),
        data_loss=float(parts.data_loss),
        reg_loss=float(parts.reg_loss),
        learning_rate=learning_rate,
        grad_norm=grad_norm,
        update_ratio=ratio,
        seconds=state.seconds,
        evaluations=state.evaluations,
        examples=state.examples,
    )


def _epoch_end(
    problem: Problem, config: DescentConfig, state: DescentState, history: History
) -> bool:
    """Record accuracy when due; return True when early stopping ends the run."""
    due = config.eval_every is not None and state.epochs_done % config.eval_every == 0
    if not due and config.patience is None:
        return False
    record = _epoch_record(problem, state)
    history.epochs.append(record)
    if config.patience is None:
        return False
    if record.val_accuracy > state.best_val_accuracy:
        state.best_val_accuracy = record.val_accuracy
        state.best_params = model_params(state)
        state.stale_epochs = 0
        return False
    state.stale_epochs += 1
    if state.stale_epochs < config.patience:
        return False
    message = (
        f"early stop after epoch {state.epochs_done}: validation accuracy has not improved on "
        f"{state.best_val_accuracy:.4f} for {config.patience} epochs"
    )
    _finish(history, state, "early_stopped", message)
    return True


def _epoch_record(problem: Problem, state: DescentState) -> EpochRecord:
    """Accuracies at the end of an epoch (or of the run): the running training accuracy of the
    epoch's batches, each scored by the parameters it was about to update (free: the loss had
    the scores already), and the accuracy of the current parameters on the whole validation
    split. Starts the next epoch's running count."""
    train = state.epoch_correct / state.epoch_scored if state.epoch_scored else math.nan
    state.epoch_correct = state.epoch_scored = 0
    val = problem.val_accuracy(model_params(state))
    return EpochRecord(
        epoch=state.examples / problem.num_examples,
        step=state.step,
        train_accuracy=train,
        val_accuracy=val,
        seconds=state.seconds,
        evaluations=state.evaluations,
        examples=state.examples,
    )


def _record_final_epoch(problem: Problem, state: DescentState, history: History) -> None:
    if not history.epochs or history.epochs[-1].step != state.step:
        history.epochs.append(_epoch_record(problem, state))


def _finish(history: History, state: DescentState, status: str, message: str) -> None:
    history.status, history.message = status, message
    state.status, state.message = status, message
    use_best = state.best_params is not None and status in ("early_stopped", "completed")
    history.params = state.best_params if use_best else model_params(state)
    history.raw_params = state.params if state.average is not None else None
