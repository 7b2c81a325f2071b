"""The executor: a compiled :class:`Plan` and its run loop.

A run with a cached plan does only this: copy each feed into its planned
buffer, call the prepared step closures in order (numpy kernels with ``out=``,
or one C program call per run of C-capable nodes), and copy the fetched buffers
out. Nothing else is allocated.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Plan"]


class Plan:
    """A compiled, runnable plan (buffers bound, kernels prepared).

    Attributes:
        steps: zero-argument closures run in order.
        feed_bufs: one planned buffer per fed tensor (feed order).
        fetch_bufs: one buffer per fetched tensor (views for aliases).
        var_reads: variable nodes read by this plan (checked for initialization).
        var_writes: variable nodes written by this plan.
        buffers: id(tensor) -> buffer, for tests and debugging.
        pnodes: the scheduled plan nodes (after fusion).
    """

    __slots__ = ("steps", "feed_bufs", "fetch_bufs", "var_reads", "var_writes", "buffers",
                 "pnodes", "emit_info", "checked", "fetch_scalar", "n_runs", "programs")

    def __init__(self, steps, feed_bufs, fetch_bufs, var_reads, var_writes, buffers, pnodes,
                 emit_info):
        self.steps = steps
        self.feed_bufs = feed_bufs
        self.fetch_bufs = fetch_bufs
        self.var_reads = var_reads
        self.var_writes = var_writes
        self.buffers = buffers
        self.pnodes = pnodes
        self.emit_info = emit_info
        self.checked = False
        self.fetch_scalar = [b.ndim == 0 for b in fetch_bufs]
        self.n_runs = 0
        self.programs = 0

    def run(self, feed_values) -> list:
        """Copy feeds in, run every step, return copies of the fetched buffers."""
        copyto = np.copyto
        for buf, v in zip(self.feed_bufs, feed_values, strict=False):
            copyto(buf, v)
        for step in self.steps:
            step()
        self.n_runs += 1
        return [b[()] if s else b.copy()
                for b, s in zip(self.fetch_bufs, self.fetch_scalar, strict=True)]
