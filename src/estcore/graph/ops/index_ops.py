"""Index-based ops: range, one_hot, gather (+ its gradient), tensor slicing.

Slicing has two rows: ``StridedSlice`` for a key the graph determines (a view, set up once
per plan) and ``TensorStridedSlice`` for indices or slice bounds that are tensors known
only when the graph runs (TF's ``StridedSlice`` with its bit masks; its kernel reads the
bounds every run, or the row runs as a data-dependent one when the output shape depends
on them). Both have gradients.

Must not: emit C instructions (``c_emit.py``); hold reshaping or data-movement ops
(``array_ops``), which build on these.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import convert_to_tensor, is_tensor, make, row
from estcore.graph.ops.shape_tensors import elements_arg, static_value, value_shaped_row
from estcore.graph.registry import InferCtx
from estcore.graph.shapes import TensorShape, fmt_shape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["range", "one_hot", "gather", "slice_helper", "strided_slice", "reverse", "pack_ints",
           "static_ints"]


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


value_shaped_row("Range", _range_infer, _range_build, None)


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
    known = static_ints(depth, "depth")
    if known is None or known.size != 1:
        raise ValueError(f"`depth` must be an int known when the graph is built (a Python "
                         f"int or a scalar tensor the graph determines, e.g. "
                         f"tf.shape(x)[1] of a known dimension). Received: depth={depth!r}")
    d = int(known.reshape(()))
    if d < 0:
        raise ValueError(f"`depth` must be a non-negative int. Received: depth={d}")
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
class _Unknown:
    """An index or slice bound whose value is known only when the graph runs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "?"


UNKNOWN = _Unknown()
_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
_INDEX_TYPES = ("Tensor indices must be ints, slices, Ellipsis, None (newaxis) or scalar "
                "int32/int64 tensors.")


def _is_int(k) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool)


def _tensor_index(k, what: str):
    """A scalar int tensor in a key: its value when the graph determines it, else the
    tensor (read when the graph runs)."""
    t = convert_to_tensor(k)
    if t.dtype not in I.INT_TYPES or t.shape.rank not in (None, 0):
        raise TypeError(f"{_INDEX_TYPES} Received: {what} '{t.name}' of dtype {t.dtype.name} "
                        f"and shape {fmt_shape(t.shape)}")
    v = static_value(t)
    return int(v) if v is not None and v.ndim == 0 else t


def _norm_key(key) -> tuple:
    """``key`` as a tuple of ints, slices (of ints or None), ``...``, ``None`` and, where a
    value is known only at run time, scalar int tensors (indices or slice bounds)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, slice):
            parts = []
            for part in (k.start, k.stop, k.step):
                if part is None or _is_int(part):
                    parts.append(None if part is None else int(part))
                elif is_tensor(part):
                    parts.append(_tensor_index(part, "slice bound"))
                else:
                    raise TypeError("Slice bounds must be ints, None or scalar int32/int64 "
                                    f"tensors. Received: {k!r}")
            if parts[2] is not None and not is_tensor(parts[2]) and parts[2] == 0:
                raise ValueError("slice step cannot be zero")
            out.append(slice(*parts))
        elif _is_int(k):
            out.append(int(k))
        elif is_tensor(k):
            out.append(_tensor_index(k, "index"))
        else:
            raise TypeError(f"{_INDEX_TYPES} Received: {k!r} ({type(k).__name__})")
    if out.count(Ellipsis) > 1:
        raise ValueError("an index can only have a single Ellipsis ('...')")
    return tuple(out)


def _key_dims(ctx, s: TensorShape, key: tuple) -> TensorShape:
    """The shape of ``x[key]`` for ``x`` of static shape ``s``; a bound may be
    :data:`UNKNOWN` (the dimension it slices is then unknown, an index still drops it)."""
    if s.rank is None:
        return TensorShape(None)
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
        if not isinstance(k, slice):   # an index: the dimension goes
            if k is not UNKNOWN and d is not None and not -d <= k < d:
                raise ctx.fail(f"index {k} is out of bounds for dimension {d_i - 1} of shape "
                               f"{ctx.fmt(0)}")
            continue
        if d is None or UNKNOWN in (k.start, k.stop, k.step):
            dims.append(None)
        else:
            dims.append(len(builtins.range(*k.indices(d))))
    return TensorShape(dims)


def _slice_infer(ctx):
    return [(ctx.dtypes[0], _key_dims(ctx, ctx.shapes[0], ctx.attrs["key"]))]


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


# TensorStridedSlice(x, begin, end, strides): TF's StridedSlice with its bit masks, for
# bounds known only when the graph runs. Once the plan compiler has the bounds' values the
# row settles its key (``attrs["key"]``); otherwise the kernel reads them every run (when
# only indices are unknown, the output shape is still known) or, when the output shape
# depends on them, the row runs as a data-dependent one (shape_tensors.value_shaped_row).
def _masked_key(b, e, st, a) -> tuple:
    key = []
    for i, (bi, ei, si) in enumerate(zip(b, e, st, strict=True)):
        bit = 1 << i
        if a["ellipsis_mask"] & bit:
            key.append(Ellipsis)
        elif a["new_axis_mask"] & bit:
            key.append(None)
        elif a["shrink_axis_mask"] & bit:
            key.append(bi)
        else:
            key.append(slice(None if a["begin_mask"] & bit else bi,
                             None if a["end_mask"] & bit else ei, si))
    return tuple(key)


def _bounds_key(ctx, first: int) -> tuple | None:
    """The key of a TensorStridedSlice(Grad) from its bound inputs ``first..first+2``.

    While tracing, as TF's static shape rule: ``begin`` (or ``end``) known only in part
    counts as unknown (:data:`UNKNOWN` entries; a dimension sliced with both masks set
    keeps its size), and ``strides`` not fully known gives None (the output's rank is
    then unknown). In a plan each entry counts on its own, so that ``x[i, 1:]`` with ``i``
    known only at run time still has a planned shape (its kernel reads ``i`` every run)."""
    a = ctx.attrs
    n = a["n"]
    parts = []
    for j, what in enumerate(("begin", "end", "strides"), first):
        if ctx.dtypes[j] not in I.INT_TYPES or ctx.shapes[j].rank not in (None, 1):
            raise ctx.fail(f"`{what}` must be a 1-D int32 or int64 tensor. Received: a "
                           f"{ctx.dtypes[j].name} tensor of shape {ctx.fmt(j)}", TypeError)
        e = elements_arg(ctx, j, what)
        if e is None:
            e = [None] * n
        if len(e) != n:
            raise ctx.fail(f"`{what}` must have {n} entries, as `begin` has. Received: {e}")
        if ctx.tracing:
            a[f"static_{what}"] = e    # what the graph determines holds in every plan
            if None in e:
                e = [None] * n
        elif None in e and f"static_{what}" in a:
            e = [k if v is None else v for v, k in zip(e, a[f"static_{what}"], strict=True)]
        parts.append([UNKNOWN if v is None else v for v in e])
    if any(v == 0 for v in parts[2] if v is not UNKNOWN):
        raise ctx.fail(f"`strides` entries must be non-zero. Received: strides={parts[2]}")
    if bin(a["ellipsis_mask"]).count("1") > 1:
        raise ctx.fail(f"at most one bit of `ellipsis_mask` may be set. Received: "
                       f"ellipsis_mask={a['ellipsis_mask']}")
    if UNKNOWN in parts[2]:
        return None
    key = _masked_key(*parts, a)
    if not ctx.tracing and not any(_has_unknown(k) for k in key):
        a["key"] = key   # the plan's own attrs: the kernel needs no per-run key
    return key


def _has_unknown(k) -> bool:
    if isinstance(k, slice):
        return UNKNOWN in (k.start, k.stop, k.step)
    return k is UNKNOWN


def _tss_infer(ctx):
    key = _bounds_key(ctx, 1)
    if key is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    return [(ctx.dtypes[0], _key_dims(ctx, ctx.shapes[0], key))]


def _run_key(k, x_shape, first: int) -> tuple:
    """The key from this run's bound values (inputs ``first..first+2``), checked against
    ``x_shape`` (errors are the run's InvalidArgumentError, naming the node)."""
    node = k.node
    bounds = k.ins[first:first + 3]
    dtypes = [node.inputs[j].dtype for j in builtins.range(first - 1, first + 3)]
    ctx = InferCtx(node.type, node.name, dtypes,
                   [TensorShape(x_shape)] + [TensorShape(np.shape(v)) for v in bounds],
                   [None, *bounds], dict(k.attrs))
    try:
        key = _bounds_key(ctx, 1)
        _key_dims(ctx, ctx.shapes[0], key)
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(str(exc)) from None
    return _view_key(key)


def _tss_build(k):
    x, o = k.ins[0], k.outs[0]
    key = k.attrs.get("key")
    if key is not None:
        v = x[_view_key(key)]
        return lambda: np.copyto(o, v)

    def run():
        v = x[_run_key(k, x.shape, 1)]
        if v.shape != o.shape:
            raise InvalidArgumentError(f"{k.node.type} '{k.node.name}': the slice has shape "
                                       f"{fmt_shape(v.shape)}, the plan expected "
                                       f"{fmt_shape(o.shape)}")
        np.copyto(o, v)
    return run


def _tss_grad(op, g):
    attrs = {m: op.attrs[m] for m in (*_MASKS, "n")}
    return [make("TensorStridedSliceGrad", [g[0], *op.inputs], attrs), None, None, None]


def _tss_grad_infer(ctx):
    # inputs: the gradient, x (for its shape), begin, end, strides
    _bounds_key(ctx, 2)
    return [(ctx.dtypes[0], ctx.shapes[1])]


def _tss_grad_build(k):
    g, o = k.ins[0], k.outs[0]
    key = k.attrs.get("key")
    if key is not None:
        v = o[_view_key(key)]

        def run_static():
            o.fill(0)
            np.copyto(v, g)
        return run_static

    def run():
        v = o[_run_key(k, o.shape, 2)]
        o.fill(0)
        np.copyto(v, g)
    return run


value_shaped_row("TensorStridedSlice", _tss_infer, _tss_build, _tss_grad)
row("TensorStridedSliceGrad", _tss_grad_infer, _tss_grad_build, None, grad_op=True,
    extra={"shape_inputs": (1,)})


def _has_tensor(k) -> bool:
    if isinstance(k, slice):
        return any(is_tensor(p) for p in (k.start, k.stop, k.step))
    return is_tensor(k)


def pack_ints(parts: list, what: str, name: str | None = None) -> Tensor:
    """Python ints and scalar int tensors as one int vector (int64 when a tensor is),
    for the argument ``what`` (a shape, a slice's bounds)."""
    from estcore.graph.ops.math_ops import cast  # local: import cycle with math_ops
    ts = [p for p in parts if is_tensor(p)]
    want = dt.int64 if any(t.dtype is dt.int64 for t in ts) else dt.int32
    for t in ts:
        if t.dtype not in I.INT_TYPES or t.shape.rank not in (None, 0):
            raise TypeError(f"`{what}` entries must be ints or scalar int32/int64 tensors. "
                            f"Received: '{t.name}' of dtype {t.dtype.name} and shape "
                            f"{fmt_shape(t.shape)}")
    items = [cast(p, want) if is_tensor(p) and p.dtype is not want
             else convert_to_tensor(p, want) for p in parts]
    return make("Pack", items, {"axis": 0}, name=name or "stack")


def _tensor_strided_slice(t, b, e, st, masks: dict, name: str) -> Tensor:
    n = b.shape[0] if b.shape.rank == 1 else None
    if n is None:
        raise ValueError(f"strided_slice: `begin` must be a vector of known length. "
                         f"Received: '{b.name}' of shape {fmt_shape(b.shape)}")
    return make("TensorStridedSlice", [t, b, e, st], {**masks, "n": n}, name=name)


def slice_helper(tensor, key, name=None) -> Tensor:
    """``tensor[key]`` with ints, slices, ``...``, ``None`` (newaxis) and scalar int32/int64
    tensors as indices or slice bounds (TF1's ``Tensor.__getitem__``)."""
    t = convert_to_tensor(tensor)
    key = _norm_key(key)
    if not any(_has_tensor(k) for k in key):
        return make("StridedSlice", [t], {"key": key}, name=name or "strided_slice")
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_MASKS, 0)
    for i, k in enumerate(key):
        bit = 1 << i
        if k is Ellipsis or k is None:
            masks["ellipsis_mask" if k is Ellipsis else "new_axis_mask"] |= bit
            b, e, s = 0, 0, 1
        elif isinstance(k, slice):
            b, e, s = k.start, k.stop, 1 if k.step is None else k.step
            if b is None:
                masks["begin_mask"] |= bit
                b = 0
            if e is None:
                masks["end_mask"] |= bit
                e = 0
        else:
            masks["shrink_axis_mask"] |= bit
            b, e, s = k, k, 1
        begin.append(b)
        end.append(e)
        strides.append(s)
    prefix = _bounds_prefix(t.graph, name or "strided_slice")
    parts = [pack_ints(p, w, f"{prefix}/{n}") for p, w, n in (
        (begin, "begin", "stack"), (end, "end", "stack_1"), (strides, "strides", "stack_2"))]
    return _tensor_strided_slice(t, *parts, masks, name or "strided_slice")


def _bounds_prefix(graph, name: str) -> str:
    """The name (relative to the current scope) that the slice node will get, so that its
    bound vectors are named under it (``strided_slice_1/stack``), as in TF."""
    full = graph.unique_name(name, mark_as_used=False)
    scope = graph.get_name_scope()
    return full[len(scope) + 1:] if scope else full


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0,
                  ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, var=None,
                  name=None) -> Tensor:
    """TF1 ``tf.strided_slice``: the slice ``begin:end:strides`` with TF's bit masks.

    Bit ``i`` of ``begin_mask`` / ``end_mask`` ignores ``begin[i]`` / ``end[i]`` (the
    full range); of ``ellipsis_mask`` makes entry ``i`` an ``...``; of ``new_axis_mask``
    inserts a dimension of 1; of ``shrink_axis_mask`` takes index ``begin[i]`` and drops
    the dimension. ``begin``, ``end`` and ``strides`` are int vectors (lists of ints and
    scalar int tensors, or int tensors) of one length. When the graph determines them the
    result is a view-backed ``StridedSlice``; otherwise a ``TensorStridedSlice`` that reads
    them when it runs. Both have gradients.
    """
    masks = {"begin_mask": int(begin_mask), "end_mask": int(end_mask),
             "ellipsis_mask": int(ellipsis_mask), "new_axis_mask": int(new_axis_mask),
             "shrink_axis_mask": int(shrink_axis_mask)}
    parts = {"begin": begin, "end": end}
    if strides is not None:
        parts["strides"] = strides
    known = {w: static_ints(v, w) for w, v in parts.items()}
    if all(v is not None for v in known.values()):
        b, e = known["begin"].reshape(-1).tolist(), known["end"].reshape(-1).tolist()
        s = known["strides"].reshape(-1).tolist() if "strides" in known else [1] * len(b)
        if not len(b) == len(e) == len(s):
            raise ValueError(f"strided_slice: `begin`, `end` and `strides` must have the same "
                             f"length. Received: {len(b)}, {len(e)}, {len(s)}")
        return slice_helper(input_, _masked_key(b, e, s, masks), name=name or "StridedSlice")
    x = convert_to_tensor(input_)
    ts = {w: _bound_tensor(v, w) for w, v in parts.items()}
    lengths = {w: t.shape[0] if t.shape.rank == 1 else None for w, t in ts.items()}
    if strides is None and lengths["begin"] is not None:
        ts["strides"] = convert_to_tensor(np.ones(lengths["begin"], ts["begin"].dtype.np))
        lengths["strides"] = lengths["begin"]
    if None in lengths.values() or len(set(lengths.values())) != 1:
        raise ValueError(f"strided_slice: `begin`, `end` and `strides` must be vectors of one "
                         f"known length. Received lengths: {lengths}")
    return _tensor_strided_slice(x, ts["begin"], ts["end"], ts["strides"], masks,
                                 name or "StridedSlice")


def static_ints(value, what: str) -> np.ndarray | None:
    """``value`` as an int64 array when the graph determines it, else None.

    Args:
        value: Python or numpy ints, an int tensor, or (nested) lists mixing ints and int
            tensors (e.g. ``[0, tf.shape(x)[1]]``); a tensor's value is
            :func:`~estcore.graph.ops.shape_tensors.static_value`'s.
        what: the argument's name, for the error.

    Raises:
        TypeError: the value is known and not integers.
    """
    def known(v):
        if is_tensor(v):
            return static_value(convert_to_tensor(v))
        if isinstance(v, (list, tuple)):
            parts = [known(x) for x in v]
            return None if any(p is None for p in parts) else np.asarray(parts)
        return np.asarray(v)

    arr = known(value)
    if arr is None:
        return None
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"`{what}` must be integers. Received: {what}={value!r}")
    return arr.astype(np.int64)


def _bound_tensor(v, what: str) -> Tensor:
    if is_tensor(v):
        t = convert_to_tensor(v)
        if t.dtype not in I.INT_TYPES or t.shape.rank not in (None, 1):
            raise TypeError(f"strided_slice: `{what}` must be a 1-D int32 or int64 tensor. "
                            f"Received: '{t.name}' of dtype {t.dtype.name} and shape "
                            f"{fmt_shape(t.shape)}")
        return t
    if isinstance(v, (list, tuple)):
        return pack_ints(list(v), what)
    return convert_to_tensor(np.asarray(v).reshape(-1).astype(np.int32))


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
