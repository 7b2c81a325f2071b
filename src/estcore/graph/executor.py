"""The executor: a compiled :class:`Plan` and its run loop.

A run with a cached plan does only this: copy each feed into its planned
buffer, call the prepared step closures in order (numpy kernels with ``out=``,
or one C program call per run of C-capable nodes), and copy the fetched buffers
out. Nothing else is allocated. A plan that is a single C program skips the feed
copies: for the run, the program reads the feed arrays in place
(``Program.run_with``; feed buffers are inputs, which no kernel writes).

An error raised by a step names the user's op: a C program's "instruction N" becomes
the graph node that instruction was emitted for (its type, name and input tensors).

Must not: compile, prune, fuse or plan buffers (``graph/plan.py`` does, once per
input signature); validate or convert feeds (``Session.run`` does before calling
:meth:`Plan.run`); allocate anything per run beyond the fetched copies.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from estcore.errors import OpError

__all__ = ["Plan"]

_INSTRUCTION = re.compile(r"^Program\.\w+: instruction (-?\d+) \([^)]*\): ")


def in_user_terms(err: OpError, nodes: Any) -> OpError:
    """``err`` restated with the graph node it came from.

    Args:
        err: raised by a plan step.
        nodes: the step's graph node, or (a C program) the node of each instruction.

    Returns:
        A new error of the same class whose message starts with the op's type, name and
        input tensors (``op`` attribute: the node, as TF's ``OpError.op``), or ``err``
        itself when no node is known or its message already names the node.
    """
    message = str(err)
    if isinstance(nodes, list):
        m = _INSTRUCTION.match(message)
        if m is None or not 0 <= int(m.group(1)) < len(nodes):
            return err
        node, detail = nodes[int(m.group(1))], message[m.end():]
    else:
        node, detail = nodes, message
        if node is None or f"'{node.name}'" in message:
            return err
    inputs = ", ".join(f"'{t.name}'" for t in node.inputs)
    where = f"{node.type} '{node.name}'" + (f" (inputs {inputs})" if inputs else "")
    new = type(err)(f"{where}: {detail}")
    new.op = node
    return new


class Plan:
    """A compiled, runnable plan (buffers bound, kernels prepared).

    Attributes:
        steps: zero-argument closures run in order.
        feed_bufs: one planned buffer per fed tensor (feed order).
        fetch_bufs: one buffer per fetched tensor (views for aliases).
        var_reads: variable nodes read by this plan (checked for initialization).
        var_writes: variable nodes written by this plan.
        buffers: id(tensor) -> buffer, for tests and debugging (a conv output that a
            C program keeps as its pool's picks, ``Program.use_pool_picks``, has a
            buffer here that no run writes).
        pnodes: the scheduled plan nodes (after fusion).
        folded: id(tensor) -> the value the plan compiler folded for it (read-only).
    """

    __slots__ = ("steps", "feed_bufs", "fetch_bufs", "var_reads", "var_writes", "buffers",
                 "pnodes", "emit_info", "checked", "fetch_scalar", "n_runs", "programs",
                 "program", "step_nodes", "folded")

    def __init__(self, steps, feed_bufs, fetch_bufs, var_reads, var_writes, buffers, pnodes,
                 emit_info, step_nodes=None):
        self.steps = steps
        self.feed_bufs = feed_bufs
        self.fetch_bufs = fetch_bufs
        self.var_reads = var_reads
        self.var_writes = var_writes
        self.buffers = buffers
        self.pnodes = pnodes
        self.emit_info = emit_info
        self.step_nodes = step_nodes if step_nodes is not None else [None] * len(steps)
        self.checked = False
        self.fetch_scalar = [b.ndim == 0 for b in fetch_bufs]
        self.n_runs = 0
        self.programs = 0
        self.folded: dict = {}
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
        step = self.steps[0] if self.steps else None  # the single program's, for errors
        try:
            if prog is None or not prog.run_with(zip(self.feed_bufs, feed_values,
                                                     strict=True)):
                copyto = np.copyto
                for buf, v in zip(self.feed_bufs, feed_values, strict=False):
                    copyto(buf, v)
                for step in self.steps:  # noqa: B007 - ``step`` names the failed one
                    step()
        except OpError as e:
            new = in_user_terms(e, self.step_nodes[self.steps.index(step)])
            if new is e:
                raise
            raise new from None
        self.n_runs += 1
        return [b[()] if s else b.copy()
                for b, s in zip(self.fetch_bufs, self.fetch_scalar, strict=True)]
