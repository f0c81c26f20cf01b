"""Benchmark every speed target of slopelab in one table: epoch vs floor, time to accuracy,
memory, and the core comparisons, headed by the machine they were measured on.

Not a test: figures are medians of interleaved repeats (or single runs where a section says
so), and ratios are taken between figures of the same run, never across runs or machines.

    python benchmarks/bench_speed.py               # every section, a few minutes
    python benchmarks/bench_speed.py --quick       # a smoke run at small sizes, in seconds
    python benchmarks/bench_speed.py --cifar DIR   # real CIFAR-10 for a and b (slower)

Sections (details in each module's docstring):

a. one SGD epoch on CIFAR-10-shaped data (synthetic, or CIFAR-10 from ``--cifar``) against
   the matrix-product floor and against ``SGDClassifier``, through ``slopelab.train.sgd``,
   ``LinearClassifier`` and ``slopelab train`` (``speed_epoch.py``);
b. seconds of training until a test accuracy: Fashion-MNIST 83% (and CIFAR-10 38% with
   ``--cifar``), slopelab vs ``SGDClassifier`` vs ``LogisticRegression`` (``speed_accuracy.py``);
c. peak memory of ``slopelab train`` against the size of its data (``speed_epoch.py``);
d. the core: vectorized vs naive losses, loss + gradient vs floor, training against PyTorch
   and scikit-learn (``bench_core.py``).

The table is markdown: paste it as is. Every row says what its figure depends on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from baselines import LogisticRun
from bench_core import core_rows
from bench_data import Splits, cifar_shaped, digits, named_dataset
from speed_accuracy import accuracy_rows
from speed_epoch import epoch_rows, memory_rows
from timing import Row, add_threads_option, limit_all_threads, machine_lines, render_table

from slopelab.data import DataError, find_dataset


@dataclass(frozen=True)
class Plan:
    """Sizes and repeats of one run."""

    epoch_examples: int
    repeats: int
    max_epochs: int
    logistic_max_iter: int
    quick: bool


FULL = Plan(epoch_examples=49_000, repeats=5, max_epochs=50, logistic_max_iter=1000, quick=False)
QUICK = Plan(epoch_examples=2_560, repeats=1, max_epochs=10, logistic_max_iter=200, quick=True)
FEATURES, CLASSES = 3072, 10
TARGETS = {"Fashion-MNIST": 0.83, "CIFAR-10": 0.38, "digits": 0.90}
SECTIONS = "abcd"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fashion_mnist() -> Splits | None:
    try:
        if find_dataset("fashion-mnist"):
            return named_dataset("fashion-mnist")
    except DataError:
        pass
    return None


def accuracy_datasets(plan: Plan, cifar: Splits | None) -> list[Splits]:
    if plan.quick:
        return [digits()]
    found = [data for data in (fashion_mnist(), cifar) if data is not None]
    return found or [digits()]


def run(plan: Plan, cifar_dir: str | None, sections: str = SECTIONS) -> list[Row]:
    """The rows of the chosen sections, in the order a, b, c, d."""
    cifar = named_dataset("cifar10", cifar_dir) if cifar_dir else None
    found: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="slopelab-bench-") as folder:
        if "a" in sections or "c" in sections:
            found |= epoch_and_memory(plan, cifar, Path(folder), sections)
    logistic_runs: list[LogisticRun] = []
    datasets = accuracy_datasets(plan, cifar) if "b" in sections or "d" in sections else []
    if "b" in sections:
        found["b"] = []
        for data in datasets:
            say(f"b. time to accuracy on {data.description} ...")
            target = TARGETS[data.name]
            rows, logistic = accuracy_rows(data, target, plan.max_epochs, plan.logistic_max_iter)
            found["b"] += rows
            logistic_runs.append(logistic)
        if not plan.quick and datasets[0].name != "Fashion-MNIST":
            found["b"].append(Row("Fashion-MNIST: skipped, not installed (dataset-fashion-mnist)"))
    if "d" in sections:
        core_data = datasets[0] if datasets[0].name != "CIFAR-10" else digits()
        found["d"] = core_rows(plan.quick, core_data, next(iter(logistic_runs), None))
    return [row for section in sorted(found) for row in found[section]]


def epoch_and_memory(plan: Plan, cifar: Splits | None, workdir: Path, sections: str):
    """Sections a and c: they share the data and its .npz (c also reports a's CLI runs)."""
    data = cifar or cifar_shaped(plan.epoch_examples, FEATURES, CLASSES)
    if plan.quick:
        data = first_rows(data, plan.epoch_examples)
    say(f"a. one epoch on {data.description} ...")
    epoch, cli_runs = epoch_rows(data, plan.repeats, workdir)
    found = {"a": epoch} if "a" in sections else {}
    if "c" in sections:
        say("c. peak memory of slopelab train ...")
        found["c"] = memory_rows(data, workdir, cli_runs)
    return found


def first_rows(data: Splits, count: int) -> Splits:
    """The first ``count`` training rows (and a tenth as many test rows) of ``data``."""
    return replace(
        data,
        X_train=data.X_train[:count],
        y_train=data.y_train[:count],
        X_test=data.X_test[: count // 10],
        y_test=data.y_test[: count // 10],
    )


def sections_option(text: str) -> str:
    letters = text.replace(",", "").strip().lower()
    if not letters or set(letters) - set(SECTIONS):
        raise argparse.ArgumentTypeError(f"sections are letters among {SECTIONS!r}; got {text!r}")
    return letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--cifar", metavar="DIR", help="CIFAR-10 folder: real data for sections a and b"
    )
    parser.add_argument(
        "--sections",
        type=sections_option,
        default=SECTIONS,
        help="which sections to run, e.g. ac (default: abcd; c needs a's runs, so c runs a)",
    )
    add_threads_option(parser)
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    try:
        with limit_all_threads(args.threads):
            rows = run(plan, args.cifar, args.sections)
            header = machine_lines(args.threads)
        if plan.quick:  # smoke sizes say nothing about the targets: no PASS or MISS
            rows = [replace(row, check="smoke") if row.check else row for row in rows]
    except DataError as error:
        raise SystemExit(f"bench_speed: {error}") from None
    title = "slopelab speed benchmark" + (
        " (--quick: smoke sizes, not figures)" if plan.quick else ""
    )
    print(f"## {title}\n")
    print("\n".join(f"- {line}" for line in header))
    print()
    print(render_table(rows))


if __name__ == "__main__":
    main()
