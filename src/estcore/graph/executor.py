"""The executor: a compiled :class:`Plan` and its run loop.

A run with a cached plan does only this: copy each feed into its planned
buffer, call the prepared step closures in order (numpy kernels with ``out=``,
or one C program call per run of C-capable nodes), and copy the fetched buffers
out. Nothing else is allocated. A plan that is a single C program skips the feed
copies: for the run, the program reads the feed arrays in place
(``Program.run_with``; feed buffers are inputs, which no kernel writes).

Must not: compile, prune, fuse or plan buffers (``graph/plan.py`` does, once per
input signature); validate or convert feeds (``Session.run`` does before calling
:meth:`Plan.run`); allocate anything per run beyond the fetched copies.
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
                 "pnodes", "emit_info", "checked", "fetch_scalar", "n_runs", "programs",
                 "program")

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
        self.program = self._single_program()

    def _single_program(self):
        """The C Program when it is the plan's only step, no fetch reads a feed buffer
        and the feeds are large enough (64 KiB) for a copy to cost more than the
        pointer swap: then feeds are read in place (``Program.run_with``)."""
        if len(self.steps) != 1 or sum(b.nbytes for b in self.feed_bufs) < 1 << 16:
            return None
        prog = getattr(self.steps[0], "__self__", None)
        if prog is None or not hasattr(prog, "run_with"):
            return None
        for f in self.fetch_bufs:
            if any(np.shares_memory(f, b) for b in self.feed_bufs):
                return None
        return prog

    def run(self, feed_values) -> list:
        """Run every step on the feeds, return copies of the fetched buffers.

        A plan that is one C Program reads suitable feed arrays in place for the run
        (no copy into the planned buffers; feeds are inputs, never written); otherwise
        the feeds are copied into the planned buffers first.
        """
        prog = self.program
        if prog is None or not prog.run_with(zip(self.feed_bufs, feed_values, strict=True)):
            copyto = np.copyto
            for buf, v in zip(self.feed_bufs, feed_values, strict=False):
                copyto(buf, v)
            for step in self.steps:
                step()
        self.n_runs += 1
        return [b[()] if s else b.copy()
                for b, s in zip(self.fetch_bufs, self.fetch_scalar, strict=True)]
