"""Synchronous data-parallel minibatch SGD over MPI (``mpiexec -n K``, through mpi4py).

Every rank holds the same data and the same parameters, and draws the same global batch from
the permutation its seeded RNG shares with the others. Rank ``r`` of ``K`` takes the rows
``[r B // K, (r + 1) B // K)`` of a global batch of ``B`` (sizes differ by at most one; a rank
may hold none when ``B < K``), evaluates the loss on them, and one ``Allreduce`` sums::

    n_r * data_loss_r,  n_r * reg_loss_r,  n_r * grad_r,  correct_r,  n_r,  stop_r

so that, divided by ``B = sum_r n_r``, the loss and the gradient are those of the global batch:
``grad = (1 / B) sum_r n_r grad_r`` (each ``grad_r`` is the mean over ``n_r`` rows plus the
penalty's gradient, which the weights ``n_r / B`` add up to once). Every rank then applies the
same update to the same parameters, so they stay equal without ever being sent. The sum runs
in float64 whatever the data's type; the result equals the one-process step up to rounding.

mpi4py is imported only when a world is joined: a one-process run never pays for it (see
:func:`slopelab.launcher.launched_ranks`, which reads the launcher's environment variables instead).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from slopelab.errors import CommandError, InterruptedRun, SlopelabError
from slopelab.launcher import launched_ranks
from slopelab.losses import Loss, LossParts

INSTALL_FIX = 'pip install "slopelab[mpi]"'
ABORT_GRACE_SECONDS = 0.5
HEADER = 5  # data loss, reg loss, correct, examples, stop: the numbers before the gradients


@dataclass
class World:
    """This process's place among the ranks: ``rank`` of ``size``, and the communicator.
    ``together``: whether the ranks still meet in collective calls, so that a failure on one
    must abort all (:func:`abort_on_failure`); a command clears it after the last one."""

    comm: Any
    rank: int
    size: int
    together: bool = True

    @property
    def is_root(self) -> bool:
        """Rank 0, the only one that prints and writes."""
        return self.rank == 0


def join_world(requested: bool = False) -> World | None:
    """The MPI world when the launcher started more than one rank, or when ``requested``
    (``--distributed``); None for a plain one-process run (mpi4py is then not imported)."""
    if not requested and launched_ranks() <= 1:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        launched = launched_ranks()
        how = (
            f"the launcher started {launched} MPI ranks, and running as one of them"
            if launched > 1
            else "--distributed"
        )
        raise CommandError(
            f"{how} needs mpi4py, which is not installed; install it with {INSTALL_FIX}"
        ) from None
    comm = MPI.COMM_WORLD
    return World(comm, comm.Get_rank(), comm.Get_size())


@contextlib.contextmanager
def abort_on_failure(
    world: World | None, prog: str, before_abort: Callable[[], None] | None = None
) -> Iterator[None]:
    """Inside, an exception on any rank prints one line naming the rank and aborts every rank
    (``MPI_Abort``, exit code 2 for bad input, 130 for Ctrl-C, 1 otherwise): the other ranks
    would otherwise wait forever in their next Allreduce. Nothing changes without a world, or
    once ``world.together`` is off (every rank is past its last collective call: the failure is
    reported as in one process). ``before_abort`` runs first: the abort ends every rank at
    once, rank 0 included, so nothing cleans up after it (a rank other than 0 removes the new
    run folder rank 0 would have removed)."""
    if world is None:
        yield
        return
    try:
        yield
    except (Exception, KeyboardInterrupt) as error:
        if not world.together:
            raise
        message, code = describe_failure(error)
        if before_abort is not None:
            with contextlib.suppress(Exception):  # the abort must happen whatever it meets
                before_abort()
        print(
            f"{prog}: rank {world.rank} of {world.size}: {message}; stopping all ranks",
            file=sys.stderr,
            flush=True,
        )
        # The line is in the pipe to the launcher's proxy; MPI_Abort makes the launcher tear
        # the job down, and it may do so before forwarding the line (seen once in 5 runs on a
        # busy machine). A short pause lets it forward first.
        time.sleep(ABORT_GRACE_SECONDS)
        world.comm.Abort(code)


def describe_failure(error: BaseException) -> tuple[str, int]:
    """One line and the exit code for a failure, as the CLI reports it.

    >>> describe_failure(CommandError("--epochs must be positive"))
    ('error: --epochs must be positive', 2)
    """
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(error, InterruptedRun):
        return str(error), 130
    if isinstance(error, SlopelabError):
        return f"error: {error}", 2
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"error: {error.strerror or type(error).__name__}{where}", 2
    return "internal error: " + " ".join(f"{type(error).__name__}: {error}".split()), 1


def shard_bounds(count: int, rank: int, size: int) -> tuple[int, int]:
    """The rows ``[start, stop)`` of a global batch of ``count`` rows that ``rank`` of ``size``
    takes: contiguous, disjoint, covering the batch, sizes differing by at most one.

    >>> [shard_bounds(5, rank, 2) for rank in range(2)]
    [(0, 2), (2, 5)]
    >>> [shard_bounds(1, rank, 3) for rank in range(3)]
    [(0, 0), (0, 0), (0, 1)]
    """
    return count * rank // size, count * (rank + 1) // size


class Reducer:
    """Shards every global batch over the ranks of ``world`` and combines their loss, gradient
    and running-accuracy counts with one Allreduce per step (the formula is in the module
    docstring). ``seconds`` is the time spent inside Allreduce, which includes waiting for the
    slowest rank."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seconds = 0.0
        self.stop_agreed = False
        self._poll_stop: Callable[[], bool] = lambda: False
        self._buffer: np.ndarray | None = None

    def shard(self, count: int) -> slice:
        """This rank's rows of a global batch of ``count`` rows."""
        return slice(*shard_bounds(count, self.world.rank, self.world.size))

    def agreed_stop(self, poll: Callable[[], bool]) -> Callable[[], bool]:
        """A ``stop_requested`` for :func:`slopelab.train.descend` that every rank answers
        alike: ``poll`` (this rank's Ctrl-C flag) travels with the next step's Allreduce, and a
        stop asked by any rank ends the loop on all of them before the step after it."""
        self._poll_stop = poll
        return lambda: self.stop_agreed

    def loss_parts(
        self,
        loss: Loss,
        state: Any,
        X_shard: np.ndarray,
        y_shard: np.ndarray,
        reg: float,
    ) -> LossParts:
        """The loss parts of the global batch whose shard this rank holds, every rank getting
        the same numbers; adds the global batch to ``state``'s running-accuracy counts."""
        params = state.params
        W, b = params["W"], params["b"]
        buffer = self._zeroed_buffer(W.size + b.size)
        rows = len(y_shard)
        if rows:
            parts = loss.parts(params, X_shard, y_shard, reg)
            correct = np.count_nonzero(parts.scores.argmax(axis=1) == y_shard)
            buffer[:HEADER] = (rows * parts.data_loss, rows * parts.reg_loss, correct, rows, 0)
            np.multiply(parts.grads["W"].ravel(), rows, out=buffer[HEADER : HEADER + W.size])
            np.multiply(parts.grads["b"], rows, out=buffer[HEADER + W.size :])
        buffer[4] = float(bool(self._poll_stop()))
        self._allreduce(buffer)
        total_rows = buffer[3]
        state.epoch_correct += int(buffer[2])
        state.epoch_scored += int(total_rows)
        self.stop_agreed = bool(buffer[4])
        grads = {
            "W": (buffer[HEADER : HEADER + W.size] / total_rows).astype(W.dtype).reshape(W.shape),
            "b": (buffer[HEADER + W.size :] / total_rows).astype(b.dtype),
        }
        scores = np.empty((0, b.size), dtype=W.dtype)  # the global batch's scores stay apart
        return LossParts(
            float(buffer[0] / total_rows), float(buffer[1] / total_rows), grads, scores
        )

    def check_same_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Refuse to go on when the ranks' parameters differ (they never should: every rank
        applies the same update); every rank raises alike."""
        from mpi4py import MPI

        root_params = self.world.comm.bcast(
            {key: np.asarray(value) for key, value in params.items()}, root=0
        )
        differs = any(
            not np.array_equal(root_params[key], value, equal_nan=True)
            for key, value in params.items()
        )
        if self.world.comm.allreduce(int(differs), op=MPI.MAX):
            raise RuntimeError(
                "the ranks ended with different parameters; the MPI library's Allreduce did "
                "not give every rank the same sums"
            )

    def _zeroed_buffer(self, size: int) -> np.ndarray:
        if self._buffer is None or self._buffer.size != HEADER + size:
            self._buffer = np.zeros(HEADER + size)
        else:
            self._buffer.fill(0.0)
        return self._buffer

    def _allreduce(self, buffer: np.ndarray) -> None:
        from mpi4py import MPI

        started = time.perf_counter()
        self.world.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        self.seconds += time.perf_counter() - started
