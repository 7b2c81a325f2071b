"""Segment reductions, bincount, setdiff1d and dynamic_stitch: TF ops whose output size
depends on input values (dynamic rows, :mod:`estcore.graph.ops.dynamic_ops`).

* ``segment_sum / mean / max / min / prod``: sorted 1-D ``segment_ids`` (TF checks they
  are non-negative and non-decreasing); ``ids[-1] + 1`` output rows; an empty segment
  gives 0 (TF's rule for the sorted ops).
* ``unsorted_segment_max / min / prod``: ``num_segments`` rows (a Python int or an int
  tensor); a negative id is dropped; an empty segment gives the dtype's lowest / highest
  value (max / min) or 1 (prod), as TF.
* ``bincount`` (TF 1.15's ``tf.math.bincount``), ``setdiff1d`` (``ListDiff``),
  ``dynamic_stitch``.

Gradients are TF's, composed from gather and the segment sums: sum and mean pass the
gradient back to every member, max and min to the members equal to the result (split
between ties), prod as ``g * y / x`` where ``x != 0`` and as the product of the other
members where a member is the segment's only zero. ``bincount`` and ``setdiff1d`` have
none (TF neither).

Owns: these rows and their gradients. Must not: plan or run (the segmented plan calls
the eager kernels).
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops.core import convert_to_tensor, is_tensor, make, make_op
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.ops.index_ops import gather
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["segment_sum", "segment_mean", "segment_max", "segment_min", "segment_prod",
           "unsorted_segment_max", "unsorted_segment_min", "unsorted_segment_prod",
           "bincount", "setdiff1d", "dynamic_stitch"]

_INIT = {"sum": lambda d: 0, "mean": lambda d: 0, "prod": lambda d: 1,
         "max": lambda d: (np.finfo(d).min if np.issubdtype(d, np.floating)
                           else np.iinfo(d).min),
         "min": lambda d: (np.finfo(d).max if np.issubdtype(d, np.floating)
                           else np.iinfo(d).max)}
_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "max": np.maximum,
          "min": np.minimum}


def _reduce(x: np.ndarray, ids: np.ndarray, n: int, kind: str, empty_zero: bool):
    out = np.full((n,) + x.shape[1:], _INIT[kind](x.dtype), dtype=x.dtype)
    keep = ids >= 0
    _UFUNC[kind].at(out, ids[keep], x[keep])
    counts = np.bincount(ids[keep], minlength=n)[:n] if n else np.zeros(0, np.int64)
    if kind == "mean":
        shape = (n,) + (1,) * (x.ndim - 1)
        out = (out / np.maximum(counts, 1).reshape(shape)).astype(x.dtype)
    if empty_zero:
        out[counts == 0] = 0
    return out


def _segment_infer(ctx):
    x, ids = ctx.shapes[0], ctx.shapes[1]
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"expects numeric `data`, got {ctx.dtypes[0].name}", TypeError)
    if not ctx.dtypes[1].is_integer:
        raise ctx.fail(f"expects integer `segment_ids`, got {ctx.dtypes[1].name}", TypeError)
    if ids.rank != 1:
        raise ctx.fail(f"takes 1-D `segment_ids` in estcore, got shape {ctx.fmt(1)}")
    if x.rank is None or x.rank == 0:
        raise ctx.fail(f"`data` must have a known rank >= 1, got shape {ctx.fmt(0)}")
    if x.dims[0] is not None and ids.dims[0] is not None and x.dims[0] != ids.dims[0]:
        raise ctx.fail(f"segment_ids should be the same size as dimension 0 of data: "
                       f"{ctx.fmt(1)} vs {ctx.fmt(0)}")
    return [(ctx.dtypes[0], TensorShape([None] + list(x.dims[1:])))]


def _sorted_eager(k):
    x, ids = np.asarray(k.ins[0]), np.asarray(k.ins[1]).astype(np.int64)
    if ids.shape[0] != x.shape[0]:
        raise errors.InvalidArgumentError(
            f"{k.node.type} '{k.node.name}': segment_ids should be the same size as "
            f"dimension 0 of data: {ids.shape[0]} vs {x.shape[0]}")
    if ids.size and (ids.min() < 0 or np.any(np.diff(ids) < 0)):
        bad = int(np.argmax(ids < 0)) if ids.min() < 0 else int(np.argmax(np.diff(ids) < 0)) + 1
        raise errors.InvalidArgumentError(
            f"{k.node.type} '{k.node.name}': segment ids are not increasing and "
            f"non-negative: segment_ids[{bad}] = {ids[bad]}")
    n = int(ids[-1]) + 1 if ids.size else 0
    return [_reduce(x, ids, n, k.attrs["kind"], True)]


def _unsorted_infer(ctx):
    if not ctx.dtypes[2].is_integer or ctx.shapes[2].rank not in (None, 0):
        raise ctx.fail(f"`num_segments` must be an int scalar, got {ctx.dtypes[2].name} "
                       f"{ctx.fmt(2)}", TypeError)
    ((d, s),) = _segment_infer(ctx)
    n = ctx.values[2]
    if n is None or int(n) < 0:   # a negative count is the kernel's error, when it runs
        return [(d, s)]
    return [(d, TensorShape([int(n)] + list(s.dims[1:])))]   # num_segments rows (TF)


def _unsorted_eager(k):
    x, ids = np.asarray(k.ins[0]), np.asarray(k.ins[1]).astype(np.int64)
    n = int(np.asarray(k.ins[2]))
    if ids.shape[0] != x.shape[0]:
        raise errors.InvalidArgumentError(
            f"{k.node.type} '{k.node.name}': segment_ids should be the same size as "
            f"dimension 0 of data: {ids.shape[0]} vs {x.shape[0]}")
    if n < 0:
        raise errors.InvalidArgumentError(f"{k.node.type} '{k.node.name}': num_segments must "
                                          f"be >= 0, got {n}")
    if ids.size and ids.max() >= n:
        bad = int(np.argmax(ids >= n))
        raise errors.InvalidArgumentError(_range_error(k, bad, int(ids[bad]), n))
    return [_reduce(x, ids, n, k.attrs["kind"], False)]


def _range_error(k, bad: int, value: int, n: int) -> str:
    """The out-of-range message, in the terms of the op that built the segment sum."""
    shape = k.attrs.get("index_shape")
    what = k.attrs.get("what")
    if shape is not None:
        if len(shape) == 1:
            where = f"[{value}]"
        else:   # the components are not recoverable from a row-major position past the end
            where = f"(row-major position {value})"
        return f"{what}: indices[{bad}] = {where} does not index into shape {list(shape)}"
    if what is not None:
        return f"{what}: entry {bad} is out of bound ({value} not in [0, {n}))"
    return (f"{k.node.type} '{k.node.name}': segment_ids[{bad}] = {value} is out of range "
            f"[0, {n})")


def _bcast(mask_1d, like):
    """``mask_1d`` ([n]) with ``like``'s rank ([n, 1, ...]), to broadcast against it."""
    for _ in range(like.shape.rank - 1):
        mask_1d = A.expand_dims(mask_1d, -1)
    return mask_1d


def _member_grad(op, g, kind, ids, num):
    """TF's gradient of a segment reduction, for members with ``ids >= 0``."""
    x, y = op.inputs[0], op.outputs[0]
    valid = _bcast(M.greater_equal(ids, M.cast(0, ids.dtype)), x)
    safe = M.maximum(ids, M.cast(0, ids.dtype))
    zero = A.zeros_like(x)
    if kind == "sum":
        return M.where(valid, gather(g, safe), zero)
    if kind == "mean":
        ones = M.where(valid, A.ones_like(x), zero)
        count = unsorted_segment_sum_dyn(ones, ids, num)        # [segments, ...] like g
        return M.where(valid, gather(g / M.maximum(count, M.cast(1, x.dtype)), safe), zero)
    if kind in ("max", "min"):
        hit = M.logical_and(M.equal(x, gather(y, safe)), valid)
        hits = unsorted_segment_sum_dyn(M.cast(hit, x.dtype), ids, num)
        share = gather(g / M.maximum(hits, M.cast(1, x.dtype)), safe)
        return M.where(hit, share, zero)
    # prod: g * (the product of the segment's other members)
    is_zero = M.equal(x, zero)
    z = gather(unsorted_segment_sum_dyn(M.cast(is_zero, dt.int32), ids, num), safe)
    nonzero_x = M.where(is_zero, A.ones_like(x), x)
    prod_nonzero = make("UnsortedSegmentReduce", [nonzero_x, ids, num], {"kind": "prod"})
    lone_zero = M.logical_and(M.equal(z, 1), is_zero)
    others = M.where(M.equal(z, 0), gather(y, safe) / nonzero_x,
                     M.where(lone_zero, gather(prod_nonzero, safe), zero))
    return M.where(valid, gather(g, safe) * others, zero)


def _sorted_grad(op, g):
    if g[0] is None or not op.inputs[0].dtype.is_floating:
        return [None, None]
    ids = op.inputs[1]
    num = A.shape(op.outputs[0], out_type=ids.dtype)[0]
    return [_member_grad(op, g[0], op.attrs["kind"], ids, num), None]


def _unsorted_grad(op, g):
    if g[0] is None or not op.inputs[0].dtype.is_floating:
        return [None, None, None]
    return [_member_grad(op, g[0], op.attrs["kind"], op.inputs[1], op.inputs[2]), None, None]


dynamic_row("SegmentReduce", _segment_infer, _sorted_eager, _sorted_grad)
dynamic_row("UnsortedSegmentReduce", _unsorted_infer, _unsorted_eager, _unsorted_grad)


def unsorted_segment_sum_dyn(data, segment_ids, num_segments, what: str | None = None,
                             index_shape: list | None = None) -> Tensor:
    """Unsorted segment sum with a tensor ``num_segments``, for compositions: ``what`` (the
    op the user called) and ``index_shape`` (the shape row-major ``segment_ids`` index)
    word an out-of-range id in the user's terms."""
    attrs = {"kind": "sum"}
    if what is not None:
        attrs["what"] = what
    if index_shape is not None:
        attrs["index_shape"] = tuple(int(d) for d in index_shape)
    return make("UnsortedSegmentReduce", [data, segment_ids, num_segments], attrs)


def _sorted(kind: str, default_name: str):
    def f(data, segment_ids, name=None) -> Tensor:
        return make("SegmentReduce", [convert_to_tensor(data), convert_to_tensor(segment_ids)],
                    {"kind": kind}, name=name or default_name)
    f.__name__ = f.__qualname__ = f"segment_{kind}"
    f.__doc__ = (f"TF's ``tf.math.segment_{kind}``: ``out[s]`` is the {kind} of the rows "
                 "``data[i]`` with ``segment_ids[i] == s``; ``segment_ids`` 1-D, sorted, "
                 ">= 0, one per row of ``data``; ``segment_ids[-1] + 1`` output rows (an "
                 "empty segment: 0). Gradients as TF's.")
    return f


def _unsorted(kind: str, default_name: str):
    def f(data, segment_ids, num_segments, name=None) -> Tensor:
        ok = is_tensor(num_segments) or (isinstance(num_segments, (int, np.integer))
                                          and not isinstance(num_segments, bool))
        n = convert_to_tensor(num_segments, None if is_tensor(num_segments) else dt.int32) \
            if ok else None
        if n is None or not n.dtype.is_integer or n.shape.rank not in (None, 0):
            raise TypeError(f"unsorted_segment_{kind}: `num_segments` must be an int scalar. "
                            f"Received: {num_segments!r}")
        return make("UnsortedSegmentReduce",
                    [convert_to_tensor(data), convert_to_tensor(segment_ids), n],
                    {"kind": kind}, name=name or default_name)
    f.__name__ = f.__qualname__ = f"unsorted_segment_{kind}"
    f.__doc__ = (f"TF's ``tf.math.unsorted_segment_{kind}``: ``num_segments`` rows, row "
                 f"``s`` the {kind} of the rows ``data[i]`` with ``segment_ids[i] == s`` "
                 "(1-D ids; negative ids dropped; an id >= num_segments is an "
                 "InvalidArgumentError); an empty segment: the dtype's lowest (max) / "
                 "highest (min) value, or 1 (prod).")
    return f


segment_sum = _sorted("sum", "SegmentSum")
segment_mean = _sorted("mean", "SegmentMean")
segment_max = _sorted("max", "SegmentMax")
segment_min = _sorted("min", "SegmentMin")
segment_prod = _sorted("prod", "SegmentProd")
unsorted_segment_max = _unsorted("max", "UnsortedSegmentMax")
unsorted_segment_min = _unsorted("min", "UnsortedSegmentMin")
unsorted_segment_prod = _unsorted("prod", "UnsortedSegmentProd")


# ---------------------------------------------------------------- bincount
def _bincount_infer(ctx):
    if ctx.dtypes[0] != dt.int32:
        raise ctx.fail(f"expects int32 `arr`, got {ctx.dtypes[0].name}", TypeError)
    return [(ctx.attrs["dtype"], TensorShape([None]))]


def _bincount_eager(k):
    arr = np.asarray(k.ins[0]).reshape(-1).astype(np.int64)
    weights = None if len(k.ins) == 1 else np.asarray(k.ins[1]).reshape(-1)
    if arr.size and arr.min() < 0:
        raise errors.InvalidArgumentError(f"Bincount '{k.node.name}': input arr must be "
                                          f"non-negative, got {arr.min()}")
    n = int(arr.max()) + 1 if arr.size else 0
    lo, hi = k.attrs["minlength"], k.attrs["maxlength"]
    if lo is not None:
        n = max(n, lo)
    if hi is not None:
        n = min(n, hi)
    keep = arr < n
    out = np.zeros(n, k.attrs["dtype"].np)
    np.add.at(out, arr[keep], 1 if weights is None else weights[keep])
    return [out]


dynamic_row("Bincount", _bincount_infer, _bincount_eager, None)


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=dt.int32,
             name=None) -> Tensor:
    """TF 1.15's ``tf.math.bincount``: counts (or summed ``weights``) of each value of the
    int32 tensor ``arr``; length ``max(arr) + 1`` (0 for an empty ``arr``), at least
    ``minlength``, at most ``maxlength`` (larger values are not counted); ``dtype`` the
    output's (``weights``' when given)."""
    a = convert_to_tensor(arr)
    ins = [a]
    out_dtype = dt.as_dtype(dtype)
    if weights is not None:
        w = convert_to_tensor(weights)
        if w.shape.is_fully_defined() and a.shape.is_fully_defined() \
                and w.shape.as_list() != a.shape.as_list():
            raise ValueError(f"bincount: `weights` must have the shape of `arr` "
                             f"{a.shape}. Received: {w.shape}")
        ins.append(w)
        out_dtype = w.dtype
    for key, v in (("minlength", minlength), ("maxlength", maxlength)):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool)
                              or v < 0):
            raise TypeError(f"bincount: `{key}` must be a Python int >= 0 in estcore. "
                            f"Received: {v!r}")
    return make("Bincount", ins, {"minlength": minlength, "maxlength": maxlength,
                                  "dtype": out_dtype}, name=name or "bincount")


# ---------------------------------------------------------------- setdiff1d
def _listdiff_infer(ctx):
    if ctx.shapes[0].rank != 1 or ctx.shapes[1].rank != 1:
        raise ctx.fail(f"expects 1-D `x` and `y`, got {ctx.fmt(0)} and {ctx.fmt(1)}")
    if ctx.dtypes[0] != ctx.dtypes[1]:
        raise ctx.fail(f"`x` and `y` must have one dtype, got {ctx.dtypes[0].name} and "
                       f"{ctx.dtypes[1].name}", TypeError)
    return [(ctx.dtypes[0], TensorShape([None])), (ctx.attrs["out_idx"], TensorShape([None]))]


def _listdiff_eager(k):
    x, y = np.asarray(k.ins[0]), np.asarray(k.ins[1])
    idx = np.flatnonzero(~np.isin(x, y))
    return [x[idx], idx.astype(k.attrs["out_idx"].np)]


dynamic_row("ListDiff", _listdiff_infer, _listdiff_eager, None)


def setdiff1d(x, y, index_dtype=dt.int32, name=None) -> tuple[Tensor, Tensor]:
    """TF's ``tf.setdiff1d``: the entries of 1-D ``x`` not in ``y``, in ``x``'s order and
    with repeats, and their positions in ``x`` (``index_dtype`` int32 or int64)."""
    want = dt.as_dtype(index_dtype)
    if want not in (dt.int32, dt.int64):
        raise TypeError(f"setdiff1d: `index_dtype` must be int32 or int64. Received: "
                        f"{want.name}")
    op = make_op("ListDiff", [convert_to_tensor(x), convert_to_tensor(y)], {"out_idx": want},
                 name=name or "ListDiff")
    return op.outputs[0], op.outputs[1]


# ---------------------------------------------------------------- dynamic_stitch
def _stitch_infer(ctx):
    n = len(ctx.dtypes) // 2
    if any(not d.is_integer for d in ctx.dtypes[:n]):
        raise ctx.fail("expects integer `indices`", TypeError)
    dtypes = set(ctx.dtypes[n:])
    if len(dtypes) != 1:
        raise ctx.fail("`data` tensors must have one dtype", TypeError)
    first_idx, first_data = ctx.shapes[0], ctx.shapes[n]
    if first_idx.rank is None or first_data.rank is None:
        return [(ctx.dtypes[n], TensorShape(None))]
    return [(ctx.dtypes[n], TensorShape([None] + list(first_data.dims[first_idx.rank:])))]


def _stitch_eager(k):
    n = len(k.ins) // 2
    idx = [np.asarray(i).astype(np.int64) for i in k.ins[:n]]
    data = [np.asarray(d) for d in k.ins[n:]]
    rest = data[0].shape[idx[0].ndim:]
    for i, (ix, d) in enumerate(zip(idx, data, strict=True)):
        if d.shape != ix.shape + rest:
            raise errors.InvalidArgumentError(
                f"DynamicStitch '{k.node.name}': data[{i}].shape {list(d.shape)} does not "
                f"start with indices[{i}].shape {list(ix.shape)} followed by {list(rest)}")
        if ix.size and ix.min() < 0:
            raise errors.InvalidArgumentError(f"DynamicStitch '{k.node.name}': indices[{i}] "
                                              f"has a negative entry {ix.min()}")
    size = max((int(ix.max()) + 1 for ix in idx if ix.size), default=0)
    out = np.zeros((size,) + rest, data[0].dtype)
    for ix, d in zip(idx, data, strict=True):     # later entries win, as TF
        out[ix.reshape(-1)] = d.reshape((-1,) + rest)
    return [out]


def _stitch_grad(op, g):
    n = len(op.inputs) // 2
    if g[0] is None:
        return [None] * len(op.inputs)
    # TF's gradient: each data entry gets the gradient of the position it landed on
    # (also an entry a later one overwrote, as TF).
    return [None] * n + [gather(g[0], M.cast(i, dt.int32)) for i in op.inputs[:n]]


dynamic_row("DynamicStitch", _stitch_infer, _stitch_eager, _stitch_grad)


def dynamic_stitch(indices, data, name=None) -> Tensor:
    """TF's ``tf.dynamic_stitch``: ``merged[indices[m][i], ...] = data[m][i, ...]`` (a
    later ``m`` wins where indices repeat); ``max(indices) + 1`` rows."""
    idx = [convert_to_tensor(i) for i in indices]
    dat = [convert_to_tensor(d) for d in data]
    if len(idx) != len(dat) or not idx:
        raise ValueError(f"dynamic_stitch: `indices` and `data` must be non-empty lists of "
                         f"one length. Received: {len(idx)} and {len(dat)}")
    return make("DynamicStitch", idx + dat, name=name or "DynamicStitch")
