"""Shared by the benchmark scripts: interleaved repeats and medians, the machine they ran on,
child processes measured for time and peak memory, and the one table they print.

The table is markdown (padded for reading in a terminal, pasteable as is into the README).
Every row says what its figure depends on: timings depend on the machine, its load and the BLAS
thread count; memory on the machine and the libraries; accuracies and iteration counts only on
the seeds (and, in the last digits, on the BLAS's summation order).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from threadpoolctl import threadpool_info, threadpool_limits

from slopelab.environment import describe_blas

__all__ = [
    "MEMORY",
    "RESULT",
    "SPEED",
    "TRAINING",
    "Measured",
    "Row",
    "add_threads_option",
    "blas_threads",
    "describe_blas",
    "heading",
    "interleaved",
    "limit_all_threads",
    "machine_lines",
    "render_table",
    "run_measured",
    "seconds_text",
    "threads",
    "verdict",
]

SPEED = "machine, load, threads"
MEMORY = "machine, libraries"
RESULT = "seeds"  # and the BLAS's summation order, in the last digits
TRAINING = "time: machine, load, threads; accuracy: seeds"
OPENBLAS_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int, warm_up: bool = False
) -> dict[str, float]:
    """Median seconds of each callable, running each once per round for ``repeats`` rounds:
    machines here are shared and drift, so candidates and baselines must share each moment.
    Each round runs them in a fresh order (seeded, so runs are alike): a candidate that always
    followed the same one would inherit its after-effects (BLAS threads still spinning, caches
    evicted) in every repeat."""
    if warm_up:
        for run in candidates.values():
            run()  # imports, caches, a first connection
    names = list(candidates)
    order = random.Random(0)
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in order.sample(names, len(names)):
            started = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def threads(count: int | None):
    """A context that runs BLAS with ``count`` threads (None: leave the library's default)."""
    return threadpool_limits(limits=count, user_api="blas")


def limit_all_threads(count: int | None):
    """``--threads``: BLAS and OpenMP limited to ``count`` in this process (a context), and,
    through the environment, in child processes and in torch (which reads it on import)."""
    if count is None:
        return contextlib.nullcontext()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(count)
    return threadpool_limits(limits=count)


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="run every candidate with N BLAS/OpenMP threads (default: each library's own "
        "default); the floor is still measured at every count",
    )


def blas_threads() -> int | None:
    """Threads numpy's BLAS uses now (the first BLAS loaded; None when none is reported)."""
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return pools[0].get("num_threads") if pools else None


# --- the machine --------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _blas_pools() -> str:
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if not pools:
        return describe_blas()
    return "; ".join(
        f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')} kernel, "
        f"{pool.get('num_threads')} thread{'s' if pool.get('num_threads') != 1 else ''}) "
        f"from {Path(pool['filepath']).parent.name}"
        for pool in pools
    )


def machine_lines(threads_option: int | None = None) -> list[str]:
    """What the figures below were measured on; call it once the BLAS libraries are loaded."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    settings = [f"{name}={os.environ[name]}" for name in OPENBLAS_VARIABLES if name in os.environ]
    return [
        f"machine: {_cpu_model()}, {os.cpu_count()} cores ({usable} usable), "
        f"load average {load} (1 / 5 / 15 min) at the end",
        f"software: Python {platform.python_version()}, numpy {_package('numpy')}, "
        f"scikit-learn {_package('scikit-learn')}, torch {_package('torch')}",
        f"BLAS: {_blas_pools()}",
        "BLAS settings from the environment: "
        + (", ".join(settings) if settings else f"none ({', '.join(OPENBLAS_VARIABLES)} unset)"),
        (
            f"threads: every candidate limited to {threads_option} by --threads"
            if threads_option
            else "threads: each library's default (--threads N limits them)"
        ),
        "timings: medians of interleaved repeats (every candidate once per round, in a fresh "
        "order each round), as many as each section says; "
        "'depends on' says what a figure changes with",
    ]


# --- child processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """A finished child process: exit code, output, wall seconds, peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_bytes: int


# The child reports its own peak: the kernel's ru_maxrss of a child also counts the RSS of the
# parent it was forked from (recorded at exec), so a parent holding the data would be measured
# instead. VmHWM in /proc/self/status belongs to the child's own address space.
PEAK_LAUNCHER = """
import atexit, os, resource, runpy, sys
def report():
    peak = None
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        pass
    if peak is None:  # no /proc: ru_maxrss, which may include the parent's RSS at fork
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(str(peak))
atexit.register(report)
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_measured(
    module: str, args: Sequence[str], cwd: str | Path, env: dict[str, str] | None = None
) -> Measured:
    """Run ``python -m module args`` to the end and measure its wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        env = {**(os.environ if env is None else env), "BENCH_PEAK_FILE": str(peak_file)}
        argv = [sys.executable, "-c", PEAK_LAUNCHER, module, *args]
        started = time.perf_counter()
        child = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak = int(peak_file.read_text()) if peak_file.exists() else 0
    return Measured(child.returncode, child.stdout, child.stderr, seconds, peak)


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table; ``ratio`` is a plain number whose meaning the section's heading
    (or the figure's own words) gives; ``check`` is PASS or MISS beside a target."""

    figure: str
    measured: str = ""
    ratio: float | None = None
    target: str = ""
    check: str = ""
    depends: str = ""
    is_heading: bool = False


COLUMNS = ("figure", "measured", "ratio", "target", "check", "depends on")


def heading(text: str) -> Row:
    return Row(text, is_heading=True)


def verdict(ratio: float, *, at_most: float | None = None, at_least: float | None = None) -> str:
    """PASS when ``ratio`` meets the target (``<= at_most`` or ``>= at_least``), else MISS."""
    if not math.isfinite(ratio):
        return "MISS"
    if at_most is not None:
        return "PASS" if ratio <= at_most else "MISS"
    return "PASS" if ratio >= at_least else "MISS"


def seconds_text(seconds: float) -> str:
    if seconds * 1e6 < 999.5:
        return f"{seconds * 1e6:.0f} µs"
    if seconds * 1e3 < 999.95:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    if ratio >= 100:
        return f"{ratio:,.0f}"
    return f"{ratio:.2f}"


def render_table(rows: Sequence[Row]) -> str:
    """A markdown table; headings are bold rows of their own, left out of the column widths."""
    cells = [
        tuple(
            text.replace("|", "\\|")
            for text in (
                row.figure,
                row.measured,
                ratio_text(row.ratio),
                row.target,
                row.check,
                row.depends,
            )
        )
        for row in rows
        if not row.is_heading
    ]
    widths = [max(len(text) for text in column) for column in zip(COLUMNS, *cells, strict=False)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    lines = [line(COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in rows:
        if row.is_heading:
            lines.append(f"| **{row.figure}** |" + " |" * (len(COLUMNS) - 1))
        else:
            lines.append(line(cells.pop(0)))
    return "\n".join(lines)
