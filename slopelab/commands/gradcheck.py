"""``slopelab gradcheck``: analytic vs numerical gradients, for a built-in loss or your own.

Exit code 1 when the check fails (a NaN or infinite loss or gradient included), so it can guard
a CI job; exit code 2 when ``--function`` cannot be imported, raises, or returns the wrong kind
of thing, or ``--params`` does not fit: those are for the user to fix, not a failed check.

Whatever ``--function``'s module prints (while imported or called) goes to stderr: stdout holds
the report, or with ``--json`` exactly one JSON document.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

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
from slopelab.commands.runfolder import data_config_of, load_prepared
from slopelab.errors import CommandError, SlopelabError
from slopelab.gradcheck import MAX_H, check_gradient
from slopelab.gradcheck_report import TABLE_ROWS
from slopelab.linear import init_params
from slopelab.losses import get_loss
from slopelab.runs import load_npz
from slopelab.validation import check_params

LOSS_PARAMS = ("W", "b")
MESSAGE_CHARS = 300  # a user's exception message is cut here to keep the error to one line

DESCRIPTION = """Compare the analytic gradient with centered finite differences on a few
coordinates of every parameter array (default), on all of them (--full), or along one random
direction. Kinks (hinge margins crossing zero inside the stencil) are detected and judged by a
subgradient-interval check instead of relative error. Check a built-in loss on a small data
subset, or any function of yours: --function module:function, called as f(params) -> (loss,
grads) with params a dict of arrays. A NaN or infinite loss or gradient fails the check.
Beyond 30 rows the table is summarized (counts by status and the rows closest to failing);
--show-all-rows prints every row. Exit code 1 when the check fails, 2 when your function
cannot be imported or raises."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gradcheck", help=summary("gradcheck"), description=DESCRIPTION)
    add_data_arguments(parser)
    add_loss_arguments(parser, reg=0.1)
    parser.add_argument(
        "--num-examples",
        type=positive_int,
        default=5,
        help="examples in the check (the notes: 2-3 points mean fewer kinks)",
    )
    parser.add_argument(
        "--num-checks",
        type=positive_int,
        default=10,
        help="random coordinates per parameter array (default: 10)",
    )
    parser.add_argument(
        "--h",
        type=positive_float,
        default=1e-5,
        help=f"finite-difference step, at most {MAX_H:g} (default: 1e-5)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--full", action="store_true", help="every coordinate; first estimates how long that takes"
    )
    mode.add_argument(
        "--directional",
        action="store_true",
        help="one random direction, for very large parameter vectors",
    )
    parser.add_argument(
        "--show-all-rows",
        action="store_true",
        help=f"print every row; by default more than {TABLE_ROWS} rows are summarized",
    )
    parser.add_argument(
        "--function",
        metavar="MODULE:FUNCTION",
        help="check your own f(params) -> (loss, grads) instead",
    )
    parser.add_argument(
        "--params",
        metavar="FILE.npz",
        help="parameters to check at (arrays by name); default: W = 0.01 randn, "
        "b = 0.01 randn, shaped for --data",
    )
    add_common_arguments(parser, runs=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.h > MAX_H:  # before any data is loaded or module imported
        raise CommandError(
            f"--h must be at most {MAX_H:g}; got {args.h:g}: a gradient check compares slopes "
            "at x, and a smooth loss that bends within x +- 2h looks kinked to it (1e-5 is usual)"
        )
    console = console_for(args)
    f, params, label = _objective(args, console)
    mode = "all" if args.full else "directional" if args.directional else "sampled"
    if args.full:
        _announce_full_cost(f, params, console)
    rng = np.random.default_rng(args.seed)
    report = check_gradient(f, params, num_checks=args.num_checks, h=args.h, rng=rng, mode=mode)
    console.say(
        f"gradient check of {label}, h = {args.h:g}, mode {mode}, "
        f"{report.evaluations} loss evaluations"
    )
    table_rows = None if args.show_all_rows else TABLE_ROWS
    console.say(report.to_text(table_rows=table_rows, every_row="--show-all-rows"))
    console.emit({"objective": label, **report.to_dict()})  # max_rel_error, passed, kinks, rows
    return 0 if report.passed else 1


def _objective(args: argparse.Namespace, console: Console) -> tuple[Callable, dict, str]:
    if args.function:
        f = _UserFunction(_import_function(args.function), args.function)
        if args.params:
            return f, _numeric_params(_load_params(args.params), args.params), args.function
        prepared = load_prepared(data_config_of(args), console)
        num_features, num_classes = prepared.X_train.shape[1], prepared.dataset.num_classes
        return f, _default_params(num_features, num_classes, args.seed), args.function
    arrays = _load_params(args.params) if args.params else None  # before any output
    prepared = load_prepared(data_config_of(args), console)
    rng = np.random.default_rng(args.seed)
    count = min(args.num_examples, len(prepared.y_train))
    rows = rng.choice(len(prepared.y_train), size=count, replace=False)
    X = prepared.X_train[rows].astype(np.float64)
    y = prepared.y_train[rows]
    loss = get_loss(args.loss, args.penalty)
    num_classes = prepared.dataset.num_classes
    params = (
        _loss_params(arrays, args.params, X.shape[1], num_classes, console)
        if arrays is not None
        else _default_params(X.shape[1], num_classes, args.seed)
    )
    label = f"{args.loss} loss (penalty {args.penalty}, reg {args.reg:g}) on {count} examples"
    return (lambda p: loss(p, X, y, args.reg)), params, label


def _default_params(num_features: int, num_classes: int, seed: int) -> dict[str, np.ndarray]:
    """Weights big enough that scores are not all ~0 (the notes: tiny weights hide bugs)."""
    rng = np.random.default_rng(seed)
    params = init_params(num_features, num_classes, rng, scale=1e-2)
    params["b"] = 1e-2 * rng.standard_normal(num_classes)
    return params


def _import_function(spec: str) -> Callable:
    module_name, separator, function_name = spec.partition(":")
    if not separator or not module_name or not function_name:
        raise CommandError(f"--function {spec!r} must look like module:function")
    folder = str(Path.cwd())
    sys.path.insert(0, folder)
    try:
        with _output_to_stderr():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if not _names_itself(module_name, error.name):  # the module imports something missing
            raise CommandError(
                f"--function: importing {module_name} raised {_describe(error)}"
            ) from None
        raise CommandError(
            f"--function: cannot import module {module_name!r} ({error}); run slopelab from "
            "the folder that holds it"
        ) from None
    except (Exception, SystemExit) as error:  # the module's own code failed: the user's to fix
        raise CommandError(
            f"--function: importing {module_name} raised {_describe(error)}"
        ) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise CommandError(f"--function: {module_name} has no function {function_name!r}")
    return function


def _output_to_stderr() -> contextlib.AbstractContextManager:
    """Send the user's ``print`` to stderr, so stdout carries only slopelab's report."""
    return contextlib.redirect_stdout(sys.stderr)


def _names_itself(module_name: str, missing: str | None) -> bool:
    """Whether the missing module is ``module_name`` or a package it sits in."""
    return missing is not None and (module_name + ".").startswith(missing + ".")


class _UserFunction:
    """The user's ``f``; whatever it raises becomes one readable line (exit 2), since a bug
    in the checked code is not a bug in slopelab."""

    def __init__(self, function: Callable, spec: str) -> None:
        self.function, self.spec = function, spec

    def __call__(self, params: dict[str, np.ndarray]) -> object:
        try:
            with _output_to_stderr():
                return self.function(params)
        except (Exception, SystemExit) as error:
            raise CommandError(
                f"--function {self.spec}: your function raised {_describe(error)}"
            ) from None


def _describe(error: BaseException) -> str:
    """``ZeroDivisionError: division by zero``, cut to MESSAGE_CHARS characters."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


def _load_params(path: str) -> dict[str, np.ndarray]:
    arrays = load_npz(Path(path), "parameter file")
    if not arrays:
        raise CommandError(f"--params {path} holds no arrays")
    return arrays


def _numeric_params(arrays: dict[str, np.ndarray], path: str) -> dict[str, np.ndarray]:
    """Every array as float64, refusing what is not a real number (strings, complex)."""
    params = {}
    for name, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise CommandError(
                f"--params {path}: array {name!r} has dtype {value.dtype}; parameters must be "
                "real numbers (int or float)"
            )
        params[name] = np.asarray(value, dtype=np.float64)
        if not np.isfinite(params[name]).all():
            raise CommandError(
                f"--params {path}: array {name!r} contains NaN or infinity; a gradient check "
                "needs a finite point"
            )
    return params


def _loss_params(
    arrays: dict[str, np.ndarray], path: str, num_features: int, num_classes: int, console: Console
) -> dict[str, np.ndarray]:
    """W (D, C) and b (C,) for a built-in loss from the arrays of ``--params``; other arrays
    (a model's class names) are named and left out."""
    missing = [name for name in LOSS_PARAMS if name not in arrays]
    if missing:
        raise CommandError(
            f"--params {path} must hold arrays W ({num_features}, {num_classes}) and b "
            f"({num_classes},) for the built-in loss; it holds {sorted(arrays)}"
        )
    ignored = sorted(set(arrays) - set(LOSS_PARAMS))
    if ignored:
        console.say(f"--params {path}: checking W and b; ignoring {', '.join(ignored)}")
    params = _numeric_params({name: arrays[name] for name in LOSS_PARAMS}, path)
    try:
        return check_params(params, num_features, num_classes)
    except SlopelabError as error:
        raise CommandError(f"--params {path}: {error}") from None


def _announce_full_cost(f: Callable, params: dict, console: Console) -> None:
    """The lecture's point: a numerical gradient costs one evaluation per parameter (two when
    centered), so measure one evaluation and say what the full check will cost."""
    started = time.perf_counter()
    f(params)
    seconds = time.perf_counter() - started
    count = sum(np.size(value) for value in params.values())
    evaluations = 6 * count + 1  # centered difference plus the kink stencil, per coordinate
    console.say(
        f"full check: {count} parameters x 6 loss evaluations = {evaluations} "
        f"evaluations, about {evaluations * seconds:.2f} s at {seconds * 1e3:.3f} ms each "
        "(the analytic gradient costs one)"
    )
