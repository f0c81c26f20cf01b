"""The "copy as Python" button: a script that replays a browser run with slopelab's public API.

The script holds the data, the starting parameters and every setting, and runs the demo's loop
in the open: batch (``slopelab.web.batches``' rule, spelled out), ``loss_fn``, ``update``,
``apply_updates``. Floats are written with ``repr``, which round-trips exactly, so the script
reproduces the browser's iterates bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from slopelab.web.convert import schedule_description
from slopelab.web.features import FEATURE_SOURCE, row_names
from slopelab.web.models import OptimizerIn

LOSS_LABELS = {
    "svm": "Weston–Watkins SVM",
    "svm-ova": "one-vs-all SVM",
    "svm-structured": "structured SVM",
    "softmax": "softmax",
}


def python_script(
    *,
    X: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, np.ndarray],
    loss_name: str,
    reg: float,
    optimizer: OptimizerIn,
    batch_size: int | None,
    seed: int,
    num_steps: int,
    modified: bool = False,
    features: Sequence[str] = (),
    half_l2: bool = False,
    regularize_bias: bool = False,
    held_out: Sequence[int] = (),
) -> str:
    """The script; ``X`` holds the points, the script builds ``features`` itself (numpy).
    ``held_out``: the page's numbers of the test points, which ``X`` leaves out."""
    minibatch = batch_size is not None and batch_size < len(y)
    schedule = schedule_description(optimizer)
    lines = [
        '"""Replay of a slopelab demo run.',
        "",
        f"{num_steps} updates of {optimizer.name} on {len(y)} points, "
        f"{LOSS_LABELS[loss_name]} loss, L2 strength {reg!r}.",
    ]
    if len(held_out):
        lines += [
            f"The page held out {len(held_out)} more points as test points (numbers "
            f"{', '.join(str(i) for i in held_out)}): the run trains on the other {len(y)} only.",
        ]
    if modified:
        lines += [
            "The browser run changed settings or data after it started: this script replays the",
            "current settings and data from the run's first stored iterate, so its numbers can",
            "differ from the ones the page showed.",
        ]
    lines += ['"""', "", "import numpy as np"]
    lines.append("from slopelab import apply_updates, get_loss, get_optimizer")
    if schedule is not None:
        lines.append("from slopelab.schedules import schedule_from_dict")
    lines += ["", *_array_lines("X", X), f"y = np.array({_literal(y)})"]
    lines += feature_lines(features)
    lines += [
        "params = {  # W (D, C): one row per feature, one column per class",
        f'    "W": np.array({_literal(params["W"])}),',
        f'    "b": np.array({_literal(params["b"])}),',
        "}",
    ]
    conventions = half_l2 or regularize_bias
    if conventions:
        lines += convention_lines(loss_name, half_l2, regularize_bias)
    else:
        lines.append(f"loss_fn = get_loss({_literal(loss_name)})")
    lines.append(f"reg = {reg!r}")
    learning_rate = repr(optimizer.learning_rate)
    if schedule is not None:
        lines.append(f"schedule = {_literal(schedule)}")
        lines.append("learning_rate = schedule_from_dict(schedule)")
        learning_rate = "learning_rate"
    keywords = "".join(f", {key}={value!r}" for key, value in optimizer.hyperparams.items())
    lines.append(
        f"optimizer = get_optimizer({_literal(optimizer.name)}, {learning_rate}{keywords})"
    )
    if minibatch:
        lines.append(f"batch_size, seed = {batch_size!r}, {seed!r}")
    lines += ["", "state = optimizer.init(params)", f"for step in range({num_steps}):"]
    lines += _loop_body(minibatch)
    if conventions:
        lines += ["", "loss, _ = loss_fn(params, X, y, reg)"]
        lines.append(f'print(f"after {num_steps} steps: total {{loss:.4f}}")')
    else:
        lines += [
            "",
            "parts = loss_fn.parts(params, X, y, reg)",
            "print(",
            f'    f"after {num_steps} steps: data loss {{parts.data_loss:.4f}}, "',
            '    f"reg loss {parts.reg_loss:.4f}, total {parts.total:.4f}"',
            ")",
        ]
    lines.append(
        'print("W =", params["W"].round(4).tolist(), " b =", params["b"].round(4).tolist())'
    )
    return "\n".join(lines) + "\n"


def feature_lines(features: Sequence[str]) -> list[str]:
    """Replace the points by ``phi(x) = [x0, x1, features...]`` (slopelab.web.features)."""
    if not features:
        return []
    names = ", ".join(row_names(features))
    columns = ", ".join(FEATURE_SOURCE[name] for name in features)
    return [
        f"# the model is linear in phi(x) = [{names}]: W has one row per column",
        "x0, x1 = X[:, 0], X[:, 1]",
        f"X = np.column_stack([X, {columns}])",
    ]


def convention_lines(loss_name: str, half_l2: bool, regularize_bias: bool) -> list[str]:
    """A ``loss_fn`` with the page's regularization (slopelab.web.conventions): slopelab
    penalizes W only, as ``reg * sum(W**2)``; the rest is spelled out here."""
    factor = "0.5 * reg" if half_l2 else "reg"
    penalty = "sum(W**2) + sum(b**2)" if regularize_bias else "sum(W**2)"
    lines = [
        f"data_loss_fn = get_loss({_literal(loss_name)})  # its penalty: reg * sum(W**2)",
        "",
        "",
        "def loss_fn(params, X, y, reg):",
        f'    """Data loss + {factor} * ({penalty}), and its gradients."""',
        f"    strength = {factor}",
        "    loss, grads = data_loss_fn(params, X, y, strength)  # + strength * sum(W**2)",
    ]
    if regularize_bias:
        lines += [
            '    b = params["b"]',
            "    loss += strength * np.vdot(b, b)  # the bias is penalized too",
            '    grads["b"] = grads["b"] + strength * (2.0 * b)',
        ]
    return [*lines, "    return loss, grads", "", ""]


def _loop_body(minibatch: bool) -> list[str]:
    if not minibatch:
        return [
            "    loss, grads = loss_fn(params, X, y, reg)  # full batch",
            "    updates, state = optimizer.update(grads, state, params)",
            "    params = apply_updates(params, updates)",
        ]
    return [
        "    # a fresh permutation every epoch, visited in slices (the demo's shuffle)",
        "    epoch, position = divmod(step, -(-len(y) // batch_size))",
        "    order = np.random.default_rng([seed, epoch]).permutation(len(y))",
        "    batch = order[position * batch_size : (position + 1) * batch_size]",
        "    loss, grads = loss_fn(params, X[batch], y[batch], reg)",
        "    updates, state = optimizer.update(grads, state, params)",
        "    params = apply_updates(params, updates)",
    ]


def _array_lines(name: str, array: np.ndarray) -> list[str]:
    rows = [f"    {_literal(row)}," for row in np.asarray(array)]
    return [f"{name} = np.array(", "    [", *[f"    {row}" for row in rows], "    ]", ")"]


def _literal(value: Any) -> str:
    """A Python literal: floats round-trip exactly (``repr``), strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = (f"{_literal(key)}: {_literal(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(array.item())
    return "[" + ", ".join(_literal(item) for item in array) + "]"
