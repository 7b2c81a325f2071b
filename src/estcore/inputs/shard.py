"""``shard_scope``: which shard of each global batch input streams produce.

Under data-parallel training (``estcore.distribute``) the Estimator enters
``shard_scope(task_index, num_workers)`` around ``input_fn()``: a
``numpy_input_fn(batch_size=B)`` stream created inside it yields shard
``task_index`` of each global batch of ``B * num_workers`` rows (the C sampler's
``est_batch_span``: contiguous, sizes differ by at most one row). So W workers
with batch B together see exactly the batches one process with batch ``W * B``
would see, each example exactly once per epoch.

Must not: know MPI or ``estcore.distribute`` (the Estimator passes the task index and
worker count); decide which rows form a shard (the C sampler does).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from estcore._validation import check_int, check_positive_int, invalid

__all__ = ["shard_scope", "current_shard"]

_SHARD: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar(
    "estcore_input_shard", default=(0, 1))


@contextlib.contextmanager
def shard_scope(index: int, num_shards: int) -> Iterator[None]:
    """Make streams created inside the block produce shard ``index`` of ``num_shards``.

    Args:
        index: this worker's shard, ``0 <= index < num_shards``.
        num_shards: number of workers sharing each global batch (1 = whole batches).
    """
    num_shards = check_positive_int("num_shards", num_shards)
    index = check_int("index", index)
    if not 0 <= index < num_shards:
        raise invalid("index", f"an int in [0, {num_shards})", index)
    if num_shards >= 1 << 32:
        raise invalid("num_shards", "below 2**32", num_shards)
    token = _SHARD.set((index, num_shards))
    try:
        yield
    finally:
        _SHARD.reset(token)


def current_shard() -> tuple[int, int]:
    """``(index, num_shards)`` of the innermost :func:`shard_scope`; ``(0, 1)`` outside."""
    return _SHARD.get()
