"""What machine and libraries a result came from: recorded in every run's config and printed
beside every benchmark timing (timings mean little without the BLAS kernel and thread count)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info


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
