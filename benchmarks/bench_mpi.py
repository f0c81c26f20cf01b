"""Scaling of data-parallel SGD over MPI on this machine: the epoch time on 1 and K ranks and the
share of it spent inside Allreduce (which includes waiting for the slowest rank).

    python benchmarks/bench_mpi.py                  # 1 process vs mpiexec -n 2, interleaved
    python benchmarks/bench_mpi.py --ranks 4 --repeats 5
    python benchmarks/bench_mpi.py --quick          # a smoke run in seconds (no verdicts)

Each measurement is a fresh child process: ``python bench_mpi.py --worker`` for one process
(the path ``slopelab train`` takes without MPI, no mpi4py imported) and ``mpiexec -n K python
bench_mpi.py --worker`` for K ranks; one process with K BLAS threads is measured too, the other
way to use K cores of one machine. The runs are interleaved, one of each per round in a fresh
order, and the table gives medians: the machine is shared and drifts. A worker times one epoch
of softmax minibatch SGD (batch 200, one BLAS thread per rank) inside the training loop, after
its data is loaded, so start-up and data generation are not counted; the Allreduce time is
measured inside :class:`slopelab.distributed.Reducer`.

Problems: scikit-learn's digits (1,437 x 64, standardized) and a CIFAR-10-sized problem (49,000
x 3,072 float32, 10 classes; generated: the timing depends on the shapes, not on the pixels).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from timing import SPEED, Row, heading, machine_lines, render_table

HERE = Path(__file__).resolve()
PROBLEMS = {"digits": 20, "cifar-sized": 1}  # epochs a worker times
QUICK_ROWS = 4_900  # the CIFAR-10-sized problem's rows in a --quick run


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    return X.astype(np.float32), y


def cifar_sized(rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 3_072), dtype=np.float32)
    return X, rng.integers(0, 10, size=rows)


def worker(problem: str, epochs: int, rows: int) -> None:
    """Time ``epochs`` epochs of SGD on this rank; rank 0 prints one JSON line."""
    from slopelab.distributed import Reducer, join_world
    from slopelab.history import Budget
    from slopelab.problem import make_problem
    from slopelab.train import DescentConfig, descend, resolve_optimizer

    world = join_world()
    X, y = digits() if problem == "digits" else cifar_sized(rows)
    reducer = Reducer(world) if world is not None else None
    if world is not None:
        world.comm.Barrier()  # every rank has its data: the clock starts together
    history = descend(
        make_problem("softmax", X, y),
        resolve_optimizer("sgd", 1e-3),
        DescentConfig(reg=1e-4, batch_size=200, eval_every=None),
        Budget(epochs=epochs),
        np.random.default_rng(0),
        reducer=reducer,
    )
    if world is None or world.is_root:
        allreduce = reducer.seconds if reducer is not None else 0.0
        print(json.dumps({"epoch": history.seconds / epochs, "allreduce": allreduce / epochs}))


def run_worker(
    ranks: int, problem: str, epochs: int, rows: int, threads: int = 1
) -> dict[str, float]:
    """One measurement in a fresh process (``ranks`` > 1: under mpiexec), ``threads`` BLAS
    threads per process."""
    command = [sys.executable, str(HERE), "--worker", problem, str(epochs), str(rows)]
    if ranks > 1:
        from slopelab.launcher import find_mpiexec

        command = [find_mpiexec() or "mpiexec", "-n", str(ranks), *command]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(
    ranks: int, problems: dict[str, int], repeats: int, rows: int
) -> dict[tuple[str, int, int], dict[str, float]]:
    """Medians over ``repeats`` rounds; each round runs every (problem, ranks, threads) once,
    in a fresh (seeded) order: 1 process of 1 BLAS thread, K ranks of 1 thread, and 1 process
    of K threads (the other way to use K cores of one machine)."""
    settings = ((1, 1), (ranks, 1), (1, ranks))
    runs = [(problem, count, threads) for problem in problems for count, threads in settings]
    found: dict[tuple[str, int, int], list[dict[str, float]]] = {run: [] for run in runs}
    order = random.Random(0)
    for round_number in range(repeats):
        for problem, count, threads in order.sample(runs, len(runs)):
            print(
                f"round {round_number + 1}/{repeats}: {problem}, {count} rank(s) x {threads} "
                "BLAS thread(s)",
                file=sys.stderr,
            )
            found[problem, count, threads].append(
                run_worker(count, problem, problems[problem], rows, threads)
            )
    return {
        run: {key: statistics.median(result[key] for result in results) for key in results[0]}
        for run, results in found.items()
    }


def speed_up_row(
    figure: str, baseline: dict[str, float], run: dict[str, float], quick: bool
) -> Row:
    """``run``'s epoch time, and its speed-up over ``baseline`` as the ratio."""
    return Row(
        figure,
        f"{run['epoch'] * 1e3:.1f} ms",
        ratio=baseline["epoch"] / run["epoch"],
        check="smoke" if quick else "",
        depends=SPEED,
    )


def table(
    ranks: int, medians: dict[tuple[str, int, int], dict[str, float]], quick: bool
) -> list[Row]:
    rows = [heading(f"one epoch, 1 process vs {ranks} MPI ranks (medians; ratio: speed-up)")]
    for problem in dict.fromkeys(problem for problem, _, _ in medians):
        one, many = medians[problem, 1, 1], medians[problem, ranks, 1]
        threaded = medians[problem, 1, ranks]
        share = many["allreduce"] / many["epoch"] if many["epoch"] else float("nan")
        rows += [
            Row(f"{problem}: epoch, 1 process", f"{one['epoch'] * 1e3:.1f} ms", depends=SPEED),
            speed_up_row(
                f"{problem}: epoch, 1 process with {ranks} BLAS threads", one, threaded, quick
            ),
            speed_up_row(f"{problem}: epoch, {ranks} ranks", one, many, quick),
            Row(
                f"{problem}: time inside Allreduce, {ranks} ranks",
                f"{many['allreduce'] * 1e3:.1f} ms ({share:.0%} of the epoch)",
                depends=SPEED,
            ),
        ]
    return rows


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, default=2, help="K, compared with 1 (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="digits and 4,900 rows, 1 round")
    args = parser.parse_args()
    rows = QUICK_ROWS if args.quick else 49_000
    repeats = 1 if args.quick else args.repeats
    medians = measure(args.ranks, PROBLEMS, repeats, rows)
    for line in machine_lines():
        if not line.startswith("threads:"):  # the workers' own threads: said below
            print(f"- {line}")
    print(
        f"- ranks: 1 process (no MPI) vs mpiexec -n {args.ranks}, one BLAS thread each; and 1 "
        f"process with {args.ranks} BLAS threads"
    )
    if args.quick:
        print(f"- quick: the CIFAR-10-sized problem has {rows:,} rows, one round (smoke only)")
    print()
    print(render_table(table(args.ranks, medians, args.quick)))


if __name__ == "__main__":
    main()
