"""Forming one MPI communicator from independently started processes (TF_CONFIG launch).

Protocol (the only non-MPI traffic, a few hundred bytes once per job):

1. The chief opens an MPI port (``MPI_Open_port``) and listens on TCP at the
   port of its ``host:port`` from TF_CONFIG.
2. Each worker connects to that TCP address (retrying until the chief is up),
   sends its rank as one JSON line and receives the MPI port name and how many
   processes joined before it.
3. The chief admits workers one at a time: every member of the group formed so
   far calls ``MPI_Comm_accept`` (collective; the port matters on the chief
   only), the newcomer calls ``MPI_Comm_connect``, and both sides merge the
   intercommunicator (``MPI_Intercomm_merge``), so the group grows by one.
4. Once all ``size`` processes are in, ``MPI_Comm_split`` orders them by rank
   (chief 0, then workers by index), whatever order they arrived in.

The TCP steps give up at the deadline with :class:`DeadlineExceededError`. The MPI
calls cannot be interrupted: if a process that already joined dies, the others
wait inside ``MPI_Comm_accept`` / ``MPI_Comm_connect`` forever. A watchdog thread
therefore ends the process (exit code 1, with a message naming the MPI call it
was blocked in) when the group has not formed ``RENDEZVOUS_GRACE_SECS`` after the
deadline: its own, or for an admitted worker the chief's when that is later (the
chief sends its remaining time with the MPI port), so workers that start early
wait as long as the chief admits others.

MPICH 5 cannot connect two *singleton* processes (started without mpiexec): both
get the same process identity and ``MPI_Comm_accept`` fails with "Local and remote
groups ... must not overlap" (pmodels/mpich#7805). Each process must therefore be
started as ``mpiexec -n 1 python train.py``; :func:`form_communicator` says so
instead of failing inside MPI.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from estcore.distribute.membership import Membership
from estcore.distribute.mpi import launched_by_mpiexec
from estcore.errors import DeadlineExceededError, FailedPreconditionError, UnavailableError

__all__ = ["form_communicator", "SINGLETON_HINT", "RENDEZVOUS_GRACE_SECS"]

logger = logging.getLogger("estcore")

SINGLETON_HINT = (
    "Start every process of a TF_CONFIG job under its own `mpiexec -n 1`, e.g. "
    "`TF_CONFIG='{...}' mpiexec -n 1 python train.py`: MPICH cannot connect processes "
    "started without mpiexec (singleton init; pmodels/mpich#7805). Alternatively start "
    "all processes with one `mpiexec -n W python train.py` and no TF_CONFIG.")


RENDEZVOUS_GRACE_SECS = 5.0  # after the deadline, before the watchdog ends the process


class _Watchdog:
    """Ends the process if the rendezvous has not finished ``grace`` seconds after
    ``deadline`` (then it is blocked inside MPI: every other wait checks the deadline).

    ``phase`` (what the rendezvous is doing, for the message) is written by the
    rendezvous thread and read by the watchdog; a str assignment is atomic.
    """

    def __init__(self, me: Membership, timeout_secs: float, deadline: float, grace: float):
        self.phase = "starting"
        self._me = me
        self._timeout = timeout_secs
        self._grace = grace
        self._at = deadline + grace  # float: written by extend(), read by _run (atomic)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="estcore-rendezvous-watchdog",
                                        daemon=True)
        self._thread.start()

    def extend(self, deadline: float) -> None:
        """Wait at least until ``deadline`` + grace (a worker that joined early waits
        in MPI for later workers as long as the chief admits them)."""
        self._at = max(self._at, deadline + self._grace)

    def _run(self) -> None:
        while True:
            left = self._at - time.monotonic()
            if left <= 0:
                break
            if self._done.wait(left):
                return
        if self._done.is_set():
            return
        message = (
            f"estcore.distribute: the training group did not form within "
            f"rendezvous_timeout_secs={self._timeout:g} s (+{self._grace:g} s): this process "
            f"(TF_CONFIG task {self._me.task_type}:{self._me.task_id}, rank {self._me.rank}) "
            f"is blocked in {self.phase}, most likely because a process of the group died "
            "(or the chief stopped waiting for a missing worker). MPI calls cannot be "
            "interrupted, so the process exits with code 1. Restart all tasks of the job.")
        logger.error(message)
        print(message, file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(1)

    def stop(self) -> None:
        self._done.set()


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"The chief address in TF_CONFIG must be 'host:port'; got {address!r}.")
    return host, int(port)


def _read_line(sock: socket.socket, deadline: float) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise UnavailableError("rendezvous peer closed the connection")
        data += chunk
        if len(data) > 1 << 16:
            raise UnavailableError("rendezvous message too long")
    return json.loads(data.decode())


def _send_line(sock: socket.socket, obj: dict) -> None:
    sock.sendall((json.dumps(obj) + "\n").encode())


def _grow(MPI: Any, comm: Any, port: str | None, times: int, dog: _Watchdog) -> Any:
    """Call Accept ``times`` times on ``comm`` (root 0 holds ``port``), merging each newcomer."""
    for _ in range(times):
        dog.phase = (f"MPI_Comm_accept (a group of {comm.Get_size()} admitting process "
                     f"{comm.Get_size() + 1})")
        inter = comm.Accept(port, MPI.INFO_NULL, 0)
        merged = inter.Merge(high=False)
        inter.Free()
        if comm is not MPI.COMM_SELF:
            comm.Free()
        comm = merged
    return comm


def form_communicator(MPI: Any, me: Membership, timeout_secs: float) -> Any:
    """The intracommunicator of all ``me.size`` training processes, rank = ``me.rank``.

    Raises:
        FailedPreconditionError: the process was not started by mpiexec (see module doc).
        DeadlineExceededError: the group did not form within ``timeout_secs``.
        UnavailableError: a rendezvous connection failed.
    """
    if not launched_by_mpiexec():
        raise FailedPreconditionError(
            f"estcore.distribute: this process (TF_CONFIG task {me.task_type}:"
            f"{me.task_id}) was not started by mpiexec. {SINGLETON_HINT}")
    host, port = _split_address(me.chief_address or "")
    deadline = time.monotonic() + timeout_secs
    dog = _Watchdog(me, timeout_secs, deadline, RENDEZVOUS_GRACE_SECS)
    try:
        if me.rank == 0:
            comm = _chief_rendezvous(MPI, me, port, deadline, dog)
        else:
            comm = _worker_rendezvous(MPI, me, host, port, deadline, dog)
        dog.phase = "MPI_Comm_split (ordering the formed group by rank)"
        final = comm.Split(0, me.rank)
    finally:
        dog.stop()
    if comm is not MPI.COMM_SELF:
        comm.Free()
    if final.Get_size() != me.size or final.Get_rank() != me.rank:
        raise UnavailableError(f"rendezvous formed a group of {final.Get_size()} "
                               f"with this process at rank {final.Get_rank()}; expected "
                               f"{me.size} and rank {me.rank}")
    return final


def _chief_rendezvous(MPI: Any, me: Membership, port: int, deadline: float,
                      dog: _Watchdog) -> Any:
    mpi_port = MPI.Open_port()
    srv = socket.create_server(("", port), reuse_port=False)
    logger.info("estcore.distribute: chief waiting for %d worker(s) on TCP port %d",
                me.size - 1, port)
    comm = MPI.COMM_SELF
    seen: set[int] = set()
    try:
        for joined in range(1, me.size):
            dog.phase = "the TCP rendezvous (waiting for workers)"
            conn = None
            while conn is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(set(range(1, me.size)) - seen)
                    raise DeadlineExceededError(
                        "estcore.distribute: timed out waiting for workers with "
                        f"ranks {missing} to join the chief at port {port}.")
                srv.settimeout(min(1.0, left))
                try:
                    conn, _ = srv.accept()
                except TimeoutError:
                    conn = None
            with conn:
                hello = _read_line(conn, deadline)
                rank = int(hello.get("rank", -1))
                if not 1 <= rank < me.size or rank in seen or hello.get("size") != me.size:
                    _send_line(conn, {"error": f"rank {rank} / size {hello.get('size')} is not "
                                      f"a free worker slot of this {me.size}-process job"})
                    raise UnavailableError("estcore.distribute: a process claimed "
                                           f"rank {rank} with size {hello.get('size')}; "
                                           "check that every task has its own TF_CONFIG "
                                           "task index and the same cluster.")
                seen.add(rank)
                _send_line(conn, {"port": mpi_port, "joined": joined,
                                  "deadline_in": max(0.0, deadline - time.monotonic())})
                comm = _grow(MPI, comm, mpi_port, 1, dog)
            logger.info("estcore.distribute: worker rank %d joined (%d/%d)", rank, joined + 1,
                        me.size)
    finally:
        srv.close()
        MPI.Close_port(mpi_port)
    return comm


def _worker_rendezvous(MPI: Any, me: Membership, host: str, port: int,
                       deadline: float, dog: _Watchdog) -> Any:
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=2.0)
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                raise DeadlineExceededError(
                    f"estcore.distribute: could not reach the chief at {host}:"
                    f"{port} ({exc}).") from exc
            time.sleep(0.2)
    with sock:
        _send_line(sock, {"rank": me.rank, "size": me.size})
        reply = _read_line(sock, deadline)
    if "error" in reply:
        raise UnavailableError(f"estcore.distribute: the chief refused this "
                               f"process: {reply['error']}")
    joined = int(reply["joined"])
    # Admitted: from now on this process waits in MPI for the workers after it, which the
    # chief accepts until its own deadline (it may have started later than this one).
    dog.extend(time.monotonic() + float(reply.get("deadline_in", 0.0)))
    dog.phase = f"MPI_Comm_connect (joining the chief's group as process {joined + 1})"
    inter = MPI.COMM_SELF.Connect(reply["port"], MPI.INFO_NULL, 0)
    comm = inter.Merge(high=True)
    inter.Free()
    return _grow(MPI, comm, None, me.size - 1 - joined, dog)
