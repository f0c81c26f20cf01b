"""Starting points for the page: the toy datasets of ``slopelab.data.toy2d`` and initial
parameters (the CS231n demo's defaults, its "Randomize parameters", or zeros)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from slopelab.data.toy2d import GENERATORS, cs231n_params, cs231n_points
from slopelab.web.convert import Params

RANDOM_RANGE = 0.5  # the CS231n demo's Randomize draws every entry from U(-0.5, 0.5)
DEFAULT_STEP_SIZE = 0.1
DEFAULT_REG = 0.1


def preset_noise() -> dict[str, float]:
    """Each generator's own noise (its default), which makes it look like its name."""
    return {
        name: inspect.signature(generator).parameters["noise"].default
        for name, generator in GENERATORS.items()
    }


def dataset(
    preset: str, num_points: int, num_classes: int, noise: float | None, seed: int
) -> dict[str, Any]:
    """``{"X", "y", "num_classes"}`` for a preset; ``"cs231n"`` is the demo's fixed 9 points.
    ``noise=None`` keeps the preset's own noise."""
    if preset == "cs231n":
        X, y = cs231n_points()
        return {"X": X.tolist(), "y": y.tolist(), "num_classes": 3}
    rng = np.random.default_rng(seed)
    noise = preset_noise()[preset] if noise is None else noise
    X, y = GENERATORS[preset](num_points=num_points, num_classes=num_classes, noise=noise, rng=rng)
    return {"X": np.asarray(X).tolist(), "y": np.asarray(y).tolist(), "num_classes": num_classes}


def initial_params(kind: str, num_classes: int, seed: int = 0) -> Params:
    """``default``: the CS231n demo's W and b when there are 3 classes, else ``random`` from the
    seed; ``random``: every entry from U(-0.5, 0.5); ``zeros``: all zero."""
    if kind == "default" and num_classes == 3:
        return cs231n_params()
    if kind == "zeros":
        return {"W": np.zeros((2, num_classes)), "b": np.zeros(num_classes)}
    rng = np.random.default_rng(seed)
    return {
        "W": rng.uniform(-RANDOM_RANGE, RANDOM_RANGE, (2, num_classes)),
        "b": rng.uniform(-RANDOM_RANGE, RANDOM_RANGE, num_classes),
    }


# The schedule choices offered by the page, with the extra arguments it starts them with
# (``init_value`` is always the step size).
SCHEDULE_DEFAULTS: dict[str, dict[str, float]] = {
    "constant": {},
    "step": {"step_size": 100, "gamma": 0.5},
    "exponential": {"decay_rate": 0.5, "decay_steps": 200},
    "inverse-time": {"decay_rate": 0.01, "decay_steps": 1},
    "cosine": {"decay_steps": 500, "final_value": 0.0},
}
