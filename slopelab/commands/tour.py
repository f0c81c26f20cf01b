"""``slopelab tour``: the main job. The optimization lecture, measured, in one command."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from slopelab.commands import summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    non_negative_float,
    positive_int,
)
from slopelab.commands.console import console_for
from slopelab.commands.limits import MAX_RECORDED_STEPS, check_recorded_steps
from slopelab.commands.partial_results import RESULTS, keep_partial_results
from slopelab.commands.runfolder import start_run
from slopelab.data.prepare import Prepared
from slopelab.environment import describe_blas
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.runs import atomic_write_text, dumps
from slopelab.search import COMMAND_SAMPLE_SIZE, command_sample_size
from slopelab.tour import DATASET_DEFAULTS, DEFAULTS, TOUR_STEPS, run_steps, tour_defaults
from slopelab.tour_measure import BATCH_SIZES, TourSettings
from slopelab.tour_report import TourStep
from slopelab.train import steps_per_epoch

REPORT = "report.html"

DESCRIPTION = """Walk the CS231n optimization lecture on one dataset (default: digits, about
6 s of CPU time; --data cifar10 for the lecture's own setting, about two minutes of CPU time):
random search, random local search, numerical vs analytic gradients and a gradient check,
gradient descent with a step-size sweep, minibatch SGD at several batch sizes, and the update
rules. The searches evaluate the loss on a fixed random sample of at most 2,000 training
examples. Runs are compared on the validation split; the test split is used once, for the model
selected. Each step prints its finding in one line; the run folder gets a self-contained
report.html with the figures (and results.json). Ctrl-C keeps the steps done: their report,
titled incomplete."""


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
        default=None,
        help=f"regularization strength (default: {_per_dataset('reg')})",
    )
    parser.add_argument(
        "--tries",
        type=positive_int,
        default=None,
        help=f"loss evaluations for the two search strategies (default: {_per_dataset('tries')}; "
        f"at most {MAX_RECORDED_STEPS:,}), each on a fixed random sample of at most "
        f"{COMMAND_SAMPLE_SIZE:,} training examples",
    )
    parser.add_argument(
        "--gd-steps",
        type=positive_int,
        default=None,
        help=f"full-batch gradient descent steps per learning rate (default: "
        f"{_per_dataset('gd_steps')}; at most {MAX_RECORDED_STEPS:,})",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"epochs for the minibatch and update-rule steps (default: {_per_dataset('epochs')}; "
        f"at most {MAX_RECORDED_STEPS:,} updates at the smallest batch)",
    )
    add_common_arguments(parser)
    parser.set_defaults(handler=run)


def _per_dataset(knob: str) -> str:
    """A knob's default as help text, e.g. ``1 on cifar10, else 0.0001``."""
    special = [
        f"{values[knob]:g} on {name}" for name, values in DATASET_DEFAULTS.items() if knob in values
    ]
    return ", ".join([*special, f"else {DEFAULTS[knob]:g}" if special else f"{DEFAULTS[knob]:g}"])


def run(args: argparse.Namespace) -> int:
    console = console_for(args)
    started = time.perf_counter()
    prepared, run_dir, config = start_run(
        args, "tour", console, lambda prepared: {"settings": asdict(resolve(args, prepared))}
    )
    settings = TourSettings(**config["settings"])
    console.say(
        f"touring the optimization lecture on {prepared.dataset.name} "
        f"({settings.loss} loss, reg {settings.reg:g}); run folder {run_dir}"
    )
    steps: list[TourStep] = []
    with keep_partial_results(run_dir) as progress:
        progress.writer = lambda document: write_tour(
            run_dir, prepared, settings, steps, started, document
        )

        def announce(step: TourStep) -> None:
            steps.append(step)
            console.say(f"- {step.finding}")
            progress.finished(
                f"{len(steps)} of {len(TOUR_STEPS)} steps", tour_document(steps, settings, run_dir)
            )

        run_steps(prepared, settings, run_dir, announce)
        document = tour_document(steps, settings, run_dir)
        report = write_tour(run_dir, prepared, settings, steps, started, document)
        figures = [path for step in steps for path in step.figures]
        console.say(f"report: {report}")
        console.say(f"figures: {len(figures)} PNG files beside it")
        console.emit(document)
    return 0


def tour_document(steps: list[TourStep], settings: TourSettings, run_dir: Path) -> dict[str, Any]:
    """The tour's JSON document (also its results.json) for the steps done so far."""
    return {
        "steps": [
            {
                "name": step.name,
                "finding": step.finding,
                "figures": [str(path) for path in step.figures],
                "results": step.results,
            }
            for step in steps
        ],
        "settings": asdict(settings),
        "report": str(run_dir / REPORT),
        "run_dir": str(run_dir),
    }


def write_tour(
    run_dir: Path,
    prepared: Prepared,
    settings: TourSettings,
    steps: list[TourStep],
    started: float,
    document: dict[str, Any],
) -> Path:
    """Write report.html of ``steps`` (titled incomplete when ``document`` says so) and
    results.json; return the report. ``document`` gets the seconds taken."""
    from slopelab.report import write_report

    seconds = time.perf_counter() - started
    document["seconds"] = seconds
    complete = document.get("complete", True)
    title = f"Optimization, measured: {prepared.dataset.name}"
    subtitle = (
        f"{prepared.dataset.summary()}; {settings.loss} loss, reg {settings.reg:g}, seed "
        f"{settings.seed}; {seconds:.1f} s on {describe_blas()}"
    )
    if not complete:
        title += " (incomplete)"
        subtitle = (
            f"INCOMPLETE: interrupted after {document['interrupted_after']}; "
            "the steps not shown did not run. " + subtitle
        )
    report = write_report(run_dir / REPORT, title, subtitle, [step.section for step in steps])
    atomic_write_text(run_dir / RESULTS, dumps(document, indent=2) + "\n")
    return report


def resolve(args: argparse.Namespace, prepared: Prepared) -> TourSettings:
    """The tour's settings for this data: the dataset's defaults (:func:`tour_defaults`) for
    every flag not given, the searches' sample, and budgets checked against what a run can
    record."""
    num_examples = len(prepared.y_train)
    given = {knob: getattr(args, knob) for knob in DEFAULTS if getattr(args, knob) is not None}
    knobs = {**tour_defaults(prepared.dataset.name), **given}
    tries, gd_steps, epochs = knobs["tries"], knobs["gd_steps"], knobs["epochs"]
    check_recorded_steps(tries, f"--tries {tries}", "use fewer --tries")
    check_recorded_steps(gd_steps, f"--gd-steps {gd_steps}", "use fewer --gd-steps")
    per_epoch = steps_per_epoch(num_examples, min(BATCH_SIZES))
    check_recorded_steps(
        epochs * per_epoch,
        f"--epochs {epochs} at batch {min(BATCH_SIZES)}",
        f"use at most --epochs {MAX_RECORDED_STEPS // per_epoch} on this dataset",
    )
    return TourSettings(
        loss=args.loss,
        seed=args.seed,
        search_sample=command_sample_size(num_examples),
        **knobs,
    )
