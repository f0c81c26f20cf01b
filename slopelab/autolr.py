"""``learning_rate="auto"``: a step size from the curvature of the loss, so defaults need no tuning.

For the softmax loss the gradient is Lipschitz with constant

    L = 1/2 * lambda_max(A^T A / N) + 2 * reg,    A = [X, 1] (N, D + 1)

because the Hessian of the cross-entropy with respect to one example's scores,
``diag(p) - p p^T``, has eigenvalues at most 1/2, and the l2 penalty adds ``2 reg``. Gradient
descent with step ``1 / L`` never increases a function with an L-Lipschitz gradient. The hinge
losses have no such constant, but their subgradients scale with the features the same way, so
the same step is a sound starting point for them too. ``lambda_max`` comes from a few power
iterations on the data, or on a random subsample of ``max_rows`` rows (fixed seed, so the result
is deterministic; a random rather than strided subsample, because data stored in a periodic order,
such as classes taking turns, would alias with a stride).

Rules that normalize the step per coordinate (AdaGrad, RMSProp, Adam, AdamW) move each weight by
about ``learning_rate`` per step whatever the size of the gradient, while the weights a linear
model needs scale like ``1 / |x|``. So "auto" gives them ``1e-2 / rms(x)`` (AdaGrad
``1e-1 / rms(x)``, because its steps shrink as squared gradients accumulate), where ``rms(x)`` is
the root-mean-square feature value: 1e-2 on standardized data, ten times PyTorch's Adam default
because a linear model's weights must travel O(0.1..1) in a few hundred steps (measured on
standardized digits: 1e-3 underfits every loss), and about 2e-4 on mean-centred CIFAR-10 pixels,
where 1e-2 overshoots. Momentum rules take ``(1 - mu) / L`` because their effective step is
``learning_rate / (1 - mu)``; ``mu`` is the rule's own momentum (its default, 0.9, unless the
hyperparameters given say otherwise).

The penalty matters too. Only ``"l2"`` adds curvature (the ``2 reg`` above). ``"l1"`` adds none,
but its subgradient ``reg sign(W)`` pushes every weight by ``learning_rate * reg`` at every step,
so the weights near zero jitter with that amplitude and the penalty of the jitter alone is
about ``learning_rate * reg^2 * D * C``. "auto" keeps that below a tenth of a unit of loss,
capping SGD's step at ``0.1 / (reg^2 D C)``: no cap at the usual small ``reg``, and no runaway
(a tester saw ``reg=1e3`` diverge at the first step) at a large one. ``"elasticnet"`` adds the
curvature of its L2 part, ``2 reg (1 - l1_ratio)``, and no cap: its L1 part is a proximal step,
which does not jitter.

:func:`resolve_learning_rate` is the one place where ``"auto"`` becomes a number: the estimator,
the training functions and the command line all call it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from slopelab.errors import InvalidValueError
from slopelab.optim import get_optimizer
from slopelab.sparse import is_sparse

ADAPTIVE_DEFAULTS = {"adagrad": 1e-1, "rmsprop": 1e-2, "adam": 1e-2, "adamw": 1e-2}
MAX_ROWS = 4096
DEFAULT_CLASSES = 10  # for the l1 cap when the number of classes is not known
L1_JITTER_LOSS = 0.1  # the l1 penalty that the jitter of the subgradient steps may cost


def resolve_learning_rate(
    learning_rate: Any,
    X: np.ndarray,
    reg: float,
    optimizer: str,
    hyperparams: Mapping[str, Any] | None = None,
    *,
    penalty: str = "l2",
    num_classes: int | None = None,
    sample_weight: np.ndarray | None = None,
    l1_ratio: float = 0.15,
) -> Any:
    """``learning_rate`` as given (a number, a schedule, None), or ``"auto"`` resolved by
    :func:`auto_learning_rate` for this data, ``reg`` and update rule.

    >>> resolve_learning_rate(0.1, np.ones((2, 2)), 0.0, "sgd")
    0.1
    >>> resolve_learning_rate("auto", np.zeros((2, 2)), 0.0, "momentum", {"momentum": 0.5})
    1.0
    """
    if isinstance(learning_rate, str) and learning_rate == "auto":
        return auto_learning_rate(
            X,
            reg,
            optimizer,
            hyperparams,
            penalty=penalty,
            num_classes=num_classes,
            sample_weight=sample_weight,
            l1_ratio=l1_ratio,
        )
    return learning_rate


def auto_learning_rate(
    X: np.ndarray,
    reg: float,
    optimizer: str,
    hyperparams: Mapping[str, Any] | None = None,
    *,
    penalty: str = "l2",
    num_classes: int | None = None,
    sample_weight: np.ndarray | None = None,
    l1_ratio: float = 0.15,
) -> float:
    """The step size ``learning_rate="auto"`` resolves to for this data and update rule.

    ``1 / L`` for SGD, ``(1 - mu) / L`` for momentum and Nesterov (``mu`` from
    ``hyperparams``, else the rule's default), ``c / rms(x)`` for the adaptive rules.
    ``hyperparams`` are the rule's other knobs, checked as :func:`slopelab.optim.get_optimizer`
    checks them. ``penalty`` decides the curvature the penalty adds (``2 reg`` for l2 only) and,
    for l1, the cap ``0.1 / (reg^2 D C)`` (``num_classes`` C; 10 when not given).
    ``sample_weight`` (N,) weights the rows as the weighted loss does (``A^T diag(w) A / sum w``
    and a weighted ``rms``), so an integer weight resolves like the row repeated.
    ``"elasticnet"`` adds ``2 reg (1 - l1_ratio)``.

    Raises:
        InvalidValueError: the features are too large for float arithmetic (no finite step).
    """
    rule = get_optimizer(optimizer, **dict(hyperparams or {}))
    if optimizer in ADAPTIVE_DEFAULTS:
        rate = ADAPTIVE_DEFAULTS[optimizer] / feature_rms(X, sample_weight=sample_weight)
    else:
        momentum = rule.hyperparams.get("momentum", 0.0)
        curvature_reg = reg if penalty == "l2" else 0.0
        if penalty == "elasticnet":
            curvature_reg = reg * (1.0 - l1_ratio)
        rate = (1.0 - momentum) / gradient_lipschitz_constant(
            X, curvature_reg, sample_weight=sample_weight
        )
        if penalty == "l1" and reg > 0:
            weights = X.shape[1] * (num_classes or DEFAULT_CLASSES)
            rate = min(rate, L1_JITTER_LOSS / (reg * reg * weights))
    if not (math.isfinite(rate) and rate > 0):
        raise InvalidValueError(
            f"learning_rate='auto' found no usable step ({rate!r}): the features are too large "
            "for float arithmetic; scale them (standardize) or give a learning_rate"
        )
    return rate


# Overflow (features beyond ~1e154) makes the estimate inf or NaN, which auto_learning_rate
# reports as an error; numpy's warnings on the way would only repeat it.
@np.errstate(over="ignore", invalid="ignore")
def gradient_lipschitz_constant(
    X: np.ndarray,
    reg: float = 0.0,
    max_rows: int = MAX_ROWS,
    iterations: int = 30,
    tolerance: float = 1e-6,
    sample_weight: np.ndarray | None = None,
) -> float:
    """``L = lambda_max([X, 1]^T [X, 1] / N) / 2 + 2 reg`` by power iteration (deterministic).

    The iteration starts near the all-ones vector, which is close to the top eigenvector of
    most data (the mean direction), plus a small random part (fixed seed), because the
    all-ones vector alone is orthogonal to the top eigenvector of some data, e.g. a
    standardized one-hot pair whose columns are exactly ``z`` and ``-z``. It stops after
    ``iterations``, or once an iteration raises the estimate by less than ``tolerance``
    (relative): the estimate ``||M v||`` only grows towards ``lambda_max``.

    ``[X, 1]`` is never built: ``A v = X v_x + v_1`` and ``A^T u = [X^T u, sum(u)]``, so the
    products read the sampled rows in their own dtype (float32 data stays float32; its
    rounding can put the estimate a few float32 epsilons above ``lambda_max``).

    >>> X = np.diag([3.0, 1.0])  # A^T A / N has largest eigenvalue 5.06
    >>> round(gradient_lipschitz_constant(X), 2)
    2.53
    """
    rows, weights = _weighted_sample(X, sample_weight, max_rows)
    if rows.dtype.kind != "f":
        rows = rows.astype(np.float64)
    num_features = rows.shape[1]
    num_rows = rows.shape[0] if weights is None else float(weights.sum())
    vector = 1.0 + 0.1 * np.random.default_rng(0).standard_normal(num_features + 1)
    vector /= np.linalg.norm(vector)
    eigenvalue = 0.0
    for _ in range(iterations):
        product = _gram_product(rows, vector, weights) / num_rows  # (D + 1,), float64
        previous, eigenvalue = eigenvalue, float(np.linalg.norm(product))
        if not (eigenvalue > 0 and math.isfinite(eigenvalue)):
            break
        vector = product / eigenvalue
        if eigenvalue - previous <= tolerance * eigenvalue:
            break
    return 0.5 * eigenvalue + 2.0 * reg


def _gram_product(
    rows: np.ndarray, vector: np.ndarray, row_weights: np.ndarray | None = None
) -> np.ndarray:
    """``A^T (A v)`` for ``A = [rows, 1]`` without building ``A``, in float64;
    ``A^T diag(w) A v`` with ``row_weights`` w."""
    weights = vector[:-1].astype(rows.dtype)
    projected = rows @ weights + rows.dtype.type(vector[-1])  # (n,) = A v
    if row_weights is not None:
        projected = projected * row_weights.astype(rows.dtype, copy=False)
    # rows^T u rather than u @ rows: the same product, and sparse-times-dense for sparse rows
    transposed = np.asarray(rows.T @ projected).astype(np.float64)  # (D,)
    return np.append(transposed, float(projected.sum(dtype=np.float64)))


@np.errstate(over="ignore", invalid="ignore")
def feature_rms(
    X: np.ndarray, max_rows: int = MAX_ROWS, sample_weight: np.ndarray | None = None
) -> float:
    """Root-mean-square feature value ``sqrt(mean(x^2))`` (1 for standardized data; 1 for all-zero
    data too, where any scale would do).

    >>> feature_rms(np.full((3, 2), 60.0))
    60.0
    """
    if sample_weight is not None:
        return _weighted_feature_rms(*_weighted_sample(X, sample_weight, max_rows))
    sample = sample_rows(X, max_rows)
    num_values = sample.shape[0] * sample.shape[1]
    if is_sparse(sample):  # the stored values alone: the implicit zeros add nothing
        square_sum = float(np.vdot(sample.data, sample.data))
    else:
        square_sum = sum(float(np.vdot(row, row)) for row in sample)
    rms = math.sqrt(square_sum / num_values)
    return rms if rms > 0 else 1.0


def _weighted_feature_rms(sample: np.ndarray, weights: np.ndarray) -> float:
    """``sqrt(sum_i w_i |x_i|^2 / (sum w * D))``, 1 when that is 0 (see :func:`feature_rms`)."""
    if is_sparse(sample):
        row_squares = np.asarray(sample.multiply(sample).sum(axis=1)).ravel()
    else:
        row_squares = np.einsum("ij,ij->i", sample, sample, dtype=np.float64)
    square_sum = float(weights @ row_squares)
    rms = math.sqrt(square_sum / (float(weights.sum()) * sample.shape[1]))
    return rms if rms > 0 else 1.0


def _weighted_sample(
    X: np.ndarray, sample_weight: np.ndarray | None, max_rows: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`sample_rows` and the same rows' weights (None without weights)."""
    if sample_weight is None:
        return sample_rows(X, max_rows), None
    if X.shape[0] <= max_rows:
        return X, sample_weight
    chosen = np.sort(np.random.default_rng(0).choice(X.shape[0], size=max_rows, replace=False))
    return X[chosen], sample_weight[chosen]


def sample_rows(X: np.ndarray, max_rows: int = MAX_ROWS) -> np.ndarray:
    """``X`` itself, or ``max_rows`` of its rows drawn without replacement (fixed seed, kept in
    order) when it has more.

    >>> sample_rows(np.arange(10.0).reshape(5, 2), max_rows=2).shape
    (2, 2)
    """
    if hasattr(X, "sample_rows"):  # streamed rows (slopelab.data.stream) read only the sample
        return X.sample_rows(max_rows)
    if X.shape[0] <= max_rows:
        return X
    chosen = np.random.default_rng(0).choice(X.shape[0], size=max_rows, replace=False)
    return X[np.sort(chosen)]
