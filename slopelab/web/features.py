"""Feature maps for the demo: a linear classifier on ``phi(x)`` instead of ``x``.

A point of the canvas is ``x = (x0, x1)``, numbered from 0 as the page's axes, the API's
columns and W's rows are (the issue wrote x1, x2). With the features ``f_1 .. f_F`` chosen, the
model scores

    phi(x) = [x0, x1, f_1(x), ..., f_F(x)]        (2 + F,)
    s      = phi(x) W + b                          W (2 + F, C), b (C,)

so it is linear in ``phi(x)`` and, through the features, curved in ``x``. The features are

    "x0^2"     x0 ** 2
    "x1^2"     x1 ** 2
    "x0*x1"    x0 * x1
    "sin(x0)"  sin(x0)      (x in radians; on the canvas [-1, 1] it bends only a little)
    "sin(x1)"  sin(x1)

and their columns always come in that order (:data:`FEATURES`): a request lists the ones it
wants in that order, and W's row ``2 + i`` belongs to the i-th listed feature. With no
features ``phi(x) = x`` exactly (the same array values), so nothing changes.

>>> feature_map(np.array([[0.5, -2.0]]), ("x0^2", "x0*x1"))
array([[ 0.5 , -2.  ,  0.25, -1.  ]])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x0^2": lambda x0, x1: x0**2,
    "x1^2": lambda x0, x1: x1**2,
    "x0*x1": lambda x0, x1: x0 * x1,
    "sin(x0)": lambda x0, x1: np.sin(x0),
    "sin(x1)": lambda x0, x1: np.sin(x1),
}
INPUT_NAMES = ("x0", "x1")

# The same columns as numpy source, for the exported script (``x0 = X[:, 0]``, ``x1 = X[:, 1]``).
FEATURE_SOURCE = {
    "x0^2": "x0**2",
    "x1^2": "x1**2",
    "x0*x1": "x0 * x1",
    "sin(x0)": "np.sin(x0)",
    "sin(x1)": "np.sin(x1)",
}


def feature_map(X: np.ndarray, features: Sequence[str] = ()) -> np.ndarray:
    """``phi(X) (N, 2 + F)``: the points ``X (N, 2)`` followed by one column per feature."""
    if not features:
        return X
    x0, x1 = X[:, 0], X[:, 1]
    columns = [FEATURES[name](x0, x1) for name in features]
    return np.column_stack([X, *columns])


def row_names(features: Sequence[str] = ()) -> list[str]:
    """The name of each row of W: ``["x0", "x1", *features]``."""
    return [*INPUT_NAMES, *features]


def with_feature_rows(params: Mapping[str, np.ndarray], num_features: int) -> dict:
    """``params`` with ``num_features`` zero rows below W's: the model starts as the same
    classifier in x, and the features' weights are what training adds."""
    W = np.vstack([params["W"], np.zeros((num_features, params["W"].shape[1]))])
    return {"W": W, "b": params["b"]}


def check_order(features: Sequence[str]) -> None:
    """Refuse repeated features or features out of :data:`FEATURES`' order."""
    canonical = [name for name in FEATURES if name in features]
    if len(set(features)) != len(features) or list(features) != canonical:
        raise ValueError(
            f"features must be distinct and listed in the order {', '.join(FEATURES)}; "
            f"got {list(features)} (use {canonical})"
        )
