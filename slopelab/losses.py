"""Full losses of a linear classifier over a dataset, and the registry behind ``get_loss``.

Scores are ``s = X W + b`` with ``X (N, D)``, ``W (D, C)``, ``b (C,)``. The loss is the mean
per-example loss plus the weight penalty (bias not penalized)::

    L(W, b) = (1/N) sum_i L_i(s_i, y_i) + reg * R(W)
    dL/dW   = X^T dS / N + reg * dR/dW,    dL/db = sum_i dS_i / N

where ``dS = dL_i/ds`` comes from the per-example loss (``svm.py``, ``softmax.py``). With
per-example weights (``sample_weight``, see :mod:`slopelab.weights`) the data loss is the
weighted mean ``sum_i w_i L_i / sum_i w_i`` and every row of ``dS`` is scaled by its weight::

    L(W, b) = sum_i w_i L_i / sum_i w_i + reg * R(W),   dL/dW = X^T diag(w) dS / sum w + ...

``X`` may be
a ``scipy.sparse`` CSR (as :func:`~slopelab.validation.check_features` returns it): ``X W`` and
``X^T dS`` are then sparse-times-dense products with dense results, and ``X`` is never densified.

Every per-example loss also has a loss-only twin (:data:`EXAMPLE_LOSS_VALUES`), so evaluations
that need no gradient (:meth:`Loss.evaluate`, :meth:`Loss.example_losses`) never compute ``dS``.

>>> loss_fn = get_loss("softmax")
>>> params = {"W": np.zeros((4, 10)), "b": np.zeros(10)}
>>> X, y = np.ones((5, 4)), np.arange(5)
>>> loss, grads = loss_fn(params, X, y, reg=0.1)
>>> round(float(loss), 4), grads["W"].shape
(2.3026, (4, 10))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from slopelab.linear import class_scores
from slopelab.reductions import column_sums
from slopelab.regularization import (
    PENALTIES,
    Penalty,
    add_penalty_gradient,
    check_l1_ratio,
    penalty_function,
)
from slopelab.softmax import softmax_cross_entropy, softmax_cross_entropy_losses
from slopelab.svm import (
    svm_ova,
    svm_ova_losses,
    svm_structured,
    svm_structured_losses,
    svm_ww,
    svm_ww_losses,
)
from slopelab.validation import (
    check_choice,
    check_features,
    check_labels,
    check_params,
    check_positive,
)
from slopelab.weights import check_sample_weight, normalized_weights

Params = dict[str, np.ndarray]
ExampleLoss = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
ExampleLossValues = Callable[[np.ndarray, np.ndarray], np.ndarray]

EXAMPLE_LOSSES: dict[str, ExampleLoss] = {
    "svm": svm_ww,
    "svm-ova": svm_ova,
    "svm-structured": svm_structured,
    "softmax": softmax_cross_entropy,
}
EXAMPLE_LOSS_VALUES: dict[str, ExampleLossValues] = {
    "svm": svm_ww_losses,
    "svm-ova": svm_ova_losses,
    "svm-structured": svm_structured_losses,
    "softmax": softmax_cross_entropy_losses,
}


@dataclass(frozen=True)
class LossParts:
    """One evaluation: ``total = data_loss + reg_loss`` and the gradients of ``total``."""

    data_loss: float
    reg_loss: float
    grads: Params
    scores: np.ndarray  # (N, C) at the evaluated parameters; free for accuracy

    @property
    def total(self) -> float:
        return self.data_loss + self.reg_loss


@dataclass(frozen=True)
class Loss:
    """A named loss ``loss_fn(params, X, y, reg) -> (loss, grads)`` with ``grads`` like params.

    Calling it validates the inputs (clear errors for bad shapes, NaN, labels out of range).
    Training loops validate once and then call :meth:`parts`, which trusts its inputs.
    ``example_loss_values`` is the loss-only twin of ``example_loss``; without one (a custom
    loss), the loss-only methods take the losses from ``example_loss`` and drop the gradient.
    """

    name: str
    example_loss: ExampleLoss
    penalty_name: str = "l2"
    example_loss_values: ExampleLossValues | None = None
    l1_ratio: float = 0.15
    proximal: bool = False

    @property
    def penalty(self) -> Penalty:
        return penalty_function(self.penalty_name, self.l1_ratio)

    def __call__(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        reg: float = 0.0,
        sample_weight: Any = None,
    ) -> tuple[float, Params]:
        """``(L, grads)``; with ``sample_weight`` (N,), ``L = sum_i w_i L_i / sum w + reg R``."""
        X = check_features(X)
        params = check_params(params, num_features=X.shape[1])
        y = check_labels(y, num_examples=X.shape[0], num_classes=params["W"].shape[1])
        check_positive(reg, "reg", allow_zero=True)
        if sample_weight is not None:
            sample_weight = normalized_weights(check_sample_weight(sample_weight, X.shape[0]))
        parts = self.parts(params, X, y, reg, sample_weight)
        return parts.total, parts.grads

    def parts(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        reg: float = 0.0,
        sample_weight: np.ndarray | None = None,
    ) -> LossParts:
        """Data loss, regularization loss and gradients, without validation.

        ``sample_weight`` (N,) is taken as given (normalized to mean 1 over the training set by
        the caller, :func:`~slopelab.weights.normalized_weights`): the data loss is then
        ``(1/N) sum_i w_i L_i`` and ``dS_i`` is scaled by ``w_i / N``.
        """
        W = params["W"]
        num_examples = X.shape[0]
        scores = class_scores(params, X)  # (N, C)
        example_losses, dscores = self.example_loss(scores, y)
        if sample_weight is None:
            dscores *= 1.0 / num_examples  # (N, C), now the gradient of the mean
            data_loss = example_losses.sum() / num_examples
        else:
            row_scale = (sample_weight / num_examples).astype(dscores.dtype, copy=False)  # (N,)
            dscores *= row_scale[:, None]  # (N, C), the gradient of the weighted mean
            data_loss = float(row_scale @ example_losses)
        dW = X.T @ dscores  # (D, C)
        penalty_value = add_penalty_gradient(
            self.penalty_name, W, reg, dW, self.l1_ratio, self.proximal
        )
        db = column_sums(dscores)  # (C,)
        grads = {"W": dW, "b": db}
        return LossParts(data_loss, reg * penalty_value, grads, scores)

    def evaluate(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        reg: float = 0.0,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[float, float]:
        """``(data_loss, reg_loss)`` without any gradient (for gradient-free search);
        ``sample_weight`` normalized as for :meth:`parts`."""
        example_losses, _ = self.example_losses(params, X, y)
        penalty_value, _ = self.penalty(params["W"])
        if sample_weight is None:
            data_loss = example_losses.mean()
        else:
            data_loss = float(sample_weight @ example_losses) / len(example_losses)
        return data_loss, reg * penalty_value

    def example_losses(
        self, params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-example losses ``L_i (N,)`` and scores ``(N, C)``, without validation or
        gradient."""
        scores = class_scores(params, X)
        if self.example_loss_values is None:
            losses, _ = self.example_loss(scores, y)
        else:
            losses = self.example_loss_values(scores, y)
        return losses, scores


def get_loss(name: str, penalty: str = "l2", l1_ratio: float = 0.15) -> Loss:
    """Return the loss called ``name``: one of ``"svm"`` (Weston–Watkins), ``"svm-ova"``,
    ``"svm-structured"`` (Crammer–Singer) or ``"softmax"``; ``penalty`` is ``"l2"`` (default,
    ``sum W**2``), ``"l1"``, ``"elasticnet"`` (``l1_ratio sum|W| + (1 - l1_ratio) sum W**2``)
    or ``"none"``."""
    check_choice(name, "loss", EXAMPLE_LOSSES)
    check_choice(penalty, "penalty", PENALTIES)
    l1_ratio = check_l1_ratio(l1_ratio)
    return Loss(name, EXAMPLE_LOSSES[name], penalty, EXAMPLE_LOSS_VALUES[name], l1_ratio)


def proximal_loss(loss: Loss) -> Loss:
    """``loss`` as the training loop uses it: for the elastic net, its gradient leaves out the
    L1 part, which the loop's soft-thresholding step handles; other losses as they are."""
    if loss.penalty_name != "elasticnet" or loss.proximal:
        return loss
    return replace(loss, proximal=True)


def training_loss(
    loss: Loss,
    params: Mapping[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    reg: float,
    sample_weight: np.ndarray | None = None,
) -> float:
    """The full training loss at ``params``, ``L(W) = (1/N) sum_i L_i(W) + reg R(W)`` over all N
    training examples (``sample_weight`` normalized as for :meth:`Loss.parts`); NaN for
    parameters that are not finite (a run that diverged)."""
    if not all(np.all(np.isfinite(value)) for value in params.values()):
        return math.nan
    with np.errstate(over="ignore", invalid="ignore"):  # a finite but huge W may overflow
        data_loss, reg_loss = loss.evaluate(params, X, y, reg, sample_weight)
    total = float(data_loss + reg_loss)
    return total if math.isfinite(total) else math.nan
