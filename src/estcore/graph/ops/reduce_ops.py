"""Reductions (sum, mean, max, min, prod, argmax/argmin, count_nonzero).

Reductions are rows with attrs ``axis`` (a tuple of normalized axes, or None for
all) and ``keepdims``. Their gradients use ``ReduceGrad``, which broadcasts the
incoming gradient back to the input shape in one kernel.

Must not: emit C instructions (``c_emit.py``); accept an axis out of range silently
(the shape rule raises, naming the axis and the rank).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import convert_to_tensor, make, row
from estcore.graph.ops.shape_tensors import static_value
from estcore.graph.shapes import TensorShape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
           "argmax", "argmin", "count_nonzero", "reduce_any", "reduce_all"]


def _axes(ctx, rank):
    axis = ctx.attrs["axis"]
    if axis is None:
        return None if rank is None else tuple(range(rank))
    if rank is None:
        return None
    axes = [I.norm_axis(ctx, a, rank) for a in axis]
    if len(set(axes)) != len(axes):
        dup = next(a for a in axes if axes.count(a) > 1)
        raise ctx.fail(f"Axes contains duplicate dimension: {dup} (axis={list(axis)})")
    return tuple(sorted(axes))


def _reduce_infer(kind):
    def infer(ctx):
        d = ctx.dtypes[0]
        if kind == "bool" and not d.is_bool:
            raise ctx.fail(f"expects a bool input, got {d.name}", TypeError)
        if kind == "numeric" and not d.is_numeric:
            raise ctx.fail(f"expects a numeric input, got {d.name}", TypeError)
        s = ctx.shapes[0]
        axes = _axes(ctx, s.rank)
        ctx.attrs["axes"] = axes
        if s.rank is None:
            return [(d, TensorShape(None))]
        keep = ctx.attrs["keepdims"]
        dims = [(1 if keep else None) if i in axes else x for i, x in enumerate(s.dims)]
        if not keep:
            dims = [x for i, x in enumerate(s.dims) if i not in axes]
        return [(d, TensorShape(dims))]
    return infer


def build_axes(attrs, ndim: int) -> tuple:
    """The reduced axes once the input's rank is known (at plan build): the inferred
    ``axes``, or, for an input of unknown rank at graph build, ``axis`` resolved now
    (None: every axis)."""
    if attrs["axes"] is not None:
        return tuple(attrs["axes"])
    axis = attrs.get("axis")
    if axis is None:
        return tuple(range(ndim))
    axes = sorted({int(a) % ndim if -ndim <= int(a) < ndim else _bad_axis(a, ndim)
                   for a in axis})
    return tuple(axes)


def _bad_axis(a, ndim: int):
    raise ValueError(f"axis {a} is out of range for an input of rank {ndim} "
                     f"(expected an axis in [{-ndim}, {ndim}))")


def _kept_shape(x_shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(x_shape))


def _reduce_build(fn):
    def build(k):
        x, o = k.ins[0], k.outs[0]
        axes = build_axes(k.attrs, x.ndim)
        view = o.reshape(_kept_shape(x.shape, axes))
        if fn in (np.max, np.min) and any(x.shape[a] == 0 for a in axes):
            # an empty reduction gives the identity, as TF: -inf / the lowest int for max
            kind = x.dtype.kind
            if kind == "f":
                initial = -np.inf if fn is np.max else np.inf
            else:
                info = np.iinfo(x.dtype)
                initial = info.min if fn is np.max else info.max
            return lambda: fn(x, axis=axes, keepdims=True, out=view, initial=initial)
        return lambda: fn(x, axis=axes, keepdims=True, out=view)
    return build


def _reduce_grad(mode):
    def grad(op, g):
        x = op.inputs[0]
        if not x.dtype.is_floating or g[0] is None:
            return [None]
        ins = [g[0], x] if mode in ("sum", "mean") else [g[0], x, op.outputs[0]]
        return [make("ReduceGrad", ins, {"mode": mode, "axes": op.attrs["axes"],
                                         "axis": op.attrs.get("axis")})]
    return grad


def _excl_prod(x, axes):
    """Product of all other elements along ``axes`` for every element (zero-safe)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    xt = x.transpose(rest + list(axes))
    lead = xt.shape[:len(rest)]
    flat = xt.reshape(lead + (-1,))
    ones = np.ones(lead + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    out = (left * right).reshape(xt.shape)
    return out.transpose(np.argsort(rest + list(axes)))


def _reduce_grad_build(k):
    g, x = k.ins[0], k.ins[1]
    mode, axes = k.attrs["mode"], build_axes(k.attrs, x.ndim)
    o = k.outs[0]
    kept = _kept_shape(x.shape, axes)
    gk = g.reshape(kept)
    if mode == "sum":
        return lambda: np.copyto(o, gk)
    if mode == "mean":
        count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) or 1
        scale = np.asarray(1.0 / count, dtype=o.dtype)
        return lambda: np.multiply(gk, scale, out=o)
    yk = k.ins[2].reshape(kept)
    if mode == "prod":
        def run_prod():
            np.multiply(gk, _excl_prod(x, axes), out=o)
        return run_prod
    mask = np.empty(x.shape, dtype=np.bool_)
    cnt = np.empty(kept, dtype=o.dtype)

    def run():
        np.equal(x, yk, out=mask)
        np.sum(mask, axis=axes, keepdims=True, out=cnt)
        np.divide(gk, cnt, out=cnt)
        np.multiply(mask, cnt, out=o)
    return run


row("ReduceGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _reduce_grad_build, None,
    grad_op=True,
    extra={"shape_inputs": lambda attrs, n: (1,) if attrs["mode"] in ("sum", "mean") else ()})

_REDUCTIONS = {
    "Sum": (np.sum, "numeric", "sum"),
    "Mean": (np.mean, "numeric", "mean"),
    "Max": (np.max, "numeric", "max"),
    "Min": (np.min, "numeric", "min"),
    "Prod": (np.prod, "numeric", "prod"),
    "Any": (np.any, "bool", None),
    "All": (np.all, "bool", None),
}

for _t, (_fn, _kind, _mode) in _REDUCTIONS.items():
    row(_t, _reduce_infer(_kind), _reduce_build(_fn), _reduce_grad(_mode) if _mode else None)


def _norm_axis_arg(axis):
    if axis is None:
        return None
    if hasattr(axis, "_as_tensor"):
        val = static_value(axis._as_tensor())
        if val is None:
            raise TypeError("`axis` must be a Python int, a list of ints or a tensor known "
                            f"when the graph is built. Received: axis={axis!r}")
        axis = val.tolist()
    if isinstance(axis, (int, np.integer)):
        return (int(axis),)
    return tuple(int(a) for a in axis)


def _reducer(op_type, default_name, doc):
    def f(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None):
        x = convert_to_tensor(input_tensor)
        if keep_dims is not None:
            keepdims = keep_dims
        return make(op_type, [x], {"axis": _norm_axis_arg(axis), "keepdims": bool(keepdims)},
                    name=name or default_name)
    f.__doc__ = doc
    return f


reduce_sum = _reducer("Sum", "Sum", "Sum over ``axis`` (all axes when None).")
reduce_mean = _reducer("Mean", "Mean", "Mean over ``axis`` (all axes when None).")
reduce_max = _reducer("Max", "Max", "Maximum over ``axis``.")
reduce_min = _reducer("Min", "Min", "Minimum over ``axis``.")
reduce_prod = _reducer("Prod", "Prod", "Product over ``axis``.")
reduce_any = _reducer("Any", "Any", "Logical or over ``axis``.")
reduce_all = _reducer("All", "All", "Logical and over ``axis``.")


def _arg_infer(ctx):
    s = ctx.shapes[0]
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"expects a numeric input, got {ctx.dtypes[0].name}", TypeError)
    if s.rank is None:
        return [(ctx.attrs["output_type"], TensorShape(None))]
    a = I.norm_axis(ctx, ctx.attrs["axis"], s.rank)
    ctx.attrs["axis"] = a
    return [(ctx.attrs["output_type"], TensorShape([d for i, d in enumerate(s.dims) if i != a]))]


def _arg_build(fn):
    def build(k):
        x, o, a = k.ins[0], k.outs[0], k.attrs["axis"]
        if x.shape[a] == 0:
            def empty():
                raise InvalidArgumentError(f"{k.node.type} '{k.node.name}': Reduction axis {a} "
                                           f"is empty in shape {list(x.shape)}")
            return empty
        if o.dtype == np.intp:
            return lambda: fn(x, axis=a, out=o)
        tmp = np.empty(o.shape, np.intp)

        def run():
            fn(x, axis=a, out=tmp)
            np.copyto(o, tmp, casting="unsafe")
        return run
    return build


row("ArgMax", _arg_infer, _arg_build(np.argmax), None)
row("ArgMin", _arg_infer, _arg_build(np.argmin), None)


def argmax(input, axis=None, name=None, dimension=None, output_type=dt.int64) -> Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (default 0, as TF1)."""
    axis = dimension if axis is None else axis
    return make("ArgMax", [convert_to_tensor(input)],
                {"axis": 0 if axis is None else int(axis),
                 "output_type": dt.as_dtype(output_type)}, name=name or "ArgMax")


def argmin(input, axis=None, name=None, dimension=None, output_type=dt.int64) -> Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0, as TF1)."""
    axis = dimension if axis is None else axis
    return make("ArgMin", [convert_to_tensor(input)],
                {"axis": 0 if axis is None else int(axis),
                 "output_type": dt.as_dtype(output_type)}, name=name or "ArgMin")


def count_nonzero(input_tensor, axis=None, keepdims=False, dtype=dt.int64, name=None) -> Tensor:
    """Number of non-zero elements over ``axis``."""
    from estcore.graph.ops.math_ops import cast, not_equal  # local: import cycle with math_ops
    x = convert_to_tensor(input_tensor)
    zero = np.zeros((), x.dtype.np) if not x.dtype.is_bool else np.False_
    nz = cast(not_equal(x, zero), dtype)
    return reduce_sum(nz, axis=axis, keepdims=keepdims, name=name or "count_nonzero")
