"""Keras's shape layers for TF1 ``model_fn``s: ``ZeroPadding1D`` / ``ZeroPadding2D``,
``Cropping1D`` / ``Cropping2D``, ``UpSampling1D`` / ``UpSampling2D`` (nearest) and
``GaussianNoise`` (noise only with ``training=True``: ``training=None`` is inference, as
the other Keras layers here), over :class:`estcore.layers.base.Layer`.

Channels-last only (``data_format=None`` or ``'channels_last'``); the padded / cropped /
repeated dimensions must be known when the graph is built for UpSampling.

Must not: implement an op (the graph's op modules do).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore.compat.v1.array_tf1 import pad as _pad
from estcore.compat.v1.keras_layers import _layer_kwargs
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops.random_ops import random_normal
from estcore.layers.base import Layer

__all__ = ["ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
           "UpSampling2D", "GaussianNoise"]


def _channels_last(data_format: Any, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' is available in "
                         f"estcore. Received: {data_format!r}")


def _pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 0:
        raise ValueError(f"{layer}: `{what}` must be an int >= 0 or a pair of them. "
                         f"Received: {value!r}")
    return pair


def _pairs2d(value: Any, what: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 2, (int(value),) * 2
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f"{layer}: `{what}` must be an int, 2 ints or 2 pairs of ints. "
                         f"Received: {value!r}")
    if all(isinstance(v, (int, np.integer)) for v in value):
        return (int(value[0]),) * 2, (int(value[1]),) * 2
    return _pair(value[0], what, layer), _pair(value[1], what, layer)


class ZeroPadding1D(Layer):
    """Zeros added before / after the steps of ``[batch, steps, channels]``."""

    def __init__(self, padding: Any = 1, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.padding = _pair(padding, "padding", "ZeroPadding1D")

    def call(self, inputs):
        return _pad(inputs, [[0, 0], list(self.padding), [0, 0]])


class ZeroPadding2D(Layer):
    """Zero rows / columns around ``[batch, h, w, channels]`` images (``padding``: an int,
    ``(rows, cols)`` or ``((top, bottom), (left, right))``)."""

    def __init__(self, padding: Any = (1, 1), data_format: Any = None, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        _channels_last(data_format, "ZeroPadding2D")
        self.padding = _pairs2d(padding, "padding", "ZeroPadding2D")

    def call(self, inputs):
        (t, b), (left, r) = self.padding
        return _pad(inputs, [[0, 0], [t, b], [left, r], [0, 0]])


class Cropping1D(Layer):
    """``[batch, steps, channels]`` with ``cropping`` steps removed before / after."""

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.cropping = _pair(cropping, "cropping", "Cropping1D")

    def call(self, inputs):
        a, b = self.cropping
        return inputs[:, a:(-b if b else None), :]


class Cropping2D(Layer):
    """``[batch, h, w, channels]`` with rows / columns removed (``cropping`` as
    ZeroPadding2D's ``padding``)."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: Any = None,
                 **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        _channels_last(data_format, "Cropping2D")
        self.cropping = _pairs2d(cropping, "cropping", "Cropping2D")

    def call(self, inputs):
        (t, b), (left, r) = self.cropping
        return inputs[:, t:(-b if b else None), left:(-r if r else None), :]


def _repeat(x: Any, axis: int, n: int, layer: str) -> Any:
    """Each entry of ``axis`` repeated ``n`` times in place (Keras's repeat_elements)."""
    dims = x.shape.dims
    if x.shape.rank is None or None in dims[1:]:
        raise ValueError(f"{layer}: the non-batch dimensions must be known when the graph is "
                         f"built. Received: shape {x.shape}")
    expanded = _a.expand_dims(x, axis + 1)
    tiled = _a.tile(expanded, [1] * (axis + 1) + [n] + [1] * (x.shape.rank - axis - 1))
    target = [-1] + [d * n if i == axis else d for i, d in enumerate(dims)][1:]
    return _a.reshape(tiled, target)


class UpSampling1D(Layer):
    """Each step of ``[batch, steps, channels]`` repeated ``size`` times."""

    def __init__(self, size: int = 2, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.size = int(size)

    def call(self, inputs):
        return _repeat(inputs, 1, self.size, "UpSampling1D")


class UpSampling2D(Layer):
    """Each row and column of ``[batch, h, w, channels]`` repeated ``size`` times
    (``interpolation='nearest'``; Keras's bilinear resizing is not available)."""

    def __init__(self, size: Any = (2, 2), data_format: Any = None,
                 interpolation: str = "nearest", **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        _channels_last(data_format, "UpSampling2D")
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: only interpolation='nearest' is available in "
                             f"estcore. Received: {interpolation!r}")
        self.size = _pair(size, "size", "UpSampling2D")

    def call(self, inputs):
        return _repeat(_repeat(inputs, 1, self.size[0], "UpSampling2D"), 2, self.size[1],
                       "UpSampling2D")


class GaussianNoise(Layer):
    """``inputs + N(0, stddev)`` noise when ``training=True``; the inputs unchanged
    otherwise (``training=None``: inference)."""

    def __init__(self, stddev: float, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.stddev = float(stddev)

    def call(self, inputs, training=None):
        if training is None or training is False:
            return _a.identity(inputs)
        noisy = _m.add(inputs, random_normal(_a.shape(inputs), stddev=self.stddev,
                                             dtype=inputs.dtype))
        if training is True:
            return noisy
        return _m.where(training, noisy, inputs)
