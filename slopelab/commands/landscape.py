"""``slopelab landscape``: the loss along a random line and over a random plane through W.

The CS231n notes' "visualizing the loss function": ``L(W + a d)`` for a random direction ``d``
and ``L(W + a d1 + b d2)`` over a plane. Directions are Gaussian, rescaled to the norm of W
(so ``a = 1`` is a step as long as W itself; at a tiny W they are rescaled to norm 1). With
``--trajectory`` the plane is instead spanned by the two principal directions of the optimizer's
path (Li et al., 2018), so the path projects onto it faithfully, and is drawn on the contours.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
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
from slopelab.commands.limits import check_recorded_steps
from slopelab.commands.model_setting import Objective, model_objective, with_model_data
from slopelab.commands.partial_results import Progress, keep_partial_results
from slopelab.commands.runfolder import finish_run, start_run
from slopelab.data.prepare import Prepared
from slopelab.errors import CommandError
from slopelab.history import Budget, History
from slopelab.linear import init_params
from slopelab.losses import Loss, get_loss
from slopelab.model import SavedModel, load_model
from slopelab.optim import OPTIMIZERS
from slopelab.problem import Problem
from slopelab.train import (
    DescentConfig,
    DescentState,
    descend,
    resolve_optimizer,
    start_state,
    steps_per_epoch,
)

TRAIN_BATCH_SIZE = 200  # minibatch of the training that finds W (--at trained)
PATH_POINTS = 200  # about this many W's are kept along the training path
LINE_POINTS = 201  # odd, so that a = 0 (W itself) is one of them
MAX_RESOLUTION = 201  # 201 x 201 = 40,401 loss evaluations for the plane
MAX_SPAN = 100.0  # a step 100 times as long as W is far outside anything training visits
DESCRIPTION = """The CS231n notes' "visualizing the loss function": the loss L(W + a d) along a
random direction d through W, and L(W + a d1 + b d2) over a random plane. Directions are
Gaussian, rescaled to the norm of W (so a = 1 is a step as long as W itself; at a tiny W they
are rescaled to norm 1). With --trajectory the plane is instead spanned by the two principal
directions of the optimizer's path (Li et al., 2018), so the path projects onto it faithfully,
and is drawn on the contours."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landscape", help=summary("landscape"), description=DESCRIPTION)
    add_data_arguments(parser)
    add_loss_arguments(parser)
    parser.add_argument(
        "--at",
        default="trained",
        metavar="init|trained|RUN",
        help="the point W: a fresh initialization, W after training with "
        "--optimizer for --epochs (default), or the model of a run folder (or its model.npz), "
        "drawn on its own data with its own loss, penalty and reg (a flag given overrides one, "
        "with a note)",
    )
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="sgd",
        help="update rule of the training for --at trained (default: sgd)",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=10,
        help="epochs of the training for --at trained (default: 10)",
    )
    parser.add_argument(
        "--trajectory",
        action="store_true",
        help="span the plane by the training path and draw the path on it",
    )
    parser.add_argument(
        "--span",
        type=positive_float,
        default=1.0,
        help=f"a and b range over [-SPAN, SPAN] (default: 1; at most {MAX_SPAN:g})",
    )
    parser.add_argument(
        "--resolution",
        type=positive_int,
        default=41,
        help=f"grid points per axis of the plane (default: 41; from 2 to {MAX_RESOLUTION})",
    )
    parser.add_argument(
        "--num-examples",
        type=positive_int,
        default=1000,
        help="training examples the loss is evaluated on (default: 1000; at most the training set)",
    )
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    console = console_for(args)
    check_arguments(args)
    model = None if args.at in ("init", "trained") else load_model(args.at)
    if model is None:
        objective, data_args = Objective(args.loss, args.penalty, args.reg), args
    else:
        data_args, data_notes = with_model_data(args, model)
        objective = model_objective(args, model)
        objective.notes.extend(data_notes)

    def resolve(prepared: Prepared) -> dict[str, Any]:
        if model is not None:  # the model must fit this data before a run folder exists
            model.features(prepared.dataset.X_train[:1])
            check_classes(prepared, model, args.at)
        check_training(args, len(prepared.y_train))
        return {"landscape": {"at": args.at, **objective.as_dict(), "seed": args.seed}}

    # keep_raw: a saved model applies its own preprocessing to the raw rows
    prepared, run_dir, _ = start_run(data_args, "landscape", console, resolve, keep_raw=True)
    for note in objective.notes:
        console.say(f"note: {note}")
    with keep_partial_results(run_dir) as progress:
        return draw(args, console, prepared, run_dir, objective, model, progress)


def draw(
    args: argparse.Namespace,
    console: Console,
    prepared: Prepared,
    run_dir: Path,
    objective: Objective,
    model: SavedModel | None,
    progress: Progress,
) -> int:
    """Find W, measure the line and the plane, draw and report them."""
    from slopelab import plots

    loss = get_loss(objective.loss, objective.penalty, objective.l1_ratio)
    reg = objective.reg
    params, path, features = point_and_path(prepared, args, loss, reg, model)
    rows = np.random.default_rng(args.seed).permutation(len(prepared.y_train))
    rows = rows[: args.num_examples]
    X, y = features[rows], prepared.y_train[rows]
    rng = np.random.default_rng(args.seed + 1)
    line_direction = random_direction(params["W"], rng)
    offsets = np.linspace(-args.span, args.span, LINE_POINTS)
    line = line_losses(loss, params, line_direction, offsets, X, y, reg)
    centre = _total(loss, params, np.zeros_like(params["W"]), X, y, reg)
    document: dict[str, Any] = {
        "center_loss": centre,
        "line_min_loss": float(np.nanmin(line)),
        "num_examples": len(y),
        "objective": objective.as_dict(),
        "at": args.at,
        "data": prepared.dataset.name,
        "run_dir": str(run_dir),
    }
    progress.finished("the line (the plane was not finished)", document)
    if args.trajectory:
        d1, d2 = path_directions(path, params["W"])
    else:
        d1, d2 = random_direction(params["W"], rng), random_direction(params["W"], rng)
    grid = np.linspace(-args.span, args.span, args.resolution)
    with console.bar(args.resolution, "plane") as bar:
        plane = plane_losses(loss, params, (d1, d2), grid, X, y, reg, bar.update)
    document["plane_min_loss"] = float(np.nanmin(plane))
    document["plane_max_loss"] = float(np.nanmax(plane))
    progress.finished("the line and the plane (their figures were not drawn)", document)
    projected = project(path, params["W"], d1, d2) if args.trajectory else None
    label = objective.describe()
    figures = [
        plots.landscape_line(offsets, line, run_dir / "landscape_line.png", label),
        plots.landscape_plane(
            grid,
            grid,
            plane,
            run_dir / "landscape_plane.png",
            projected,
            "Loss over the plane of the training path" if args.trajectory else "",
            label,
        ),
    ]
    console.say(
        f"landscape of the {label} on {len(y)} training examples of {prepared.dataset.name}, "
        f"around {point_description(args)}"
    )
    _describe(console, centre, line, plane, offsets)
    console.say("figures: " + ", ".join(str(path) for path in figures))
    return finish_run(console, run_dir, {**document, "figures": [str(f) for f in figures]})


def point_description(args: argparse.Namespace) -> str:
    """Where W comes from, in words."""
    if args.at == "init":
        return "a fresh initialization W"
    if args.at == "trained":
        epochs = f"{args.epochs} epoch" + ("s" if args.epochs != 1 else "")
        return f"the W of {epochs} of {args.optimizer} from a fresh initialization"
    return f"the W of {args.at}"


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse combinations and sizes that cannot give a picture (before any data is loaded)."""
    given = getattr(args, "given", set())
    if args.trajectory and args.at != "trained":
        raise CommandError("--trajectory needs --at trained (the path comes from training here)")
    for name in ("optimizer", "epochs"):
        if name in given and args.at != "trained":
            raise CommandError(
                f"--{name} sets the training of --at trained; with --at {args.at} there is no "
                f"training: drop --{name}"
            )
    if "preprocess" in given and args.at not in ("init", "trained"):
        raise CommandError(
            f"--preprocess does not apply to --at {args.at}: the model's own preprocessing is "
            "used; drop --preprocess"
        )
    if not 2 <= args.resolution <= MAX_RESOLUTION:
        raise CommandError(
            f"--resolution {args.resolution} is out of range: the plane takes resolution^2 loss "
            f"evaluations; use 2 to {MAX_RESOLUTION}"
        )
    if args.span > MAX_SPAN:
        raise CommandError(
            f"--span {args.span:g} is too far: a = 1 is already a step as long as W; use at "
            f"most {MAX_SPAN:g}"
        )


def check_classes(prepared: Prepared, model: SavedModel, where: str) -> None:
    """The data's classes must be the model's, in the model's order (a column of W each)."""
    names = tuple(prepared.dataset.class_names)
    if names != tuple(model.class_names):
        raise CommandError(
            f"{prepared.dataset.name} has the classes {', '.join(names)}, but {where} scores "
            f"{', '.join(model.class_names)}; draw its landscape on the data it was trained on "
            "(drop --data)"
        )


def check_training(args: argparse.Namespace, num_examples: int) -> dict[str, Any]:
    """Refuse --epochs that mean more training steps than a run can record."""
    if args.at == "trained":
        check_recorded_steps(
            args.epochs * steps_per_epoch(num_examples, TRAIN_BATCH_SIZE),
            f"--epochs {args.epochs} at batch {TRAIN_BATCH_SIZE}",
            "use fewer --epochs",
        )
    return {}


def line_losses(
    loss: Loss,
    params: dict[str, np.ndarray],
    direction: np.ndarray,
    offsets: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    reg: float,
) -> np.ndarray:
    """``L(W + a d)`` for each offset ``a``."""
    return np.array([_total(loss, params, direction * a, X, y, reg) for a in offsets])


def plane_losses(
    loss: Loss,
    params: dict[str, np.ndarray],
    directions: tuple[np.ndarray, np.ndarray],
    grid: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    reg: float,
    row_done: Callable[[int], Any] = lambda rows: None,
) -> np.ndarray:
    """``L(W + a d1 + b d2)`` with ``a`` along the columns and ``b`` along the rows."""
    d1, d2 = directions
    plane = np.empty((len(grid), len(grid)))
    for row, b in enumerate(grid):
        for column, a in enumerate(grid):
            plane[row, column] = _total(loss, params, a * d1 + b * d2, X, y, reg)
        row_done(1)
    return plane


def point_and_path(
    prepared: Prepared,
    args: argparse.Namespace,
    loss: Loss,
    reg: float,
    model: SavedModel | None = None,
) -> tuple[dict[str, np.ndarray], list[np.ndarray], np.ndarray]:
    """W to look around (``model``'s when given), the W's along training (about
    ``PATH_POINTS``; empty if not trained here), and the training features in the space of W."""
    rng = np.random.default_rng(args.seed)
    if model is not None:
        return model.params, [], model.features(prepared.dataset.X_train)
    num_features, num_classes = prepared.X_train.shape[1], prepared.dataset.num_classes
    if args.at == "init":
        return init_params(num_features, num_classes, rng, dtype=np.float32), [], prepared.X_train
    problem = Problem(loss, prepared.X_train, prepared.y_train)
    optimizer = resolve_optimizer(args.optimizer, "auto", problem.X, reg)
    config = DescentConfig(reg=reg, batch_size=TRAIN_BATCH_SIZE, eval_every=None)
    state = start_state(problem, optimizer, rng)
    steps = steps_per_epoch(problem.num_examples, TRAIN_BATCH_SIZE) * args.epochs
    every = max(1, steps // PATH_POINTS)
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
    console: Console,
    centre: float,
    line: np.ndarray,
    plane: np.ndarray,
    offsets: np.ndarray,
) -> None:
    lowest = int(np.nanargmin(line))
    console.say(
        f"loss at W: {centre:.4f}; along the line it ranges {np.nanmin(line):.4f}.."
        f"{np.nanmax(line):.4f} (lowest at a = {offsets[lowest]:+.2f}); over the plane "
        f"{np.nanmin(plane):.4f}..{np.nanmax(plane):.4f}"
    )
