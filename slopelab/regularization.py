"""Weight penalties ``R(W)`` and their gradients. The bias is never penalized.

The total loss is ``data_loss + reg * R(W)``. With ``penalty="l2"``, ``R(W) = sum(W**2)`` and
``dR/dW = 2 W``: the convention of the CS231n starter code since 2018. (Older course material and
many blog posts use ``0.5 * sum(W**2)``, whose gradient is ``W``; at the same ``reg`` their
regularization loss is half of ours.)

``penalty="elasticnet"`` mixes the two with ``l1_ratio`` in [0, 1], on the same scale (no 1/2 on
the L2 part): ``R(W) = l1_ratio * sum|W| + (1 - l1_ratio) * sum W**2``. With ``l1_ratio = 0`` it
is the l2 penalty exactly. scikit-learn's ``SGDClassifier`` halves its L2 part
(``alpha * (l1_ratio |w|_1 + (1 - l1_ratio) |w|_2^2 / 2)``), so its ``alpha`` matches our
``reg`` only in the L1 part.

Training handles the L1 part of the elastic net by a proximal step (soft-thresholding, e.g.
Parikh & Boyd, "Proximal Algorithms", 2014, section 6.5.2): the update rule sees the gradient of
the smooth part only, then every weight moves ``lr * reg * l1_ratio`` towards zero and stops
there, ``W <- sign(W) * max(|W| - lr * reg * l1_ratio, 0)``; weights that reach zero are exactly
0.0. That is proximal gradient descent for plain SGD; after momentum or an adaptive rule the
same step (with the rule's current learning rate) still produces exact zeros, but it is a
heuristic there, not the exact proximal map of the rule's preconditioned step. ``penalty="l1"``
keeps its subgradient ``sign(W)`` (weights hover near zero, never exactly on it); use
``"elasticnet"`` with ``l1_ratio=1`` for the proximal L1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from slopelab.errors import InvalidValueError

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


def elastic_net_penalty(W: np.ndarray, l1_ratio: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """``R(W) = r sum|W| + (1 - r) sum W^2`` with ``r = l1_ratio``, ``dR/dW = r sign(W) +
    2 (1 - r) W`` (subgradient: 0 for the L1 part at ``W_kl = 0``)."""
    l1_value, l1_gradient = l1_penalty(W)
    l2_value, l2_gradient = l2_penalty(W)
    return l1_ratio * l1_value + (1.0 - l1_ratio) * l2_value, (
        l1_ratio * l1_gradient + (1.0 - l1_ratio) * l2_gradient
    )


PENALTIES: dict[str, Penalty] = {
    "l2": l2_penalty,
    "l1": l1_penalty,
    "none": no_penalty,
    "elasticnet": elastic_net_penalty,
}
PROXIMAL_PENALTIES = ("elasticnet",)  # their L1 part is trained by soft-thresholding


def check_l1_ratio(l1_ratio: object) -> float:
    """``l1_ratio`` as a float in [0, 1], or an InvalidValueError naming it."""
    is_number = isinstance(l1_ratio, (int, float, np.integer, np.floating))
    if isinstance(l1_ratio, bool) or not is_number or not 0.0 <= float(l1_ratio) <= 1.0:
        raise InvalidValueError(
            f"l1_ratio must be a number in [0, 1] (0: pure l2, 1: pure l1); got {l1_ratio!r}"
        )
    return float(l1_ratio)


def penalty_function(name: str, l1_ratio: float = 0.15) -> Penalty:
    """The penalty ``W -> (R(W), dR/dW)`` called ``name``, ``l1_ratio`` bound for the elastic
    net."""
    if name == "elasticnet":
        return functools.partial(elastic_net_penalty, l1_ratio=l1_ratio)
    return PENALTIES[name]


def l1_weight(name: str, l1_ratio: float) -> float:
    """The weight of ``sum|W|`` in ``R(W)`` that the proximal step handles (0: none)."""
    return l1_ratio if name in PROXIMAL_PENALTIES else 0.0


def soft_threshold(W: np.ndarray, threshold: float) -> np.ndarray:
    """The proximal map of ``threshold * sum|W|``: ``sign(W) * max(|W| - threshold, 0)``, a new
    array; weights within ``threshold`` of zero become exactly 0.0."""
    shrunk = np.abs(W) - threshold
    np.maximum(shrunk, 0.0, out=shrunk)
    return np.copysign(shrunk, W)


def sparsity(W: np.ndarray) -> float:
    """The fraction of the weights that are exactly 0.0."""
    return float(np.count_nonzero(W == 0.0)) / W.size if W.size else 0.0


def add_penalty_gradient(
    name: str,
    W: np.ndarray,
    reg: float,
    dW: np.ndarray,
    l1_ratio: float = 0.15,
    proximal: bool = False,
) -> np.floating:
    """Add ``reg * dR/dW`` into ``dW`` in place and return ``R(W)`` (a scalar of W's dtype, as
    :data:`PENALTIES` return it): the training loop's form of the penalty, with no temporary
    ``dR/dW`` array (``reg = 0`` adds nothing). ``proximal``: for the elastic net, add only the
    gradient of the smooth part ``2 (1 - l1_ratio) W`` (a proximal step handles the L1 part)."""
    if name == "elasticnet" and proximal:
        if reg:
            dW += (2.0 * reg * (1.0 - l1_ratio)) * W
        value, _ = elastic_net_penalty(W, l1_ratio)
        return value
    if name == "elasticnet":
        value, gradient = elastic_net_penalty(W, l1_ratio)
        if reg:
            dW += reg * gradient
        return value
    if name == "l2":
        if reg:
            dW += (2.0 * reg) * W
        return np.vdot(W, W)
    value, gradient = PENALTIES[name](W)
    if reg:
        dW += reg * gradient
    return value
