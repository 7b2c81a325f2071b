"""TF1's ``tf.slice``, ``tf.pad`` and ``tf.gather_nd``, composed from the graph core's ops.

Owns the argument handling and the composition: ``slice`` is a ``StridedSlice`` with
static bounds; ``pad`` concatenates fill blocks (``CONSTANT``) or gathers mirrored
indices (``REFLECT`` / ``SYMMETRIC``) axis by axis; ``gather_nd`` gathers rows of the
params reshaped to ``[prod(index dims), ...]`` at flattened indices (an out-of-range
coordinate is routed to an out-of-range row, so it raises instead of reading another
element). Gradients are those of the ops used (StridedSlice, ConcatV2, GatherV2,
Reshape). Limits, each raising a clear error: ``begin`` / ``size`` / ``paddings`` must be
known when the graph is built; ``gather_nd`` needs the size of the indices' last
dimension and ``batch_dims=0`` (the sizes of ``params`` may be known only when the graph
runs). Must not: add graph op kinds (a fused op belongs in :mod:`estcore.graph.ops`).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.graph import dtypes as _dt
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import index_ops as _i
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["slice", "pad", "gather_nd"]


def _static_ints(arg: str, value: Any, fn: str) -> np.ndarray:
    """``value`` as an int64 array known at graph-build time, or a ValueError."""
    try:
        arr = _i.static_ints(value, arg)
    except TypeError:
        raise invalid(arg, "integers", value, TypeError) from None
    if arr is None:
        raise invalid(arg, f"a value known when the graph is built (estcore's {fn} "
                      "takes Python ints, numpy arrays or tensors the graph determines, "
                      "such as tf.shape(x)[1] of a known dimension)", value)
    return arr


def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Any:  # noqa: A001
    """``input_[begin[0]:begin[0]+size[0], ...]`` (TF1 ``tf.slice``); ``size[i] == -1``
    takes every remaining element of dimension ``i``.

    Args:
        input_: a tensor of rank ``r``.
        begin, size: ``r`` ints each, known when the graph is built.

    Returns:
        A tensor of shape ``size`` (with ``-1`` resolved), the dtype of ``input_``.
    """
    x = _convert(input_)
    b = _static_ints("begin", begin, "slice").reshape(-1)
    s = _static_ints("size", size, "slice").reshape(-1)
    rank = x.shape.rank
    if b.size != s.size or (rank is not None and b.size != rank):
        raise ValueError(f"slice: begin ({b.tolist()}) and size ({s.tolist()}) must each "
                         f"have one entry per dimension of input_ (rank {rank}).")
    dims = x.shape.as_list() if rank is not None else [None] * b.size
    key = []
    for i, (lo, n, d) in enumerate(zip(b.tolist(), s.tolist(), dims, strict=True)):
        if lo < 0 or n < -1 or (d is not None and (lo > d or (n != -1 and lo + n > d))):
            raise ValueError(f"slice: dimension {i} of size {d} cannot take begin={lo}, "
                             f"size={n} (need 0 <= begin, size == -1 or begin + size <= "
                             "dimension).")
        key.append(_builtin_slice(lo, None if n == -1 else lo + n))
    return _i.slice_helper(x, tuple(key), name=name or "Slice")


_builtin_slice = builtins.slice


def _mirror_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Indices into a dimension of size ``n`` that give it ``lo``/``hi`` mirrored cells."""
    shift = 0 if mode == "SYMMETRIC" else 1
    limit = n if mode == "SYMMETRIC" else n - 1
    if lo > limit or hi > limit:
        raise ValueError(f"pad: {mode} padding of ({lo}, {hi}) needs a dimension of at "
                         f"least {max(lo, hi) + shift}; it has {n}.")
    left = np.arange(lo - 1 + shift, shift - 1, -1) if lo else np.zeros(0, np.int64)
    right = np.arange(n - 1 - shift, n - 1 - shift - hi, -1) if hi else np.zeros(0, np.int64)
    return np.concatenate([left, np.arange(n), right]).astype(np.int32)


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None,
        constant_values: Any = 0) -> Any:
    """Pad ``tensor`` (TF1 ``tf.pad``): ``paddings[i] = [before, after]`` cells on axis ``i``.

    Args:
        tensor: a tensor of rank ``r``.
        paddings: ``[r, 2]`` non-negative ints, known when the graph is built.
        mode: ``"CONSTANT"`` (``constant_values``), ``"REFLECT"`` (mirror without the
            edge) or ``"SYMMETRIC"`` (mirror with the edge); case-insensitive.
        constant_values: a scalar of ``tensor``'s dtype.

    Returns:
        A tensor of the dtype of ``tensor``, each dimension grown by its paddings.
    """
    x = _convert(tensor)
    p = _static_ints("paddings", paddings, "pad")
    rank = x.shape.rank
    if rank is None or p.shape != (rank, 2) or (p < 0).any():
        raise invalid("paddings", f"a [{rank}, 2] array of non-negative ints", paddings)
    m = str(mode).upper()
    if m not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise invalid("mode", "'CONSTANT', 'REFLECT' or 'SYMMETRIC'", mode)
    with _name_scope(name or "Pad"):
        out = x
        for axis, (lo, hi) in enumerate(p.tolist()):
            if not lo and not hi:
                continue
            if m == "CONSTANT":
                out = _constant_pad(out, axis, lo, hi, constant_values)
            else:
                n = out.shape.as_list()[axis]
                if n is None:
                    raise ValueError(f"pad: {m} padding of axis {axis} needs its size known "
                                     "when the graph is built.")
                out = _i.gather(out, _mirror_index(n, lo, hi, m), axis=axis)
        return _a.identity(out)


def _constant_pad(x, axis: int, lo: int, hi: int, value: Any):
    """Concatenate blocks of ``value`` before and after ``x`` along ``axis``; the blocks
    take the other dimensions from ``x`` itself (so unknown batch sizes work)."""
    n = x.shape.as_list()[axis]
    if n == 0:
        raise ValueError(f"pad: CONSTANT padding of the empty axis {axis} is not supported.")
    key = tuple(_builtin_slice(0, 1) if i == axis else _builtin_slice(None)
                for i in range(x.shape.rank))
    unit = _a.zeros_like(_i.slice_helper(x, key)) + _convert(value, x.dtype)
    parts = []
    for count in (lo, None, hi):
        if count is None:
            parts.append(x)
        elif count:
            mult = [count if i == axis else 1 for i in range(x.shape.rank)]
            parts.append(_a.tile(unit, mult))
    return _a.concat(parts, axis)


def gather_nd(params: Any, indices: Any, name: str | None = None, batch_dims: int = 0) -> Any:
    """Gather slices of ``params`` at N-d coordinates (TF1 ``tf.gather_nd``).

    Args:
        params: a tensor of known rank ``>= K``; its sizes may be known only when the
            graph runs (e.g. an unknown batch dimension).
        indices: an int32/int64 tensor of shape ``[..., K]`` (``K`` static).
        batch_dims: 0 (TF's other values are not supported).

    Returns:
        A tensor of shape ``indices.shape[:-1] + params.shape[K:]``, ``params``' dtype.

    Raises:
        IndexError (when run): a coordinate outside ``params``.
    """
    if batch_dims != 0:
        raise invalid("batch_dims", "0 (estcore's gather_nd)", batch_dims)
    p = _convert(params)
    idx = _convert(indices)
    if not idx.dtype.is_integer:
        raise invalid("indices", "an int32 or int64 tensor", idx.dtype.name, TypeError)
    k = idx.shape.as_list()[-1] if idx.shape.rank else None
    p_dims = p.shape.as_list() if p.shape.rank is not None else None
    if k is None or p_dims is None or k > len(p_dims):
        raise ValueError(f"gather_nd: the last dimension of `indices` must be known, and "
                         f"`params` must have a known rank of at least that size. Received: "
                         f"indices of shape {idx.shape}, params of shape {p.shape}")
    with _name_scope(name or "GatherNd"):
        idx = _m.cast(idx, _dt.int64)
        if None in p_dims[:k]:   # sizes known when the graph runs
            dims = _i.slice_helper(_a.shape(p, out_type=_dt.int64), builtins.slice(None, k))
            strides = _a.stack([_r.reduce_prod(_i.slice_helper(dims, builtins.slice(j + 1, None)))
                                for j in range(k)]) if k else dims
            total = _r.reduce_prod(dims)
        else:
            dims = np.asarray(p_dims[:k], np.int64)
            strides = np.concatenate([np.cumprod(dims[::-1])[::-1][1:], [1]]).astype(np.int64)
            total = int(np.prod(dims))
        flat = _r.reduce_sum(idx * strides, axis=-1)
        bad = _r.reduce_any(_m.logical_or(_m.less(idx, 0), _m.greater_equal(idx, dims)),
                            axis=-1)
        flat = _m.where(bad, _a.zeros_like(flat) + total, flat)   # out of range: raises
        rest = p_dims[k:]
        if None in rest or not isinstance(total, int):
            rows_shape = _a.concat([_a.reshape(_m.cast(total, _dt.int32), [1]),
                                    _i.slice_helper(_a.shape(p), builtins.slice(k, None))], 0)
        else:
            rows_shape = [total] + rest
        return _i.gather(_a.reshape(p, rows_shape), flat)
