"""slopelab: how a linear classifier's weights walk down the loss surface."""

from slopelab.losses import Loss, LossParts, get_loss

__all__ = ["Loss", "LossParts", "get_loss"]
