"""``ClusterSpec`` and ``TaskType``: the cluster description TF_CONFIG carries.

The one home of TF's cluster description (``RunConfig`` parses TF_CONFIG into
it). Must not know how processes are launched or connected: this process's
place in an MPI training group is :mod:`estcore.distribute.membership`'s.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClusterSpec", "TaskType"]


class TaskType:
    """Job names of a TF cluster."""

    MASTER = "master"
    PS = "ps"
    WORKER = "worker"
    CHIEF = "chief"
    EVALUATOR = "evaluator"


# --------------------------------------------------------------------------- ClusterSpec


class ClusterSpec:
    """A cluster as a mapping job name -> task addresses (TF's ``tf.train.ClusterSpec``).

    Args:
        cluster: a dict ``{job: [address, ...]}`` or ``{job: {index: address}}``,
            another ClusterSpec, or None (empty).
    """

    def __init__(self, cluster: Any = None):
        if cluster is None:
            cluster = {}
        if isinstance(cluster, ClusterSpec):
            cluster = cluster.as_dict()
        if not isinstance(cluster, dict):
            raise TypeError(
                "`cluster` must be a dict mapping job names to lists of addresses. "
                f"Received: cluster={cluster!r} ({type(cluster).__name__})")
        self._spec: dict[str, dict[int, str]] = {}
        for job, tasks in cluster.items():
            if not isinstance(job, str):
                raise TypeError(f"Job name {job!r} in the cluster must be a string.")
            if isinstance(tasks, (list, tuple)):
                self._spec[job] = dict(enumerate(tasks))
            elif isinstance(tasks, dict):
                entries = {}
                for index, address in tasks.items():
                    try:
                        entries[int(index)] = address
                    except (TypeError, ValueError):
                        raise TypeError(
                            f"Task index {index!r} of job {job!r} must be an integer.") from None
                self._spec[job] = dict(sorted(entries.items()))
            else:
                raise TypeError(
                    f"The tasks of job {job!r} must be a list of addresses or a dict "
                    f"index -> address. Received: {tasks!r} ({type(tasks).__name__})")

    @property
    def jobs(self) -> list[str]:
        """Job names, in the order given."""
        return list(self._spec)

    def num_tasks(self, job_name: str) -> int:
        """Number of tasks of ``job_name``."""
        if job_name not in self._spec:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        return len(self._spec[job_name])

    def task_indices(self, job_name: str) -> list[int]:
        if job_name not in self._spec:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        return list(self._spec[job_name])

    def job_tasks(self, job_name: str) -> list[str | None]:
        """Addresses of ``job_name`` indexed by task id (None for holes)."""
        if job_name not in self._spec:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        tasks = self._spec[job_name]
        if not tasks:
            return []
        out: list[str | None] = [None] * (max(tasks) + 1)
        for index, address in tasks.items():
            out[index] = address
        return out

    def as_dict(self) -> dict[str, Any]:
        """``{job: [addresses]}`` (a dict ``{index: address}`` for sparse jobs)."""
        out: dict[str, Any] = {}
        for job, tasks in self._spec.items():
            if list(tasks) == list(range(len(tasks))):
                out[job] = list(tasks.values())
            else:
                out[job] = dict(tasks)
        return out

    def __bool__(self) -> bool:
        return bool(self._spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClusterSpec):
            return NotImplemented
        return self._spec == other._spec

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # mutable-looking value type, as TF's

    def __repr__(self) -> str:
        values = self.as_dict()
        items = [f"{k!r}: {values[k]!r}" for k in sorted(values)]
        return "ClusterSpec({" + ", ".join(items) + "})"

    def __str__(self) -> str:
        return repr(self)
