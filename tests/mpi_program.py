"""What the MPI tests run under ``mpiexec`` (tests/test_mpi_*.py): descent runs with a reducer,
their parameters saved by rank 0 for the test to compare with one process.

Usage: ``mpiexec -n K python tests/mpi_program.py descend CASES.json OUT.npz`` runs every case
of the JSON list (see :func:`run_case`) and saves ``{case}/W``, ``{case}/b``, ``{case}/losses``
and ``{case}/train_accuracy``; ``... fail RANK HOW`` makes rank RANK fail in the middle of a
run (``raise`` or ``kill``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

import numpy as np


def problem_data(seed: int = 0, rows: int = 90, features: int = 5, classes: int = 3):
    """float64 blobs: a problem small enough for many cases per launch."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((classes, features))
    y = np.arange(rows) % classes
    X = centres[y] + rng.standard_normal((rows, features))
    return X, y


def run_case(case: dict[str, Any], reducer: Any = None, stop_after: int | None = None):
    """One descent run: ``case`` holds rows, batch_size (None: full batch), sampling, epochs,
    optimizer, reg, loss, seed."""
    from slopelab.history import Budget
    from slopelab.problem import make_problem
    from slopelab.train import DescentConfig, descend, resolve_optimizer

    X, y = problem_data(case.get("seed", 0), case["rows"])
    X_val, y_val = problem_data(case.get("seed", 0) + 1, 30)
    problem = make_problem(case.get("loss", "softmax"), X, y, X_val, y_val)
    optimizer = resolve_optimizer(case.get("optimizer", "sgd"), case.get("learning_rate", 0.05))
    config = DescentConfig(
        reg=case.get("reg", 1e-3),
        batch_size=case["batch_size"],
        sampling=case.get("sampling", "shuffle"),
        strategy="sgd" if case["batch_size"] else "gradient_descent",
    )
    rng = np.random.default_rng(case.get("seed", 0))
    return descend(problem, optimizer, config, Budget(epochs=case["epochs"]), rng, reducer=reducer)


def _descend(cases_path: str, out_path: str) -> None:
    from slopelab.distributed import Reducer, join_world

    world = join_world(requested=True)
    with open(cases_path) as file:
        cases = json.load(file)
    arrays: dict[str, np.ndarray] = {}
    for index, case in enumerate(cases):
        reducer = Reducer(world)
        history = run_case(case, reducer)
        reducer.check_same_params(history.params)
        arrays[f"{index}/W"] = history.params["W"]
        arrays[f"{index}/b"] = history.params["b"]
        arrays[f"{index}/losses"] = np.array([step.loss for step in history.steps])
        arrays[f"{index}/train_accuracy"] = np.array([e.train_accuracy for e in history.epochs])
    if world.is_root:
        np.savez(out_path, **arrays)


def _fail(rank: str, how: str) -> None:
    from slopelab.distributed import Reducer, abort_on_failure, join_world

    world = join_world(requested=True)
    case = {"rows": 90, "batch_size": 10, "epochs": 10_000}
    reducer = Reducer(world)
    if world.rank == int(rank):
        original = reducer.loss_parts
        calls = [0]

        def failing(*args: Any) -> Any:
            calls[0] += 1
            if calls[0] == 20:
                if how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("rank failed on purpose")
            return original(*args)

        reducer.loss_parts = failing
    with abort_on_failure(world, "mpi_program"):
        run_case(case, reducer)


def _failing_cli(how: str, *argv: str) -> None:
    """``slopelab ARGV`` in which this rank fails: ``data`` (its data load raises a DataError,
    as a missing file on one machine would), ``raise`` or ``kill`` (at its fifth step); or
    ``slow``: rank 0's start-up prints ``loading`` and takes 30 s more; ``waiting``: another rank
    prints ``waiting`` as it starts waiting for rank 0's handoff."""
    from slopelab.cli import main
    from slopelab.commands import train
    from slopelab.data.errors import DataError
    from slopelab.distributed import Reducer

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DataError("digits.csv is not readable on this machine")

    original = Reducer.loss_parts
    calls = [0]

    def failing(self: Any, *args: Any) -> Any:
        calls[0] += 1
        if calls[0] == 5:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("rank failed on purpose")
        return original(self, *args)

    def slow(*args: Any, **kwargs: Any) -> Any:
        print("loading", flush=True)
        time.sleep(30)
        return original_prepare(*args, **kwargs)

    original_prepare = train.start_run.__globals__["prepare_data"]
    if how == "data":
        train.prepare_data = refuse
        train.start_run.__globals__["prepare_data"] = refuse
    elif how == "slow":
        train.start_run.__globals__["prepare_data"] = slow
    elif how == "waiting":
        from slopelab.commands import ranks

        original_receive = ranks.Handoff.receive

        def receive(self: Any) -> Any:
            print("waiting", flush=True)
            return original_receive(self)

        ranks.Handoff.receive = receive
    else:
        Reducer.loss_parts = failing
    sys.exit(main(list(argv)))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"descend": _descend, "fail": _fail, "failing-cli": _failing_cli}[command](*arguments)
