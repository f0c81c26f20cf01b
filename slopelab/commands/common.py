"""What the subcommands share: argument groups, data preparation, optimizer building, output.

Every knob of a run is declared here once, with its type and help, so ``train``, ``compare``,
``sweep`` and the rest spell and validate it the same way.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from slopelab.autolr import auto_learning_rate
from slopelab.data import DATASETS, Dataset, Preprocessor, load_dataset, resolve_data_dir
from slopelab.environment import describe_environment
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.optim import DEFAULTS, OPTIMIZERS, Optimizer, get_optimizer
from slopelab.regularization import PENALTIES
from slopelab.runs import atomic_write_text, dumps, new_run_dir, write_config
from slopelab.schedules import SCHEDULES, linear_warmup
from slopelab.train import SAMPLINGS

PREPROCESSING = ("auto", "standardize", "center", "scale", "none")


class CommandError(Exception):
    """Bad input found by a command; the message is one line saying what to do."""


class InterruptedRun(Exception):  # noqa: N818 (a stop, not an error)
    """Ctrl-C: the message says what was saved and how to continue."""


# ---------------------------------------------------------------------------- argument groups


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0; got {text}")
    return value


def learning_rate_value(text: str) -> float | str:
    return "auto" if text == "auto" else positive_float(text)


def add_data_arguments(parser: argparse.ArgumentParser, default: str = "digits") -> None:
    group = parser.add_argument_group("data")
    names = ", ".join(DATASETS)
    group.add_argument(
        "--data",
        default=default,
        metavar="NAME|FILE",
        help=f"dataset: {names}, toy2d:GENERATOR, or a .npz/.csv file (default: {default})",
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
    group.add_argument(
        "--preprocess",
        choices=PREPROCESSING,
        default="auto",
        help="feature preprocessing fitted on the training split: standardize, "
        "center (subtract the mean image, as CS231n), scale, none; auto = the "
        "dataset's default",
    )
    group.add_argument("--label-column", metavar="NAME", help="label column of a CSV file")


def add_loss_arguments(parser: argparse.ArgumentParser, reg: float = 1e-4) -> None:
    group = parser.add_argument_group("loss")
    group.add_argument(
        "--loss",
        choices=tuple(EXAMPLE_LOSSES),
        default="softmax",
        help="svm (Weston–Watkins), svm-ova, svm-structured or softmax (default: softmax)",
    )
    group.add_argument(
        "--penalty",
        choices=tuple(PENALTIES),
        default="l2",
        help="weight penalty R(W): l2 = sum W^2 (default), l1, none",
    )
    group.add_argument(
        "--reg",
        type=non_negative_float,
        default=reg,
        help=f"regularization strength: loss = data loss + reg * R(W) (default: {reg:g})",
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
    group.add_argument(
        "--batch-size", type=positive_int, default=200, help="examples per update (default: 200)"
    )
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


def add_common_arguments(parser: argparse.ArgumentParser, runs: bool = True) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--seed", type=int, default=0, help="seed for every random choice")
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


# ---------------------------------------------------------------------------- console


class Console:
    """Human output on stdout (stderr in --json mode) and at most one JSON document."""

    def __init__(self, json_mode: bool, progress: bool = True) -> None:
        self.json_mode = json_mode
        self.stream = sys.stderr if json_mode else sys.stdout
        self.progress_enabled = progress and sys.stderr.isatty()

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(header) for header in headers]] + [[_cell(v) for v in r] for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for index, row in enumerate(cells):
            self.say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.say("  ".join("-" * width for width in widths))

    def emit(self, document: dict[str, Any]) -> None:
        if self.json_mode:
            sys.stdout.write(dumps(document, indent=2) + "\n")
            sys.stdout.flush()

    def bar(self, total: int | float | None, description: str) -> tqdm:
        return tqdm(
            total=total,
            desc=description,
            disable=not self.progress_enabled,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def console_for(args: argparse.Namespace) -> Console:
    return Console(getattr(args, "json", False), not getattr(args, "no_progress", False))


# ---------------------------------------------------------------------------- data


@dataclass
class Prepared:
    """A dataset with its preprocessing fitted on the training split and applied to all."""

    dataset: Dataset
    preprocessor: Preprocessor
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def chance(self) -> float:
        return 1.0 / self.dataset.num_classes


def data_config(args: argparse.Namespace) -> dict[str, Any]:
    """The data part of a run's config, with the data folder resolved."""
    is_named = args.data in DATASETS and args.data not in ("digits",)
    return {
        "data": args.data,
        "data_dir": str(resolve_data_dir(args.data_dir)) if is_named else args.data_dir,
        "num_train": args.num_train,
        "num_val": args.num_val,
        "num_test": args.num_test,
        "preprocess": args.preprocess,
        "label_column": args.label_column,
        "seed": args.seed,
    }


def prepare_data(config: dict[str, Any], console: Console | None = None) -> Prepared:
    """Load the dataset named in ``config`` and preprocess it (float32)."""
    dataset = load_dataset(
        config["data"],
        data_dir=config.get("data_dir"),
        num_train=config.get("num_train"),
        num_val=config.get("num_val"),
        num_test=config.get("num_test"),
        seed=config.get("seed", 0),
        label_column=config.get("label_column"),
    )
    kind = config.get("preprocess", "auto")
    kind = dataset.default_preprocess if kind == "auto" else kind
    preprocessor = Preprocessor(kind).fit(dataset.X_train)

    def transform(X: np.ndarray) -> np.ndarray:
        return preprocessor.transform(X).astype(np.float32, copy=False)

    if console is not None:
        console.say(f"{dataset.summary()}; preprocessing: {kind}")
    return Prepared(
        dataset,
        preprocessor,
        transform(dataset.X_train),
        dataset.y_train,
        transform(dataset.X_val),
        dataset.y_val,
        transform(dataset.X_test),
        dataset.y_test,
    )


# ---------------------------------------------------------------------------- optimizer


def parse_key_values(items: Sequence[str], what: str) -> dict[str, float]:
    values = {}
    for item in items:
        key, separator, text = item.partition("=")
        if not separator or not key:
            raise CommandError(f"{what} {item!r} must look like KEY=VALUE, e.g. momentum=0.9")
        try:
            values[key.strip().replace("-", "_")] = float(text)
        except ValueError:
            raise CommandError(f"{what} {item!r}: {text!r} is not a number") from None
    return values


def parse_schedule(spec: str, learning_rate: float, warmup: int | None = None):
    """``NAME[:KEY=VALUE,...]`` -> a schedule starting at ``learning_rate``.

    >>> parse_schedule("step:step_size=100,gamma=0.5", 0.1)(250)
    0.025
    """
    name, _, options = spec.partition(":")
    if name not in SCHEDULES:
        valid = ", ".join(SCHEDULES)
        raise CommandError(f"unknown schedule {name!r}; valid schedules are {valid}")
    if name == "warmup":
        raise CommandError("use --warmup STEPS to add a warmup to any schedule")
    keywords = parse_key_values([o for o in options.split(",") if o], "schedule option")
    integers = {"step_size", "decay_steps", "warmup_steps"}
    keywords = {k: int(v) if k in integers else v for k, v in keywords.items()}
    try:
        schedule = SCHEDULES[name](learning_rate, **keywords)
    except TypeError as error:
        raise CommandError(f"schedule {name!r}: {error}") from None
    return linear_warmup(schedule, warmup) if warmup else schedule


def optimizer_config(args: argparse.Namespace, X_train: np.ndarray) -> dict[str, Any]:
    """The optimizer part of a run's config, with ``auto`` resolved to a number."""
    hyper = parse_key_values(args.opt, "--opt")
    unknown = sorted(set(hyper) - set(DEFAULTS[args.optimizer]) - {"learning_rate"})
    if unknown:
        valid = ", ".join(
            k for k in DEFAULTS[args.optimizer] if k not in ("learning_rate", "no_decay")
        )
        raise CommandError(
            f"--opt {unknown[0]} is not a hyperparameter of {args.optimizer}; "
            f"valid: {valid or 'none'}"
        )
    rate = args.learning_rate
    if rate == "auto":
        momentum = hyper.get("momentum", DEFAULTS[args.optimizer].get("momentum", 0.9))
        rate = auto_learning_rate(X_train, args.reg, args.optimizer, momentum)
    return {
        "optimizer": args.optimizer,
        "learning_rate": float(rate),
        "learning_rate_spec": args.learning_rate,
        "schedule": args.schedule,
        "warmup": args.warmup,
        "hyperparams": hyper,
    }


def build_optimizer(config: dict[str, Any]) -> Optimizer:
    schedule = parse_schedule(config["schedule"], config["learning_rate"], config.get("warmup"))
    return get_optimizer(config["optimizer"], learning_rate=schedule, **config["hyperparams"])


# ---------------------------------------------------------------------------- interrupts


@contextmanager
def interrupt_flag() -> Iterator[list[bool]]:
    """While inside, Ctrl-C sets ``flag[0]`` instead of raising, so the loop can stop between
    steps and leave a consistent state to save. A second Ctrl-C interrupts at once."""
    flag = [False]

    def handler(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------------------- run folders

DATA_ARGUMENTS = (
    "data",
    "data_dir",
    "num_train",
    "num_val",
    "num_test",
    "preprocess",
    "label_column",
    "seed",
)
NOT_KNOBS = ("handler", "command", "json", "no_progress", "out", "name")


def run_slug(data: str) -> str:
    """A folder-name fragment for a dataset name or file path.

    >>> run_slug("toy2d:spiral"), run_slug("/tmp/my data.csv")
    ('toy2d-spiral', 'my-data')
    """
    name = Path(data).stem if ("/" in data or data.endswith((".npz", ".csv"))) else data
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:40]


def start_run(
    args: argparse.Namespace,
    command: str,
    console: Console,
    resolve: Callable[[Prepared], dict[str, Any]] | None = None,
) -> tuple[Prepared, Path]:
    """Load and preprocess the data, create the run folder, and write its config.json: the
    data options, every other knob of the command, what ``resolve`` adds (values decided
    from the data), and the environment."""
    prepared = prepare_data(data_config(args), console)
    run_dir = new_run_dir(args.out, args.name, f"{command}-{run_slug(args.data)}")
    knobs = {
        key: value
        for key, value in vars(args).items()
        if key not in NOT_KNOBS and key not in DATA_ARGUMENTS
    }
    config = {
        "command": command,
        "data": data_config(args),
        "arguments": knobs,
        **(resolve(prepared) if resolve else {}),
        "environment": describe_environment(),
    }
    write_config(run_dir, config)
    return prepared, run_dir


def finish_run(console: Console, run_dir: Path, document: dict[str, Any]) -> int:
    """Save the command's results as results.json in the run folder and emit them."""
    atomic_write_text(run_dir / "results.json", dumps(document, indent=2) + "\n")
    console.emit(document)
    return 0
