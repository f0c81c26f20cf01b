"""Scaling of data-parallel SGD over MPI on this machine: the epoch time on 1 and K ranks and the
share of it spent inside Allreduce (which includes waiting for the slowest rank).

    python benchmarks/bench_mpi.py                  # one process, no MPI
    mpiexec -n 2 python benchmarks/bench_mpi.py     # two ranks

Problems: scikit-learn's digits (1,437 x 64, batch 200) and a CIFAR-10-sized problem
(49,000 x 3,072 float32, 10 classes, batch 200; generated: the timing depends on the shapes,
not on the pixels). One BLAS thread per rank. The numbers in the README came from this script.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from slopelab.distributed import Reducer, join_world
from slopelab.environment import describe_blas
from slopelab.history import Budget
from slopelab.problem import make_problem
from slopelab.train import DescentConfig, descend, resolve_optimizer


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    return X.astype(np.float32), y


def cifar_sized() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((49_000, 3_072), dtype=np.float32)
    return X, rng.integers(0, 10, size=49_000)


def measure(name: str, X: np.ndarray, y: np.ndarray, epochs: int, world) -> None:
    problem = make_problem("softmax", X, y)
    optimizer = resolve_optimizer("sgd", 1e-3)
    reducer = Reducer(world) if world is not None else None
    if world is not None:
        world.comm.Barrier()
    history = descend(
        problem,
        optimizer,
        DescentConfig(reg=1e-4, batch_size=200, eval_every=None),
        Budget(epochs=epochs),
        np.random.default_rng(0),
        reducer=reducer,
    )
    ranks = 1 if world is None else world.size
    if world is None or world.is_root:
        per_epoch = history.seconds / epochs
        allreduce = reducer.seconds / epochs if reducer is not None else 0.0
        print(
            f"{name:12s} {ranks} rank(s): {per_epoch * 1e3:8.1f} ms per epoch, "
            f"Allreduce {allreduce * 1e3:7.1f} ms ({allreduce / per_epoch:5.1%})",
            flush=True,
        )


def main() -> None:
    world = join_world()
    if world is None or world.is_root:
        print(f"{describe_blas()}; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    measure("digits", *digits(), epochs=20, world=world)
    measure("cifar-sized", *cifar_sized(), epochs=1, world=world)


if __name__ == "__main__":
    main()
