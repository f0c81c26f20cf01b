"""A command run as K MPI ranks (``mpiexec -n K slopelab train ...``): rank 0 alone prints and
writes; the others follow it quietly.

Rank 0 does the whole start-up of a one-process run (checks every option, loads the data,
creates the run folder) and then hands the run folder and the resolved config to the other
ranks (:class:`Handoff`); they load the same data, refused when its fingerprint differs from
rank 0's, and train alongside. A start-up that fails on rank 0 (bad input) ends every rank with
its exit code, one line printed by rank 0 only. From the handoff until the last collective
call, a failure on any rank aborts all of them (:func:`slopelab.distributed.abort_on_failure`).

mpi4py is imported only when the launcher started several ranks or ``--distributed`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

from slopelab.commands.console import Console, console_for
from slopelab.distributed import World, describe_failure, join_world
from slopelab.launcher import ranks_on_this_machine

# A run's ending, identical on every rank, as the exit code of a rank that prints nothing.
FOLLOWER_EXIT = {"interrupted": 130, "diverged": 2}


class QuietConsole(Console):
    """The console of a rank other than 0: no lines, no bars, no JSON."""

    def __init__(self) -> None:
        super().__init__(json_mode=False, progress=False)

    def say(self, text: str = "") -> None:
        pass

    def emit(self, document: dict[str, Any]) -> None:
        pass


class QuietMetrics:
    """The metrics log of a rank other than 0: writes nothing."""

    def sync(self, history: Any) -> None:
        pass

    def rewrite(self, history: Any) -> None:
        pass


class RootFailed(Exception):  # noqa: N818 (rank 0's failure, already reported by rank 0)
    """Rank 0's start-up failed; this rank ends quietly with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"rank 0 failed to start (exit code {code})")
        self.code = code


def add_distributed_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="run as one of the MPI ranks mpiexec (or srun) started, each taking a shard of "
        "every batch; detected automatically under mpiexec (needs slopelab[mpi])",
    )


def join(args: argparse.Namespace) -> World | None:
    """The MPI world this command runs in, or None for one process."""
    return join_world(getattr(args, "distributed", False))


def console_of(args: argparse.Namespace, world: World | None) -> Console:
    return console_for(args) if world is None or world.is_root else QuietConsole()


def threads_per_rank(args: argparse.Namespace, world: World | None) -> int | None:
    """One BLAS thread per rank when several ranks share this machine and ``--threads`` is not
    given: K ranks of one thread each already use K cores, and more threads would only wait on
    each other. None: leave the threads as they are."""
    if world is None or getattr(args, "threads", None) is not None:
        return None
    return 1 if ranks_on_this_machine() > 1 else None


def count(world: World | None) -> int:
    """The number of ranks training together (1 without MPI)."""
    return 1 if world is None else world.size


def record_ranks(config: dict[str, Any], world: World | None) -> tuple[dict[str, Any], bool]:
    """``config`` with the number of ranks in its environment section, and whether that
    changed it (a run resumed on another number of ranks)."""
    ranks = count(world)
    environment = config.get("environment")
    if not isinstance(environment, dict):  # a record nobody reads: a hand edit only replaces it
        environment = {}
    elif environment.get("ranks") == ranks:
        return config, False
    return {**config, "environment": {**environment, "ranks": ranks}}, True


class Handoff:
    """What rank 0 hands the other ranks once its start-up checks passed (:meth:`send`), or,
    when they fail, the exit code they end with (inside :meth:`root_start`)."""

    def __init__(self, world: World | None) -> None:
        self.world = world
        self.sent = False

    @contextlib.contextmanager
    def root_start(self) -> Iterator[Handoff]:
        """Rank 0's start-up: a failure before :meth:`send` ends the other ranks quietly."""
        try:
            yield self
        except BaseException as error:
            if self.world is not None and not self.sent:
                self.world.comm.bcast(("failed", describe_failure(error)[1]), root=0)
            raise

    def send(self, payload: Any) -> None:
        if self.world is not None:
            self.world.comm.bcast(("ok", payload), root=0)
        self.sent = True

    def receive(self) -> Any:
        """On a rank other than 0: rank 0's payload, or RootFailed. A Ctrl-C meanwhile is
        ignored here: it reaches rank 0 too, whose start-up then fails and ends this rank
        quietly with exit code 130 (this rank would print a second line)."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            status, payload = self.world.comm.bcast(None, root=0)
        finally:
            signal.signal(signal.SIGINT, previous)
        if status == "failed":
            raise RootFailed(payload)
        return payload
