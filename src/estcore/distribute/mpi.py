"""Importing mpi4py (the optional ``mpi`` extra) with a helpful error.

mpi4py initialises MPI when ``mpi4py.MPI`` is first imported; estcore imports it
only when a multi-worker setting needs it, with thread level MULTIPLE (the
heartbeat thread talks to MPI while the main thread waits on a collective).

Must not: import mpi4py when this module is imported (only :func:`import_mpi` does, so
single-process training never starts MPI); run collectives (``strategy.py`` and
``watchdog.py`` do).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["import_mpi", "INSTALL_HINT", "launched_by_mpiexec", "env_world"]

INSTALL_HINT = "pip install estcore[mpi]  (installs mpi4py and MPICH from PyPI)"

# Environment variables process managers set for each launched process:
# MPICH's hydra (PMI_RANK/PMI_SIZE), Open MPI, Slurm's PMI.
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")


def env_world() -> tuple[int, int] | None:
    """``(rank, size)`` of the MPI job this process was launched in, or None (no mpiexec).

    Read from the environment only, so it costs nothing and starts no MPI.
    """
    rank = next((os.environ[v] for v in _RANK_VARS if v in os.environ), None)
    size = next((os.environ[v] for v in _SIZE_VARS if v in os.environ), None)
    if rank is None or size is None:
        return None
    try:
        return int(rank), int(size)
    except ValueError:
        return None


def launched_by_mpiexec() -> bool:
    """True when a process manager (``mpiexec``) started this process."""
    return env_world() is not None or "PMI_FD" in os.environ or "PMI_PORT" in os.environ


def import_mpi(why: str) -> Any:
    """``mpi4py.MPI``, initialised; ImportError naming the extra when it is missing.

    Args:
        why: what needs MPI, for the error message (e.g. "TF_CONFIG has 2 training tasks").
    """
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"estcore.distribute: {why}, which needs MPI through mpi4py, but "
                          f"mpi4py is not installed. Install it with: {INSTALL_HINT}") from None
    try:
        mpi4py.rc.thread_level = "multiple"
        from mpi4py import MPI
    except ImportError as exc:  # mpi4py present, no MPI library found
        raise ImportError(f"estcore.distribute: {why}, but mpi4py could not load an MPI "
                          f"library ({exc}). Install one with: {INSTALL_HINT}") from exc
    return MPI
