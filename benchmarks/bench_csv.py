"""Loading a large CSV: slopelab's pandas path against its csv-module path, time and peak memory.

Fashion-MNIST's training split written as CSV (60,000 rows: ``label`` and 784 pixel columns,
133 MB), from Debian's ``dataset-fashion-mnist``, or random pixels of the same shape without it.
Each candidate loads it with ``slopelab.data.files.read_csv`` in a child process of its own (so
each has its own peak resident memory, ``VmHWM``); the seconds are the child's own clock around
the call (imports not counted). Candidates run interleaved, in a fresh seeded order each round;
the figures are medians.

- *pandas path*: what ``read_csv`` does (:mod:`slopelab.data.csvframe`).
- *csv-module path*: the same call with the fast path off, which is ``read_csv`` before it
  (the csv module's rows of strings, then numpy's parsing).
- *pandas.read_csv alone*: the parser without slopelab's checks, for scale.

    python benchmarks/bench_csv.py               # 3 rounds on the full 60,000 rows
    python benchmarks/bench_csv.py --quick       # 1 round on 2,000 rows
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import (
    MEMORY,
    SPEED,
    Row,
    heading,
    machine_lines,
    render_table,
    run_measured,
    seconds_text,
)

FASHION = Path("/usr/share/datasets/fashion-mnist")
CANDIDATES = {
    "pandas": "slopelab read_csv, pandas path (now)",
    "exact": "slopelab read_csv, csv-module path (before)",
    "bare": "pandas.read_csv alone, no checks",
}


def write_csv(path: Path, rows: int) -> str:
    """Write ``rows`` rows of Fashion-MNIST's training split (or random pixels) as CSV."""
    images = FASHION / "train-images-idx3-ubyte.gz"
    if images.exists():
        X = np.frombuffer(gzip.decompress(images.read_bytes())[16:], np.uint8).reshape(-1, 784)[
            :rows
        ]
        labels = gzip.decompress((FASHION / "train-labels-idx1-ubyte.gz").read_bytes())[8:]
        y = np.frombuffer(labels, np.uint8)[:rows]
        source = "Fashion-MNIST train"
    else:
        rng = np.random.default_rng(0)
        X, y = rng.integers(0, 256, (rows, 784)), rng.integers(0, 10, rows)
        source = "random pixels (no Debian Fashion-MNIST)"
    with path.open("w") as handle:
        handle.write("label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n")
        np.savetxt(handle, np.column_stack([y, X]), fmt="%d", delimiter=",")
    return source


def child(mode: str, path: str) -> None:
    """Load ``path`` one way and print the seconds it took and the shape, as JSON."""
    from unittest import mock

    import pandas as pd

    from slopelab.data import csvfile
    from slopelab.data.files import read_csv

    started = time.perf_counter()
    if mode == "bare":
        shape = pd.read_csv(path).to_numpy(dtype=np.float64).shape
    elif mode == "exact":
        with mock.patch.object(csvfile, "_fast_table", return_value=None):
            shape = read_csv(path).X.shape
    else:
        shape = read_csv(path).X.shape
    print(json.dumps({"seconds": time.perf_counter() - started, "shape": list(shape)}))


def measure(path: Path, rounds: int) -> dict[str, tuple[float, float]]:
    """Median (seconds, peak MB) of each candidate over interleaved rounds."""
    here = Path(__file__).resolve().parent
    order = random.Random(0)
    seconds: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    peaks: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for round_number in range(rounds):
        for name in order.sample(list(CANDIDATES), len(CANDIDATES)):
            print(f"round {round_number + 1}/{rounds}: {name}", file=sys.stderr)
            run = run_measured("bench_csv", ["--child", name, str(path)], cwd=here)
            if run.returncode != 0:
                raise SystemExit(f"{name} failed:\n{run.stderr}")
            seconds[name].append(json.loads(run.stdout.splitlines()[-1])["seconds"])
            peaks[name].append(run.peak_bytes / 1e6)
    return {
        name: (statistics.median(seconds[name]), statistics.median(peaks[name]))
        for name in CANDIDATES
    }


def table(source: str, rows: int, size_mb: float, rounds: int, results: dict) -> str:
    before_seconds, before_peak = results["exact"]
    lines = [
        heading(
            f"loading a {rows:,} x 785 CSV ({source}, {size_mb:.0f} MB) into float64; medians of "
            f"{rounds} interleaved rounds, each load in a child process; ratio = figure / the "
            "csv-module path's"
        )
    ]
    for name, label in CANDIDATES.items():
        load_seconds, peak = results[name]
        lines.append(
            Row(
                f"{label}: seconds",
                seconds_text(load_seconds),
                load_seconds / before_seconds,
                depends=SPEED,
            )
        )
        lines.append(
            Row(f"{label}: peak memory", f"{peak:,.0f} MB", peak / before_peak, depends=MEMORY)
        )
    return render_table(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round on 2,000 rows")
    parser.add_argument("--rows", type=int, default=None, help="rows to write (60,000)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (3)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = args.rows or (2_000 if args.quick else 60_000)
    rounds = args.rounds or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fashion.csv"
        source = write_csv(path, rows)
        results = measure(path, rounds)
        size_mb = path.stat().st_size / 1e6
    print("\n".join(f"- {line}" for line in machine_lines()))
    print()
    print(table(source, rows, size_mb, rounds, results))


if __name__ == "__main__":
    main()
