"""Heads: from a model's logits to predictions, loss, train op, metrics and exports.

A head is TF 1.15's ``_Head``: given ``logits`` of shape ``[D0, ..., DN,
logits_dimension]`` (usually ``[batch_size, logits_dimension]``) it builds the
:class:`~estcore.estimator.model_fn.EstimatorSpec` of each mode. This module owns the
interface (:class:`Head`, :class:`LossSpec`), the checks shared by every head (labels,
example weights and logits against TF's shape rules, with TF's messages), the regression
head and the factories the premade estimators call. The classification heads live in
:mod:`estcore.estimator.canned.classifier_heads`.

Loss reduction: TF 1.15's premade estimators (``tf.estimator.DNNClassifier`` & co. as a
``tf.compat.v1`` program gets them) reduce the weighted loss with ``Reduction.SUM``; so
do estcore's. With ``SUM`` the training summaries hold ``loss`` (the batch sum) and
``average_loss`` (the sum over the summed example weights). Under a multi-process
strategy the optimizer minimizes a ``SUM`` loss times the number of processes (see
:func:`_replica_scaled`), so W processes train as one process on the global batch.

Must not: create variables other than the metrics' local state; know which model made
the logits (the estimators in this package do).
"""

from __future__ import annotations

import collections
import inspect
import numbers
from collections.abc import Callable
from typing import Any

from estcore.estimator.canned.metric_keys import MetricKeys
from estcore.estimator.canned.prediction_keys import PredictionKeys
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec
from estcore.export.export_output import (
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    PredictOutput,
    RegressionOutput,
)
from estcore.feature_column.base import DenseColumn, LazyBuilder
from estcore.feature_column.numeric import numeric_column
from estcore.graph import dtypes
from estcore.graph.global_step import get_global_step
from estcore.graph.ir import GraphKeys, get_default_graph
from estcore.graph.ops.array_ops import expand_dims, ones_like
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import add_n, cast, squared_difference
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import group
from estcore.graph.sparse_tensor import is_sparse
from estcore.graph.variables import name_scope
from estcore.losses.losses_impl import Reduction, compute_weighted_loss
from estcore.metrics.metrics_impl import mean
from estcore.summary.ops import scalar
from estcore.train.strategy_context import current_strategy

__all__ = ["Head", "LossSpec", "RegressionHead", "regression_head", "summary_key",
           "check_loss_reduction", "check_dense_labels", "get_weights", "check_logits",
           "call_loss_fn", "validate_loss_fn_args", "CLASSIFY_SERVING_KEY",
           "REGRESS_SERVING_KEY", "PREDICT_SERVING_KEY"]

CLASSIFY_SERVING_KEY = "classification"
REGRESS_SERVING_KEY = "regression"
PREDICT_SERVING_KEY = "predict"

LossSpec = collections.namedtuple(
    "LossSpec", ["training_loss", "unreduced_loss", "weights", "processed_labels"])
LossSpec.__doc__ = """What :meth:`Head.create_loss` returns.

``training_loss``: the reduced weighted loss (scalar float32); ``unreduced_loss``: the
per-example loss ``[D0, ..., DN, 1]`` (regression: ``[..., label_dimension]``), before
weights; ``weights``: the example weights (float32 ``[D0, ..., DN, 1]``, or the Python
float 1.0 without a weight column); ``processed_labels``: the labels after the vocabulary
lookup, cast and reshape."""


def summary_key(head_name: str | None, key: str) -> str:
    """``key`` for an unnamed head, ``key/head_name`` for a named one (TF's rule)."""
    return f"{key}/{head_name}" if head_name else key


def check_loss_reduction(loss_reduction: Any) -> str:
    if loss_reduction not in Reduction.all() or loss_reduction == Reduction.NONE:
        raise ValueError(f"Invalid loss_reduction: {loss_reduction}")
    return loss_reduction


def validate_loss_fn_args(loss_fn: Callable) -> None:
    """``loss_fn`` takes ``labels`` and ``logits`` and optionally ``features`` (TF's rule)."""
    args = list(inspect.signature(loss_fn).parameters)
    for required in ("labels", "logits"):
        if required not in args:
            raise ValueError(f"loss_fn must contain argument: {required}. "
                             f"Given arguments: {args}")
    extra = sorted(set(args) - {"labels", "logits", "features"})
    if extra:
        raise ValueError(f"loss_fn has unexpected args: {extra}")


def _rank(t: Any) -> int | None:
    return t.shape.ndims


def check_dense_labels(labels: Any, logits: Any, expected_labels_dimension: int):
    """Labels as a tensor ``[D0, ..., DN, expected_labels_dimension]``.

    Labels one rank below the logits get a trailing dimension of 1 (``[batch]`` ->
    ``[batch, 1]``). Shapes known when the graph is built are checked then.

    Raises:
        ValueError: labels are None, sparse, of rank < 2 after the reshape, or their
            last dimension is not ``expected_labels_dimension``.
    """
    if labels is None:
        raise ValueError(
            "You must provide a labels Tensor. Given: None. Suggested troubleshooting steps: "
            "Check that your data contain your label feature. Check that your input_fn "
            "properly parses and returns labels.")
    if isinstance(labels, dict):
        raise ValueError(f"labels must be a Tensor of shape [D0, D1, ... DN, "
                         f"{expected_labels_dimension}] for this head; got a dict with keys "
                         f"{sorted(labels)}. Return the label as the second element of "
                         "input_fn's (features, labels), not a dict.")
    if is_sparse(labels):
        raise ValueError(
            "SparseTensor labels are not supported. labels must be a Tensor of shape "
            f"[D0, D1, ..., DN, {expected_labels_dimension}], e.g. [batch_size, "
            f"{expected_labels_dimension}]. Suggested Fix (1): Check the label feature in "
            f"your data. Each example must contain {expected_labels_dimension} value(s). "
            "If not, your choice of label was probably incorrect. Suggested Fix (2): In your "
            "input_fn, use tf.sparse_tensor_to_dense() to turn labels into a Tensor.")
    with name_scope("labels"):
        labels = convert_to_tensor(labels)
        lr, gr = _rank(labels), _rank(logits)
        if lr is not None and gr is not None and lr == gr - 1:
            labels = expand_dims(labels, -1)
        message = (f"labels shape must be [D0, D1, ... DN, {expected_labels_dimension}]. "
                   "Suggested Fix: check your n_classes argument to the estimator and/or "
                   "the shape of your label.")
        shape = labels.shape
        if shape.ndims is not None:
            if shape.ndims < 2:
                raise ValueError(f"{message} Received: labels of shape {shape}.")
            dim = shape.as_list()[-1]
            if dim is not None and dim != expected_labels_dimension:
                raise ValueError(
                    "Mismatched label shape. Expected labels dimension="
                    f"{expected_labels_dimension}.  Received {dim}. Suggested Fix:If your "
                    "classifier expects one-hot encoding label,check your n_classes argument "
                    "to the estimator and/or the shape of your label. Otherwise, check the "
                    "shape of your label.")
        return labels


def _weight_tensor(features: dict, weight_column: Any):
    """The weight column's dense tensor (a string key means ``numeric_column(key)``)."""
    if isinstance(weight_column, str):
        weight_column = numeric_column(weight_column, shape=(1,))
    if not isinstance(weight_column, DenseColumn):
        raise TypeError("Weight column must be either a string or _DenseColumn. "
                        f"Given type: {type(weight_column)}.")
    return weight_column._get_dense_tensor(LazyBuilder(features))


def get_weights(features: Any, weight_column: Any, logits: Any,
                allow_per_logit_weights: bool = False):
    """The example weights, float32 ``[D0, ..., DN, 1]`` (1.0 without a weight column).

    Weights of rank ``logits' rank - 1`` get a trailing dimension; with
    ``allow_per_logit_weights`` (regression), ``[D0, ..., DN, logits_dimension]`` is
    accepted too.

    Raises:
        TypeError: ``weight_column`` is neither a string nor a numeric column.
        ValueError: the weight feature is missing, not numeric, or of the wrong shape.
    """
    if weight_column is None:
        return 1.0
    with name_scope("weights"):
        weights = _weight_tensor(features, weight_column)
        if not (weights.dtype.is_floating or weights.dtype.is_integer):
            raise ValueError(f"Weight column should be castable to float. Given dtype: "
                             f"{weights.dtype.name}")
        weights = cast(weights, dtypes.float32)
        if _rank(weights) is not None and _rank(logits) is not None:
            if _rank(weights) == _rank(logits) - 1:
                return expand_dims(weights, -1)
            last = weights.shape.as_list()[-1] if _rank(weights) else None
            allowed = (1, logits.shape.as_list()[-1]) if allow_per_logit_weights else (1,)
            if _rank(weights) != _rank(logits) or (last is not None and last not in allowed):
                expected = ("[D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, "
                            "logits_dimension]" if allow_per_logit_weights
                            else "[D0, D1, ... DN] or [D0, D1, ... DN, 1]")
                raise ValueError(f"weights shape must be {expected}. Received: weights of "
                                 f"shape {weights.shape}, logits of shape {logits.shape}.")
        return weights


def check_logits(logits: Any, expected_logits_dimension: int):
    """Logits as float32 ``[D0, ..., DN, expected_logits_dimension]`` (TF's check)."""
    with name_scope("logits"):
        logits = cast(convert_to_tensor(logits), dtypes.float32)
        shape = logits.shape
        if shape.ndims is not None:
            if shape.ndims < 2:
                raise ValueError("logits shape must be [D0, D1, ... DN, logits_dimension], "
                                 f"got {shape}.")
            if shape.as_list()[-1] not in (None, expected_logits_dimension):
                raise ValueError("logits shape must be [D0, D1, ... DN, logits_dimension="
                                 f"{expected_logits_dimension}], got {shape}.")
        return logits


def call_loss_fn(loss_fn: Callable, labels: Any, logits: Any, features: Any,
                 expected_loss_dim: int = 1):
    """A user's ``loss_fn(labels, logits[, features])``, its result shape checked."""
    kwargs = {"features": features} if "features" in inspect.signature(
        loss_fn).parameters else {}
    with name_scope("call_loss_fn"):
        loss = convert_to_tensor(loss_fn(labels=labels, logits=logits, **kwargs))
        want = logits.shape.as_list()[:-1] + [expected_loss_dim] if logits.shape.ndims else None
        got = loss.shape.as_list() if loss.shape.ndims is not None else None
        if want is not None and got is not None and (
                len(got) != len(want) or any(a is not None and b is not None and a != b
                                             for a, b in zip(got, want, strict=False))):
            raise ValueError(f"loss_fn must return Tensor of shape [D0, D1, ... DN, "
                             f"{expected_loss_dim}]. logits_shape: {logits.shape} "
                             f"loss_shape: {loss.shape}")
        return loss


def _replica_scaled(loss: Any, loss_reduction: str):
    """The loss the optimizer minimizes: ``loss``, times the number of training processes
    under a multi-process strategy when the reduction is ``SUM``.

    estcore's data-parallel optimizer averages the processes' gradients (right for a mean
    loss); a summed loss over each process's shard needs the factor so that W processes
    step as one process on the global batch does (TF's strategies summed the replicas'
    gradients instead). Exact for equal shards; the short last batch of a finite input
    weighs its examples by ``W * n_r / N``.
    """
    strategy = current_strategy()
    if strategy is None or loss_reduction != Reduction.SUM:
        return loss
    replicas = strategy.num_replicas_in_sync
    return loss * float(replicas) if replicas > 1 else loss


def _append_update_ops(train_op: Any):
    """``train_op`` grouped with the graph's ``UPDATE_OPS`` (batch-norm moving averages)."""
    update_ops = get_default_graph().get_collection(GraphKeys.UPDATE_OPS)
    return group(train_op, *update_ops) if update_ops else train_op


class Head:
    """TF 1.15's ``_Head``: builds the :class:`EstimatorSpec` of a model from its logits.

    Subclasses define :attr:`name`, :attr:`logits_dimension`, :meth:`create_loss`, and
    the mode-specific pieces ``_predictions(logits)``, ``_export_outputs(predictions)``
    and ``_eval_metric_ops(predictions, loss_spec, regularization_loss)``.
    """

    _name: str | None = None
    _loss_reduction: str = Reduction.SUM

    @property
    def name(self) -> str | None:
        """The head's name: metric and summary keys get the suffix ``/name``."""
        return self._name

    @property
    def logits_dimension(self) -> int:
        """The size of the logits' last dimension."""
        raise NotImplementedError

    def create_loss(self, features: Any, mode: str, logits: Any, labels: Any) -> LossSpec:
        """The loss of ``logits`` against ``labels`` (see :class:`LossSpec`)."""
        raise NotImplementedError

    def _predictions(self, logits: Any) -> dict:
        raise NotImplementedError

    def _export_outputs(self, predictions: dict) -> dict:
        raise NotImplementedError

    def _eval_metric_ops(self, predictions: dict, loss_spec: LossSpec,
                         regularization_loss: Any) -> dict:
        raise NotImplementedError

    def _loss_metric_ops(self, loss_spec: LossSpec, regularization_loss: Any) -> dict:
        """``average_loss`` (and ``regularization_loss``), which every head reports."""
        weights = None if isinstance(loss_spec.weights, float) else loss_spec.weights
        ops = {summary_key(self._name, MetricKeys.LOSS_MEAN): mean(
            loss_spec.unreduced_loss, weights=weights, name=MetricKeys.LOSS_MEAN)}
        if regularization_loss is not None:
            ops[summary_key(self._name, MetricKeys.LOSS_REGULARIZATION)] = mean(
                regularization_loss, name=MetricKeys.LOSS_REGULARIZATION)
        return ops

    def create_estimator_spec(self, features: Any, mode: str, logits: Any, labels: Any = None,
                              optimizer: Any = None, train_op_fn: Callable | None = None,
                              regularization_losses: list | None = None) -> EstimatorSpec:
        """The :class:`EstimatorSpec` of ``mode`` for these logits.

        Args:
            features: the features dict (the weight column is read from it).
            mode: a :class:`ModeKeys` value.
            logits: float tensor ``[D0, ..., DN, logits_dimension]``.
            labels: the labels (required in TRAIN and EVAL).
            optimizer: an Optimizer; TRAIN runs ``optimizer.minimize(loss, global_step)``.
            train_op_fn: ``fn(loss) -> train_op``, used when ``optimizer`` is None.
            regularization_losses: scalar losses added to the training loss.

        Raises:
            ValueError: in TRAIN, both or neither of ``optimizer`` and ``train_op_fn``.
        """
        with name_scope(self._name or "head"):
            logits = check_logits(logits, self.logits_dimension)
            with name_scope("predictions"):
                predictions = self._predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(ModeKeys.PREDICT, predictions=predictions,
                                     export_outputs=self._export_outputs(predictions))
            loss_spec = self.create_loss(features=features, mode=mode, logits=logits,
                                         labels=labels)
            if regularization_losses:
                regularization_loss = add_n(list(regularization_losses))
                loss = add_n([loss_spec.training_loss, regularization_loss])
            else:
                regularization_loss = None
                loss = loss_spec.training_loss
            if mode == ModeKeys.EVAL:
                with name_scope("metrics"):
                    metrics = self._eval_metric_ops(predictions, loss_spec, regularization_loss)
                return EstimatorSpec(ModeKeys.EVAL, predictions=predictions, loss=loss,
                                     eval_metric_ops=metrics)
            train_loss = _replica_scaled(loss, self._loss_reduction)
            if optimizer is not None:
                if train_op_fn is not None:
                    raise ValueError("train_op_fn and optimizer cannot both be set.")
                train_op = optimizer.minimize(train_loss, global_step=get_global_step())
            elif train_op_fn is not None:
                train_op = train_op_fn(train_loss)
            else:
                raise ValueError("train_op_fn and optimizer cannot both be None.")
            train_op = _append_update_ops(train_op)
            mean_loss = None
            if self._loss_reduction == Reduction.SUM:
                weight_sum = reduce_sum(loss_spec.weights * ones_like(loss_spec.unreduced_loss))
                mean_loss = loss_spec.training_loss / weight_sum
        with name_scope(""):   # TF's tags are ``loss``, ... whatever the caller's scope
            scalar(summary_key(self._name, MetricKeys.LOSS), loss)
            if mean_loss is not None:
                scalar(summary_key(self._name, MetricKeys.LOSS_MEAN), mean_loss)
            if regularization_loss is not None:
                scalar(summary_key(self._name, MetricKeys.LOSS_REGULARIZATION),
                       regularization_loss)
        return EstimatorSpec(ModeKeys.TRAIN, predictions=predictions, loss=loss,
                             train_op=train_op)


class RegressionHead(Head):
    """Regression with the squared error (TF 1.15's ``_RegressionHeadWithMeanSquaredErrorLoss``).

    Predictions: ``predictions`` (``inverse_link_fn(logits)``, or the logits), plus
    ``logits`` when there is an ``inverse_link_fn``. Eval metrics: ``average_loss``,
    ``prediction/mean``, ``label/mean``. Exports: ``regression`` (also the default
    signature) and ``predict``.
    """

    def __init__(self, label_dimension: int, weight_column: Any = None,
                 loss_reduction: str = Reduction.SUM, loss_fn: Callable | None = None,
                 inverse_link_fn: Callable | None = None, name: str | None = None):
        if not isinstance(label_dimension, numbers.Integral) \
                or isinstance(label_dimension, bool) or label_dimension < 1:
            raise ValueError(f"Invalid label_dimension {label_dimension}.")
        self._logits_dimension = int(label_dimension)
        self._weight_column = weight_column
        self._loss_reduction = check_loss_reduction(loss_reduction)
        if loss_fn:
            validate_loss_fn_args(loss_fn)
        self._loss_fn = loss_fn
        self._inverse_link_fn = inverse_link_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._logits_dimension

    def create_loss(self, features: Any, mode: str, logits: Any, labels: Any) -> LossSpec:
        del mode  # the same loss in every mode
        logits = convert_to_tensor(logits)
        labels = check_dense_labels(labels, logits, self._logits_dimension)
        if labels.dtype.is_string:
            raise ValueError("Regression labels must be numbers; got a string tensor.")
        labels = cast(labels, dtypes.float32)
        if self._loss_fn:
            unweighted = call_loss_fn(self._loss_fn, labels, logits, features,
                                      expected_loss_dim=self._logits_dimension)
        else:
            unweighted = squared_difference(labels, logits)
        weights = get_weights(features, self._weight_column, logits,
                              allow_per_logit_weights=True)
        training_loss = compute_weighted_loss(unweighted, weights=weights,
                                              reduction=self._loss_reduction)
        return LossSpec(training_loss, unweighted, weights, labels)

    def _predictions(self, logits: Any) -> dict:
        if self._inverse_link_fn:
            return {PredictionKeys.PREDICTIONS: self._inverse_link_fn(logits),
                    PredictionKeys.LOGITS: logits}
        return {PredictionKeys.PREDICTIONS: logits}

    def _export_outputs(self, predictions: dict) -> dict:
        regression = RegressionOutput(value=predictions[PredictionKeys.PREDICTIONS])
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: regression,
                REGRESS_SERVING_KEY: regression,
                PREDICT_SERVING_KEY: PredictOutput(predictions)}

    def _eval_metric_ops(self, predictions: dict, loss_spec: LossSpec,
                         regularization_loss: Any) -> dict:
        weights = None if isinstance(loss_spec.weights, float) else loss_spec.weights
        ops = self._loss_metric_ops(loss_spec, regularization_loss)
        ops[summary_key(self._name, MetricKeys.PREDICTION_MEAN)] = mean(
            predictions[PredictionKeys.PREDICTIONS], weights=weights,
            name=MetricKeys.PREDICTION_MEAN)
        ops[summary_key(self._name, MetricKeys.LABEL_MEAN)] = mean(
            loss_spec.processed_labels, weights=weights, name=MetricKeys.LABEL_MEAN)
        return ops


def regression_head(weight_column: Any = None, label_dimension: int = 1,
                    loss_reduction: str = Reduction.SUM, loss_fn: Callable | None = None,
                    inverse_link_fn: Callable | None = None,
                    name: str | None = None) -> RegressionHead:
    """A :class:`RegressionHead` (TF 1.15's ``_regression_head``; ``loss_reduction`` SUM).

    Args:
        weight_column: None, a feature key or a numeric column of example weights.
        label_dimension: the size of the labels' last dimension.
        loss_reduction: a ``Reduction`` other than ``NONE``.
        loss_fn: ``fn(labels, logits[, features])`` -> unreduced loss; squared error
            when None.
        inverse_link_fn: ``fn(logits) -> predictions`` (e.g. ``exp`` for Poisson).
        name: suffix of the metric and summary keys.
    """
    return RegressionHead(label_dimension=label_dimension, weight_column=weight_column,
                          loss_reduction=loss_reduction, loss_fn=loss_fn,
                          inverse_link_fn=inverse_link_fn, name=name)
