"""slopelab: how a linear classifier's weights walk down the loss surface.

The public API, re-exported here: losses (``get_loss``), gradient checking
(``numerical_gradient``, ``check_gradient``), update rules (``get_optimizer``,
``apply_updates``) and schedules (``slopelab.schedules``), the lecture's strategies
(``random_search``, ``random_local_search``, ``gradient_descent``, ``sgd``) with their
``History`` and ``Budget``, and the scikit-learn estimator ``LinearClassifier``.
"""

from slopelab import schedules
from slopelab.estimator import DivergedError, LinearClassifier
from slopelab.gradcheck import check_gradient, numerical_gradient
from slopelab.gradcheck_report import GradCheckReport, GradCheckRow
from slopelab.history import Budget, EpochRecord, History, StepRecord
from slopelab.losses import Loss, LossParts, get_loss
from slopelab.optim import OPTIMIZERS, Optimizer, apply_updates, get_optimizer
from slopelab.search import random_local_search, random_search
from slopelab.train import gradient_descent, sgd

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
