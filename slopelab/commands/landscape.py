"""``slopelab landscape``: the loss along a random line and over a random plane through W.

The CS231n notes' "visualizing the loss function": ``L(W + a d)`` for a random direction ``d``
and ``L(W + a d1 + b d2)`` over a plane. Directions are Gaussian, rescaled to the norm of W
(so ``a = 1`` is a step as long as W itself; at a tiny W they are rescaled to norm 1). With
``--trajectory`` the plane is instead spanned by the two principal directions of the optimizer's
path (Li et al., 2018), so the path projects onto it faithfully, and is drawn on the contours.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from slopelab.commands import summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    add_loss_arguments,
    positive_float,
    positive_int,
)
from slopelab.commands.console import Console, console_for
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.data.prepare import Prepared
from slopelab.errors import CommandError
from slopelab.history import Budget, History
from slopelab.linear import init_params
from slopelab.losses import Loss, get_loss
from slopelab.model import load_model
from slopelab.optim import OPTIMIZERS
from slopelab.problem import Problem
from slopelab.train import DescentConfig, DescentState, descend, resolve_optimizer, start_state


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "landscape", help=summary("landscape"), description=__doc__.split("\n\n")[1]
    )
    add_data_arguments(parser)
    add_loss_arguments(parser)
    parser.add_argument(
        "--at",
        default="trained",
        metavar="init|trained|RUN",
        help="the point W: a fresh initialization, W after training with "
        "--optimizer for --epochs (default), or the model of a run folder",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument(
        "--trajectory",
        action="store_true",
        help="span the plane by the training path and draw the path on it",
    )
    parser.add_argument(
        "--span",
        type=positive_float,
        default=1.0,
        help="a and b range over [-SPAN, SPAN] (default: 1)",
    )
    parser.add_argument(
        "--resolution",
        type=positive_int,
        default=41,
        help="grid points per axis of the plane (default: 41)",
    )
    parser.add_argument(
        "--num-examples",
        type=positive_int,
        default=1000,
        help="training examples the loss is evaluated on (default: 1000)",
    )
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab import plots

    console = console_for(args)
    if args.trajectory and args.at != "trained":
        raise CommandError("--trajectory needs --at trained (the path comes from training here)")
    prepared, run_dir, _ = start_run(args, "landscape", console)
    loss = get_loss(args.loss, args.penalty)
    params, path, features = point_and_path(prepared, args, loss)
    rows = np.random.default_rng(args.seed).permutation(len(prepared.y_train))
    rows = rows[: args.num_examples]
    X, y = features[rows], prepared.y_train[rows]
    rng = np.random.default_rng(args.seed + 1)
    line_direction = random_direction(params["W"], rng)
    offsets = np.linspace(-args.span, args.span, 201)
    line = np.array([_total(loss, params, line_direction * a, X, y, args.reg) for a in offsets])
    if args.trajectory:
        d1, d2 = path_directions(path, params["W"])
    else:
        d1, d2 = random_direction(params["W"], rng), random_direction(params["W"], rng)
    grid = np.linspace(-args.span, args.span, args.resolution)
    with console.bar(args.resolution, "plane") as bar:
        plane = np.empty((args.resolution, args.resolution))
        for row, b in enumerate(grid):
            for column, a in enumerate(grid):
                plane[row, column] = _total(loss, params, a * d1 + b * d2, X, y, args.reg)
            bar.update(1)
    projected = project(path, params["W"], d1, d2) if args.trajectory else None
    figures = [
        plots.landscape_line(offsets, line, run_dir / "landscape_line.png"),
        plots.landscape_plane(
            grid,
            grid,
            plane,
            run_dir / "landscape_plane.png",
            projected,
            "Loss over the plane of the training path" if args.trajectory else "",
        ),
    ]
    centre = _total(loss, params, np.zeros_like(params["W"]), X, y, args.reg)
    _describe(console, centre, line, plane, offsets)
    document: dict[str, Any] = {
        "center_loss": centre,
        "line_min_loss": float(np.nanmin(line)),
        "plane_min_loss": float(np.nanmin(plane)),
        "plane_max_loss": float(np.nanmax(plane)),
        "figures": [str(f) for f in figures],
        "run_dir": str(run_dir),
    }
    return finish_run(console, run_dir, document)


def point_and_path(
    prepared: Prepared, args: argparse.Namespace, loss: Loss
) -> tuple[dict[str, np.ndarray], list[np.ndarray], np.ndarray]:
    """W to look around, the W's along training (about 200 at most; empty if not trained
    here), and the training features in the space of W."""
    rng = np.random.default_rng(args.seed)
    if args.at not in ("init", "trained"):
        model = load_model(args.at)
        return model.params, [], model.features(prepared.dataset.X_train)
    num_features, num_classes = prepared.X_train.shape[1], prepared.dataset.num_classes
    if args.at == "init":
        return init_params(num_features, num_classes, rng, dtype=np.float32), [], prepared.X_train
    problem = Problem(loss, prepared.X_train, prepared.y_train)
    optimizer = resolve_optimizer(args.optimizer, "auto", problem.X, args.reg)
    config = DescentConfig(reg=args.reg, batch_size=200, eval_every=None)
    state = start_state(problem, optimizer, rng)
    steps_per_epoch = -(-problem.num_examples // min(200, problem.num_examples))
    every = max(1, steps_per_epoch * args.epochs // 200)
    path = [state.params["W"]]

    def record(current: DescentState, history: History) -> None:
        if current.step % every == 0:
            path.append(current.params["W"])

    history = descend(
        problem, optimizer, config, Budget(epochs=args.epochs), rng, state=state, on_step=record
    )
    return history.params, path, prepared.X_train


def random_direction(W: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction with the norm of W (norm 1 if W is tiny)."""
    direction = rng.standard_normal(W.shape).astype(W.dtype)
    scale = max(float(np.linalg.norm(W)), 1.0) / float(np.linalg.norm(direction))
    return direction * scale


def path_directions(path: list[np.ndarray], W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The top two principal directions of ``W_t - W_final``, scaled to the path's extent."""
    offsets = np.stack([(w - W).ravel() for w in path]).astype(np.float64)
    _, _, rows = np.linalg.svd(offsets, full_matrices=False)
    extent = float(np.abs(offsets @ rows[0]).max()) or 1.0
    d1 = (rows[0] * extent).reshape(W.shape).astype(W.dtype)
    d2 = (rows[1] * extent).reshape(W.shape).astype(W.dtype)
    return d1, d2


def project(path: list[np.ndarray], W: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Coordinates (a, b) of each ``W_t - W`` in the plane of d1, d2 (least squares)."""
    basis = np.stack([d1.ravel(), d2.ravel()], axis=1).astype(np.float64)
    offsets = np.stack([(w - W).ravel() for w in path]).astype(np.float64)
    coordinates, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
    return coordinates.T


def _total(
    loss: Loss,
    params: dict[str, np.ndarray],
    dW: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    reg: float,
) -> float:
    moved = {"W": params["W"] + dW, "b": params["b"]}
    data_loss, reg_loss = loss.evaluate(moved, X, y, reg)
    return float(data_loss + reg_loss)


def _describe(
    console: Console, centre: float, line: np.ndarray, plane: np.ndarray, offsets: np.ndarray
) -> None:
    lowest = int(np.nanargmin(line))
    console.say(
        f"loss at W: {centre:.4f}; along the line it ranges "
        f"{np.nanmin(line):.4f}..{np.nanmax(line):.4f} (lowest at a = "
        f"{offsets[lowest]:+.2f}); over the plane {np.nanmin(plane):.4f}.."
        f"{np.nanmax(plane):.4f}"
    )
