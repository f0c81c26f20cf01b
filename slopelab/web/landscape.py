"""The loss over a 2-D slice of parameter space, and the optimizer's path projected onto it.

A slice through the centre ``p0`` along two orthonormal directions ``d1, d2`` (over all of W and
b together) is ``p(a, b) = p0 + a d1 + b d2``. With ``axes.kind == "coordinates"`` the directions
are two unit vectors, so the axes read the parameters' own values; with ``"random"`` they are
Gaussian directions from a seed, orthonormalized (Gram–Schmidt), and the axes read offsets from
``p0``. A point ``p`` projects to ``(<p - p0, d1>, <p - p0, d2>)``, exact when ``p`` lies in the
slice.

The grid is evaluated in chunks: scores for many parameter settings at once through
``slopelab.linear.class_scores`` (``W (P, D, C)``, ``b (P, 1, C)`` broadcast), then the loss's
own per-example function on the stacked scores, which works on any batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from slopelab.linear import class_scores
from slopelab.web.conventions import regularization
from slopelab.web.convert import InputError, Params, Setup, params_to_json
from slopelab.web.models import MAX_PARAM, PARAM_NAME, AxesIn

CHUNK_ENTRIES = 1_000_000  # scores per chunk (P * N * C), about 8 MB of float64


def directions(axes: AxesIn, params: Mapping[str, np.ndarray]) -> tuple[Params, Params, list]:
    """``d1, d2`` shaped like the params, and each axis's ``(label, value at the centre)``."""
    if axes.kind == "coordinates":
        first, second = unit_vector(axes.first, params), unit_vector(axes.second, params)
        centres = [(name, float(_entry(name, params))) for name in (axes.first, axes.second)]
        return first, second, centres
    rng = np.random.default_rng(axes.seed)
    raw = [{key: rng.standard_normal(p.shape) for key, p in params.items()} for _ in range(2)]
    first = _scaled(raw[0], 1.0 / _norm(raw[0]))
    along_first = _dot(raw[1], first)
    second = {key: raw[1][key] - along_first * first[key] for key in params}
    second = _scaled(second, 1.0 / _norm(second))
    return first, second, [("random direction 1", 0.0), ("random direction 2", 0.0)]


def unit_vector(name: str, params: Mapping[str, np.ndarray]) -> Params:
    """The direction of parameter ``name`` (``"W[d,k]"`` or ``"b[k]"``)."""
    key, index = _parse(name)
    vector = {k: np.zeros_like(p) for k, p in params.items()}
    vector[key][index] = 1.0
    return vector


def loss_surface(
    setup: Setup,
    centre: Params,
    first: Params,
    second: Params,
    offsets: np.ndarray,
    quantity: str = "total",
) -> np.ndarray:
    """``values[r, c]`` = loss at ``centre + offsets[c] d1 + offsets[r] d2``, shape (G, G)."""
    alphas, betas = np.meshgrid(offsets, offsets)  # (G, G): alpha varies along columns
    alphas, betas = alphas.ravel(), betas.ravel()
    num_examples, num_classes = setup.num_examples, centre["W"].shape[1]
    chunk = max(1, CHUNK_ENTRIES // (num_examples * num_classes))
    values = np.empty(alphas.size)
    for start in range(0, alphas.size, chunk):
        a, b = alphas[start : start + chunk], betas[start : start + chunk]
        W = centre["W"] + a[:, None, None] * first["W"] + b[:, None, None] * second["W"]
        bias = centre["b"] + a[:, None] * first["b"] + b[:, None] * second["b"]
        scores = class_scores({"W": W, "b": bias[:, None, :]}, setup.X)  # (P, N, C)
        stacked = scores.reshape(-1, num_classes)
        example_losses, _ = setup.loss.example_loss(stacked, np.tile(setup.y, len(a)))
        chunk_values = example_losses.reshape(len(a), num_examples).mean(axis=1)
        if quantity == "total":
            chunk_values += np.array(
                [regularization(setup.loss, w, c, setup.reg) for w, c in zip(W, bias, strict=True)]
            )
        values[start : start + len(a)] = chunk_values
    return values.reshape(offsets.size, offsets.size)


def project(path: Sequence[Params], centre: Params, first: Params, second: Params) -> list:
    """``[[a, b], ...]``: each point's offsets along ``d1`` and ``d2``."""
    projected = []
    for params in path:
        delta = {key: params[key] - centre[key] for key in centre}
        projected.append([_dot(delta, first), _dot(delta, second)])
    return projected


def landscape(
    setup: Setup,
    params: Params,
    axes: AxesIn,
    *,
    span: float,
    size: int,
    quantity: str = "total",
    paths: Sequence[Sequence[Params]] = (),
    batch_grads: Params | None = None,
) -> dict[str, Any]:
    """The grid of losses around ``params``, the projected paths and descent directions."""
    first, second, centres = directions(axes, params)
    offsets = np.linspace(-span, span, size)
    values = loss_surface(setup, params, first, second, offsets, quantity)
    grads = setup.loss.parts(params, setup.X, setup.y, setup.reg).grads
    axes_out = [
        {"label": label, "values": (centre + offsets).tolist(), "centre": centre}
        for label, centre in centres
    ]
    shifted_paths = []
    for path in paths:
        shifted_paths.append(
            [
                [a + centres[0][1], b + centres[1][1]]
                for a, b in project(path, params, first, second)
            ]
        )
    return {
        "first": axes_out[0],
        "second": axes_out[1],
        "values": values.tolist(),
        "minimum": float(values.min()),
        "maximum": float(values.max()),
        "paths": shifted_paths,
        "descent": _descent(grads, first, second),
        "batch_descent": None if batch_grads is None else _descent(batch_grads, first, second),
    }


def point_at(
    params: Params, axes: AxesIn, first_value: float, second_value: float
) -> dict[str, Any]:
    """The parameters at axis values ``(first_value, second_value)`` of the slice."""
    return params_to_json(_moved_to(params, axes, first_value, second_value))


def _moved_to(params: Params, axes: AxesIn, first_value: float, second_value: float) -> Params:
    """``p0 + a d1 + b d2`` for the axis values, refused beyond the API's parameter range."""
    first, second, centres = directions(axes, params)
    a, b = first_value - centres[0][1], second_value - centres[1][1]
    moved = {key: params[key] + a * first[key] + b * second[key] for key in params}
    if axes.kind == "coordinates":  # exact: no rounding from centre + (value - centre)
        for name, value in ((axes.first, first_value), (axes.second, second_value)):
            key, index = _parse(name)
            moved[key][index] = value
    _check_in_range(moved, first_value, second_value)
    return moved


def value_at(
    setup: Setup,
    params: Params,
    axes: AxesIn,
    first_value: float,
    second_value: float,
    quantity: str = "total",
) -> dict[str, Any]:
    """``L(p(a, b))`` at the point itself (the grid only holds its cell centres), with ``p``."""
    moved = _moved_to(params, axes, first_value, second_value)
    parts = setup.loss.parts(moved, setup.X, setup.y, setup.reg)
    value = parts.total if quantity == "total" else parts.data_loss
    return {
        "first": first_value, "second": second_value, "value": float(value),
        "params": params_to_json(moved),
    }  # fmt: skip


def _check_in_range(params: Mapping[str, np.ndarray], first: float, second: float) -> None:
    """Refuse a point the API would refuse as parameters: an entry beyond ``MAX_PARAM``."""
    for key, values in params.items():
        outside = ~(np.abs(values) <= MAX_PARAM)
        if np.any(outside):
            index = tuple(int(i) for i in np.argwhere(outside)[0])
            name = f"{key}[{','.join(map(str, index))}]"
            raise InputError(
                f"the point ({first:g}, {second:g}) is outside the parameter range: {name} "
                f"would be {values[index]:.6g}, and every parameter must lie in "
                f"[{-MAX_PARAM:g}, {MAX_PARAM:g}]. Pick a point nearer the centre"
            )


def _descent(grads: Mapping[str, np.ndarray], first: Params, second: Params) -> list[float]:
    """The negative gradient's components along ``d1`` and ``d2``."""
    return [-_dot(grads, first), -_dot(grads, second)]


def _parse(name: str) -> tuple[str, tuple[int, ...]]:
    feature, column, bias = PARAM_NAME.match(name).groups()
    if bias is not None:
        return "b", (int(bias),)
    return "W", (int(feature), int(column))


def _entry(name: str, params: Mapping[str, np.ndarray]) -> float:
    key, index = _parse(name)
    return params[key][index]


def _dot(u: Mapping[str, np.ndarray], v: Mapping[str, np.ndarray]) -> float:
    return float(sum(np.vdot(u[key], v[key]) for key in v))


def _norm(u: Mapping[str, np.ndarray]) -> float:
    return float(np.sqrt(_dot(u, u)))


def _scaled(u: Mapping[str, np.ndarray], factor: float) -> Params:
    return {key: factor * value for key, value in u.items()}
