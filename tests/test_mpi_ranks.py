"""How a command runs as one of several ranks (slopelab/commands/ranks.py), without MPI: the
recorded number of ranks, the threads per rank, the quiet console."""

from __future__ import annotations

import argparse

import pytest

from slopelab.commands.ranks import QuietConsole, record_ranks, threads_per_rank
from slopelab.distributed import World


def world(size: int, rank: int = 0) -> World:
    return World(comm=None, rank=rank, size=size)


@pytest.mark.parametrize(
    ("environment", "ranks", "changed", "expected"),
    [
        ({"python": "3.11"}, 2, True, {"python": "3.11", "ranks": 2}),
        ({"python": "3.11", "ranks": 2}, 2, False, {"python": "3.11", "ranks": 2}),
        ({"ranks": 2}, 1, True, {"ranks": 1}),
        (0, 2, True, {"ranks": 2}),  # a hand edit of a record nobody reads
        ([1], 1, True, {"ranks": 1}),
        (None, 1, True, {"ranks": 1}),
    ],
)
def test_the_config_records_the_ranks_it_runs_on(environment, ranks, changed, expected):
    config = {"command": "train", "environment": environment}
    recorded, was_changed = record_ranks(config, None if ranks == 1 else world(ranks))
    assert recorded["environment"] == expected
    assert was_changed is changed
    assert config["environment"] == environment  # not mutated


@pytest.mark.parametrize(
    ("local", "threads", "ranks", "expected"),
    [("2", None, 2, 1), ("1", None, 2, None), ("2", 3, 2, None), ("2", None, 1, None)],
)
def test_ranks_sharing_a_machine_default_to_one_blas_thread(
    monkeypatch, local, threads, ranks, expected
):
    monkeypatch.setenv("MPI_LOCALNRANKS", local)
    args = argparse.Namespace(threads=threads)
    assert threads_per_rank(args, world(ranks) if ranks > 1 else None) == expected


def test_the_quiet_console_prints_nothing(capsys):
    console = QuietConsole()
    console.say("a line")
    console.table(["a"], [[1]])
    console.emit({"a": 1})
    with console.bar(3, "x") as bar:
        bar.update(1)
    assert capsys.readouterr() == ("", "")
