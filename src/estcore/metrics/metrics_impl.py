"""TF1 streaming metrics (``tf.compat.v1.metrics``), spec section 8.

Design:
    Every metric keeps its state in zero-initialised float32 local variables
    (collections ``LOCAL_VARIABLES`` and ``METRIC_VARIABLES``) created, as TF1's,
    with ``Variable`` inside ``variable_scope(name, default_name)``: named by the
    name scope (``accuracy/total``, ``metrics/accuracy/total`` under
    ``name_scope("metrics")``, ``accuracy_1/...`` for a second one in the same
    scope). It returns ``(value, update_op)``: ``update_op`` adds one batch to
    the state and evaluates to the updated value, and depends on the batch's
    values (no state changes on a run whose input failed); ``value`` only reads
    the state. ``local_variables_initializer()`` resets every metric. Every
    ratio is 0 when its denominator is 0.

    Inputs follow TF1's rank rules: when predictions and labels ranks differ by
    one and the extra trailing dimension is 1, it is squeezed; ``weights`` is a
    scalar or broadcastable to the values (a weight of 0 masks a value); a
    ``weights`` of one rank more (trailing 1) is squeezed, one rank less is
    expanded.

Must not: write metric state from ``value`` (only ``update_op`` does); create
trainable or global variables (helpers in :mod:`estcore.metrics._base`); run a
session (the Estimator's evaluation loop runs the update ops).
"""

from __future__ import annotations

import logging

from estcore._validation import check_positive_int, invalid
from estcore.graph.dtypes import float32, int64
from estcore.graph.ir import control_dependencies
from estcore.graph.ops import math_ops
from estcore.graph.ops.array_ops import identity, one_hot, ones_like, reshape, size
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import (
    cast,
    equal,
    greater,
    log,
    logical_and,
    logical_not,
    maximum,
    minimum,
    sqrt,
    where,
)
from estcore.graph.ops.reduce_ops import reduce_mean, reduce_sum
from estcore.graph.ops.state_ops import assign_add
from estcore.losses import util
from estcore.metrics._base import (
    _as_bool,
    _broadcast_weights,
    _cast,
    _check_class_ids,
    _metric_variable,
    _publish,
    _scope,
    _squeeze_for_metric,
    _tensor,
)
from estcore.metrics.thresholds import _check_thresholds, _confusion_matrix_at_thresholds

__all__ = [
    "mean",
    "accuracy",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "true_positives",
    "false_positives",
    "true_negatives",
    "false_negatives",
    "precision",
    "recall",
    "auc",
    "mean_per_class_accuracy",
]

_log = logging.getLogger("estcore.metrics")


# ----------------------------------------------------------------------------
# mean and the metrics built on it
# ----------------------------------------------------------------------------

def mean(values, weights=None, metrics_collections=None, updates_collections=None,
         name=None):
    """Streaming (weighted) mean of ``values`` (TF1 ``tf.metrics.mean``).

    State: ``total += sum(values * weights)``, ``count += sum(weights)``;
    value ``total / count`` (0 when ``count`` is 0).

    Args:
        values: a numeric tensor of any shape (cast to float32).
        weights: None, a scalar, or a tensor broadcastable to ``values``.
        metrics_collections / updates_collections: collections the value /
            the update op are added to.
        name: the variable scope name (default ``"mean"``).

    Returns:
        ``(mean, update_op)``: float32 scalars.
    """
    with _scope(name, "mean"):
        values = _cast(_tensor(values, "values"), float32)
        total = _metric_variable([], "total")
        count = _metric_variable([], "count")
        if weights is None:
            n = values.shape.num_elements()
            num_values = (constant(float(n), dtype=float32) if n is not None
                          else cast(size(values), float32))
        else:
            values, _, weights = _squeeze_for_metric(values, None, weights)
            weights = _broadcast_weights(weights, values)
            values = values * weights
            num_values = reduce_sum(weights)
        update_total = assign_add(total, reduce_sum(values))
        # ``num_values`` may not depend on the input (a constant for a static shape):
        # without this the count would grow on a step whose input failed (the
        # OutOfRangeError batch), as TF1's does not.
        with control_dependencies([values]):
            update_count = assign_add(count, num_values)
        value = util.div_no_nan(total, maximum(count, 0.0), name="value")
        update_op = util.div_no_nan(update_total, maximum(update_count, 0.0),
                                     name="update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


def accuracy(labels, predictions, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """Streaming fraction of ``predictions`` equal to ``labels`` (TF1 ``tf.metrics.accuracy``).

    ``predictions`` are cast to the dtype of ``labels`` when they differ.

    Args:
        labels: ``[batch]`` (or ``[batch, 1]``) tensor.
        predictions: tensor of the shape of ``labels``.
        weights: None, a scalar, or broadcastable to ``labels``.

    Returns:
        ``(accuracy, update_op)``: float32 scalars. Variables
        ``accuracy/total`` and ``accuracy/count``.
    """
    labels = _tensor(labels, "labels")
    predictions = _tensor(predictions, "predictions")
    predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
    if labels.dtype != predictions.dtype:
        predictions = cast(predictions, labels.dtype)
    is_correct = cast(equal(predictions, labels), float32)
    return mean(is_correct, weights, metrics_collections, updates_collections,
                name or "accuracy")


def _difference_metric(labels, predictions, weights, metrics_collections,
                       updates_collections, name, default, square: bool):
    labels = _tensor(labels, "labels")
    predictions = _tensor(predictions, "predictions")
    predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
    dtype = predictions.dtype if predictions.dtype.is_floating else float32
    diff = _cast(predictions, dtype) - _cast(labels, dtype)
    errors = math_ops.square(diff) if square else math_ops.abs(diff)
    return mean(errors, weights, metrics_collections, updates_collections, name or default)


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None,
                        updates_collections=None, name=None):
    """Streaming mean of ``|predictions - labels|`` (TF1 ``tf.metrics.mean_absolute_error``)."""
    return _difference_metric(labels, predictions, weights, metrics_collections,
                              updates_collections, name, "mean_absolute_error", False)


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                       updates_collections=None, name=None):
    """Streaming mean of ``(predictions - labels)**2`` (TF1 ``tf.metrics.mean_squared_error``)."""
    return _difference_metric(labels, predictions, weights, metrics_collections,
                              updates_collections, name, "mean_squared_error", True)


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                            updates_collections=None, name=None):
    """``sqrt`` of the streaming mean squared error (not a mean of per-batch RMSEs)."""
    mse, update_mse = _difference_metric(labels, predictions, weights, None, None, name,
                                         "root_mean_squared_error", True)
    value = sqrt(mse)
    update_op = sqrt(update_mse)
    return _publish(value, update_op, metrics_collections, updates_collections)


# ----------------------------------------------------------------------------
# Confusion counts, precision, recall
# ----------------------------------------------------------------------------

def _count_condition(condition, weights, metrics_collections, updates_collections):
    """Weighted streaming count of the True entries of bool ``condition``."""
    count = _metric_variable([], "count")
    values = cast(condition, float32)
    if weights is not None:
        weights = _cast(convert_to_tensor(weights), float32)
        wr, vr = weights.shape.rank, values.shape.rank
        if wr is not None and vr is not None and wr not in (0, vr):
            raise ValueError("`weights` must be a scalar or have the rank of the values. "
                             f"Received: weights.shape={util.format_shape(weights)}, "
                             f"values.shape={util.format_shape(values)}")
        values = values * weights
    value = identity(count)
    update_op = assign_add(count, reduce_sum(values))
    return _publish(value, update_op, metrics_collections, updates_collections)


def _confusion_count(labels, predictions, weights, metrics_collections, updates_collections,
                     name, default, label_value: bool, prediction_value: bool):
    with _scope(name, default):
        labels = _as_bool(_tensor(labels, "labels"))
        predictions = _as_bool(_tensor(predictions, "predictions"))
        predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
        lab = labels if label_value else logical_not(labels)
        pred = predictions if prediction_value else logical_not(predictions)
        return _count_condition(logical_and(lab, pred), weights, metrics_collections,
                                updates_collections)


def true_positives(labels, predictions, weights=None, metrics_collections=None,
                   updates_collections=None, name=None):
    """Streaming weighted count of ``labels & predictions`` (both cast to bool)."""
    return _confusion_count(labels, predictions, weights, metrics_collections,
                            updates_collections, name, "true_positives", True, True)


def false_positives(labels, predictions, weights=None, metrics_collections=None,
                    updates_collections=None, name=None):
    """Streaming weighted count of ``~labels & predictions`` (both cast to bool)."""
    return _confusion_count(labels, predictions, weights, metrics_collections,
                            updates_collections, name, "false_positives", False, True)


def true_negatives(labels, predictions, weights=None, metrics_collections=None,
                   updates_collections=None, name=None):
    """Streaming weighted count of ``~labels & ~predictions`` (both cast to bool)."""
    return _confusion_count(labels, predictions, weights, metrics_collections,
                            updates_collections, name, "true_negatives", False, False)


def false_negatives(labels, predictions, weights=None, metrics_collections=None,
                    updates_collections=None, name=None):
    """Streaming weighted count of ``labels & ~predictions`` (both cast to bool)."""
    return _confusion_count(labels, predictions, weights, metrics_collections,
                            updates_collections, name, "false_negatives", True, False)


def _ratio_metric(labels, predictions, weights, metrics_collections, updates_collections,
                  name, default, other_label: bool, other_pred: bool):
    """``tp / (tp + other)`` where ``other`` is FP (precision) or FN (recall)."""
    with _scope(name, default):
        labels = _as_bool(_tensor(labels, "labels"))
        predictions = _as_bool(_tensor(predictions, "predictions"))
        predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
        tp, tp_update = _confusion_count(labels, predictions, weights, None, None, None,
                                         "true_positives", True, True)
        other_name = "false_positives" if other_pred else "false_negatives"
        other, other_update = _confusion_count(labels, predictions, weights, None, None, None,
                                               other_name, other_label, other_pred)

        def ratio(a, b, op_name):
            return util.div_no_nan(a, a + b, name=op_name)

        value = ratio(tp, other, "value")
        update_op = ratio(tp_update, other_update, "update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


def precision(labels, predictions, weights=None, metrics_collections=None,
              updates_collections=None, name=None):
    """Streaming ``TP / (TP + FP)``, 0 when nothing was predicted positive.

    Labels and predictions are cast to bool (non-zero is True). Variables
    ``precision/true_positives/count`` and ``precision/false_positives/count``.
    """
    return _ratio_metric(labels, predictions, weights, metrics_collections,
                         updates_collections, name, "precision", False, True)


def recall(labels, predictions, weights=None, metrics_collections=None,
           updates_collections=None, name=None):
    """Streaming ``TP / (TP + FN)``, 0 when there was no positive label."""
    return _ratio_metric(labels, predictions, weights, metrics_collections,
                         updates_collections, name, "recall", True, False)


# ----------------------------------------------------------------------------
# AUC
# ----------------------------------------------------------------------------

_SUMMATION_METHODS = ("trapezoidal", "careful_interpolation", "minoring", "majoring")


def _auc_thresholds(num_thresholds: int, thresholds) -> list[float]:
    kepsilon = 1e-7
    if thresholds is not None:
        inner = sorted(_check_thresholds(thresholds, allow_empty=True))
    else:
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - kepsilon] + inner + [1.0 + kepsilon]


def _area(tp, fn, tn, fp, curve: str, summation_method: str, n: int, name: str):
    """The area under the ROC or PR curve from per-threshold confusion counts [n]."""
    if curve == "PR" and summation_method == "careful_interpolation":
        return _interpolate_pr_auc(tp, fp, fn, n, name)
    epsilon = 1.0e-6
    rec = (tp + epsilon) / (tp + fn + epsilon)
    if curve == "ROC":
        x, y = fp / (fp + tn + epsilon), rec
    else:
        x, y = rec, (tp + epsilon) / (tp + fp + epsilon)
    dx = x[: n - 1] - x[1:]
    if summation_method == "minoring":
        height = minimum(y[: n - 1], y[1:])
    elif summation_method == "majoring":
        height = maximum(y[: n - 1], y[1:])
    else:
        height = (y[: n - 1] + y[1:]) / 2.0
    return reduce_sum(dx * height, name=name)


def _interpolate_pr_auc(tp, fp, fn, n: int, name: str):
    """PR-AUC by interpolating precision between thresholds (Davis & Goadrich 2006)."""
    dtp = tp[: n - 1] - tp[1:]
    p = tp + fp
    dp = maximum(p[: n - 1] - p[1:], 0.0)
    prec_slope = util.div_no_nan(dtp, dp)
    intercept = tp[1:] - prec_slope * p[1:]
    both_pos = logical_and(greater(p[: n - 1], 0.0), greater(p[1:], 0.0))
    ratio = util.div_no_nan(p[: n - 1], maximum(p[1:], 0.0))
    safe_ratio = where(both_pos, ratio, ones_like(ratio))
    increment = util.div_no_nan(prec_slope * (dtp + intercept * log(safe_ratio)),
                                 maximum(tp[1:] + fn[1:], 0.0))
    return reduce_sum(increment, name=name)


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None,
        updates_collections=None, curve="ROC", name=None, summation_method="trapezoidal",
        thresholds=None):
    """Streaming area under the ROC or PR curve (TF1 ``tf.metrics.auc``).

    Thresholds are ``-1e-7``, ``i / (num_thresholds - 1)`` for ``i = 1 ..
    num_thresholds - 2`` and ``1 + 1e-7`` (or the sorted ``thresholds`` plus
    those two ends); a prediction counts as positive above a threshold when it
    is strictly greater. Confusion counts per threshold accumulate across
    batches in ``auc/true_positives``, ``auc/false_negatives``,
    ``auc/true_negatives`` and ``auc/false_positives`` (float32
    ``[num_thresholds]``). With ``eps = 1e-6``: ``TPR = (TP + eps) / (TP + FN +
    eps)``, ``FPR = FP / (FP + TN + eps)``, precision ``(TP + eps) / (TP + FP +
    eps)``; the area sums trapezoids (or, for ``PR`` with
    ``careful_interpolation``, interpolated precision; ``minoring`` /
    ``majoring`` take the lower / upper step).

    Args:
        labels: bool-castable ``[batch]`` labels.
        predictions: probabilities in [0, 1], the shape of ``labels``.
        weights: None, a scalar or broadcastable to ``predictions``.
        num_thresholds: int > 1.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"trapezoidal"``, ``"careful_interpolation"``,
            ``"minoring"`` or ``"majoring"``.
        thresholds: optional list of thresholds in [0, 1] (overrides
            ``num_thresholds``).

    Returns:
        ``(auc, update_op)``: float32 scalars.
    """
    if curve not in ("ROC", "PR"):
        raise invalid("curve", "'ROC' or 'PR'", curve)
    if summation_method not in _SUMMATION_METHODS:
        raise invalid("summation_method", "one of " + ", ".join(map(repr, _SUMMATION_METHODS)),
                      summation_method)
    if thresholds is None:
        check_positive_int("num_thresholds", num_thresholds)
        if num_thresholds < 2:
            raise invalid("num_thresholds", "an int > 1", num_thresholds)
    if curve == "PR" and summation_method == "trapezoidal":
        _log.warning('Trapezoidal rule is known to produce incorrect PR-AUCs; please switch '
                     'to "careful_interpolation" instead.')
    thresh = _auc_thresholds(num_thresholds, thresholds)
    n = len(thresh)
    with _scope(name, "auc"):
        counts, updates = _confusion_matrix_at_thresholds(labels, predictions, thresh, weights,
                                                          ("tp", "fn", "tn", "fp"))
        value = _area(counts["tp"], counts["fn"], counts["tn"], counts["fp"], curve,
                      summation_method, n, "value")
        update_op = _area(updates["tp"], updates["fn"], updates["tn"], updates["fp"], curve,
                          summation_method, n, "update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


# ----------------------------------------------------------------------------
# Per-class accuracy
# ----------------------------------------------------------------------------

def mean_per_class_accuracy(labels, predictions, num_classes, weights=None,
                            metrics_collections=None, updates_collections=None, name=None):
    """Streaming mean over classes of the per-class accuracy (TF1).

    Per class ``c``: ``count[c]`` sums the weights of the correctly predicted
    rows with label ``c``, ``total[c]`` the weights of all rows with label
    ``c``; the value is ``mean_c(count[c] / total[c])`` with 0 for a class never
    seen (so unseen classes pull the mean down, exactly as in TF1).

    Args:
        labels: int class ids of any shape (flattened), each in ``[0, num_classes)``.
        predictions: class ids of the shape of ``labels``.
        num_classes: positive int.
        weights: None or a tensor of the shape of ``labels``.

    Returns:
        ``(mean_accuracy, update_op)``: a float32 scalar and, as in TF1, the
        per-class accuracies ``[num_classes]`` after the update. Variables
        ``mean_accuracy/total`` and ``mean_accuracy/count``.
    """
    check_positive_int("num_classes", num_classes)
    with _scope(name, "mean_accuracy"):
        labels = _cast(_tensor(labels, "labels"), int64)
        predictions = _tensor(predictions, "predictions")
        if labels.shape.rank is None or labels.shape.rank > 1:
            labels = reshape(labels, [-1])
        if predictions.shape.rank is None or predictions.shape.rank > 1:
            predictions = reshape(predictions, [-1])
        util.check_compatible(predictions, labels, "predictions", "labels")
        total = _metric_variable([num_classes], "total")
        count = _metric_variable([num_classes], "count")
        predictions = _check_class_ids(_cast(predictions, labels.dtype), num_classes,
                                       "predictions")
        labels = _check_class_ids(labels, num_classes, "labels")
        is_correct = cast(equal(predictions, labels), float32)
        onehot = one_hot(labels, num_classes, dtype=float32)  # [N, C]
        if weights is not None:
            w = _cast(reshape(convert_to_tensor(weights), [-1]), float32)
            rows = reshape(w, [-1, 1])
            is_correct = is_correct * w
        else:
            rows = None
        per_row_total = onehot if rows is None else onehot * rows
        per_row_count = onehot * reshape(is_correct, [-1, 1])
        update_total = assign_add(total, reduce_sum(per_row_total, axis=0))
        update_count = assign_add(count, reduce_sum(per_row_count, axis=0))
        per_class = util.div_no_nan(count, maximum(total, 0.0))
        value = reduce_mean(per_class, name="mean_accuracy")
        update_op = util.div_no_nan(update_count, maximum(update_total, 0.0),
                                     name="update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)
