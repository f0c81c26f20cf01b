"""Is the run diverging? Rules on the recent total losses, and messages that say why.

- **diverged**: an update produced parameters beyond :data:`PARAM_LIMIT` or a non-finite loss;
  the step is refused, so the browser never receives a number it cannot send back.
- **diverging**: the total loss rose :data:`RISING_STEPS` times in a row and by at least
  :data:`RISING_FACTOR` overall, or it is :data:`BLOWUP_FACTOR` times the oldest loss the
  browser sent (with a floor of 1, as ``slopelab.train``'s divergence test).

Both messages name the usual cause, a step size too large for the loss's curvature.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

PARAM_LIMIT = 1e5  # below the API's input limit of 1e6, so a diverged state can still be sent
RISING_STEPS = 5
RISING_FACTOR = 1.5
BLOWUP_FACTOR = 100.0
ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw")


def exploded(params: Mapping[str, np.ndarray], total: float) -> bool:
    """Non-finite loss, or a parameter beyond :data:`PARAM_LIMIT`."""
    if not math.isfinite(total):
        return True
    return any(not np.all(np.abs(p) <= PARAM_LIMIT) for p in params.values())


def diverged_message(step: int, learning_rate: float, optimizer: str) -> str:
    return (
        f"Diverged at step {step}: the parameters left the range ±{PARAM_LIMIT:,.0f} and the "
        f"update was refused. {_cause(learning_rate, optimizer)} Step back or reset, lower the "
        "step size, and run again."
    )


def diagnose(totals: Sequence[float], learning_rate: float, optimizer: str) -> str | None:
    """A message when ``totals`` (oldest first) look like divergence, else ``None``."""
    if len(totals) > RISING_STEPS:
        window = totals[-(RISING_STEPS + 1) :]
        rising = all(later > earlier for earlier, later in itertools.pairwise(window))
        if rising and window[-1] >= RISING_FACTOR * window[0]:
            return (
                f"Diverging: the total loss rose {RISING_STEPS} steps in a row, from "
                f"{window[0]:.3g} to {window[-1]:.3g}. {_cause(learning_rate, optimizer)}"
            )
    if len(totals) > 1 and totals[-1] > BLOWUP_FACTOR * max(totals[0], 1.0):
        return (
            f"Diverging: the total loss is {totals[-1]:.3g}, over {BLOWUP_FACTOR:g} times "
            f"the {totals[0]:.3g} of {len(totals) - 1} steps ago. "
            f"{_cause(learning_rate, optimizer)}"
        )
    return None


def _cause(learning_rate: float, optimizer: str) -> str:
    smaller = f"{learning_rate / 10:.3g}"
    if optimizer in ADAPTIVE:
        return (
            f"The step size {learning_rate:.3g} is too large: {optimizer} scales every step to "
            f"about that size, so it keeps jumping across the valley. Try {smaller}."
        )
    return (
        f"The step size {learning_rate:.3g} is too large for this loss: each update overshoots "
        f"the valley floor and lands higher on the opposite wall. Try {smaller}."
    )
