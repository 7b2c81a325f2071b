"""``Conv1D``, ``Conv2DTranspose``, ``SeparableConv2D`` and their functional forms, and
the 1-D pooling layers (TF1 ``tf.layers``), with TF1's variable names.

``Conv1D`` is a height-1 ``Conv2D`` on the graph's fused conv node; the transposed and
separable convolutions use :mod:`estcore.graph.ops.conv_extra_ops`; 1-D pooling is 2-D
pooling over a height of 1. Must not: compute convolutions itself; create variables other
than through :class:`~estcore.layers.base.Layer`.
"""

from __future__ import annotations

from typing import Any

from estcore import nn
from estcore._validation import check_positive_int, invalid
from estcore.graph.ops import array_ops as A
from estcore.graph.ops.conv_extra_ops import conv2d_transpose as _tconv
from estcore.graph.ops.conv_extra_ops import separable_conv2d as _sepconv
from estcore.graph.ops.nn_ops import bias_add
from estcore.layers.base import Layer, as_initializer, as_regularizer, get_activation
from estcore.layers.convolutional import _fused_conv2d, check_padding, normalize_tuple
from estcore.layers.core import (
    _ZEROS,
    _activity_loss,
    _channels_last,
    _fmt_shape,
    _KernelLayer,
    check_data_format,
)

__all__ = ["Conv1D", "conv1d", "Conv2DTranspose", "conv2d_transpose", "SeparableConv2D",
           "separable_conv2d", "MaxPooling1D", "AveragePooling1D", "max_pooling1d",
           "average_pooling1d"]


def _check_rank(layer, shape, rank: int, axis: int) -> int:
    if shape.rank != rank or shape[axis] is None:
        raise ValueError(f"`{type(layer).__name__}` expects inputs of rank {rank} with a known "
                         f"channel dimension ({layer.data_format}). Received: input_shape="
                         f"{_fmt_shape(shape)}")
    return shape[axis]


def _act(layer, y):
    if layer.activation is not None:
        y = layer.activation(y)
    _activity_loss(layer, y)
    return y


class Conv1D(_KernelLayer):
    """1-D convolution (TF1 ``tf.layers.Conv1D``): input ``(batch, length, channels)``
    (or channels first), output ``(batch, new_length, filters)``.

    Args: as :class:`~estcore.layers.Conv2D`'s with one int (or 1-tuple) for
    ``kernel_size``, ``strides`` and ``dilation_rate``.

    Variables: ``<name>/kernel`` ``(kernel_size, in_channels, filters)`` and ``<name>/bias``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str = "channels_last",
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = _ZEROS,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, 1, "kernel_size")
        self.strides = normalize_tuple(strides, 1, "strides")
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 1, "dilation_rate")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise invalid("dilation_rate", "1 when strides > 1", dilation_rate)
        self._init_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    def build(self, input_shape) -> None:
        c = _check_rank(self, input_shape, 3, -1 if self.data_format == "channels_last" else 1)
        self._build_kernel_and_bias([self.kernel_size[0], c, self.filters])

    def call(self, inputs):
        x = inputs if self.data_format == "channels_last" else A.transpose(inputs, [0, 2, 1])
        y = _fused_conv2d(A.expand_dims(x, 1), A.expand_dims(self.kernel, 0), self.bias,
                          (1, self.strides[0]), self.padding, self.activation,
                          (1, self.dilation_rate[0]))
        y = A.squeeze(y, [1])
        if self.data_format != "channels_last":
            y = A.transpose(y, [0, 2, 1])
        _activity_loss(self, y)
        return y


class Conv2DTranspose(_KernelLayer):
    """Transposed 2-D convolution (TF1 ``tf.layers.Conv2DTranspose``): output size
    ``in * stride`` (``same``) or ``(in - 1) * stride + kernel`` (``valid``).

    Variables: ``<name>/kernel`` ``(kh, kw, filters, in_channels)`` and ``<name>/bias``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str = "channels_last",
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
                 bias_initializer: Any = _ZEROS, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 trainable: bool = True, name: str | None = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)
        self._init_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    def build(self, input_shape) -> None:
        c = _check_rank(self, input_shape, 4, -1 if self.data_format == "channels_last" else 1)
        self.kernel = self.add_weight(
            "kernel", [*self.kernel_size, self.filters, c],
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters],
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs):
        def f(x):
            y = _tconv(x, self.kernel, None, list(self.strides), self.padding.upper())
            return bias_add(y, self.bias) if self.bias is not None else y
        return _act(self, _channels_last(f, inputs, self.data_format))


class SeparableConv2D(Layer):
    """Depthwise then pointwise 2-D convolution (TF1 ``tf.layers.SeparableConv2D``).

    Variables: ``<name>/depthwise_kernel`` ``(kh, kw, in_channels, depth_multiplier)``,
    ``<name>/pointwise_kernel`` ``(1, 1, in_channels * depth_multiplier, filters)`` and
    ``<name>/bias``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str = "channels_last",
                 dilation_rate: Any = (1, 1), depth_multiplier: int = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = None,
                 pointwise_initializer: Any = None, bias_initializer: Any = _ZEROS,
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if any(c is not None for c in (depthwise_constraint, pointwise_constraint,
                                       bias_constraint)):
            raise NotImplementedError("constraints are not supported.")
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        self.depth_multiplier = check_positive_int("depth_multiplier", depth_multiplier)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = as_initializer(depthwise_initializer,
                                                    "depthwise_initializer")
        self.pointwise_initializer = as_initializer(pointwise_initializer,
                                                    "pointwise_initializer")
        self.bias_initializer = as_initializer(bias_initializer, "bias_initializer")
        self.depthwise_regularizer = as_regularizer(depthwise_regularizer,
                                                    "depthwise_regularizer")
        self.pointwise_regularizer = as_regularizer(pointwise_regularizer,
                                                    "pointwise_regularizer")
        self.bias_regularizer = as_regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = as_regularizer(activity_regularizer,
                                                   "activity_regularizer")
        self.bias = None

    def build(self, input_shape) -> None:
        c = _check_rank(self, input_shape, 4, -1 if self.data_format == "channels_last" else 1)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", [*self.kernel_size, c, self.depth_multiplier],
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", [1, 1, c * self.depth_multiplier, self.filters],
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters],
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs):
        def f(x):
            y = _sepconv(x, self.depthwise_kernel, self.pointwise_kernel,
                         [1, *self.strides, 1], self.padding.upper(), rate=self.dilation_rate)
            return bias_add(y, self.bias) if self.bias is not None else y
        return _act(self, _channels_last(f, inputs, self.data_format))


class _Pooling1D(Layer):
    _op_name = ""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid",
                 data_format: str = "channels_last", name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size")
        self.strides = normalize_tuple(strides, 1, "strides")
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)

    def call(self, inputs):
        if inputs.shape.rank != 3:
            raise ValueError(f"`{type(self).__name__}` expects inputs of rank 3. Received: "
                             f"input_shape={_fmt_shape(inputs.shape)}")
        x = inputs if self.data_format == "channels_last" else A.transpose(inputs, [0, 2, 1])
        pool = getattr(nn, self._op_name)
        y = pool(A.expand_dims(x, 1), ksize=[1, 1, self.pool_size[0], 1],
                 strides=[1, 1, self.strides[0], 1], padding=self.padding.upper())
        y = A.squeeze(y, [1])
        return y if self.data_format == "channels_last" else A.transpose(y, [0, 2, 1])


class MaxPooling1D(_Pooling1D):
    """Max pooling over windows of ``pool_size`` along the length (TF1
    ``tf.layers.MaxPooling1D``); input ``(batch, length, channels)``."""

    _op_name = "max_pool2d"


class AveragePooling1D(_Pooling1D):
    """Average pooling along the length (TF1 ``tf.layers.AveragePooling1D``)."""

    _op_name = "avg_pool2d"


def conv1d(inputs, filters, kernel_size, strides=1, padding="valid",
           data_format="channels_last", dilation_rate=1, activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv1D` (TF1 ``tf.layers.conv1d``)."""
    return Conv1D(filters, kernel_size, strides=strides, padding=padding,
                  data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                  use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                  trainable=trainable, name=name, _reuse=reuse)(inputs)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
                     data_format="channels_last", activation=None, use_bias=True,
                     kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                     bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv2DTranspose` (TF1 ``tf.layers.conv2d_transpose``)."""
    return Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                           data_format=data_format, activation=activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer,
                           bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint,
                           bias_constraint=bias_constraint, trainable=trainable, name=name,
                           _reuse=reuse)(inputs)


def separable_conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
                     data_format="channels_last", dilation_rate=(1, 1), depth_multiplier=1,
                     activation=None, use_bias=True, depthwise_initializer=None,
                     pointwise_initializer=None, bias_initializer=_ZEROS,
                     depthwise_regularizer=None, pointwise_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None,
                     depthwise_constraint=None, pointwise_constraint=None,
                     bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`SeparableConv2D` (TF1 ``tf.layers.separable_conv2d``)."""
    return SeparableConv2D(
        filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
        dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
        use_bias=use_bias, depthwise_initializer=depthwise_initializer,
        pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
        depthwise_regularizer=depthwise_regularizer,
        pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
        activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
        pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint,
        trainable=trainable, name=name, _reuse=reuse)(inputs)


def max_pooling1d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    """Functional :class:`MaxPooling1D` (TF1 ``tf.layers.max_pooling1d``)."""
    return MaxPooling1D(pool_size, strides, padding=padding, data_format=data_format,
                        name=name)(inputs)


def average_pooling1d(inputs, pool_size, strides, padding="valid",
                      data_format="channels_last", name=None):
    """Functional :class:`AveragePooling1D` (TF1 ``tf.layers.average_pooling1d``)."""
    return AveragePooling1D(pool_size, strides, padding=padding, data_format=data_format,
                            name=name)(inputs)
