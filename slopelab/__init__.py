"""slopelab: how a linear classifier's weights walk down the loss surface.

The public API, re-exported here: losses (``get_loss``), gradient checking
(``numerical_gradient``, ``check_gradient``), update rules (``get_optimizer``,
``apply_updates``) and schedules (``slopelab.schedules``), the lecture's strategies
(``random_search``, ``random_local_search``, ``gradient_descent``, ``sgd``) with their
``History`` and ``Budget``, and the scikit-learn estimator ``LinearClassifier``.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it. Loaded on first use (PEP 562), so that ``import
# slopelab.cli`` does not pull in scikit-learn and ``slopelab --help`` answers at once.
_HOMES = {
    "schedules": "slopelab.schedules",
    "DivergedError": "slopelab.estimator",
    "LinearClassifier": "slopelab.estimator",
    "check_gradient": "slopelab.gradcheck",
    "numerical_gradient": "slopelab.gradcheck",
    "GradCheckReport": "slopelab.gradcheck_report",
    "GradCheckRow": "slopelab.gradcheck_report",
    "Budget": "slopelab.history",
    "EpochRecord": "slopelab.history",
    "History": "slopelab.history",
    "StepRecord": "slopelab.history",
    "Loss": "slopelab.losses",
    "LossParts": "slopelab.losses",
    "get_loss": "slopelab.losses",
    "OPTIMIZERS": "slopelab.optim",
    "Optimizer": "slopelab.optim",
    "apply_updates": "slopelab.optim",
    "get_optimizer": "slopelab.optim",
    "random_local_search": "slopelab.search",
    "random_search": "slopelab.search",
    "gradient_descent": "slopelab.train",
    "sgd": "slopelab.train",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'slopelab' has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if home == f"slopelab.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "OPTIMIZERS",
    "Budget",
    "DivergedError",
    "EpochRecord",
    "GradCheckReport",
    "GradCheckRow",
    "History",
    "LinearClassifier",
    "Loss",
    "LossParts",
    "Optimizer",
    "StepRecord",
    "apply_updates",
    "check_gradient",
    "get_loss",
    "get_optimizer",
    "gradient_descent",
    "numerical_gradient",
    "random_local_search",
    "random_search",
    "schedules",
    "sgd",
]
