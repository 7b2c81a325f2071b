"""``LinearClassifier`` and ``LinearRegressor``: a linear model over feature columns.

TF 1.15's v1 classes: constructor arguments and defaults, the variables
``linear/linear_model/<column>/weights`` and ``linear/linear_model/bias_weights`` (zeros,
from ``estcore.feature_column``'s ``linear_model``), the summaries ``linear/bias`` (a
scalar for one logit, a histogram for more) and ``linear/fraction_of_zero_weights``, and
the optimizer defaults: the default ``optimizer='Ftrl'`` builds an FtrlOptimizer with
learning rate 0.2; ``optimizer=None`` one with ``min(0.2, 1 / sqrt(len(feature_columns)))``
(both as TF).

Owns the linear logits (:func:`linear_logit_fn_builder`, :func:`linear_model_fn`) and the
two estimator classes. Must not: compute the loss, metrics or predictions (the head does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from estcore.estimator.canned.classifier_heads import binary_logistic_or_multi_class_head
from estcore.estimator.canned.dnn import check_features, check_head, check_no_partitioner
from estcore.estimator.canned.head import Head, regression_head
from estcore.estimator.canned.optimizers import (
    check_optimizer,
    get_optimizer_instance,
    premade_minimize,
)
from estcore.estimator.estimator import Estimator
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.run_config import RunConfig
from estcore.feature_column.layers import linear_model
from estcore.graph import dtypes
from estcore.graph.ops.math_ops import add_n, cast, equal
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.variables import name_scope, variable_scope
from estcore.losses.losses_impl import Reduction
from estcore.summary.ops import histogram, scalar
from estcore.train.ftrl import FtrlOptimizer

__all__ = ["LinearClassifier", "LinearRegressor", "LinearEstimator", "linear_logit_fn_builder",
           "linear_model_fn", "check_sparse_combiner"]

LEARNING_RATE = 0.2


def check_sparse_combiner(sparse_combiner: Any, arg: str = "sparse_combiner") -> str:
    if sparse_combiner not in ("sum", "mean", "sqrtn"):
        raise ValueError(f"`{arg}` must be one of 'mean', 'sqrtn', 'sum'. Received: "
                         f"{arg}={sparse_combiner!r}")
    return sparse_combiner


def default_optimizer(feature_columns: Sequence) -> FtrlOptimizer:
    """The optimizer when ``optimizer`` is None: Ftrl, rate ``min(0.2, 1/sqrt(n))``."""
    return FtrlOptimizer(learning_rate=min(LEARNING_RATE,
                                           1.0 / math.sqrt(max(len(feature_columns), 1))))


def fraction_of_zero(variables: list):
    """The fraction of zero entries over all ``variables`` (float32 scalar)."""
    with name_scope("zero_fraction"):
        zeros = [reduce_sum(cast(equal(v, 0.0), dtypes.float32)) for v in variables]
        total = float(sum(v.shape.num_elements() for v in variables))
        return add_n(zeros) / total if zeros and total else add_n(zeros or [0.0])


def linear_logit_fn_builder(units: int, feature_columns: Any,
                            sparse_combiner: str = "sum") -> Callable:
    """``logit_fn(features) -> logits [batch, units]`` of a linear model (TF 1.15's builder).

    The caller opens the ``linear`` variable scope.
    """

    def linear_logit_fn(features: dict):
        cols_to_vars: dict = {}
        logits = linear_model(features, feature_columns, units=units,
                              sparse_combiner=sparse_combiner, cols_to_vars=cols_to_vars)
        bias = cols_to_vars.pop("bias")[0]
        variables = [v for vs in cols_to_vars.values() for v in vs]
        if units > 1:
            histogram("bias", bias)
        else:
            scalar("bias", bias[0])
        scalar("fraction_of_zero_weights", fraction_of_zero(variables))
        return logits

    return linear_logit_fn


def linear_model_fn(features: dict, labels: Any, mode: str, head: Head, feature_columns: Any,
                    optimizer: Any, partitioner: Any, config: RunConfig | None,
                    sparse_combiner: str = "sum"):
    """The model_fn of the linear estimators: logits and the head's spec under ``linear``."""
    del config  # no partitioning: the config's parameter servers change nothing
    check_features(features)
    check_no_partitioner(partitioner, "partitioner")
    opt = None
    if mode == ModeKeys.TRAIN:
        opt = get_optimizer_instance(optimizer or default_optimizer(feature_columns),
                                     learning_rate=LEARNING_RATE)
    # The head too runs under ``linear``, as TF's: Adam's accumulators are
    # ``linear/head/beta1_power`` in TF's checkpoints.
    with variable_scope("linear"):
        logits = linear_logit_fn_builder(head.logits_dimension, feature_columns,
                                         sparse_combiner)(features)
        return head.create_estimator_spec(
            features=features, mode=mode, labels=labels, logits=logits,
            train_op_fn=None if opt is None else (lambda loss: premade_minimize(opt, loss)))


def _model_fn(head: Head, feature_columns: Any, optimizer: Any, partitioner: Any,
              sparse_combiner: str) -> Callable:
    check_optimizer(optimizer, allow_none=True)
    check_no_partitioner(partitioner, "partitioner")
    check_sparse_combiner(sparse_combiner)
    feature_columns = tuple(feature_columns or ())

    def model_fn(features, labels, mode, config):
        return linear_model_fn(features=features, labels=labels, mode=mode, head=head,
                               feature_columns=feature_columns, optimizer=optimizer,
                               partitioner=partitioner, config=config,
                               sparse_combiner=sparse_combiner)

    return model_fn


class LinearClassifier(Estimator):
    """A linear classifier (TF 1.15's ``tf.estimator.LinearClassifier``).

    Args:
        feature_columns: the model's input columns (dense or categorical).
        model_dir: where checkpoints and summaries go.
        n_classes: number of label classes (2: sigmoid cross-entropy; more: softmax).
        weight_column: a feature key or numeric column of example weights.
        label_vocabulary: the class names when labels are strings.
        optimizer: ``'Ftrl'`` (default, learning rate 0.2), another name, an Optimizer,
            a callable returning one, or None (Ftrl with ``min(0.2, 1/sqrt(n_columns))``).
        config: a RunConfig.
        partitioner: must be None (variables are not partitioned).
        warm_start_from: a checkpoint path or a WarmStartSettings.
        loss_reduction: how the loss is reduced over the batch (``Reduction.SUM``).
        sparse_combiner: how a multivalent categorical column's weights combine:
            ``'sum'``, ``'mean'`` or ``'sqrtn'``.
    """

    def __init__(self, feature_columns: Any, model_dir: Any = None, n_classes: int = 2,
                 weight_column: Any = None, label_vocabulary: Sequence[str] | None = None,
                 optimizer: Any = "Ftrl", config: RunConfig | None = None,
                 partitioner: Any = None, warm_start_from: Any = None,
                 loss_reduction: str = Reduction.SUM, sparse_combiner: str = "sum"):
        head = binary_logistic_or_multi_class_head(n_classes, weight_column, label_vocabulary,
                                                   loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, feature_columns, optimizer, partitioner, sparse_combiner),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class LinearRegressor(Estimator):
    """A linear regressor (TF 1.15's ``tf.estimator.LinearRegressor``).

    Args: as :class:`LinearClassifier`, with ``label_dimension`` in place of
    ``n_classes`` and ``label_vocabulary``; the loss is the squared error.
    """

    def __init__(self, feature_columns: Any, model_dir: Any = None, label_dimension: int = 1,
                 weight_column: Any = None, optimizer: Any = "Ftrl",
                 config: RunConfig | None = None, partitioner: Any = None,
                 warm_start_from: Any = None, loss_reduction: str = Reduction.SUM,
                 sparse_combiner: str = "sum"):
        head = regression_head(label_dimension=label_dimension, weight_column=weight_column,
                               loss_reduction=loss_reduction)
        super().__init__(
            model_fn=_model_fn(head, feature_columns, optimizer, partitioner, sparse_combiner),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)


class LinearEstimator(Estimator):
    """A linear model with a given head (TF 1.15's ``tf.estimator.LinearEstimator``).

    Args: ``head`` (a :class:`~estcore.estimator.canned.head.Head`), then as
    :class:`LinearClassifier` without the arguments the head holds (note TF's order:
    ``sparse_combiner`` before ``warm_start_from``).
    """

    def __init__(self, head: Head, feature_columns: Any, model_dir: Any = None,
                 optimizer: Any = "Ftrl", config: RunConfig | None = None,
                 partitioner: Any = None, sparse_combiner: str = "sum",
                 warm_start_from: Any = None):
        super().__init__(
            model_fn=_model_fn(check_head(head), feature_columns, optimizer, partitioner,
                               sparse_combiner),
            model_dir=model_dir, config=config, warm_start_from=warm_start_from)
