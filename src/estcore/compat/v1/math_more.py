"""Small TF 1.x math names composed from estcore ops, for ``estcore.compat.v1``:
``tf.truncatediv`` / ``truncatemod`` (integers), ``tf.unravel_index``,
``tf.invert_permutation``, ``tf.unique_with_counts``, ``tf.searchsorted``,
``tf.histogram_fixed_width``, ``tf.lbeta``, ``tf.math.xdivy``, ``tf.math.polyval``, and
``tf.nn.log_poisson_loss``, ``sufficient_statistics``, ``normalize_moments``,
``weighted_moments``.

Sizes that shape the result must be known when the graph is built where noted; invalid
indices are Assert ops (InvalidArgumentError when the graph runs). Gradients come from the
ops these are made of.

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from estcore.graph import dtypes as _dt
from estcore.graph.ir import get_default_graph
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.checks import assert_equal as _assert_equal
from estcore.graph.ops.checks import assert_less as _assert_less
from estcore.graph.ops.checks import assert_non_negative as _assert_non_negative
from estcore.graph.ops.core import constant as _constant
from estcore.graph.ops.core import constant_value as _constant_value
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.dynamic_ops import unique as _unique
from estcore.graph.ops.segment_ops import unsorted_segment_sum_dyn as _segment_sum
from estcore.graph.ops.sort_ops import int_sort as _int_sort
from estcore.graph.ops.special_ops import lgamma as _lgamma
from estcore.graph.variables import name_scope as _name_scope
from estcore.losses.util import div_no_nan as _div_no_nan

__all__ = ["truncatediv", "truncatemod", "unravel_index", "invert_permutation",
           "unique_with_counts", "searchsorted", "histogram_fixed_width", "lbeta", "xdivy",
           "polyval", "log_poisson_loss", "sufficient_statistics", "normalize_moments",
           "weighted_moments"]


def _ints(x: Any, y: Any, fn: str) -> tuple[Any, Any]:
    a = _convert(x)
    b = _convert(y, a.dtype)
    if not a.dtype.is_integer:
        raise TypeError(f"{fn}: estcore takes integer tensors (float truncation is not "
                        f"available). Received dtype {a.dtype.name}")
    return a, b


def truncatediv(x: Any, y: Any, name: str | None = None) -> Any:
    """TF's ``tf.truncatediv`` for integers: ``x / y`` rounded toward zero (``-7 / 5 ==
    -1``, where floor division gives -2)."""
    with _name_scope(name or "TruncateDiv"):
        a, b = _ints(x, y, "truncatediv")
        q = _m.floordiv(a, b)
        inexact = _m.not_equal(_m.subtract(a, _m.multiply(q, b)), _m.cast(0, a.dtype))
        signs_differ = _m.not_equal(_m.less(a, _m.cast(0, a.dtype)),
                                    _m.less(b, _m.cast(0, a.dtype)))
        bump = _m.cast(_m.logical_and(inexact, signs_differ), a.dtype)
        return _m.add(q, bump)


def truncatemod(x: Any, y: Any, name: str | None = None) -> Any:
    """TF's ``tf.truncatemod`` for integers: the remainder of :func:`truncatediv` (its sign
    is ``x``'s, as C's ``%``)."""
    with _name_scope(name or "TruncateMod"):
        a, b = _ints(x, y, "truncatemod")
        return _m.subtract(a, _m.multiply(truncatediv(a, b), b))


def _static_ints(value: Any, what: str, fn: str) -> list[int]:
    arr = _constant_value(value) if getattr(value, "op", None) is not None else value
    try:
        return [int(v) for v in np.asarray(arr).reshape(-1)]
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: `{what}` must be known when the graph is built in estcore. "
                         f"Received: {value!r}") from None


def unravel_index(indices: Any, dims: Any, name: str | None = None) -> Any:
    """TF's ``tf.unravel_index``: the coordinates in an array of shape ``dims`` (known when
    the graph is built) of flat row-major ``indices``; shape ``[len(dims), *indices.shape]``
    (``[len(dims)]`` for a scalar). An index outside ``[0, prod(dims))`` is an
    InvalidArgumentError."""
    with _name_scope(name or "UnravelIndex"):
        idx = _convert(indices)
        if not idx.dtype.is_integer:
            raise TypeError(f"unravel_index: `indices` must be int32 or int64. Received "
                            f"{idx.dtype.name}")
        shape = _static_ints(dims, "dims", "unravel_index")
        total = int(np.prod(shape, dtype=np.int64))
        checks = [_assert_non_negative(idx, message="unravel_index: index out of bound"),
                  _assert_less(idx, _m.cast(total, idx.dtype),
                               message=f"unravel_index: index out of bound as dims {shape}")]
        with get_default_graph().control_dependencies(checks):
            idx = _a.identity(idx)
        out = []
        stride = total
        for d in shape:
            stride //= max(d, 1)
            out.append(_m.mod(_m.floordiv(idx, _m.cast(stride, idx.dtype)),
                                   _m.cast(d, idx.dtype)))
        return _a.stack(out, axis=0)


def invert_permutation(x: Any, name: str | None = None) -> Any:
    """TF's ``tf.invert_permutation``: ``y[x[i]] = i`` for a 1-D permutation ``x`` (its
    length known when the graph is built); anything but a permutation of ``0..n-1`` is an
    InvalidArgumentError."""
    with _name_scope(name or "InvertPermutation"):
        p = _convert(x)
        if p.shape.rank != 1 or p.shape.dims[0] is None or p.dtype not in (_dt.int32,
                                                                           _dt.int64):
            raise ValueError(f"invert_permutation: `x` must be a 1-D int32 / int64 tensor of "
                             f"known length. Received: {p.dtype.name} {p.shape}")
        values, order = _int_sort(p)
        n = p.shape.dims[0]
        check = _assert_equal(values, _constant(np.arange(n, dtype=p.dtype.np), dtype=p.dtype),
                              message="invert_permutation: `x` is not a valid permutation")
        with get_default_graph().control_dependencies([check]):
            return _a.identity(_m.cast(order, p.dtype))


def unique_with_counts(x: Any, out_idx: Any = _dt.int32, name: str | None = None) -> tuple:
    """TF's ``tf.unique_with_counts``: ``(y, idx, count)``: :func:`tf.unique`'s values in
    order of first occurrence and indices, and how often each value occurs."""
    with _name_scope(name or "UniqueWithCounts"):
        y, idx = _unique(x, out_idx=out_idx)
        n = _a.shape(y, out_type=idx.dtype)[0]
        count = _segment_sum(_a.ones_like(idx), idx, n)
        return y, idx, count


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left", out_type: Any = _dt.int32,
                 name: str | None = None) -> Any:
    """TF's ``tf.searchsorted``: for each of ``values`` ``[..., m]`` the insertion index in
    the matching row of ``sorted_sequence`` ``[..., n]`` (``side`` "left": before equal
    entries, "right": after). Compares every value with every entry (memory m x n)."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: `side` must be 'left' or 'right'. Received: {side!r}")
    with _name_scope(name or "SearchSorted"):
        seq = _convert(sorted_sequence)
        v = _convert(values, seq.dtype)
        if seq.shape.rank is None or v.shape.rank != seq.shape.rank or seq.shape.rank < 1:
            raise ValueError(f"searchsorted: `sorted_sequence` and `values` must have one "
                             f"known rank >= 1. Received: {seq.shape} and {v.shape}")
        before = _m.less if side == "left" else _m.less_equal
        hit = before(_a.expand_dims(seq, -2), _a.expand_dims(v, -1))     # [..., m, n]
        return _r.reduce_sum(_m.cast(hit, _dt.as_dtype(out_type)), axis=-1)


def histogram_fixed_width(values: Any, value_range: Any, nbins: int = 100,
                          dtype: Any = _dt.int32, name: str | None = None) -> Any:
    """TF's ``tf.histogram_fixed_width``: counts of ``values`` in ``nbins`` equal bins over
    ``value_range`` ``[lo, hi]``; values below ``lo`` count in the first bin, values at or
    above ``hi`` in the last (TF's binning, in float64). ``nbins`` a Python int."""
    if isinstance(nbins, bool) or not isinstance(nbins, (int, np.integer)) or nbins < 1:
        raise ValueError(f"histogram_fixed_width: `nbins` must be a Python int >= 1 in "
                         f"estcore. Received: {nbins!r}")
    with _name_scope(name or "histogram_fixed_width"):
        x = _a.reshape(_convert(values), [-1])
        rng = _convert(value_range, x.dtype)
        lo, hi = rng[0], rng[1]
        step = _m.cast(hi - lo, _dt.float64) / float(nbins)
        offset = _m.cast(_m.subtract(_m.maximum(x, lo), lo), _dt.float64)
        index = _m.cast(_m.minimum(offset / step, float(nbins - 1)), _dt.int32)
        return _segment_sum(_a.ones_like(index, dtype=_dt.as_dtype(dtype)), index,
                            int(nbins))


def lbeta(x: Any, name: str | None = None) -> Any:
    """TF's ``tf.lbeta``: ``log|Beta(x)|`` over the last axis, ``sum(lgamma(x)) -
    lgamma(sum(x))``."""
    with _name_scope(name or "lbeta"):
        v = _convert(x)
        return _m.subtract(_r.reduce_sum(_lgamma(v), axis=-1),
                           _lgamma(_r.reduce_sum(v, axis=-1)))


def xdivy(x: Any, y: Any, name: str | None = None) -> Any:
    """TF's ``tf.math.xdivy``: 0 where ``x == 0``, else ``x / y`` (gradients stay finite
    there too)."""
    with _name_scope(name or "Xdivy"):
        a = _convert(x)
        b = _convert(y, a.dtype)
        zero = _m.equal(a, _m.cast(0, a.dtype))
        safe_y = _m.where(zero, _a.ones_like(b + a), b + _a.zeros_like(a))
        return _m.where(zero, _a.zeros_like(a + b), a / safe_y)


def polyval(coeffs: list, x: Any, name: str | None = None) -> Any:
    """TF's ``tf.math.polyval``: ``coeffs[0] * x**(n-1) + ... + coeffs[n-1]`` by Horner's
    rule (zeros like ``x`` for no coefficients)."""
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError(f"polyval: `coeffs` must be a list. Received: {type(coeffs).__name__}")
    with _name_scope(name or "polyval"):
        v = _convert(x)
        if not coeffs:
            return _a.zeros_like(v)
        out = _convert(coeffs[0], v.dtype)
        for c in coeffs[1:]:
            out = _m.add(_m.multiply(out, v), _convert(c, v.dtype))
        return out


def log_poisson_loss(targets: Any, log_input: Any, compute_full_loss: bool = False,
                     name: str | None = None) -> Any:
    """TF's ``tf.nn.log_poisson_loss``: ``exp(c) - c * z``, plus Stirling's term ``z log z
    - z + log(2 pi z) / 2`` where ``z > 1`` when ``compute_full_loss``."""
    with _name_scope(name or "log_poisson_loss"):
        c = _convert(log_input)
        z = _convert(targets, c.dtype)
        if c.shape.is_fully_defined() and z.shape.is_fully_defined() \
                and c.shape.as_list() != z.shape.as_list():
            raise ValueError(f"log_input and targets must have the same shape ({c.shape} vs "
                             f"{z.shape})")
        loss = _m.subtract(_m.exp(c), _m.multiply(c, z))
        if not compute_full_loss:
            return loss
        safe = _m.maximum(z, _m.cast(1, z.dtype))
        stirling = _m.add(_m.subtract(_m.multiply(z, _m.log(safe)), z),
                          _m.multiply(0.5, _m.log(_m.multiply(2.0 * math.pi, safe))))
        small = _m.logical_and(_m.greater_equal(z, _m.cast(0, z.dtype)),
                               _m.less_equal(z, _m.cast(1, z.dtype)))
        return _m.add(loss, _m.where(small, _a.zeros_like(stirling), stirling))


def _axes(x: Any, axes: Any, fn: str) -> list[int]:
    rank = x.shape.rank
    if rank is None:
        raise ValueError(f"{fn}: `x` must have a known rank. Received: shape {x.shape}")
    return [int(a) % rank for a in (axes if isinstance(axes, (list, tuple)) else [axes])]


def sufficient_statistics(x: Any, axes: Any, shift: Any = None, keep_dims: Any = None,
                          name: str | None = None, keepdims: Any = None) -> tuple:
    """TF's ``tf.nn.sufficient_statistics``: ``(count, mean_ss, variance_ss, shift)`` with
    ``count`` the number of summed elements (a constant when the sizes are known),
    ``mean_ss = sum(x - shift)``, ``variance_ss = sum((x - shift)**2)`` over ``axes``;
    TF's op names (``sufficient_statistics/count``, ``/mean_ss``, ``/var_ss``)."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with _name_scope(name or "sufficient_statistics"):
        v = _convert(x)
        ax = _axes(v, axes, "sufficient_statistics")
        sizes = [v.shape.dims[a] for a in ax]
        if None not in sizes:
            count = _constant(np.prod(sizes, dtype=np.float64), dtype=v.dtype)
        else:
            shp = _m.cast(_a.shape(v), v.dtype)
            count = _r.reduce_prod(_a.stack([shp[a] for a in ax]), name="count")
        if shift is not None:
            s = _convert(shift, v.dtype)
            m_ss, v_ss = _m.subtract(v, s), _m.squared_difference(v, s)
        else:
            s = None
            m_ss, v_ss = v, _m.square(v)
        m_ss = _r.reduce_sum(m_ss, axis=ax, keepdims=keep, name="mean_ss")
        v_ss = _r.reduce_sum(v_ss, axis=ax, keepdims=keep, name="var_ss")
        return count, m_ss, v_ss, s


def normalize_moments(counts: Any, mean_ss: Any, variance_ss: Any, shift: Any,
                      name: str | None = None) -> tuple:
    """TF's ``tf.nn.normalize_moments``: ``(mean, variance)`` from
    :func:`sufficient_statistics` (``normalize/mean``, ``normalize/variance``)."""
    with _name_scope(name or "normalize"):
        m_ss = _convert(mean_ss)
        divisor = _m.reciprocal(_convert(counts, m_ss.dtype), name="divisor")
        if shift is None:
            shifted_mean = mean = _m.multiply(m_ss, divisor, name="mean")
        else:
            shifted_mean = _m.multiply(m_ss, divisor, name="shifted_mean")
            mean = _m.add(shifted_mean, _convert(shift, m_ss.dtype), name="mean")
        variance = _m.subtract(_m.multiply(_convert(variance_ss, m_ss.dtype), divisor),
                               _m.square(shifted_mean), name="variance")
        return mean, variance


def weighted_moments(x: Any, axes: Any, frequency_weights: Any, name: str | None = None,
                     keep_dims: Any = None, keepdims: Any = None) -> tuple:
    """TF's ``tf.nn.weighted_moments``: the ``frequency_weights``-weighted mean and variance
    of ``x`` over ``axes`` (weights broadcast against ``x``; 0 where the weights sum to 0,
    TF's ``div_no_nan``; float16 computed in float32)."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with _name_scope(name or "weighted_moments"):
        v = _convert(x)
        ax = _axes(v, axes, "weighted_moments")
        half = v.dtype == _dt.float16
        if half:
            v = _m.cast(v, _dt.float32)
        w = _convert(frequency_weights)
        if w.dtype != v.dtype:
            w = _m.cast(w, v.dtype)
        total = _r.reduce_sum(_m.multiply(w, v), axis=ax, keepdims=True,
                              name="weighted_input_sum")
        weights = _m.add(w, _a.zeros_like(v))
        sum_of_weights = _r.reduce_sum(weights, axis=ax, keepdims=True, name="sum_of_weights")
        mean = _div_no_nan(total, sum_of_weights, name="div_no_nan")
        distsq = _r.reduce_sum(_m.multiply(w, _m.squared_difference(v, mean)), axis=ax,
                               keepdims=True, name="weighted_distsq")
        variance = _div_no_nan(distsq, sum_of_weights, name="div_no_nan")
        if not keep:
            mean = _a.squeeze(mean, ax)
            variance = _a.squeeze(variance, ax)
        if half:
            mean, variance = _m.cast(mean, _dt.float16), _m.cast(variance, _dt.float16)
        return mean, variance
