"""The one seam between the Estimator's train path and distributed training.

``Estimator.train`` talks to a :class:`Replication` and to nothing else about
other processes: it asks it which checkpoint and start step to use, which input
seed and shard, which scope to build the model in, what to do once the session
exists, and to run the steps. :class:`LocalReplication` (here) is the single
process: every answer is the local one and the steps are the plain loop.
:func:`replication_for` picks the replication of a RunConfig; the MPI one comes
from :mod:`estcore.distribute.replication`.

Package order (decided here): ``estcore.distribute`` sits BELOW ``estcore.estimator``.
The Estimator picks MPI automatically (under ``mpiexec`` or a TF_CONFIG with
several training tasks), so it must reach distribute; distribute never imports
the estimator package and talks to the objects handed to it (a monitored
session, an input source, a feeder) only through the methods listed in
:class:`Replication`. Importing distribute starts no MPI.

This module must not know about MPI, strategies or collectives: the local
implementation stays trivial, and the train path has no ``if distributed``
branch of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from estcore.distribute.replication import mpi_replication
from estcore.train.strategy_context import strategy_scope

__all__ = ["Replication", "LocalReplication", "StepTally", "replication_for"]


class StepTally:
    """What the step loop leaves behind: the last loss and the number of steps run.

    Written by :meth:`Replication.run_steps` even when the loop ends by an
    exception (an input that runs out ends a training call normally).
    """

    __slots__ = ("loss", "steps")

    def __init__(self) -> None:
        self.loss: Any = None
        self.steps = 0


class Replication(Protocol):
    """How one ``train()`` call runs alongside other processes (or alone).

    Call order in ``Estimator.train``: :meth:`begin`; :meth:`start` (also for the
    ``max_steps`` check); :meth:`input_seed`, :attr:`shard` and :meth:`model_scope`
    while the graph is built; :meth:`session_created` inside session creation;
    :meth:`run_steps`; then :meth:`end`, or :meth:`fail` on any exception.
    """

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints and summaries."""

    @property
    def shard(self) -> tuple[int, int]:
        """``(index, count)`` of this process's shard of every global batch."""

    def begin(self) -> None:
        """A train call starts (before any other method)."""

    def end(self) -> None:
        """The train call finished normally."""

    def fail(self, exc: BaseException) -> None:
        """The train call raised ``exc`` (it is re-raised after this returns)."""

    def start(self, checkpoint: str | None, step: int) -> tuple[str | None, int]:
        """``(checkpoint to restore, start step)`` every process uses."""

    def input_seed(self, seed: int | None) -> int | None:
        """The input seed every process uses, given this process's."""

    def model_scope(self) -> contextlib.AbstractContextManager:
        """Context active while model_fn runs (optimizers ask it how to apply gradients)."""

    def session_created(self, session: Any) -> None:
        """The session exists, restored or warm-started; make its variables agree."""

    def run_steps(self, monitored_session: Any, source: Any, feeder: Any, fetches: list,
                  tally: StepTally) -> None:
        """Run ``fetches`` (``[train_op, loss]``) step after step until the session stops."""


class LocalReplication:
    """One process, nothing shared: every answer is the local one."""

    is_chief = True
    shard = (0, 1)

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass

    def fail(self, exc: BaseException) -> None:
        pass

    def start(self, checkpoint: str | None, step: int) -> tuple[str | None, int]:
        return checkpoint, step

    def input_seed(self, seed: int | None) -> int | None:
        return seed

    @contextlib.contextmanager
    def model_scope(self) -> Iterator[None]:
        with strategy_scope(None):  # no strategy, even inside someone else's scope
            yield

    def session_created(self, session: Any) -> None:
        pass

    def run_steps(self, monitored_session: Any, source: Any, feeder: Any, fetches: list,
                  tally: StepTally) -> None:
        """The plain loop: one batch, one run, until a hook or the input stops it."""
        run = monitored_session.step_runner(fetches, feeder)
        should_stop, next_batch = monitored_session.should_stop, source.next_batch
        loss, ran = None, 0
        try:
            while not should_stop():
                _, loss = run(*next_batch())
                ran += 1
        finally:
            tally.loss, tally.steps = loss, ran


LOCAL = LocalReplication()


def replication_for(config: Any) -> Replication:
    """The replication of a RunConfig: MPI when it asks for it or the launch implies it
    (see :func:`estcore.distribute.replication.mpi_replication`), local otherwise."""
    replication = mpi_replication(config)
    return LOCAL if replication is None else replication
