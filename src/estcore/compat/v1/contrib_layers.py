"""``tf.contrib.layers`` of TF 1.15: ``fully_connected``, ``conv2d``, ``batch_norm`` and
``variance_scaling_initializer``, with contrib's defaults and variable names.

* ``fully_connected``: ``<scope or fully_connected>/weights`` ``[in, out]`` and ``/biases``
  (no biases when a ``normalizer_fn`` is given), ReLU by default, Xavier-uniform weights.
* ``conv2d``: ``<scope or Conv>/weights`` ``[kh, kw, in, out]`` and ``/biases``, NHWC or
  NCHW, ``stride`` and ``rate`` (dilation), ReLU by default.
* ``batch_norm``: ``<scope or BatchNorm>/beta`` (``center``), ``/gamma`` (``scale``: off by
  default, as contrib), ``/moving_mean``, ``/moving_variance``; ``decay`` 0.999;
  updates to ``updates_collections`` (``UPDATE_OPS``) or, with None, run before the output
  is read. Built on :class:`estcore.layers.normalization.BatchNormalization`.
* ``variance_scaling_initializer``: contrib's own rule (``factor``, ``mode`` FAN_IN /
  FAN_OUT / FAN_AVG, ``uniform``): truncated normal with standard deviation
  ``sqrt(1.3 * factor / n)``, or uniform in ``+-sqrt(3 * factor / n)``; ``xavier_initializer``
  is it with ``factor=1.0, mode='FAN_AVG'``.

The variables of all three go to the MODEL_VARIABLES collection too (contrib's
``model_variable``) and to ``variables_collections`` (a list, or a dict by variable
kind); the output to ``outputs_collections``.

Must not: implement layer math (estcore.nn and estcore.layers do).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.initializers import (
    Initializer,
    Ones,
    Zeros,
    fans,
    truncated_standard_normal,
)
from estcore.graph.ir import GraphKeys, add_to_collections, control_dependencies, get_collection_ref
from estcore.graph.ops.array_ops import identity
from estcore.graph.ops.contraction_ops import tensordot
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import matmul
from estcore.graph.variables import get_variable, variable_scope
from estcore.layers.normalization import BatchNormalization
from estcore.nn import bias_add, relu
from estcore.nn import conv2d as _conv2d

__all__ = ["variance_scaling_initializer", "xavier_initializer", "fully_connected",
           "conv2d", "batch_norm"]


_ZEROS = Zeros()   # contrib's default biases_initializer (and batch_norm's beta, moving_mean)
_ONES = Ones()     # batch_norm's default gamma and moving_variance


class _ContribVarianceScaling(Initializer):
    """contrib's ``variance_scaling_initializer`` (see the module docstring)."""

    def __init__(self, factor: float, mode: str, uniform: bool, seed: Any, dtype: Any):
        self.factor, self.mode, self.uniform = float(factor), mode, bool(uniform)
        self.seed, self.dtype = seed, dtype

    def _generate(self, shape, dtype, rng):
        if not dtype.is_floating:
            raise TypeError("Cannot create initializer for non-floating point type.")
        fan_in, fan_out = fans(shape)
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[
            self.mode]
        if self.uniform:
            limit = math.sqrt(3.0 * self.factor / n)
            return rng.uniform(-limit, limit, size=shape)
        return truncated_standard_normal(rng, shape) * math.sqrt(1.3 * self.factor / n)


def variance_scaling_initializer(factor: float = 2.0, mode: str = "FAN_IN",
                                 uniform: bool = False, seed: int | None = None,
                                 dtype: Any = dt.float32) -> Initializer:
    """TF 1.15's ``tf.contrib.layers.variance_scaling_initializer`` (He's by default).

    Raises:
        TypeError: a non-floating ``dtype``; ValueError: an unknown ``mode``.
    """
    if not dt.as_dtype(dtype).is_floating:
        raise TypeError("Cannot create initializer for non-floating point type.")
    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")
    return _ContribVarianceScaling(factor, mode, uniform, seed, dtype)


def xavier_initializer(uniform: bool = True, seed: int | None = None,
                       dtype: Any = dt.float32) -> Initializer:
    """TF 1.15's ``tf.contrib.layers.xavier_initializer``: contrib's variance scaling with
    ``factor=1.0, mode='FAN_AVG'``."""
    return variance_scaling_initializer(1.0, "FAN_AVG", uniform, seed, dtype)


# contrib's default weights_initializer; None instead gives get_variable's default (the
# variable scope's initializer, else glorot_uniform), as contrib's.
_XAVIER = xavier_initializer()


def _collections(variables_collections: Any, kind: str) -> list:
    if isinstance(variables_collections, dict):
        extra = variables_collections.get(kind)
    else:
        extra = variables_collections
    if extra is None:
        extra = []
    elif isinstance(extra, str):
        extra = [extra]
    return [GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES] + list(extra)


def _variable(name: str, shape: list, dtype: Any, initializer: Any, regularizer: Any,
              trainable: bool, variables_collections: Any) -> Any:
    return get_variable(name, shape, dtype=dtype, initializer=initializer,
                        regularizer=regularizer, trainable=trainable,
                        collections=_collections(variables_collections, name))


def _finish(outputs: Any, normalizer_fn: Callable | None, normalizer_params: Any,
            activation_fn: Callable | None, outputs_collections: Any) -> Any:
    if normalizer_fn is not None:
        outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
        outputs = activation_fn(outputs)
    if outputs_collections:
        add_to_collections(outputs_collections, outputs)
    return outputs


def fully_connected(inputs: Any, num_outputs: int, activation_fn: Callable | None = relu,
                    normalizer_fn: Callable | None = None, normalizer_params: Any = None,
                    weights_initializer: Any = _XAVIER, weights_regularizer: Any = None,
                    biases_initializer: Any = _ZEROS, biases_regularizer: Any = None,
                    reuse: Any = None, variables_collections: Any = None,
                    outputs_collections: Any = None, trainable: bool = True,
                    scope: str | None = None) -> Any:
    """TF 1.15's ``tf.contrib.layers.fully_connected``: ``activation_fn(normalizer_fn(x @
    weights + biases))`` over the last axis of ``inputs`` (rank >= 2, last dimension known
    when the graph is built); ``weights_initializer`` Xavier uniform by default (None:
    the variable scope's initializer, else glorot uniform).

    Returns:
        A tensor ``[..., num_outputs]`` of ``inputs``' floating dtype.
    """
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, (int, np.integer)):
        raise ValueError(f"num_outputs type should be one of [int, long], got "
                         f"{type(num_outputs)}.")
    with variable_scope(scope, default_name="fully_connected", values=[inputs], reuse=reuse):
        x = convert_to_tensor(inputs)
        if x.shape.rank is None or x.shape.rank < 2 or x.shape.dims[-1] is None:
            raise ValueError(f"fully_connected: `inputs` must have rank >= 2 and a known last "
                             f"dimension. Received: shape {x.shape}")
        dtype = x.dtype if x.dtype.is_floating else dt.float32
        w = _variable("weights", [x.shape.dims[-1], int(num_outputs)], dtype,
                      weights_initializer, weights_regularizer,
                      trainable, variables_collections)
        y = matmul(x, w) if x.shape.rank == 2 else tensordot(x, w, [[x.shape.rank - 1], [0]])
        if normalizer_fn is None and biases_initializer is not None:
            b = _variable("biases", [int(num_outputs)], dtype, biases_initializer,
                          biases_regularizer, trainable, variables_collections)
            y = bias_add(y, b)
        return _finish(y, normalizer_fn, normalizer_params, activation_fn, outputs_collections)


def _pair(value: Any, what: str) -> list[int]:
    vals = [value, value] if isinstance(value, (int, np.integer)) else list(value)
    if len(vals) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in vals):
        raise ValueError(f"conv2d: `{what}` must be an int >= 1 or a pair of them. Received: "
                         f"{value!r}")
    return [int(v) for v in vals]


def conv2d(inputs: Any, num_outputs: int, kernel_size: Any, stride: Any = 1,
           padding: str = "SAME", data_format: str | None = None, rate: Any = 1,
           activation_fn: Callable | None = relu, normalizer_fn: Callable | None = None,
           normalizer_params: Any = None, weights_initializer: Any = _XAVIER,
           weights_regularizer: Any = None, biases_initializer: Any = _ZEROS,
           biases_regularizer: Any = None, reuse: Any = None, variables_collections: Any = None,
           outputs_collections: Any = None, trainable: bool = True,
           scope: str | None = None) -> Any:
    """TF 1.15's ``tf.contrib.layers.conv2d`` (``convolution2d``) for 4-D inputs: NHWC
    (``data_format`` None or "NHWC") or "NCHW"; ``stride`` with ``rate`` 1, or ``rate``
    (dilation) with stride 1, as contrib requires."""
    fmt = data_format or "NHWC"
    if fmt not in ("NHWC", "NCHW"):
        raise ValueError("data_format has to be either NCHW or NHWC.")
    k, s, r = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(rate, "rate")
    if max(s) > 1 and max(r) > 1:
        raise ValueError("conv2d: `stride` and `rate` cannot both be > 1 (contrib's rule).")
    with variable_scope(scope, default_name="Conv", values=[inputs], reuse=reuse):
        x = convert_to_tensor(inputs)
        if x.shape.rank != 4:
            raise ValueError(f"conv2d: estcore takes 4-D inputs (contrib's convolution of "
                             f"rank 3 / 5 inputs is not available). Received: shape {x.shape}")
        in_c = x.shape.dims[3 if fmt == "NHWC" else 1]
        if in_c is None:
            raise ValueError(f"conv2d: the channel dimension of `inputs` must be known. "
                             f"Received: shape {x.shape}")
        dtype = x.dtype if x.dtype.is_floating else dt.float32
        w = _variable("weights", k + [in_c, int(num_outputs)], dtype,
                      weights_initializer, weights_regularizer,
                      trainable, variables_collections)
        strides = [1, 1] + s if fmt == "NCHW" else [1] + s + [1]
        dil = [1, 1] + r if fmt == "NCHW" else [1] + r + [1]
        y = _conv2d(x, w, strides, padding.upper(), data_format=fmt, dilations=dil)
        if normalizer_fn is None and biases_initializer is not None:
            b = _variable("biases", [int(num_outputs)], dtype, biases_initializer,
                          biases_regularizer, trainable, variables_collections)
            y = bias_add(y, b, data_format=fmt)
        return _finish(y, normalizer_fn, normalizer_params, activation_fn, outputs_collections)


def batch_norm(inputs: Any, decay: float = 0.999, center: bool = True, scale: bool = False,
               epsilon: float = 0.001, activation_fn: Callable | None = None,
               param_initializers: dict | None = None, param_regularizers: dict | None = None,
               updates_collections: Any = GraphKeys.UPDATE_OPS, is_training: Any = True,
               reuse: Any = None, variables_collections: Any = None,
               outputs_collections: Any = None, trainable: bool = True,
               batch_weights: Any = None, fused: Any = None, data_format: str = "NHWC",
               zero_debias_moving_mean: bool = False, scope: str | None = None,
               renorm: bool = False, renorm_clipping: Any = None, renorm_decay: float = 0.99,
               adjustment: Any = None) -> Any:
    """TF 1.15's ``tf.contrib.layers.batch_norm`` over the last axis (NHWC) or axis 1
    (NCHW). ``is_training`` a bool or a bool tensor. ``batch_weights`` and
    ``zero_debias_moving_mean`` are not available (a ValueError says so)."""
    if batch_weights is not None or zero_debias_moving_mean:
        raise ValueError("batch_norm: `batch_weights` and `zero_debias_moving_mean` are not "
                         "available in estcore")
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError("data_format has to be either NCHW or NHWC.")
    inits = dict(param_initializers or {})
    regs = dict(param_regularizers or {})
    unknown = (set(inits) | set(regs)) - {"beta", "gamma", "moving_mean", "moving_variance"}
    if unknown:
        raise ValueError(f"batch_norm: unknown parameter names {sorted(unknown)} in "
                         "param_initializers / param_regularizers")
    x = convert_to_tensor(inputs)
    layer = BatchNormalization(
        axis=1 if data_format == "NCHW" and x.shape.rank != 2 else -1, momentum=decay,
        epsilon=epsilon, center=center, scale=scale,
        beta_initializer=inits.get("beta", _ZEROS), gamma_initializer=inits.get("gamma", _ONES),
        moving_mean_initializer=inits.get("moving_mean", _ZEROS),
        moving_variance_initializer=inits.get("moving_variance", _ONES),
        beta_regularizer=regs.get("beta"), gamma_regularizer=regs.get("gamma"),
        renorm=renorm, renorm_clipping=renorm_clipping, renorm_momentum=renorm_decay,
        trainable=trainable, adjustment=adjustment, name=scope or "BatchNorm",
        _reuse=reuse)
    updates = get_collection_ref(GraphKeys.UPDATE_OPS)
    before = len(updates)
    outputs = layer(x, training=is_training)
    new_updates = updates[before:]
    if updates_collections is None:
        del updates[before:]
        if new_updates:
            with control_dependencies(new_updates):
                outputs = identity(outputs)
    elif updates_collections != GraphKeys.UPDATE_OPS:
        del updates[before:]
        for op in new_updates:
            add_to_collections(updates_collections, op)
    for v in layer.variables:
        kind = v.op.name.rsplit("/", 1)[-1]
        add_to_collections(_collections(variables_collections, kind)[1:], v)
    if activation_fn is not None:
        outputs = activation_fn(outputs)
    if outputs_collections:
        add_to_collections(outputs_collections, outputs)
    return outputs
