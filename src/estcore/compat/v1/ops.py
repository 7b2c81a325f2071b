"""TF 1.x top-level op names that estcore spells differently, as thin adapters.

``tf.to_float`` & co. (casts), and the reductions / ``expand_dims`` / ``squeeze`` with the
keyword aliases TF 1.15 still accepted (``reduction_indices=``, ``keep_dims=``, ``dim=``,
``squeeze_dims=``). Each forwards to the estcore op of the same meaning.

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

from typing import Any

from estcore.graph import dtypes as _dt
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import index_ops as _i
from estcore.graph.ops import lookup_ops as _lookup
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["to_float", "to_double", "to_int32", "to_int64", "reduce_sum", "reduce_mean",
           "reduce_max", "reduce_min", "reduce_prod", "reduce_all", "reduce_any",
           "expand_dims", "squeeze", "count_nonzero", "split", "tables_initializer"]


def to_float(x: Any, name: str = "ToFloat") -> Any:
    """``cast(x, float32)`` (TF1)."""
    return _m.cast(x, _dt.float32, name=name)


def to_double(x: Any, name: str = "ToDouble") -> Any:
    """``cast(x, float64)`` (TF1)."""
    return _m.cast(x, _dt.float64, name=name)


def to_int32(x: Any, name: str = "ToInt32") -> Any:
    """``cast(x, int32)`` (TF1)."""
    return _m.cast(x, _dt.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64") -> Any:
    """``cast(x, int64)`` (TF1)."""
    return _m.cast(x, _dt.int64, name=name)


def _axis(fn: str, axis: Any, reduction_indices: Any) -> Any:
    if reduction_indices is not None:
        if axis is not None:
            raise ValueError(f"{fn}: give `axis` or its old name `reduction_indices`, not both. "
                             f"Received: axis={axis!r}, reduction_indices={reduction_indices!r}")
        return reduction_indices
    return axis


def _keep(fn: str, keepdims: Any, keep_dims: Any) -> bool:
    if keep_dims is not None:
        if keepdims is not None:
            raise ValueError(f"{fn}: give `keepdims` or its old name `keep_dims`, not both.")
        return bool(keep_dims)
    return bool(keepdims)


def _reduction(name: str, op: Any) -> Any:
    def reduce(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: Any = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> Any:
        return op(input_tensor, axis=_axis(fn_name, axis, reduction_indices),
                  keepdims=_keep(fn_name, keepdims, keep_dims), name=name)
    fn_name = name
    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = (f"TF1's ``tf.{name}``: estcore's ``{name}`` that also takes "
                      "``reduction_indices=`` and ``keep_dims=``.")
    return reduce


reduce_sum = _reduction("reduce_sum", _r.reduce_sum)
reduce_mean = _reduction("reduce_mean", _r.reduce_mean)
reduce_max = _reduction("reduce_max", _r.reduce_max)
reduce_min = _reduction("reduce_min", _r.reduce_min)
reduce_prod = _reduction("reduce_prod", _r.reduce_prod)
reduce_all = _reduction("reduce_all", _r.reduce_all)
reduce_any = _reduction("reduce_any", _r.reduce_any)


def count_nonzero(input_tensor: Any = None, axis: Any = None, keepdims: Any = None,
                  dtype: Any = _dt.int64, name: Any = None, reduction_indices: Any = None,
                  keep_dims: Any = None, input: Any = None) -> Any:  # noqa: A002 - TF1 name
    """TF1's ``tf.count_nonzero`` (``reduction_indices=``, ``keep_dims=``, ``input=``)."""
    x = input if input_tensor is None else input_tensor
    return _r.count_nonzero(x, axis=_axis("count_nonzero", axis, reduction_indices),
                            keepdims=_keep("count_nonzero", keepdims, keep_dims),
                            dtype=dtype, name=name)


def expand_dims(input: Any, axis: Any = None, name: Any = None,  # noqa: A002 - TF1 name
                dim: Any = None) -> Any:
    """TF1's ``tf.expand_dims``; ``dim`` is the old name of ``axis``."""
    if dim is not None:
        if axis is not None:
            raise ValueError("expand_dims: give `axis` or its old name `dim`, not both.")
        axis = dim
    if axis is None:
        raise ValueError("expand_dims: `axis` must be given. Received: axis=None")
    return _a.expand_dims(input, axis, name=name)


def squeeze(input: Any, axis: Any = None, name: Any = None,  # noqa: A002 - TF1 name
            squeeze_dims: Any = None) -> Any:
    """TF1's ``tf.squeeze``; ``squeeze_dims`` is the old name of ``axis``."""
    if squeeze_dims is not None:
        if axis is not None:
            raise ValueError("squeeze: give `axis` or its old name `squeeze_dims`, not both.")
        axis = squeeze_dims
    return _a.squeeze(input, axis=axis, name=name)


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str = "split") -> list:
    """TF1's ``tf.split``: ``num_or_size_splits`` equal parts (an int) or parts of the
    given sizes (a list of ints, at most one ``-1``) along ``axis``.

    Built from ``range`` + ``gather`` along ``axis``, so it also splits an axis whose size
    is known only at run time (the batch); an int split of a run-time size that does not
    divide evenly drops the remainder rows (TF1 raises at run time).
    """
    x = _convert(value)
    rank = x.shape.rank
    if rank is None:
        raise ValueError("split: `value` must have a known rank.")
    if not -rank <= axis < rank:
        raise ValueError(f"split: `axis` must be in [{-rank}, {rank}). Received: axis={axis}")
    axis %= rank
    static = x.shape.dims[axis]
    size = _a.shape(x)[axis] if static is None else static
    if isinstance(num_or_size_splits, int) and not isinstance(num_or_size_splits, bool):
        n = num_or_size_splits
        if n < 1:
            raise ValueError(f"split: `num_or_size_splits` must be >= 1. Received: {n}")
        if static is not None and static % n:
            raise ValueError(f"split: dimension {axis} of size {static} cannot be split "
                             f"into {n} equal parts")
        part = size // n
        bounds = [(part * i, part * (i + 1)) for i in range(n)]
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
            raise ValueError(f"split: at most one size may be -1, the others >= 0. "
                             f"Received: {sizes}")
        if -1 in sizes:
            rest = size - sum(s for s in sizes if s != -1)
            sizes = [rest if s == -1 else s for s in sizes]
        elif static is not None and sum(sizes) != static:
            raise ValueError(f"split: sizes {sizes} do not add up to dimension {axis}'s "
                             f"size {static}")
        bounds, start = [], 0
        for s in sizes:
            bounds.append((start, start + s))
            start = start + s
    with _name_scope(name):
        return [_i.gather(x, _i.range(lo, hi), axis=axis) for lo, hi in bounds]


def tables_initializer(name: str = "init_all_tables") -> Any:
    """The op that initializes every lookup table of the default graph (TF1's
    ``tf.tables_initializer``; a no-op without tables). Lookups load their table
    themselves when it did not run (see :mod:`estcore.graph.ops.lookup_ops`)."""
    return _lookup.tables_initializer(name=name)
