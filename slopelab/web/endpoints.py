"""One function per API endpoint: a validated request model in, a JSON-ready dict out.

They only translate (``slopelab.web.convert``) and delegate to the pure computations; the app
(``slopelab.web.app``) maps them to routes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slopelab.optim import DEFAULTS as OPTIMIZER_DEFAULTS
from slopelab.web import models as m
from slopelab.web.all_losses import all_losses
from slopelab.web.compute import advance, evaluate, minibatch
from slopelab.web.convert import (
    Setup,
    opt_state_from,
    optimizer_from,
    params_from,
    params_to_json,
    setup_from,
)
from slopelab.web.explain import explain_point
from slopelab.web.export import LOSS_LABELS, python_script
from slopelab.web.features import with_feature_rows
from slopelab.web.gradients import gradient_check
from slopelab.web.heldout import random_mask
from slopelab.web.landscape import landscape, point_at, value_at
from slopelab.web.lr_scan import log_rates, scan
from slopelab.web.presets import (
    DEFAULT_REG,
    DEFAULT_STEP_SIZE,
    SCHEDULE_DEFAULTS,
    dataset,
    initial_params,
    preset_noise,
)

STEP_SIZE_RANGE = (0.0005, 5.0)  # the CS231n demo's log slider
REG_RANGE = (0.01, 100.0)
NUDGE = 0.1


def defaults() -> dict[str, Any]:
    """The CS231n demo's data, W, b and settings, the choices, and the API's limits."""
    optimizers = {}
    for name, values in OPTIMIZER_DEFAULTS.items():
        hyper = {k: v for k, v in values.items() if isinstance(v, float) and k != "learning_rate"}
        optimizers[name] = {"learning_rate": values["learning_rate"], "hyperparams": hyper}
    return {
        "data": dataset("cs231n", 9, 3, 0.0, 0),
        "params": params_to_json(initial_params("default", 3)),
        "loss": "svm",
        "reg": DEFAULT_REG,
        "learning_rate": DEFAULT_STEP_SIZE,
        "ranges": {"learning_rate": STEP_SIZE_RANGE, "reg": REG_RANGE},
        "nudge": NUDGE,
        "losses": [{"name": name, "label": label} for name, label in LOSS_LABELS.items()],
        "optimizers": optimizers,
        "schedules": SCHEDULE_DEFAULTS,
        "presets": list(m.PresetName.__args__),
        "features": list(m.FeatureName.__args__),
        "preset_noise": preset_noise(),
        "limits": {
            "points": m.MAX_POINTS,
            "classes": [m.MIN_CLASSES, m.MAX_CLASSES],
            "grid": m.MAX_GRID,
            "landscape": m.MAX_LANDSCAPE,
            "steps_per_request": m.MAX_STEPS_PER_REQUEST,
            "path_points": m.MAX_PATH_POINTS,
            "runners": m.MAX_RUNNERS,
            "body_bytes": m.MAX_BODY_BYTES,
        },
    }


def evaluate_state(request: m.EvaluateIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    size, seed = _batch(request.batch)
    return evaluate(
        setup, params, grid_size=request.grid_size, batch_size=size, seed=seed, step=request.step
    )


def step(request: m.StepIn) -> dict[str, Any]:
    setup = setup_from(request)
    size, seed = _batch(request.batch)
    result = _advance(setup, request, request, size, seed)
    last_step = request.step + len(result["records"])
    result["evaluation"] = evaluate(
        setup, result.pop("params"), grid_size=request.grid_size, batch_size=size, seed=seed,
        step=last_step,
    )  # fmt: skip
    return result


def race(request: m.RaceIn) -> dict[str, Any]:
    setup = setup_from(request)
    size, seed = _batch(request.batch)
    runners = []
    for runner in request.runners:
        result = _advance(setup, runner, request, size, seed)
        del result["params"]
        runners.append({"id": runner.id, **result})
    return {"runners": runners}


def loss_landscape(request: m.LandscapeIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    size, seed = _batch(request.batch)
    batch = minibatch(setup, params, size, seed, request.step)
    return landscape(
        setup, params, request.axes, span=request.span, size=request.size,
        quantity=request.quantity, paths=[[params_from(p) for p in path] for path in request.paths],
        batch_grads=None if batch is None else batch[1].grads,
    )  # fmt: skip


def landscape_point(request: m.LandscapePointIn) -> dict[str, Any]:
    return point_at(params_from(request.params), request.axes, request.first, request.second)


def landscape_value(request: m.LandscapeValueIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    return value_at(
        setup, params, request.axes, request.first, request.second, quantity=request.quantity
    )


def gradcheck(request: m.GradcheckIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    return gradient_check(setup, params, h=request.h, scheme=request.scheme, sweep=request.sweep)


def lr_scan(request: m.LrScanIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    size, seed = _batch(request.batch)
    rates = log_rates(request.min_rate, request.max_rate, request.num_rates)
    points = scan(
        setup, params, request.optimizer, request.opt_state,
        [*rates, request.optimizer.learning_rate], num_steps=request.num_steps,
        step=request.step, batch_size=size, seed=seed,
    )  # fmt: skip
    start = setup.loss.parts(params, setup.X, setup.y, setup.reg)
    return {
        "num_steps": request.num_steps, "start_total": float(start.total),
        "points": points[:-1], "current": points[-1],
    }  # fmt: skip


def make_split(request: m.SplitIn) -> dict[str, Any]:
    return {"test": random_mask(request.num_points, request.fraction, request.seed)}


def make_dataset(request: m.DatasetIn) -> dict[str, Any]:
    return dataset(
        request.preset, request.num_points, request.num_classes, request.noise, request.seed
    )


def make_params(request: m.ParamsInitIn) -> dict[str, Any]:
    params = initial_params(request.kind, request.num_classes, request.seed)
    return params_to_json(with_feature_rows(params, len(request.features)))


def python(request: m.PythonIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    optimizer_from(request.optimizer)  # refuse what slopelab would refuse
    size, seed = _batch(request.batch)
    code = python_script(
        X=setup.X[:, :2], y=setup.y, params=params, loss_name=request.loss, reg=setup.reg,
        optimizer=request.optimizer, batch_size=size, seed=seed, num_steps=request.num_steps,
        modified=request.modified, features=setup.features, **request.conventions.model_dump(),
        held_out=() if setup.held_out is None else setup.held_out.test_indices.tolist(),
    )  # fmt: skip
    return {"code": code}


def explain(request: m.ExplainIn) -> dict[str, Any]:
    setup, params = setup_from(request), params_from(request.params)
    optimizer = optimizer_from(request.optimizer)
    state = opt_state_from(optimizer, params, request.opt_state, num_steps=1)
    return explain_point(setup, params, request.index, optimizer, state)


def losses(request: m.AllLossesIn) -> dict[str, Any]:
    every_point = request.data.model_copy(update={"test": None})
    setup = setup_from(
        m.DataLossIn(data=every_point, reg=request.reg, features=request.features,
                     conventions=request.conventions)
    )  # fmt: skip
    train = None if request.data.test is None else ~np.asarray(request.data.test, dtype=bool)
    return all_losses(
        setup.X, setup.y, params_from(request.params), setup.reg, train, like=setup.loss
    )


def _advance(
    setup: Setup,
    runner: m.StepIn | m.RunnerIn,
    request: m.StepIn | m.RaceIn,
    size: int | None,
    seed: int,
) -> dict[str, Any]:
    """``request.num_steps`` updates of ``runner`` (its params, optimizer, state, step)."""
    params = params_from(runner.params)
    optimizer = optimizer_from(runner.optimizer)
    state = opt_state_from(optimizer, params, runner.opt_state, num_steps=request.num_steps)
    return advance(
        setup, params, optimizer, state, num_steps=request.num_steps, step=runner.step,
        batch_size=size, seed=seed, recent_totals=runner.recent_totals,
    )  # fmt: skip


def _batch(batch: m.BatchIn | None) -> tuple[int | None, int]:
    return (None, 0) if batch is None else (batch.size, batch.seed)
