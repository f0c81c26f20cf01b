"""Shared by the benchmark scripts: interleaved repeats, medians, and the BLAS in use."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from slopelab.environment import describe_blas

__all__ = ["describe_blas", "interleaved"]


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int, warm_up: bool = False
) -> dict[str, float]:
    """Median seconds of each callable, running them in turn ``repeats`` times (A B C, A B C):
    machines here are shared and drift, so candidates and baselines must share each moment."""
    if warm_up:
        for run in candidates.values():
            run()  # imports, caches, a first connection
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}
