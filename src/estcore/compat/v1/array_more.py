"""More TF 1.x array names composed from estcore ops, for ``estcore.compat.v1``:
``tf.sort`` / ``argsort`` (floats by top_k as TF, integers by a stable integer sort),
``tf.cumprod``, ``tf.scatter_nd``, ``tf.sparse_to_dense``, ``tf.sparse_tensor_dense_matmul``,
``tf.matrix_set_diag``,
``tf.depth_to_space`` / ``space_to_depth`` (NHWC), ``tf.math.confusion_matrix`` and
``tf.dynamic_partition``.

Sizes that shape the result must be known when the graph is built where TF's output shape
needs them (the sorted axis, ``cumprod``'s axis, ``scatter_nd``'s ``shape``, the image
dimensions of depth_to_space); the error says so. Index checks are Assert ops with TF's
meaning (an index outside the shape is an InvalidArgumentError when the graph runs, never
a silently dropped value). Gradients come from the ops they are made of.

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
from estcore.graph.ops.checks import assert_non_negative as _assert_non_negative
from estcore.graph.ops.core import constant as _constant
from estcore.graph.ops.core import constant_value as _constant_value
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.dynamic_ops import where_indices as _where_indices
from estcore.graph.ops.index_ops import gather as _gather
from estcore.graph.ops.nn_ops import top_k as _top_k
from estcore.graph.ops.segment_ops import unsorted_segment_sum_dyn as _segment_sum
from estcore.graph.ops.sort_ops import int_sort as _int_sort
from estcore.graph.ops.sparse_ops import to_dense as _to_dense
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["sort", "argsort", "cumprod", "scatter_nd", "sparse_to_dense",
           "sparse_tensor_dense_matmul", "matrix_set_diag", "depth_to_space",
           "space_to_depth", "confusion_matrix", "dynamic_partition"]


def _axis(x: Any, axis: Any, fn: str) -> int:
    rank = x.shape.rank
    if rank is None or rank == 0:
        raise ValueError(f"{fn}: the input must have a known rank >= 1. Received: shape "
                         f"{x.shape}")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) \
            or not -rank <= axis < rank:
        raise ValueError(f"{fn}: `axis` must be a Python int in [{-rank}, {rank}). "
                         f"Received: {axis!r}")
    return int(axis) % rank


def _static(x: Any, axis: int, fn: str) -> int:
    n = x.shape.dims[axis]
    if n is None:
        raise ValueError(f"{fn}: the size of dimension {axis} must be known when the graph "
                         f"is built in estcore. Received: shape {x.shape}")
    return n


def _last_axis(x: Any, axis: int, fn: Any) -> Any:
    """``fn`` applied with ``axis`` moved last, then moved back."""
    rank = x.shape.rank
    if axis == rank - 1:
        return fn(x)
    perm = [d for d in range(rank) if d != axis] + [axis]
    back = [int(i) for i in np.argsort(perm)]
    out = fn(_a.transpose(x, perm))
    if isinstance(out, tuple):
        return tuple(_a.transpose(o, back) for o in out)
    return _a.transpose(out, back)


def _sorted(values: Any, axis: Any, direction: str, fn: str) -> tuple[Any, Any]:
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{fn}: `direction` must be 'ASCENDING' or 'DESCENDING'. Received: "
                         f"{direction!r}")
    x = _convert(values)
    if not x.dtype.is_numeric:
        raise TypeError(f"{fn}: `values` must be numeric. Received dtype {x.dtype.name}")
    ax = _axis(x, axis, fn)
    n = _static(x, ax, fn)
    ascending = direction == "ASCENDING"

    def run(v: Any) -> tuple[Any, Any]:
        if v.dtype.is_integer:       # exact over the whole range (no negation)
            return _int_sort(v, descending=not ascending)
        vals, idx = _top_k(_m.negative(v) if ascending else v, k=n)
        return (_m.negative(vals) if ascending else vals), idx

    return _last_axis(x, ax, run)


def sort(values: Any, axis: int = -1, direction: str = "ASCENDING",
         name: str | None = None) -> Any:
    """TF's ``tf.sort``: ``values`` sorted along ``axis`` (a Python int; its size known
    when the graph is built), by top_k as TF builds it."""
    with _name_scope(name or "sort"):
        return _sorted(values, axis, direction, "sort")[0]


def argsort(values: Any, axis: int = -1, direction: str = "ASCENDING", stable: bool = False,
            name: str | None = None) -> Any:
    """TF's ``tf.argsort``: int32 indices that sort ``values`` along ``axis``; equal values
    keep their order (TF's sort is always stable)."""
    with _name_scope(name or "argsort"):
        return _sorted(values, axis, direction, "argsort")[1]


def cumprod(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
            name: str | None = None) -> Any:
    """TF's ``tf.cumprod`` (``exclusive``, ``reverse``): running products along ``axis``
    (its size known when the graph is built), one multiply per position, so the gradient
    is exact also where ``x`` has zeros (TF's divides by ``x``: NaN there)."""
    with _name_scope(name or "Cumprod"):
        v = _convert(x)
        ax = _axis(v, axis, "cumprod")
        n = _static(v, ax, "cumprod")
        parts = _a.unstack(v, num=n, axis=ax)
        order = list(range(n))[::-1] if reverse else list(range(n))
        out: list[Any] = [None] * n
        running = None
        for i in order:
            if exclusive:
                out[i] = _a.ones_like(parts[i]) if running is None else running
                running = parts[i] if running is None else _m.multiply(running, parts[i])
            else:
                running = parts[i] if running is None else _m.multiply(running, parts[i])
                out[i] = running
        return _a.stack(out, axis=ax)


def _static_shape(shape: Any, fn: str) -> list[int]:
    value = _constant_value(shape) if hasattr(shape, "op") else shape
    try:
        dims = [int(d) for d in np.asarray(value).reshape(-1)]
    except (TypeError, ValueError):
        dims = None
    if dims is None or any(d < 0 for d in dims):
        raise ValueError(f"{fn}: the output shape must be known when the graph is built in "
                         f"estcore (a list of ints >= 0). Received: {shape!r}")
    return dims


def _flat_index(indices: Any, dims: list[int], fn: str) -> Any:
    """``[N, K]`` indices -> checked row-major positions ``[N]`` in ``dims[:K]``."""
    k = indices.shape.dims[-1]
    bound = _constant(np.array(dims[:k], dtype=indices.dtype.np), dtype=indices.dtype)
    checks = [_assert_non_negative(indices, message=f"{fn}: indices must be >= 0"),
              _assert_less(indices, bound,
                           message=f"{fn}: indices do not index into shape {dims[:k]}")]
    with get_default_graph().control_dependencies(checks):
        indices = _a.identity(indices)
    strides = np.cumprod([1] + dims[1:k][::-1])[::-1].astype(indices.dtype.np)
    return _r.reduce_sum(indices * _constant(strides, dtype=indices.dtype), axis=-1)


def scatter_nd(indices: Any, updates: Any, shape: Any, name: str | None = None) -> Any:
    """TF's ``tf.scatter_nd``: zeros of ``shape`` with ``updates`` added at ``indices``
    (``[..., K]``; repeated indices add up). ``shape`` known when the graph is built; an
    index outside it is an InvalidArgumentError when the graph runs (as TF on CPU)."""
    with _name_scope(name or "ScatterNd"):
        dims = _static_shape(shape, "scatter_nd")
        idx = _convert(indices)
        upd = _convert(updates)
        k = idx.shape.dims[-1] if idx.shape.rank else None
        if not idx.dtype.is_integer or k is None or k > len(dims):
            raise ValueError(f"scatter_nd: `indices` must be integers [..., K] with a known K "
                             f"<= rank of shape {dims}. Received: {idx.dtype.name} "
                             f"{idx.shape}")
        inner = int(np.prod(dims[k:], dtype=np.int64))
        flat = _flat_index(_a.reshape(idx, [-1, k]), dims, "scatter_nd")
        rows = _a.reshape(upd, [-1, inner])
        total = _segment_sum(rows, flat, int(np.prod(dims[:k], dtype=np.int64)),
                             "scatter_nd", dims[:k])
        return _a.reshape(total, dims)


def sparse_to_dense(sparse_indices: Any, output_shape: Any, sparse_values: Any,
                    default_value: Any = 0, validate_indices: bool = True,
                    name: str | None = None) -> Any:
    """TF's ``tf.sparse_to_dense``: ``default_value`` everywhere but at ``sparse_indices``
    (``[N]`` or ``[N, K]``), where ``sparse_values`` (``[N]`` or a scalar) are put.
    ``output_shape`` known when the graph is built. With ``validate_indices`` the indices
    must be in row-major order without repeats (TF's rule), else an InvalidArgumentError."""
    with _name_scope(name or "SparseToDense"):
        dims = _static_shape(output_shape, "sparse_to_dense")
        idx = _convert(sparse_indices)
        if idx.shape.rank == 1 or idx.shape.rank == 0:
            idx = _a.reshape(idx, [-1, 1])
        vals = _convert(sparse_values)
        k = idx.shape.dims[-1]
        flat = _flat_index(idx, dims, "sparse_to_dense")
        if validate_indices:
            order = _assert_less(flat[:-1], flat[1:], message="sparse_to_dense: indices are "
                                 "out of order or repeated (validate_indices=True)")
            with get_default_graph().control_dependencies([order]):
                flat = _a.identity(flat)
        vals = _m.add(vals, _a.zeros_like(_m.cast(flat, vals.dtype)))  # scalar -> [N]
        inner = int(np.prod(dims[k:], dtype=np.int64))
        if inner != 1:
            raise ValueError(f"sparse_to_dense: `sparse_indices` must index every dimension "
                             f"of output_shape {dims}. Received: indices of width {k}")
        size = int(np.prod(dims, dtype=np.int64))
        hit = _segment_sum(_a.ones_like(vals), flat, size, "sparse_to_dense", dims)
        placed = _segment_sum(vals, flat, size, "sparse_to_dense", dims)
        default = _m.cast(_convert(default_value), vals.dtype)
        out = _m.where(_m.greater(hit, _m.cast(0, vals.dtype)), placed,
                       _m.add(_a.zeros_like(placed), default))
        return _a.reshape(out, dims)


def sparse_tensor_dense_matmul(sp_a: Any, b: Any, adjoint_a: bool = False,
                               adjoint_b: bool = False, name: str | None = None) -> Any:
    """TF's ``tf.sparse_tensor_dense_matmul``: ``op(sp_a) @ op(b)`` for a 2-D SparseTensor
    (made dense, then one matmul)."""
    with _name_scope(name or "SparseTensorDenseMatMul"):
        return _m.matmul(_to_dense(sp_a), b, transpose_a=adjoint_a, transpose_b=adjoint_b)


def matrix_set_diag(input: Any, diagonal: Any, name: str | None = None) -> Any:  # noqa: A002
    """TF's ``tf.matrix_set_diag`` / ``tf.linalg.set_diag``: ``input`` ``[..., M, N]``
    with its main diagonal replaced by ``diagonal`` ``[..., min(M, N)]`` (matrix sizes
    known when the graph is built)."""
    with _name_scope(name or "MatrixSetDiag"):
        m = _convert(input)
        d = _convert(diagonal, m.dtype)
        rows = _static(m, m.shape.rank - 2, "matrix_set_diag")
        cols = _static(m, m.shape.rank - 1, "matrix_set_diag")
        k = min(rows, cols)
        if d.shape.rank is not None and d.shape.dims[-1] not in (None, k):
            raise ValueError(f"matrix_set_diag: `diagonal` must have {k} entries on its last "
                             f"dimension. Received: shape {d.shape}")
        if cols > k:     # the diagonal padded with zeros to a row of the matrix
            zero = _a.zeros_like(d[..., :1])
            d = _a.concat([d] + [zero] * (cols - k), axis=-1)
        eye = np.eye(rows, cols, dtype=m.dtype.np)
        return m * _constant(1 - eye, dtype=m.dtype) \
            + _a.expand_dims(d, -2) * _constant(eye, dtype=m.dtype)


def _block(block_size: Any, fn: str) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 2:
        raise ValueError(f"{fn}: `block_size` must be a Python int >= 2. Received: "
                         f"{block_size!r}")
    return int(block_size)


def _nhwc(x: Any, data_format: str, fn: str) -> tuple[int, int, int]:
    if data_format != "NHWC":
        raise ValueError(f"{fn}: only data_format='NHWC' is available (as TF on CPU). "
                         f"Received: {data_format!r}")
    if x.shape.rank != 4 or None in x.shape.dims[1:]:
        raise ValueError(f"{fn}: `input` must be 4-D NHWC with height, width and depth known "
                         f"when the graph is built. Received: shape {x.shape}")
    return tuple(x.shape.dims[1:])


def depth_to_space(input: Any, block_size: int, name: str | None = None,  # noqa: A002
                   data_format: str = "NHWC") -> Any:
    """TF's ``tf.depth_to_space``: ``[b, h, w, c]`` -> ``[b, h*bs, w*bs, c/bs^2]``; depth
    index ``(i * bs + j) * c' + k`` goes to row offset ``i``, column offset ``j``."""
    with _name_scope(name or "DepthToSpace"):
        x = _convert(input)
        bs = _block(block_size, "depth_to_space")
        h, w, c = _nhwc(x, data_format, "depth_to_space")
        if c % (bs * bs):
            raise ValueError(f"depth_to_space: the depth {c} must be divisible by "
                             f"block_size * block_size = {bs * bs}")
        out_c = c // (bs * bs)
        y = _a.reshape(x, [-1, h, w, bs, bs, out_c])
        y = _a.transpose(y, [0, 1, 3, 2, 4, 5])
        return _a.reshape(y, [-1, h * bs, w * bs, out_c])


def space_to_depth(input: Any, block_size: int, name: str | None = None,  # noqa: A002
                   data_format: str = "NHWC") -> Any:
    """TF's ``tf.space_to_depth``, the inverse of :func:`depth_to_space`: ``[b, h, w, c]``
    -> ``[b, h/bs, w/bs, c*bs^2]``."""
    with _name_scope(name or "SpaceToDepth"):
        x = _convert(input)
        bs = _block(block_size, "space_to_depth")
        h, w, c = _nhwc(x, data_format, "space_to_depth")
        if h % bs or w % bs:
            raise ValueError(f"space_to_depth: height {h} and width {w} must be divisible "
                             f"by block_size {bs}")
        y = _a.reshape(x, [-1, h // bs, bs, w // bs, bs, c])
        y = _a.transpose(y, [0, 1, 3, 2, 4, 5])
        return _a.reshape(y, [-1, h // bs, w // bs, bs * bs * c])


def confusion_matrix(labels: Any, predictions: Any, num_classes: Any = None,
                     weights: Any = None, dtype: Any = _dt.int32,
                     name: str | None = None) -> Any:
    """TF's ``tf.math.confusion_matrix``: ``[n, n]`` counts (or summed ``weights``) of
    (label, prediction) pairs, rows labels; ``n`` = ``num_classes`` or ``max(labels,
    predictions) + 1``. Negative values, or values >= ``num_classes``, are an
    InvalidArgumentError when the graph runs."""
    with _name_scope(name or "confusion_matrix"):
        lab = _m.cast(_a.reshape(_convert(labels), [-1]), _dt.int64)
        pred = _m.cast(_a.reshape(_convert(predictions), [-1]), _dt.int64)
        checks = [_assert_non_negative(lab, message="`labels` contains negative values"),
                  _assert_non_negative(pred, message="`predictions` contains negative values")]
        if num_classes is None:
            n = _m.add(_m.maximum(_r.reduce_max(lab), _r.reduce_max(pred)), 1)
        else:
            n = _m.cast(_convert(num_classes), _dt.int64)
            checks += [_assert_less(lab, n, message="`labels` out of bound"),
                       _assert_less(pred, n, message="`predictions` out of bound")]
        with get_default_graph().control_dependencies(checks):
            flat = _m.add(_m.multiply(lab, n), pred)
        out_dtype = _dt.as_dtype(dtype)
        w = _a.ones_like(lab, dtype=out_dtype) if weights is None else _m.cast(
            _a.reshape(_convert(weights), [-1]), out_dtype)
        counts = _segment_sum(w, flat, _m.multiply(n, n), "confusion_matrix")
        n32 = _m.cast(n, _dt.int32)
        return _a.reshape(counts, _a.stack([n32, n32]))


def dynamic_partition(data: Any, partitions: Any, num_partitions: int,
                      name: str | None = None) -> list:
    """TF's ``tf.dynamic_partition``: ``num_partitions`` tensors, the ``i``-th holding the
    slices ``data[j]`` with ``partitions[j] == i`` in order (``partitions``' shape a prefix
    of ``data``'s; an entry outside ``[0, num_partitions)`` is an InvalidArgumentError)."""
    if isinstance(num_partitions, bool) or not isinstance(num_partitions, (int, np.integer)) \
            or num_partitions < 1:
        raise ValueError(f"dynamic_partition: `num_partitions` must be a Python int >= 1. "
                         f"Received: {num_partitions!r}")
    with _name_scope(name or "DynamicPartition"):
        x = _convert(data)
        p = _convert(partitions)
        if p.shape.rank is None or x.shape.rank is None or p.shape.rank > x.shape.rank \
                or None in x.shape.dims[p.shape.rank:]:
            raise ValueError(f"dynamic_partition: `partitions` must have a known rank and a "
                             f"shape prefix of `data`'s, whose other dimensions are known. "
                             f"Received: {p.shape} and {x.shape}")
        rest = list(x.shape.dims[p.shape.rank:])
        flat_p = _a.reshape(p, [-1])
        checks = [_assert_non_negative(flat_p, message="partitions must be >= 0"),
                  _assert_less(flat_p, _m.cast(int(num_partitions), flat_p.dtype),
                               message=f"partitions must be < {num_partitions}")]
        with get_default_graph().control_dependencies(checks):
            flat_p = _a.identity(flat_p)
        flat_x = _a.reshape(x, [-1] + rest)
        out = []
        for i in range(int(num_partitions)):
            rows = _where_indices(_m.equal(flat_p, _m.cast(i, flat_p.dtype)))
            out.append(_gather(flat_x, _a.reshape(rows, [-1])))
        return out
