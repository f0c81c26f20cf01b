"""Learning rate first: the total loss after ``k`` updates against the learning rate.

For each rate ``eta`` of a log-spaced grid (and the rate in use), the demo's own training loop,
:func:`slopelab.web.compute.advance`, makes ``k`` updates from the current ``W, b`` and
optimizer state with the current update rule, hyperparameters, schedule (starting from
``eta``) and minibatches, exactly as ``k`` calls of ``/api/step`` would:

    L_k(eta) = L(theta_k),   theta_{t+1} = theta_t + update(grad L_batch(t)(theta_t); eta)

A rate whose parameters blow up is reported as ``"diverged"`` at the update where they did (its
loss is ``None``, never clipped); a finite run whose loss rises the way ``advance`` flags is
``"diverging"`` with its loss. The work is bounded: ``rates x k x N`` per request is at most
:data:`MAX_WORK`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from slopelab.web.compute import advance
from slopelab.web.convert import InputError, Params, Setup, opt_state_from, optimizer_from
from slopelab.web.models import OptimizerIn

MAX_WORK = 2_500_000  # rates x steps x train points per request: about a second on one core


def log_rates(low: float, high: float, count: int) -> list[float]:
    """``count`` rates from ``low`` to ``high``, evenly spaced in ``log10``."""
    return np.logspace(np.log10(low), np.log10(high), count).tolist()


def check_work(num_rates: int, num_steps: int, num_examples: int) -> None:
    work = num_rates * num_steps * num_examples
    if work > MAX_WORK:
        raise InputError(
            f"a learning-rate scan of {num_rates} rates x {num_steps} steps x {num_examples} "
            f"points = {work} is over the limit of {MAX_WORK}; scan fewer rates or steps"
        )


def scan(
    setup: Setup,
    params: Params,
    spec: OptimizerIn,
    opt_state: Mapping[str, Any] | None,
    rates: list[float],
    *,
    num_steps: int,
    step: int = 0,
    batch_size: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``num_steps`` updates at each rate, each from the same ``params`` and optimizer state."""
    check_work(len(rates), num_steps, setup.num_examples)
    points = []
    for rate in rates:
        optimizer = optimizer_from(spec.model_copy(update={"learning_rate": rate}))
        state = opt_state_from(optimizer, params, opt_state, num_steps=num_steps)
        result = advance(
            setup, params, optimizer, state, num_steps=num_steps, step=step,
            batch_size=batch_size, seed=seed,
        )  # fmt: skip
        points.append(scan_point(rate, result))
    return points


def scan_point(rate: float, result: dict[str, Any]) -> dict[str, Any]:
    """What ``advance`` reached at ``rate``: the total loss, or where it diverged."""
    records, status = result["records"], result["status"]
    reached = status != "diverged" and records
    return {
        "learning_rate": rate,
        "status": status,
        "steps": len(records),
        "total": records[-1]["total"] if reached else None,
        "accuracy": records[-1]["accuracy"] if reached else None,
    }
