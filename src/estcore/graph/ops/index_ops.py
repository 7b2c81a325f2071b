"""Index-based ops: range, one_hot, gather (+ its gradient), tensor slicing.

Must not: emit C instructions (``c_emit.py``); hold reshaping or data-movement ops
(``array_ops``), which build on these.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import constant_value, convert_to_tensor, make, row
from estcore.graph.shapes import TensorShape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["range", "one_hot", "gather", "slice_helper", "strided_slice", "reverse"]


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


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001 - TF1 name
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


def one_hot(indices, depth, on_value=None, off_value=None, axis=-1, dtype=None,
            name=None) -> Tensor:
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


def gather(params, indices, axis=0, name=None) -> Tensor:
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


def _view_key(key: tuple) -> tuple:
    """``key`` with a trailing ``...`` when it has none: numpy then returns a view even
    when every axis is indexed by an int (``x[0, 1]`` alone is a scalar copy, which
    would freeze the value the buffer held when the plan was built)."""
    return key if Ellipsis in key else key + (Ellipsis,)


def _slice_build(k):
    x, o = k.ins[0], k.outs[0]
    v = x[_view_key(k.attrs["key"])]
    return lambda: np.copyto(o, v)


def _slice_view(ins, out_shape, attrs):
    return ins[0][_view_key(attrs["key"])]


def _slice_grad(op, g):
    return [make("StridedSliceGrad", [g[0], op.inputs[0]], {"key": op.attrs["key"]})]


def _slice_grad_build(k):
    g, o = k.ins[0], k.outs[0]
    v = o[_view_key(k.attrs["key"])]

    def run():
        o.fill(0)
        np.copyto(v, g)
    return run


row("StridedSlice", _slice_infer, _slice_build, _slice_grad, alias=0,
    extra={"view": _slice_view})
row("StridedSliceGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _slice_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def slice_helper(tensor, key, name=None) -> Tensor:
    """``tensor[key]`` with ints, slices (Python int bounds), ``...`` and ``None``."""
    t = convert_to_tensor(tensor)
    return make("StridedSlice", [t], {"key": _norm_key(key)}, name=name or "strided_slice")


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0,
                  ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, var=None,
                  name=None) -> Tensor:
    """TF1 ``tf.strided_slice``: the slice ``begin:end:strides`` with TF's bit masks.

    Bit ``i`` of ``begin_mask`` / ``end_mask`` ignores ``begin[i]`` / ``end[i]`` (the
    full range); of ``ellipsis_mask`` makes entry ``i`` an ``...``; of ``new_axis_mask``
    inserts a dimension of 1; of ``shrink_axis_mask`` takes index ``begin[i]`` and drops
    the dimension. ``begin``, ``end`` and ``strides`` must be known while building (Python
    ints or constants); the result is a view-backed ``StridedSlice`` with its gradient.
    """
    def const(v, what):
        arr = constant_value(v) if hasattr(v, "_as_tensor") else np.asarray(v)
        if arr is None:
            raise ValueError(f"`{what}` of strided_slice must be known when the graph is "
                             f"built (Python ints or a constant). Received: {v!r}")
        arr = np.asarray(arr).reshape(-1)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`{what}` must be integers. Received: {arr!r}")
        return [int(x) for x in arr]

    b, e = const(begin, "begin"), const(end, "end")
    s = [1] * len(b) if strides is None else const(strides, "strides")
    if not len(b) == len(e) == len(s):
        raise ValueError(f"`begin`, `end` and `strides` must have the same length. Received: "
                         f"{len(b)}, {len(e)}, {len(s)}")
    key = []
    for i in builtins.range(len(b)):
        bit = 1 << i
        if ellipsis_mask & bit:
            key.append(Ellipsis)
        elif new_axis_mask & bit:
            key.append(None)
        elif shrink_axis_mask & bit:
            key.append(b[i])
        else:
            key.append(slice(None if begin_mask & bit else b[i],
                             None if end_mask & bit else e[i], s[i]))
    return slice_helper(input_, tuple(key), name=name or "StridedSlice")


def reverse(tensor, axis, name=None) -> Tensor:
    """``tensor`` with the dimensions in ``axis`` (ints, negative from the end) reversed
    (TF1 ``tf.reverse`` / ``reverse_v2``); a view-backed ``StridedSlice`` with its
    gradient. The rank must be known."""
    t = convert_to_tensor(tensor)
    r = t.shape.rank
    if r is None:
        raise ValueError(f"reverse needs a tensor of known rank. Received: '{t.name}'")
    axes = [int(axis)] if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]
    norm = set()
    for a in axes:
        if not -r <= a < r:
            raise ValueError(f"`axis` {a} is out of range for a tensor of rank {r}")
        norm.add(a % r)
    key = tuple(slice(None, None, -1) if i in norm else slice(None) for i in builtins.range(r))
    return slice_helper(t, key, name=name or "ReverseV2")
