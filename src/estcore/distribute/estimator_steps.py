"""The Estimator's side of ``estcore.distribute`` (kept out of estimator.py).

* :func:`strategy_for` -- the strategy of a RunConfig (explicit or automatic), or None.
* :func:`chief_start` -- checkpoint and start step every process uses: the chief's.
* :func:`input_seed` -- one input seed for all processes (the chief's when drawn).
* :func:`batch_rows` -- examples in a batch (the weight of this process's gradients).
* :func:`run_steps` -- the synchronous step loop (agree, feed, run).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from estcore.errors import OutOfRangeError

__all__ = ["strategy_for", "chief_start", "input_seed", "batch_rows", "run_steps"]

logger = logging.getLogger("estcore")


def strategy_for(config: Any) -> Any:
    """``estcore.distribute.resolve_strategy(config)``; None for a single process."""
    if config.train_distribute is None and not config.cluster_spec:
        return None
    from estcore.distribute import resolve_strategy

    strategy = resolve_strategy(config)
    if strategy is not None and strategy.num_replicas_in_sync <= 1 and \
            config.train_distribute is None:
        return None
    return strategy


def chief_start(strategy: Any, ckpt: str | None, start_step: int) -> tuple[str | None, int]:
    """``(checkpoint to restore, start step)``: the chief restores, the others take its values
    through the variable broadcast (their model_dir may not even hold the files)."""
    step = strategy.broadcast_object(int(start_step), "start step broadcast")
    return (ckpt if strategy.is_chief else None), step


def input_seed(strategy: Any, seed: int | None) -> int:
    """The chief's input seed (drawn there when the config has none) on every process."""
    if seed is None and strategy.is_chief:
        seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    return strategy.broadcast_object(seed, "input seed broadcast")


def batch_rows(batch: Any) -> int:
    """Rows in a batch: the leading dimension of its first array."""
    while isinstance(batch, (tuple, list, dict)):
        batch = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
    return int(batch.shape[0])


def run_steps(strategy: Any, mon: Any, source: Any, feeder: Any, fetches: list) -> tuple:
    """Run synchronous steps until any process stops; returns ``(last loss, steps)``.

    Before each step every process says whether it can go on (a batch and no stop
    request); one small allreduce makes them all stop at the same step, so none
    waits forever in a gradient allreduce the others never join.
    """
    loss, ran = None, 0
    run = mon.step_runner(fetches, feeder)
    while True:
        try:
            batch = None if mon.should_stop() else source.next_batch()
        except (OutOfRangeError, StopIteration):
            batch = None
        rows = 0 if batch is None else batch_rows(batch[0])
        if batch is not None and rows == 0:
            logger.warning("estcore.distribute: this process's shard of the last global batch "
                           "is empty (that batch has fewer rows than processes); every "
                           "process skips that batch.")
        if not strategy.all_true(rows > 0):
            return loss, ran
        strategy.local_weight = float(rows)
        _, loss = run(*batch)
        ran += 1
