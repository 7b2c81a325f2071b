"""The classification heads: binary (sigmoid cross-entropy) and multi-class (softmax).

TF 1.15's ``_BinaryLogisticHeadWithSigmoidCrossEntropyLoss`` and
``_MultiClassHeadWithSoftmaxCrossEntropyLoss``, their factories and
``binary_logistic_or_multi_class_head`` (what the premade classifiers use). Predictions,
eval metrics and export signatures carry TF's keys
(:mod:`~estcore.estimator.canned.prediction_keys`,
:mod:`~estcore.estimator.canned.metric_keys`); ``classes`` and ``all_classes`` are bytes
(``b"0"``, ``b"1"``, ... or the ``label_vocabulary`` entries), as TF returns them.

String labels with a ``label_vocabulary`` are looked up by comparing each label with the
vocabulary (both str and bytes labels match). Labels are checked when the step runs, as
TF's: class ids in ``[0, n_classes)`` (by the softmax cross-entropy kernel itself, or an
Assert with a vocabulary or a custom ``loss_fn``), binary labels in ``[0, 1]``; a label
outside the vocabulary fails with an InvalidArgumentError naming the vocabulary (TF's
lookup gave -1 and its message said "Labels must >= 0").

Must not: create model variables; know which model made the logits.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from estcore.estimator.canned.head import (
    CLASSIFY_SERVING_KEY,
    PREDICT_SERVING_KEY,
    REGRESS_SERVING_KEY,
    Head,
    LossSpec,
    call_loss_fn,
    check_dense_labels,
    check_loss_reduction,
    get_weights,
    summary_key,
    validate_loss_fn_args,
)
from estcore.estimator.canned.metric_keys import MetricKeys
from estcore.estimator.canned.prediction_keys import PredictionKeys
from estcore.export.export_output import (
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    ClassificationOutput,
    PredictOutput,
    RegressionOutput,
)
from estcore.graph import dtypes
from estcore.graph.ir import control_dependencies
from estcore.graph.ops.array_ops import (
    concat,
    expand_dims,
    identity,
    shape,
    squeeze,
    stack,
    tile,
    zeros_like,
)
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.debug_ops import Assert
from estcore.graph.ops.index_ops import gather
from estcore.graph.ops.math_ops import (
    cast,
    equal,
    greater_equal,
    less_equal,
    logical_and,
    logical_or,
    maximum,
    where,
)
from estcore.graph.ops.nn_ops import (
    sigmoid_cross_entropy_with_logits,
    softmax,
    sparse_softmax_cross_entropy_with_logits,
)
from estcore.graph.ops.reduce_ops import argmax, reduce_all, reduce_any
from estcore.graph.variables import name_scope
from estcore.losses.losses_impl import Reduction, compute_weighted_loss
from estcore.metrics.metrics_impl import accuracy, auc, mean, precision, recall
from estcore.metrics.thresholds import precision_at_thresholds, recall_at_thresholds
from estcore.nn import sigmoid

__all__ = ["BinaryClassHead", "MultiClassHead", "binary_classification_head",
           "multi_class_head", "binary_logistic_or_multi_class_head"]


def _check_vocabulary(label_vocabulary: Any, n_classes: int | None) -> tuple | None:
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, (list, tuple)):
        raise ValueError("label_vocabulary should be a list or a tuple. Given type: "
                         f"{type(label_vocabulary)}")
    for v in label_vocabulary:
        if not isinstance(v, (str, bytes)):
            raise ValueError(f"label_vocabulary entries must be strings; got {v!r} "
                             f"({type(v).__name__}).")
    if n_classes is not None and len(label_vocabulary) != n_classes:
        raise ValueError(f"label_vocabulary must have n_classes={n_classes} entries; got "
                         f"{len(label_vocabulary)}: {list(label_vocabulary)}.")
    if len(set(_as_bytes(v) for v in label_vocabulary)) != len(label_vocabulary):
        raise ValueError(f"label_vocabulary has duplicate entries: {list(label_vocabulary)}.")
    return tuple(label_vocabulary)


def _as_bytes(v: str | bytes) -> bytes:
    return v if isinstance(v, bytes) else v.encode("utf-8")


def _as_text(v: str | bytes) -> str:
    return v if isinstance(v, str) else v.decode("utf-8")


def _class_strings(n_classes: int, vocabulary: tuple | None):
    """The class names as a constant string vector (bytes, as TF's string tensors)."""
    names = vocabulary if vocabulary else [str(i) for i in range(n_classes)]
    return constant(np.array([_as_bytes(v) for v in names], dtype=object))


def _tile_rows(row: Any, logits: Any):
    """``row`` (a vector) repeated for each example: ``[batch_size, len(row)]``."""
    return tile(expand_dims(row, 0), stack([shape(logits)[0], 1]))


def _lookup_ids(labels: Any, vocabulary: tuple):
    """String labels ``[..., 1]`` -> int64 ids into ``vocabulary``; -1 outside it."""
    if not labels.dtype.is_string:
        raise ValueError("Labels dtype should be string if there is a vocabulary. Instead got "
                         f"{labels.dtype.name}")
    with name_scope("class_id_lookup"):
        as_text = constant(np.array([_as_text(v) for v in vocabulary], dtype=object))
        as_bytes = constant(np.array([_as_bytes(v) for v in vocabulary], dtype=object))
        hits = logical_or(equal(labels, as_text), equal(labels, as_bytes))   # [..., V]
        ids = argmax(cast(hits, dtypes.int32), axis=-1)                       # [...]
        found = reduce_any(hits, axis=-1)
        return expand_dims(where(found, ids, zeros_like(ids) - 1), -1)


def _check_ids(ids: Any, n_classes: int, vocabulary: tuple | None):
    """Labels ``[..., 1]`` unchanged, after a run-time check that they lie in
    ``[0, n_classes - 1]`` (TF's ``_assert_range``: an InvalidArgumentError otherwise).

    One condition and one Assert (TF had two), so the check costs a few element-wise
    kernels per step.
    """
    with name_scope("assert_range"):
        if vocabulary:
            message = f"Labels must be in label_vocabulary {list(vocabulary)}"
        else:
            message = f"Labels must be in [0, n_classes - 1] = [0, {n_classes - 1}]"
        low = constant(0, dtype=ids.dtype)
        high = constant(n_classes - 1, dtype=ids.dtype)
        inside = reduce_all(logical_and(greater_equal(ids, low), less_equal(ids, high)))
        check = Assert(inside, [message, "labels:", ids])
        with control_dependencies([check]):
            return identity(ids)


class _ClassHead(Head):
    """What the binary and multi-class heads share: class names and predictions."""

    _n_classes: int
    _label_vocabulary: tuple | None

    def _class_predictions(self, logits: Any, class_logits: Any) -> dict:
        probabilities = softmax(class_logits, name=PredictionKeys.PROBABILITIES)
        class_ids = expand_dims(argmax(class_logits, axis=-1, name=PredictionKeys.CLASS_IDS),
                                -1)
        names = _class_strings(self._n_classes, self._label_vocabulary)
        from_range = constant(np.arange(self._n_classes, dtype=np.int32))
        return {
            PredictionKeys.LOGITS: logits,
            PredictionKeys.PROBABILITIES: probabilities,
            PredictionKeys.CLASS_IDS: class_ids,
            PredictionKeys.CLASSES: gather(names, class_ids, name="str_classes"),
            PredictionKeys.ALL_CLASS_IDS: _tile_rows(from_range, logits),
            PredictionKeys.ALL_CLASSES: _tile_rows(names, logits),
        }

    def _classification_output(self, predictions: dict) -> ClassificationOutput:
        return ClassificationOutput(scores=predictions[PredictionKeys.PROBABILITIES],
                                    classes=predictions[PredictionKeys.ALL_CLASSES])

    def _accuracy_op(self, labels: Any, class_ids: Any, weights: Any) -> tuple:
        return accuracy(labels=labels, predictions=class_ids, weights=weights,
                        name=MetricKeys.ACCURACY)


class MultiClassHead(_ClassHead):
    """Softmax cross-entropy over ``n_classes > 2`` classes.

    Labels: integer class ids ``[..., 1]`` or ``[...]`` in ``[0, n_classes)``, or strings
    from ``label_vocabulary``. Eval metrics: ``accuracy``, ``average_loss``. Exports:
    ``classification`` (also the default signature) and ``predict``.
    """

    def __init__(self, n_classes: int, weight_column: Any = None,
                 label_vocabulary: Sequence[str] | None = None,
                 loss_reduction: str = Reduction.SUM, loss_fn: Callable | None = None,
                 name: str | None = None):
        if n_classes is None:
            raise ValueError("n_classes cannot be None")
        if not isinstance(n_classes, numbers.Integral) or isinstance(n_classes, bool) \
                or n_classes <= 2:
            raise ValueError(f"n_classes must be > 2: {n_classes}.")
        self._n_classes = int(n_classes)
        self._weight_column = weight_column
        self._label_vocabulary = _check_vocabulary(label_vocabulary, n_classes)
        self._loss_reduction = check_loss_reduction(loss_reduction)
        if loss_fn:
            validate_loss_fn_args(loss_fn)
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _label_ids(self, labels: Any):
        if self._label_vocabulary is None:
            if not labels.dtype.is_integer:
                raise ValueError(f"Labels dtype should be integer. Instead got "
                                 f"{labels.dtype.name}.")
            if not self._loss_fn:
                # The sparse softmax cross-entropy kernel refuses an id outside
                # [0, n_classes) itself (InvalidArgumentError naming the label).
                return labels
            ids = labels
        else:
            ids = _lookup_ids(labels, self._label_vocabulary)
        return _check_ids(ids, self._n_classes, self._label_vocabulary)

    def create_loss(self, features: Any, mode: str, logits: Any, labels: Any) -> LossSpec:
        del mode  # the same loss in every mode
        logits = convert_to_tensor(logits)
        labels = check_dense_labels(labels, logits, 1)
        label_ids = self._label_ids(labels)
        if self._loss_fn:
            unweighted = call_loss_fn(self._loss_fn, label_ids, logits, features, 1)
        else:
            unweighted = expand_dims(sparse_softmax_cross_entropy_with_logits(
                labels=squeeze(label_ids, [-1]), logits=logits), -1)
        weights = get_weights(features, self._weight_column, logits)
        training_loss = compute_weighted_loss(unweighted, weights=weights,
                                              reduction=self._loss_reduction)
        return LossSpec(training_loss, unweighted, weights, label_ids)

    def _predictions(self, logits: Any) -> dict:
        return self._class_predictions(logits, logits)

    def _export_outputs(self, predictions: dict) -> dict:
        classification = self._classification_output(predictions)
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: classification,
                CLASSIFY_SERVING_KEY: classification,
                PREDICT_SERVING_KEY: PredictOutput(predictions)}

    def _eval_metric_ops(self, predictions: dict, loss_spec: LossSpec,
                         regularization_loss: Any) -> dict:
        weights = None if isinstance(loss_spec.weights, float) else loss_spec.weights
        ops = self._loss_metric_ops(loss_spec, regularization_loss)
        ops[summary_key(self._name, MetricKeys.ACCURACY)] = self._accuracy_op(
            loss_spec.processed_labels, predictions[PredictionKeys.CLASS_IDS], weights)
        return ops


class BinaryClassHead(_ClassHead):
    """Sigmoid cross-entropy for two classes (one logit per example).

    Labels: numbers in ``[0, 1]`` (``[..., 1]`` or ``[...]``), or strings from a
    two-entry ``label_vocabulary``. Predictions add ``logistic`` (the sigmoid) to the
    class predictions. Eval metrics: ``accuracy``, ``accuracy_baseline``, ``auc``,
    ``auc_precision_recall``, ``average_loss``, ``label/mean``, ``prediction/mean``,
    ``precision``, ``recall`` and, per threshold in ``thresholds``, accuracy / precision
    / recall at that threshold. Exports: ``classification`` (also the default
    signature), ``regression`` (the logistic) and ``predict``.
    """

    def __init__(self, weight_column: Any = None, thresholds: Sequence[float] | None = None,
                 label_vocabulary: Sequence[str] | None = None,
                 loss_reduction: str = Reduction.SUM, loss_fn: Callable | None = None,
                 name: str | None = None):
        self._thresholds = tuple(thresholds) if thresholds else ()
        for t in self._thresholds:
            if not 0.0 < t < 1.0:
                raise ValueError(f"thresholds not in (0, 1): {(self._thresholds,)}.")
        self._n_classes = 2
        self._weight_column = weight_column
        self._label_vocabulary = _check_vocabulary(label_vocabulary, 2)
        self._loss_reduction = check_loss_reduction(loss_reduction)
        if loss_fn:
            validate_loss_fn_args(loss_fn)
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return 1

    def create_loss(self, features: Any, mode: str, logits: Any, labels: Any) -> LossSpec:
        del mode  # the same loss in every mode
        logits = convert_to_tensor(logits)
        labels = check_dense_labels(labels, logits, 1)
        if self._label_vocabulary is not None:
            labels = _lookup_ids(labels, self._label_vocabulary)
        elif labels.dtype.is_string:
            raise ValueError("Labels dtype should be a number (0 or 1) for a binary "
                             "classifier without label_vocabulary; got string labels. Pass "
                             "label_vocabulary=[negative, positive].")
        labels = _check_ids(cast(labels, dtypes.float32), 2, self._label_vocabulary)
        if self._loss_fn:
            unweighted = call_loss_fn(self._loss_fn, labels, logits, features, 1)
        else:
            unweighted = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        weights = get_weights(features, self._weight_column, logits)
        training_loss = compute_weighted_loss(unweighted, weights=weights,
                                              reduction=self._loss_reduction)
        return LossSpec(training_loss, unweighted, weights, labels)

    def _predictions(self, logits: Any) -> dict:
        two_class_logits = concat([zeros_like(logits), logits], axis=-1,
                                  name="two_class_logits")
        predictions = self._class_predictions(logits, two_class_logits)
        predictions[PredictionKeys.LOGISTIC] = sigmoid(logits, name=PredictionKeys.LOGISTIC)
        return predictions

    def _export_outputs(self, predictions: dict) -> dict:
        classification = self._classification_output(predictions)
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: classification,
                CLASSIFY_SERVING_KEY: classification,
                REGRESS_SERVING_KEY: RegressionOutput(
                    value=predictions[PredictionKeys.LOGISTIC]),
                PREDICT_SERVING_KEY: PredictOutput(predictions)}

    def _eval_metric_ops(self, predictions: dict, loss_spec: LossSpec,
                         regularization_loss: Any) -> dict:
        keys = MetricKeys
        weights = None if isinstance(loss_spec.weights, float) else loss_spec.weights
        labels = loss_spec.processed_labels
        class_ids = predictions[PredictionKeys.CLASS_IDS]
        logistic = predictions[PredictionKeys.LOGISTIC]
        labels_mean = mean(labels, weights=weights, name=keys.LABEL_MEAN)
        with name_scope("accuracy_baseline"):
            baseline = (maximum(labels_mean[0], 1.0 - labels_mean[0], name="value"),
                        maximum(labels_mean[1], 1.0 - labels_mean[1], name="update_op"))
        ops = {
            keys.ACCURACY: self._accuracy_op(labels, class_ids, weights),
            keys.PRECISION: precision(labels=labels, predictions=class_ids, weights=weights,
                                      name=keys.PRECISION),
            keys.RECALL: recall(labels=labels, predictions=class_ids, weights=weights,
                                name=keys.RECALL),
            keys.PREDICTION_MEAN: mean(logistic, weights=weights, name=keys.PREDICTION_MEAN),
            keys.LABEL_MEAN: labels_mean,
            keys.ACCURACY_BASELINE: baseline,
            keys.AUC: auc(labels=labels, predictions=logistic, weights=weights,
                          name=keys.AUC),
            keys.AUC_PR: auc(labels=labels, predictions=logistic, weights=weights,
                             curve="PR", name=keys.AUC_PR),
        }
        for t in self._thresholds:
            at = cast(logistic >= t, dtypes.float32)
            ops[keys.ACCURACY_AT_THRESHOLD % t] = accuracy(
                labels=labels, predictions=at, weights=weights,
                name=keys.ACCURACY_AT_THRESHOLD % t)
            for key, fn in ((keys.PRECISION_AT_THRESHOLD, precision_at_thresholds),
                            (keys.RECALL_AT_THRESHOLD, recall_at_thresholds)):
                value, update = fn(labels=labels, predictions=logistic, thresholds=(t,),
                                   weights=weights, name=key % t)
                ops[key % t] = (squeeze(value), squeeze(update))
        named = {summary_key(self._name, k): v for k, v in ops.items()}
        named.update(self._loss_metric_ops(loss_spec, regularization_loss))
        return named


def binary_classification_head(weight_column: Any = None,
                               thresholds: Sequence[float] | None = None,
                               label_vocabulary: Sequence[str] | None = None,
                               loss_reduction: str = Reduction.SUM,
                               loss_fn: Callable | None = None,
                               name: str | None = None) -> BinaryClassHead:
    """A :class:`BinaryClassHead` (TF 1.15's ``_binary_logistic_head_with_sigmoid_cross_
    entropy_loss``; ``loss_reduction`` SUM)."""
    if label_vocabulary is not None and not isinstance(label_vocabulary, (list, tuple)):
        raise TypeError("label_vocabulary should be a list or tuple. Given type: "
                        f"{type(label_vocabulary)}")
    return BinaryClassHead(weight_column=weight_column, thresholds=thresholds,
                           label_vocabulary=label_vocabulary, loss_reduction=loss_reduction,
                           loss_fn=loss_fn, name=name)


def multi_class_head(n_classes: int, weight_column: Any = None,
                     label_vocabulary: Sequence[str] | None = None,
                     loss_reduction: str = Reduction.SUM, loss_fn: Callable | None = None,
                     name: str | None = None) -> MultiClassHead:
    """A :class:`MultiClassHead` (TF 1.15's ``_multi_class_head_with_softmax_cross_entropy_
    loss``; ``loss_reduction`` SUM)."""
    return MultiClassHead(n_classes, weight_column=weight_column,
                          label_vocabulary=label_vocabulary, loss_reduction=loss_reduction,
                          loss_fn=loss_fn, name=name)


def binary_logistic_or_multi_class_head(n_classes: int, weight_column: Any,
                                        label_vocabulary: Sequence[str] | None,
                                        loss_reduction: str) -> Head:
    """The head of a premade classifier: binary for ``n_classes == 2``, else multi-class."""
    if n_classes == 2:
        return binary_classification_head(weight_column=weight_column,
                                          label_vocabulary=label_vocabulary,
                                          loss_reduction=loss_reduction)
    return multi_class_head(n_classes, weight_column=weight_column,
                            label_vocabulary=label_vocabulary, loss_reduction=loss_reduction)
