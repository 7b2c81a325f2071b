"""Batch normalization (TF1 ``tf.layers.BatchNormalization`` / ``batch_normalization``).

The moving-average updates are ops added to ``UPDATE_OPS``. Must not: run them (the
train op does: ``Optimizer.minimize`` or the user's ``control_dependencies``); make the
moving statistics trainable.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from estcore import nn
from estcore._validation import check_bool, check_number, invalid
from estcore.graph import dtypes
from estcore.graph.dtypes import float32
from estcore.graph.initializers import ones_initializer, zeros_initializer
from estcore.graph.ops.array_ops import reshape, size
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast, maximum, where
from estcore.graph.ops.state_ops import assign_sub
from estcore.graph.variables import name_scope
from estcore.layers.base import Layer, as_initializer, as_regularizer
from estcore.layers.core import _fmt_shape
from estcore.nn import moments

__all__ = ["BatchNormalization", "batch_normalization"]

# TF1's default initializers; one given as None gets ``get_variable``'s default instead
# (the variable scope's initializer, else glorot_uniform), as in TF1's ``tf.layers``.
_ZEROS, _ONES = zeros_initializer(), ones_initializer()


class BatchNormalization(Layer):
    """Batch normalization (TF1 ``tf.layers.BatchNormalization``).

    Training (``training=True``): normalize with the batch mean and variance
    over every axis but ``axis`` and add two update ops to ``UPDATE_OPS``:
    ``moving -= (moving - batch_stat) * (1 - momentum)``. Inference
    (``training=False``, the default): normalize with the moving mean and
    variance. ``training`` may be a scalar bool tensor (then the updates keep
    the moving averages unchanged when it is False).

    As TF1's default fused kernel does for rank-4 float32 inputs normalized over
    channels (``fused=None`` or ``True``), the moving variance is updated with
    the unbiased batch variance (``n / (n - 1)``), while the output uses the
    biased one; ``fused=False`` (and every other case) uses the biased variance
    for both.

    Input shape / output shape: any; the same.

    Args:
        axis: the channel axis (int), default -1.
        momentum: moving-average momentum in [0, 1].
        epsilon: added to the variance, > 0.
        center / scale: whether to create ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: initializers (default zeros, ones, zeros, ones);
            None gives the variable ``get_variable``'s default (the enclosing
            ``variable_scope``'s initializer, else glorot_uniform), as TF1.
        beta_regularizer / gamma_regularizer: optional regularizers.
        fused: None / True / False (see above).

    Variables: ``<name>/gamma``, ``<name>/beta`` (trainable), ``<name>/moving_mean``,
    ``<name>/moving_variance`` (global, not trainable), each ``(channels,)``.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = _ZEROS,
                 gamma_initializer: Any = _ONES, moving_mean_initializer: Any = _ZEROS,
                 moving_variance_initializer: Any = _ONES, beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False,
                 renorm_clipping: Any = None, renorm_momentum: float = 0.99,
                 fused: bool | None = None, trainable: bool = True,
                 virtual_batch_size: Any = None, adjustment: Any = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise invalid("axis", "an int", axis, TypeError)
        self.axis = int(axis)
        self.momentum = check_number("momentum", momentum, minimum=0.0, maximum=1.0)
        self.epsilon = check_number("epsilon", epsilon, minimum=0.0, exclusive=True)
        self.center = check_bool("center", center)
        self.scale = check_bool("scale", scale)
        self.beta_initializer = as_initializer(beta_initializer, "beta_initializer")
        self.gamma_initializer = as_initializer(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = as_initializer(moving_mean_initializer,
                                                      "moving_mean_initializer")
        self.moving_variance_initializer = as_initializer(moving_variance_initializer,
                                                          "moving_variance_initializer")
        self.beta_regularizer = as_regularizer(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = as_regularizer(gamma_regularizer, "gamma_regularizer")
        if fused is not None:
            check_bool("fused", fused)
        self.fused = fused
        unsupported = {"beta_constraint": beta_constraint, "gamma_constraint": gamma_constraint,
                       "renorm_clipping": renorm_clipping,
                       "virtual_batch_size": virtual_batch_size, "adjustment": adjustment}
        for arg, value in unsupported.items():
            if value is not None:
                raise NotImplementedError(f"`{arg}` is not supported by estcore's "
                                          "BatchNormalization.")
        if renorm:
            raise NotImplementedError("`renorm=True` is not supported by estcore's "
                                      "BatchNormalization.")
        del renorm_momentum
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self._rank: int | None = None
        self._channel_axis: int | None = None

    def build(self, input_shape) -> None:
        rank = input_shape.rank
        if rank is None:
            raise ValueError("`BatchNormalization` needs inputs of known rank. Received: "
                             "input_shape=<unknown>")
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise invalid("axis", f"an axis of the rank-{rank} inputs", self.axis)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"`BatchNormalization`: axis {self.axis} of the inputs must have "
                             f"a known size. Received: input_shape={_fmt_shape(input_shape)}")
        self._rank, self._channel_axis = rank, axis
        shape = [channels]
        if self.scale:
            self.gamma = self.add_weight("gamma", shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer)
        self.moving_mean = self.add_weight(
            "moving_mean", shape,
            initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(
            "moving_variance", shape,
            initializer=self.moving_variance_initializer,
            trainable=False)
        self.built = True

    def _uses_bessel(self, dtype) -> bool:
        return (self.fused is not False and self._rank == 4 and self._channel_axis in (1, 3)
                and dtype == float32)

    def _broadcastable(self, t):
        """A ``(channels,)`` tensor reshaped to broadcast against the inputs."""
        if self._channel_axis == self._rank - 1:
            return t
        shape = [1] * self._rank
        shape[self._channel_axis] = -1
        return reshape(t, shape)

    def call(self, inputs, training: Any = False):
        if not isinstance(training, bool):
            training = convert_to_tensor(training)
            if training.dtype != dtypes.bool:
                raise invalid("training", "a Python bool or a bool tensor", training, TypeError)
        dtype = inputs.dtype
        if training is False:
            mean, variance = self.moving_mean, self.moving_variance
        else:
            axes = [i for i in range(self._rank) if i != self._channel_axis]
            batch_mean, batch_var = moments(inputs, axes, keepdims=False)
            if training is True:
                mean, variance = batch_mean, batch_var
            else:
                mean = where(training, batch_mean, convert_to_tensor(self.moving_mean))
                variance = where(training, batch_var,
                                 convert_to_tensor(self.moving_variance))
            self._add_moving_average_updates(inputs, batch_mean, batch_var, training, dtype)
        offset = self._broadcastable(self.beta) if self.beta is not None else None
        scale = self._broadcastable(self.gamma) if self.gamma is not None else None
        return nn.batch_normalization(inputs, self._broadcastable(mean),
                                      self._broadcastable(variance), offset, scale,
                                      self.epsilon)

    def _add_moving_average_updates(self, inputs, batch_mean, batch_var, training, dtype):
        var_for_update = batch_var
        if self._uses_bessel(dtype):
            n = 1
            for i, d in enumerate(inputs.shape.dims):
                if i != self._channel_axis:
                    n = None if (n is None or d is None) else n * d
            if n is None:
                n_t = cast(size(inputs), dtype) / float(inputs.shape[self._channel_axis])
            else:
                n_t = constant(np.asarray(float(n), dtype=dtype.as_numpy_dtype))
            factor = n_t / maximum(n_t - 1.0, 1.0)
            var_for_update = batch_var * factor
        decay = constant(np.asarray(1.0 - self.momentum, dtype=dtype.as_numpy_dtype))
        if not isinstance(training, bool):
            decay = decay * cast(training, dtype)
        with name_scope("AssignMovingAvg"):
            upd_mean = assign_sub(self.moving_mean, (self.moving_mean - batch_mean) * decay)
        with name_scope("AssignMovingAvg_1"):
            upd_var = assign_sub(self.moving_variance,
                                 (self.moving_variance - var_for_update) * decay)
        self.add_update(upd_mean)
        self.add_update(upd_var)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=_ZEROS, gamma_initializer=_ONES,
                        moving_mean_initializer=_ZEROS, moving_variance_initializer=_ONES,
                        beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                        gamma_constraint=None, training=False, trainable=True, name=None,
                        reuse=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                        fused=None, virtual_batch_size=None, adjustment=None):
    """Functional :class:`BatchNormalization` (TF1 ``tf.layers.batch_normalization``).

    The moving-average update ops go to ``UPDATE_OPS``; ``Optimizer.minimize``
    runs them (TF1 code wrapping ``minimize`` in
    ``control_dependencies(get_collection(UPDATE_OPS))`` works too).
    """
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
        beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
        beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, renorm=renorm,
        renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
        trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment,
        name=name, _reuse=reuse)
    return layer(inputs, training=training)
