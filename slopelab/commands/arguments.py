"""Every knob of a run, declared once with its type and help, so that ``train``, ``compare``,
``sweep`` and the rest spell and validate it the same way.

Only light modules are imported here (argparse and slopelab's registries of names), so that
``slopelab --help`` and a mistyped flag answer at once.
"""

from __future__ import annotations

import argparse
import math

from slopelab.data.registry import DATASETS
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.optim import OPTIMIZERS
from slopelab.regularization import PENALTIES
from slopelab.train import SAMPLINGS

PREPROCESSING = ("auto", "standardize", "center", "scale", "none")
FULL_BATCH = "full"
MAX_SEED = 2**32 - 1


def _number(text: str, kind: type) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}") from None


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number; got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text}")
    return value


def seed_value(text: str) -> int:
    """A seed: a whole number from 0 to 2**32 - 1, what scikit-learn's seeded splits accept."""
    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED}; got {text}")
    return value


def thread_count(text: str) -> int:
    """BLAS threads: a whole number from 1 to 1024 (more than any machine here has cores)."""
    value = _number(text, int)
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1024; got {text}")
    return value


def port_number(text: str) -> int:
    value = _number(text, int)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535; got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0; got {text}")
    return value


def fraction_value(text: str) -> float:
    """A number from 0 to 1, both included (``--l1-ratio``)."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1; got {text}")
    return value


def learning_rate_value(text: str) -> float | str:
    return "auto" if text == "auto" else positive_float(text)


def batch_size_value(text: str) -> int | str:
    """A positive whole number, or ``full`` for the whole training set (gradient descent)."""
    return FULL_BATCH if text == FULL_BATCH else positive_int(text)


def add_data_arguments(
    parser: argparse.ArgumentParser, default: str | None = "digits", preprocess: bool = True
) -> None:
    """The data flags; ``preprocess=False`` leaves out ``--preprocess`` (a saved model brings
    its own preprocessing)."""
    group = parser.add_argument_group("data")
    names = ", ".join(DATASETS)
    shown = f" (default: {default})" if default else " (default: the model's own dataset)"
    group.add_argument(
        "--data",
        default=default,
        metavar="NAME|FILE|PACKED",
        help=f"dataset: {names}, toy2d:GENERATOR, a .npz/.csv/svmlight (.svm) file, or a "
        "folder packed by "
        f"slopelab data pack (images from folders){shown}",
    )
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where datasets live (default: $SLOPELAB_DATA, else the user cache)",
    )
    group.add_argument(
        "--num-train",
        type=positive_int,
        metavar="N",
        help="training examples (default: the dataset's split)",
    )
    group.add_argument(
        "--num-val",
        type=positive_int,
        metavar="N",
        help="validation examples (CIFAR-10/MNIST: the last N training images)",
    )
    group.add_argument("--num-test", type=positive_int, metavar="N", help="test examples")
    if preprocess:
        group.add_argument(
            "--preprocess",
            choices=PREPROCESSING,
            default="auto",
            help="feature preprocessing fitted on the training split: standardize, "
            "center (subtract the mean image, as CS231n), scale, none; auto = the "
            "dataset's default",
        )
    group.add_argument(
        "--label-column", metavar="NAME", help="label column of a CSV file (any letter case)"
    )
    group.add_argument(
        "--test-data",
        metavar="FILE",
        help="an svmlight --data file's test split, from its own svmlight file (LIBLINEAR's "
        "habit); read with the training file's width and index base",
    )
    group.add_argument(
        "--zero-based",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether an svmlight file's feature indices start at 0 (yes) or 1 (no); auto: "
        "from 0 only if some index is 0 (a saved model reads files with its own base)",
    )


def add_loss_arguments(
    parser: argparse.ArgumentParser,
    reg: float | None = 1e-4,
    loss: str | None = "softmax",
    elasticnet: bool = False,
) -> None:
    """``--loss --penalty --reg``; ``reg=None`` or ``loss=None`` means the default depends on
    the dataset (the command resolves it and says which in its help). ``elasticnet``: offer
    ``--penalty elasticnet`` and ``--l1-ratio`` (a command that trains with them)."""
    group = parser.add_argument_group("loss")
    group.add_argument(
        "--loss",
        choices=tuple(EXAMPLE_LOSSES),
        default=loss,
        help="svm (Weston–Watkins), svm-ova, svm-structured or softmax (default: "
        + ("the dataset's" if loss is None else loss)
        + ")",
    )
    group.add_argument(
        "--penalty",
        choices=tuple(name for name in PENALTIES if elasticnet or name != "elasticnet"),
        default="l2",
        help="weight penalty R(W): l2 = sum W^2 (default), l1, none"
        + (
            ", elasticnet = r sum|W| + (1 - r) sum W^2 with r = --l1-ratio (its L1 part by a "
            "proximal step: exact zeros)"
            if elasticnet
            else ""
        ),
    )
    if elasticnet:
        group.add_argument(
            "--l1-ratio",
            type=fraction_value,
            default=0.15,
            metavar="R",
            help="the L1 share r of --penalty elasticnet, from 0 (l2) to 1 (default: 0.15)",
        )
    shown = "the dataset's default" if reg is None else f"{reg:g}"
    group.add_argument(
        "--reg",
        type=non_negative_float,
        default=reg,
        help=f"regularization strength: loss = data loss + reg * R(W) (default: {shown})",
    )


def add_optimizer_arguments(parser: argparse.ArgumentParser, epochs: int = 20) -> None:
    group = parser.add_argument_group("optimization")
    group.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default: sgd)"
    )
    group.add_argument(
        "--learning-rate",
        "--lr",
        type=learning_rate_value,
        default="auto",
        metavar="RATE|auto",
        help="step size; auto = 1/L from the curvature of the data (SGD), "
        "(1-mu)/L with momentum, 1e-2 for adaptive rules (default: auto)",
    )
    group.add_argument(
        "--schedule",
        default="constant",
        metavar="NAME[:KEY=VALUE,...]",
        help="learning-rate schedule in steps: constant, step:step_size=500,"
        "gamma=0.5, exponential:decay_rate=0.96,decay_steps=100, "
        "inverse-time:decay_rate=0.01, cosine:decay_steps=2000",
    )
    group.add_argument(
        "--warmup",
        type=positive_int,
        metavar="STEPS",
        help="linear warmup over the first STEPS updates",
    )
    group.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="update-rule hyperparameter, e.g. --opt momentum=0.95 --opt beta2=0.99",
    )
    add_batch_size_argument(group)
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=epochs,
        help=f"passes over the training set (default: {epochs})",
    )
    group.add_argument(
        "--sampling",
        choices=SAMPLINGS,
        default="shuffle",
        help="shuffle (a permutation per epoch) or replacement (CS231n's "
        "assignment) (default: shuffle)",
    )


def add_batch_size_argument(
    group: argparse.ArgumentParser | argparse._ArgumentGroup, default: int = 200
) -> None:
    group.add_argument(
        "--batch-size",
        type=batch_size_value,
        default=default,
        metavar="N|full",
        help=f"examples per update, or full for the whole training set (default: {default}; "
        "capped at the training set's size)",
    )


def add_common_arguments(
    parser: argparse.ArgumentParser, runs: bool = True, seed: bool = True, threads: bool = True
) -> None:
    group = parser.add_argument_group("output")
    if seed:
        group.add_argument(
            "--seed", type=seed_value, default=0, help="seed for every random choice"
        )
    if runs:
        group.add_argument(
            "--out",
            default="runs",
            metavar="DIR",
            help="folder that holds run folders (default: runs)",
        )
        group.add_argument("--name", metavar="NAME", help="run folder name (default: dated)")
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout (human output goes to stderr)",
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bars")
    if threads:  # every command that computes
        group.add_argument(
            "--threads",
            type=thread_count,
            metavar="N",
            help="BLAS threads for the matrix products (default: the BLAS library's own, "
            "usually one per core); 1 is often faster on a machine other work keeps busy",
        )
