"""2-D convolution layer ``Conv2D`` and ``conv2d`` (TF1 ``tf.layers``).

Builds on the graph core's fused ``conv2d`` node (conv + bias + activation in one
kernel, :mod:`estcore.graph.ops.fused`). Must not: compute the convolution itself or
choose between C and numpy kernels (the plan compiler does); create variables other than
through :class:`~estcore.layers.base.Layer` (TF1 names and reuse).
"""

from __future__ import annotations

import numbers
from typing import Any

from estcore._validation import check_positive_int, invalid
from estcore.graph.ops import fused
from estcore.layers.core import (
    _ZEROS,
    _activity_loss,
    _channels_last,
    _fmt_shape,
    _KernelLayer,
    check_data_format,
)

__all__ = ["Conv2D", "conv2d", "normalize_tuple", "check_padding"]


def normalize_tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` positive ints -> a tuple of ``n`` positive ints."""
    expected = f"a positive int or a tuple of {n} positive ints"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value <= 0:
            raise invalid(name, expected, value)
        return (int(value),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise invalid(name, expected, value, TypeError) from None
    if len(items) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                  for v in items):
        raise invalid(name, expected, value, TypeError)
    if any(v <= 0 for v in items):
        raise invalid(name, expected, value)
    return tuple(int(v) for v in items)


def check_padding(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise invalid("padding", "'valid' or 'same'", value)
    return value.lower()


def _fused_conv2d(x, kernel, bias, strides, padding: str, activation, dilations):
    """``activation(conv2d(x, kernel) + bias)`` (NHWC) through the graph's fused op."""
    return fused.conv2d(x, kernel, bias, strides=list(strides), padding=padding.upper(),
                        activation=activation, dilations=list(dilations))


class Conv2D(_KernelLayer):
    """2-D convolution (TF1 ``tf.layers.Conv2D``): ``activation(conv2d(inputs, kernel) + bias)``.

    Input shape:
        ``(batch, height, width, channels)`` (``channels_last``) or
        ``(batch, channels, height, width)`` (``channels_first``), channels known.
    Output shape:
        ``(batch, new_height, new_width, filters)`` (or channels first).

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints (default 1).
        padding: ``'valid'`` or ``'same'`` (case-insensitive).
        data_format: ``'channels_last'`` (fast path) or ``'channels_first'``.
        dilation_rate: int or tuple of 2 ints; strides and dilation can not
            both exceed 1.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer: as
            :class:`~estcore.layers.Dense`.

    Variables: ``<name>/kernel`` ``(kh, kw, in_channels, filters)`` and ``<name>/bias``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str = "channels_last",
                 dilation_rate: Any = (1, 1), activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = _ZEROS,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise invalid("dilation_rate", "(1, 1) when strides > 1 (both can not exceed 1)",
                          dilation_rate)
        self._init_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape) -> None:
        if input_shape.rank != 4 or input_shape[self._channel_axis()] is None:
            raise ValueError("`Conv2D` expects inputs of rank 4 with a known channel dimension "
                             f"({self.data_format}). Received: input_shape="
                             f"{_fmt_shape(input_shape)}")
        in_channels = input_shape[self._channel_axis()]
        self._build_kernel_and_bias([*self.kernel_size, in_channels, self.filters])

    def call(self, inputs):
        y = _channels_last(lambda x: _fused_conv2d(x, self.kernel, self.bias, self.strides,
                                                   self.padding, self.activation,
                                                   self.dilation_rate),
                           inputs, self.data_format)
        _activity_loss(self, y)
        return y


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv2D` (TF1 ``tf.layers.conv2d``)."""
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding,
                   data_format=data_format, dilation_rate=dilation_rate,
                   activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer,
                   kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                   trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)
