"""TF 1.x array and matrix names composed from estcore ops, for ``estcore.compat.v1``:
``tf.broadcast_to``, ``tf.linspace`` / ``lin_space``, ``tf.saturate_cast``,
``tf.parallel_stack``, ``tf.is_numeric_tensor``, ``tf.clip_by_average_norm``,
``tf.cumsum``, ``tf.diag`` / ``matrix_diag``, ``tf.diag_part`` / ``matrix_diag_part``,
``tf.trace``, ``tf.matrix_band_part`` and ``tf.meshgrid``.

Sizes that shape the result (``linspace``'s ``num``, the summed axis of ``cumsum``, a
matrix's last dimensions) must be known when the graph is built; the error says so.
Gradients come from the ops they are made of.

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore.graph import dtypes as _dt
from estcore.graph.ir import get_default_graph
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.checks import assert_less as _assert_less
from estcore.graph.ops.contraction_ops import tensordot as _tensordot
from estcore.graph.ops.core import constant as _constant
from estcore.graph.ops.core import constant_value as _constant_value
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.core import is_tensor as _is_tensor
from estcore.graph.ops.index_ops import one_hot as _one_hot
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["broadcast_to", "linspace", "saturate_cast", "parallel_stack", "is_numeric_tensor",
           "clip_by_average_norm", "cumsum", "matrix_diag", "matrix_diag_part", "trace",
           "matrix_band_part", "meshgrid", "unsorted_segment_sum", "unsorted_segment_mean"]


def _static(x: Any, axis: int, fn: str) -> int:
    n = x.shape.dims[axis] if x.shape.rank is not None else None
    if n is None:
        raise ValueError(f"{fn}: the size of dimension {axis} must be known when the graph "
                         f"is built in estcore. Received: shape {x.shape}")
    return n


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Any:  # noqa: A002
    """``input`` broadcast to ``shape`` (numpy's rule), as ``input + zeros(shape)``."""
    with _name_scope(name or "BroadcastTo"):
        x = _convert(input)
        return _m.add(x, _a.zeros(shape, dtype=x.dtype))


def linspace(start: Any, stop: Any, num: int, name: str | None = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (TF's
    ``tf.linspace``); ``num`` a Python int (or a constant)."""
    n = _constant_value(_convert(num)) if _is_tensor(num) else num
    if n is None or int(n) < 1:
        raise ValueError(f"linspace: `num` must be a known int >= 1 in estcore. Received: "
                         f"{num!r}")
    n = int(n)
    with _name_scope(name or "LinSpace"):
        a = _convert(start)
        b = _m.cast(_convert(stop), a.dtype)
        steps = _constant(np.arange(n, dtype=a.dtype.np) / max(n - 1, 1), dtype=a.dtype)
        return a + (b - a) * steps


def saturate_cast(value: Any, dtype: Any, name: str | None = None) -> Any:
    """Cast to ``dtype``, clipping to its range first (TF's ``tf.saturate_cast``)."""
    with _name_scope(name or "saturate_cast"):
        x = _convert(value)
        d = _dt.as_dtype(dtype)
        if d.is_integer and not x.dtype.is_bool:
            info = np.iinfo(d.np)
            lo, hi = info.min, info.max
            if x.dtype.is_integer:
                src = np.iinfo(x.dtype.np)
                lo, hi = max(lo, src.min), min(hi, src.max)
            x = _m.minimum(_m.maximum(x, _m.cast(lo, x.dtype)), _m.cast(hi, x.dtype))
        return _m.cast(x, d)


def parallel_stack(values: list, name: str = "parallel_stack") -> Any:
    """``tf.stack(values)`` (TF's parallel variant gives the same values)."""
    return _a.stack(values, name=name)


def is_numeric_tensor(tensor: Any) -> bool:
    """Whether ``tensor`` is a tensor of a numeric dtype (not bool or string)."""
    if not _is_tensor(tensor):
        return False
    d = _convert(tensor).dtype
    return d.is_floating or d.is_integer


def clip_by_average_norm(t: Any, clip_norm: Any, name: str | None = None) -> Any:
    """``t * clip_norm / max(l2norm(t) / n_elements, clip_norm)`` (TF's
    ``tf.clip_by_average_norm``: the average L2 norm kept <= ``clip_norm``)."""
    with _name_scope(name or "clip_by_average_norm"):
        x = _convert(t)
        n = _m.cast(_r.reduce_prod(_a.shape(x)), x.dtype)
        c = _m.cast(_convert(clip_norm), x.dtype)
        inv = _m.rsqrt(_r.reduce_sum(x * x))
        return x * c * _m.minimum(inv * n, 1.0 / c)


def cumsum(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: str | None = None) -> Any:
    """Cumulative sum along ``axis`` (TF's ``tf.cumsum``, with ``exclusive`` and
    ``reverse``), as a product with a triangular matrix of ones (the axis size must be
    known when the graph is built)."""
    with _name_scope(name or "Cumsum"):
        v = _convert(x)
        rank = v.shape.rank
        if rank is None or rank == 0:
            raise ValueError(f"cumsum: `x` must have a known rank >= 1. Received: shape "
                             f"{v.shape}")
        if not isinstance(axis, (int, np.integer)) or not -rank <= axis < rank:
            raise ValueError(f"cumsum: `axis` must be an int in [{-rank}, {rank}). "
                             f"Received: {axis!r}")
        axis %= rank
        n = _static(v, axis, "cumsum")
        i, j = np.indices((n, n))
        keep = (i > j if exclusive else i >= j) if reverse else (i < j if exclusive else i <= j)
        tri = _constant(keep.astype(v.dtype.np), dtype=v.dtype)   # out[j] = sum_i keep[i,j] x[i]
        perm = [d for d in range(rank) if d != axis] + [axis]
        moved = _a.transpose(v, perm) if axis != rank - 1 else v
        out = _a.reshape(_m.matmul(_a.reshape(moved, [-1, n]), tri), _a.shape(moved))
        if axis == rank - 1:
            return out
        back = list(np.argsort(perm))
        return _a.transpose(out, back)


def matrix_diag(diagonal: Any, name: str = "diag") -> Any:
    """A (batch of) square matrix with ``diagonal`` on its diagonal (TF's ``tf.diag`` for
    a vector, ``tf.matrix_diag`` / ``tf.linalg.diag`` for batches)."""
    with _name_scope(name):
        d = _convert(diagonal)
        n = _static(d, -1, "diag")
        return _a.expand_dims(d, -1) * _constant(np.eye(n, dtype=d.dtype.np), dtype=d.dtype)


def matrix_diag_part(input: Any, name: str = "diag_part") -> Any:  # noqa: A002 - TF name
    """The diagonal of each (batch of) square matrix (TF's ``tf.diag_part`` for a matrix,
    ``tf.matrix_diag_part`` / ``tf.linalg.diag_part``)."""
    with _name_scope(name):
        m = _convert(input)
        rows, cols = _static(m, -2, "diag_part"), _static(m, -1, "diag_part")
        k = min(rows, cols)
        eye = np.eye(rows, cols, dtype=m.dtype.np)
        picked = _r.reduce_sum(m * _constant(eye, dtype=m.dtype), axis=-1)
        return picked if k == rows else picked[..., :k]


def trace(x: Any, name: str | None = None) -> Any:
    """The sum of each (batch of) matrix's diagonal (TF's ``tf.trace``)."""
    with _name_scope(name or "Trace"):
        return _r.reduce_sum(matrix_diag_part(x), axis=-1)


def matrix_band_part(input: Any, num_lower: int, num_upper: int,  # noqa: A002 - TF name
                     name: str | None = None) -> Any:
    """Zero everything outside the band of ``num_lower`` sub- and ``num_upper``
    super-diagonals (negative: keep the whole triangle), TF's ``tf.matrix_band_part``."""
    with _name_scope(name or "MatrixBandPart"):
        m = _convert(input)
        rows, cols = _static(m, -2, "matrix_band_part"), _static(m, -1, "matrix_band_part")
        i, j = np.indices((rows, cols))
        keep = ((num_lower < 0) | (i - j <= num_lower)) & ((num_upper < 0) | (j - i <= num_upper))
        return m * _constant(keep.astype(m.dtype.np), dtype=m.dtype)


def meshgrid(*args: Any, **kwargs: Any) -> list:
    """N-D coordinate grids from 1-D tensors (TF's ``tf.meshgrid``; ``indexing`` "xy"
    (default: the first two outputs' dimensions swapped) or "ij")."""
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword arguments {sorted(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: `indexing` must be 'xy' or 'ij'. Received: {indexing!r}")
    with _name_scope(name):
        xs = [_a.reshape(_convert(a), [-1]) for a in args]
        n = len(xs)
        shapes = [[-1 if k == i else 1 for k in range(n)] for i in range(n)]
        if indexing == "xy" and n > 1:
            for s in shapes:
                s[0], s[1] = s[1], s[0]
        grids = [_a.reshape(x, s) for x, s in zip(xs, shapes, strict=True)]
        zero = _a.zeros_like(grids[0], dtype=_dt.int32)
        for g in grids[1:]:     # zeros of the full grid shape, by broadcasting
            zero = _m.add(zero, _a.zeros_like(g, dtype=_dt.int32))
        return [_m.add(g, _m.cast(zero, g.dtype)) for g in grids]


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: int,
                         name: str | None = None) -> Any:
    """``out[s] = sum of data[i] with segment_ids[i] == s`` for ``s < num_segments`` (TF's
    ``tf.math.unsorted_segment_sum`` with 1-D ``segment_ids``: a negative id is dropped, an
    id >= ``num_segments`` is an InvalidArgumentError when it runs), as a one-hot
    contraction; ``num_segments`` a Python int."""
    if isinstance(num_segments, bool) or not isinstance(num_segments, (int, np.integer)) \
            or num_segments < 0:
        raise TypeError(f"unsorted_segment_sum: `num_segments` must be a Python int >= 0 in "
                        f"estcore. Received: {num_segments!r}")
    with _name_scope(name or "UnsortedSegmentSum"):
        x = _convert(data)
        ids = _convert(segment_ids)
        if ids.shape.rank != 1:
            raise ValueError(f"unsorted_segment_sum: estcore takes 1-D `segment_ids`. "
                             f"Received: shape {ids.shape}")
        check = _assert_less(ids, _m.cast(int(num_segments), ids.dtype),
                             message=f"segment_ids must be < num_segments ({num_segments})")
        with get_default_graph().control_dependencies([check]):
            ids = _a.identity(ids)
        onehot = _one_hot(ids, int(num_segments), dtype=x.dtype)     # [n, segments]
        return _tensordot(onehot, x, [[0], [0]])


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: int,
                          name: str | None = None) -> Any:
    """:func:`unsorted_segment_sum` divided by each segment's count (0 for an empty
    segment), TF's ``tf.math.unsorted_segment_mean``."""
    with _name_scope(name or "UnsortedSegmentMean"):
        x = _convert(data)
        total = unsorted_segment_sum(x, segment_ids, num_segments)
        count = unsorted_segment_sum(_a.ones_like(_convert(segment_ids), dtype=x.dtype),
                                     segment_ids, num_segments)
        count = _a.reshape(count, _a.concat([[-1], _a.ones_like(_a.shape(total)[1:])], 0))
        return total / _m.maximum(count, 1.0)
