"""``MPIStrategy``: synchronous data-parallel training over MPI (TF's MultiWorkerMirrored).

Every training process runs the same model_fn on its own shard of each global
batch. ``Optimizer.apply_gradients`` routes the gradients through one fused
allreduce per dtype per step (:mod:`estcore.distribute.ops`), so every process
applies the same averaged update and the replicas stay identical. The Estimator
broadcasts every variable from the chief after restore / warm start, lets only
the chief write checkpoints and summaries, and agrees with the others before
each step whether to go on (so all stop at the same step).

The communicator is formed once per process (:func:`get_communicator`): the
world of an ``mpiexec -n W`` launch, or the rendezvous of a TF_CONFIG launch
(:mod:`estcore.distribute.rendezvous`). A single process needs no MPI at all.

Must not: import the estimator (the Estimator reaches the strategy through one seam,
``estcore.estimator.replication``) or run the training loop; block on an MPI collective
without the watchdog's bounded wait.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import sys
import threading
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.distribute.membership import Membership, membership_from_config, task_name
from estcore.distribute.mpi import INSTALL_HINT, env_world, import_mpi
from estcore.distribute.ops import allreduce_mean
from estcore.distribute.rendezvous import form_communicator
from estcore.distribute.watchdog import Heartbeat, PeerFailure, wait

__all__ = ["MPIStrategy", "resolve_strategy", "get_communicator"]

logger = logging.getLogger("estcore")

_LOCK = threading.Lock()  # guards _COMM and _AUTO
_COMM: dict[str, Any] = {}  # the process-wide communicator and its membership
_AUTO: list = []  # the strategy chosen automatically (one per process)
_FAILED = [False]  # a peer failure was raised in this process: skip MPI_Finalize at exit


def _positive(name: str, value: Any, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise invalid(name, "a positive number" + (" or None" if allow_none else ""), value)
    return float(value)


def _exit_guard() -> None:
    # After a peer failure MPI_Finalize can block on the dead peer: leave at once.
    if _FAILED[0]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def get_communicator(me: Membership, rendezvous_timeout_secs: float) -> tuple[Any, Any]:
    """``(MPI module, communicator)`` of this process's training group, formed once."""
    with _LOCK:
        if "comm" in _COMM:
            if _COMM["me"] != me:
                raise ValueError(f"estcore.distribute: this process already joined a training "
                                 f"group as {_COMM['me']}; it cannot join another as {me}.")
            return _COMM["MPI"], _COMM["comm"]
        why = (f"mpiexec started {me.size} processes" if me.source == "mpiexec"
               else f"TF_CONFIG describes {me.size} training tasks")
        MPI = import_mpi(why)
        if MPI.Query_thread() < MPI.THREAD_MULTIPLE:
            raise RuntimeError("estcore.distribute needs an MPI library with "
                               "MPI_THREAD_MULTIPLE (its heartbeat thread talks to MPI while "
                               f"the main thread waits); this one does not. {INSTALL_HINT}")
        if me.source == "mpiexec":
            comm = MPI.COMM_WORLD.Dup()
        else:
            comm = form_communicator(MPI, me, rendezvous_timeout_secs)
        comm.Set_errhandler(MPI.ERRORS_RETURN)
        atexit.register(_exit_guard)
        _COMM.update(MPI=MPI, comm=comm, me=me)
        return MPI, comm


class _TaskTag(logging.Filter):
    """Prefixes estcore's log messages with ``[chief:0]`` / ``[worker:1]``."""

    def __init__(self, tag: str):
        super().__init__()
        self.tag = tag

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_estcore_tagged", False):
            record.msg = f"[{self.tag}] {record.msg}"
            record._estcore_tagged = True
        return True


class MPIStrategy:
    """Synchronous data-parallel training with MPI allreduce (``RunConfig.train_distribute``).

    Launch either ``mpiexec -n W python train.py`` (ranks from MPI, chief = rank 0)
    or one ``mpiexec -n 1 python train.py`` per task with TF_CONFIG (``chief`` +
    ``worker`` jobs; rank = position in the cluster's task list). A single
    process works too (nothing is communicated).

    Args:
        heartbeat_secs: interval of the liveness messages between processes.
        peer_timeout_secs: a process silent this long is declared dead; the
            others stop with :class:`estcore.errors.UnavailableError`.
        collective_timeout_secs: optional limit on any one collective (None: only
            the heartbeat bounds the wait, so a chief busy checkpointing or
            evaluating does not trip it).
        rendezvous_timeout_secs: how long a TF_CONFIG launch waits for all
            processes to join (then DeadlineExceededError; a process blocked inside
            MPI because a peer died while joining exits with code 1 five seconds
            later, see ``estcore.distribute.rendezvous``).
    """

    def __init__(self, heartbeat_secs: float = 0.5, peer_timeout_secs: float = 15.0,
                 collective_timeout_secs: float | None = None,
                 rendezvous_timeout_secs: float = 300.0):
        self.heartbeat_secs = _positive("heartbeat_secs", heartbeat_secs)
        self.peer_timeout_secs = _positive("peer_timeout_secs", peer_timeout_secs)
        if self.peer_timeout_secs <= self.heartbeat_secs:
            raise invalid("peer_timeout_secs", f"larger than heartbeat_secs="
                          f"{heartbeat_secs}", peer_timeout_secs)
        self.collective_timeout_secs = _positive("collective_timeout_secs",
                                                 collective_timeout_secs, allow_none=True)
        self.rendezvous_timeout_secs = _positive("rendezvous_timeout_secs",
                                                 rendezvous_timeout_secs)
        self._me: Membership | None = None
        self._MPI: Any = None
        self._comm: Any = None
        self._heartbeat: Heartbeat | None = None
        self.local_weight = 1.0
        self.allreduce_seconds = 0.0  # time spent in gradient allreduces (benchmarks)
        self.allreduce_calls = 0

    # ------------------------------------------------------------------ setup

    def start(self, config: Any) -> MPIStrategy:
        """Join the training group described by ``config`` (a RunConfig) and MPI; idempotent."""
        if self._me is None:
            me = membership_from_config(config)
            if me.size > 1:
                self._MPI, self._comm = get_communicator(me, self.rendezvous_timeout_secs)
            self._me = me
            tag = f"{me.task_type}:{me.task_id}"
            est_logger = logging.getLogger("estcore")
            if me.size > 1 and not any(isinstance(f, _TaskTag) for f in est_logger.filters):
                est_logger.addFilter(_TaskTag(tag))
            logger.info("estcore.distribute: MPIStrategy, task %s = rank %d of %d (%s)", tag,
                        me.rank, me.size, me.source)
        return self

    @property
    def started(self) -> bool:
        return self._me is not None

    def _need(self) -> Membership:
        if self._me is None:
            raise RuntimeError("MPIStrategy is not started: pass it as "
                               "RunConfig(train_distribute=...) and call Estimator.train().")
        return self._me

    @property
    def rank(self) -> int:
        return self._need().rank

    @property
    def num_replicas_in_sync(self) -> int:
        return self._need().size

    @property
    def is_chief(self) -> bool:
        return self._need().rank == 0

    @property
    def task(self) -> tuple[str, int]:
        me = self._need()
        return me.task_type, me.task_id

    def describe(self, rank: int) -> str:
        t, i = task_name(rank)
        return f"{t}:{i} (rank {rank})"

    # ------------------------------------------------------------------ liveness

    def begin_session(self) -> None:
        """Start the heartbeat (the Estimator calls this at the start of train())."""
        if self._comm is not None and self._heartbeat is None:
            self._heartbeat = Heartbeat(self._MPI, self._comm, self.heartbeat_secs,
                                        self.peer_timeout_secs, self.describe)

    def end_session(self) -> None:
        """Agree that every process finished, then stop the heartbeat."""
        if self._heartbeat is not None:
            self.all_true(True)
            self._heartbeat.stop()
            self._heartbeat = None

    def fail(self, exc: BaseException) -> None:
        """Record that this process leaves the group abnormally (no MPI_Finalize at exit)."""
        if self._comm is not None:
            _FAILED[0] = True
            if self._heartbeat is not None:
                self._heartbeat._stop.set()
            logger.error("estcore.distribute: stopping after %s: %s. Restart the job to resume "
                         "from the chief's last checkpoint.", type(exc).__name__, exc)

    def _wait(self, req: Any, what: str) -> None:
        try:
            wait(req, self._heartbeat, self.collective_timeout_secs, what)
        except self._MPI.Exception as exc:
            raise PeerFailure(f"estcore.distribute: {what} failed in MPI: {exc}") from None

    # ------------------------------------------------------------------ collectives

    def allreduce_sum_(self, buf: np.ndarray, what: str = "gradient allreduce") -> None:
        """Sum ``buf`` (contiguous) over all processes, in place."""
        if self._comm is None:
            return
        req = self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)
        self._wait(req, what)

    def broadcast_(self, buf: np.ndarray, what: str = "broadcast") -> None:
        """Overwrite ``buf`` (contiguous) on every process with the chief's."""
        if self._comm is None:
            return
        self._wait(self._comm.Ibcast(buf, root=0), what)

    def broadcast_object(self, obj: Any, what: str = "broadcast") -> Any:
        """The chief's ``obj`` (picklable) on every process."""
        if self._comm is None:
            return obj
        data = pickle.dumps(obj) if self.rank == 0 else b""
        n = np.array([len(data)], np.int64)
        self.broadcast_(n, what)
        buf = (np.frombuffer(data, np.uint8).copy() if self.rank == 0
               else np.empty(int(n[0]), np.uint8))
        self.broadcast_(buf, what)
        return pickle.loads(buf.tobytes())

    def all_true(self, flag: bool, what: str = "step agreement") -> bool:
        """True when ``flag`` is true on every process."""
        if self._comm is None:
            return bool(flag)
        buf = np.array([1 if flag else 0], np.int32)
        req = self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.MIN)
        self._wait(req, what)
        return bool(buf[0])

    def broadcast_variables(self, session: Any) -> None:
        """Give every process the chief's values of every variable of ``session``.

        Variables are fused into one buffer per dtype (sorted by name) and
        broadcast once each.
        """
        if self._comm is None:
            return
        values = session.get_variable_values()
        names = sorted(values)
        by_dtype: dict[str, list[str]] = {}
        for n in names:
            by_dtype.setdefault(np.asarray(values[n]).dtype.str, []).append(n)
        new: dict[str, np.ndarray] = {}
        for _dt, group in sorted(by_dtype.items()):
            arrays = [np.asarray(values[n]) for n in group]
            fused = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else None
            self.broadcast_(fused, "variable broadcast from the chief")
            off = 0
            for n, a in zip(group, arrays, strict=True):
                new[n] = fused[off:off + a.size].reshape(a.shape).copy()
                off += a.size
        session.set_variable_values(new)

    def aggregate_gradients(self, grads_and_vars: list) -> list:
        """``(grad, var)`` pairs with each gradient replaced by its cross-process average.

        One fused allreduce op per gradient dtype (see :mod:`estcore.distribute.ops`).
        """
        return allreduce_mean(self, grads_and_vars)

    def __deepcopy__(self, memo: dict) -> MPIStrategy:
        return self  # a handle on the process's communicator: RunConfig copies share it

    def __copy__(self) -> MPIStrategy:
        return self

    def __repr__(self) -> str:
        where = "not started" if self._me is None else \
            f"rank {self._me.rank} of {self._me.size} ({self._me.source})"
        return f"MPIStrategy({where})"


def resolve_strategy(config: Any) -> MPIStrategy | None:
    """The strategy for ``config``: explicit ``train_distribute``, or automatic.

    Automatic (logged): under ``mpiexec`` with more than one rank, or a TF_CONFIG
    with more than one training task (chief + workers) on a chief/worker task.

    Raises:
        TypeError: ``train_distribute`` is something other than an MPIStrategy.
        ImportError: multi-worker setting without mpi4py (names ``estcore[mpi]``).
    """
    explicit = config.train_distribute
    if explicit is not None:
        if not isinstance(explicit, MPIStrategy):
            raise invalid("train_distribute", "None or an estcore.distribute.MPIStrategy",
                          explicit, TypeError)
        return explicit.start(config)
    world = env_world()
    multi = world is not None and world[1] > 1
    if not multi and config.cluster_spec and config.task_type in ("chief", "worker"):
        jobs = config.cluster_spec.as_dict()
        multi = len(jobs.get("chief", [])) + len(jobs.get("worker", [])) > 1
    if not multi:
        return None
    with _LOCK:
        if not _AUTO:
            _AUTO.append(MPIStrategy())
            how = "mpiexec" if world is not None and world[1] > 1 else "TF_CONFIG"
            logger.info("estcore.distribute: RunConfig.train_distribute is not set and %s "
                        "describes several training processes: using "
                        "estcore.distribute.MPIStrategy() (synchronous allreduce).", how)
        strategy = _AUTO[0]
    return strategy.start(config)

