"""``DNNClassifier`` and ``DNNRegressor``: a feed-forward network over feature columns.

TF 1.15's v1 classes (what ``tf.compat.v1.estimator`` gives): the constructor arguments
and defaults, the variables (``dnn/hiddenlayer_<i>/kernel`` and ``/bias``,
``dnn/hiddenlayer_<i>/batchnorm_<i>/{gamma,beta,moving_mean,moving_variance}``,
``dnn/logits/kernel`` and ``/bias``, the feature columns' variables under
``dnn/input_from_feature_columns/input_layer/``), Glorot-uniform kernels, dropout after
each hidden layer in training only, then batch normalization (momentum 0.999), the
summaries ``dnn/<layer>/fraction_of_zero_values`` and ``dnn/<layer>/activation``, and
the optimizer default: Adagrad with learning rate 0.05.

Owns the DNN logits (:func:`dnn_logit_fn_builder`, :func:`dnn_model_fn`) and the two
estimator classes. Must not: compute the loss, metrics or predictions (the head does);
hold the feature columns' transformations (``estcore.feature_column``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from estcore.estimator.canned.classifier_heads import binary_logistic_or_multi_class_head
from estcore.estimator.canned.head import Head, regression_head
from estcore.estimator.canned.optimizers import (
    check_optimizer,
    get_optimizer_instance,
    premade_minimize,
)
from estcore.estimator.estimator import Estimator
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.run_config import RunConfig
from estcore.feature_column.layers import input_layer
from estcore.graph import dtypes
from estcore.graph.initializers import glorot_uniform_initializer
from estcore.graph.ops.math_ops import cast, equal
from estcore.graph.ops.reduce_ops import reduce_mean
from estcore.graph.variables import variable_scope
from estcore.layers.core import dense
from estcore.layers.core import dropout as dropout_layer
from estcore.layers.normalization import batch_normalization
from estcore.losses.losses_impl import Reduction
from estcore.nn import relu
from estcore.summary.ops import histogram, scalar

__all__ = ["DNNClassifier", "DNNRegressor", "DNNEstimator", "dnn_logit_fn_builder",
           "dnn_model_fn", "check_head",
           "check_hidden_units", "check_dropout", "check_no_partitioner", "check_features"]

LEARNING_RATE = 0.05


def check_hidden_units(hidden_units: Any, arg: str = "hidden_units") -> tuple[int, ...]:
    """``hidden_units`` as a tuple of positive ints (a clear error otherwise)."""
    if isinstance(hidden_units, (str, bytes)) or not isinstance(hidden_units, Iterable):
        raise ValueError(f"`{arg}` must be an iterable of positive ints, e.g. [10, 10]. "
                         f"Received: {arg}={hidden_units!r}")
    units = tuple(hidden_units)
    for u in units:
        if not isinstance(u, numbers.Integral) or isinstance(u, bool) or u < 1:
            raise ValueError(f"`{arg}` must hold positive ints. Received: {arg}="
                             f"{list(units)!r}")
    return tuple(int(u) for u in units)


def check_dropout(dropout: Any, arg: str = "dropout") -> float | None:
    if dropout is None:
        return None
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
            or not 0.0 <= dropout < 1.0:
        raise ValueError(f"`{arg}` must be None or a probability in [0, 1). Received: "
                         f"{arg}={dropout!r}")
    return float(dropout)


def check_no_partitioner(partitioner: Any, arg: str) -> None:
    """estcore's variables are never partitioned: only None is accepted."""
    if partitioner is not None:
        raise NotImplementedError(
            f"`{arg}` is not supported by estcore: variables are not partitioned (one "
            f"process, or MPI replicas each holding every variable). Pass {arg}=None. "
            f"Received: {arg}={partitioner!r}")


def check_head(head: Any) -> Head:
    """The ``head`` of a ``*Estimator`` class: a :class:`Head` (a clear error otherwise)."""
    if not isinstance(head, Head):
        raise TypeError("`head` must be a head from estcore.estimator.canned (e.g. "
                        "classifier_heads.multi_class_head(3) or head.regression_head()). "
                        f"Received: head={head!r}")
    return head


def check_features(features: Any) -> None:
    if not isinstance(features, dict):
        raise ValueError("features should be a dictionary of `Tensor`s. Given type: "
                         f"{type(features)}")


def add_layer_summary(value: Any, tag: str) -> None:
    """TF's per-layer summaries: the fraction of zeros and a histogram of ``value``."""
    zeros = reduce_mean(cast(equal(value, 0.0), dtypes.float32))
    scalar(f"{tag}/fraction_of_zero_values", zeros)
    histogram(f"{tag}/activation", value)


def dnn_logit_fn_builder(units: int, hidden_units: Sequence[int], feature_columns: Any,
                         activation_fn: Callable, dropout: float | None,
                         input_layer_partitioner: Any, batch_norm: bool) -> Callable:
    """``logit_fn(features, mode) -> logits [batch, units]`` of a DNN (TF 1.15's builder).

    The caller opens the ``dnn`` variable scope; the layers' variables go under it.

    Raises:
        ValueError: ``units`` is not an int.
    """
    if not isinstance(units, numbers.Integral) or isinstance(units, bool):
        raise ValueError(f"units must be an int.  Given type: {type(units)}")
    units = int(units)
    hidden_units = check_hidden_units(hidden_units)
    check_no_partitioner(input_layer_partitioner, "input_layer_partitioner")

    def dnn_logit_fn(features: dict, mode: str):
        training = mode == ModeKeys.TRAIN
        with variable_scope("input_from_feature_columns"):
            net = input_layer(features, feature_columns)
        for i, n in enumerate(hidden_units):
            name = f"hiddenlayer_{i}"
            net = dense(net, n, activation=activation_fn,
                        kernel_initializer=glorot_uniform_initializer(), name=name)
            if dropout is not None and training:
                net = dropout_layer(net, rate=dropout, training=True)
            if batch_norm:
                with variable_scope(name):
                    net = batch_normalization(net, momentum=0.999, training=training,
                                              name=f"batchnorm_{i}")
            add_layer_summary(net, f"dnn/{name}")
        logits = dense(net, units, activation=None,
                       kernel_initializer=glorot_uniform_initializer(), name="logits")
        add_layer_summary(logits, "dnn/logits")
        return logits

    return dnn_logit_fn


def dnn_model_fn(features: dict, labels: Any, mode: str, head: Head,
                 hidden_units: Sequence[int], feature_columns: Any, optimizer: Any = "Adagrad",
                 activation_fn: Callable = relu, dropout: float | None = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 batch_norm: bool = False):
    """The model_fn of the DNN estimators: logits and the head's spec under ``dnn``."""
    del config  # no partitioning: the config's parameter servers change nothing
    check_features(features)
    opt = get_optimizer_instance(optimizer, learning_rate=LEARNING_RATE) \
        if mode == ModeKeys.TRAIN else None
    # The head too runs under ``dnn``, as TF's: Adam's accumulators are
    # ``dnn/head/beta1_power`` in TF's checkpoints.
    with variable_scope("dnn"):
        logit_fn = dnn_logit_fn_builder(
            units=head.logits_dimension, hidden_units=hidden_units,
            feature_columns=feature_columns, activation_fn=activation_fn, dropout=dropout,
            input_layer_partitioner=input_layer_partitioner, batch_norm=batch_norm)
        logits = logit_fn(features=features, mode=mode)
        return head.create_estimator_spec(
            features=features, mode=mode, labels=labels, logits=logits,
            train_op_fn=None if opt is None else (lambda loss: premade_minimize(opt, loss)))


def _model_fn(head: Head, hidden_units: Sequence[int], feature_columns: Any, optimizer: Any,
              activation_fn: Callable, dropout: float | None, input_layer_partitioner: Any,
              batch_norm: bool) -> Callable:
    hidden_units = check_hidden_units(hidden_units)
    dropout = check_dropout(dropout)
    check_optimizer(optimizer)
    check_no_partitioner(input_layer_partitioner, "input_layer_partitioner")
    if not callable(activation_fn):
        raise ValueError(f"`activation_fn` must be callable, e.g. estcore.nn.relu. Received: "
                         f"activation_fn={activation_fn!r}")
    feature_columns = tuple(feature_columns or ())

    def model_fn(features, labels, mode, config):
        return dnn_model_fn(features=features, labels=labels, mode=mode, head=head,
                            hidden_units=hidden_units, feature_columns=feature_columns,
                            optimizer=optimizer, activation_fn=activation_fn, dropout=dropout,
                            input_layer_partitioner=input_layer_partitioner, config=config,
                            batch_norm=batch_norm)

    return model_fn


class DNNClassifier(Estimator):
    """A classifier for TensorFlow DNN models (TF 1.15's ``tf.estimator.DNNClassifier``).

    Args:
        hidden_units: units per hidden layer, e.g. ``[64, 32]``.
        feature_columns: the model's input columns (``estcore.feature_column``).
        model_dir: where checkpoints and summaries go.
        n_classes: number of label classes (2: a binary head, sigmoid cross-entropy;
            more: softmax cross-entropy).
        weight_column: a feature key or numeric column of example weights.
        label_vocabulary: the class names when labels are strings.
        optimizer: ``'Adagrad'`` (default, learning rate 0.05), ``'Adam'``, ``'Ftrl'``,
            ``'RMSProp'``, ``'SGD'``, an Optimizer, or a callable returning one.
        activation_fn: the hidden layers' activation (``estcore.nn.relu``).
        dropout: drop probability after each hidden layer in training, or None.
        input_layer_partitioner: must be None (variables are not partitioned).
        config: a RunConfig.
        warm_start_from: a checkpoint path or a WarmStartSettings.
        loss_reduction: how the loss is reduced over the batch (``Reduction.SUM``).
        batch_norm: batch normalization after each hidden layer.
    """

    def __init__(self, hidden_units: Sequence[int], feature_columns: Any, model_dir: Any = None,
                 n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Sequence[str] | None = None, optimizer: Any = "Adagrad",
                 activation_fn: Callable = relu, dropout: float | None = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 warm_start_from: Any = None, loss_reduction: str = Reduction.SUM,
                 batch_norm: bool = False):
        head = binary_logistic_or_multi_class_head(n_classes, weight_column, label_vocabulary,
                                                   loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, hidden_units, feature_columns, optimizer, activation_fn,
                               dropout, input_layer_partitioner, batch_norm),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNRegressor(Estimator):
    """A regressor for TensorFlow DNN models (TF 1.15's ``tf.estimator.DNNRegressor``).

    Args: as :class:`DNNClassifier`, with ``label_dimension`` (the size of each
    example's label vector) in place of ``n_classes`` and ``label_vocabulary``; the loss
    is the squared error.
    """

    def __init__(self, hidden_units: Sequence[int], feature_columns: Any, model_dir: Any = None,
                 label_dimension: int = 1, weight_column: Any = None,
                 optimizer: Any = "Adagrad", activation_fn: Callable = relu,
                 dropout: float | None = None, input_layer_partitioner: Any = None,
                 config: RunConfig | None = None, warm_start_from: Any = None,
                 loss_reduction: str = Reduction.SUM, batch_norm: bool = False):
        head = regression_head(label_dimension=label_dimension, weight_column=weight_column,
                               loss_reduction=loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, hidden_units, feature_columns, optimizer, activation_fn,
                               dropout, input_layer_partitioner, batch_norm),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class DNNEstimator(Estimator):
    """A DNN with a given head (TF 1.15's ``tf.estimator.DNNEstimator``).

    Args: ``head`` (a :class:`~estcore.estimator.canned.head.Head`, e.g. from
    ``classifier_heads.multi_class_head``), then as :class:`DNNClassifier` without
    ``n_classes``, ``weight_column``, ``label_vocabulary`` and ``loss_reduction`` (the
    head holds them).
    """

    def __init__(self, head: Head, hidden_units: Sequence[int], feature_columns: Any,
                 model_dir: Any = None, optimizer: Any = "Adagrad",
                 activation_fn: Callable = relu, dropout: float | None = None,
                 input_layer_partitioner: Any = None, config: RunConfig | None = None,
                 warm_start_from: Any = None, batch_norm: bool = False):
        super().__init__(
            model_fn=_model_fn(check_head(head), hidden_units, feature_columns, optimizer,
                               activation_fn, dropout, input_layer_partitioner, batch_norm),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)
