"""Ops whose output shape depends on input values: ``where(condition)``, ``boolean_mask``.

Such a row carries ``extra["dynamic"] = True`` and ``extra["eager"]``, a function of a
:class:`~estcore.graph.registry.KernelCtx` (inputs only) returning the output arrays. The
plan compiler folds it when its inputs are constants and otherwise hands the plan to
:mod:`estcore.graph.segments`, which runs it between a static head and a tail planned
for the shapes it produced. :func:`dynamic_row` registers such a row; its ``build``
(used when the shape is settled at compile time) copies the eager result into the planned
buffer.

Must not: allocate per-run buffers for static ops; know about plans or sessions (the
segmented plan calls ``eager``).
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.ops.index_ops import gather, slice_helper
from estcore.graph.shapes import TensorShape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["dynamic_row", "where_indices", "boolean_mask", "unique"]


def dynamic_row(op_type: str, infer, eager, grad=None, **kw):
    """Register a row whose output shapes may be known only at run time.

    Args:
        op_type: the op type.
        infer: the shape rule; it returns ``None`` dims (or an unknown rank) where the
            shape depends on values.
        eager: ``eager(k) -> list[np.ndarray]``, one array per output, from the inputs
            ``k.ins`` and attrs ``k.attrs`` (``k.state``: the session's run state, or None
            when folded at compile time).
        grad: the gradient rule, if any.
        **kw: other :class:`~estcore.graph.registry.OpRow` fields.
    """
    extra = dict(kw.pop("extra", {}))
    extra["dynamic"] = True
    extra["eager"] = eager

    def build(k):
        outs = k.outs

        def run():
            for o, v in zip(outs, eager(k), strict=True):
                v = np.asarray(v)
                if v.shape != o.shape:
                    raise errors.InvalidArgumentError(
                        f"{k.node.type} '{k.node.name}': produced shape {fmt_shape(v.shape)} "
                        f"where the plan expected {fmt_shape(o.shape)}")
                np.copyto(o, v, casting="unsafe")
        return run

    return row(op_type, infer, build, grad, extra=extra, **kw)


# ---------------------------------------------------------------- Where (coordinates)
def _where_infer(ctx):
    s = ctx.shapes[0]
    return [(dt.int64, TensorShape([None, s.rank]))]


def _where_eager(k):
    return [np.argwhere(np.asarray(k.ins[0]).astype(bool, copy=False)).astype(np.int64)]


dynamic_row("Where", _where_infer, _where_eager, None)


def where_indices(condition, name=None) -> Tensor:
    """Coordinates of the true (non-zero) elements of ``condition`` (TF1 ``tf.where``
    with one argument).

    Args:
        condition: a tensor of any rank ``R`` (bool, or numbers: non-zero is true).
        name: node name.

    Returns:
        int64 tensor of shape ``[N, R]``, one row per true element in row-major order;
        ``N`` is known only when the graph runs.
    """
    c = convert_to_tensor(condition)
    if c.shape.rank is None:
        raise ValueError(f"`condition` must have a known rank for where(condition). "
                         f"Received: a tensor '{c.name}' of unknown rank")
    return make("Where", [c], name=name or "Where")


# ---------------------------------------------------------------- boolean_mask
def boolean_mask(tensor, mask, name: str = "boolean_mask", axis=None) -> Tensor:
    """The entries of ``tensor`` where ``mask`` is true (TF1 ``tf.boolean_mask``).

    Args:
        tensor: N-D tensor.
        mask: K-D bool tensor, ``K <= N``, K known statically; its shape must match
            ``tensor.shape[axis:axis + K]``.
        name: name scope.
        axis: first dimension of ``tensor`` that ``mask`` covers (default 0).

    Returns:
        Tensor of shape ``tensor.shape[:axis] + [n_true] + tensor.shape[axis + K:]``;
        gradients flow to ``tensor`` (zero at masked-out entries).

    Raises:
        ValueError: ``mask`` has an unknown rank, rank 0, or a shape that does not match.
    """
    t = convert_to_tensor(tensor)
    m = convert_to_tensor(mask, dtype=dt.bool)
    k = m.shape.rank
    if k is None:
        raise ValueError("`mask` must have a known rank (number of dimensions). Received: "
                         f"mask '{m.name}' of unknown rank")
    if k == 0:
        raise ValueError("`mask` cannot be a scalar. Received: mask of shape []")
    axis = 0 if axis is None else int(axis)
    n = t.shape.rank
    if n is not None:
        if axis < 0:
            axis += n
        if not 0 <= axis <= n - k:
            raise ValueError(f"`axis` + rank of `mask` must be at most the rank of `tensor` "
                             f"({n}). Received: axis={axis}, mask of rank {k}")
        covered = t.shape[axis:axis + k]
        if not covered.is_compatible_with(m.shape):
            raise ValueError(f"Shapes {fmt_shape(covered)} and {fmt_shape(m.shape)} are "
                             f"incompatible: `mask` must match tensor.shape[{axis}:"
                             f"{axis + k}]")
    with t.graph.name_scope(name):
        shp = A.shape(t)
        flat_shape = A.concat([slice_helper(shp, slice(None, axis)),
                               convert_to_tensor(np.array([-1], np.int32)),
                               slice_helper(shp, slice(axis + k, None))], 0)
        flat = A.reshape(t, flat_shape)
        idx = A.squeeze(where_indices(A.reshape(m, [-1])), axis=[1])
        return gather(flat, idx, axis=axis)


# ---------------------------------------------------------------- Unique
def _unique_infer(ctx):
    if ctx.shapes[0].rank not in (1, None):
        raise ctx.fail(f"`x` must be 1-D. Received: shape {ctx.fmt(0)}")
    return [(ctx.dtypes[0], TensorShape([None])), (ctx.attrs["out_idx"], ctx.shapes[0])]


def _unique_eager(k):
    x = np.asarray(k.ins[0])
    values, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")       # TF: in order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return [values[order], rank[inverse.reshape(-1)].astype(k.attrs["out_idx"].np)]


dynamic_row("Unique", _unique_infer, _unique_eager, None)


def unique(x, out_idx=dt.int32, name=None) -> tuple[Tensor, Tensor]:
    """The distinct values of 1-D ``x`` in order of first occurrence, and for each element
    of ``x`` the index of its value in them (TF1 ``tf.unique``).

    Returns:
        ``(y, idx)``: ``y`` has ``x``'s dtype and a length known only when the graph runs;
        ``idx`` has ``x``'s shape and dtype ``out_idx`` (int32 or int64); ``y[idx] == x``.
    """
    t = convert_to_tensor(x)
    want = dt.as_dtype(out_idx)
    if want not in (dt.int32, dt.int64):
        raise TypeError(f"`out_idx` must be int32 or int64. Received: {want.name}")
    op = make_op("Unique", [t], {"out_idx": want}, name=name or "Unique")
    return op.outputs[0], op.outputs[1]
