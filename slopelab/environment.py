"""What machine and libraries a result came from: recorded in every run's config and printed
beside every benchmark timing (timings mean little without the BLAS kernel and thread count)."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def blas_pools() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process: implementation, kernel, thread count."""
    return [
        {
            "library": pool.get("internal_api"),
            "version": pool.get("version"),
            "kernel": pool.get("architecture"),
            "threads": pool.get("num_threads"),
        }
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]


def describe_blas() -> str:
    """One line, e.g. ``openblas 0.3.31 (Haswell kernel, 2 threads)``."""
    pools = blas_pools()
    if not pools:
        return "no BLAS library reported by threadpoolctl"
    return "; ".join(
        f"{pool['library']} {pool['version']} ({pool['kernel']} kernel, {pool['threads']} threads)"
        for pool in pools
    )


def describe_environment() -> dict[str, Any]:
    return {
        "slopelab": package_version("slopelab"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "blas": blas_pools(),
    }


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# One core's worth of other work is enough: a BLAS thread that loses its core makes the others
# wait (measured: at load 1.8 on 2 cores, 2 threads trained CIFAR-10 8x slower than 1).
BUSY_LOAD = 1.0


def busy_machine_note(load: float | None = None, cores: int | None = None) -> str | None:
    """A hint when other work keeps a core busy and BLAS runs more than one thread: OpenBLAS
    threads that wait on each other can then make small matrix products many times slower
    than one thread (measured: 5-18x for the tour's minibatch runs on a busy 2-core machine).
    None on a quiet machine, with one BLAS thread, or where the load is unknown."""
    try:
        load = os.getloadavg()[0] if load is None else load
    except (AttributeError, OSError):
        return None
    cores = usable_cores() if cores is None else cores
    threads = max((pool["threads"] or 1 for pool in blas_pools()), default=1)
    if threads <= 1 or load < BUSY_LOAD:
        return None
    return (
        f"other work keeps this machine busy (load average {load:.1f} on {cores} cores) and "
        f"BLAS runs {threads} threads, which can then be many times slower than one; if this "
        "run is slow, try --threads 1"
    )


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """``--threads N``: the BLAS thread pools limited to N (threadpoolctl), and the thread
    variables set for a BLAS library loaded later (scipy's), then restored; None changes
    nothing (the BLAS library's own choice)."""
    if threads is None:
        yield
        return
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(threads) for name in names})
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
