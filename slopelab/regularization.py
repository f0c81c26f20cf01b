"""Weight penalties ``R(W)`` and their gradients. The bias is never penalized.

The total loss is ``data_loss + reg * R(W)``. With ``penalty="l2"``, ``R(W) = sum(W**2)`` and
``dR/dW = 2 W``: the convention of the CS231n starter code since 2018. (Older course material and
many blog posts use ``0.5 * sum(W**2)``, whose gradient is ``W``; at the same ``reg`` their
regularization loss is half of ours.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Penalty = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def l2_penalty(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R(W) = sum_kl W_kl^2``, ``dR/dW = 2 W``."""
    return np.vdot(W, W), 2.0 * W


def l1_penalty(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R(W) = sum_kl |W_kl|``, ``dR/dW = sign(W)`` (subgradient 0 at ``W_kl = 0``)."""
    return np.abs(W).sum(), np.sign(W)


def no_penalty(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R(W) = 0``."""
    return W.dtype.type(0.0), np.zeros_like(W)


PENALTIES: dict[str, Penalty] = {"l2": l2_penalty, "l1": l1_penalty, "none": no_penalty}


def add_penalty_gradient(name: str, W: np.ndarray, reg: float, dW: np.ndarray) -> np.floating:
    """Add ``reg * dR/dW`` into ``dW`` in place and return ``R(W)`` (a scalar of W's dtype, as
    :data:`PENALTIES` return it): the training loop's form of the penalty, with no temporary
    ``dR/dW`` array (``reg = 0`` adds nothing)."""
    if name == "l2":
        if reg:
            dW += (2.0 * reg) * W
        return np.vdot(W, W)
    value, gradient = PENALTIES[name](W)
    if reg:
        dW += reg * gradient
    return value
