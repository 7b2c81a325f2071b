"""The Estimator's train path over MPI: :class:`MPIReplication`.

It implements the seam ``estcore.estimator.replication.Replication`` (by its
methods; it imports nothing from the estimator package, which sits ABOVE
distribute):

* the chief's checkpoint and start step, and the chief's input seed, on every process;
* this process's shard of each global batch, and the strategy active while
  model_fn runs (so the optimizer averages gradients);
* the chief's variables broadcast once the session is restored or warm-started;
* synchronous steps: before each, every process says whether it can go on, so
  all stop at the same step.

:func:`mpi_replication` decides whether a RunConfig trains over MPI at all
(explicit ``train_distribute``, or automatic under ``mpiexec`` / a TF_CONFIG with
several training tasks). This module must not start MPI by being imported, and
must not hold any single-process logic (that is ``LocalReplication``'s).
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from estcore.distribute.strategy import MPIStrategy, resolve_strategy
from estcore.errors import OutOfRangeError
from estcore.train.strategy_context import strategy_scope

__all__ = ["MPIReplication", "mpi_replication"]

logger = logging.getLogger("estcore")


def mpi_replication(config: Any) -> MPIReplication | None:
    """The MPI replication of a RunConfig, or None when it trains in one process.

    None without ``train_distribute`` and without a cluster, and when the
    automatic strategy finds a single training process.
    """
    if config.train_distribute is None and not config.cluster_spec:
        return None
    strategy = resolve_strategy(config)
    if strategy is None or (strategy.num_replicas_in_sync <= 1 and
                            config.train_distribute is None):
        return None
    return MPIReplication(strategy)


def _batch_rows(batch: Any) -> int:
    """Rows in a batch: the leading dimension of its first array."""
    while isinstance(batch, (tuple, list, dict)):
        batch = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
    return int(batch.shape[0])


class MPIReplication:
    """Synchronous data-parallel training of one ``train()`` call over ``strategy``."""

    def __init__(self, strategy: MPIStrategy):
        self.strategy = strategy

    @property
    def is_chief(self) -> bool:
        return self.strategy.is_chief

    @property
    def shard(self) -> tuple[int, int]:
        return self.strategy.rank, self.strategy.num_replicas_in_sync

    def begin(self) -> None:
        self.strategy.begin_session()

    def end(self) -> None:
        self.strategy.end_session()

    def fail(self, exc: BaseException) -> None:
        self.strategy.fail(exc)

    def start(self, checkpoint: str | None, step: int) -> tuple[str | None, int]:
        """The chief restores ``checkpoint``; the others get its values through the
        variable broadcast (their model_dir may not even hold the files). Every
        process starts at the chief's step."""
        step = self.strategy.broadcast_object(int(step), "start step broadcast")
        return (checkpoint if self.strategy.is_chief else None), step

    def input_seed(self, seed: int | None) -> int:
        """The chief's input seed (drawn there when the config has none) on every process."""
        if seed is None and self.strategy.is_chief:
            seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
        return self.strategy.broadcast_object(seed, "input seed broadcast")

    def model_scope(self) -> contextlib.AbstractContextManager:
        return strategy_scope(self.strategy)

    def session_created(self, session: Any) -> None:
        self.strategy.broadcast_variables(session)

    def run_steps(self, monitored_session: Any, source: Any, feeder: Any, fetches: list,
                  tally: Any) -> None:
        """Run synchronous steps until any process stops (writes ``tally.loss/steps``).

        Before each step every process says whether it can go on (a batch and no
        stop request); one small allreduce makes them all stop at the same step,
        so none waits forever in a gradient allreduce the others never join.
        """
        strategy, mon = self.strategy, monitored_session
        run = mon.step_runner(fetches, feeder)
        loss, ran = None, 0
        try:
            while True:
                try:
                    batch = None if mon.should_stop() else source.next_batch()
                except (OutOfRangeError, StopIteration):
                    batch = None
                rows = 0 if batch is None else _batch_rows(batch[0])
                if batch is not None and rows == 0:
                    logger.warning("estcore.distribute: this process's shard of the last "
                                   "global batch is empty (that batch has fewer rows than "
                                   "processes); every process skips that batch.")
                if not strategy.all_true(rows > 0):
                    return
                strategy.local_weight = float(rows)
                _, loss = run(*batch)
                ran += 1
        finally:
            tally.loss, tally.steps = loss, ran
