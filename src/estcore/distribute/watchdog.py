"""Bounded waits on MPI: nonblocking collectives polled against a heartbeat.

Blocking MPI collectives wait forever when a peer dies without MPI noticing
(e.g. a killed process in a TF_CONFIG job, where no single mpiexec watches all
processes). Here every collective is nonblocking (``Iallreduce``, ``Ibcast``)
and the caller polls ``Test`` while checking:

* the :class:`Heartbeat`: a daemon thread that sends a tiny message to every
  peer every ``interval`` seconds on its own communicator and records when each
  peer was last heard from. A peer silent for ``timeout`` seconds is declared
  dead. A slow peer that is alive (the chief writing a checkpoint or running an
  evaluation) keeps sending heartbeats, so only real failures trip it.
* an optional overall deadline per collective.

Polling: ``Test`` in a tight loop for the first ~2 ms (steps of a small model
finish within that), then sleeps that grow to 1 ms, so a waiting worker does
not burn a core that another process could use.

Must not: call a blocking MPI collective; import mpi4py itself (the caller passes
requests and communicators); know about the Estimator, strategies or variables.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from estcore.errors import DeadlineExceededError, UnavailableError

__all__ = ["Heartbeat", "wait", "PeerFailure"]

_TAG = 0x7E57


class PeerFailure(UnavailableError):
    """A peer of the training group died or stopped responding."""


class Heartbeat:
    """Background liveness check of every peer of ``comm`` (its own duplicate).

    Args:
        MPI: the mpi4py ``MPI`` module.
        comm: the training communicator (duplicated; the original is not used).
        interval: seconds between heartbeats.
        timeout: a peer silent this long is dead.
        describe: ``rank -> str`` for messages (e.g. "worker:0 (rank 1)").
    """

    def __init__(self, MPI: Any, comm: Any, interval: float, timeout: float, describe):
        self._MPI = MPI
        self._comm = comm.Dup()
        self._rank = self._comm.Get_rank()
        self._size = self._comm.Get_size()
        self._interval = interval
        self._timeout = timeout
        self._describe = describe
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards self.failure
        self.failure: str | None = None
        self._peers = [p for p in range(self._size) if p != self._rank]
        now = time.monotonic()
        self._last = {p: now for p in self._peers}
        self._recv_buf = {p: np.zeros(1, np.int64) for p in self._peers}
        self._recvs: dict[int, Any] = {}
        self._sends: list[tuple[Any, np.ndarray]] = []
        self._thread = threading.Thread(target=self._run, name="estcore-heartbeat", daemon=True)
        if self._peers:
            self._thread.start()

    def _fail(self, message: str) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = message

    def _run(self) -> None:
        MPI = self._MPI
        try:
            for p in self._peers:
                self._recvs[p] = self._comm.Irecv(self._recv_buf[p], source=p, tag=_TAG)
            beat = 0
            while not self._stop.is_set():
                beat += 1
                # A pending send's buffer must stay untouched: one small array per send.
                self._sends = [(r, b) for r, b in self._sends if not r.Test()]
                if len(self._sends) < 64 * len(self._peers):
                    for p in self._peers:
                        buf = np.full(1, beat, np.int64)
                        self._sends.append((self._comm.Isend(buf, dest=p, tag=_TAG), buf))
                now = time.monotonic()
                for p in self._peers:
                    while self._recvs[p].Test():
                        self._last[p] = now
                        self._recvs[p] = self._comm.Irecv(self._recv_buf[p], source=p,
                                                          tag=_TAG)
                    silent = now - self._last[p]
                    if silent > self._timeout:
                        self._fail(f"{self._describe(p)} sent no heartbeat for {silent:.1f} s "
                                   f"(limit {self._timeout:g} s): it died or hangs")
                        return
                self._stop.wait(self._interval)
        except MPI.Exception as exc:
            self._fail(f"MPI error in the heartbeat: {exc}")

    def stop(self) -> None:
        """Stop the thread and cancel the pending receives (normal shutdown)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        for r in self._recvs.values():
            try:
                r.Cancel()
                r.Wait()
            except self._MPI.Exception:
                pass
        self._recvs = {}
        try:
            self._comm.Free()  # freed once its pending sends complete
        except self._MPI.Exception:
            pass


def wait(req: Any, heartbeat: Heartbeat | None, deadline_secs: float | None, what: str) -> None:
    """Poll ``req`` until done; raise if a peer is dead or the deadline passes.

    Raises:
        PeerFailure: the heartbeat declared a peer dead.
        DeadlineExceededError: ``deadline_secs`` passed (the request stays pending).
    """
    if req.Test():
        return
    start = time.monotonic()
    spin_until = start + 0.002
    nap = 5e-5
    while True:
        if req.Test():
            return
        now = time.monotonic()
        if heartbeat is not None and heartbeat.failure is not None:
            raise PeerFailure(f"estcore.distribute: {what} failed: {heartbeat.failure}.")
        if deadline_secs is not None and now - start > deadline_secs:
            raise DeadlineExceededError(f"estcore.distribute: {what} did not complete within "
                                        f"{deadline_secs:g} s.")
        if now > spin_until:
            time.sleep(nap)
            nap = min(nap * 2, 1e-3)
