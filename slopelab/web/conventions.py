"""Regularization conventions the page can switch: ``1/2`` in front, and a penalized bias.

slopelab's loss is ``data_loss + reg * sum(W**2)`` (the CS231n starter code since 2018) with the
bias left alone. The page can also show

- the older convention ``0.5 * reg * sum(W**2)`` (the CS231n demo, many texts), whose gradient
  is ``reg * W`` instead of ``2 reg W``;
- a regularized bias, ``reg * (sum(W**2) + sum(b**2))``, whose gradient adds ``2 reg b`` to db.

Together, with ``c`` = 1/2 or 1::

    R       = c * reg * (sum_kl W_kl^2 + [bias] sum_k b_k^2)
    dR/dW   = 2 c reg W,        dR/db = [bias] 2 c reg b

The weight part is slopelab's own L2 penalty at strength ``c * reg`` (exact: halving is exact
in floating point); the bias part is :func:`bias_penalty`. With neither switch on,
:meth:`ConventionLoss.parts` is ``Loss.parts`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from slopelab.losses import Loss, LossParts

HALF = 0.5


def bias_penalty(b: np.ndarray) -> tuple[float, np.ndarray]:
    """``R(b) = sum_k b_k^2``, ``dR/db = 2 b``."""
    return float(np.vdot(b, b)), 2.0 * b


def weight_strength(reg: float, half_l2: bool) -> float:
    """The strength slopelab's ``reg * sum(W**2)`` needs: ``reg / 2`` for the 1/2 convention."""
    return HALF * reg if half_l2 else reg


@dataclass(frozen=True)
class ConventionLoss(Loss):
    """A slopelab :class:`~slopelab.losses.Loss` whose regularization follows the switches."""

    half_l2: bool = False
    regularize_bias: bool = False

    def parts(
        self, params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float = 0.0
    ) -> LossParts:
        strength = weight_strength(reg, self.half_l2)
        parts = super().parts(params, X, y, strength)
        if not self.regularize_bias:
            return parts
        value, gradient = bias_penalty(params["b"])
        grads = {"W": parts.grads["W"], "b": parts.grads["b"] + strength * gradient}
        return replace(parts, reg_loss=parts.reg_loss + strength * value, grads=grads)

    def regularization(self, W: np.ndarray, b: np.ndarray, reg: float) -> float:
        """``R`` at ``W, b`` (the landscape's regularization term)."""
        strength = weight_strength(reg, self.half_l2)
        value = strength * self.penalty(W)[0]
        if self.regularize_bias:
            value += strength * bias_penalty(b)[0]
        return value

    def evaluate(
        self, params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float = 0.0
    ) -> tuple[float, float]:
        example_losses, _ = self.example_losses(params, X, y)
        return example_losses.mean(), self.regularization(params["W"], params["b"], reg)


def convention_loss(base: Loss, *, half_l2: bool = False, regularize_bias: bool = False) -> Loss:
    """``base`` with the conventions switched on."""
    return ConventionLoss(
        base.name, base.example_loss, base.penalty_name, base.example_loss_values,
        half_l2=half_l2, regularize_bias=regularize_bias,
    )  # fmt: skip


def regularization(loss: Loss, W: np.ndarray, b: np.ndarray, reg: float) -> float:
    """``R`` at ``W, b`` under ``loss``'s conventions (slopelab's ``reg * R(W)`` for a plain
    :class:`~slopelab.losses.Loss`)."""
    if isinstance(loss, ConventionLoss):
        return loss.regularization(W, b, reg)
    return reg * loss.penalty(W)[0]


def penalty_gradients(loss: Loss, params: Mapping[str, np.ndarray], reg: float) -> dict:
    """``reg * dR/dW`` and ``reg * dR/db`` under ``loss``'s conventions (``dR/db = 0`` unless
    the bias is regularized)."""
    half_l2 = isinstance(loss, ConventionLoss) and loss.half_l2
    strength = weight_strength(reg, half_l2)
    grad_b = np.zeros_like(params["b"])
    if isinstance(loss, ConventionLoss) and loss.regularize_bias:
        grad_b = strength * bias_penalty(params["b"])[1]
    return {"W": strength * loss.penalty(params["W"])[1], "b": grad_b}
