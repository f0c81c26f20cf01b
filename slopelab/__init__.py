"""slopelab: how a linear classifier's weights walk down the loss surface."""

from slopelab.estimator import LinearClassifier
from slopelab.losses import Loss, LossParts, get_loss

__all__ = ["LinearClassifier", "Loss", "LossParts", "get_loss"]
