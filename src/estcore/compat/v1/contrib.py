"""``tf.contrib``: the handful of contrib names real TF1 Estimator code used.

``tf.contrib.layers``: ``l1_regularizer``, ``l2_regularizer``, ``flatten``,
``optimize_loss`` and (compat/v1/contrib_layers.py) ``fully_connected``, ``conv2d``,
``batch_norm``, ``variance_scaling_initializer``, ``xavier_initializer``;
``tf.contrib.training.create_train_op``;
``tf.contrib.estimator``: the head factories ``binary_classification_head``,
``multi_class_head``, ``regression_head``, ``poisson_regression_head``,
``logistic_regression_head`` (TF 1.15 contrib defaults: ``loss_reduction`` is
``SUM_OVER_BATCH_SIZE``, where the canned heads use SUM) and ``add_metrics``;
``tf.contrib.rnn``: the cells of ``tf.nn.rnn_cell`` (compat/v1/rnn.py);
``tf.contrib.framework``: ``get_or_create_global_step``, ``get_global_step``;
``tf.contrib.predictor``: ``from_saved_model``, ``from_estimator``
(estcore/saved_model/contrib_predictor.py, estcore/estimator/exporting.py). Each is a
thin adapter on estcore's layers, initializers, optimizers, heads and collections. Every other
contrib module (``tf.contrib.slim``, ``tf.contrib.learn``, ...) raises an AttributeError
naming it (docs/compat.md).

Must not: grow into a second library (new behaviour belongs in estcore's packages).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.compat.v1 import rnn as _rnn
from estcore.compat.v1._namespace import missing, namespace
from estcore.compat.v1.contrib_layers import (
    batch_norm,
    conv2d,
    fully_connected,
    variance_scaling_initializer,
    xavier_initializer,
)
from estcore.estimator.canned import classifier_heads
from estcore.estimator.canned import head as head_lib
from estcore.estimator.canned.extenders import add_metrics
from estcore.estimator.exporting import from_estimator as _from_estimator
from estcore.estimator.in_memory_eval import InMemoryEvaluatorHook as _InMemoryEvaluatorHook
from estcore.graph.global_step import get_global_step, get_or_create_global_step
from estcore.graph.initializers import constant_initializer
from estcore.graph.ir import GraphKeys, control_dependencies, get_collection
from estcore.graph.ops import lookup_ops as _lookup
from estcore.graph.ops import math_ops as M
from estcore.graph.ops.array_ops import identity
from estcore.graph.ops.checks import assert_greater_equal, assert_less_equal
from estcore.graph.ops.clip_ops import clip_by_global_norm
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import abs as _abs
from estcore.graph.ops.math_ops import multiply
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import no_op
from estcore.graph.variables import get_variable, name_scope, trainable_variables, variable_scope
from estcore.hooks import early_stopping as _early_stopping
from estcore.layers.core import flatten as _flatten
from estcore.losses.losses_impl import Reduction
from estcore.nn import l2_loss, sigmoid, sigmoid_cross_entropy_with_logits
from estcore.saved_model.contrib_predictor import from_saved_model as _from_saved_model
from estcore.summary.ops import scalar
from estcore.train.adagrad import AdagradOptimizer
from estcore.train.adam import AdamOptimizer
from estcore.train.gradient_descent import GradientDescentOptimizer
from estcore.train.momentum import MomentumOptimizer
from estcore.train.optimizer import Optimizer
from estcore.train.rmsprop import RMSPropOptimizer

__all__ = ["layers", "training", "estimator", "l1_regularizer", "l2_regularizer",
           "xavier_initializer", "flatten", "optimize_loss", "create_train_op",
           "binary_classification_head", "multi_class_head", "regression_head",
           "poisson_regression_head", "logistic_regression_head", "add_metrics", "lookup"]

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
    # TF's variable scope: the slots are OptimizeLoss/<var>/<slot> and a float learning
    # rate is the variable OptimizeLoss/learning_rate, as in TF's checkpoints
    with variable_scope(name, default_name="OptimizeLoss"):
        loss = _with_update_ops(loss, update_ops)
        lr = None
        if learning_rate is not None:
            lr = learning_rate
            if isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool):
                if learning_rate < 0:
                    raise ValueError(f"optimize_loss: `learning_rate` must be >= 0. Received: "
                                     f"learning_rate={learning_rate!r}")
                lr = get_variable("learning_rate", [], trainable=False,
                                  initializer=constant_initializer(float(learning_rate)))
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


# ---------------------------------------------------------------- tf.contrib.estimator heads
_CONTRIB_REDUCTION = Reduction.SUM_OVER_BATCH_SIZE


def binary_classification_head(weight_column: Any = None, thresholds: Any = None,
                               label_vocabulary: Any = None,
                               loss_reduction: str = _CONTRIB_REDUCTION,
                               loss_fn: Callable | None = None, name: str | None = None) -> Any:
    """TF 1.15 ``tf.contrib.estimator.binary_classification_head``: sigmoid cross-entropy
    over logits ``[batch, 1]``; ``loss_reduction`` defaults to SUM_OVER_BATCH_SIZE.

    Args as :func:`estcore.estimator.canned.classifier_heads.binary_classification_head`.
    """
    return classifier_heads.binary_classification_head(
        weight_column=weight_column, thresholds=thresholds, label_vocabulary=label_vocabulary,
        loss_reduction=loss_reduction, loss_fn=loss_fn, name=name)


def multi_class_head(n_classes: int, weight_column: Any = None, label_vocabulary: Any = None,
                     loss_reduction: str = _CONTRIB_REDUCTION, loss_fn: Callable | None = None,
                     name: str | None = None) -> Any:
    """TF 1.15 ``tf.contrib.estimator.multi_class_head``: softmax cross-entropy over
    logits ``[batch, n_classes]``; ``loss_reduction`` defaults to SUM_OVER_BATCH_SIZE.

    Args as :func:`estcore.estimator.canned.classifier_heads.multi_class_head`.
    """
    return classifier_heads.multi_class_head(
        n_classes, weight_column=weight_column, label_vocabulary=label_vocabulary,
        loss_reduction=loss_reduction, loss_fn=loss_fn, name=name)


def regression_head(weight_column: Any = None, label_dimension: int = 1,
                    loss_reduction: str = _CONTRIB_REDUCTION, loss_fn: Callable | None = None,
                    inverse_link_fn: Callable | None = None, name: str | None = None) -> Any:
    """TF 1.15 ``tf.contrib.estimator.regression_head``: squared error over logits
    ``[batch, label_dimension]`` (or ``loss_fn``); ``loss_reduction`` defaults to
    SUM_OVER_BATCH_SIZE.

    Args as :func:`estcore.estimator.canned.head.regression_head`.
    """
    return head_lib.regression_head(
        weight_column=weight_column, label_dimension=label_dimension,
        loss_reduction=loss_reduction, loss_fn=loss_fn, inverse_link_fn=inverse_link_fn,
        name=name)


def _log_poisson_loss(labels: Any, log_input: Any, compute_full_loss: bool) -> Any:
    """``exp(c) - c * z`` (TF's ``log_poisson_loss``), plus Stirling's approximation of
    ``log(z!)`` where ``z > 1`` when ``compute_full_loss``: ``z log z - z + log(2 pi z) / 2``.
    """
    loss = M.subtract(M.exp(log_input), M.multiply(log_input, labels))
    if not compute_full_loss:
        return loss
    safe = M.maximum(labels, 1.0)   # log of labels <= 1 is never used (masked below)
    stirling = M.add(M.subtract(M.multiply(labels, M.log(safe)), labels),
                     M.multiply(0.5, M.log(M.multiply(2.0 * np.pi, safe))))
    return M.add(loss, M.where(M.greater(labels, 1.0), stirling, M.multiply(stirling, 0.0)))


def poisson_regression_head(weight_column: Any = None, label_dimension: int = 1,
                            loss_reduction: str = _CONTRIB_REDUCTION,
                            compute_full_loss: bool = True, name: str | None = None) -> Any:
    """TF 1.15 ``tf.contrib.estimator.poisson_regression_head``: a regression head whose
    logits are log rates: loss ``log_poisson_loss(labels, logits, compute_full_loss)``,
    predictions ``exp(logits)``. Labels are counts (float32 ``[batch, label_dimension]``).
    """
    def poisson_loss(labels: Any, logits: Any) -> Any:
        return _log_poisson_loss(labels, logits, compute_full_loss)
    return regression_head(weight_column=weight_column, label_dimension=label_dimension,
                           loss_reduction=loss_reduction, loss_fn=poisson_loss,
                           inverse_link_fn=M.exp, name=name)


def logistic_regression_head(weight_column: Any = None,
                             loss_reduction: str = _CONTRIB_REDUCTION,
                             name: str | None = None) -> Any:
    """TF 1.15 ``tf.contrib.estimator.logistic_regression_head``: a regression head for
    labels in ``[0, 1]`` (float ``[batch, 1]``; outside the range the run fails with
    "Labels must be in range [0, 1]"): loss sigmoid cross-entropy on logits ``[batch,
    1]``, predictions ``sigmoid(logits)``.
    """
    def logistic_loss(labels: Any, logits: Any) -> Any:
        checks = [assert_greater_equal(labels, 0.0, message="Labels must be in range [0, 1]"),
                  assert_less_equal(labels, 1.0, message="Labels must be in range [0, 1]")]
        with control_dependencies(checks):
            labels = identity(labels)
        return sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return regression_head(weight_column=weight_column, label_dimension=1,
                           loss_reduction=loss_reduction, loss_fn=logistic_loss,
                           inverse_link_fn=sigmoid, name=name)


layers = namespace("tf.contrib.layers", "TF1's tf.contrib.layers, the names estcore has.",
                   l1_regularizer=l1_regularizer, l2_regularizer=l2_regularizer,
                   xavier_initializer=xavier_initializer, flatten=flatten,
                   optimize_loss=optimize_loss, fully_connected=fully_connected,
                   conv2d=conv2d, convolution2d=conv2d, batch_norm=batch_norm,
                   variance_scaling_initializer=variance_scaling_initializer,
                   xavier_initializer_conv2d=xavier_initializer)
training = namespace("tf.contrib.training", "TF1's tf.contrib.training, the names estcore "
                     "has.", create_train_op=create_train_op)
estimator = namespace("tf.contrib.estimator", "TF1's tf.contrib.estimator: head factories "
                      "(TF 1.15 contrib defaults), add_metrics, the early-stopping hooks "
                      "and InMemoryEvaluatorHook.",
                      binary_classification_head=binary_classification_head,
                      multi_class_head=multi_class_head, regression_head=regression_head,
                      poisson_regression_head=poisson_regression_head,
                      logistic_regression_head=logistic_regression_head,
                      add_metrics=add_metrics,
                      InMemoryEvaluatorHook=_InMemoryEvaluatorHook,
                      make_early_stopping_hook=_early_stopping.make_early_stopping_hook,
                      stop_if_higher_hook=_early_stopping.stop_if_higher_hook,
                      stop_if_lower_hook=_early_stopping.stop_if_lower_hook,
                      stop_if_no_decrease_hook=_early_stopping.stop_if_no_decrease_hook,
                      stop_if_no_increase_hook=_early_stopping.stop_if_no_increase_hook)
rnn = namespace("tf.contrib.rnn", "TF1's tf.contrib.rnn: the cells of tf.nn.rnn_cell.",
                RNNCell=_rnn.RNNCell, BasicRNNCell=_rnn.BasicRNNCell,
                BasicLSTMCell=_rnn.BasicLSTMCell, LSTMCell=_rnn.LSTMCell,
                GRUCell=_rnn.GRUCell, MultiRNNCell=_rnn.MultiRNNCell,
                DropoutWrapper=_rnn.DropoutWrapper,
                LSTMStateTuple=_rnn.LSTMStateTuple, static_rnn=_rnn.static_rnn)
framework = namespace("tf.contrib.framework", "TF1's tf.contrib.framework, the names "
                      "estcore has.", get_or_create_global_step=get_or_create_global_step,
                      get_global_step=get_global_step)
lookup = namespace(
    "tf.contrib.lookup", "TF1's tf.contrib.lookup: static tables (graph/ops/lookup_ops.py).",
    HashTable=_lookup.HashTable, IdTableWithHashBuckets=_lookup.IdTableWithHashBuckets,
    KeyValueTensorInitializer=_lookup.KeyValueTensorInitializer,
    TextFileInitializer=_lookup.TextFileInitializer, TextFileIndex=_lookup.TextFileIndex,
    TextFileIdTableInitializer=_lookup.TextFileIdTableInitializer,
    TextFileStringTableInitializer=_lookup.TextFileStringTableInitializer,
    index_table_from_file=_lookup.index_table_from_file,
    index_table_from_tensor=_lookup.index_table_from_tensor,
    index_to_string_table_from_file=_lookup.index_to_string_table_from_file,
    index_to_string_table_from_tensor=_lookup.index_to_string_table_from_tensor)
predictor = namespace("tf.contrib.predictor", "TF1's tf.contrib.predictor: a callable "
                      "over an export or an Estimator.", from_saved_model=_from_saved_model,
                      from_estimator=_from_estimator)
