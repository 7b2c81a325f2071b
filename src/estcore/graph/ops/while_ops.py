"""``while_loop`` (TF1 ``tf.while_loop``): repeat ``body`` while ``cond`` holds.

Design (sub-graphs: :mod:`estcore.graph.ops.subgraph`, as ``cond`` and ``map_fn``):
    one ``WhileVar`` node per (flat) loop variable stands for its value in an iteration;
    ``cond`` and ``body`` are traced once on them. One ``While`` node takes the initial
    values, what the two functions read from outside (captures) and the variables they
    read. Its kernel runs the cond sub-plan, then the body sub-plan on the values the last
    iteration gave, until cond is false (or ``maximum_iterations`` is reached), and
    returns the last values. Each sub-plan is compiled once per loop-variable shapes, so a
    loop whose shapes stay put compiles once.

    Shapes: a loop variable keeps its entry shape unless ``shape_invariants`` gives it a
    less specific one; the body must return a shape that fits (TF's rule, checked when
    the loop is built and again per iteration). When the loop's output shapes depend on
    the values (a growing tensor), the node is data-dependent (``graph/segments.py``).

    Gradient (as ``map_fn``'s, over iterations): once a gradient is built, the forward
    kernel keeps each iteration's loop-variable values, and the outputs of the body's
    random nodes (dropout masks, ...), in the session's run state; a ``WhileGrad`` node
    (after the loop: control edge) runs the body's gradient sub-plan from the last
    iteration back to the first, carrying the loop variables' gradients and summing those
    of the captures and variables. The body's other nodes are recomputed inside it per
    iteration; the random ones are fed the kept draws, so the gradient is that of what
    the forward pass computed.

Must not: run a cond/body node in the outer plan; loop without a bound other than
``cond`` and ``maximum_iterations`` (a cond that never turns false runs forever, as in TF).
"""

from __future__ import annotations

import numbers

import numpy as np

from estcore import errors, nest
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import tensor_array
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.ops.subgraph import Body, concrete_shapes, outside_inputs, run_body, trace
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape

__all__ = ["while_loop"]

row("WhileVar", lambda ctx: [(ctx.attrs["dtype"], ctx.attrs["shape"])], None, None,
    stateful=True)


def _fits(shape, invariant: TensorShape) -> bool:
    """Whether ``shape`` (a TensorShape or a tuple) is at least as specific as
    ``invariant`` (TF's ``_ShapeLessThanOrEqual``)."""
    dims = shape.dims if isinstance(shape, TensorShape) else tuple(shape)
    if invariant.dims is None:
        return True
    if dims is None or len(dims) != len(invariant.dims):
        return False
    return all(b is None or a == b for a, b in zip(dims, invariant.dims, strict=True))


def _planning(ctx) -> bool:
    return all(s.is_fully_defined() for s in ctx.shapes)


def _while_infer(ctx):
    a = ctx.attrs
    static = a["static"]
    if not _planning(ctx):
        return static
    n = len(static)
    off = a["n_max"]
    entry = [ctx.shapes[off + i].dims for i in range(n)]
    for j, (e, (_, s)) in enumerate(zip(entry, static, strict=True)):
        if not _fits(e, s):
            raise ctx.fail(f"loop variable {j} enters the loop with shape {fmt_shape(e)}, "
                           f"which does not fit its shape invariant {fmt_shape(s)}",
                           errors.InvalidArgumentError)
    body = a["body"]
    caps = [off + n + p for p in a["cap_pos"][1]]
    per = concrete_shapes(body, entry + [ctx.shapes[i].dims for i in caps],
                          [None] * n + [ctx.values[i] for i in caps])
    if per is not None and all(tuple(p) == tuple(e) for p, e in zip(per, entry, strict=True)):
        return [(d, TensorShape(e)) for (d, _), e in zip(static, entry, strict=True)]
    # the shapes may change from one iteration to the next: known at run time only
    return [(d, s) for d, s in static]


def _while_eager(k):
    a, node, state = k.attrs, k.node, k.state
    n, off = len(a["static"]), a["n_max"]
    limit = int(np.asarray(k.ins[0])) if off else None
    values = [np.array(v, copy=True) for v in k.ins[off:off + n]]
    for j, (v, (_, s)) in enumerate(zip(values, a["static"], strict=True)):
        if not _fits(v.shape, s):
            raise errors.InvalidArgumentError(
                f"While '{node.name}': loop variable {j} enters the loop with shape "
                f"{fmt_shape(v.shape)}, which does not fit its shape invariant {fmt_shape(s)}")
    caps = [[k.ins[off + n + p] for p in pos] for pos in a["cap_pos"]]
    cbody, bbody = a["cond"], a["body"]
    kept = [] if a["stash"][0] else None
    drawn = getattr(bbody, "drawn", []) if kept is not None else []
    n_out = len(bbody.outputs)
    i = 0
    while limit is None or i < limit:
        pred = run_body(state, (node._id, 0), cbody, cbody.outputs, values + caps[0])[0]
        if not bool(np.asarray(pred)):
            break
        out = run_body(state, (node._id, 1), bbody, bbody.outputs + drawn, values + caps[1])
        if kept is not None:   # the iteration's inputs and its random draws, for the gradient
            kept.append(values + [np.array(v, copy=True) for v in out[n_out:]])
        out = out[:n_out]
        for j, (v, (_, s)) in enumerate(zip(out, a["static"], strict=True)):
            if not _fits(np.shape(v), s):
                raise errors.InvalidArgumentError(
                    f"While '{node.name}': loop variable {j} has shape "
                    f"{fmt_shape(np.shape(v))} after iteration {i + 1}, which does not fit "
                    f"its shape invariant {fmt_shape(s)}")
        values = [np.array(v, dtype=d.np, copy=True) for v, (d, _) in
                  zip(out, a["static"], strict=True)]
        i += 1
    if kept is not None:
        state.scratch[("while_stash", node._id)] = kept
    return values


def _grad_autodiff():
    from estcore.graph import autodiff  # local: autodiff imports the op modules (cycle)
    return autodiff.gradients


def _while_grad(op, grads):
    a = op.attrs
    if not a["back_prop"]:
        return [None] * len(op.inputs)
    n, off = len(a["static"]), a["n_max"]
    bbody = a["body"]
    inner_vars = bbody.inputs
    outer = list(op.inputs)
    # what can get a gradient: float loop variables, the body's float captures, variables
    var_at = [j for j in range(n) if inner_vars[j].dtype.is_floating]
    cap_base = off + n
    n_caps = len(outer) - cap_base - a["n_vars"]
    caps_all = outer[cap_base:cap_base + n_caps]
    body_caps = [caps_all[p] for p in a["cap_pos"][1]]
    cap_x = [t for t in body_caps if t.dtype.is_floating]
    var_x = outer[cap_base + n_caps:]
    if not var_at or all(grads[j] is None for j in var_at):
        return [None] * len(op.inputs)
    gys = [grads[j] if grads[j] is not None else A.zeros_like(op.outputs[j]) for j in var_at]
    gradients = _grad_autodiff()
    graph = op.graph
    with graph.name_scope("while_grad"):
        start = len(graph._nodes)
        g_in = [make("WhileVar", [], {"dtype": g.dtype, "shape": a["static"][j][1]},
                     name="grad_var") for g, j in zip(gys, var_at, strict=True)]
        xs = [inner_vars[j] for j in var_at] + cap_x + var_x

        def fn():
            gs = gradients([bbody.outputs[j] for j in var_at], xs, grad_ys=g_in)
            return [A.zeros_like(x) if g is None else g for g, x in zip(gs, xs, strict=True)]

        _, end, flat, _ = trace(graph, fn, (), "body_grad")
        # the body's random draws (dropout masks, ...) are fed from the forward loop, never
        # drawn again: the gradient is the gradient of what the forward pass computed
        drawn = [t for o in bbody.ops if "seed" in o.attrs for t in o.outputs]
        bbody.drawn = drawn
        gbody = Body([(start, end), *bbody.ranges], flat, None,
                     inputs=list(inner_vars) + drawn + g_in)
        like = [outer[off + j] for j in var_at] + cap_x + var_x
        attrs = {"body": gbody, "grad_of": op, "n_like": len(like), "n_g": len(gys),
                 "out": [(t.dtype, t.shape) for t in like]}
        a["stash"][0] = True
        with graph.control_dependencies([op, *gbody.control]):
            gop = make_op("WhileGrad", [*gys, *like, *gbody.captures, *gbody.variables],
                          attrs, name="WhileGrad")
    outs = list(gop.outputs)
    result = [None] * len(op.inputs)
    for k, j in enumerate(var_at):
        result[off + j] = outs[k]
    rest = outs[len(var_at):]
    cap_index = {id(t): cap_base + i for i, t in enumerate(caps_all)}
    for t, g in zip(cap_x, rest[:len(cap_x)], strict=True):
        result[cap_index[id(t)]] = g
    var_base = cap_base + n_caps
    for i, g in enumerate(rest[len(cap_x):]):
        result[var_base + i] = g
    return result


def _while_grad_infer(ctx):
    a = ctx.attrs
    if not _planning(ctx):
        return a["out"]
    return [(d, ctx.shapes[a["n_g"] + i]) for i, (d, _) in enumerate(a["out"])]


def _while_grad_eager(k):
    a, node, state = k.attrs, k.node, k.state
    fwd = a["grad_of"]
    kept = state.scratch.get(("while_stash", fwd._id))
    if kept is None:
        raise errors.InternalError(f"WhileGrad '{node.name}': the iteration values of its "
                                   f"loop '{fwd.name}' are missing")
    n_g, n_like = a["n_g"], a["n_like"]
    body = a["body"]
    g_vars = [np.asarray(v) for v in k.ins[:n_g]]
    caps = list(k.ins[n_g + n_like:n_g + n_like + len(body.captures)])
    n_rest = n_like - n_g
    total = [np.zeros(np.shape(v), a["out"][n_g + i][0].np)
             for i, v in enumerate(k.ins[n_g + n_g:n_g + n_like])]
    for values in reversed(kept):
        res = run_body(state, (node._id, 0), body, body.outputs, values + g_vars + caps)
        g_vars = [np.array(r, copy=True) for r in res[:n_g]]
        for i in range(n_rest):
            total[i] += res[n_g + i]
    return g_vars + total


dynamic_row("WhileGrad", _while_grad_infer, _while_grad_eager, None, stateful=True,
            grad_op=True)


dynamic_row("While", _while_infer, _while_eager, _while_grad, stateful=True)


def _loop_vars(loop_vars):
    if isinstance(loop_vars, (list, tuple)) and not hasattr(loop_vars, "_fields") \
            and len(loop_vars) == 0:
        raise ValueError("while_loop: no loop variables provided (`loop_vars` is empty)")
    flat = nest.flatten(loop_vars)
    if not flat:
        raise ValueError("while_loop: no loop variables provided (`loop_vars` is empty)")
    return [convert_to_tensor(x) for x in flat]


def _invariants(shape_invariants, loop_vars, flat):
    if shape_invariants is None:
        return [t.shape for t in flat]
    if not isinstance(loop_vars, (list, tuple)):
        shape_invariants = [shape_invariants]
    got = [as_shape(s) for s in nest.flatten(shape_invariants)]
    if len(got) != len(flat):
        raise ValueError(f"while_loop: `shape_invariants` must give one shape per loop "
                         f"variable ({len(flat)}; give each as a tf.TensorShape). Received "
                         f"{len(got)}: {shape_invariants!r}")
    for t, s in zip(flat, got, strict=True):
        if not t.shape.is_compatible_with(s):
            raise ValueError(f"while_loop: the shape invariant {fmt_shape(s)} is not "
                             f"compatible with the initial shape {fmt_shape(t.shape)} of "
                             f"loop variable '{t.name}'")
    return got


def _same(a, b) -> bool:
    try:
        nest.assert_same_structure(a, b, check_types=False)
    except (ValueError, TypeError):
        return False
    return True


def _call(fn, args, single: bool):
    return fn(*args) if not single else fn(args[0])


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations: int = 10,
               back_prop: bool = True, swap_memory: bool = False, name=None,
               maximum_iterations=None, return_same_structure: bool = False):
    """Repeat ``body`` while ``cond`` is true (TF1 ``tf.while_loop``).

    Args:
        cond: callable taking the loop variables (``cond(*loop_vars)``) and returning a
            scalar bool tensor.
        body: callable taking the loop variables and returning their next values, in
            the structure of ``loop_vars`` (a single tensor for a single variable).
        loop_vars: a list or tuple (possibly nested, namedtuples too) of tensors, numpy
            values, Python numbers or TensorArrays: the initial values.
        shape_invariants: per loop variable, a shape (``TensorShape`` or list with
            None) that its value keeps in every iteration, less specific than the
            entry shape where it changes. Default: the entry shapes.
        parallel_iterations, swap_memory: accepted for TF1 compatibility; no effect.
        back_prop: False: no gradient flows through the loop. True (the default):
            gradients flow to the initial values, to the float tensors the body reads
            from outside and to the variables it reads (not to constants it builds).
        name: name scope (``while``).
        maximum_iterations: optional int scalar (or int tensor): at most this many
            iterations.
        return_same_structure: True: always return the structure of ``loop_vars``;
            False (TF1's default): a single loop variable comes back as a tensor.

    Returns:
        The values after the last iteration, in ``body``'s result structure.

    Raises:
        TypeError: ``cond`` or ``body`` is not callable.
        ValueError: no loop variables; ``body`` returns another structure, dtype, or a
            shape that does not fit the shape invariant.
    """
    if not callable(cond):
        raise TypeError(f"while_loop: `cond` must be callable. Received: {cond!r}")
    if not callable(body):
        raise TypeError(f"while_loop: `body` must be callable. Received: {body!r}")
    if isinstance(parallel_iterations, bool) or not isinstance(
            parallel_iterations, numbers.Integral) or parallel_iterations < 1:
        raise TypeError(f"while_loop: `parallel_iterations` must be a positive integer. "
                        f"Received: {parallel_iterations!r}")
    if tensor_array.has_arrays(loop_vars):   # each enters as its state tensors
        return tensor_array.while_loop_with_arrays(
            while_loop, cond, body, loop_vars, shape_invariants, return_same_structure,
            parallel_iterations=parallel_iterations, back_prop=back_prop, name=name,
            maximum_iterations=maximum_iterations)
    single_arg = not isinstance(loop_vars, (list, tuple))
    flat = _loop_vars(loop_vars)
    invariants = _invariants(shape_invariants, loop_vars, flat)
    graph = flat[0].graph
    with graph.name_scope(name or "while"):
        max_in = []
        if maximum_iterations is not None:
            m = convert_to_tensor(maximum_iterations)
            if not m.dtype.is_integer:
                raise TypeError(f"while_loop: `maximum_iterations` must be an integer. "
                                f"Received: dtype {m.dtype.name}")
            if m.shape.rank != 0:
                raise ValueError(f"while_loop: `maximum_iterations` must be a scalar. "
                                 f"Received: shape {fmt_shape(m.shape)}")
            max_in = [m]
        start = len(graph._nodes)
        var_ts = [make("WhileVar", [], {"dtype": t.dtype, "shape": s}, name="loop_var")
                  for t, s in zip(flat, invariants, strict=True)]
        args = [var_ts[0]] if single_arg else nest.pack_sequence_as(loop_vars, var_ts)
        _, c1, c_flat, _ = trace(graph, lambda: _call(cond, args, single_arg), (), "cond")
        if len(c_flat) != 1 or not c_flat[0].dtype.is_bool or c_flat[0].shape.rank not in \
                (0, None):
            got = ", ".join(f"{t.dtype.name} {fmt_shape(t.shape)}" for t in c_flat)
            raise ValueError(f"while_loop: `cond` must return one scalar bool tensor. "
                             f"Received: {got}")
        b0, b1, b_flat, structure = trace(graph, lambda: _call(body, args, single_arg), (),
                                          "body")
        if not single_arg:
            if len(loop_vars) == 1 and _same(loop_vars[0], structure):
                structure = type(loop_vars)([structure]) if type(loop_vars) in (list, tuple) \
                    else [structure]   # one loop variable: its value stands for [value]
            try:
                nest.assert_same_structure(loop_vars, structure, check_types=False)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"while_loop: `body` must return the structure of "
                                 f"`loop_vars`: {exc}") from None
        elif len(b_flat) != 1:
            raise ValueError(f"while_loop: `body` must return one tensor for the one loop "
                             f"variable. Received {len(b_flat)}")
        for t, out, s in zip(flat, b_flat, invariants, strict=True):
            if out.dtype is not t.dtype:
                raise ValueError(f"while_loop: loop variable '{t.name}' is {t.dtype.name} but "
                                 f"`body` returns {out.dtype.name} for it")
            if not _fits(out.shape, s):
                raise ValueError(
                    f"while_loop: loop variable '{t.name}' enters the loop with shape "
                    f"{fmt_shape(s)}, but has shape {fmt_shape(out.shape)} after one "
                    "iteration. To allow the shape to vary across iterations, use the "
                    "`shape_invariants` argument of tf.while_loop to specify a "
                    "less-specific shape.")
        cbody = Body([(start, c1)], c_flat, None, inputs=var_ts)
        bbody = Body([(start, var_ts[-1].op._id + 1), (b0, b1)], b_flat, structure,
                     inputs=var_ts)
        caps, var, ctrl = outside_inputs((cbody, bbody))
        cap_list = list(caps.values())
        index = {id(t): i for i, t in enumerate(cap_list)}
        attrs = {"cond": cbody, "body": bbody, "n_max": len(max_in),
                 "cap_pos": [[index[id(t)] for t in bd.captures] for bd in (cbody, bbody)],
                 "static": [(t.dtype, s) for t, s in zip(flat, invariants, strict=True)],
                 "back_prop": bool(back_prop), "n_vars": len(var),
                 "stash": [False]}   # set by a gradient: keep each iteration's values
        with graph.control_dependencies([ctrl[k] for k in sorted(ctrl)]):
            op = make_op("While", [*max_in, *flat, *cap_list, *var.values()], attrs,
                         name="While")
    outs = list(op.outputs)
    if single_arg or (len(outs) == 1 and not return_same_structure):
        return outs[0]
    return nest.pack_sequence_as(structure, outs)
