"""What every strategy returns: a :class:`History` of steps and epochs, and the budget it ran on.

Random search, random local search, gradient descent and minibatch SGD all fill the same
records, so their curves can be drawn on one set of axes (loss against evaluations, examples
processed or seconds).

* a **step** is one proposal (search) or one parameter update (descent); it records the loss and
  its data/regularization parts, the learning rate, the gradient norm, the update-to-weight
  ratio ``||dW_update|| / ||W||`` (the CS231n notes: about 1e-3 is healthy), the wall time, and the
  cumulative loss evaluations and examples processed (a full-batch evaluation counts N);
* an **epoch** is one pass over the training set's worth of examples; it records train and
  validation accuracy. For gradient descent and SGD the training accuracy is the *running*
  accuracy of the epoch's batches, each scored by the weights it was about to update (the loss
  computed those scores already, so it costs no extra pass over the training set; early in
  training it lags the accuracy of the epoch's final weights). The searches record the exact
  accuracy of their best weights. Validation accuracy is always that of the weights at the end
  of the epoch, on the whole validation split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.validation import check_positive

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class StepRecord:
    """One step: loss parts at the parameters the step started from, and what the step did."""

    step: int
    loss: float
    data_loss: float
    reg_loss: float
    learning_rate: float
    grad_norm: float
    update_ratio: float
    seconds: float
    evaluations: int
    examples: int


@dataclass(frozen=True)
class EpochRecord:
    """Accuracy after ``epoch`` passes over the data (``val_accuracy`` is NaN without a split)."""

    epoch: float
    step: int
    train_accuracy: float
    val_accuracy: float
    seconds: float
    evaluations: int
    examples: int


@dataclass(frozen=True)
class Budget:
    """Stop at the first limit reached; unset limits (None) do not apply.

    ``steps``: updates or proposals; ``epochs``: passes over the training set;
    ``evaluations``: loss evaluations (a minibatch evaluation counts 1);
    ``examples``: examples processed (a full-batch evaluation counts N); ``seconds``: wall time.
    """

    steps: int | None = None
    epochs: float | None = None
    evaluations: int | None = None
    examples: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        limits = {item.name: getattr(self, item.name) for item in fields(self)}
        if all(value is None for value in limits.values()):
            raise InvalidValueError(
                "budget has no limit; set at least one of steps, epochs, evaluations, "
                "examples or seconds"
            )
        for name, value in limits.items():
            if value is not None:
                check_positive(value, f"budget {name}", integer=name in ("steps", "evaluations"))

    def exhausted(
        self, *, steps: int, epochs: float, evaluations: int, examples: int, seconds: float
    ) -> bool:
        """True when any set limit has been reached."""
        used = {
            "steps": steps,
            "epochs": epochs,
            "evaluations": evaluations,
            "examples": examples,
            "seconds": seconds,
        }
        return any(
            getattr(self, name) is not None and value >= getattr(self, name)
            for name, value in used.items()
        )


@dataclass
class History:
    """The record of one run, and its outcome.

    ``params`` are the parameters the run settled on (the best ones for random search and for
    early stopping); ``status`` is one of ``completed``, ``diverged``, ``early_stopped``,
    ``interrupted``; ``message`` explains it in one line. With averaged SGD, ``params`` are the
    average of the iterates and ``raw_params`` the last iterate (None without averaging).
    """

    strategy: str
    steps: list[StepRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    params: Params | None = None
    status: str = "completed"
    message: str = ""
    raw_params: Params | None = None

    @property
    def sparsity(self) -> float:
        """The fraction of the weights ``params["W"]`` that are exactly 0.0 (NaN without
        parameters): what the elastic net's proximal L1 step buys."""
        if self.params is None or self.params["W"].size == 0:
            return math.nan
        W = self.params["W"]
        return float(np.count_nonzero(W == 0.0)) / W.size

    def column(self, name: str) -> np.ndarray:
        """One field of every step (or, for epoch fields, every epoch) as an array.

        >>> history = History("sgd", steps=[_example_step(0, 2.3), _example_step(1, 2.1)])
        >>> history.column("loss")
        array([2.3, 2.1])
        """
        step_fields = {item.name for item in fields(StepRecord)}
        epoch_fields = {item.name for item in fields(EpochRecord)}
        if name in step_fields:
            return np.array([getattr(record, name) for record in self.steps], dtype=float)
        if name in epoch_fields:
            return np.array([getattr(record, name) for record in self.epochs], dtype=float)
        valid = ", ".join(sorted(step_fields | epoch_fields))
        raise InvalidValueError(f"unknown History column {name!r}; valid columns are {valid}")

    @property
    def final_loss(self) -> float:
        """The loss of the last step: for minibatch SGD, of that step's batch at the weights
        *before* its update (for the searches, the best full training loss so far). For the
        loss of the returned parameters on the whole training set, evaluate them:
        ``sum(loss.evaluate(history.params, X, y, reg))``."""
        return self.steps[-1].loss if self.steps else math.nan

    @property
    def evaluations(self) -> int:
        return self.steps[-1].evaluations if self.steps else 0

    @property
    def examples(self) -> int:
        return self.steps[-1].examples if self.steps else 0

    @property
    def seconds(self) -> float:
        return self.steps[-1].seconds if self.steps else 0.0

    def __repr__(self) -> str:
        """One line: strategy, status, steps, final loss (the records are in ``steps``)."""
        from slopelab.display import history_text

        return history_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: the key numbers and the loss curve (see :mod:`slopelab.display`)."""
        from slopelab.display import history_html

        return history_html(self)


def _example_step(step: int, loss: float) -> StepRecord:
    return StepRecord(step, loss, loss, 0.0, 0.1, 1.0, 1e-3, 0.0, step + 1, 10 * (step + 1))
