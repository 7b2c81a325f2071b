"""Plans for graphs with data-dependent shapes: a static head, eager nodes, a tail per shape.

A plan is compiled for concrete shapes (``graph/plan.py``). A few nodes know their output
shape only once they run: rows with ``extra["dynamic"]`` (``Where`` with one argument and
so ``boolean_mask``, ``PyFunc``, a ``Cond`` whose branches give different shapes, image
decoding). When the plan compiler meets one whose shape it cannot settle from the fed
shapes and folded constants, it hands the whole fetch set to :class:`SegmentedPlan`:

1. **head**: an ordinary static plan of every needed node that is not downstream (by
   data or control edge) of such a node. It fetches the caller's static fetches, every
   input of the *frontier* (the data-dependent nodes whose inputs are all static) and
   every static tensor the rest reads (except variables and constants, which the tail
   binds itself so that its writes reach the session's storage).
   A boundary tensor whose value the head folded (a shape computed from static shapes)
   is not fed across: the tail gets it as a constant (``compile_plan(known=)``).
2. **frontier**: each frontier node runs once, eagerly (its row's
   ``extra["eager"](KernelCtx) -> [ndarray]``), in creation order.
3. **tail**: the rest, compiled with the frontier outputs and the head's boundary tensors
   as feeds, for their concrete shapes, and cached by those shapes (at most
   :data:`MAX_TAILS`, the oldest dropped first; a tail may itself be segmented, for a
   second generation of data-dependent nodes). Control inputs on nodes
   that already ran are not followed (they ran once, in the head or the frontier).

A graph without such nodes never comes here: its plan, and its per-run cost, are as
before. A segmented run costs the head run, the eager nodes, one dict lookup and the
tail run; a tail is compiled once per distinct boundary shape.

Must not: compile a static plan itself (it calls back into ``compile_plan``); change the
user's graph; take the session lock (the session holds it for the whole run).
"""

from __future__ import annotations

import numpy as np

from estcore.errors import OpError
from estcore.graph.executor import in_user_terms
from estcore.graph.registry import KernelCtx, get_row

__all__ = ["SegmentedPlan", "run_checked"]

_BOUND = ("VariableV2", "Const")   # bound by the tail itself, never fed across
MAX_TAILS = 256                     # tail plans kept per segmented plan (oldest dropped)


def run_checked(session, plan, values) -> list:
    """Run a sub-plan inside a session run: the session's initialization check on its
    first runs (as ``Session.run`` does for its own plans), then the run."""
    if not plan.checked:
        session._check_initialized(plan)
    out = plan.run(values)
    if not plan.checked:
        session._initialized.update(plan.var_writes)
        plan.checked = all(v in session._initialized for v in plan.var_reads)
    return out


class SegmentedPlan:
    """A plan split at data-dependent shapes (see the module docstring).

    Has the attributes ``Session`` reads from a :class:`~estcore.graph.executor.Plan`
    (``checked``, ``var_reads``, ``var_writes``, ``n_runs``, ``programs``, ``run``); the
    initialization checks of its parts happen inside :meth:`run`.
    """

    def __init__(self, session, ops, dynamic: set, fetch_tensors, target_ops, feed_tensors,
                 fed: dict, compile_fn, stop_ops=None, known=None):
        self.session = session
        self.compile_fn = compile_fn
        self.var_reads: list = []
        self.var_writes: set = set()
        self.checked = True
        self.n_runs = 0
        self.programs = 0
        static = [op for op in ops if op._id not in dynamic]
        dyn = [op for op in ops if op._id in dynamic]
        known = dict(known or {})

        def is_dyn(t):
            return t.op._id in dynamic and id(t) not in fed and id(t) not in known

        self.frontier = [op for op in dyn if not any(is_dyn(t) for t in op.inputs)
                         and not any(c._id in dynamic for c in op.control_inputs)]
        front_ids = {op._id for op in self.frontier}
        rest = [op for op in dyn if op._id not in front_ids]
        head_fetch: dict[int, object] = {}
        for t in fetch_tensors:
            if not is_dyn(t):
                head_fetch.setdefault(id(t), t)
        for op in self.frontier:
            for t in op.inputs:
                head_fetch.setdefault(id(t), t)
        boundary: dict[int, object] = {}
        head_targets = [op for op in target_ops if op._id not in dynamic]
        # control inputs to run first: the needed static ones (one in the caller's
        # ``stop_ops`` already ran and is not among ``ops``)
        static_ids = {op._id for op in static}
        for op in rest:
            for t in op.inputs:
                if not is_dyn(t) and t.op.type not in _BOUND:
                    head_fetch.setdefault(id(t), t)
                    boundary.setdefault(id(t), t)
            head_targets.extend(c for c in op.control_inputs if c._id in static_ids)
        for op in self.frontier:
            head_targets.extend(c for c in op.control_inputs if c._id in static_ids)
        self.head_fetch = list(head_fetch.values())
        feed_shapes = [fed[id(t)][1] for t in feed_tensors]
        self.head = compile_fn(session, self.head_fetch, _unique(head_targets), feed_tensors,
                               feed_shapes, stop_ops, known)
        # boundary values the head folded (a shape computed from shapes) stay constants
        folded = getattr(self.head, "folded", {})
        for k, t in list(boundary.items()):
            if k in folded:
                known[k] = (t, folded[k])
                del boundary[k]
        self.tail_known = known
        self.tail_feeds = [t for op in self.frontier for t in op.outputs] + [
            t for t in boundary.values()]
        self.tail_fetch = [t for t in fetch_tensors if is_dyn(t)]
        self.tail_targets = [op for op in target_ops
                             if op._id in dynamic and op._id not in front_ids]
        self.tail_stop = _Either(stop_ops, {op._id for op in static} | front_ids)
        self.tails: dict[tuple, object] = {}
        self.fetch_tensors = list(fetch_tensors)

    def run(self, feed_values) -> list:
        """Head, frontier, tail; returns one value per fetched tensor (copies)."""
        session = self.session
        env: dict[int, np.ndarray] = dict(zip(map(id, self.head_fetch),
                                              run_checked(session, self.head, feed_values),
                                              strict=True))
        state = session._run_state
        for op in self.frontier:
            k = KernelCtx(op, [env[id(t)] for t in op.inputs], [], dict(op.attrs), state)
            try:
                outs = get_row(op.type).extra["eager"](k)
            except OpError as e:
                new = in_user_terms(e, op)
                if new is e:
                    raise
                raise new from None
            for t, v in zip(op.outputs, outs, strict=True):
                env[id(t)] = np.asarray(v, dtype=t.dtype.np)
        tail_values = [env[id(t)] for t in self.tail_feeds]
        if self.tail_fetch or self.tail_targets:
            key = tuple(v.shape for v in tail_values)
            tail = self.tails.get(key)
            if tail is None:
                if len(self.tails) >= MAX_TAILS:   # a stream of new shapes: drop the oldest
                    del self.tails[next(iter(self.tails))]
                tail = self.tails[key] = self.compile_fn(
                    session, self.tail_fetch, self.tail_targets, self.tail_feeds,
                    [v.shape for v in tail_values], self.tail_stop, self.tail_known)
            for t, v in zip(self.tail_fetch, run_checked(session, tail, tail_values),
                            strict=True):
                env[id(t)] = v
        self.n_runs += 1
        return [env[id(t)] for t in self.fetch_tensors]


class _Either:
    """``i in stop``: in ``ran`` (a set) or in the caller's ``outer`` stop container."""

    __slots__ = ("outer", "ran")

    def __init__(self, outer, ran: set):
        self.outer = outer
        self.ran = ran

    def __contains__(self, i) -> bool:
        return i in self.ran or (self.outer is not None and i in self.outer)


def _unique(ops) -> list:
    seen: dict[int, object] = {}
    for op in ops:
        seen.setdefault(op._id, op)
    return [seen[k] for k in sorted(seen)]
