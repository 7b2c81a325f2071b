"""Reverse-mode autodiff over the IR: :func:`gradients` builds the backward graph.

Design:
    1. Collect the nodes between ``xs`` and ``ys`` (reachable backwards from ``ys``
       through data inputs, and forwards from ``xs``).
    2. Visit them in reverse creation order (creation order is topological because
       the graph is append-only). For each node, sum the gradients of every output
       (``add_n`` when several consumers contributed) and call the row's gradient
       rule, which returns one tensor or None per input.
    3. A sparse lookup's gradient is an IndexedSlices (the rows touched): several reaching
       one tensor are concatenated, and an op whose rule needs a dense gradient gets it
       densified. Non-float tensors never carry gradients; ``StopGradient`` (and any row without
       a rule) stops propagation; ``stop_gradients`` tensors are treated as constants.
    The result is ordinary IR, so the plan compiler prunes, fuses and plans the
    backward pass like any other subgraph.

Must not: run kernels or compile (the backward pass is IR that the plan compiler
plans like any other); hold gradient rules (each op row carries its own, in
``graph/ops/``); create variables.
"""

from __future__ import annotations

from estcore._validation import invalid
from estcore.graph.ops.array_ops import concat, ones_like, zeros_like
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import add_n
from estcore.graph.registry import NO_GRADIENT, get_row
from estcore.graph.sparse_tensor import IndexedSlices

__all__ = ["gradients"]

# ops whose gradient rule passes an IndexedSlices through unchanged (the read of a
# variable); any other rule receives sparse gradients densified
_SPARSE_PASS = frozenset({"Identity"})


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def gradients(ys, xs, grad_ys=None, name: str = "gradients",
              colocate_gradients_with_ops: bool = False, gate_gradients: bool = False,
              aggregation_method=None, stop_gradients=None, unconnected_gradients="none"):
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``.

    Args:
        ys: a tensor or list of tensors (floating point).
        xs: a tensor/variable or list of them.
        grad_ys: optional initial gradients, one per ``y`` (default: ones).
        name: name scope of the gradient ops.
        colocate_gradients_with_ops, gate_gradients, aggregation_method: accepted
            for TF1 compatibility; no effect (one device, gradients summed by add_n).
        stop_gradients: tensors to treat as constants.
        unconnected_gradients: ``"none"`` (default) or ``"zero"`` (TF1's
            ``UnconnectedGradients`` values, or the enum itself): what an ``x``
            not connected to ``ys`` gets.

    Returns:
        A list with one tensor per ``x`` (same shape as ``x``); for an ``x`` not
        connected to ``ys`` (or only through integer ops / stop_gradient) None, or
        zeros of its shape with ``unconnected_gradients="zero"``.
    """
    mode = getattr(unconnected_gradients, "value", unconnected_gradients)
    if mode not in ("none", "zero"):
        raise invalid("unconnected_gradients", "'none' or 'zero'", unconnected_gradients)
    xs = [convert_to_tensor(x) for x in _as_list(xs)]
    out = _gradients(ys, xs, grad_ys, name, stop_gradients)
    if mode == "zero" and any(g is None for g in out):
        with xs[0].graph.name_scope(name):
            out = [zeros_like(x) if g is None else g for x, g in zip(xs, out, strict=True)]
    return out


def _gradients(ys, xs, grad_ys, name, stop_gradients):
    ys = [convert_to_tensor(y) for y in _as_list(ys)]
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    grad_ys = _as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"`grad_ys` must have one entry per y: got {len(grad_ys)} for "
                         f"{len(ys)} ys")
    stops = {id(convert_to_tensor(t)) for t in _as_list(stop_gradients or [])}
    graph = ys[0].graph if ys else None
    if graph is None:
        return [None] * len(xs)

    # 1. nodes reachable backwards from ys
    back: dict[int, object] = {}
    stack = [y.op for y in ys]
    while stack:
        op = stack.pop()
        if op._id in back:
            continue
        back[op._id] = op
        for t in op.inputs:
            if id(t) not in stops:
                stack.append(t.op)
    # 2. nodes reachable forwards from xs, restricted to `back`
    x_ops = {x.op._id for x in xs}
    between: set[int] = set()
    for op_id in sorted(back):
        op = back[op_id]
        if op_id in x_ops or any(t.op._id in between for t in op.inputs):
            between.add(op_id)
    if not between:
        return [None] * len(xs)

    grads: dict[int, list] = {}
    tensors: dict[int, object] = {}

    def push(t, g):
        if g is None or not t.dtype.is_floating:
            return
        grads.setdefault(id(t), []).append(g)
        tensors[id(t)] = t

    with graph.name_scope(name):
        for y, gy in zip(ys, grad_ys, strict=False):
            if not y.dtype.is_floating:
                continue
            push(y, ones_like(y) if gy is None else convert_to_tensor(gy, y.dtype))
        x_ids = {id(x) for x in xs}
        for op_id in sorted(between, reverse=True):
            op = back[op_id]
            out_grads = []
            for t in op.outputs:
                g = _total(grads.get(id(t)))
                if g is not None:
                    grads[id(t)] = [g]
                out_grads.append(g)
            if all(g is None for g in out_grads):
                continue
            if all(id(t) in x_ids for t in op.outputs) and not any(
                    t.op._id in between for t in op.inputs):
                continue
            row = get_row(op.type)
            if row.grad is NO_GRADIENT:
                continue
            if row.grad is None:  # TF's error (second-order gradients land here too)
                raise LookupError(f"No gradient defined for operation '{op.name}' "
                                  f"(op type: {op.type})")
            if op.type not in _SPARSE_PASS and any(isinstance(g, IndexedSlices)
                                                   for g in out_grads):
                # a sparse gradient reaching an op whose rule expects tensors: densify
                out_grads = [convert_to_tensor(g) if isinstance(g, IndexedSlices) else g
                             for g in out_grads]
            with graph.name_scope(op.name + "_grad"):
                in_grads = row.grad(op, out_grads)
            if len(in_grads) != len(op.inputs):
                raise AssertionError(f"gradient rule of {op.type} returned {len(in_grads)} "
                                     f"values for {len(op.inputs)} inputs")
            for t, g in zip(op.inputs, in_grads, strict=False):
                if g is not None and id(t) not in stops and t.op._id in between:
                    push(t, g)

        out = [_total(grads.get(id(x))) for x in xs]
    return out


def _total(partials: list | None):
    """The sum of the partial gradients reaching one tensor (None when there is none).

    Sparse partials (IndexedSlices, from sparse lookups) of one tensor stay sparse: their
    rows are concatenated (duplicates are summed by whoever applies them); a mix of
    sparse and dense partials is summed densely.
    """
    if not partials:
        return None
    if len(partials) == 1:
        return partials[0]
    if all(isinstance(p, IndexedSlices) for p in partials):
        first = partials[0]
        return IndexedSlices(concat([p.values for p in partials], 0),
                             concat([p.indices for p in partials], 0),
                             first.dense_shape, first.dense_like)
    return add_n([convert_to_tensor(p) if isinstance(p, IndexedSlices) else p
                  for p in partials])
