"""2-D pooling layers (TF1 ``tf.layers.MaxPooling2D`` / ``AveragePooling2D``).

Must not: create variables (pooling has none); compute the pooling itself (the
``estcore.nn`` pool ops do).
"""

from __future__ import annotations

from typing import Any

from estcore import nn
from estcore.layers.base import Layer
from estcore.layers.convolutional import check_padding, normalize_tuple
from estcore.layers.core import _channels_last, _fmt_shape, check_data_format

__all__ = ["MaxPooling2D", "AveragePooling2D", "max_pooling2d", "average_pooling2d"]


class _Pooling2D(Layer):
    _op_name = ""

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str = "channels_last", name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, 2, "strides"))
        self.padding = check_padding(padding)
        self.data_format = check_data_format(data_format)

    def call(self, inputs):
        if inputs.shape.rank != 4:
            raise ValueError(f"`{type(self).__name__}` expects inputs of rank 4. Received: "
                             f"input_shape={_fmt_shape(inputs.shape)}")
        pool = getattr(nn, self._op_name)
        return _channels_last(
            lambda x: pool(x, ksize=[1, *self.pool_size, 1], strides=[1, *self.strides, 1],
                           padding=self.padding.upper()),
            inputs, self.data_format)


class MaxPooling2D(_Pooling2D):
    """Max pooling over ``pool_size`` windows.

    Input shape:
        ``(batch, height, width, channels)`` (or channels first).
    Output shape:
        ``(batch, pooled_height, pooled_width, channels)``.

    Args:
        pool_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints; None means ``pool_size``.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``.
    """

    _op_name = "max_pool2d"


class AveragePooling2D(_Pooling2D):
    """Average pooling over ``pool_size`` windows (``same`` padding averages only
    the real pixels, as TF). Arguments as :class:`MaxPooling2D`."""

    _op_name = "avg_pool2d"


def max_pooling2d(inputs, pool_size, strides=None, padding="valid",
                  data_format="channels_last", name=None):
    """Functional :class:`MaxPooling2D` (TF1 ``tf.layers.max_pooling2d``)."""
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format,
                        name=name)(inputs)


def average_pooling2d(inputs, pool_size, strides=None, padding="valid",
                      data_format="channels_last", name=None):
    """Functional :class:`AveragePooling2D` (TF1 ``tf.layers.average_pooling2d``)."""
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format,
                            name=name)(inputs)
