"""Ops on row-padded SparseTensors and IndexedSlices (see ``graph/sparse_tensor.py``).

Owns the rows: ``Bucketize``, ``SparseColsFromDense`` (the slots of a dense ``[B, k]``
input that are not its missing value), ``SparseToDense``, ``IndexedSlicesToDense``,
``EmbeddingLookupSparse`` (+ its gradient, an IndexedSlices of touched rows, never a
dense ``vocab x dim`` array), ``SparseReduce``; and the builders ``sparse_placeholder``,
``from_dense``, ``to_dense``, ``map_values``, ``embedding_lookup_sparse`` used by
``estcore.nn``, ``estcore.feature_column`` and the compat ``tf.sparse`` namespace.

Every kernel reads the padded parts: a slot counts when ``cols >= 0``. Kernels are numpy
closures over the planned buffers (shapes are static per plan, so nothing here depends on
``nnz``).

Must not: hold the SparseTensor class or its value conversions (``graph/sparse_tensor.py``);
create variables; apply optimizer updates (``graph/ops/sparse_updates.py``).
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore._lib import _kernels
from estcore._validation import invalid
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops
from estcore.graph.ops.core import constant, convert_to_tensor, make, make_op, row
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape, as_shape
from estcore.graph.sparse_tensor import IndexedSlices, SparseTensor, is_sparse

__all__ = ["bucketize", "sparse_placeholder", "from_dense", "all_present", "to_dense", "map_values",
           "embedding_lookup_sparse", "indexed_slices_to_dense", "sparse_reduce_sum",
           "retain_valid", "dense_shape_of", "with_layout_of"]


def _as_sparse(x, what: str = "sp_input") -> SparseTensor:
    if not is_sparse(x):
        raise invalid(what, "an estcore SparseTensor", x, TypeError)
    return x


# ---------------------------------------------------------------- Bucketize
def _bucketize_infer(ctx):
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"`input` must be numeric, got {ctx.dtypes[0].name}", TypeError)
    return [(dt.int32, ctx.shapes[0])]


def _bucketize_build(k):
    x, o = k.ins[0], k.outs[0]
    b = np.asarray(k.attrs["boundaries"], np.float64)

    def run():
        o[...] = np.searchsorted(b, x, side="right")
    return run


row("Bucketize", _bucketize_infer, _bucketize_build, NO_GRADIENT)


def bucketize(x, boundaries, name=None):
    """Bucket ids of ``x``: the number of ``boundaries`` <= each value (TF's ``Bucketize``:
    ``boundaries=[0, 1]`` maps ``-1 -> 0``, ``0 -> 1``, ``0.5 -> 1``, ``1 -> 2``). int32."""
    return make("Bucketize", [convert_to_tensor(x)],
                {"boundaries": tuple(float(v) for v in boundaries)}, name=name or "Bucketize")


# ---------------------------------------------------------------- dense -> sparse
def _cols_infer(ctx):
    s = ctx.shapes[0]
    if s.rank is not None and s.rank != 2:
        raise ctx.fail(f"expects a [batch, k] input, got shape {ctx.fmt(0)}")
    return [(dt.int64, s)]


def _cols_build(k):
    x, o = k.ins[0], k.outs[0]
    ignore = k.attrs["ignore_value"]
    ar = np.arange(x.shape[1] if x.ndim == 2 else 0, dtype=np.int64)
    if x.dtype == object and ignore not in (None, ""):
        def missing(v):
            return v == ignore or v == ignore.encode()
        vmiss = np.frompyfunc(missing, 1, 1)
    mask = np.empty(x.shape, np.bool_)
    nonempty = _kernels.nonempty_strings

    def run():
        if ignore is None:
            mask.fill(True)
        elif x.dtype == object and ignore == "":
            nonempty(x.reshape(-1).tolist(), mask)
        elif x.dtype == object:
            np.logical_not(vmiss(x).astype(np.bool_), out=mask)
        elif x.dtype.kind == "f" and ignore != ignore:  # NaN
            np.logical_not(np.isnan(x), out=mask)
        else:
            np.not_equal(x, ignore, out=mask)
        np.copyto(o, -1)
        np.copyto(o, np.broadcast_to(ar, o.shape), where=mask)
    return run


row("SparseColsFromDense", _cols_infer, _cols_build, NO_GRADIENT)


def dense_shape_of(x):
    """``shape(x)`` as int64 (a sparse tensor's dense_shape for a ``[B, k]`` input)."""
    return array_ops.shape(x, out_type=dt.int64)


def from_dense(tensor, ignore_value=None, name=None) -> SparseTensor:
    """A SparseTensor of the entries of a rank-2 ``tensor`` that are not ``ignore_value``.

    ``ignore_value`` defaults as TF's ``to_sparse_input`` / ``tf.sparse.from_dense``:
    ``''`` for strings, ``-1`` for the feature-column callers (pass it), else 0.
    """
    t = convert_to_tensor(tensor)
    if t.shape.rank is not None and t.shape.rank != 2:
        raise ValueError(f"from_dense expects a rank-2 [batch, k] tensor, got shape "
                         f"{t.shape}")
    if ignore_value is None:
        ignore_value = "" if t.dtype.is_string else (False if t.dtype.is_bool else 0)
    if t.dtype.is_string:
        if isinstance(ignore_value, bytes):
            ignore_value = ignore_value.decode()
    cols = make("SparseColsFromDense", [t], {"ignore_value": ignore_value},
                name=name or "to_sparse_input")
    return SparseTensor.from_parts(cols, t, dense_shape_of(t), shape=t.shape)


def all_present(tensor, name=None) -> SparseTensor:
    """A SparseTensor in which every entry of the rank-2 ``tensor`` is present."""
    t = convert_to_tensor(tensor)
    cols = make("SparseColsFromDense", [t], {"ignore_value": None}, name=name or "all_present")
    return SparseTensor.from_parts(cols, t, dense_shape_of(t), shape=t.shape)


# ---------------------------------------------------------------- sparse -> dense
def _to_dense_infer(ctx):
    b = ctx.shapes[0][0] if ctx.shapes[0].rank else None
    w = ctx.attrs["width"]
    if w is None:   # dense_shape is the padded parts' own shape: their width
        w = ctx.shapes[0][1] if ctx.shapes[0].rank == 2 else None
    return [(ctx.dtypes[1], TensorShape([b, w]))]


def _to_dense_build(k):
    cols, vals, default = k.ins
    o = k.outs[0]
    w = o.shape[1]

    def run():
        if cols.size and cols.max() >= w:
            raise errors.InvalidArgumentError(
                f"to_dense: a column index {int(cols.max())} is outside the dense width {w}")
        o[...] = default
        r, s = np.nonzero(cols >= 0)
        o[r, cols[r, s]] = vals[r, s]
    return run


def _to_dense_grad(op, g):
    return [None, make("SparseGatherDense", [g[0], op.inputs[0]]), None]


def _gather_dense_build(k):
    g, cols = k.ins
    o = k.outs[0]

    def run():
        m = cols >= 0
        o[...] = np.take_along_axis(g, np.where(m, cols, 0), axis=1) * m
    return run


row("SparseToDense", _to_dense_infer, _to_dense_build, _to_dense_grad)
row("SparseGatherDense", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _gather_dense_build,
    None, grad_op=True)


def _static_width(sp: SparseTensor) -> int | None:
    """The dense width when the graph is built, or None when ``dense_shape`` is the
    shape of the padded parts themselves (``from_dense``, parsed ``VarLenFeature``s):
    then the width is the parts' width, settled when the plan is compiled."""
    from estcore.graph.ops.core import constant_value  # local: keeps the import list flat
    w = sp.shape[1] if sp.shape.rank == 2 else None
    if w is None:
        v = constant_value(sp.dense_shape)
        if v is not None:
            w = int(v[1])
        elif sp.dense_shape.op.type == "Shape" and sp.dense_shape.op.inputs[0] in (
                sp.cols, sp.padded_values):
            return sp.dense_shape.op.inputs[0].shape[1]
    if w is None:
        raise ValueError(
            "to_dense needs the SparseTensor's column count when the graph is built (plans "
            "have static shapes): give sparse_placeholder a shape=[None, width], or build "
            "the SparseTensor from a tensor of known width.")
    return int(w)


def to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """The dense ``[B, W]`` tensor of a SparseTensor (TF's ``tf.sparse.to_dense``)."""
    sp = _as_sparse(sp_input)
    if default_value is None:
        default_value = "" if sp.dtype.is_string else 0
    d = convert_to_tensor(default_value, sp.dtype)
    return make("SparseToDense", [sp.cols, sp.padded_values, d],
                {"width": _static_width(sp)}, name=name or "SparseToDense")


# ---------------------------------------------------------------- map / reduce
def map_values(op, *args, **kwargs) -> SparseTensor:
    """``op`` applied to the values of the SparseTensors in ``args`` (TF 2's
    ``tf.sparse.map_values``): all must share one layout (the first one's is kept).
    ``op`` also sees the padding slots' values (``0`` / ``''``); they stay masked."""
    sps = [a for a in args if is_sparse(a)]
    if not sps:
        raise ValueError("map_values needs at least one SparseTensor argument.")
    ref = sps[0]
    out = op(*[a.padded_values if is_sparse(a) else a for a in args], **kwargs)
    out = convert_to_tensor(out)
    return SparseTensor.from_parts(ref.cols, out, ref.dense_shape, shape=ref.shape)


def retain_valid(sp: SparseTensor, keep) -> SparseTensor:
    """``sp`` with the slots where bool ``keep`` ([B, L]) is False turned into padding."""
    from estcore.graph.ops import math_ops as m  # local: keeps module import order flat
    cols = m.where(keep, sp.cols, array_ops.fill(array_ops.shape(sp.cols), np.int64(-1)))
    return SparseTensor.from_parts(cols, sp.padded_values, sp.dense_shape, shape=sp.shape)


def _same_layout_build(k):
    vals, cols_a, cols_b = k.ins
    o = k.outs[0]
    what = k.attrs["what"]

    def run():
        if cols_a.shape != cols_b.shape or not np.array_equal(cols_a, cols_b):
            ra, rb = int((cols_a >= 0).sum()), int((cols_b >= 0).sum())
            raise errors.InvalidArgumentError(
                f"{what}: the weights and the ids must have the same indices (TF's "
                f"weighted_categorical_column rule); got {rb} weights for {ra} ids or "
                "weights at other positions")
        np.copyto(o, vals)
    return run


row("SparseSameLayout", lambda ctx: [(ctx.dtypes[0], ctx.shapes[0])], _same_layout_build,
    NO_GRADIENT)


def with_layout_of(values: SparseTensor, ids: SparseTensor, what: str) -> SparseTensor:
    """``values`` checked at run time to have ``ids``' indices (an InvalidArgumentError
    naming ``what`` otherwise)."""
    v = make("SparseSameLayout", [values.padded_values, ids.cols, values.cols],
             {"what": what}, name="same_layout")
    return SparseTensor.from_parts(ids.cols, v, ids.dense_shape, shape=ids.shape)


def _reduce_infer(ctx):
    return [(ctx.dtypes[1], TensorShape([ctx.shapes[0][0] if ctx.shapes[0].rank else None]))]


def _reduce_build(k):
    cols, vals = k.ins
    o = k.outs[0]

    def run():
        np.sum(np.where(cols >= 0, vals, 0), axis=1, out=o)
    return run


def _reduce_grad(op, g):
    from estcore.graph.ops import math_ops as m  # local: keeps module import order flat
    cols, vals = op.inputs
    mask = m.cast(m.greater_equal(cols, constant(np.int64(0))), vals.dtype)
    return [None, array_ops.expand_dims(g[0], 1) * mask]


row("SparseRowSum", _reduce_infer, _reduce_build, _reduce_grad)


def sparse_reduce_sum(sp_input, axis=None, keepdims=False, name=None):
    """Sum of a SparseTensor's values: over everything (``axis=None``) or per row
    (``axis=1``)."""
    from estcore.graph.ops import reduce_ops  # local: keeps module import order flat
    sp = _as_sparse(sp_input)
    rows = make("SparseRowSum", [sp.cols, sp.padded_values], name=name or "SparseReduceSum")
    if axis is None:
        return reduce_ops.reduce_sum(rows)
    if axis not in (1, -1):
        raise ValueError(f"sparse_reduce_sum supports axis=None or 1. Received: axis={axis}")
    return array_ops.expand_dims(rows, 1) if keepdims else rows


# ---------------------------------------------------------------- placeholders
def sparse_placeholder(dtype, shape=None, name=None) -> SparseTensor:
    """A SparseTensor to feed (TF's ``tf.sparse_placeholder``), rank 2.

    Feed a SparseTensorValue (or an ``(indices, values, dense_shape)`` triple) for it:
    the Session converts it to the padded parts. A static ``shape=[B, W]`` with a known
    ``W`` lets ``to_dense`` know its width when the graph is built.
    """
    dtype = dt.as_dtype(dtype)
    s = as_shape(shape) if shape is not None else TensorShape([None, None])
    if s.rank is None:
        s = TensorShape([None, None])
    if s.rank != 2:
        raise ValueError(f"estcore SparseTensors have rank 2. Received: shape={s}")
    base = name or "Placeholder"
    cols = array_ops.placeholder(dt.int64, [s[0], None], name=base + "/indices")
    vals = array_ops.placeholder(dtype, [s[0], None], name=base + "/values")
    ds = array_ops.placeholder(dt.int64, [2], name=base + "/shape")
    return SparseTensor.from_parts(cols, vals, ds, shape=s)


# ---------------------------------------------------------------- IndexedSlices
def _is2d_build(k):
    vals, idx, _ = k.ins
    o = k.outs[0]
    n = o.shape[0]

    def run():
        o.fill(0)
        v = vals.reshape(idx.shape[0], -1)
        keep = idx >= 0
        if idx.size and idx.max() >= n:
            raise errors.InvalidArgumentError(f"IndexedSlices index {int(idx.max())} is "
                                              f"outside [0, {n})")
        np.add.at(o.reshape(n, -1), idx[keep], v[keep])
    return run


row("IndexedSlicesToDense", lambda ctx: [(ctx.dtypes[0], ctx.shapes[2])], _is2d_build, None,
    grad_op=True, extra={"shape_inputs": (2,)})


def indexed_slices_to_dense(s: IndexedSlices):
    """The dense tensor of ``s`` (rows summed at their indices)."""
    if s.dense_like is None:
        raise ValueError("This IndexedSlices has no dense shape to convert to.")
    return make("IndexedSlicesToDense", [s.values, s.indices, s.dense_like],
                name="IndexedSlicesToDense")


# ---------------------------------------------------------------- embedding lookup
_COMBINERS = ("sum", "mean", "sqrtn")


def _els_infer(ctx):
    p, ids = ctx.shapes[0], ctx.shapes[1]
    if not ctx.dtypes[0].is_floating:
        raise ctx.fail(f"`params` must be floating, got {ctx.dtypes[0].name}", TypeError)
    if not ctx.dtypes[1].is_integer:
        raise ctx.fail(f"ids must be integers, got {ctx.dtypes[1].name}", TypeError)
    if len(ctx.dtypes) == 4 and ctx.dtypes[3] is not ctx.dtypes[0]:
        raise ctx.fail(f"weights must have the params' dtype {ctx.dtypes[0].name}, got "
                       f"{ctx.dtypes[3].name}", TypeError)
    if len(ctx.dtypes) == 4 and not ctx.shapes[3].is_compatible_with(ctx.shapes[1]):
        raise ctx.fail(f"sp_weights must have sp_ids' layout: padded values {ctx.fmt(3)} "
                       f"for ids {ctx.fmt(1)}")
    if p.rank is not None and p.rank < 1:
        raise ctx.fail(f"`params` must have rank >= 1, got shape {ctx.fmt(0)}")
    b = ids[0] if ids.rank else None
    tail = list(p.dims[1:]) if p.rank is not None else None
    return [(ctx.dtypes[0], TensorShape([b] + tail) if tail is not None else TensorShape(None))]


def _els_weights(cols, ids, w, weff):
    """``weff``: the effective weight of each slot (0 for padding, ids < 0, w <= 0)."""
    valid = (cols >= 0) & (ids >= 0)
    if w is None:
        np.copyto(weff, valid)
    else:
        valid &= w > 0
        np.multiply(w, valid, out=weff)


def _els_denom(weff, combiner):
    if combiner == "sum":
        return None
    d = weff.sum(axis=1) if combiner == "mean" else np.sqrt((weff * weff).sum(axis=1))
    return np.where(d > 0, d, 1)


def _check_ids(ids, n, name):
    if ids.size and ids.max() >= n:
        raise errors.InvalidArgumentError(
            f"embedding_lookup_sparse '{name}': id {int(ids.max())} is out of range [0, {n})")


def _clip_rows(e, max_norm):
    """Rows of ``e`` ([..., D]) scaled to norm <= max_norm; returns (clipped, norms)."""
    norms = np.sqrt((e * e).sum(axis=-1, keepdims=True))
    scale = max_norm / np.maximum(norms, max_norm)
    return e * scale, norms


def _els_build(k):
    params, ids, cols = k.ins[:3]
    w = k.ins[3] if len(k.ins) == 4 else None
    o = k.outs[0]
    combiner, max_norm = k.attrs["combiner"], k.attrs["max_norm"]
    V = params.shape[0]
    p2 = params.reshape(V, -1)
    o2 = o.reshape(o.shape[0], -1)
    weff = np.empty(ids.shape, params.dtype)

    fast = max_norm is None and p2.flags.c_contiguous and o2.flags.c_contiguous and \
        p2.dtype.kind == "f" and p2.dtype.itemsize >= 4 and ids.dtype == np.int64
    combine = _kernels.sparse_combine

    def run():
        _check_ids(ids, V, k.node.name)
        _els_weights(cols, ids, w, weff)
        if fast:   # one C pass over the looked-up rows (prefetching them)
            combine(p2, ids if ids.flags.c_contiguous else np.ascontiguousarray(ids), weff, o2)
        else:
            e = p2[np.where(weff != 0, ids, 0)]          # [B, L, D]
            if max_norm is not None:
                e = _clip_rows(e, max_norm)[0]
            np.einsum("bl,bld->bd", weff, e, out=o2)
        d = _els_denom(weff, combiner)
        if d is not None:
            np.divide(o2, d[:, None], out=o2)
    return run


def _els_grad(op, g):
    ins = list(op.inputs)
    grad_op = make_op("EmbeddingLookupSparseGrad", [g[0]] + ins, dict(op.attrs))
    values, indices = grad_op.outputs
    params = ins[0]
    dense_shape = array_ops.shape(params, out_type=dt.int64)
    out = [IndexedSlices(values, indices, dense_shape, dense_like=params), None, None]
    if len(ins) == 4:   # the weights' gradient (an op of its own: pruned when unused)
        out.append(make("EmbeddingLookupSparseWeightGrad", [g[0]] + ins, dict(op.attrs)))
    return out


def _els_wgrad_build(k):
    """d out[b] / d w[b, l] (``g`` the output's gradient, ``e`` the clipped embedding):
    sum: ``g.e``; mean: ``(g.e - g.out) / sum(w)``; sqrtn:
    ``g.e / s - (g.out) w / s**2`` with ``s = sqrt(sum(w**2))``; 0 for a dropped slot."""
    g, params, ids, cols, w = k.ins
    o = k.outs[0]
    combiner, max_norm = k.attrs["combiner"], k.attrs["max_norm"]
    V = params.shape[0]
    p2 = params.reshape(V, -1)
    g2 = g.reshape(g.shape[0], -1)
    weff = np.empty(ids.shape, params.dtype)

    def run():
        _els_weights(cols, ids, w, weff)
        keep = weff != 0
        e = p2[np.where(keep, ids, 0)]                      # [B, L, D]
        if max_norm is not None:
            e = _clip_rows(e, max_norm)[0]
        ge = np.einsum("bd,bld->bl", g2, e)
        if combiner == "sum":
            grad = ge
        else:
            d = _els_denom(weff, combiner)                  # [B]
            out = np.einsum("bl,bld->bd", weff, e) / d[:, None]
            gout = np.einsum("bd,bd->b", g2, out)[:, None]
            if combiner == "mean":
                grad = (ge - gout) / d[:, None]
            else:
                grad = ge / d[:, None] - gout * weff / (d * d)[:, None]
        np.copyto(o, np.where(keep, grad, 0))
    return run


def _els_grad_infer(ctx):
    p, ids = ctx.shapes[1], ctx.shapes[2]
    n = None
    if ids.is_fully_defined():
        n = ids.num_elements()
    tail = list(p.dims[1:]) if p.rank is not None else []
    return [(ctx.dtypes[0], TensorShape([n] + tail)), (dt.int64, TensorShape([n]))]


def _els_grad_build(k):
    g, params, ids, cols = k.ins[:4]
    w = k.ins[4] if len(k.ins) == 5 else None
    vals, idx = k.outs
    combiner, max_norm = k.attrs["combiner"], k.attrs["max_norm"]
    V = params.shape[0]
    p2 = params.reshape(V, -1)
    g2 = g.reshape(g.shape[0], -1)
    B, L = ids.shape
    v3 = vals.reshape(B, L, -1)
    weff = np.empty(ids.shape, params.dtype)

    def run():
        _els_weights(cols, ids, w, weff)
        keep = weff != 0
        np.copyto(idx, np.where(keep, ids, -1).reshape(-1))
        d = _els_denom(weff, combiner)
        coef = weff if d is None else weff / d[:, None]
        np.multiply(coef[:, :, None], g2[:, None, :], out=v3)
        if max_norm is not None:
            e = p2[np.where(keep, ids, 0)]
            norms = np.sqrt((e * e).sum(axis=-1, keepdims=True))
            big = norms > max_norm
            if big.any():
                n_safe = np.where(big, norms, 1)
                dot = (e * v3).sum(axis=-1, keepdims=True)
                clipped = max_norm / n_safe * (v3 - e * dot / (n_safe * n_safe))
                np.copyto(v3, np.where(big, clipped, v3))
    return run


row("EmbeddingLookupSparse", _els_infer, _els_build, _els_grad)
row("EmbeddingLookupSparseGrad", _els_grad_infer, _els_grad_build, None, grad_op=True)
row("EmbeddingLookupSparseWeightGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[2])],
    _els_wgrad_build, None, grad_op=True)


def embedding_lookup_sparse(params, sp_ids, sp_weights, partition_strategy="mod", name=None,
                            combiner=None, max_norm=None):
    """Combined embeddings of each row's ids (TF's ``tf.nn.embedding_lookup_sparse``).

    ``out[b] = combine_l(w[b, l] * params[ids[b, l]])`` over the row's stored ids with
    ``combiner`` ``"sum"``, ``"mean"`` (default; divides by the weight sum) or
    ``"sqrtn"`` (divides by the root of the sum of squared weights). Slots with a
    negative id or a weight <= 0 are skipped and a row with none gives zeros (TF's
    ``safe_embedding_lookup_sparse``; plain TF drops such rows from the output).
    ``max_norm`` clips each looked-up embedding to that L2 norm first.

    Args:
        params: ``[V, d...]`` float tensor or variable (a list of one is accepted).
        sp_ids: SparseTensor of int ids in ``[0, V)``.
        sp_weights: None (weights 1) or a float SparseTensor with ``sp_ids``' layout.

    Returns:
        ``[B, d...]``. The gradient for ``params`` is an IndexedSlices of the touched
        rows (``B * L`` rows, whatever ``V``).
    """
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError("embedding_lookup_sparse with several sharded params is not "
                             f"supported. Received: {len(params)} params")
        params = params[0]
    if combiner is None:
        combiner = "mean"
    if combiner not in _COMBINERS:
        raise invalid("combiner", "one of 'mean', 'sqrtn', 'sum'", combiner, ValueError)
    if max_norm is not None:
        max_norm = float(max_norm)
        if not max_norm > 0:
            raise invalid("max_norm", "a positive number", max_norm)
    ids = _as_sparse(sp_ids, "sp_ids")
    p = convert_to_tensor(params)
    ins = [p, ids.padded_values, ids.cols]
    if sp_weights is not None:
        sw = _as_sparse(sp_weights, "sp_weights")
        wv = sw.padded_values
        if wv.dtype is not p.dtype:
            from estcore.graph.ops import math_ops  # local: keeps module import order flat
            wv = math_ops.cast(wv, p.dtype)
        ins.append(wv)
    return make("EmbeddingLookupSparse", ins, {"combiner": combiner, "max_norm": max_norm},
                name=name or "embedding_lookup_sparse")
