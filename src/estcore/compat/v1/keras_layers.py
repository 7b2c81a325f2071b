"""``tf.keras.regularizers`` and the ``tf.keras.layers`` estcore has, for TF1 ``model_fn``s.

Thin classes over :mod:`estcore.layers` with Keras's constructor arguments and defaults:
initializers, regularizers and activations may be Keras names (``'he_normal'``, ``'l2'``,
``'relu'``); ``data_format=None`` is ``'channels_last'``; ``training=None`` (Keras's learning
phase, 0 in a TF1 graph) is inference; ``input_shape`` / ``input_dim`` are accepted and
unused (there is no Keras ``Model`` here). Variables get the names ``tf.layers`` gives
(``dense/kernel``, ``conv2d/bias``, ``batch_normalization/moving_mean``).

Difference from TF 1.x (documented in docs/compat.md): a Keras layer called in a TF1 graph
kept its regularization losses and batch-norm updates to itself (``layer.losses``,
``layer.updates``), so ``tf.losses.get_regularization_loss()`` and ``UPDATE_OPS`` silently
missed them; here they also go to ``REGULARIZATION_LOSSES`` / ``UPDATE_OPS``, as with
``tf.layers``.

Regularizers follow Keras: ``L1L2(l1, l2)(x) = l1 * sum(|x|) + l2 * sum(x**2)`` (no 1/2).

Must not: implement a layer's computation (estcore.layers does).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.graph.dtypes import float32
from estcore.graph.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    Ones,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
)
from estcore.graph.ops import math_ops
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.layers import convolutional as _conv
from estcore.layers import core as _core
from estcore.layers import normalization as _norm
from estcore.layers import pooling as _pool

__all__ = ["Regularizer", "L1L2", "L1", "L2", "l1", "l2", "l1_l2", "get_regularizer",
           "Dense", "Conv2D", "Convolution2D", "MaxPooling2D", "MaxPool2D",
           "AveragePooling2D", "AvgPool2D", "Flatten", "Dropout", "BatchNormalization"]


# ----------------------------------------------------------------------------
# Regularizers
# ----------------------------------------------------------------------------

class Regularizer:
    """Base class of the Keras regularizers: ``regularizer(weights) -> scalar loss``."""

    def __call__(self, x):
        return constant(0.0)

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        return cls(**config)


def _strength(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
            not np.isfinite(value) or value < 0:
        raise invalid(name, "a finite number >= 0", value)
    return float(np.float32(value))  # Keras keeps the factor as a float32 (K.cast_to_floatx)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)`` (Keras's ``L1L2``; TF 1.15 defaults 0 and 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _strength("l1", l1)
        self.l2 = _strength("l2", l2)

    def __call__(self, x):
        x = convert_to_tensor(x)
        if not x.dtype.is_floating:
            x = cast(x, float32)
        total = None
        if self.l1:
            total = self.l1 * reduce_sum(math_ops.abs(x))
        if self.l2:
            term = self.l2 * reduce_sum(math_ops.square(x))
            total = term if total is None else total + term
        return total if total is not None else constant(np.zeros((), x.dtype.np))

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)`` (Keras's ``L1``, default 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)`` (Keras's ``L2``, default 0.01)."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


def l1(l: float = 0.01) -> L1L2:  # noqa: E741 - Keras's parameter name
    """``l * sum(|x|)``."""
    return L1L2(l1=l)


def l2(l: float = 0.01) -> L1L2:  # noqa: E741 - Keras's parameter name
    """``l * sum(x**2)``."""
    return L1L2(l2=l)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: A002 - Keras's names
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""
    return L1L2(l1=l1, l2=l2)


_REGULARIZER_NAMES = {"l1": lambda: L1L2(l1=0.01), "l2": lambda: L1L2(l2=0.01),
                      "l1_l2": lambda: L1L2(0.01, 0.01)}


def get_regularizer(identifier: Any) -> Any:
    """Keras's ``regularizers.get``: None, a callable, a name (``'l1'``, ``'l2'``,
    ``'l1_l2'``) or a config dict ``{"class_name": "L1L2", "config": {...}}``."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _REGULARIZER_NAMES:
        return _REGULARIZER_NAMES[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L1L2", "L1", "L2"):
        cls = {"L1L2": L1L2, "L1": L1, "L2": L2}[identifier["class_name"]]
        return cls(**identifier.get("config", {}))
    raise invalid("regularizer", "None, a callable or one of 'l1', 'l2', 'l1_l2'", identifier)


# ----------------------------------------------------------------------------
# Initializers by Keras name
# ----------------------------------------------------------------------------

_INITIALIZER_NAMES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones,
    "constant": lambda: Constant(0.0),
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": he_normal, "he_uniform": he_uniform,
    "lecun_normal": lecun_normal, "lecun_uniform": lecun_uniform,
    "random_normal": lambda: RandomNormal(0.0, 0.05),
    "random_uniform": lambda: RandomUniform(-0.05, 0.05),
    "truncated_normal": lambda: TruncatedNormal(0.0, 0.05),
    "variance_scaling": VarianceScaling,
}


def _initializer(value: Any, arg: str) -> Any:
    if value is None:
        # Keras's ``add_weight`` default (its layers never take the variable scope's
        # initializer, unlike tf.layers): glorot_uniform for float weights.
        return GlorotUniform()
    if isinstance(value, str):
        make = _INITIALIZER_NAMES.get(value.lower())
        if make is None:
            raise invalid(arg, "an initializer or one of " + ", ".join(
                repr(k) for k in sorted(_INITIALIZER_NAMES)), value)
        return make()
    return value


_IGNORED_KERAS_KWARGS = ("input_shape", "batch_input_shape", "input_dim", "batch_size",
                         "weights", "autocast")


def _layer_kwargs(kwargs: dict) -> dict:
    for key in _IGNORED_KERAS_KWARGS:
        kwargs.pop(key, None)
    return kwargs


def _kernel_args(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                 activity_regularizer) -> dict:
    return {"kernel_initializer": _initializer(kernel_initializer, "kernel_initializer"),
            "bias_initializer": _initializer(bias_initializer, "bias_initializer"),
            "kernel_regularizer": get_regularizer(kernel_regularizer),
            "bias_regularizer": get_regularizer(bias_regularizer),
            "activity_regularizer": get_regularizer(activity_regularizer)}


# ----------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------

class Dense(_core.Dense):
    """Keras ``Dense(units, ...)`` over :class:`estcore.layers.Dense`."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **_kernel_args(kernel_initializer, bias_initializer,
                                        kernel_regularizer, bias_regularizer,
                                        activity_regularizer),
                         **_layer_kwargs(kwargs))


class Conv2D(_conv.Conv2D):
    """Keras ``Conv2D(filters, kernel_size, ...)`` over :class:`estcore.layers.Conv2D`."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
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


Convolution2D = Conv2D


class MaxPooling2D(_pool.MaxPooling2D):
    """Keras ``MaxPooling2D(pool_size=(2, 2), ...)``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding,
                         data_format=data_format or "channels_last", **_layer_kwargs(kwargs))


MaxPool2D = MaxPooling2D


class AveragePooling2D(_pool.AveragePooling2D):
    """Keras ``AveragePooling2D(pool_size=(2, 2), ...)``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding,
                         data_format=data_format or "channels_last", **_layer_kwargs(kwargs))


AvgPool2D = AveragePooling2D


class Flatten(_core.Flatten):
    """Keras ``Flatten(data_format=None)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(data_format=data_format or "channels_last", **_layer_kwargs(kwargs))


class Dropout(_core.Dropout):
    """Keras ``Dropout(rate, noise_shape=None, seed=None)``; ``training=None`` (the default,
    Keras's learning phase in a TF1 graph) is inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **_layer_kwargs(kwargs))

    def call(self, inputs, training=None):
        return super().call(inputs, training=False if training is None else training)


class BatchNormalization(_norm.BatchNormalization):
    """Keras ``BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, ...)``; initializers
    and regularizers may be Keras names; ``training=None`` is inference."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, fused=None, trainable=True, virtual_batch_size=None,
                 adjustment=None, name=None, **kwargs):
        super().__init__(
            axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
            beta_initializer=_initializer(beta_initializer, "beta_initializer"),
            gamma_initializer=_initializer(gamma_initializer, "gamma_initializer"),
            moving_mean_initializer=_initializer(moving_mean_initializer,
                                                 "moving_mean_initializer"),
            moving_variance_initializer=_initializer(moving_variance_initializer,
                                                     "moving_variance_initializer"),
            beta_regularizer=get_regularizer(beta_regularizer),
            gamma_regularizer=get_regularizer(gamma_regularizer),
            beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, renorm=renorm,
            renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
            trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment,
            name=name, **_layer_kwargs(kwargs))

    def call(self, inputs, training=None):
        return super().call(inputs, training=False if training is None else training)
