"""Shape-manipulating and data-movement ops: placeholder, identity, reshape,
transpose, concat, stack/unstack, squeeze/expand_dims, tile, shape/size/rank,
fill/zeros/ones (range, one_hot, gather and slicing are in ``index_ops``; ``range`` is
not re-exported here, so that the builtin stays visible to this module's functions).

Views: rows with ``alias`` produce their output as a numpy view of an input (set
up once when the plan is compiled); their ``build`` kernel is the copying
fallback used when a view is impossible (e.g. reshaping a strided slice).

Must not: decide at run time whether a row is a view (the plan compiler sets up
aliases once per plan); emit C instructions (``c_emit.py``); hold the ops of
``index_ops`` (slicing, gather, one_hot, range).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import constant, convert_to_tensor, is_tensor, make, make_op, row
from estcore.graph.ops.index_ops import pack_ints, static_ints
from estcore.graph.ops.shape_tensors import elements_arg, shape_arg, value_shaped_row
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape

__all__ = [
    "placeholder", "placeholder_with_default", "identity", "stop_gradient", "reshape",
    "transpose", "concat", "stack", "unstack", "squeeze", "expand_dims", "tile", "shape",
    "size", "rank", "fill", "zeros", "ones", "zeros_like", "ones_like", "constant",
    "convert_to_tensor", "one_hot", "gather", "slice_helper",
]


def _copy_build(k):
    x, o = k.ins[0], k.outs[0]
    return lambda: np.copyto(o, x.reshape(o.shape))


def _reshape_like_grad(op, g):
    return [make("ReshapeLike", [g[0], op.inputs[0]])] + [None] * (len(op.inputs) - 1)


# ---------------------------------------------------------------- placeholder / identity
def _placeholder_infer(ctx):
    return [(ctx.attrs["dtype"], ctx.attrs["shape"])]


row("Placeholder", _placeholder_infer, None, None, stateful=True)


def placeholder(dtype, shape=None, name=None) -> Tensor:
    """A tensor whose value is fed at run time: ``sess.run(..., feed_dict={x: value})``.

    Args:
        dtype: element type.
        shape: static shape; ``None`` dims (typically the batch) accept any size,
            ``shape=None`` accepts any rank.
    """
    dtype = dt.as_dtype(dtype)
    return make("Placeholder", [], {"dtype": dtype, "shape": as_shape(shape)},
                name=name or "Placeholder")


def _pwd_infer(ctx):
    shape = as_shape(ctx.attrs["shape"])
    if not shape.is_compatible_with(ctx.shapes[0]):
        raise ctx.fail(f"`input` (the default value) must have a shape compatible with "
                       f"`shape` {fmt_shape(shape)}. Received: input of shape {ctx.fmt(0)}")
    # The static shape is the declared one (TF); a plan that reaches this node runs it
    # with the default, so there its shape is the default's.
    return [(ctx.dtypes[0], shape if ctx.tracing else shape.merge_with(ctx.shapes[0]))]


row("PlaceholderWithDefault", _pwd_infer, _copy_build, lambda op, g: [g[0]], alias=0)


def placeholder_with_default(input, shape, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """A placeholder that takes ``input``'s value when it is not fed."""
    return make("PlaceholderWithDefault", [convert_to_tensor(input)], {"shape": as_shape(shape)},
                name=name or "PlaceholderWithDefault")


row("Identity", I.same_as_input(), _copy_build, lambda op, g: [g[0]], alias=0)
row("StopGradient", I.same_as_input(), _copy_build, None, alias=0)


def identity(input, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """Return a tensor with the same value as ``input`` (a view, no copy)."""
    return make("Identity", [convert_to_tensor(input)], name=name or "Identity")


def stop_gradient(input, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """Identity whose gradient is None: blocks backpropagation through ``input``."""
    return make("StopGradient", [convert_to_tensor(input)], name=name or "StopGradient")


# ---------------------------------------------------------------- reshape family
def _resolve_reshape(ctx, in_shape: TensorShape, target: list[int]) -> TensorShape:
    if target.count(-1) > 1:
        raise ctx.fail(f"at most one dimension of `shape` may be -1. Received: shape={target}")
    for d in target:
        if d < -1:
            raise ctx.fail(f"`shape` dimensions must be >= -1. Received: shape={target}")
    total = in_shape.num_elements()
    if -1 in target:
        known = 1
        for d in target:
            if d != -1:
                known *= d
        if total is None:
            return TensorShape([None if d == -1 else d for d in target])
        if known == 0 or total % known:
            raise ctx.fail(f"cannot reshape a tensor of shape {fmt_shape(in_shape)} "
                           f"({total} elements) to {target}")
        return TensorShape([total // known if d == -1 else d for d in target])
    if total is not None and total != int(np.prod(target, dtype=np.int64)):
        raise ctx.fail(f"cannot reshape a tensor of shape {fmt_shape(in_shape)} ({total} "
                       f"elements) to shape {tuple(target)}")
    return TensorShape(target)


def _check_int_vector(ctx, i: int, what: str) -> None:
    if ctx.dtypes[i] not in I.INT_TYPES or ctx.shapes[i].rank not in (None, 0, 1):
        raise ctx.fail(f"`{what}` must be a 1-D int32 or int64 tensor. Received: a "
                       f"{ctx.dtypes[i].name} tensor of shape {ctx.fmt(i)}", TypeError)


def _partial_reshape(ctx, in_shape: TensorShape, target: list) -> TensorShape:
    """TF's static reshape rule for a ``shape`` known in part (None entries): -1 and
    unknown entries are unknown dimensions; one of them is inferred when it is the only
    unknown and the input's size is known."""
    for d in target:
        if d is not None and d < -1:
            raise ctx.fail(f"`shape` dimensions must be >= -1. Received: shape={target}")
    out = [None if d is None or d < 0 else d for d in target]
    if in_shape.rank is None:
        return TensorShape(out)
    unknown_out = [i for i, d in enumerate(out) if d is None]
    unknown_in = [d for d in in_shape.dims if d is None]
    if len(unknown_out) > 1 or unknown_in:
        return TensorShape(out)
    total = in_shape.num_elements()
    known = int(np.prod([d for d in out if d is not None], dtype=np.int64))
    if (not unknown_out and total != known) or (unknown_out and known == 0 and total):
        raise ctx.fail(f"cannot reshape a tensor of shape {fmt_shape(in_shape)} ({total} "
                       f"elements) to shape {fmt_shape(TensorShape(out))}")
    if unknown_out and known > 0:
        if total % known:
            raise ctx.fail(f"cannot reshape a tensor of shape {fmt_shape(in_shape)} ({total} "
                           f"elements) to shape {fmt_shape(TensorShape(out))}: {total} is "
                           f"not a multiple of {known}")
        out[unknown_out[0]] = total // known
    return TensorShape(out)


def _reshape_infer(ctx):
    _check_int_vector(ctx, 1, "shape")
    val = ctx.values[1]
    if val is not None:
        return [(ctx.dtypes[0], _resolve_reshape(ctx, ctx.shapes[0],
                                                 I.int_list(ctx, val, "shape")))]
    target = elements_arg(ctx, 1, "shape")
    if target is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    if not ctx.tracing:   # a value known only at run time: the shape comes with it
        return [(ctx.dtypes[0], TensorShape([None] * len(target)))]
    return [(ctx.dtypes[0], _partial_reshape(ctx, ctx.shapes[0], target))]


value_shaped_row("Reshape", _reshape_infer, _copy_build, _reshape_like_grad, alias=0)
row("ReshapeLike", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _copy_build,
    lambda op, g: [make("ReshapeLike", [g[0], op.inputs[0]]), None], alias=0, grad_op=True,
    extra={"shape_inputs": (1,)})


def shape_tensor(value, what: str = "shape") -> Tensor:
    """A shape argument as an int vector tensor: an int32 / int64 tensor as it is; a list
    or tuple of Python ints and scalar int tensors packed (int64 when one of them is);
    Python or numpy ints an int32 constant (int64 when a value needs it)."""
    if is_tensor(value):
        return convert_to_tensor(value)
    if isinstance(value, (list, tuple)) and any(is_tensor(d) for d in value):
        return pack_ints(list(value), what)
    if isinstance(value, TensorShape) and not value.is_fully_defined():
        raise ValueError(f"`{what}` can only be a fully known TensorShape (TF cannot convert "
                         f"a partially known one to a tensor). Received: {what}="
                         f"{fmt_shape(value)}; use tf.shape(x) for sizes known at run time")
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu" and arr.size and arr.dtype != object:
            raise TypeError
        arr = arr.astype(np.int64)
    except (TypeError, ValueError):
        raise TypeError(f"`{what}` must be integers, an int tensor, or a list of ints and "
                        f"scalar int tensors. Received: {what}={value!r}") from None
    fits = arr.size == 0 or (arr.min() >= np.iinfo(np.int32).min
                             and arr.max() <= np.iinfo(np.int32).max)
    return convert_to_tensor(arr.astype(np.int32) if fits else arr)


def reshape(tensor, shape, name=None) -> Tensor:
    """Reshape to ``shape`` (ints, an int tensor, or a list of ints and scalar int tensors;
    one entry may be -1)."""
    t = convert_to_tensor(tensor)
    return make("Reshape", [t, shape_tensor(shape)], name=name or "Reshape")


def _squeeze_infer(ctx):
    s = ctx.shapes[0]
    axis = ctx.attrs["axis"]
    if s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    if axis is None:
        if any(d is None for d in s.dims):
            return [(ctx.dtypes[0], TensorShape(None))]
        return [(ctx.dtypes[0], TensorShape([d for d in s.dims if d != 1]))]
    axes = {I.norm_axis(ctx, a, s.rank) for a in axis}
    for a in axes:
        if s[a] is not None and s[a] != 1:
            raise ctx.fail(f"cannot squeeze axis {a}: it has size {s[a]} (shape {ctx.fmt(0)})")
    return [(ctx.dtypes[0], TensorShape([d for i, d in enumerate(s.dims) if i not in axes]))]


row("Squeeze", _squeeze_infer, _copy_build, _reshape_like_grad, alias=0)


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """Remove size-1 dimensions (all of them, or those in ``axis``)."""
    if isinstance(axis, int):
        axis = [axis]
    return make("Squeeze", [convert_to_tensor(input)],
                {"axis": None if axis is None else list(axis)}, name=name or "Squeeze")


def _expand_infer(ctx):
    s = ctx.shapes[0]
    if s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    a = I.norm_axis(ctx, ctx.attrs["axis"], s.rank + 1)
    dims = list(s.dims)
    dims.insert(a, 1)
    return [(ctx.dtypes[0], TensorShape(dims))]


row("ExpandDims", _expand_infer, _copy_build, _reshape_like_grad, alias=0)


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """Insert a size-1 dimension at ``axis``."""
    known = static_ints(axis, "axis") if is_tensor(axis) else np.asarray(int(axis))
    if known is None or known.size != 1:
        raise TypeError(f"`axis` must be an int, or a scalar tensor known when the graph is "
                        f"built. Received: axis={axis!r}")
    return make("ExpandDims", [convert_to_tensor(input)], {"axis": int(known.reshape(()))},
                name=name or "ExpandDims")


# ---------------------------------------------------------------- transpose
def _transpose_infer(ctx):
    s = ctx.shapes[0]
    perm = ctx.attrs["perm"]
    if s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    if perm is None:
        perm = list(builtins.range(s.rank))[::-1]
    if sorted(perm) != list(builtins.range(s.rank)):
        raise ctx.fail(f"`perm` must be a permutation of 0..{s.rank - 1} for an input of shape "
                       f"{ctx.fmt(0)}. Received: perm={perm}")
    ctx.attrs["perm"] = list(perm)
    return [(ctx.dtypes[0], TensorShape([s[p] for p in perm]))]


def _transpose_build(k):
    x, o = k.ins[0], k.outs[0]
    xt = x.transpose(k.attrs["perm"])
    return lambda: np.copyto(o, xt)


def _transpose_grad(op, g):
    perm = op.attrs["perm"]
    inv = list(np.argsort(perm))
    return [transpose(g[0], inv)]


row("Transpose", _transpose_infer, _transpose_build, _transpose_grad)


def transpose(a, perm=None, name=None) -> Tensor:
    """Permute dimensions (``perm=None`` reverses them)."""
    return make("Transpose", [convert_to_tensor(a)],
                {"perm": None if perm is None else [int(p) for p in perm]},
                name=name or "transpose")


# ---------------------------------------------------------------- concat / stack
def _concat_infer(ctx):
    axis = ctx.attrs["axis"]
    d0 = ctx.dtypes[0]
    ranks = {s.rank for s in ctx.shapes if s.rank is not None}
    if len(ranks) > 1:
        raise ctx.fail("all inputs must have the same rank: shapes are "
                       + ", ".join(fmt_shape(s) for s in ctx.shapes))
    if not ranks:
        return [(d0, TensorShape(None))]
    r = ranks.pop()
    a = I.norm_axis(ctx, axis, r)
    ctx.attrs["axis"] = a
    dims = [None] * r
    total = 0
    for i, (d, s) in enumerate(zip(ctx.dtypes, ctx.shapes, strict=False)):
        if d is not d0:
            raise ctx.fail(f"all inputs must have the same dtype: input 0 is {d0.name}, "
                           f"input {i} is {d.name}", TypeError)
        if s.rank is None:
            total = None
            continue
        for j in builtins.range(r):
            if j == a:
                continue
            if dims[j] is not None and s[j] is not None and dims[j] != s[j]:
                raise ctx.fail(f"dimension {j} of the inputs must match: input 0 has shape "
                               f"{ctx.fmt(0)}, input {i} has shape {ctx.fmt(i)}")
            dims[j] = dims[j] if dims[j] is not None else s[j]
        total = None if total is None or s[a] is None else total + s[a]
    dims[a] = total
    return [(d0, TensorShape(dims))]


def _concat_build(k):
    ins, o, a = k.ins, k.outs[0], k.attrs["axis"]
    return lambda: np.concatenate(ins, axis=a, out=o)


def _concat_grad(op, g):
    return list(make_op("SplitLike", [g[0], *op.inputs], {"axis": op.attrs["axis"]}).outputs)


row("ConcatV2", _concat_infer, _concat_build, _concat_grad)


def _split_like_infer(ctx):
    return [(ctx.dtypes[0], s) for s in ctx.shapes[1:]]


def _split_like_build(k):
    g, outs, a = k.ins[0], k.outs, k.attrs["axis"]
    views, start = [], 0
    for o in outs:
        sl = [slice(None)] * g.ndim
        sl[a] = slice(start, start + o.shape[a])
        start += o.shape[a]
        views.append((o, g[tuple(sl)]))

    def run():
        for o, v in views:
            np.copyto(o, v)
    return run


row("SplitLike", _split_like_infer, _split_like_build, None, grad_op=True,
    extra={"shape_inputs": lambda attrs, n: tuple(builtins.range(1, n))})


def concat(values, axis, name=None) -> Tensor:
    """Join tensors along ``axis``."""
    ts = [convert_to_tensor(v) for v in values]
    if len(ts) == 1:
        return identity(ts[0], name=name)
    return make("ConcatV2", ts, {"axis": int(axis)}, name=name or "concat")


def _pack_infer(ctx):
    s = ctx.shapes[0]
    for i, (d, si) in enumerate(zip(ctx.dtypes, ctx.shapes, strict=False)):
        if d is not ctx.dtypes[0]:
            raise ctx.fail(f"all inputs must have the same dtype: input 0 is "
                           f"{ctx.dtypes[0].name}, input {i} is {d.name}", TypeError)
        if not s.is_compatible_with(si):
            raise ctx.fail(f"all inputs must have the same shape: input 0 has shape "
                           f"{ctx.fmt(0)}, input {i} has shape {ctx.fmt(i)}")
        s = s.merge_with(si)
    if s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    a = I.norm_axis(ctx, ctx.attrs["axis"], s.rank + 1)
    ctx.attrs["axis"] = a
    dims = list(s.dims)
    dims.insert(a, len(ctx.shapes))
    return [(ctx.dtypes[0], TensorShape(dims))]


def _pack_build(k):
    ins, o, a = k.ins, k.outs[0], k.attrs["axis"]
    return lambda: np.stack(ins, axis=a, out=o)


row("Pack", _pack_infer, _pack_build,
    lambda op, g: unstack(g[0], num=len(op.inputs), axis=op.attrs["axis"]))


def stack(values, axis=0, name=None) -> Tensor:
    """Stack same-shape tensors along a new ``axis``."""
    ts = [convert_to_tensor(v) for v in values]
    if not ts:
        raise ValueError("`values` must be a non-empty list of tensors. Received: values=[]")
    dtype = ts[0].dtype
    ts = [t if t.dtype is dtype else convert_to_tensor(t, dtype) for t in ts]
    return make("Pack", ts, {"axis": int(axis)}, name=name or "stack")


def _unpack_infer(ctx):
    s = ctx.shapes[0]
    num = ctx.attrs["num"]
    if s.rank is None:
        raise ctx.fail("cannot unstack a tensor of unknown rank")
    a = I.norm_axis(ctx, ctx.attrs["axis"], s.rank)
    ctx.attrs["axis"] = a
    if num is None:
        if s[a] is None:
            raise ctx.fail(f"cannot infer `num` from shape {ctx.fmt(0)}; pass num=")
        num = ctx.attrs["num"] = s[a]
    elif s[a] is not None and s[a] != num:
        raise ctx.fail(f"`num`={num} does not match dimension {a} of shape {ctx.fmt(0)}")
    dims = [d for i, d in enumerate(s.dims) if i != a]
    return [(ctx.dtypes[0], TensorShape(dims))] * num


def _unpack_build(k):
    x, outs, a = k.ins[0], k.outs, k.attrs["axis"]
    views = [(o, x[(slice(None),) * a + (i,)])
             for i, o in enumerate(outs)]

    def run():
        for o, v in views:
            np.copyto(o, v)
    return run


def _unpack_grad(op, g):
    gs = [gi if gi is not None else make("ZerosLike", [op.outputs[i]]) for i, gi in enumerate(g)]
    return [stack(gs, axis=op.attrs["axis"])]


row("Unpack", _unpack_infer, _unpack_build, _unpack_grad)


def unstack(value, num=None, axis=0, name=None) -> list[Tensor]:
    """Split ``value`` along ``axis`` into a list of tensors."""
    op = make_op("Unpack", [convert_to_tensor(value)], {"num": num, "axis": int(axis)},
                 name=name or "unstack")
    return list(op.outputs)


# ---------------------------------------------------------------- tile
def _tile_infer(ctx):
    _check_int_vector(ctx, 1, "multiples")
    s = ctx.shapes[0]
    mult = elements_arg(ctx, 1, "multiples")
    if mult is None or s.rank is None:
        rank = s.rank if s.rank is not None else (None if mult is None else len(mult))
        return [(ctx.dtypes[0], TensorShape(None if rank is None else [None] * rank))]
    if len(mult) != s.rank:
        raise ctx.fail(f"`multiples` must have one entry per dimension of the input (shape "
                       f"{ctx.fmt(0)}). Received: multiples={mult}")
    if any(m is not None and m < 0 for m in mult):
        raise ctx.fail(f"`multiples` must be non-negative. Received: multiples={mult}")
    if None not in mult:
        ctx.attrs["multiples"] = mult
    return [(ctx.dtypes[0], TensorShape([None if d is None or m is None else d * m
                                         for d, m in zip(s.dims, mult, strict=False)]))]


def _tile_build(k):
    x, o = k.ins[0], k.outs[0]
    mult = k.attrs["multiples"]
    big = o.reshape([v for m, d in zip(mult, x.shape, strict=False) for v in (m, d)])
    small = x.reshape([v for d in x.shape for v in (1, d)])
    return lambda: np.copyto(big, small)


def _tile_grad(op, g):
    return [make("TileGrad", [g[0], op.inputs[0]]), None]


def _tile_grad_build(k):
    g, o = k.ins[0], k.outs[0]
    if o.size == 0:   # nothing to sum into
        return None
    mult = [gd // d for gd, d in zip(g.shape, o.shape, strict=True)]
    big = g.reshape([v for m, d in zip(mult, o.shape, strict=False) for v in (m, d)])
    axes = tuple(builtins.range(0, 2 * o.ndim, 2))
    return lambda: np.sum(big, axis=axes, out=o)


value_shaped_row("Tile", _tile_infer, _tile_build, _tile_grad)
row("TileGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _tile_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """Repeat ``input`` ``multiples[i]`` times along each dimension."""
    return make("Tile", [convert_to_tensor(input), shape_tensor(multiples, "multiples")],
                name=name or "Tile")


# ---------------------------------------------------------------- shape / size / rank
def _shape_infer(ctx):
    s = ctx.shapes[0]
    return [(ctx.attrs["out_type"], TensorShape([s.rank]))]


def _shape_build(k):
    x, o = k.ins[0], k.outs[0]
    if x.ndim == 0:  # a scalar's shape: the empty vector (np.copyto of () would be float)
        return lambda: None
    return lambda: np.copyto(o, x.shape)


def _size_build(k):
    x, o = k.ins[0], k.outs[0]
    return lambda: np.copyto(o, x.size)


def _rank_build(k):
    x, o = k.ins[0], k.outs[0]
    return lambda: np.copyto(o, x.ndim)


row("Shape", _shape_infer, _shape_build, None, extra={"shape_only": True})
row("Size", lambda ctx: [(ctx.attrs["out_type"], TensorShape([]))], _size_build, None,
    extra={"shape_only": True})
row("Rank", lambda ctx: [(dt.int32, TensorShape([]))], _rank_build, None,
    extra={"shape_only": True})


def shape(input, name=None, out_type=dt.int32) -> Tensor:  # noqa: A002 - TF1 name
    """The dynamic shape of ``input`` as a 1-D int32 tensor."""
    return make("Shape", [convert_to_tensor(input)], {"out_type": dt.as_dtype(out_type)},
                name=name or "Shape")


def size(input, name=None, out_type=dt.int32) -> Tensor:  # noqa: A002 - TF1 name
    """The number of elements of ``input`` (int32 scalar)."""
    return make("Size", [convert_to_tensor(input)], {"out_type": dt.as_dtype(out_type)},
                name=name or "Size")


def rank(input, name=None) -> Tensor:  # noqa: A002 - TF1 name
    """The rank of ``input`` (int32 scalar)."""
    return make("Rank", [convert_to_tensor(input)], name=name or "Rank")


# ---------------------------------------------------------------- fill / zeros / ones
def _fill_infer(ctx):
    _check_int_vector(ctx, 0, "dims")
    if ctx.shapes[1].rank not in (None, 0):
        raise ctx.fail(f"`value` must be a scalar, got shape {ctx.fmt(1)}")
    return [(ctx.dtypes[1], shape_arg(ctx, 0, "dims"))]


def _fill_build(k):
    v, o = k.ins[1], k.outs[0]
    return lambda: np.copyto(o, v)


def _fill_grad(op, g):
    from estcore.graph.ops.reduce_ops import reduce_sum  # local: import cycle with reduce_ops
    return [None, reduce_sum(g[0])]


value_shaped_row("Fill", _fill_infer, _fill_build, _fill_grad)


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with the scalar ``value``."""
    return make("Fill", [shape_tensor(dims, "dims"), convert_to_tensor(value)],
                name=name or "Fill")


def zeros(shape, dtype=dt.float32, name=None) -> Tensor:
    """A tensor of zeros."""
    dtype = dt.as_dtype(dtype)
    return fill(shape, constant(0, dtype=dtype), name=name or "zeros")


def ones(shape, dtype=dt.float32, name=None) -> Tensor:
    """A tensor of ones."""
    dtype = dt.as_dtype(dtype)
    return fill(shape, constant(1, dtype=dtype), name=name or "ones")


def _const_like_build(value):
    def build(k):
        o = k.outs[0]
        return lambda: o.fill(value)
    return build


row("ZerosLike", I.same_as_input(), _const_like_build(0), None, extra={"shape_only": True})
row("OnesLike", I.same_as_input(), _const_like_build(1), None, extra={"shape_only": True})


def zeros_like(tensor, dtype=None, name=None) -> Tensor:
    """Zeros with the shape of ``tensor`` (and its dtype unless ``dtype`` is given)."""
    t = convert_to_tensor(tensor)
    out = make("ZerosLike", [t], name=name or "zeros_like")
    from estcore.graph.ops.math_ops import cast  # local: import cycle with math_ops
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor, dtype=None, name=None) -> Tensor:
    """Ones with the shape of ``tensor`` (and its dtype unless ``dtype`` is given)."""
    t = convert_to_tensor(tensor)
    out = make("OnesLike", [t], name=name or "ones_like")
    from estcore.graph.ops.math_ops import cast  # local: import cycle with math_ops
    return out if dtype is None else cast(out, dtype)


# index ops live in index_ops; re-exported here for callers that expect them in array_ops
from estcore.graph.ops.index_ops import gather, one_hot, slice_helper  # noqa: E402

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor
