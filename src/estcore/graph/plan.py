"""The plan compiler: (fetches, feeds with concrete shapes) -> executor ``Plan``.

Design (one pass each, run once per fetch set and feed signature):
    1. Prune: keep the nodes the fetches need (data and control inputs); a fed
       tensor cuts the walk. An unfed placeholder is an error naming it. The graph
       checker (:mod:`estcore.graph.check`) validates the kept nodes.
    2. Concrete shapes: rerun every row's shape rule in creation order with the
       fed shapes; constant-fold pure nodes whose inputs are known (constants,
       ``Shape`` of anything, ``zeros_like`` ...), so no step recomputes them. A row
       whose output shape then depends on a value known only at run time (a reshape to
       a fed shape, ``boolean_mask``, ...) makes the plan a segmented one
       (:mod:`estcore.graph.segments`); the values folded here are kept
       (``Plan.folded``) so that a later segment still sees them as constants.
    3. Fuse: ``MatMul -> Add/BiasAdd(bias vector) [-> Relu|Sigmoid|Tanh|Elu|Selu]``
       becomes one ``Dense`` node when the intermediates have no other consumer
       (same for ``Conv2D -> bias -> act`` into ``FusedConv2D``).
    4. Schedule: a topological order (Kahn, creation index as priority; an optimizer
       update first as soon as it is ready, so it lands right after the gradient it
       reads and can fuse into it) with extra edges so that every in-place write of
       a variable runs after all reads of it that do not depend on the write.
    5. Buffers: views for alias rows (reshape, identity, slices, ...), session
       storage for variables, one buffer per fed tensor, and one buffer per other
       output, reused across tensors whose lifetimes do not overlap (liveness by
       step index; fetched buffers are never reused).
    6. Kernels: one closure per node from the row's factory (C programs group
       consecutive C-capable nodes into one ``estcore._lib._kernels.Program``, with
       the fusions between their instructions: :mod:`estcore.graph.programs`).

Must not: run a plan (:class:`~estcore.graph.executor.Plan` does, per call); change the
user's graph (fusion and folding happen on the plan's own nodes); know about hooks,
checkpoints or the Estimator.
"""

from __future__ import annotations

import heapq

import numpy as np

from estcore import errors
from estcore.graph.check import check_nodes
from estcore.graph.executor import Plan
from estcore.graph.programs import FUSABLE_UPDATES, group_programs
from estcore.graph.registry import InferCtx, KernelCtx, get_row, shape_inputs
from estcore.graph.segments import SegmentedPlan
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape

__all__ = ["compile_plan", "PNode"]

_ACTS = {"Relu": "relu", "Relu6": "relu6", "LeakyRelu": "leaky_relu", "Elu": "elu",
         "Selu": "selu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus",
         "Softsign": "softsign"}


class PNode:
    """A node of the plan (a graph node, or several fused into one)."""

    __slots__ = ("type", "row", "name", "inputs", "outputs", "attrs", "node", "order",
                 "shape_only")

    def __init__(self, op_type, inputs, outputs, attrs, node):
        self.type = op_type
        self.row = get_row(op_type)
        self.name = node.name
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.attrs = attrs
        self.node = node
        self.order = node._id
        self.shape_only = shape_inputs(self.row, attrs, len(self.inputs))

    def data_inputs(self):
        """Inputs whose values (not just shapes) the kernel reads."""
        so = self.shape_only
        return [t for i, t in enumerate(self.inputs) if i not in so] if so else self.inputs


def _feed_error(t, fed_shape=None):
    return errors.InvalidArgumentError(
        f"You must feed a value for placeholder tensor '{t.op.name}' with dtype "
        f"{t.dtype.name} and shape {fmt_shape(t.shape) if t.shape.dims is not None else '<any>'}")


def _collect(fetch_tensors, target_ops, fed: dict, stop_ops=None) -> dict:
    """Graph nodes needed for the fetches, keyed by node id (a control input in
    ``stop_ops``, ids of nodes that already ran, is not followed)."""
    needed: dict[int, object] = {}
    stack = [t.op for t in fetch_tensors if id(t) not in fed] + list(target_ops)
    while stack:
        op = stack.pop()
        if op._id in needed:
            continue
        needed[op._id] = op
        if op.type == "Placeholder" and id(op.outputs[0]) not in fed:
            raise _feed_error(op.outputs[0])
        for t in op.inputs:
            if id(t) not in fed:
                stack.append(t.op)
        if stop_ops:
            stack.extend(c for c in op.control_inputs if c._id not in stop_ops)
        else:
            stack.extend(op.control_inputs)
    return needed


def compile_plan(session, fetch_tensors: list, target_ops: list, feed_tensors: list,
                 feed_shapes: list, stop_ops=None, known=None):
    """Compile a plan (see the module docstring).

    Returns a :class:`Plan`, or a :class:`~estcore.graph.segments.SegmentedPlan` when a
    needed node's output shape is known only once it runs (a row with
    ``extra["dynamic"]``: ``boolean_mask``, ``py_func``, a ``cond`` whose branches differ
    in shape, a ``reshape`` to a shape computed from fed values, ...). ``stop_ops``: ids
    of nodes that already ran (a segment's tail, a branch's outer graph): control inputs
    on them are not followed. ``known``: ``{id(tensor): (tensor, value)}``, tensors whose
    values an earlier segment folded; they are cut like feeds and used as constants.
    """
    fed = {id(t): (t, s) for t, s in zip(feed_tensors, feed_shapes, strict=False)}
    known = known or {}
    cut = {**fed, **known} if known else fed
    needed = _collect(fetch_tensors, target_ops, cut, stop_ops)
    ops = [needed[k] for k in sorted(needed)]
    check_nodes(session.graph, ops)
    shapes: dict[int, tuple] = {}      # id(tensor) -> concrete shape
    values: dict[int, np.ndarray] = {}  # id(tensor) -> folded value
    for t, s in fed.values():
        shapes[id(t)] = tuple(s)
    for t, v in known.values():
        shapes[id(t)] = v.shape
        values[id(t)] = v
    pnodes: list[PNode] = []
    dynamic: set[int] = set()   # ids of nodes whose output shapes are known only at run time
    for op in ops:
        row = get_row(op.type)
        if all(id(t) in cut for t in op.outputs) and op.outputs:
            continue
        attrs = dict(op.attrs)
        if dynamic and (any(t.op._id in dynamic and id(t) not in cut for t in op.inputs)
                        or any(c._id in dynamic for c in op.control_inputs)):
            dynamic.add(op._id)   # downstream of a data-dependent shape: planned per run
            continue
        if op.type == "VariableV2":
            shp = op.outputs[0].shape
            shapes[id(op.outputs[0])] = tuple(shp.dims)
        elif op.type == "Const":
            values[id(op.outputs[0])] = attrs["value"]
            shapes[id(op.outputs[0])] = attrs["value"].shape
        else:
            in_shapes = [TensorShape(shapes[id(t)]) for t in op.inputs]
            ctx = InferCtx(op.type, op.name, [t.dtype for t in op.inputs], in_shapes,
                           [values.get(id(t)) for t in op.inputs], attrs)
            outs = row.infer(ctx)
            if row.extra.get("dynamic") and not all(
                    as_shape(s).is_fully_defined() for _, s in outs):
                if not _fold_dynamic(op, row, attrs, shapes, values):
                    dynamic.add(op._id)
                continue
            for t, (_, s) in zip(op.outputs, outs, strict=False):
                s = s if isinstance(s, TensorShape) else TensorShape(s)
                if not s.is_fully_defined():
                    raise errors.InvalidArgumentError(
                        f"{op.type} '{op.name}': could not determine the shape of output "
                        f"'{t.name}' for the fed shapes (got {fmt_shape(s)})")
                if not t.shape.is_compatible_with(s):
                    raise errors.InvalidArgumentError(
                        f"{op.type} '{op.name}': output '{t.name}' has static shape "
                        f"{fmt_shape(t.shape)} but shape {fmt_shape(s)} for the fed values")
                if id(t) not in fed:
                    shapes[id(t)] = s.dims
        so = shape_inputs(row, attrs, len(op.inputs))
        foldable = (not row.stateful and row.build is not None and bool(op.outputs)
                    and not any(id(t) in fed for t in op.outputs)
                    and (row.extra.get("shape_only")
                         or all(id(t) in values for i, t in enumerate(op.inputs)
                                if i not in so)))
        if op.type == "Const":
            continue
        if foldable and op.type != "VariableV2":
            outs = [np.empty(shapes[id(t)], t.dtype.np) for t in op.outputs]
            ins = [values[id(t)] if id(t) in values else _dummy(shapes[id(t)], t.dtype.np)
                   for t in op.inputs]
            fn = row.build(KernelCtx(op, ins, outs, attrs, None))
            if fn is not None:
                fn()
            else:
                outs = [ins[row.alias if isinstance(row.alias, int) else 0].reshape(
                    shapes[id(op.outputs[0])])]
            for t, v in zip(op.outputs, outs, strict=False):
                v.flags.writeable = False
                values[id(t)] = v
            continue
        pnodes.append(PNode(op.type, op.inputs, op.outputs, attrs, op))

    if dynamic:
        return SegmentedPlan(session, ops, dynamic, fetch_tensors, target_ops, feed_tensors,
                             fed, compile_plan, stop_ops, known)
    fetched = {id(t) for t in fetch_tensors}
    pnodes = _simplify(pnodes, values, shapes)
    pnodes = _fuse(pnodes, fetched, shapes, fed)
    pnodes = _schedule(pnodes)
    plan = _build(session, pnodes, fetch_tensors, feed_tensors, fed, shapes, values)
    plan.folded = values
    return plan


def _fold_dynamic(op, row, attrs, shapes, values) -> bool:
    """Run a data-dependent-shape node at compile time when it is pure and every input is
    known (``boolean_mask`` of constants); False when it must run with the plan."""
    if row.stateful or not all(id(t) in values for t in op.inputs):
        return False
    k = KernelCtx(op, [values[id(t)] for t in op.inputs], [], attrs, None)
    for t, v in zip(op.outputs, row.extra["eager"](k), strict=True):
        v = np.asarray(v, t.dtype.np)
        v.flags.writeable = False
        values[id(t)] = v
        shapes[id(t)] = v.shape
    return True


# ---------------------------------------------------------------- simplification
def _uniform_scalar(v):
    """The single value of a constant whose elements are all equal, else None."""
    if v is None or v.size == 0 or v.dtype.kind not in "fiu":
        return None
    first = v.reshape(-1)[0]
    if v.size > 1 and not np.all(v == first):
        return None
    return first.item()


def _simplify(pnodes: list[PNode], values: dict, shapes: dict) -> list[PNode]:
    """``x * c`` and ``x / c`` with a uniform constant ``c`` that does not broadcast ``x``
    become ``Scale(x, alpha)`` (or an identity view when ``alpha == 1``)."""
    out = []
    for p in pnodes:
        if p.type in ("Mul", "RealDiv") and p.outputs[0].dtype.is_floating:
            a, b = p.inputs
            ca, cb = _uniform_scalar(values.get(id(a))), _uniform_scalar(values.get(id(b)))
            x, c = (a, cb) if cb is not None else ((b, ca) if p.type == "Mul" else (None, None))
            if x is not None and c is not None and id(x) not in values and \
                    tuple(shapes[id(x)]) == tuple(shapes[id(p.outputs[0])]):
                alpha = c if p.type == "Mul" else (1.0 / c if c != 0 else None)
                if alpha is not None:
                    if alpha == 1.0:
                        q = PNode("Identity", [x], p.outputs, {}, p.node)
                    else:
                        q = PNode("Scale", [x], p.outputs, {"alpha": float(alpha)}, p.node)
                    q.order = p.order
                    out.append(q)
                    continue
        out.append(p)
    return out


# ---------------------------------------------------------------- fusion
def _fuse(pnodes: list[PNode], fetched: set, shapes: dict, fed: dict) -> list[PNode]:
    consumers: dict[int, list[PNode]] = {}
    for p in pnodes:
        for t in p.data_inputs():
            consumers.setdefault(id(t), []).append(p)

    def single_use(t):
        return (id(t) not in fetched and id(t) not in fed
                and len(consumers.get(id(t), ())) == 1)

    removed: set[int] = set()
    out: list[PNode] = []
    for p in pnodes:
        if id(p) in removed:
            continue
        if p.type in ("SparseSoftmaxCrossEntropyWithLogits", "SoftmaxCrossEntropyWithLogits") \
                and single_use(p.outputs[1]):
            sc = consumers[id(p.outputs[1])][0]
            if sc.type == "Scale":
                attrs = dict(p.attrs)
                attrs["scale"] = attrs.get("scale", 1.0) * sc.attrs["alpha"]
                q = PNode(p.type, p.inputs, [p.outputs[0], sc.outputs[0]], attrs, p.node)
                removed.add(id(sc))
                out.append(q)
                continue
        if p.type in ("MatMul", "Conv2D") and single_use(p.outputs[0]):
            if p.type == "MatMul" and (p.attrs["transpose_a"] or p.attrs["transpose_b"]
                                       or len(shapes[id(p.inputs[0])]) != 2):
                out.append(p)
                continue
            add = consumers[id(p.outputs[0])][0]
            bias = None
            if add.type in ("Add", "BiasAdd"):
                first = add.inputs[0] is p.outputs[0]
                other = add.inputs[1] if first else add.inputs[0]
                n = shapes[id(p.outputs[0])][-1]
                if (first or add.type == "Add") and other is not p.outputs[0] and \
                        tuple(shapes.get(id(other), ())) == (n,) and \
                        tuple(shapes[id(add.outputs[0])]) == tuple(shapes[id(p.outputs[0])]):
                    bias = other
            if bias is None:
                out.append(p)
                continue
            chain, act, last, alpha = [p, add], "linear", add, 0.2
            if single_use(add.outputs[0]):
                nxt = consumers[id(add.outputs[0])][0]
                if nxt.type in _ACTS:
                    chain.append(nxt)
                    act, last = _ACTS[nxt.type], nxt
                    alpha = nxt.attrs.get("alpha", 0.2)
            if p.type == "MatMul":
                fused = PNode("Dense", [p.inputs[0], p.inputs[1], bias], last.outputs,
                              {"activation": act, "alpha": alpha}, last.node)
            else:
                attrs = dict(p.attrs)
                attrs["activation"] = act
                attrs["alpha"] = alpha
                fused = PNode("FusedConv2D", [p.inputs[0], p.inputs[1], bias], last.outputs,
                              attrs, last.node)
            fused.order = p.order
            for c in chain[1:]:
                removed.add(id(c))
            out.append(fused)
            continue
        out.append(p)
    return out


# ---------------------------------------------------------------- scheduling
def _schedule(pnodes: list[PNode]) -> list[PNode]:
    producer: dict[int, PNode] = {}
    for p in pnodes:
        for t in p.outputs:
            producer[id(t)] = p
    by_op = {p.node._id: p for p in pnodes}
    preds: dict[int, set] = {id(p): set() for p in pnodes}
    for p in pnodes:
        for t in p.data_inputs():
            q = producer.get(id(t))
            if q is not None and q is not p:
                preds[id(p)].add(id(q))
        for c in p.node.control_inputs:
            q = by_op.get(c._id)
            if q is not None and q is not p:
                preds[id(p)].add(id(q))
    # variable storage roots: a VariableV2 output, followed through alias rows
    root: dict[int, int] = {}
    for p in pnodes:
        if p.type == "VariableV2":
            root[id(p.outputs[0])] = id(p.outputs[0])
    for p in sorted(pnodes, key=lambda q: q.order):
        a = p.row.alias
        if isinstance(a, int) and p.inputs and id(p.inputs[a]) in root:
            root[id(p.outputs[0])] = root[id(p.inputs[a])]
    writers: dict[int, list[PNode]] = {}
    for p in pnodes:
        for i in p.row.writes:
            r = root.get(id(p.inputs[i]))
            if r is not None:
                writers.setdefault(r, []).append(p)
    if writers:
        succ: dict[int, set] = {id(p): set() for p in pnodes}
        for k, ps in preds.items():
            for q in ps:
                succ[q].add(k)
        readers_of: dict[int, list[PNode]] = {}  # storage root -> nodes reading it
        for p in pnodes:
            seen_roots = set()
            for t in p.data_inputs():
                r = root.get(id(t))
                if r is not None and r not in seen_roots:
                    seen_roots.add(r)
                    readers_of.setdefault(r, []).append(p)
        for r, ws in writers.items():
            ws_ids = {id(w) for w in ws}
            readers = [p for p in readers_of.get(r, ()) if id(p) not in ws_ids]
            for w in ws:
                desc = _descendants(id(w), succ)
                for rd in readers:
                    if id(rd) not in desc and id(rd) != id(w):
                        preds[id(w)].add(id(rd))
                        succ[id(rd)].add(id(w))
            ws_sorted = sorted(ws, key=lambda q: q.order)
            for a, b in zip(ws_sorted, ws_sorted[1:], strict=False):
                if id(a) not in _descendants(id(b), succ):
                    preds[id(b)].add(id(a))
                    succ[id(a)].add(id(b))
    node_of = {id(p): p for p in pnodes}
    indeg = {k: len(v) for k, v in preds.items()}
    succ2: dict[int, list] = {id(p): [] for p in pnodes}
    for k, ps in preds.items():
        for q in ps:
            succ2[q].append(k)
    def updates_a_dense_weight(p) -> bool:
        """An optimizer update whose gradient is a DenseGrad's dW (through Identity
        views): the one kind of node that can fuse into the node before it."""
        gi = FUSABLE_UPDATES.get(p.type)
        if gi is None or gi >= len(p.inputs):
            return False
        t = p.inputs[gi]
        q = producer.get(id(t))
        while q is not None and q.type == "Identity" and q.inputs:
            t = q.inputs[0]
            q = producer.get(id(t))
        return q is not None and q.type == "DenseGrad" and len(q.outputs) > 1 and \
            q.outputs[1] is t

    # Such an update runs as soon as it is ready (it lands right after its gradient and
    # can fuse into it, programs.py); so do variables (no work: slots made after the
    # gradients must not hold it back). Otherwise creation order.
    first = {id(p) for p in pnodes if p.type == "VariableV2" or updates_a_dense_weight(p)}

    def key(k):
        return (0 if k in first else 1, node_of[k].order, k)

    heap = [key(k) for k, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        k = heapq.heappop(heap)[2]
        order.append(node_of[k])
        for s in succ2[k]:
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, key(s))
    if len(order) != len(pnodes):
        raise errors.InvalidArgumentError(
            "the fetched subgraph has a cycle between variable reads and writes; add "
            "control_dependencies to order them")
    return order


def _descendants(start: int, succ: dict) -> set:
    seen, stack = set(), [start]
    while stack:
        k = stack.pop()
        for s in succ.get(k, ()):
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


# ---------------------------------------------------------------- buffers and kernels
def _dummy(shape, dtype) -> np.ndarray:
    """A read-only zero-stride array of ``shape`` (for shape-only inputs)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def _build(session, pnodes, fetch_tensors, feed_tensors, fed, shapes, values) -> Plan:
    bufs: dict[int, np.ndarray] = {}
    group: dict[int, int] = {}          # id(tensor) -> storage group id
    pinned: set[int] = set()            # groups never reused
    for t in feed_tensors:
        b = np.empty(shapes[id(t)], t.dtype.np)
        bufs[id(t)] = b
        group[id(t)] = id(t)
        pinned.add(id(t))
    for k, v in values.items():
        bufs[k] = v
        group[k] = k
        pinned.add(k)
    fetched = {id(t) for t in fetch_tensors}
    # last use of each storage group (by step index)
    alias_of: dict[int, int] = {}
    for p in pnodes:
        a = p.row.alias
        if callable(a):
            a = a([shapes[id(t)] for t in p.inputs], [shapes[id(t)] for t in p.outputs],
                  p.attrs)
        if a is not None:
            alias_of[id(p)] = a
    consumed: set[int] = set()
    reads: dict[int, int] = {}  # tensor id -> how many node inputs read it
    for p in pnodes:
        for t in p.data_inputs():
            consumed.add(id(t))
            reads[id(t)] = reads.get(id(t), 0) + 1
    pool: dict[tuple, list] = {}
    last_use: dict[int, int] = {}
    # first pass: decide groups (alias outputs join their input's group)
    for i, p in enumerate(pnodes):
        for t in p.data_inputs():
            g = group.get(id(t), id(t))
            last_use[g] = i
        if id(p) in alias_of:
            src = p.inputs[alias_of[id(p)]]
            group[id(p.outputs[0])] = group.get(id(src), id(src))
        for t in p.outputs:
            group.setdefault(id(t), id(t))
            last_use.setdefault(group[id(t)], i)
    for t in fetch_tensors:
        pinned.add(group.get(id(t), id(t)))
    state = session._run_state
    steps = []
    emit_info = []
    var_reads, var_writes = [], set()
    group_buf: dict[int, np.ndarray] = {}
    for g in pinned:
        if g in bufs:
            group_buf[g] = bufs[g]
    release_at: dict[int, list] = {}
    for g, i in last_use.items():
        release_at.setdefault(i, []).append(g)
    # tensors some node reads (an Assign's target is written, not read)
    read_ids = {id(t) for q in pnodes for j, t in enumerate(q.inputs)
                if not (j == 0 and q.type == "Assign")}
    for i, p in enumerate(pnodes):
        if p.type == "VariableV2":
            arr = session._storage(p.node)
            bufs[id(p.outputs[0])] = arr
            group_buf[group[id(p.outputs[0])]] = arr
            pinned.add(group[id(p.outputs[0])])
            if id(p.outputs[0]) in read_ids or id(p.outputs[0]) in fetched:
                var_reads.append(p.node)
            continue
        if p.type in ("Placeholder",):
            raise _feed_error(p.outputs[0])
        for w in p.row.writes:
            src = p.inputs[w]
            if src.op.type == "VariableV2":
                var_writes.add(src.op)
        ins = [_dummy(shapes[id(t)], t.dtype.np) if j in p.shape_only else bufs[id(t)]
               for j, t in enumerate(p.inputs)]
        made_view = False
        if id(p) in alias_of:
            a = alias_of[id(p)]
            out_shape = shapes[id(p.outputs[0])]
            viewfn = p.row.extra.get("view")
            try:
                v = viewfn(ins, out_shape, p.attrs) if viewfn else ins[a].reshape(out_shape)
            except (ValueError, TypeError):
                v = None
            if v is not None and v.shape == tuple(out_shape) and (
                    v.size == 0 or np.shares_memory(v, ins[a])):
                bufs[id(p.outputs[0])] = v
                made_view = True
            else:
                group[id(p.outputs[0])] = id(p.outputs[0])
        outs = []
        for j, t in enumerate(p.outputs):
            if j == 0 and made_view:
                outs.append(bufs[id(t)])
                continue
            g = group[id(t)]
            key = (tuple(shapes[id(t)]), t.dtype.np)
            buf = None
            if g not in pinned and pool.get(key):
                buf = pool[key].pop()
            if buf is None:
                buf = np.empty(*key)
            bufs[id(t)] = buf
            group_buf[g] = buf
            outs.append(buf)
        if not made_view or p.row.writes:
            needed = [id(t) in consumed or id(t) in fetched for t in p.outputs]
            kctx = KernelCtx(p.node, ins, outs, p.attrs, state, needed)
            kctx.consts = [values.get(id(t)) for t in p.inputs]
            fn = p.row.build(kctx) if p.row.build is not None else None
            if fn is not None:
                steps.append(fn)
                emit_info.append((p, kctx))
        for g in release_at.get(i, ()):
            if g in pinned or g not in group_buf:
                continue
            b = group_buf.pop(g)
            if b.base is None:
                pool.setdefault((b.shape, b.dtype), []).append(b)
    n_programs = 0
    step_nodes = [p.node for p, _ in emit_info]
    if session._use_c:
        def sole_reader(t) -> bool:
            return reads.get(id(t), 0) == 1 and id(t) not in fetched
        group_size: dict[int, int] = {}
        for g in group.values():
            group_size[g] = group_size.get(g, 0) + 1

        def private_reads(t):
            g = group.get(id(t), id(t))
            if id(t) in fetched or g in pinned or group_size.get(g, 0) != 1:
                return None
            return reads.get(id(t), 0)
        steps, step_nodes, n_programs = group_programs(steps, emit_info, sole_reader,
                                                       private_reads)
    fetch_bufs = [bufs[id(t)] for t in fetch_tensors]
    feed_bufs = [bufs[id(t)] for t in feed_tensors]
    all_bufs = {k: v for k, v in bufs.items()}
    plan = Plan(steps, feed_bufs, fetch_bufs, var_reads, var_writes, all_bufs, pnodes,
                emit_info, step_nodes)
    plan.programs = n_programs
    return plan
