"""Control flow: ``cond``, ``case`` and ``map_fn`` (TF1 graph semantics), with gradients.

Design (sub-graphs: :mod:`estcore.graph.ops.subgraph`):
    ``cond(pred, true_fn, false_fn)`` traces both functions into the graph and adds one
    ``Cond`` node whose inputs are ``pred``, what the branches read from outside and the
    variables they read. When the plan runs, the ``Cond`` kernel runs only the taken
    branch's sub-plan, so side effects in a branch (assign, Print, Assert) happen only
    when it is taken. Outputs have the taken branch's shape: when both branches give
    the same concrete shape for the fed shapes the plan is static, otherwise the node is
    data-dependent (planned per run, ``graph/segments.py``).

    Gradient: a second ``Cond`` on the same ``pred`` whose branches are the branches'
    gradients with respect to the captured tensors and variables. The intermediate
    values a gradient branch needs from its forward branch are not recomputed: the
    forward ``Cond`` keeps them (its ``stash``) in the session's run state for the
    gradient ``Cond``, which runs after it (control edge), so random ops (dropout) and
    side effects in a branch run once.

    ``map_fn(fn, elems)`` traces ``fn`` once on placeholders of one element and adds a
    ``MapFn`` node whose kernel runs that sub-plan per element (compiled once per element
    shape) and stacks the results. Gradient: a ``MapFn`` of the body's gradient (the body
    is recomputed per element inside it; a body drawing random numbers gets fresh ones
    there), summed over elements for captured tensors and variables.

Must not: evaluate a branch that was not taken; run a body node in the outer plan.
"""

from __future__ import annotations

import functools

import numpy as np

from estcore import errors, nest
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops import reduce_ops as R
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.ops.debug_ops import Assert
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.ops.subgraph import (
    Body,
    concrete_shapes,
    is_op_marker,
    outside_inputs,
    run_body,
    trace,
)
from estcore.graph.shapes import TensorShape

__all__ = ["cond", "case", "map_fn"]


def _merge(a: TensorShape, b: TensorShape) -> TensorShape:
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.dims, b.dims, strict=True)])


def _planning(ctx) -> bool:
    return all(s.is_fully_defined() for s in ctx.shapes)


# ---------------------------------------------------------------- Cond
def _cond_infer(ctx):
    a = ctx.attrs
    if not ctx.dtypes[0].is_bool or ctx.shapes[0].rank not in (0, None):
        raise ctx.fail(f"`pred` must be a scalar bool tensor, got {ctx.dtypes[0].name} of "
                       f"shape {ctx.fmt(0)}", TypeError)
    static = a["static"]
    if not _planning(ctx):
        return static
    if a["out_like"] is not None:   # a gradient: each output has its input's shape
        return [(d, ctx.shapes[i]) for (d, _), i in zip(static, a["out_like"], strict=True)]
    per = []
    for b, body in enumerate(a["branches"]):
        pos = a["cap_pos"][b]
        per.append(concrete_shapes(body, [ctx.shapes[1 + p].dims for p in pos],
                                   [ctx.values[1 + p] for p in pos]))
    if per[0] is None or per[1] is None:
        return [(d, TensorShape([None] * s.rank) if s.rank is not None else s)
                for d, s in static]
    return [(d, TensorShape(x) if x == y else _merge(TensorShape(x), TensorShape(y)))
            for (d, _), x, y in zip(static, per[0], per[1], strict=True)]


def _cond_eager(k):
    a, node, state = k.attrs, k.node, k.state
    b = 0 if bool(np.asarray(k.ins[0])) else 1
    body = a["branches"][b]
    values = [k.ins[1 + p] for p in a["cap_pos"][b]]
    if a["grad_of"] is not None and body.stash:
        kept = state.scratch.get(("cond_stash", a["grad_of"]._id, b))
        if kept is None:
            raise errors.InternalError(f"Cond '{node.name}': the values of its forward cond "
                                       f"'{a['grad_of'].name}' are missing")
        values += [kept[id(t)] for t in body.stash]
    keep = a["stash"][b]
    res = run_body(state, (node._id, b), body, body.outputs + keep, values)
    n = len(body.outputs)
    if keep:
        state.scratch[("cond_stash", node._id, b)] = {
            id(t): v for t, v in zip(keep, res[n:], strict=True)}
    return res[:n]


def _grad_autodiff():
    from estcore.graph import autodiff  # local: autodiff imports the op modules (cycle)
    return autodiff.gradients


def _cond_grad(op, grads):
    a = op.attrs
    if a["grad_of"] is not None:
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: Cond): "
                          "second-order gradients through cond are not supported")
    gradients = _grad_autodiff()
    xs_at = [i for i in range(1, len(op.inputs)) if op.inputs[i].dtype.is_floating]
    outs_at = [j for j, t in enumerate(op.outputs) if t.dtype.is_floating]
    if not xs_at or not outs_at:
        return [None] * len(op.inputs)
    xs = [op.inputs[i] for i in xs_at]
    gys = [grads[j] if grads[j] is not None else A.zeros_like(op.outputs[j]) for j in outs_at]

    def branch(b):
        body = a["branches"][b]

        def fn():
            gs = gradients([body.outputs[j] for j in outs_at], xs, grad_ys=gys)
            return [A.zeros_like(x) if g is None else g for g, x in zip(gs, xs, strict=True)]
        return fn

    with op.graph.control_dependencies([op]):
        flat = _build_cond(op.inputs[0], [branch(0), branch(1)], "cond_grad", strict=True,
                           grad_of=op, out_like=xs)
    out = [None] * len(op.inputs)
    for i, g in zip(xs_at, flat, strict=True):
        out[i] = g
    return out


dynamic_row("Cond", _cond_infer, _cond_eager, _cond_grad, stateful=True)


def _build_cond(pred, fns, name, strict, grad_of=None, out_like=None):
    graph = pred.graph
    with graph.name_scope(name):
        traced = [trace(graph, fn, (), what, ops_ok=True)
                  for fn, what in zip(fns, ("true_fn", "false_fn"), strict=True)]
    (s0, e0, flat0, st0), (s1, e1, flat1, st1) = traced
    try:
        nest.assert_same_structure(st0, st1)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"true_fn and false_fn must return the same nested structure: "
                         f"{exc}") from None
    if len(flat0) != len(flat1):
        raise ValueError(f"true_fn returned {len(flat0)} tensors and false_fn {len(flat1)}; "
                         "they must return the same number")
    for i, (x, y) in enumerate(zip(flat0, flat1, strict=True)):
        if is_op_marker(x) != is_op_marker(y):
            raise ValueError(f"Output {i}: one branch returned an Operation and the other a "
                             "tensor; both must return the same kind")
        if x.dtype is not y.dtype:
            raise ValueError(f"Outputs of true_fn and false_fn must have the same type: "
                             f"output {i} is {x.dtype.name} in true_fn and {y.dtype.name} in "
                             "false_fn")
    stash_of = [grad_of.attrs["branches"][b].ranges for b in (0, 1)] if grad_of else [(), ()]
    bodies = [Body([(s0, e0)], flat0, st0, stash_ranges=stash_of[0]),
              Body([(s1, e1)], flat1, st1, stash_ranges=stash_of[1])]
    caps, var, ctrl = outside_inputs(bodies)
    for t in out_like or ():   # a gradient's outputs take these tensors' shapes
        (var if t.op.type == "VariableV2" else caps).setdefault(id(t), t)
    cap_list = list(caps.values())
    index = {id(t): i for i, t in enumerate(cap_list)}
    inputs = [pred, *cap_list, *var.values()]
    at = {id(t): i for i, t in enumerate(inputs)}
    if grad_of is not None:
        for b, body in enumerate(bodies):
            kept = grad_of.attrs["stash"][b]
            have = {id(t) for t in kept}
            kept.extend(t for t in body.stash if id(t) not in have)
    attrs = {"branches": bodies, "cap_pos": [[index[id(t)] for t in b.captures] for b in bodies],
             "static": [(x.dtype, _merge(x.shape, y.shape)) for x, y in zip(flat0, flat1,
                                                                             strict=True)],
             "stash": [[], []], "grad_of": grad_of,
             "out_like": None if out_like is None else [at[id(t)] for t in out_like]}
    with graph.control_dependencies([ctrl[k] for k in sorted(ctrl)]):
        op = make_op("Cond", inputs, attrs, name=name)
    # an Operation returned by both branches: the result is the Cond node (run it to run
    # the taken branch's op), as TF1's cond returns an op there
    outs = [op if is_op_marker(x) else t for x, t in zip(flat0, op.outputs, strict=True)]
    if strict:
        return outs
    result = nest.pack_sequence_as(st0, outs)
    if isinstance(st0, (list, tuple)) and len(st0) == 1 and not nest.is_nested(st0[0]):
        return result[0]    # TF1's non-strict cond unpacks a singleton list
    return result


def cond(pred, true_fn=None, false_fn=None, strict: bool = False, name=None, fn1=None,
         fn2=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``, deciding when the graph runs (TF1
    ``tf.cond``).

    Only the taken branch runs: ops created inside a branch (assignments, Print,
    Assert) take effect only when it is taken. Tensors created outside and used inside
    are computed before the cond, whichever branch is taken (TF1's rule too).

    Args:
        pred: scalar bool tensor (a Python bool is refused, as in TF1).
        true_fn, false_fn: callables returning the same nested structure of tensors
            with the same dtypes (shapes may differ; the result's static shape keeps
            what both agree on).
        strict: False (TF1's default): a singleton list result is returned as its
            element.
        name: name scope.
        fn1, fn2: TF1's deprecated names of ``true_fn`` / ``false_fn``.

    Returns:
        The taken branch's results, in the branches' structure. Gradients flow to the
        tensors and variables the branches read (through the taken branch).
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if true_fn is None or false_fn is None:
        raise TypeError("cond(): both `true_fn` and `false_fn` are required")
    if isinstance(pred, (bool, np.bool_)):
        raise TypeError("pred must not be a Python bool")
    p = convert_to_tensor(pred)
    if not p.dtype.is_bool:
        raise TypeError(f"`pred` must be a bool tensor. Received: dtype {p.dtype.name}")
    if p.shape.rank not in (0, None):
        raise ValueError(f"`pred` must be a scalar. Received: shape {p.shape}")
    return _build_cond(p, [true_fn, false_fn], name or "cond", strict)


def case(pred_fn_pairs, default=None, exclusive: bool = False, strict: bool = False,
         name: str = "case"):
    """The result of the first ``fn`` whose ``pred`` is true, else ``default()`` (TF1
    ``tf.case``), as nested :func:`cond` s.

    Args:
        pred_fn_pairs: list of ``(pred, fn)`` pairs (or a dict, in its order).
        default: callable used when no predicate is true. None: the last pair's ``fn``
            is the default, guarded by an Assert that its predicate is true ("Input
            error: None of conditions evaluated as True").
        exclusive: if True, an Assert that at most one predicate is true.
        strict: as :func:`cond`'s.
        name: name scope.
    """
    if isinstance(pred_fn_pairs, dict):
        pairs = list(pred_fn_pairs.items())
    elif isinstance(pred_fn_pairs, (list, tuple)):
        pairs = list(pred_fn_pairs)
    else:
        raise TypeError(f"`pred_fn_pairs` must be a list or a dict. Received: "
                        f"{type(pred_fn_pairs).__name__}")
    for p in pairs:
        if not isinstance(p, tuple) or len(p) != 2:
            raise TypeError(f"Each entry in pred_fn_pairs must be a 2-tuple. Received {p!r}")
        if not callable(p[1]):
            raise TypeError(f"fn for pred {getattr(p[0], 'name', p[0])} must be callable.")
    if default is not None and not callable(default):
        raise TypeError("`default` must be callable.")
    if not pairs:
        raise ValueError("`pred_fn_pairs` must not be empty")
    preds = [convert_to_tensor(p, dtype=dt.bool) for p, _ in pairs]
    fns = [f for _, f in pairs]
    graph = preds[0].graph
    with graph.name_scope(name):
        if default is None:
            last_pred, last_fn = preds[-1], fns[-1]
            preds, fns = preds[:-1], fns[:-1]
            stacked = A.stack(preds + [last_pred])

            def default():
                check = Assert(last_pred, ["Input error: None of conditions evaluated as "
                                           "True:", stacked])
                with graph.control_dependencies([check]):
                    return nest.map_structure(A.identity, last_fn())
        fn = default
        for p, f in reversed(list(zip(preds, fns, strict=True))):
            fn = functools.partial(cond, p, f, fn, strict=strict)
        if exclusive and len(pairs) > 1:
            all_preds = [convert_to_tensor(p, dtype=dt.bool) for p, _ in pairs]
            n_true = R.reduce_sum(M.cast(A.stack(all_preds), dt.int32))
            check = Assert(M.less_equal(n_true, 1),
                           [f"Input error: exclusive=True: more than 1 conditions "
                            f"({', '.join(t.name for t in all_preds)}) evaluated as True:",
                            A.stack(all_preds)], summarize=len(all_preds))
            with graph.control_dependencies([check]):
                return nest.map_structure(A.identity, fn())
        return fn()


# ---------------------------------------------------------------- map_fn
row("MapElement", lambda ctx: [(ctx.attrs["dtype"], ctx.attrs["shape"])], None, None,
    stateful=True)


def _map_infer(ctx):
    a = ctx.attrs
    if not _planning(ctx):
        return a["static"]
    n_e = a["n_elems"]
    n = ctx.shapes[0].dims[0]
    for i in range(1, n_e):
        if ctx.shapes[i].dims[0] != n:
            raise ctx.fail(f"all elems must have the same first dimension: {n} and "
                           f"{ctx.shapes[i].dims[0]}")
    body = a["body"]
    feeds = [s.dims[1:] for s in ctx.shapes[:n_e]] + [
        s.dims for s in ctx.shapes[n_e:n_e + len(body.captures)]]
    vals = [None] * n_e + list(ctx.values[n_e:n_e + len(body.captures)])
    per = concrete_shapes(body, feeds, vals)
    if per is None:
        return [(d, TensorShape([None] * s.rank) if s.rank is not None else s)
                for d, s in a["static"]]
    return [(d, TensorShape([n, *s])) for (d, _), s in zip(a["static"], per, strict=True)]


def _map_eager(k):
    a, node = k.attrs, k.node
    n_e, body = a["n_elems"], a["body"]
    elems = k.ins[:n_e]
    caps = list(k.ins[n_e:n_e + len(body.captures)])
    n = elems[0].shape[0]
    for e in elems[1:]:
        if e.shape[0] != n:
            raise errors.InvalidArgumentError(
                f"MapFn '{node.name}': all elems must have the same first dimension, got "
                f"{n} and {e.shape[0]}")
    rows = [run_body(k.state, node._id, body, body.outputs, [e[i] for e in elems] + caps)
            for i in range(n)]
    out = []
    for j, t in enumerate(body.outputs):
        if n == 0:
            shp = t.shape
            if not shp.is_fully_defined():
                raise errors.InvalidArgumentError(
                    f"MapFn '{node.name}': no elements, and fn's output {j} has no fully "
                    f"known static shape ({shp})")
            out.append(np.zeros((0, *shp.dims), t.dtype.np))
            continue
        parts = [r[j] for r in rows]
        if any(p.shape != parts[0].shape for p in parts):
            raise errors.InvalidArgumentError(
                f"MapFn '{node.name}': fn's output {j} has different shapes for different "
                f"elements ({parts[0].shape} and "
                f"{next(p.shape for p in parts if p.shape != parts[0].shape)})")
        out.append(np.stack(parts))
    return out


def _map_grad(op, grads):
    a = op.attrs
    if not a["back_prop"]:
        return [None] * len(op.inputs)
    gradients = _grad_autodiff()
    body, n_e = a["body"], a["n_elems"]
    inner = list(body.inputs) + body.captures + body.variables
    outer = list(op.inputs)
    xs_at = [i for i, t in enumerate(outer) if t.dtype.is_floating]
    outs_at = [j for j, t in enumerate(op.outputs) if t.dtype.is_floating]
    if not xs_at or not outs_at:
        return [None] * len(op.inputs)
    gys = [grads[j] if grads[j] is not None else A.zeros_like(op.outputs[j]) for j in outs_at]
    graph = op.graph
    with graph.name_scope("map_grad"):
        start = len(graph._nodes)
        g_elems = [make("MapElement", [], {"dtype": g.dtype, "shape": g.shape[1:]},
                        name="grad_elem") for g in gys]
        xs = [inner[i] for i in xs_at]

        def fn():
            gs = gradients([body.outputs[j] for j in outs_at], xs, grad_ys=g_elems)
            return [A.zeros_like(x) if g is None else g for g, x in zip(gs, xs, strict=True)]

        _, end, flat, _ = trace(graph, fn, (), "fn")
        gbody = Body([(start, end), *body.ranges], flat, None,
                     inputs=list(body.inputs) + g_elems)
        per_elem = _map_op(graph, outer[:n_e] + gys, gbody, [(t.dtype, t.shape) for t in flat],
                           True, "map_grad")
    out = [None] * len(op.inputs)
    for i, g in zip(xs_at, per_elem, strict=True):
        out[i] = g if i < n_e else R.reduce_sum(g, axis=0)
    return out


dynamic_row("MapFn", _map_infer, _map_eager, _map_grad, stateful=True)


def _map_op(graph, elems, body, out_specs, back_prop, name):
    n = elems[0].shape[0] if elems[0].shape.rank else None
    static = [(d, TensorShape(None) if s.rank is None else TensorShape([n, *s.dims]))
              for d, s in out_specs]
    attrs = {"body": body, "n_elems": len(elems), "static": static, "back_prop": back_prop}
    with graph.control_dependencies(body.control):
        op = make_op("MapFn", [*elems, *body.captures, *body.variables], attrs, name=name)
    return list(op.outputs)


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop: bool = True,
           swap_memory: bool = False, infer_shape: bool = True, name=None):
    """``fn`` applied to each element of ``elems`` along dimension 0, results stacked
    (TF1 ``tf.map_fn``).

    ``fn`` is traced once, on one element; the graph runs it per element (one compiled
    sub-plan, reused). Gradients flow to ``elems`` and to what ``fn`` reads from outside
    (unless ``back_prop=False``).

    Args:
        fn: callable taking one element (the structure of ``elems``) and returning a
            tensor or a nested structure of tensors.
        elems: a tensor, or a nested structure of tensors with the same first dimension.
        dtype: the structure and dtypes of ``fn``'s output when it differs from
            ``elems``'s (checked against what ``fn`` returns).
        parallel_iterations, swap_memory, infer_shape: accepted for TF1 compatibility;
            no effect (the elements run one after another).
        back_prop: False stops gradients at the result.
        name: name scope.

    Returns:
        The stacked results: for each output of ``fn`` of shape ``S``, a tensor of shape
        ``[n] + S``.
    """
    flat = [convert_to_tensor(e) for e in nest.flatten(elems)]
    if not flat:
        raise ValueError("`elems` must hold at least one tensor")
    for t in flat:
        if t.shape.rank == 0:
            raise ValueError(f"`elems` must be tensors of rank >= 1 (elements are taken "
                             f"along dimension 0). Received: '{t.name}' of shape []")
    graph = flat[0].graph
    with graph.name_scope(name or "map"):
        start = len(graph._nodes)
        elem_ts = [make("MapElement", [], {"dtype": t.dtype, "shape": t.shape[1:]},
                        name="elem") for t in flat]
        arg = nest.pack_sequence_as(elems, elem_ts) if nest.is_nested(elems) else elem_ts[0]
        _, end, out_flat, structure = trace(graph, fn, (arg,), "fn")
        if dtype is not None:
            want = [dt.as_dtype(d) for d in nest.flatten(dtype)]
            got = [t.dtype for t in out_flat]
            if want != got:
                raise TypeError(f"map_fn: fn returned dtypes {[d.name for d in got]}, `dtype` "
                                f"says {[d.name for d in want]}")
        body = Body([(start, end)], out_flat, structure, inputs=elem_ts)
        outs = _map_op(graph, flat, body, [(t.dtype, t.shape) for t in out_flat], back_prop,
                       "map")
    if not nest.is_nested(structure):
        return outs[0]
    return nest.pack_sequence_as(structure, outs)
