"""Shape-manipulating and data-movement ops: placeholder, identity, reshape,
transpose, concat, stack/unstack, squeeze/expand_dims, tile, shape/size/rank,
fill/zeros/ones, range, one_hot, gather, slicing.

Views: rows with ``alias`` produce their output as a numpy view of an input (set
up once when the plan is compiled); their ``build`` kernel is the copying
fallback used when a view is impossible (e.g. reshaping a strided slice).
"""

from __future__ import annotations

import builtins

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops._core import constant, convert_to_tensor, make, make_op, row
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape

__all__ = [
    "placeholder", "placeholder_with_default", "identity", "stop_gradient", "reshape",
    "transpose", "concat", "stack", "unstack", "squeeze", "expand_dims", "tile", "shape",
    "size", "rank", "fill", "zeros", "ones", "zeros_like", "ones_like", "range", "one_hot",
    "gather", "slice_helper", "constant", "convert_to_tensor",
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


def placeholder(dtype, shape=None, name=None):
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
        raise ctx.fail(f"default value has shape {ctx.fmt(0)}, not compatible with "
                       f"{fmt_shape(shape)}")
    return [(ctx.dtypes[0], shape)]


row("PlaceholderWithDefault", _pwd_infer, _copy_build, None, alias=0)


def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TF1 name
    """A placeholder that takes ``input``'s value when it is not fed."""
    return make("PlaceholderWithDefault", [convert_to_tensor(input)], {"shape": as_shape(shape)},
                name=name or "PlaceholderWithDefault")


row("Identity", I.same_as_input(), _copy_build, lambda op, g: [g[0]], alias=0)
row("StopGradient", I.same_as_input(), _copy_build, None, alias=0)


def identity(input, name=None):  # noqa: A002 - TF1 name
    """Return a tensor with the same value as ``input`` (a view, no copy)."""
    return make("Identity", [convert_to_tensor(input)], name=name or "Identity")


def stop_gradient(input, name=None):  # noqa: A002 - TF1 name
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


def _reshape_infer(ctx):
    val = ctx.values[1]
    if val is None:
        s = ctx.shapes[1]
        n = s[0] if s.rank == 1 else None
        return [(ctx.dtypes[0], TensorShape(None if n is None else [None] * n))]
    return [(ctx.dtypes[0], _resolve_reshape(ctx, ctx.shapes[0], I.int_list(ctx, val, "shape")))]


row("Reshape", _reshape_infer, _copy_build, _reshape_like_grad, alias=0)
row("ReshapeLike", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _copy_build,
    lambda op, g: [make("ReshapeLike", [g[0], op.inputs[0]]), None], alias=0, grad_op=True,
    extra={"shape_inputs": (1,)})


def reshape(tensor, shape, name=None):
    """Reshape to ``shape`` (a list or int tensor; one entry may be -1)."""
    t = convert_to_tensor(tensor)
    s = convert_to_tensor(shape, dtype=dt.int32) if not isinstance(shape, np.ndarray) \
        else convert_to_tensor(shape.astype(np.int32))
    return make("Reshape", [t, s], name=name or "Reshape")


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


def squeeze(input, axis=None, name=None):  # noqa: A002 - TF1 name
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


def expand_dims(input, axis, name=None):  # noqa: A002 - TF1 name
    """Insert a size-1 dimension at ``axis``."""
    return make("ExpandDims", [convert_to_tensor(input)], {"axis": int(axis)},
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


def transpose(a, perm=None, name=None):
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
    extra={"shape_inputs": lambda attrs, n: tuple(range(1, n))})


def concat(values, axis, name=None):
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


def stack(values, axis=0, name=None):
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


def unstack(value, num=None, axis=0, name=None):
    """Split ``value`` along ``axis`` into a list of tensors."""
    op = make_op("Unpack", [convert_to_tensor(value)], {"num": num, "axis": int(axis)},
                 name=name or "unstack")
    return list(op.outputs)


# ---------------------------------------------------------------- tile
def _tile_infer(ctx):
    s = ctx.shapes[0]
    val = ctx.values[1]
    if val is None or s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None if s.rank is None else [None] * s.rank))]
    mult = I.int_list(ctx, val, "multiples")
    if len(mult) != s.rank:
        raise ctx.fail(f"`multiples` must have one entry per dimension of the input (shape "
                       f"{ctx.fmt(0)}). Received: multiples={mult}")
    ctx.attrs["multiples"] = mult
    return [(ctx.dtypes[0], TensorShape([None if d is None else d * m
                                         for d, m in zip(s.dims, mult, strict=False)]))]


def _tile_build(k):
    x, o = k.ins[0], k.outs[0]
    mult = k.attrs["multiples"]
    big = o.reshape([v for m, d in zip(mult, x.shape, strict=False) for v in (m, d)])
    small = x.reshape([v for d in x.shape for v in (1, d)])
    return lambda: np.copyto(big, small)


def _tile_grad(op, g):
    return [make("TileGrad", [g[0], op.inputs[0]], {"multiples": op.attrs["multiples"]}), None]


def _tile_grad_build(k):
    g, o = k.ins[0], k.outs[0]
    mult = k.attrs["multiples"]
    big = g.reshape([v for m, d in zip(mult, o.shape, strict=False) for v in (m, d)])
    axes = tuple(builtins.range(0, 2 * o.ndim, 2))
    return lambda: np.sum(big, axis=axes, out=o)


row("Tile", _tile_infer, _tile_build, _tile_grad)
row("TileGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _tile_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def tile(input, multiples, name=None):  # noqa: A002 - TF1 name
    """Repeat ``input`` ``multiples[i]`` times along each dimension."""
    return make("Tile", [convert_to_tensor(input), convert_to_tensor(multiples, dt.int32)],
                name=name or "Tile")


# ---------------------------------------------------------------- shape / size / rank
def _shape_infer(ctx):
    s = ctx.shapes[0]
    return [(ctx.attrs["out_type"], TensorShape([s.rank]))]


def _shape_build(k):
    x, o = k.ins[0], k.outs[0]
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


def shape(input, name=None, out_type=dt.int32):  # noqa: A002 - TF1 name
    """The dynamic shape of ``input`` as a 1-D int32 tensor."""
    return make("Shape", [convert_to_tensor(input)], {"out_type": dt.as_dtype(out_type)},
                name=name or "Shape")


def size(input, name=None, out_type=dt.int32):  # noqa: A002 - TF1 name
    """The number of elements of ``input`` (int32 scalar)."""
    return make("Size", [convert_to_tensor(input)], {"out_type": dt.as_dtype(out_type)},
                name=name or "Size")


def rank(input, name=None):  # noqa: A002 - TF1 name
    """The rank of ``input`` (int32 scalar)."""
    return make("Rank", [convert_to_tensor(input)], name=name or "Rank")


# ---------------------------------------------------------------- fill / zeros / ones
def _fill_infer(ctx):
    val = ctx.values[0]
    if ctx.shapes[1].rank not in (None, 0):
        raise ctx.fail(f"`value` must be a scalar, got shape {ctx.fmt(1)}")
    if val is None:
        n = ctx.shapes[0][0] if ctx.shapes[0].rank == 1 else None
        return [(ctx.dtypes[1], TensorShape(None if n is None else [None] * n))]
    dims = I.int_list(ctx, val, "dims")
    if any(d < 0 for d in dims):
        raise ctx.fail(f"`dims` must be non-negative. Received: dims={dims}")
    return [(ctx.dtypes[1], TensorShape(dims))]


def _fill_build(k):
    v, o = k.ins[1], k.outs[0]
    return lambda: np.copyto(o, v)


def _fill_grad(op, g):
    from estcore.graph.ops.reduce_ops import reduce_sum
    return [None, reduce_sum(g[0])]


row("Fill", _fill_infer, _fill_build, _fill_grad)


def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with the scalar ``value``."""
    return make("Fill", [convert_to_tensor(dims, dt.int32), convert_to_tensor(value)],
                name=name or "Fill")


def zeros(shape, dtype=dt.float32, name=None):
    """A tensor of zeros."""
    dtype = dt.as_dtype(dtype)
    return fill(shape, constant(0, dtype=dtype), name=name or "zeros")


def ones(shape, dtype=dt.float32, name=None):
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


def zeros_like(tensor, dtype=None, name=None):
    """Zeros with the shape of ``tensor`` (and its dtype unless ``dtype`` is given)."""
    t = convert_to_tensor(tensor)
    out = make("ZerosLike", [t], name=name or "zeros_like")
    from estcore.graph.ops.math_ops import cast
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor, dtype=None, name=None):
    """Ones with the shape of ``tensor`` (and its dtype unless ``dtype`` is given)."""
    t = convert_to_tensor(tensor)
    out = make("OnesLike", [t], name=name or "ones_like")
    from estcore.graph.ops.math_ops import cast
    return out if dtype is None else cast(out, dtype)


# ---------------------------------------------------------------- range / one_hot
def _range_infer(ctx):
    if any(v is None for v in ctx.values):
        return [(ctx.dtypes[0], TensorShape([None]))]
    start, limit, delta = (v.item() for v in ctx.values)
    if delta == 0:
        raise ctx.fail("`delta` must not be 0")
    n = builtins.max(0, int(np.ceil((limit - start) / delta)))
    return [(ctx.dtypes[0], TensorShape([n]))]


def _range_build(k):
    o = k.outs[0]
    s, lim, d = k.ins

    def run():
        o[...] = np.arange(s, lim, d, dtype=o.dtype)[:o.shape[0]]
    return run


row("Range", _range_infer, _range_build, None)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TF1 name
    """``[start, start + delta, ...)`` up to ``limit`` (like Python's range)."""
    if limit is None:
        start, limit = 0, start
    if dtype is None:
        vals = [start, limit, delta]
        dtype = dt.float32 if any(isinstance(v, float) for v in vals) else dt.int32
        for v in vals:
            if hasattr(v, "_as_tensor"):
                dtype = v._as_tensor().dtype
    dtype = dt.as_dtype(dtype)
    ins = [convert_to_tensor(v, dtype) for v in (start, limit, delta)]
    return make("Range", ins, name=name)


def _one_hot_infer(ctx):
    if not ctx.dtypes[0].is_integer:
        raise ctx.fail(f"`indices` must be an integer tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    depth = ctx.attrs["depth"]
    s = ctx.shapes[0]
    if s.rank is None:
        return [(ctx.attrs["dtype"], TensorShape(None))]
    a = ctx.attrs["axis"]
    a = s.rank if a == -1 else I.norm_axis(ctx, a, s.rank + 1)
    ctx.attrs["axis_norm"] = a
    dims = list(s.dims)
    dims.insert(a, depth)
    return [(ctx.attrs["dtype"], TensorShape(dims))]


def _one_hot_build(k):
    idx, on, off = k.ins
    o = k.outs[0]
    a = k.attrs["axis_norm"]
    depth = k.attrs["depth"]
    ar = np.arange(depth).reshape([depth if i == a else 1 for i in builtins.range(o.ndim)])
    idx_e = idx.reshape(idx.shape[:a] + (1,) + idx.shape[a:])
    mask = np.empty(o.shape, np.bool_)

    def run():
        np.equal(idx_e, ar, out=mask)
        np.copyto(o, off)
        np.copyto(o, on, where=mask)
    return run


row("OneHot", _one_hot_infer, _one_hot_build, None)


def one_hot(indices, depth, on_value=None, off_value=None, axis=-1, dtype=None, name=None):
    """One-hot encode integer ``indices`` into a new axis of size ``depth``.

    Out-of-range indices (including negative ones) give an all-``off_value`` row, as TF.
    """
    dtype = dt.as_dtype(dtype) if dtype is not None else (
        on_value._as_tensor().dtype if hasattr(on_value, "_as_tensor") else dt.float32)
    on = convert_to_tensor(1 if on_value is None else on_value, dtype)
    off = convert_to_tensor(0 if off_value is None else off_value, dtype)
    d = int(depth)
    if d < 0:
        raise ValueError(f"`depth` must be a non-negative int. Received: depth={depth}")
    return make("OneHot", [convert_to_tensor(indices), on, off],
                {"depth": d, "axis": int(axis), "dtype": dtype}, name=name or "one_hot")


# ---------------------------------------------------------------- gather
def _gather_infer(ctx):
    if not ctx.dtypes[1].is_integer:
        raise ctx.fail(f"`indices` must be an integer tensor, got {ctx.dtypes[1].name}",
                       TypeError)
    p, i = ctx.shapes
    if p.rank is None or i.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    a = I.norm_axis(ctx, ctx.attrs["axis"], p.rank)
    ctx.attrs["axis"] = a
    return [(ctx.dtypes[0], TensorShape(list(p.dims[:a]) + list(i.dims) + list(p.dims[a + 1:])))]


def _gather_build(k):
    p, idx = k.ins
    o, a = k.outs[0], k.attrs["axis"]
    n = p.shape[a]

    def run():
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx[(idx < 0) | (idx >= n)].reshape(-1)[0]
            raise IndexError(f"gather '{k.node.name}': index {bad} is out of range "
                             f"[0, {n})")
        np.take(p, idx, axis=a, out=o, mode="wrap")
    return run


def _gather_grad(op, g):
    p, idx = op.inputs
    if not p.dtype.is_floating:
        return [None, None]
    return [make("GatherGrad", [g[0], idx, p], {"axis": op.attrs["axis"]}), None]


def _gather_grad_build(k):
    g, idx, _ = k.ins
    o, a = k.outs[0], k.attrs["axis"]
    lead = (slice(None),) * a

    def run():
        o.fill(0)
        np.add.at(o, lead + (idx,), g)
    return run


row("GatherV2", _gather_infer, _gather_build, _gather_grad)
row("GatherGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[2])], _gather_grad_build, None,
    grad_op=True, extra={"shape_inputs": (2,)})


def gather(params, indices, axis=0, name=None):
    """Pick slices of ``params`` along ``axis`` at integer ``indices``."""
    return make("GatherV2", [convert_to_tensor(params), convert_to_tensor(indices)],
                {"axis": int(axis)}, name=name or "GatherV2")


# ---------------------------------------------------------------- slicing
def _norm_key(key):
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, slice):
            for part in (k.start, k.stop, k.step):
                if part is not None and not isinstance(part, (int, np.integer)):
                    raise TypeError("Tensor slicing supports Python int bounds only. "
                                    f"Received: {k!r}")
            if k.step == 0:
                raise ValueError("slice step cannot be zero")
            out.append(slice(*(None if p is None else int(p) for p in (k.start, k.stop, k.step))))
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            out.append(int(k))
        else:
            raise TypeError("Tensor indices must be ints, slices, Ellipsis or None (newaxis). "
                            f"Received: {k!r} ({type(k).__name__})")
    if out.count(Ellipsis) > 1:
        raise ValueError("an index can only have a single Ellipsis ('...')")
    return tuple(out)


def _slice_infer(ctx):
    s = ctx.shapes[0]
    key = ctx.attrs["key"]
    if s.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > s.rank:
        raise ctx.fail(f"too many indices ({n_real}) for a tensor of shape {ctx.fmt(0)}")
    if Ellipsis in key:
        e = key.index(Ellipsis)
        key = key[:e] + (slice(None),) * (s.rank - n_real) + key[e + 1:]
    else:
        key = key + (slice(None),) * (s.rank - n_real)
    dims, d_i = [], 0
    for k in key:
        if k is None:
            dims.append(1)
            continue
        d = s[d_i]
        d_i += 1
        if isinstance(k, int):
            if d is not None and not -d <= k < d:
                raise ctx.fail(f"index {k} is out of bounds for dimension {d_i - 1} of shape "
                               f"{ctx.fmt(0)}")
            continue
        if d is None:
            dims.append(None if k != slice(None) else None)
        else:
            dims.append(len(builtins.range(*k.indices(d))))
    return [(ctx.dtypes[0], TensorShape(dims))]


def _slice_build(k):
    x, o = k.ins[0], k.outs[0]
    v = x[k.attrs["key"]]
    return lambda: np.copyto(o, v)


def _slice_view(ins, out_shape, attrs):
    return ins[0][attrs["key"]]


def _slice_grad(op, g):
    return [make("StridedSliceGrad", [g[0], op.inputs[0]], {"key": op.attrs["key"]})]


def _slice_grad_build(k):
    g, o = k.ins[0], k.outs[0]
    v = o[k.attrs["key"]]

    def run():
        o.fill(0)
        np.copyto(v, g)
    return run


row("StridedSlice", _slice_infer, _slice_build, _slice_grad, alias=0,
    extra={"view": _slice_view})
row("StridedSliceGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _slice_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def slice_helper(tensor, key, name=None):
    """``tensor[key]`` with ints, slices (Python int bounds), ``...`` and ``None``."""
    t = convert_to_tensor(tensor)
    return make("StridedSlice", [t], {"key": _norm_key(key)}, name=name or "strided_slice")
