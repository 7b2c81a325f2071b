"""Who is in the synchronous training group: from ``mpiexec`` or from ``TF_CONFIG``.

Owns this process's :class:`Membership` (rank, size, task, how it was launched)
and the view of an ``mpiexec`` launch as a TF_CONFIG cluster. The cluster
description itself (``ClusterSpec``, ``TaskType``, TF_CONFIG parsing) is
``RunConfig``'s (:mod:`estcore.estimator.cluster`, :mod:`estcore.estimator.run_config`):
this module reads a RunConfig's fields and never parses TF_CONFIG again. Reading
the environment only, it starts no MPI.

Two launches give the same picture (chief = rank 0):

* ``mpiexec -n W python train.py``: rank and size come from MPI (the process
  manager's environment); :func:`mpi_cluster_view` turns them into what
  ``RunConfig`` reports: rank 0 is ``chief:0``, rank r > 0 is ``worker:(r-1)``.
* One process per host with ``TF_CONFIG``: the training tasks are ``chief`` and
  ``worker`` (``evaluator`` and ``ps`` take no part); rank = position in
  ``[chief:0, worker:0, worker:1, ...]``, which is TF's ``global_id_in_cluster``.

Must not: import mpi4py or run collectives; parse TF_CONFIG (``RunConfig`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estcore.distribute.mpi import env_world

__all__ = ["Membership", "mpi_cluster_view", "membership_from_config", "task_name"]


@dataclass(frozen=True)
class Membership:
    """This process's place in the synchronous training group.

    Attributes:
        rank: 0 .. size-1; 0 is the chief.
        size: number of training processes (chief + workers).
        task_type: ``"chief"`` or ``"worker"``.
        task_id: index within the task type.
        source: ``"mpiexec"``, ``"tf_config"`` or ``"local"``.
        chief_address: ``host:port`` of the chief (TF_CONFIG launch only).
    """

    rank: int
    size: int
    task_type: str
    task_id: int
    source: str
    chief_address: str | None = None


def task_name(rank: int) -> tuple[str, int]:
    """``(task_type, task_id)`` of a rank: 0 -> chief:0, r -> worker:(r-1)."""
    return ("chief", 0) if rank == 0 else ("worker", rank - 1)


def mpi_cluster_view() -> dict[str, Any] | None:
    """The TF_CONFIG-equivalent view of an ``mpiexec`` launch with more than one rank.

    Returns None when not under mpiexec or with a single rank. Addresses are
    placeholders (``mpi-rank-<r>:0``): MPI, not TCP, connects the ranks.
    """
    world = env_world()
    if world is None or world[1] <= 1:
        return None
    rank, size = world
    task_type, task_id = task_name(rank)
    return {
        "cluster": {"chief": ["mpi-rank-0:0"],
                    "worker": [f"mpi-rank-{r}:0" for r in range(1, size)]},
        "task": {"type": task_type, "index": task_id},
    }


def membership_from_config(config: Any) -> Membership:
    """This process's :class:`Membership` from a RunConfig (and the MPI environment)."""
    world = env_world()
    if world is not None and world[1] > 1:
        view = mpi_cluster_view()
        if view is not None and config.cluster_spec.as_dict() != view["cluster"]:
            # RunConfig takes the mpiexec view only where TF_CONFIG has no cluster.
            raise ValueError(
                f"estcore.distribute: mpiexec started {world[1]} processes and TF_CONFIG also "
                "describes a cluster. Use one or the other: `mpiexec -n W python train.py` "
                "without TF_CONFIG, or one `mpiexec -n 1` per TF_CONFIG task.")
        rank, size = world
        task_type, task_id = task_name(rank)
        return Membership(rank, size, task_type, task_id, "mpiexec")
    spec = config.cluster_spec
    jobs = spec.as_dict() if spec else {}
    if not jobs:
        return Membership(0, 1, "chief", 0, "local")
    chiefs = list(jobs.get("chief", []))
    workers = list(jobs.get("worker", []))
    if not chiefs:
        raise ValueError("estcore.distribute.MPIStrategy needs a `chief` job in TF_CONFIG's "
                         f"cluster (it hosts the rendezvous); got jobs {sorted(jobs)}.")
    if config.task_type not in ("chief", "worker"):
        raise ValueError("estcore.distribute.MPIStrategy trains on `chief` and `worker` tasks "
                         f"only; this task is {config.task_type!r}.")
    rank = 0 if config.task_type == "chief" else 1 + int(config.task_id)
    return Membership(rank, 1 + len(workers), config.task_type, int(config.task_id),
                      "tf_config", chiefs[0])
