"""``tf.contrib``: the handful of contrib names real TF1 Estimator code used.

``tf.contrib.layers``: ``l1_regularizer``, ``l2_regularizer``, ``xavier_initializer``,
``flatten``, ``optimize_loss``; ``tf.contrib.training.create_train_op``. Each is a thin
adapter on estcore's layers, initializers, optimizers and collections. Every other
contrib module (``tf.contrib.rnn``, ``tf.contrib.slim``, ...) raises an AttributeError
naming it (docs/compat.md).

Must not: grow into a second library (new behaviour belongs in estcore's packages).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from estcore.compat.v1._namespace import missing, namespace
from estcore.graph.global_step import get_or_create_global_step
from estcore.graph.initializers import VarianceScaling
from estcore.graph.ir import GraphKeys, control_dependencies, get_collection
from estcore.graph.ops.array_ops import identity
from estcore.graph.ops.clip_ops import clip_by_global_norm
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import abs as _abs
from estcore.graph.ops.math_ops import multiply
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import no_op
from estcore.graph.variables import name_scope, trainable_variables
from estcore.layers.core import flatten as _flatten
from estcore.nn import l2_loss
from estcore.summary.ops import scalar
from estcore.train.adagrad import AdagradOptimizer
from estcore.train.adam import AdamOptimizer
from estcore.train.gradient_descent import GradientDescentOptimizer
from estcore.train.momentum import MomentumOptimizer
from estcore.train.optimizer import Optimizer
from estcore.train.rmsprop import RMSPropOptimizer

__all__ = ["layers", "training", "l1_regularizer", "l2_regularizer", "xavier_initializer",
           "flatten", "optimize_loss", "create_train_op"]

__getattr__ = missing("tf.contrib")


def _check_scale(scale: Any, fn: str) -> float:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"{fn}: `scale` must be a number. Received: scale={scale!r}")
    if scale < 0.0:
        raise ValueError(f"{fn}: `scale` must be >= 0. Received: scale={scale!r}")
    return float(scale)


def l2_regularizer(scale: float, scope: str | None = None) -> Callable[[Any], Any] | None:
    """``weights -> scale * sum(weights ** 2) / 2`` (TF1's ``l2_loss``); None for 0."""
    scale = _check_scale(scale, "l2_regularizer")
    if scale == 0.0:
        return None

    def l2(weights: Any) -> Any:
        with name_scope(scope, "l2_regularizer"):
            return multiply(convert_to_tensor(scale, dtype=weights.dtype), l2_loss(weights),
                            name="value")
    return l2


def l1_regularizer(scale: float, scope: str | None = None) -> Callable[[Any], Any] | None:
    """``weights -> scale * sum(|weights|)``; None for 0."""
    scale = _check_scale(scale, "l1_regularizer")
    if scale == 0.0:
        return None

    def l1(weights: Any) -> Any:
        with name_scope(scope, "l1_regularizer"):
            return multiply(convert_to_tensor(scale, dtype=weights.dtype),
                            reduce_sum(_abs(weights)), name="value")
    return l1


def xavier_initializer(uniform: bool = True, seed: int | None = None,
                       dtype: Any = None) -> VarianceScaling:
    """Glorot initialisation: variance ``2 / (fan_in + fan_out)``, uniform or truncated
    normal (TF1's ``variance_scaling_initializer(1.0, "FAN_AVG", uniform)``)."""
    return VarianceScaling(scale=1.0, mode="fan_avg",
                           distribution="uniform" if uniform else "truncated_normal",
                           seed=seed, dtype=dtype)


def flatten(inputs: Any, outputs_collections: Any = None, scope: str | None = None) -> Any:
    """``[batch, ...] -> [batch, k]`` (contrib's signature on ``estcore.layers.flatten``)."""
    return _flatten(inputs, name=scope)


_USE_GLOBAL_STEP = object()


def _with_update_ops(loss: Any, update_ops: Any) -> Any:
    if update_ops is None:
        update_ops = list(dict.fromkeys(get_collection(GraphKeys.UPDATE_OPS)))
    if update_ops:
        with control_dependencies(update_ops):
            barrier = no_op(name="update_barrier")
        with control_dependencies([barrier]):
            loss = identity(loss)
    return loss


def create_train_op(total_loss: Any, optimizer: Optimizer, global_step: Any = _USE_GLOBAL_STEP,
                    update_ops: Any = None, variables_to_train: Any = None,
                    transform_grads_fn: Callable | None = None,
                    summarize_gradients: bool = False, gate_gradients: int = 1,
                    aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                    check_numerics: bool = True) -> Any:
    """TF1's ``tf.contrib.training.create_train_op``: runs the UPDATE_OPS (batch norm's
    moving averages) first, applies the gradients, increments the global step; returns
    a tensor with the loss's value that does all that when run."""
    if global_step is _USE_GLOBAL_STEP:
        global_step = get_or_create_global_step()
    total_loss = _with_update_ops(total_loss, update_ops)
    if variables_to_train is None:
        variables_to_train = trainable_variables()
    grads = optimizer.compute_gradients(total_loss, variables_to_train,
                                        gate_gradients=gate_gradients)
    if transform_grads_fn is not None:
        grads = transform_grads_fn(grads)
    updates = optimizer.apply_gradients(grads, global_step=global_step)
    with name_scope("train_op"), control_dependencies([updates]):
        return identity(total_loss)


def _optimizer_from(optimizer: Any, lr: Any) -> Optimizer:
    names: dict[str, Callable[[Any], Optimizer]] = {
        "Adagrad": AdagradOptimizer, "Adam": AdamOptimizer, "RMSProp": RMSPropOptimizer,
        "SGD": GradientDescentOptimizer,
        "Momentum": lambda rate: MomentumOptimizer(rate, momentum=0.9)}
    if isinstance(optimizer, str):
        if optimizer not in names:
            raise ValueError(f"optimize_loss: optimizer name must be one of {sorted(names)}. "
                             f"Received: optimizer={optimizer!r}")
        return names[optimizer](lr)
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        return optimizer(lr)
    if callable(optimizer):
        made = optimizer(lr) if lr is not None else optimizer()
        if not isinstance(made, Optimizer):
            raise ValueError(f"optimize_loss: the optimizer function returned {made!r}, "
                             "not an Optimizer")
        return made
    raise ValueError(f"optimize_loss: `optimizer` must be a name, an Optimizer, an "
                     f"Optimizer class or a function. Received: {optimizer!r}")


def optimize_loss(loss: Any, global_step: Any, learning_rate: Any, optimizer: Any,
                  gradient_noise_scale: float | None = None,
                  gradient_multipliers: dict | None = None, clip_gradients: Any = None,
                  learning_rate_decay_fn: Callable | None = None, update_ops: Any = None,
                  variables: Any = None, name: str | None = None,
                  summaries: list[str] | None = None,
                  colocate_gradients_with_ops: bool = False,
                  increment_global_step: bool = True) -> Any:
    """TF1's ``tf.contrib.layers.optimize_loss``: the UPDATE_OPS, an optimizer by name
    (``"SGD"``, ``"Adam"``, ``"Adagrad"``, ``"Momentum"``, ``"RMSProp"``), class, instance or
    function, optional learning-rate decay and global-norm clipping, ``loss`` and
    ``learning_rate`` summaries; returns a tensor with the loss's value.

    Raises:
        NotImplementedError: ``gradient_noise_scale`` or ``gradient_multipliers`` given,
            or ``clip_gradients`` a function (estcore does not support them here).
    """
    for arg, value in (("gradient_noise_scale", gradient_noise_scale),
                       ("gradient_multipliers", gradient_multipliers)):
        if value is not None:
            raise NotImplementedError(f"optimize_loss: `{arg}` is not supported by "
                                      "estcore.compat.v1 (docs/compat.md)")
    if callable(clip_gradients):
        raise NotImplementedError("optimize_loss: a clip_gradients function is not supported "
                                  "by estcore.compat.v1; pass a float (global-norm clipping)")
    if global_step is None:
        global_step = get_or_create_global_step()
    with name_scope(name, "OptimizeLoss"):
        loss = _with_update_ops(loss, update_ops)
        lr = None
        if learning_rate is not None:
            lr = learning_rate
            if learning_rate_decay_fn is not None:
                lr = learning_rate_decay_fn(lr, global_step)
        opt = _optimizer_from(optimizer, lr)
        wanted = ["loss", "learning_rate"] if summaries is None else summaries
        if "loss" in wanted:
            scalar("loss", loss)
        if "learning_rate" in wanted and lr is not None:
            scalar("learning_rate", convert_to_tensor(lr))
        var_list = variables if variables is not None else trainable_variables()
        grads = opt.compute_gradients(loss, var_list)
        if clip_gradients is not None:
            gs, vs = zip(*[(g, v) for g, v in grads if g is not None], strict=True)
            clipped, _ = clip_by_global_norm(list(gs), float(clip_gradients))
            grads = list(zip(clipped, vs, strict=True))
        updates = opt.apply_gradients(grads,
                                      global_step=global_step if increment_global_step else None)
        with control_dependencies([updates]):
            return identity(loss, name="train_op")


layers = namespace("tf.contrib.layers", "TF1's tf.contrib.layers, the names estcore has.",
                   l1_regularizer=l1_regularizer, l2_regularizer=l2_regularizer,
                   xavier_initializer=xavier_initializer, flatten=flatten,
                   optimize_loss=optimize_loss)
training = namespace("tf.contrib.training", "TF1's tf.contrib.training, the names estcore "
                     "has.", create_train_op=create_train_op)
