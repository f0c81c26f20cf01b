"""``slopelab tour``: the main job. The optimization lecture, measured, in one command."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from slopelab.commands import summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    non_negative_float,
    positive_int,
)
from slopelab.commands.console import console_for
from slopelab.commands.runfolder import start_run
from slopelab.data.prepare import Prepared
from slopelab.environment import describe_blas
from slopelab.losses import EXAMPLE_LOSSES

# Mean-centred CIFAR-10 pixels are ~60x larger than standardized features. Measured on the dev
# copy (10 epochs, SVM): reg 1e3 scores best (36.6%) but leaves the 0.001*randn initialization
# as noise in the weight templates; 5e3 (35.0%) decays it and shows the lecture's templates.
DEFAULT_REG = {"cifar10": 5e3}

DESCRIPTION = """Walk the CS231n optimization lecture on one dataset (default: digits, in
seconds; --data cifar10 for the lecture's own setting): random search, random local search,
numerical vs analytic gradients and a gradient check, gradient descent with a step-size sweep,
minibatch SGD at several batch sizes, and the update rules. Each step prints its finding in one
line; the run folder gets a self-contained report.html with the figures."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tour", help=summary("tour"), description=DESCRIPTION)
    add_data_arguments(parser)
    parser.add_argument(
        "--loss",
        choices=tuple(EXAMPLE_LOSSES),
        default="svm",
        help="the loss the lecture uses: svm (default), or another",
    )
    parser.add_argument(
        "--reg",
        type=non_negative_float,
        default=1e-4,
        help="regularization strength (default: 1e-4)",
    )
    parser.add_argument(
        "--tries",
        type=positive_int,
        default=1000,
        help="loss evaluations for the two search strategies (default: 1000)",
    )
    parser.add_argument(
        "--gd-steps",
        type=positive_int,
        default=100,
        help="full-batch gradient descent steps per learning rate",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=10,
        help="epochs for the minibatch and update-rule steps (default: 10)",
    )
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab.report import write_report
    from slopelab.tour import TourSettings, TourStep, run_steps

    console = console_for(args)
    started = time.perf_counter()

    def settings_for(prepared: Prepared) -> dict:
        reg = args.reg if args.reg is not None else DEFAULT_REG.get(prepared.dataset.name, 1e-4)
        return {
            "settings": asdict(
                TourSettings(
                    loss=args.loss,
                    reg=reg,
                    tries=args.tries,
                    gd_steps=args.gd_steps,
                    epochs=args.epochs,
                    seed=args.seed,
                )
            )
        }

    prepared, run_dir, _ = start_run(args, "tour", console, settings_for)
    settings = TourSettings(**settings_for(prepared)["settings"])
    reg = settings.reg
    console.say(
        f"touring the optimization lecture on {prepared.dataset.name} "
        f"({args.loss} loss); run folder {run_dir}"
    )

    def announce(step: TourStep) -> None:
        console.say(f"- {step.finding}")

    steps = run_steps(prepared, settings, run_dir, announce)
    seconds = time.perf_counter() - started
    subtitle = (
        f"{prepared.dataset.summary()}; {args.loss} loss, reg {reg:g}, seed "
        f"{args.seed}; {seconds:.1f} s on {describe_blas()}"
    )
    report = write_report(
        run_dir / "report.html",
        f"Optimization, measured: {prepared.dataset.name}",
        subtitle,
        [step.section for step in steps],
    )
    console.say(f"report: {report}")
    console.say("figures: " + ", ".join(str(p) for step in steps for p in step.figures))
    console.emit(
        {
            "steps": [
                {
                    "name": step.name,
                    "finding": step.finding,
                    "figures": [str(path) for path in step.figures],
                }
                for step in steps
            ],
            "report": str(report),
            "run_dir": str(run_dir),
            "seconds": seconds,
        }
    )
    return 0
