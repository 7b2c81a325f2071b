"""TF 1.x names that are short compositions of estcore ops, for ``estcore.compat.v1``.

``tf.log_sigmoid``, ``tf.reduce_logsumexp``, ``tf.math.reduce_variance`` /
``reduce_std``, ``tf.div_no_nan``, ``tf.scalar_mul``, ``tf.matrix_transpose``, ``tf.norm``
(vector norms), ``tf.eye``, ``tf.tuple`` (``tuple_`` here), ``tf.identity_n``, ``tf.shape_n``,
``tf.sequence_mask``, ``tf.verify_tensor_all_finite``, ``tf.nn.xw_plus_b``,
``tf.nn.crelu``, ``tf.nn.conv1d``, ``tf.nn.atrous_conv2d``, ``tf.nn.dropout`` (a tensor
``keep_prob`` too), ``tf.get_local_variable``, ``tf.moving_average_variables``,
``tf.no_regularizer`` and ``tf.compat.as_str_any`` / ``path_to_str``. Each is built from
ops estcore has (so gradients, planning and export come with them), with TF 1.15's
signature and documented result.

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from estcore.graph import dtypes as _dt
from estcore.graph.ir import GraphKeys, get_collection, get_default_graph
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import index_ops as _i
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.conv_ops import conv2d as _conv2d
from estcore.graph.ops.core import constant as _constant
from estcore.graph.ops.core import constant_value as _constant_value
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.debug_ops import check_numerics as _check_numerics
from estcore.graph.ops.random_ops import random_uniform as _random_uniform
from estcore.graph.ops.script_ops import py_func as _py_func
from estcore.graph.ops.state_ops import group as _group
from estcore.graph.variables import get_variable as _get_variable
from estcore.graph.variables import name_scope as _name_scope
from estcore.nn import dropout as _nn_dropout
from estcore.nn import relu as _relu
from estcore.nn import softplus as _softplus

__all__ = ["log_sigmoid", "reduce_logsumexp", "reduce_variance", "reduce_std", "div_no_nan",
           "scalar_mul", "matrix_transpose", "norm", "eye", "tuple_", "identity_n", "shape_n",
           "sequence_mask", "verify_tensor_all_finite", "xw_plus_b", "crelu", "conv1d",
           "atrous_conv2d", "dropout",
           "get_local_variable", "moving_average_variables", "no_regularizer", "as_str_any",
           "path_to_str"]


def _axis(axis: Any, reduction_indices: Any) -> Any:
    return reduction_indices if axis is None else axis


def _keep(keepdims: Any, keep_dims: Any) -> bool:
    return bool(keep_dims if keepdims is None else keepdims)


def log_sigmoid(x: Any, name: str | None = None) -> Any:
    """``log(1 / (1 + exp(-x)))``, computed as ``-softplus(-x)`` (stable for large |x|)."""
    with _name_scope(name or "LogSigmoid"):
        return _m.negative(_softplus(_m.negative(_convert(x))))


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: Any = None,
                     name: str | None = None, reduction_indices: Any = None,
                     keep_dims: Any = None) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the (finite) maximum for stability, as
    TF computes it; the maximum carries no gradient."""
    axis, keep = _axis(axis, reduction_indices), _keep(keepdims, keep_dims)
    with _name_scope(name or "ReduceLogSumExp"):
        x = _convert(input_tensor)
        raw_max = _r.reduce_max(x, axis=axis, keepdims=True)
        shift = _a.stop_gradient(_m.where(_m.is_finite(raw_max), raw_max,
                                          _a.zeros_like(raw_max)))
        out = _m.log(_r.reduce_sum(_m.exp(x - shift), axis=axis, keepdims=True)) + shift
        return out if keep else _a.squeeze(out, axis=_squeeze_axes(x, axis))


def _squeeze_axes(x: Any, axis: Any) -> Any:
    if axis is None:
        rank = x.shape.rank
        if rank is None:
            raise ValueError("reduce_logsumexp: `input_tensor` must have a known rank when "
                             "`axis` is None and keepdims is False")
        return list(range(rank))
    return list(axis) if isinstance(axis, (list, tuple)) else [axis]


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                    name: str | None = None) -> Any:
    """The variance ``mean(square(x - mean(x)))`` over ``axis`` (TF's
    ``tf.math.reduce_variance``)."""
    with _name_scope(name or "reduce_variance"):
        x = _convert(input_tensor)
        mean = _r.reduce_mean(x, axis=axis, keepdims=True)
        return _r.reduce_mean(_m.square(x - mean), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """The standard deviation ``sqrt(reduce_variance(x))`` (TF's ``tf.math.reduce_std``)."""
    with _name_scope(name or "reduce_std"):
        return _m.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def div_no_nan(x: Any, y: Any, name: str | None = None) -> Any:
    """``x / y``, and 0 where ``y`` is 0 (TF's ``tf.div_no_nan``); float dtypes."""
    with _name_scope(name or "div_no_nan"):
        x, y = _convert(x), _convert(y)
        if not x.dtype.is_floating:
            raise TypeError(f"div_no_nan: `x` must be a float tensor. Received: "
                            f"{x.dtype.name}")
        y = _m.cast(y, x.dtype) if y.dtype is not x.dtype else y
        y = y + _a.zeros_like(x)     # both at the broadcast shape: the selects are
        x = x + _a.zeros_like(y)     # elementwise (never TF1's row-selecting where)
        zero = _m.equal(y, _a.zeros_like(y))
        safe = _m.where(zero, _a.ones_like(y), y)
        q = _m.truediv(x, safe)
        return _m.where(zero, _a.zeros_like(q), q)


def scalar_mul(scalar: Any, x: Any, name: str | None = None) -> Any:
    """``scalar * x`` for a scalar (TF's ``tf.scalar_mul``)."""
    s = _convert(scalar) if not isinstance(scalar, (int, float)) else scalar
    if hasattr(s, "shape") and s.shape.rank not in (0, None):
        raise ValueError(f"scalar_mul: `scalar` must be a scalar. Received: shape {s.shape}")
    return _m.multiply(s, x, name=name)


def matrix_transpose(a: Any, name: str = "matrix_transpose", conjugate: bool = False) -> Any:
    """Swap the last two dimensions of ``a`` (rank >= 2, known rank)."""
    x = _convert(a)
    rank = x.shape.rank
    if rank is None or rank < 2:
        raise ValueError(f"matrix_transpose: `a` must have a known rank >= 2. Received: shape "
                         f"{x.shape}")
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    return _a.transpose(x, perm, name=name)


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None,  # noqa: A002 - TF name
         keepdims: Any = None, name: str | None = None, keep_dims: Any = None) -> Any:
    """Vector norms (TF's ``tf.norm``): ``ord`` ``"euclidean"`` / ``"fro"`` / 2 (square
    root of the sum of squares over ``axis``, all elements when None), 1 (sum of
    absolute values) or ``np.inf`` (largest absolute value).

    Raises:
        NotImplementedError: a matrix norm (``axis`` a pair with ``ord`` other than
            ``"euclidean"`` / ``"fro"``).
        ValueError: another ``ord``.
    """
    keep = _keep(keepdims, keep_dims)
    pair = isinstance(axis, (list, tuple)) and len(axis) == 2
    if ord in ("euclidean", "fro") or (ord == 2 and not pair):
        kind = "l2"
    elif pair:
        raise NotImplementedError(f"norm: matrix norm ord={ord!r} over axis={axis} is not "
                                  "available in estcore (euclidean/'fro' is)")
    elif ord == 1:
        kind = "l1"
    elif ord == np.inf:
        kind = "inf"
    else:
        raise ValueError(f"norm: `ord` must be 'euclidean', 'fro', 1, 2 or np.inf. Received: "
                         f"ord={ord!r}")
    with _name_scope(name or "norm"):
        x = _convert(tensor)
        if kind == "l2":
            return _m.sqrt(_r.reduce_sum(_m.square(x), axis=axis, keepdims=keep))
        if kind == "l1":
            return _r.reduce_sum(_m.abs(x), axis=axis, keepdims=keep)
        return _r.reduce_max(_m.abs(x), axis=axis, keepdims=keep)


def eye(num_rows: int, num_columns: int | None = None, batch_shape: Any = None,
        dtype: Any = _dt.float32, name: str | None = None) -> Any:
    """An identity matrix ``[*batch_shape, num_rows, num_columns]`` (TF's ``tf.eye``);
    the sizes are Python ints in estcore."""
    sizes = {"num_rows": num_rows, "num_columns": num_columns}
    for key, v in sizes.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < 0):
            raise TypeError(f"eye: `{key}` must be a non-negative Python int in estcore. "
                            f"Received: {key}={v!r}")
    d = _dt.as_dtype(dtype)
    m = np.eye(num_rows, num_rows if num_columns is None else num_columns, dtype=d.np)
    if batch_shape is not None:
        m = np.broadcast_to(m, (*[int(b) for b in batch_shape], *m.shape)).copy()
    return _constant(m, dtype=d, name=name or "eye")


def tuple_(tensors: list, name: str | None = None,
           control_inputs: list | None = None) -> list:
    """The tensors, each available only once all of them (and ``control_inputs``) are
    computed (TF's ``tf.tuple``); None entries stay None."""
    graph = get_default_graph()
    with _name_scope(name or "tuple"):
        present = [t for t in tensors if t is not None]
        gate = _group(*present, *(control_inputs or []), name="control_dependency")
        with graph.control_dependencies([gate]):
            return [None if t is None else _a.identity(t) for t in tensors]


def identity_n(input: list, name: str | None = None) -> list:  # noqa: A002 - TF name
    """``[tf.identity(t) for t in input]`` (TF's ``tf.identity_n``)."""
    with _name_scope(name or "IdentityN"):
        return [_a.identity(t) for t in input]


def shape_n(input: list, out_type: Any = _dt.int32,  # noqa: A002 - TF name
            name: str | None = None) -> list:
    """``[tf.shape(t) for t in input]`` (TF's ``tf.shape_n``)."""
    with _name_scope(name or "ShapeN"):
        return [_a.shape(t, out_type=out_type) for t in input]


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = _dt.bool,
                  name: str | None = None) -> Any:
    """``mask[..., j] = j < lengths[...]`` of shape ``lengths.shape + [maxlen]`` (TF's
    ``tf.sequence_mask``); ``maxlen`` defaults to ``max(lengths)`` (from values known
    only at run time: a Python-function node, which an export cannot hold)."""
    with _name_scope(name or "SequenceMask"):
        n = _convert(lengths)
        d = _dt.as_dtype(dtype)
        if maxlen is None:
            known = _constant_value(n)
            if known is None:   # the width comes from the values: sized when it runs
                return _mask_of_values(n, d)
            maxlen = int(known.max()) if known.size else 0
        limit = _m.cast(_convert(maxlen), n.dtype)
        mask = _m.less(_i.range(0, limit, 1, dtype=n.dtype), _a.expand_dims(n, -1))
        return mask if d is _dt.bool else _m.cast(mask, d)


def _mask_of_values(n: Any, d: Any) -> Any:
    def mask(lengths: np.ndarray) -> np.ndarray:
        width = int(lengths.max()) if lengths.size else 0
        return (np.arange(width) < lengths[..., None]).astype(d.np)
    out = _py_func(mask, [n], d, stateful=False, name="mask_of_lengths")
    if n.shape.rank is not None:
        out.set_shape([*n.shape.dims, None])
    return out


def verify_tensor_all_finite(t: Any = None, msg: str = "", name: str | None = None,
                             x: Any = None, message: str | None = None) -> Any:
    """``t`` after checking it holds no NaN or Inf (TF's ``tf.verify_tensor_all_finite``,
    ``tf.debugging.assert_all_finite``)."""
    t = x if t is None else t
    return _check_numerics(t, message if message is not None else msg, name=name)


def xw_plus_b(x: Any, weights: Any, biases: Any, name: str | None = None) -> Any:
    """``matmul(x, weights) + biases`` (TF's ``tf.nn.xw_plus_b``)."""
    with _name_scope(name or "xw_plus_b"):
        return _m.add(_m.matmul(x, weights), biases)


def atrous_conv2d(value: Any, filters: Any, rate: int, padding: str,
                  name: str | None = None) -> Any:
    """TF's ``tf.nn.atrous_conv2d``: a stride-1 NHWC ``conv2d`` of ``value`` with
    ``filters`` dilated by ``rate`` (an int >= 1) in height and width."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < 1:
        raise ValueError(f"rate {rate} cannot be less than one")
    return _conv2d(_convert(value), filters, [1, 1, 1, 1], padding,
                   dilations=[1, int(rate), int(rate), 1], name=name or "atrous_conv2d")


def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: Any = None, name: str | None = None,
           input: Any = None, dilations: Any = None) -> Any:  # noqa: A002 - TF name
    """1-D convolution of ``[batch, width, in_channels]`` with filters ``[width,
    in_channels, out_channels]`` (TF1's ``tf.nn.conv1d``), as TF computes it: a 2-D
    convolution over a height-1 image.

    Args:
        value / input: the input, NWC (``data_format`` "NWC" or None).
        filters: the filters.
        stride: an int (or a 1- or 3-element list with ones around it).
        padding: "SAME" or "VALID".
        dilations: an int (or list like ``stride``), default 1.
        use_cudnn_on_gpu: accepted, no effect.
    """
    x = _convert(input if value is None else value)
    if data_format not in (None, "NWC"):
        raise ValueError(f"conv1d: `data_format` must be 'NWC' in estcore. Received: "
                         f"{data_format!r}")
    if filters is None or stride is None or padding is None:
        raise TypeError("conv1d: `filters`, `stride` and `padding` are required")

    def one(v: Any, what: str) -> int:
        if isinstance(v, (list, np.ndarray)) or type(v).__name__ == "tuple":
            v = list(v)
            if len(v) == 3 and v[0] == v[2] == 1:
                v = [v[1]]
            if len(v) != 1:
                raise ValueError(f"conv1d: `{what}` must be an int or [1, n, 1]. Received: "
                                 f"{v}")
            v = v[0]
        return int(v)

    s, d = one(stride, "stride"), one(1 if dilations is None else dilations, "dilations")
    with _name_scope(name or "conv1d"):
        out = _conv2d(_a.expand_dims(x, 1), _a.expand_dims(_convert(filters, x.dtype), 0),
                      [1, 1, s, 1], padding, dilations=[1, 1, d, 1])
        return _a.squeeze(out, axis=[1])


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Any = None,
            name: str | None = None, rate: Any = None) -> Any:
    """TF1's ``tf.nn.dropout``: estcore's dropout, and for a ``keep_prob`` / ``rate`` given
    as a tensor (TF1's ``keep_prob = tf.placeholder(tf.float32)`` idiom) TF's own
    construction: ``x / keep_prob * (uniform >= rate)``, a new mask every run."""
    if (keep_prob is None) == (rate is None):
        raise ValueError("Pass exactly one of `rate` and `keep_prob` to dropout. Received: "
                         f"rate={rate!r}, keep_prob={keep_prob!r}")
    given = keep_prob if rate is None else rate
    if not hasattr(given, "_as_tensor"):
        return _nn_dropout(x, keep_prob=keep_prob, noise_shape=noise_shape, seed=seed,
                           name=name, rate=rate)
    with _name_scope(name or "dropout"):
        v = _convert(x)
        if not v.dtype.is_floating:
            raise TypeError(f"dropout: `x` must be a float tensor. Received: {v.dtype.name}")
        g = _m.cast(_convert(given), v.dtype)
        if g.shape.rank not in (None, 0):
            raise ValueError(f"dropout: `{'keep_prob' if rate is None else 'rate'}` must be a "
                             f"scalar. Received: a tensor of shape {g.shape}")
        drop = 1.0 - g if rate is None else g
        shape = _a.shape(v) if noise_shape is None else noise_shape
        u = _random_uniform(shape, dtype=v.dtype, seed=seed)
        keep = _m.cast(_m.greater_equal(u, drop), v.dtype)
        out = v * (1.0 / (1.0 - drop)) * keep
        out.set_shape(v.shape)  # as TF's: a keep_prob of unknown rank is a scalar
        return out


def crelu(features: Any, name: str | None = None, axis: int = -1) -> Any:
    """``concat([relu(x), relu(-x)], axis)`` (TF's ``tf.nn.crelu``)."""
    with _name_scope(name or "CRelu"):
        x = _convert(features)
        return _a.concat([_relu(x), _relu(_m.negative(x))], axis)


def get_local_variable(name: str, shape: Any = None, dtype: Any = None,
                       initializer: Any = None, regularizer: Any = None,
                       trainable: bool = False, collections: list | None = None,
                       **kwargs: Any) -> Any:
    """``tf.get_variable`` in the LOCAL_VARIABLES collection, not trainable (TF1's
    ``tf.get_local_variable``)."""
    cols = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return _get_variable(name, shape=shape, dtype=dtype, initializer=initializer,
                         regularizer=regularizer, trainable=trainable, collections=cols,
                         **kwargs)


def moving_average_variables(scope: str | None = None) -> list:
    """The variables of the MOVING_AVERAGE_VARIABLES collection (TF1)."""
    return get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def no_regularizer(_: Any) -> None:
    """The regularizer that adds nothing (TF1's ``tf.no_regularizer``)."""
    return None


def as_str_any(value: Any) -> str:
    """``value`` as text: bytes decoded as UTF-8, anything else ``str(value)``."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def path_to_str(path: Any) -> Any:
    """A path-like object as its string (``os.fspath``); other values unchanged."""
    return os.fspath(path) if isinstance(path, os.PathLike) else path
