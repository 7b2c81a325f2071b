"""``DNNLinearCombinedClassifier`` / ``Regressor``: wide (linear) and deep (DNN) together.

TF 1.15's v1 classes: the logits are the sum of a linear model's (variables under
``linear/``) and a DNN's (under ``dnn/``), each part trained by its own optimizer on its
own variables; the global step is incremented once per step after both updates. Defaults
as TF: ``linear_optimizer='Ftrl'`` with learning rate ``min(0.005, 1 /
sqrt(len(linear_feature_columns)))``, ``dnn_optimizer='Adagrad'`` with 0.001 (names
only: an Optimizer instance keeps its own rate). Summaries as TF: the DNN's, the linear
model's (``linear/bias``, ``linear/fraction_of_zero_weights``) and the linear logits'
(``linear/linear/fraction_of_zero_values``, ``linear/linear/activation``).

Owns the combined model_fn and the two estimator classes. Must not: compute the loss,
metrics or predictions (the head does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from estcore.estimator.canned.classifier_heads import binary_logistic_or_multi_class_head
from estcore.estimator.canned.dnn import (
    add_layer_summary,
    check_dropout,
    check_features,
    check_head,
    check_hidden_units,
    check_no_partitioner,
    dnn_logit_fn_builder,
)
from estcore.estimator.canned.head import Head, regression_head
from estcore.estimator.canned.linear import check_sparse_combiner, linear_logit_fn_builder
from estcore.estimator.canned.optimizers import (
    check_optimizer,
    get_optimizer_instance,
    premade_minimize,
)
from estcore.estimator.estimator import Estimator
from estcore.estimator.run_config import RunConfig
from estcore.graph.global_step import get_global_step
from estcore.graph.ir import GraphKeys, control_dependencies, get_collection
from estcore.graph.ops.state_ops import assign_add, group
from estcore.graph.variables import variable_scope
from estcore.losses.losses_impl import Reduction
from estcore.nn import relu

__all__ = ["DNNLinearCombinedClassifier", "DNNLinearCombinedRegressor",
           "DNNLinearCombinedEstimator", "dnn_linear_combined_model_fn"]

DNN_LEARNING_RATE = 0.001
LINEAR_LEARNING_RATE = 0.005


def linear_learning_rate(num_linear_feature_columns: int) -> float:
    """``min(0.005, 1 / sqrt(n))``: the linear part's default rate (TF's formula)."""
    return min(LINEAR_LEARNING_RATE, 1.0 / math.sqrt(num_linear_feature_columns))


def dnn_linear_combined_model_fn(
        features: dict, labels: Any, mode: str, head: Head,
        linear_feature_columns: Sequence | None = None, linear_optimizer: Any = "Ftrl",
        dnn_feature_columns: Sequence | None = None, dnn_optimizer: Any = "Adagrad",
        dnn_hidden_units: Sequence[int] | None = None, dnn_activation_fn: Callable = relu,
        dnn_dropout: float | None = None, input_layer_partitioner: Any = None,
        config: RunConfig | None = None, batch_norm: bool = False,
        linear_sparse_combiner: str = "sum"):
    """The wide-and-deep model_fn: ``dnn`` logits + ``linear`` logits, two optimizers."""
    del config  # no partitioning: the config's parameter servers change nothing
    check_features(features)
    if not linear_feature_columns and not dnn_feature_columns:
        raise ValueError("Either linear_feature_columns or dnn_feature_columns must be "
                         "defined.")
    dnn_logits = linear_logits = None
    dnn_scope = linear_scope = ""
    if dnn_feature_columns:
        if not dnn_hidden_units:
            raise ValueError("dnn_hidden_units must be defined when dnn_feature_columns is "
                             "specified.")
        with variable_scope("dnn") as scope:
            dnn_scope = scope.name
            dnn_logits = dnn_logit_fn_builder(
                units=head.logits_dimension, hidden_units=dnn_hidden_units,
                feature_columns=dnn_feature_columns, activation_fn=dnn_activation_fn,
                dropout=dnn_dropout, input_layer_partitioner=input_layer_partitioner,
                batch_norm=batch_norm)(features=features, mode=mode)
    if linear_feature_columns:
        with variable_scope("linear") as scope:
            linear_scope = scope.name
            linear_logits = linear_logit_fn_builder(
                units=head.logits_dimension, feature_columns=linear_feature_columns,
                sparse_combiner=linear_sparse_combiner)(features=features)
            add_layer_summary(linear_logits, scope.name)
    if dnn_logits is not None and linear_logits is not None:
        logits = dnn_logits + linear_logits
    else:
        logits = dnn_logits if dnn_logits is not None else linear_logits

    def train_op_fn(loss):
        updates = []
        if dnn_logits is not None:
            opt = get_optimizer_instance(dnn_optimizer, learning_rate=DNN_LEARNING_RATE)
            updates.append(premade_minimize(opt, loss, global_step=None, var_list=get_collection(
                GraphKeys.TRAINABLE_VARIABLES, scope=dnn_scope + "/")))
        if linear_logits is not None:
            opt = get_optimizer_instance(
                linear_optimizer,
                learning_rate=linear_learning_rate(len(linear_feature_columns)))
            updates.append(premade_minimize(opt, loss, global_step=None, var_list=get_collection(
                GraphKeys.TRAINABLE_VARIABLES, scope=linear_scope + "/")))
        with control_dependencies([group(*updates)]):
            return assign_add(get_global_step(), 1).op

    return head.create_estimator_spec(features=features, mode=mode, labels=labels,
                                      train_op_fn=train_op_fn, logits=logits)


def _model_fn(head: Head, linear_feature_columns: Any, linear_optimizer: Any,
              dnn_feature_columns: Any, dnn_optimizer: Any, dnn_hidden_units: Any,
              dnn_activation_fn: Callable, dnn_dropout: Any, input_layer_partitioner: Any,
              batch_norm: bool, linear_sparse_combiner: str) -> Callable:
    linear_feature_columns = tuple(linear_feature_columns or ())
    dnn_feature_columns = tuple(dnn_feature_columns or ())
    if not linear_feature_columns and not dnn_feature_columns:
        raise ValueError("Either linear_feature_columns or dnn_feature_columns must be "
                         "defined.")
    if dnn_feature_columns:
        if not dnn_hidden_units:
            raise ValueError("dnn_hidden_units must be defined when dnn_feature_columns is "
                             "specified.")
        dnn_hidden_units = check_hidden_units(dnn_hidden_units, "dnn_hidden_units")
        check_optimizer(dnn_optimizer, "dnn_optimizer")
    if linear_feature_columns:
        check_optimizer(linear_optimizer, "linear_optimizer")
    dnn_dropout = check_dropout(dnn_dropout, "dnn_dropout")
    check_no_partitioner(input_layer_partitioner, "input_layer_partitioner")
    check_sparse_combiner(linear_sparse_combiner, "linear_sparse_combiner")

    def model_fn(features, labels, mode, config):
        return dnn_linear_combined_model_fn(
            features=features, labels=labels, mode=mode, head=head,
            linear_feature_columns=linear_feature_columns, linear_optimizer=linear_optimizer,
            dnn_feature_columns=dnn_feature_columns, dnn_optimizer=dnn_optimizer,
            dnn_hidden_units=dnn_hidden_units, dnn_activation_fn=dnn_activation_fn,
            dnn_dropout=dnn_dropout, input_layer_partitioner=input_layer_partitioner,
            config=config, batch_norm=batch_norm, linear_sparse_combiner=linear_sparse_combiner)

    return model_fn


class DNNLinearCombinedClassifier(Estimator):
    """A wide-and-deep classifier (TF 1.15's ``tf.estimator.DNNLinearCombinedClassifier``).

    Args:
        model_dir: where checkpoints and summaries go.
        linear_feature_columns: the wide part's columns (dense or categorical).
        linear_optimizer: the wide part's optimizer (``'Ftrl'``; see the module doc).
        dnn_feature_columns: the deep part's dense columns.
        dnn_optimizer: the deep part's optimizer (``'Adagrad'``).
        dnn_hidden_units: units per hidden layer (required with dnn_feature_columns).
        dnn_activation_fn: the hidden layers' activation (``estcore.nn.relu``).
        dnn_dropout: drop probability after each hidden layer in training, or None.
        n_classes, weight_column, label_vocabulary: as ``DNNClassifier``.
        input_layer_partitioner: must be None.
        config, warm_start_from, loss_reduction, batch_norm: as ``DNNClassifier``.
        linear_sparse_combiner: the wide part's ``sparse_combiner``.
    """

    def __init__(self, model_dir: Any = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None,
                 dnn_optimizer: Any = "Adagrad", dnn_hidden_units: Any = None,
                 dnn_activation_fn: Callable = relu, dnn_dropout: float | None = None,
                 n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Sequence[str] | None = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 warm_start_from: Any = None, loss_reduction: str = Reduction.SUM,
                 batch_norm: bool = False, linear_sparse_combiner: str = "sum"):
        head = binary_logistic_or_multi_class_head(n_classes, weight_column, label_vocabulary,
                                                   loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, linear_feature_columns, linear_optimizer,
                               dnn_feature_columns, dnn_optimizer, dnn_hidden_units,
                               dnn_activation_fn, dnn_dropout, input_layer_partitioner,
                               batch_norm, linear_sparse_combiner),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNLinearCombinedRegressor(Estimator):
    """A wide-and-deep regressor (TF 1.15's ``tf.estimator.DNNLinearCombinedRegressor``).

    Args: as :class:`DNNLinearCombinedClassifier`, with ``label_dimension`` in place of
    ``n_classes`` and ``label_vocabulary``; the loss is the squared error.
    """

    def __init__(self, model_dir: Any = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None,
                 dnn_optimizer: Any = "Adagrad", dnn_hidden_units: Any = None,
                 dnn_activation_fn: Callable = relu, dnn_dropout: float | None = None,
                 label_dimension: int = 1, weight_column: Any = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 warm_start_from: Any = None, loss_reduction: str = Reduction.SUM,
                 batch_norm: bool = False, linear_sparse_combiner: str = "sum"):
        head = regression_head(label_dimension=label_dimension, weight_column=weight_column,
                               loss_reduction=loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, linear_feature_columns, linear_optimizer,
                               dnn_feature_columns, dnn_optimizer, dnn_hidden_units,
                               dnn_activation_fn, dnn_dropout, input_layer_partitioner,
                               batch_norm, linear_sparse_combiner),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNLinearCombinedEstimator(Estimator):
    """Wide and deep with a given head (TF 1.15's ``tf.estimator.DNNLinearCombinedEstimator``).

    Args: ``head`` (a :class:`~estcore.estimator.canned.head.Head`), then as
    :class:`DNNLinearCombinedClassifier` without the arguments the head holds and, as in
    TF, without ``warm_start_from``.
    """

    def __init__(self, head: Head, model_dir: Any = None, linear_feature_columns: Any = None,
                 linear_optimizer: Any = "Ftrl", dnn_feature_columns: Any = None,
                 dnn_optimizer: Any = "Adagrad", dnn_hidden_units: Any = None,
                 dnn_activation_fn: Callable = relu, dnn_dropout: float | None = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 batch_norm: bool = False, linear_sparse_combiner: str = "sum"):
        super().__init__(
            model_fn=_model_fn(check_head(head), linear_feature_columns, linear_optimizer,
                               dnn_feature_columns, dnn_optimizer, dnn_hidden_units,
                               dnn_activation_fn, dnn_dropout, input_layer_partitioner,
                               batch_norm, linear_sparse_combiner),
            model_dir=model_dir, config=config)
