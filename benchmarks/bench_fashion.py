"""Benchmark ``slopelab train`` and ``slopelab compare`` on Fashion-MNIST (not a test).

Runs when Debian's ``dataset-fashion-mnist`` package is installed (or ``--data-dir`` points at
the IDX files) and prints the figures: accuracy, loss and seconds, beside the BLAS kernel and
thread count. Run folders go to a temporary directory and are deleted.

    python benchmarks/bench_fashion.py [--epochs 10] [--compare-epochs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from slopelab.data import DataError, find_dataset
from slopelab.environment import describe_blas


def slopelab(args: list[str], cwd: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "slopelab", *args, "--json", "--no-progress"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"slopelab {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--compare-epochs", type=int, default=5)
    args = parser.parse_args()
    try:
        location = find_dataset("fashion-mnist", args.data_dir)
    except DataError:
        location = None
    if location is None:
        raise SystemExit(
            "Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or pass --data-dir"
        )
    data = ["--data", "fashion-mnist"] + (["--data-dir", args.data_dir] if args.data_dir else [])
    print(f"Fashion-MNIST from {location}; BLAS: {describe_blas()}")
    with tempfile.TemporaryDirectory() as folder:
        print(f"\ntrain, softmax + SGD (auto rate), {args.epochs} epochs, batch 200:")
        for loss in ("softmax", "svm"):
            result, wall = slopelab(
                ["train", *data, "--loss", loss, "--epochs", str(args.epochs)], folder
            )
            print(
                f"  {loss:8s} test {result['test_accuracy']:.2%}  val "
                f"{result['val_accuracy']:.2%}  final loss {result['final_loss']:.4f}  "
                f"training {result['seconds']:.2f} s  (command {wall:.1f} s)"
            )
        print(f"\ncompare, {args.compare_epochs} epochs of examples per strategy:")
        result, wall = slopelab(["compare", *data, "--epochs", str(args.compare_epochs)], folder)
        for row in result["strategies"]:
            print(
                f"  {row['name']:20s} val {row['val_accuracy']:.2%}  loss "
                f"{row['final_loss']:.4f}  examples {row['examples_processed']:>9,}  "
                f"{row['seconds']:.2f} s"
            )
        selected = result["selected"]
        print(
            f"  selected on validation: {selected['name']}, test {selected['test_accuracy']:.2%}"
            f"  (command {wall:.1f} s)"
        )


if __name__ == "__main__":
    main()
