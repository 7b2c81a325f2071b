"""More of ``tf.keras.layers`` for TF1 ``model_fn``s: the layers without weights
(``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``, ``Reshape``, ``Permute``,
``Lambda``, ``RepeatVector``, global pooling), the merge layers (``Concatenate``, ``Add``,
``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum`` and their functional
forms) and ``Embedding``, over :class:`estcore.layers.base.Layer` (so names, scopes and
variables follow ``tf.layers``: ``embedding/embeddings``).

Keras's defaults: ``LeakyReLU(alpha=0.3)``, ``Embedding``'s ``'uniform'`` initializer is
uniform in ``[-0.05, 0.05)``. ``input_shape`` / ``input_dim``-style Keras arguments are
accepted and unused (there is no Keras ``Model``).

Must not: implement an op (the graph's op modules do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from estcore.compat.v1.keras_layers import (
    _initializer,
    _kernel_args,
    _layer_kwargs,
    get_regularizer,
)
from estcore.graph import dtypes as _dt
from estcore.graph.initializers import RandomUniform
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.variables import name_scope, variable_scope
from estcore.layers import convolutional_extra as _cx
from estcore.layers.base import Layer, get_activation
from estcore.nn import embedding_lookup, leaky_relu, relu, softmax

__all__ = ["Activation", "ReLU", "LeakyReLU", "Softmax", "Reshape", "Permute", "Lambda",
           "RepeatVector", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Concatenate", "Add", "Subtract",
           "Multiply", "Average", "Maximum", "Minimum", "concatenate", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "Embedding", "Layer", "Conv1D",
           "Conv2DTranspose", "SeparableConv2D"]


class Activation(Layer):
    """``activation(inputs)``; ``activation`` a name (``'relu'``, ``'linear'``, ...) or a
    callable."""

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.activation = get_activation(activation)

    def call(self, inputs):
        return inputs if self.activation is None else self.activation(inputs)


class ReLU(Layer):
    """``max(x, 0)``, with Keras's ``max_value``, ``negative_slope`` and ``threshold``."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: `max_value` must be >= 0. Received: {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: `negative_slope` must be >= 0. Received: {negative_slope}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, \
            threshold

    def call(self, inputs):
        x = inputs
        if self.negative_slope == 0 and self.threshold == 0:
            out = relu(x)
        else:
            above = _m.greater_equal(x, self.threshold)
            out = _m.where(above, x, (x - self.threshold) * self.negative_slope)
        if self.max_value is not None:
            out = _m.minimum(out, self.max_value)
        return out


class LeakyReLU(Layer):
    """``x`` where positive, ``alpha * x`` elsewhere (Keras's default ``alpha=0.3``)."""

    def __init__(self, alpha: float = 0.3, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.alpha = alpha

    def call(self, inputs):
        return leaky_relu(inputs, alpha=self.alpha)


class Softmax(Layer):
    """Softmax over ``axis`` (default the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.axis = axis

    def call(self, inputs):
        return softmax(inputs, axis=self.axis)


class Reshape(Layer):
    """Each example reshaped to ``target_shape`` (the batch dimension kept; one entry may
    be -1)."""

    def __init__(self, target_shape: Any, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.target_shape = [int(d) for d in target_shape]

    def call(self, inputs):
        if -1 not in self.target_shape:
            return _a.reshape(inputs, [-1, *self.target_shape])
        batch = _a.shape(inputs)[:1]
        target = convert_to_tensor(self.target_shape, _dt.int32)
        return _a.reshape(inputs, _a.concat([batch, target], 0))


class Permute(Layer):
    """The non-batch dimensions reordered by ``dims`` (1-based, as Keras)."""

    def __init__(self, dims: Any, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.dims = [int(d) for d in dims]
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: `dims` must be a permutation of 1..{len(self.dims)}. "
                             f"Received: {dims}")

    def call(self, inputs):
        return _a.transpose(inputs, [0, *self.dims])


class Lambda(Layer):
    """``function(inputs, **arguments)`` as a layer."""

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable. Received: {function!r}")
        self.function, self.arguments = function, dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)


class RepeatVector(Layer):
    """``[batch, features]`` -> ``[batch, n, features]``."""

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        self.n = int(n)

    def call(self, inputs):
        return _a.tile(_a.expand_dims(inputs, 1), [1, self.n, 1])


class _GlobalPool(Layer):
    _axes: tuple = ()
    _reduce: Callable = staticmethod(_r.reduce_mean)

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'. "
                             f"Received: {data_format!r}")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        axes = list(self._axes)
        if self.data_format == "channels_first":
            axes = [a + 1 for a in axes]
        return type(self)._reduce(inputs, axis=axes)


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps: ``[batch, steps, features]`` -> ``[batch, features]``."""
    _axes = (1,)


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps."""
    _axes = (1,)
    _reduce = staticmethod(_r.reduce_max)


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over height and width: ``[batch, h, w, c]`` -> ``[batch, c]``."""
    _axes = (1, 2)


class GlobalMaxPooling2D(_GlobalPool):
    """Max over height and width."""
    _axes = (1, 2)
    _reduce = staticmethod(_r.reduce_max)


class _Merge(Layer):
    """A layer on a list of tensors."""

    def __init__(self, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} must be called on a list of at least 2 "
                             f"tensors. Received: {inputs!r}")
        xs = [convert_to_tensor(x) for x in inputs]
        with name_scope(self.name):
            self.built = True
            return self._merge(xs)

    def _merge(self, xs: list):
        raise NotImplementedError


class Concatenate(_Merge):
    """Concatenation along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis

    def _merge(self, xs):
        return _a.concat(xs, self.axis)


class Add(_Merge):
    """The elementwise sum."""

    def _merge(self, xs):
        return _m.add_n(xs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"Subtract must be called on exactly 2 tensors. Received "
                             f"{len(xs)}")
        return xs[0] - xs[1]


class Multiply(_Merge):
    """The elementwise product."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """The elementwise mean."""

    def _merge(self, xs):
        return _m.add_n(xs) * (1.0 / len(xs))


class Maximum(_Merge):
    """The elementwise maximum."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = _m.maximum(out, x)
        return out


class Minimum(_Merge):
    """The elementwise minimum."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = _m.minimum(out, x)
        return out


def concatenate(inputs: list, axis: int = -1, **kwargs: Any):
    """Functional ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs: list, **kwargs: Any):
    """Functional ``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any):
    """Functional ``Subtract()(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any):
    """Functional ``Multiply()(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any):
    """Functional ``Average()(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any):
    """Functional ``Maximum()(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any):
    """Functional ``Minimum()(inputs)``."""
    return Minimum(**kwargs)(inputs)


class Embedding(Layer):
    """Rows of an ``[input_dim, output_dim]`` table (variable ``embedding/embeddings``)
    looked up by integer ids: ``[...]`` ids -> ``[..., output_dim]``.

    ``embeddings_initializer='uniform'`` (Keras's default) is uniform in ``[-0.05,
    0.05)``; ``mask_zero`` and ``input_length`` are accepted (no masks in estcore).
    """

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 activity_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, input_length: Any = None, **kwargs: Any):
        super().__init__(**_layer_kwargs(kwargs))
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Embedding: `input_dim` and `output_dim` must be > 0. Received: "
                             f"{input_dim}, {output_dim}")
        if embeddings_constraint is not None:
            raise NotImplementedError("Embedding: `embeddings_constraint` is not supported in "
                                      "estcore")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = (RandomUniform(-0.05, 0.05)
                                       if embeddings_initializer == "uniform" else
                                       _initializer(embeddings_initializer,
                                                    "embeddings_initializer"))
        self.embeddings_regularizer = get_regularizer(embeddings_regularizer)
        self.embeddings = None

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        ids = convert_to_tensor(inputs)
        if not ids.dtype.is_integer:
            ids = _m.cast(ids, _dt.int32)
        if not self.built:
            with variable_scope(None, default_name=self._base_name) as vs:
                self._scope_name = vs.name
                self.embeddings = self.add_weight(
                    "embeddings", [self.input_dim, self.output_dim],
                    dtype=self._dtype or _dt.float32,
                    initializer=self.embeddings_initializer,
                    regularizer=self.embeddings_regularizer)
                self.built = True
                return embedding_lookup(self.embeddings, ids)
        with name_scope(self.name):
            return embedding_lookup(self.embeddings, ids)


class Conv1D(_cx.Conv1D):
    """Keras ``Conv1D(filters, kernel_size, ...)`` over ``tf.layers.Conv1D`` (Keras's
    initializer and regularizer names, ``data_format=None`` is channels-last)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format or "channels_last",
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint,
                         **_kernel_args(kernel_initializer, bias_initializer,
                                        kernel_regularizer, bias_regularizer,
                                        activity_regularizer),
                         **_layer_kwargs(kwargs))


class Conv2DTranspose(_cx.Conv2DTranspose):
    """Keras ``Conv2DTranspose(filters, kernel_size, ...)`` over
    ``tf.layers.Conv2DTranspose``."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format or "channels_last", activation=activation,
                         use_bias=use_bias, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint,
                         **_kernel_args(kernel_initializer, bias_initializer,
                                        kernel_regularizer, bias_regularizer,
                                        activity_regularizer),
                         **_layer_kwargs(kwargs))


class SeparableConv2D(_cx.SeparableConv2D):
    """Keras ``SeparableConv2D(filters, kernel_size, ...)`` over
    ``tf.layers.SeparableConv2D``."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), depth_multiplier=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding,
            data_format=data_format or "channels_last", dilation_rate=dilation_rate,
            depth_multiplier=depth_multiplier, activation=activation, use_bias=use_bias,
            depthwise_initializer=_initializer(depthwise_initializer, "depthwise_initializer"),
            pointwise_initializer=_initializer(pointwise_initializer, "pointwise_initializer"),
            bias_initializer=_initializer(bias_initializer, "bias_initializer"),
            depthwise_regularizer=get_regularizer(depthwise_regularizer),
            pointwise_regularizer=get_regularizer(pointwise_regularizer),
            bias_regularizer=get_regularizer(bias_regularizer),
            activity_regularizer=get_regularizer(activity_regularizer),
            **_layer_kwargs(kwargs))
