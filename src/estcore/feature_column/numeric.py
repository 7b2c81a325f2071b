"""``numeric_column`` and ``bucketized_column`` (TF 1.15 names, arguments, defaults).

Owns the two columns over numeric inputs: a numeric column's dense output is the input
(after ``normalizer_fn``) cast to float32, ``[batch, prod(shape)]`` in ``input_layer``;
a bucketized column is both dense (one-hot of the bucket of each element) and
categorical (ids ``bucket + i * (len(boundaries) + 1)`` for element ``i``, so
``linear_model`` learns one weight per bucket and position). Must not: create variables
(``layers.py`` and the embedding columns do).
"""

from __future__ import annotations

import collections
import math
import numbers

import numpy as np

from estcore.feature_column.base import (
    CategoricalColumn,
    DenseColumn,
    IdWeightPair,
    check_key,
    check_per_example,
    reshape_per_example,
)
from estcore.graph import dtypes as dt
from estcore.graph.ops import index_ops, math_ops, sparse_ops
from estcore.graph.ops.parsing_ops import FixedLenFeature
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import is_sparse

__all__ = ["numeric_column", "bucketized_column", "NumericColumn", "BucketizedColumn"]


def _check_shape(shape, key) -> tuple:
    if shape is None:
        raise ValueError(f"shape must not be None (column {key!r}).")
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or an iterable of ints. Given: {shape!r} "
                        f"(column {key!r})") from None
    for d in shape:
        if not isinstance(d, numbers.Integral) or isinstance(d, bool):
            raise TypeError(f"shape dimensions must be integer. shape: {shape}, key: {key}")
        if d < 1:
            raise ValueError(f"shape dimensions must be greater than 0. shape: {shape}, "
                             f"key: {key}")
    return tuple(int(d) for d in shape)


def _check_default(default_value, dtype, shape, key):
    if default_value is None:
        return None
    kind = "integer" if dtype.is_integer else "float"
    num = (numbers.Integral,) if dtype.is_integer else (numbers.Real,)
    if isinstance(default_value, num) and not isinstance(default_value, bool):
        return default_value
    arr = np.asarray(default_value)
    if arr.dtype.kind not in ("iu" if dtype.is_integer else "iuf"):
        raise TypeError(f"The default_value of {key} is not compatible with dtype. "
                        f"default_value: {default_value}, dtype: {dtype}, must be {kind}.")
    if arr.shape != shape:
        raise ValueError(f"The shape of default_value must be equal to given shape. "
                         f"default_value: {default_value}, shape: {shape}, key: {key}")
    return tuple(arr.reshape(-1).tolist()) if arr.ndim == 1 else \
        tuple(map(tuple, arr.tolist())) if arr.ndim == 2 else tuple(arr.reshape(-1).tolist())


class NumericColumn(DenseColumn, collections.namedtuple(
        "NumericColumn", ("key", "shape", "default_value", "dtype", "normalizer_fn"))):
    """A real-valued (or integer, cast to float32) feature; see :func:`numeric_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.key

    @property
    def _parse_example_spec(self) -> dict:
        return {self.key: FixedLenFeature(self.shape, self.dtype, self.default_value)}

    def _transform_feature(self, builder):
        x = builder.get(self.key)
        if is_sparse(x):
            raise ValueError(f"The corresponding Tensor of numerical column must be a Tensor. "
                             f"SparseTensor is not supported. key: {self.key}")
        if self.normalizer_fn is not None:
            x = self.normalizer_fn(x)
        if not (x.dtype.is_floating or x.dtype.is_integer or x.dtype.is_bool):
            raise TypeError(f"numeric_column {self.key!r}: the feature must be numeric, got "
                            f"dtype {x.dtype.name}.")
        return math_ops.cast(x, dt.float32)

    @property
    def _variable_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        return builder.get(self)


def numeric_column(key, shape=(1,), default_value=None, dtype=dt.float32,
                   normalizer_fn=None) -> NumericColumn:
    """A column for real-valued features (TF 1.15 ``tf.feature_column.numeric_column``).

    Args:
        key: the feature's name in the features dict.
        shape: int or tuple of ints, the shape of one example's value.
        default_value: used by ``parse_example`` when the feature is missing (a number
            or a nested tuple of ``shape``).
        dtype: float or integer dtype of the parsed feature; the column outputs float32.
        normalizer_fn: ``f(tensor) -> tensor`` applied before the cast.
    """
    check_key(key)
    shape = _check_shape(shape, key)
    dtype = dt.as_dtype(dtype)
    if not (dtype.is_floating or dtype.is_integer):
        raise ValueError(f"dtype must be convertible to float. dtype: {dtype}, key: {key}")
    default_value = _check_default(default_value, dtype, shape, key)
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return NumericColumn(key, shape, default_value, dtype, normalizer_fn)


class BucketizedColumn(DenseColumn, CategoricalColumn, collections.namedtuple(
        "BucketizedColumn", ("source_column", "boundaries"))):
    """A numeric column split into ranges; see :func:`bucketized_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.source_column.name}_bucketized"

    @property
    def _parse_example_spec(self) -> dict:
        return self.source_column._parse_example_spec

    def _transform_feature(self, builder):
        source = builder.get(self.source_column)
        check_per_example(source, self.source_column,
                          int(np.prod(self.source_column.shape)),
                          f"bucketized_column '{self.name}'")
        return sparse_ops.bucketize(source, self.boundaries)

    @property
    def _variable_shape(self) -> TensorShape:
        return TensorShape(tuple(self.source_column.shape) + (len(self.boundaries) + 1,))

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        ids = builder.get(self)
        return index_ops.one_hot(ids, len(self.boundaries) + 1, on_value=1.0, off_value=0.0)

    @property
    def _num_buckets(self) -> int:
        return int(np.prod(self.source_column.shape)) * (len(self.boundaries) + 1)

    def _get_sparse_tensors(self, builder, weight_collections=None, trainable=None):
        ids = builder.get(self)                       # [B, *shape] int32
        n = int(np.prod(self.source_column.shape))
        flat = reshape_per_example(math_ops.cast(ids, dt.int64), self.source_column, n,
                                   f"bucketized_column '{self.name}'")   # [B, n]
        offsets = np.arange(n, dtype=np.int64) * (len(self.boundaries) + 1)
        ids2 = math_ops.add(flat, offsets)
        sp = sparse_ops.all_present(ids2)
        return IdWeightPair(sp, None)


def bucketized_column(source_column, boundaries) -> BucketizedColumn:
    """Bucketize a numeric column by sorted ``boundaries`` (TF 1.15).

    ``boundaries=[0., 1., 2.]`` makes buckets ``(-inf, 0.)``, ``[0., 1.)``, ``[1., 2.)``,
    ``[2., +inf)``.
    """
    if not isinstance(source_column, NumericColumn):
        raise ValueError("source_column must be a column generated with numeric_column(). "
                         f"Given: {source_column!r}")
    if len(source_column.shape) > 1:
        raise ValueError("source_column must be one-dimensional column. Given: "
                         f"{source_column}")
    if boundaries is None or isinstance(boundaries, (str, bytes)) or \
            not isinstance(boundaries, (list, tuple)) or not boundaries:
        raise ValueError(f"boundaries must be a sorted list. Given: {boundaries!r}")
    for v in boundaries:
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or math.isnan(v):
            raise ValueError(f"boundaries must be a sorted list of numbers. Given: "
                             f"{boundaries!r}")
    for a, b in zip(boundaries, boundaries[1:], strict=False):
        if a >= b:
            raise ValueError(f"boundaries must be a sorted list. boundaries: {boundaries}")
    return BucketizedColumn(source_column, tuple(float(v) for v in boundaries))

