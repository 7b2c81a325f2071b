"""Traced sub-graphs (cond branches, map_fn bodies) and the sub-plans that run them.

A body is traced into the user's graph like any other code; what marks it is the range
of node ids it created (the graph is append-only, so that range is exactly its nodes).
The op that owns it (``Cond``, ``MapFn``) takes as inputs only what the body reads from
outside: its *captures* (fed to the body's sub-plan), and the variables it reads (bound
to the session's storage in the sub-plan, and inputs of the owning op so that autodiff
and the scheduler see the read). So the outer plan never runs a body node: the owning
op's kernel compiles, per input shapes, a plan of the body with the captures as feeds and
runs it when (and as often as) it decides.

Owns: :class:`Body` (the traced nodes, outputs, captures), :func:`trace`, :func:`outside_inputs`,
:func:`concrete_shapes` (the body's output shapes for concrete capture shapes, at plan
time) and :func:`run_body`. Must not: decide what a body means (``control_flow_ops``
does); follow a control edge out of a body when planning it (the owning op carries
those edges in the outer graph).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from estcore import nest
from estcore.graph import dtypes as dt
from estcore.graph.ir import Graph
from estcore.graph.ops.core import convert_to_tensor, make
from estcore.graph.plan import compile_plan
from estcore.graph.registry import InferCtx, get_row
from estcore.graph.segments import run_checked
from estcore.graph.shapes import TensorShape

__all__ = ["Body", "trace", "is_op_marker", "outside_inputs", "concrete_shapes", "run_body"]

_BOUND = ("VariableV2", "Const")
MAX_PLANS = 256   # sub-plans kept per body and fetch set (oldest dropped)
_TRUE = np.array(True)
_TRUE.flags.writeable = False


class _Outside:
    """``id in stop`` for the sub-plan compiler: node ids outside the body's ranges."""

    __slots__ = ("ranges",)

    def __init__(self, ranges):
        self.ranges = ranges

    def __contains__(self, i) -> bool:
        return not any(a <= i < b for a, b in self.ranges)


class Body:
    """A traced function: its node id ranges, flat outputs and what it reads from outside.

    Attributes:
        ranges: ``[(start, end), ...]`` node id ranges that count as inside.
        outputs: the flat output tensors (an output may be a capture itself).
        structure: the nested structure of the function's result.
        ops: the inside nodes the outputs need, in creation order.
        captures: outside tensors read (fed to the sub-plan).
        variables: outside variable tensors read (bound, not fed).
        stash: tensors of ``stash_ranges`` read (fed from a forward op's kept values).
        control: outside nodes that inside nodes wait for.
        inputs: tensors the caller feeds besides the captures (map_fn's elements).
    """

    def __init__(self, ranges, outputs, structure, stash_ranges=(), inputs=()):
        self.ranges = list(ranges)
        self.outputs = list(outputs)
        self.structure = structure
        self.inputs = list(inputs)
        inside = self.inside
        stashy = _Outside(stash_ranges) if stash_ranges else None
        caps, var, stash, ctrl, seen = {}, {}, {}, {}, {}

        def outer(t):
            if t.op.type in _BOUND:
                if t.op.type == "VariableV2":
                    var.setdefault(id(t), t)
            elif stashy is not None and t.op._id not in stashy:
                stash.setdefault(id(t), t)
            else:
                caps.setdefault(id(t), t)

        def visit(t):
            # a variable, even one created inside, is read from the session's storage and
            # is an input of the owning op (so autodiff reaches it through that op)
            if inside(t.op._id) and t.op.type != "VariableV2":
                stack.append(t.op)
            else:
                outer(t)

        stack = []
        for t in self.outputs:
            visit(t)
        while stack:
            op = stack.pop()
            if op._id in seen:
                continue
            seen[op._id] = op
            for t in op.inputs:
                visit(t)
            for c in op.control_inputs:
                if inside(c._id):
                    stack.append(c)
                elif stashy is None or c._id in stashy:  # (a forward node: already ran)
                    ctrl.setdefault(c._id, c)
        in_ids = {id(t) for t in self.inputs}
        self.ops = [seen[k] for k in sorted(seen)]
        self.captures = [t for k, t in caps.items() if k not in in_ids]
        self.variables = list(var.values())
        self.stash = list(stash.values())
        self.control = [ctrl[k] for k in sorted(ctrl)]

    def inside(self, i: int) -> bool:
        return any(a <= i < b for a, b in self.ranges)

    def feeds(self) -> list:
        """The tensors its sub-plan is fed: inputs, captures, stash (in that order)."""
        return self.inputs + self.captures + self.stash


def outside_inputs(bodies) -> tuple[dict, dict, dict]:
    """What several bodies of one op read from outside, each once, in first-seen order:
    ``(captures, variables, control)``, the first two by ``id`` of the tensor, control
    ops by node id (for an op that owns all these bodies: ``Cond``, ``While``)."""
    caps: dict[int, object] = {}
    var: dict[int, object] = {}
    ctrl: dict[int, object] = {}
    for body in bodies:
        for t in body.captures:
            caps.setdefault(id(t), t)
        for t in body.variables:
            var.setdefault(id(t), t)
        for c in body.control:
            ctrl.setdefault(c._id, c)
    return caps, var, ctrl


def is_op_marker(t) -> bool:
    """Whether ``t`` stands for an Operation a traced function returned (see :func:`trace`)."""
    return t.op.type == "Const" and bool(t.op.attrs.get("op_marker"))


def trace(graph: Graph, fn: Callable, args=(), what: str = "fn", ops_ok: bool = False) -> tuple:
    """Call ``fn(*args)`` recording the nodes it creates.

    Args:
        ops_ok: an Operation in the result (``tf.cond(p, lambda: train_op, tf.no_op)``)
            becomes a scalar constant that depends on it (:func:`is_op_marker`); without
            it, an Operation is refused.

    Returns:
        ``(start, end, flat_outputs, structure)``: the node id range, the result's
        leaves as tensors (Python / numpy values become constants inside the range) and
        the nested structure.
    """
    if not callable(fn):
        raise TypeError(f"`{what}` must be callable. Received: {fn!r} ({type(fn).__name__})")
    start = len(graph._nodes)
    with graph.as_default(), graph.control_dependencies(None):
        result = fn(*args)
        leaves = nest.flatten(result)
        flat = []
        for x in leaves:
            if x is None:
                raise ValueError(f"`{what}` returned None where a tensor is expected.")
            if hasattr(x, "type") and hasattr(x, "outputs") and not hasattr(x, "_as_tensor"):
                if ops_ok:
                    with graph.control_dependencies([x]):
                        flat.append(make("Const", [], {"value": _TRUE, "dtype": dt.bool,
                                                       "op_marker": True},
                                         name=x.name.rsplit("/", 1)[-1] + "_done"))
                    continue
                raise TypeError(f"`{what}` must return tensors, not an Operation "
                                f"('{x.name}'): return a tensor computed after it (e.g. "
                                "with tf.control_dependencies([op]): tf.identity(x)).")
            flat.append(convert_to_tensor(x))
    return start, len(graph._nodes), flat, result


def concrete_shapes(body: Body, feed_shapes: list, feed_values: list) -> list | None:
    """The body's output shapes for concrete feed shapes (``body.feeds()`` order), by
    rerunning the shape rules of its nodes; None when one is settled only at run time."""
    shapes: dict[int, TensorShape] = {}
    values: dict[int, np.ndarray] = {}
    for t, s, v in zip(body.feeds(), feed_shapes, feed_values, strict=True):
        shapes[id(t)] = TensorShape(s)
        if v is not None:
            values[id(t)] = v
    for t in body.variables:
        shapes[id(t)] = t.shape
    for op in body.ops:
        if all(id(t) in shapes for t in op.outputs) and op.outputs:
            continue
        if op.type == "Const":
            shapes[id(op.outputs[0])] = TensorShape(op.attrs["value"].shape)
            values[id(op.outputs[0])] = op.attrs["value"]
            continue
        ins = []
        for t in op.inputs:
            if id(t) not in shapes:
                if t.op.type not in _BOUND:
                    return None
                shapes[id(t)] = t.shape
                if t.op.type == "Const":
                    values[id(t)] = t.op.attrs["value"]
            ins.append(shapes[id(t)])
        ctx = InferCtx(op.type, op.name, [t.dtype for t in op.inputs], ins,
                       [values.get(id(t)) for t in op.inputs], dict(op.attrs))
        outs = get_row(op.type).infer(ctx)
        for t, (_, s) in zip(op.outputs, outs, strict=False):
            s = s if isinstance(s, TensorShape) else TensorShape(s)
            if not s.is_fully_defined():
                return None
            shapes[id(t)] = s
    out = []
    for t in body.outputs:
        s = shapes.get(id(t), t.shape if t.op.type in _BOUND else None)
        if s is None or not s.is_fully_defined():
            return None
        out.append(tuple(s.dims))
    return out


def run_body(state, key, body: Body, fetch: list, values: list) -> list:
    """Run ``body``'s sub-plan fetching ``fetch`` with ``values`` fed (``body.feeds()``
    order); the plan is compiled once per (``key``, feed shapes) and kept in the
    session's run state."""
    session = state.session
    cache = state.scratch.setdefault(("plans", key, len(fetch)), {})
    skey = tuple(np.shape(v) for v in values)
    plan = cache.get(skey)
    if plan is None:
        if len(cache) >= MAX_PLANS:   # a stream of new shapes: drop the oldest
            del cache[next(iter(cache))]
        plan = cache[skey] = compile_plan(session, fetch, [], body.feeds(), list(skey),
                                          _Outside(body.ranges))
    return run_checked(session, plan, values)
