"""Where a sweep's trials run: one after another, in ``--jobs N`` local processes, or spread
over the ranks of ``mpiexec -n K slopelab sweep``. Every way yields the same trials in the same
order: a trial depends only on its setting and the seed (it starts its own RNG from
``--seed``), never on which process ran it or when.

Local processes are forked, so they share the prepared data with the parent without copying
it; each runs the BLAS threads it is given (the sweep gives one: N processes already keep N
cores busy) and ignores Ctrl-C, which the parent handles by terminating them all: no process
outlives the command.

Over MPI, rank ``r`` runs the trials ``r, r + K, r + 2K, ...`` of each stage; the ranks then
exchange their trials (small records), and the rank holding the stage's best trial sends its
parameters to all, so every rank zooms in on the same ranges for the next stage.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from slopelab.distributed import World

Params = dict[str, np.ndarray]
Setting = tuple[float, float]
RunTrial = Callable[[int, float, float, int], tuple[Any, Params]]  # (stage, lr, reg, epochs)

_worker_trial: list[RunTrial] = []  # the forked worker's trial function


class TrialRunner:
    """Runs a stage's settings and yields ``(trial, params)`` in the settings' order; over MPI,
    ``params`` is None except for the stage's best trial (the only one a sweep keeps)."""

    def __init__(
        self, run_trial: RunTrial, jobs: int = 1, world: World | None = None, threads: int = 1
    ) -> None:
        self.run_trial = run_trial
        self.jobs = jobs
        self.world = world
        self.threads = threads  # BLAS threads of each local process
        self._pool: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[TrialRunner]:
        """Start the ``--jobs`` processes; on the way out (Ctrl-C included) terminate them."""
        if self.jobs <= 1:
            yield self
            return
        # fork: the workers see the prepared data without a copy (spawn would pickle it to each)
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs, _start_worker, (self.run_trial, self.threads)) as pool:
            self._pool = pool
            try:
                yield self
            finally:
                self._pool = None
                pool.terminate()
                pool.join()

    def stage(
        self, stage: int, settings: list[Setting], epochs: int
    ) -> Iterator[tuple[Any, Params | None]]:
        tasks = [(stage, learning_rate, reg, epochs) for learning_rate, reg in settings]
        if self.world is not None:
            yield from self._spread_over_ranks(tasks)
        elif self._pool is not None:
            yield from self._pool.imap(_run_in_worker, tasks)
        else:
            for task in tasks:
                yield self.run_trial(*task)

    def _spread_over_ranks(self, tasks: list[tuple]) -> Iterator[tuple[Any, Params | None]]:
        world = self.world
        mine = range(world.rank, len(tasks), world.size)
        trials: dict[int, Any] = {}
        best_index, best_params = None, None
        from slopelab.commands.sweep import improves

        for index in mine:
            trials[index], params = self.run_trial(*tasks[index])
            if improves(trials[index], trials.get(best_index)):
                best_index, best_params = index, params
        everyone = {}
        for part in world.comm.allgather(trials):
            everyone.update(part)
        ordered = [everyone[index] for index in range(len(tasks))]
        stage_best = None
        for index, trial in enumerate(ordered):
            if improves(trial, ordered[stage_best] if stage_best is not None else None):
                stage_best = index
        params = None
        if stage_best is not None:
            owner = stage_best % world.size
            params = world.comm.bcast(best_params if world.rank == owner else None, root=owner)
        for index, trial in enumerate(ordered):
            yield trial, params if index == stage_best else None


def _start_worker(run_trial: RunTrial, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    threadpool_limits(threads, user_api="blas")
    _worker_trial.append(run_trial)


def _run_in_worker(task: tuple) -> tuple[Any, Params]:
    return _worker_trial[0](*task)
