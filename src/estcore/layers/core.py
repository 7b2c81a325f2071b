"""Core layers: ``Dense``, ``Flatten``, ``Dropout`` and their functional forms (TF1).

``Dense`` builds one fused ``Dense`` node (matmul + bias + activation,
:mod:`estcore.graph.ops.fused`). Must not: compute kernels or choose between C and numpy
(the plan compiler does); draw dropout masks itself (``estcore.nn.dropout`` does, with
the graph's seeds).
"""

from __future__ import annotations

import numbers
from typing import Any

from estcore import nn
from estcore._validation import check_bool, check_positive_int, invalid
from estcore.graph import dtypes
from estcore.graph.initializers import zeros_initializer
from estcore.graph.ir import GraphKeys, add_to_collection
from estcore.graph.ops import array_ops, fused
from estcore.graph.ops.array_ops import expand_dims, identity, reshape, stack, transpose
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.variables import name_scope
from estcore.layers.base import Layer, as_initializer, as_regularizer, get_activation

__all__ = ["Dense", "Flatten", "Dropout", "dense", "flatten", "dropout"]

# TF1's default ``bias_initializer``. An initializer argument given as None is not this
# default: the variable then gets ``get_variable``'s (the enclosing variable scope's
# initializer, else glorot_uniform), as in TF1's ``tf.layers``.
_ZEROS = zeros_initializer()


def _fused_dense(x, kernel, bias, activation):
    """``activation(x @ kernel + bias)`` through the graph's fused Dense op."""
    return fused.dense(x, kernel, bias, activation)


class _KernelLayer(Layer):
    """What Dense and Conv2D share: an activation, a ``kernel`` and an optional
    ``bias`` with their initializers and regularizers, and the activity regularizer."""

    def _init_kernel_args(self, activation: Any, use_bias: bool, kernel_initializer: Any,
                          bias_initializer: Any, kernel_regularizer: Any,
                          bias_regularizer: Any, activity_regularizer: Any,
                          kernel_constraint: Any, bias_constraint: Any) -> None:
        self.activation = get_activation(activation)
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = as_initializer(kernel_initializer, "kernel_initializer")
        self.bias_initializer = as_initializer(bias_initializer, "bias_initializer")
        self.kernel_regularizer = as_regularizer(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = as_regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = as_regularizer(activity_regularizer,
                                                   "activity_regularizer")
        if kernel_constraint is not None or bias_constraint is not None:
            raise NotImplementedError("kernel_constraint / bias_constraint are not supported.")
        self.kernel = None
        self.bias = None

    def _build_kernel_and_bias(self, kernel_shape: list) -> None:
        """Variables ``kernel`` (``kernel_shape``) and, with ``use_bias``, ``bias``
        (``kernel_shape[-1]``)."""
        self.kernel = self.add_weight(
            "kernel", kernel_shape,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [kernel_shape[-1]],
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True


class Dense(_KernelLayer):
    """Densely connected layer: ``activation(inputs @ kernel + bias)`` (TF1 ``tf.layers.Dense``).

    Input shape:
        ``(batch, ..., in_features)`` with ``in_features`` known.
    Output shape:
        ``(batch, ..., units)``.

    Args:
        units: positive int, the output size.
        activation: None, a callable or an activation name.
        use_bias: bool.
        kernel_initializer: default None: the enclosing ``variable_scope``'s
            initializer, else ``glorot_uniform_initializer()`` (``get_variable``'s).
        bias_initializer: default ``zeros_initializer()``; None means the same as
            for the kernel (TF1).
        kernel_regularizer / bias_regularizer: callables variable -> scalar
            loss, added to ``REGULARIZATION_LOSSES``.
        activity_regularizer: callable output -> scalar loss.
        trainable, name, dtype: see :class:`~estcore.layers.base.Layer`.

    Variables: ``<name>/kernel`` ``(in_features, units)`` and ``<name>/bias`` ``(units,)``.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = _ZEROS,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.units = check_positive_int("units", units)
        self._init_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    def build(self, input_shape) -> None:
        if input_shape.rank is None or input_shape.rank < 2 or input_shape[-1] is None:
            raise ValueError("The last dimension of the inputs to `Dense` should be defined "
                             f"and the inputs must have rank >= 2. Received: input_shape="
                             f"{_fmt_shape(input_shape)}")
        self._build_kernel_and_bias([input_shape[-1], self.units])

    def call(self, inputs):
        outputs = _fused_dense(inputs, self.kernel, self.bias, self.activation)
        _activity_loss(self, outputs)
        return outputs


def _activity_loss(layer: Layer, outputs) -> None:
    if layer.activity_regularizer is not None:
        with name_scope("ActivityRegularizer"):
            loss = layer.activity_regularizer(outputs)
        if loss is not None:
            layer._losses.append(loss)
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)


def _fmt_shape(shape) -> str:
    if shape.rank is None:
        return "<unknown>"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape.dims) + ")"


def _channels_last(fn, x, data_format: str):
    """``fn`` (an NHWC op) applied to the 4-D ``x`` laid out as ``data_format``: a
    channels-first input is moved to channels last and the result moved back."""
    if data_format == "channels_last":
        return fn(x)
    return transpose(fn(transpose(x, [0, 2, 3, 1])), [0, 3, 1, 2])


def check_data_format(value: Any) -> str:
    if value not in ("channels_last", "channels_first"):
        raise invalid("data_format", "'channels_last' or 'channels_first'", value)
    return value


class Flatten(Layer):
    """Flatten every dimension but the batch one (TF1 ``tf.layers.Flatten``).

    Input shape:
        ``(batch, ...)``; with ``data_format='channels_first'`` a rank-4+
        input is first moved to channels-last order, as Keras does.
    Output shape:
        ``(batch, prod(...))`` (``(batch, 1)`` for a rank-1 input).
    """

    def __init__(self, data_format: str = "channels_last", name: str | None = None,
                 **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.data_format = check_data_format(data_format)

    def call(self, inputs):
        rank = inputs.shape.rank
        if rank is None:
            raise ValueError("`Flatten` needs inputs of known rank. Received: input_shape="
                             "<unknown>")
        if rank == 1:
            return expand_dims(inputs, 1)
        if self.data_format == "channels_first" and rank > 2:
            inputs = transpose(inputs, [0] + list(range(2, rank)) + [1])
        rest = inputs.shape.dims[1:]
        if all(d is not None for d in rest):
            n = 1
            for d in rest:
                n *= d
            return reshape(inputs, [-1, n])
        batch = inputs.shape[0]
        if batch is not None:
            return reshape(inputs, [batch, -1])
        return reshape(inputs, stack([array_ops.shape(inputs)[0], -1]))


def check_rate(value: Any) -> float:
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not 0 <= value < 1):
        raise invalid("rate", "a number in [0, 1)", value)
    return float(value)


class Dropout(Layer):
    """Dropout (TF1 ``tf.layers.Dropout``): in training, zero each element with
    probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        rate: the drop probability, in [0, 1).
        noise_shape: optional shape of the random keep mask (broadcast to the input).
        seed: op seed (combined with the graph seed).

    Call arguments:
        inputs: tensor of any shape.
        training: Python bool or a scalar bool tensor; False (default) is the identity.
    """

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.rate = check_rate(rate)
        self.noise_shape = noise_shape
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise invalid("seed", "None or an int", seed, TypeError)
        self.seed = seed

    def call(self, inputs, training: Any = False):
        if isinstance(training, bool):
            if not training or self.rate == 0.0:
                return identity(inputs)
            return nn.dropout(inputs, rate=self.rate, noise_shape=self.noise_shape,
                              seed=self.seed)
        training = convert_to_tensor(training)
        if training.dtype != dtypes.bool:
            raise invalid("training", "a Python bool or a bool tensor", training, TypeError)
        # The graph's dropout switches itself off at run time on a False tensor.
        return nn.dropout(inputs, rate=self.rate, noise_shape=self.noise_shape,
                          seed=self.seed, training=training)


# ----------------------------------------------------------------------------
# Functional forms
# ----------------------------------------------------------------------------

def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=_ZEROS, kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
          trainable=True, name=None, reuse=None):
    """Functional :class:`Dense` (TF1 ``tf.layers.dense``).

    Args:
        inputs: float tensor ``(batch, ..., in_features)``.
        units: positive int.
        reuse: reuse the variables of a previous layer of the same ``name``.

    Returns:
        ``(batch, ..., units)`` tensor of the input's floating dtype.
    """
    layer = Dense(units, activation=activation, use_bias=use_bias,
                  kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                  kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                  activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                  trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def flatten(inputs, name=None, data_format="channels_last"):
    """Functional :class:`Flatten`: ``(batch, ...)`` -> ``(batch, prod(...))``."""
    return Flatten(data_format=data_format, name=name)(inputs)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Functional :class:`Dropout` (TF1 ``tf.layers.dropout``); identity unless ``training``."""
    return Dropout(rate=rate, noise_shape=noise_shape, seed=seed, name=name)(
        inputs, training=training)
