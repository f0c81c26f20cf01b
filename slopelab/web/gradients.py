"""The gradient-check panel: numerical next to analytic for every parameter, kinks flagged.

The numerical column is ``slopelab.gradcheck.numerical_gradient`` with the chosen scheme and h;
kink flags, pass/fail and the verdict come from ``check_gradient`` (centered, kink-aware, every
coordinate). The sweep repeats the numerical gradient over h from 1e-12 to 1 and reports the
largest relative error over all parameters, for both schemes: truncation error falls with h
(as h^2 centered, h forward) until rounding error, about eps / h, takes over.

A row whose relative error is above 1e-7 but whose two values differ by less than the rounding
noise of the differences (``at_noise_floor``, see ``slopelab.gradcheck``) agrees as well as
floating point can tell: both values are about 0.

The panel also shows the gradient the CS231n demo computes, whose regularization term is
``0.5 reg W`` instead of the ``2 reg W`` that the displayed loss ``reg sum W^2`` has: the data
part from slopelab with ``reg = 0``, plus that term. It is wrong whenever ``reg > 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from slopelab.gradcheck import TOL_SMOOTH, check_gradient, numerical_gradient, relative_error
from slopelab.web.convert import Params, Setup

SWEEP_H = np.logspace(-12, 0, 25)
CS231N_REG_GRADIENT_FACTOR = 0.5  # the demo's dW += 0.5 * reg * W
ZERO_GRADIENT = 1e-8  # relative to the largest entry: the sweep leaves such entries out


def gradient_check(
    setup: Setup, params: Params, *, h: float, scheme: str, sweep: bool = True
) -> dict[str, Any]:
    def loss_and_grads(p: Mapping[str, np.ndarray]) -> tuple[float, Params]:
        parts = setup.loss.parts(p, setup.X, setup.y, setup.reg)
        return float(parts.total), parts.grads

    analytic = loss_and_grads(params)[1]
    numeric = _numerical(loss_and_grads, params, h, scheme)
    with np.errstate(divide="ignore", invalid="ignore"):
        report = check_gradient(loss_and_grads, params, mode="all", h=h)
    checked = {(row.name, row.index): row for row in report.rows}
    demo = cs231n_demo_gradient(setup, params)
    rows = []
    for key in ("W", "b"):
        for index in np.ndindex(params[key].shape):
            row = checked[(key, index)]
            a, d = float(analytic[key][index]), float(demo[key][index])
            n = float(numeric[key][index])
            rel, demo_rel = relative_error(a, n), relative_error(d, n)
            rows.append(
                {
                    "name": f"{key}[{','.join(map(str, index))}]",
                    "analytic": a,
                    "numeric": _finite_or_none(n),
                    "rel_error": _finite_or_none(rel),
                    "at_noise_floor": rel > TOL_SMOOTH and abs(a - n) <= row.noise_floor,
                    "kink": row.kink,
                    "passed": row.passed,
                    "demo_analytic": d,
                    "demo_rel_error": _finite_or_none(demo_rel),
                    "demo_at_noise_floor": demo_rel > TOL_SMOOTH and abs(d - n) <= row.noise_floor,
                }
            )
    return {
        "rows": rows,
        "verdict": report.verdict,
        "h": h,
        "scheme": scheme,
        "sweep": error_sweep(loss_and_grads, params, analytic) if sweep else None,
    }


def cs231n_demo_gradient(setup: Setup, params: Params) -> Params:
    """The CS231n demo's gradient: data gradient plus ``0.5 reg W`` (bias unregularized)."""
    data_grads = setup.loss.parts(params, setup.X, setup.y, 0.0).grads
    return {
        "W": data_grads["W"] + CS231N_REG_GRADIENT_FACTOR * setup.reg * params["W"],
        "b": data_grads["b"],
    }


def error_sweep(loss_and_grads: Any, params: Params, analytic: Params) -> dict[str, list]:
    """Largest relative error against h, for both schemes, over the entries whose analytic
    gradient is not 0: where it is 0 (as ``b[2]`` at the CS231n defaults) any rounding noise
    in the numerical value has relative error 1, whatever h."""
    entries = [(key, index) for key in ("W", "b") for index in np.ndindex(params[key].shape)]
    largest = max(abs(float(analytic[key][index])) for key, index in entries)
    judged = [e for e in entries if abs(float(analytic[e[0]][e[1]])) > ZERO_GRADIENT * largest]
    errors: dict[str, list] = {"centered": [], "forward": []}
    for h in SWEEP_H:
        for scheme, values in errors.items():
            numeric = _numerical(loss_and_grads, params, float(h), scheme)
            errors_at_h = [
                relative_error(float(analytic[key][index]), float(numeric[key][index]))
                for key, index in judged
            ]
            finite = bool(errors_at_h) and np.all(np.isfinite(errors_at_h))
            values.append(float(max(errors_at_h)) if finite else None)
    return {"h": SWEEP_H.tolist(), **errors}


def _numerical(loss_and_grads: Any, params: Params, h: float, scheme: str) -> Params:
    # A step below the rounding of a large entry is taken as 0 and divides by 0: report it as
    # missing (None) instead of warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerical_gradient(loss_and_grads, params, h=h, scheme=scheme)


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
