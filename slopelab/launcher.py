"""What the MPI launcher (``mpiexec``, ``srun``) told this process, read from its environment.

No mpi4py and no numpy here: the command line reads these before anything heavy is imported,
and a one-process run never imports mpi4py at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Set by the launchers: MPICH/Intel MPI (hydra, Slurm's PMI), then Open MPI.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK")
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")


def _first_number(
    names: tuple[str, ...], environ: Mapping[str, str] | None, minimum: int
) -> int | None:
    environ = os.environ if environ is None else environ
    for name in names:
        value = environ.get(name, "")
        if value.isdigit() and int(value) >= minimum:
            return int(value)
    return None


def launched_ranks(environ: Mapping[str, str] | None = None) -> int:
    """The number of ranks the MPI launcher started (1 without one).

    >>> launched_ranks({"PMI_SIZE": "4"}), launched_ranks({})
    (4, 1)
    """
    return _first_number(SIZE_VARIABLES, environ, 1) or 1


def launched_rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's rank as the launcher numbered it (0 without one).

    >>> launched_rank({"PMI_RANK": "3"}), launched_rank({"OMPI_COMM_WORLD_RANK": "1"})
    (3, 1)
    >>> launched_rank({})
    0
    """
    return _first_number(RANK_VARIABLES, environ, 0) or 0


def ranks_on_this_machine(environ: Mapping[str, str] | None = None) -> int:
    """How many ranks share this machine (1 when the launcher does not say).

    >>> ranks_on_this_machine({"MPI_LOCALNRANKS": "2"})
    2
    """
    return _first_number(LOCAL_SIZE_VARIABLES, environ, 1) or 1


def find_mpiexec() -> str | None:
    """The ``mpiexec`` to start ranks with: the one beside this Python (the MPICH wheel that
    ``slopelab[mpi]`` installs puts it there, matching the installed mpi4py), else the first
    on ``PATH``; None when there is none."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")
