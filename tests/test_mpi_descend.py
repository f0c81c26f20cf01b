"""Data-parallel descent (slopelab/distributed.py): K ranks under ``mpiexec`` end with the
parameters of one process on the same global batches, to 1e-6 relative in float64; a failing
or killed rank ends the job instead of leaving the others waiting."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slopelab.distributed import (
    INSTALL_FIX,
    describe_failure,
    join_world,
    shard_bounds,
)
from slopelab.errors import CommandError, InvalidValueError
from slopelab.launcher import launched_ranks, ranks_on_this_machine

sys.path.insert(0, str(Path(__file__).parent))
from mpi_program import run_case

from tests.helpers import mpiexec as mpiexec_path

PROGRAM = Path(__file__).parent / "mpi_program.py"
ROOT = Path(__file__).parent.parent
TIMEOUT = 120  # seconds; a hung rank fails the test instead of the suite
RTOL = 1e-6

# Every odd case of sharding: batches divisible by K or not, a last batch smaller than K (a
# rank with an empty shard still joins the Allreduce), single-row batches, the full batch, an
# update rule with state, another loss, sampling with replacement.
CASES = [
    {"rows": 90, "batch_size": 10, "epochs": 3},
    {"rows": 91, "batch_size": 10, "epochs": 3},  # last batch: 1 row
    {"rows": 90, "batch_size": 7, "epochs": 2, "optimizer": "adam", "learning_rate": 0.01},
    {"rows": 90, "batch_size": None, "epochs": 5},
    {"rows": 90, "batch_size": 1, "epochs": 1, "sampling": "replacement", "loss": "svm"},
    {"rows": 92, "batch_size": 45, "epochs": 4, "optimizer": "momentum", "reg": 0.1},
]


def mpi_environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


def mpiexec(ranks: int, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [mpiexec_path(), "-n", str(ranks), sys.executable, str(PROGRAM), *arguments],
        env=mpi_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.mark.slow
@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_end_with_the_parameters_of_one_process(tmp_path, ranks):
    cases_path, out_path = tmp_path / "cases.json", tmp_path / "out.npz"
    cases_path.write_text(json.dumps(CASES))
    finished = mpiexec(ranks, "descend", str(cases_path), str(out_path))
    assert finished.returncode == 0, finished.stderr
    results = np.load(out_path)
    for index, case in enumerate(CASES):
        alone = run_case(case)
        for key in ("W", "b"):
            np.testing.assert_allclose(
                results[f"{index}/{key}"], alone.params[key], rtol=RTOL, atol=0, err_msg=str(case)
            )
        losses = [step.loss for step in alone.steps]
        np.testing.assert_allclose(results[f"{index}/losses"], losses, rtol=RTOL, atol=0)
        accuracies = [epoch.train_accuracy for epoch in alone.epochs]
        np.testing.assert_allclose(results[f"{index}/train_accuracy"], accuracies, rtol=RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("rank", [0, 1])
def test_a_rank_that_raises_stops_every_rank_with_one_line(rank):
    finished = mpiexec(2, "fail", str(rank), "raise")
    assert finished.returncode == 1
    assert (
        f"mpi_program: rank {rank} of 2: internal error: RuntimeError: rank failed on purpose; "
        "stopping all ranks"
    ) in finished.stderr


@pytest.mark.slow
@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_rank_ends_the_job(rank):
    """MPICH's hydra sees the rank die and kills the others: no rank waits forever."""
    finished = mpiexec(2, "fail", str(rank), "kill")
    assert finished.returncode != 0
    assert "Killed (signal 9)" in finished.stdout + finished.stderr


@given(st.integers(0, 500), st.integers(1, 9))
def test_shards_are_disjoint_cover_the_batch_and_differ_by_at_most_one(count, size):
    bounds = [shard_bounds(count, rank, size) for rank in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    ("environ", "ranks", "local"),
    [
        ({}, 1, 1),
        ({"PMI_SIZE": "2", "PMI_RANK": "1", "MPI_LOCALNRANKS": "2"}, 2, 2),
        ({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}, 8, 4),
        ({"PMI_SIZE": ""}, 1, 1),
        ({"PMI_SIZE": "two"}, 1, 1),
    ],
)
def test_the_launcher_is_read_from_its_environment_variables(environ, ranks, local):
    assert launched_ranks(environ) == ranks
    assert ranks_on_this_machine(environ) == local


def test_one_process_joins_no_world_and_never_imports_mpi4py():
    code = (
        "import sys; from slopelab.distributed import join_world; "
        "assert join_world() is None; assert 'mpi4py' not in sys.modules"
    )
    environ = {k: v for k, v in mpi_environment().items() if not k.startswith(("PMI", "OMPI"))}
    finished = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"PMI_SIZE": "2"}, "the launcher started 2 MPI ranks, and running as one of them"),
        ({}, "--distributed"),
    ],
)
def test_without_mpi4py_the_error_says_how_to_install_it(monkeypatch, environ, said):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    with pytest.raises(CommandError, match=f"^{said} needs mpi4py.*{re.escape(INSTALL_FIX)}"):
        join_world(requested=True)


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (InvalidValueError("y contains label 12"), "error: y contains label 12", 2),
        (KeyboardInterrupt(), "interrupted", 130),
        (FileNotFoundError(2, "No such file or directory", "x.npy"), "error: No such", 2),
        (RuntimeError("boom\n  twice"), "internal error: RuntimeError: boom twice", 1),
    ],
)
def test_a_failure_is_described_in_one_line_with_the_cli_exit_code(error, line, code):
    message, exit_code = describe_failure(error)
    assert message.startswith(line) and "\n" not in message
    assert exit_code == code
