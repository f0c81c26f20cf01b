"""``learning_rate="auto"``: a step size from the curvature of the loss, so defaults need no tuning.

For the softmax loss the gradient is Lipschitz with constant

    L = 1/2 * lambda_max(A^T A / N) + 2 * reg,    A = [X, 1] (N, D + 1)

because the Hessian of the cross-entropy with respect to one example's scores,
``diag(p) - p p^T``, has eigenvalues at most 1/2, and the l2 penalty adds ``2 reg``. Gradient
descent with step ``1 / L`` never increases a function with an L-Lipschitz gradient. The hinge
losses have no such constant, but their subgradients scale with the features the same way, so
the same step is a sound starting point for them too. ``lambda_max`` comes from a few power
iterations on (a strided subsample of) the data.

Rules that normalize the step per coordinate (AdaGrad, RMSProp, Adam, AdamW) move each weight by
about ``learning_rate`` per step whatever the size of the gradient, while the weights a linear
model needs scale like ``1 / |x|``. So "auto" gives them ``1e-2 / rms(x)`` (AdaGrad
``1e-1 / rms(x)``, because its steps shrink as squared gradients accumulate), where ``rms(x)`` is
the root-mean-square feature value: 1e-2 on standardized data, ten times PyTorch's Adam default
because a linear model's weights must travel O(0.1..1) in a few hundred steps (measured on
standardized digits: 1e-3 underfits every loss), and about 2e-4 on mean-centred CIFAR-10 pixels,
where 1e-2 overshoots. Momentum rules take ``(1 - mu) / L`` because their effective step is
``learning_rate / (1 - mu)``.
"""

from __future__ import annotations

import math

import numpy as np

ADAPTIVE_DEFAULTS = {"adagrad": 1e-1, "rmsprop": 1e-2, "adam": 1e-2, "adamw": 1e-2}
MOMENTUM_RULES = ("momentum", "nesterov")


def gradient_lipschitz_constant(
    X: np.ndarray, reg: float = 0.0, max_rows: int = 4096, iterations: int = 30
) -> float:
    """``L = lambda_max([X, 1]^T [X, 1] / N) / 2 + 2 reg`` (power iteration; deterministic).

    >>> X = np.diag([3.0, 1.0])  # A^T A / N has largest eigenvalue 5.06
    >>> round(gradient_lipschitz_constant(X), 2)
    2.53
    """
    stride = max(1, math.ceil(X.shape[0] / max_rows))
    A = np.hstack([X[::stride], np.ones((len(X[::stride]), 1), X.dtype)]).astype(np.float64)
    vector = np.ones(A.shape[1]) / math.sqrt(A.shape[1])
    eigenvalue = 0.0
    for _ in range(iterations):
        product = A.T @ (A @ vector) / A.shape[0]
        eigenvalue = float(np.linalg.norm(product))
        if eigenvalue == 0.0:
            break
        vector = product / eigenvalue
    return 0.5 * eigenvalue + 2.0 * reg


def feature_rms(X: np.ndarray, max_rows: int = 4096) -> float:
    """Root-mean-square feature value ``sqrt(mean(x^2))`` (1 for standardized data).

    >>> feature_rms(np.full((3, 2), 60.0))
    60.0
    """
    stride = max(1, math.ceil(X.shape[0] / max_rows))
    sample = X[::stride].astype(np.float64)
    rms = float(np.sqrt(np.mean(sample * sample)))
    return rms if rms > 0 else 1.0


def auto_learning_rate(X: np.ndarray, reg: float, optimizer: str, momentum: float = 0.9) -> float:
    """The step size ``learning_rate="auto"`` resolves to for this data and update rule."""
    if optimizer in ADAPTIVE_DEFAULTS:
        return ADAPTIVE_DEFAULTS[optimizer] / feature_rms(X)
    step = 1.0 / gradient_lipschitz_constant(X, reg)
    return step * (1.0 - momentum) if optimizer in MOMENTUM_RULES else step
