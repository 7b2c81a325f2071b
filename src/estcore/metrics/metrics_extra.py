"""More TF1 streaming metrics: ``mean_tensor``, ``percentage_below``, ``mean_relative_error``,
``mean_cosine_distance``, ``mean_iou``, ``sensitivity_at_specificity`` and
``specificity_at_sensitivity`` (``tf.compat.v1.metrics``, TF 1.15 / 2.15 semantics).

Same contract as :mod:`estcore.metrics.metrics_impl`: each returns ``(value, update_op)``,
keeps its state in zero-initialised local variables (``LOCAL_VARIABLES`` and
``METRIC_VARIABLES``) named by the name scope as TF names it (``mean``,
``percentage_below_threshold``, ``mean_iou``, ...; ``name`` replaces it), and adds the value /
update op to ``metrics_collections`` / ``updates_collections``. Values were checked against
TF 2.15's ``tf.compat.v1.metrics`` (tests/metrics/fixtures/metrics_extra_tf.json).

Must not: write metric state from ``value`` (only ``update_op`` does); create trainable or
global variables; run a session.
"""

from __future__ import annotations

import numbers

import numpy as np

from estcore._validation import check_positive_int, invalid
from estcore.errors import InvalidArgumentError
from estcore.graph.dtypes import float32, float64, int64
from estcore.graph.ir import control_dependencies
from estcore.graph.ops import math_ops
from estcore.graph.ops.array_ops import ones_like, reshape, zeros_like
from estcore.graph.ops.core import constant, make, row
from estcore.graph.ops.math_ops import cast, equal, greater, less, maximum, not_equal, where
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import assign_add
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape
from estcore.losses import util
from estcore.metrics._base import (
    _broadcast_weights,
    _cast,
    _metric_variable,
    _publish,
    _scope,
    _squeeze_for_metric,
    _tensor,
)
from estcore.metrics.metrics_impl import mean
from estcore.metrics.thresholds import _confusion_matrix_at_thresholds

__all__ = [
    "mean_tensor",
    "percentage_below",
    "mean_relative_error",
    "mean_cosine_distance",
    "mean_iou",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
]


def metric_variable(shape: list, dtype, name: str):
    """A zero-initialised local metric variable of ``shape`` / ``dtype`` named in the current
    name scope, as TF's (float64 for TF's float64 counters: the confusion matrix, the @k
    counts)."""
    return _metric_variable(shape, name, dtype)


# ----------------------------------------------------------------------------
# Element-wise and derived means
# ----------------------------------------------------------------------------

def mean_tensor(values, weights=None, metrics_collections=None, updates_collections=None,
                name=None):
    """Streaming element-wise (weighted) mean of ``values`` (TF1 ``tf.metrics.mean_tensor``).

    State: ``total_tensor += values * weights``, ``count_tensor += weights`` (both float32 of
    the shape of ``values``); value ``total_tensor / count_tensor``, 0 where the count is 0.

    Args:
        values: a numeric tensor of fully defined shape (cast to float32).
        weights: None, a scalar, or a tensor broadcastable to ``values``.
        metrics_collections / updates_collections: collections for the value / update op.
        name: the variable scope name (default ``"mean"``, as TF).

    Returns:
        ``(mean, update_op)``: float32 tensors of the shape of ``values``. Variables
        ``mean/total_tensor`` and ``mean/count_tensor``.

    Raises:
        ValueError: the shape of ``values`` is not fully defined, or ``weights`` does not
            broadcast to it.
    """
    with _scope(name, "mean"):
        values = _cast(_tensor(values, "values"), float32)
        if not values.shape.is_fully_defined():
            raise invalid("values", "a tensor of fully defined shape (mean_tensor keeps "
                          "one total per element)", util.format_shape(values))
        shape = values.shape.as_list()
        total = metric_variable(shape, float32, "total_tensor")
        count = metric_variable(shape, float32, "count_tensor")
        num_values = ones_like(values)
        if weights is not None:
            values, _, weights = _squeeze_for_metric(values, None, weights)
            weights = _broadcast_weights(weights, values)
            values = values * weights
            num_values = num_values * weights
        update_total = assign_add(total, values)
        with control_dependencies([values]):   # ``num_values`` may be input-independent
            update_count = assign_add(count, num_values)
        value = util.div_no_nan(total, maximum(count, 0.0), name="value")
        update_op = util.div_no_nan(update_total, maximum(update_count, 0.0), name="update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


def percentage_below(values, threshold, weights=None, metrics_collections=None,
                     updates_collections=None, name=None):
    """Streaming (weighted) fraction of ``values`` strictly below ``threshold``
    (TF1 ``tf.metrics.percentage_below``; a fraction in [0, 1], not a percent).

    Args:
        values: a numeric tensor of any shape.
        threshold: a scalar number or tensor.
        weights: None, a scalar, or broadcastable to ``values``.

    Returns:
        ``(percentage, update_op)``: float32 scalars. Variables
        ``percentage_below_threshold/total`` and ``.../count``.
    """
    if isinstance(threshold, bool) or not (isinstance(threshold, numbers.Real)
                                           or hasattr(threshold, "dtype")):
        raise invalid("threshold", "a number or a scalar tensor", threshold, TypeError)
    values = _tensor(values, "values")
    is_below = cast(less(values, _cast_like(threshold, values)), float32)
    return mean(is_below, weights, metrics_collections, updates_collections,
                name or "percentage_below_threshold")


def _cast_like(x, like):
    if isinstance(x, numbers.Real):
        return constant(np.asarray(x, dtype=like.dtype.np))
    return _cast(_tensor(x, "threshold"), like.dtype)


def _float_pair(labels, predictions):
    """``labels`` and ``predictions`` in one float dtype (the predictions', else float32)."""
    dtype = predictions.dtype if predictions.dtype.is_floating else float32
    return _cast(labels, dtype), _cast(predictions, dtype)


def mean_relative_error(labels, predictions, normalizer, weights=None,
                        metrics_collections=None, updates_collections=None, name=None):
    """Streaming mean of ``|labels - predictions| / normalizer`` (TF1
    ``tf.metrics.mean_relative_error``); an element whose ``normalizer`` is 0 counts as an
    error of 0 (it still counts in the mean, as TF).

    Args:
        labels: a tensor of the shape of ``predictions``.
        predictions: a numeric tensor of any shape.
        normalizer: a tensor of the shape of ``predictions``.
        weights: None, a scalar, or broadcastable to ``labels``.

    Returns:
        ``(mean_relative_error, update_op)``: float32 scalars. Variables
        ``mean_relative_error/total`` and ``.../count``.

    Raises:
        ValueError: ``normalizer`` or ``labels`` does not match the shape of ``predictions``.
    """
    labels = _tensor(labels, "labels")
    predictions = _tensor(predictions, "predictions")
    normalizer = _tensor(normalizer, "normalizer")
    predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
    normalizer, predictions = util.remove_squeezable_dimensions(normalizer, predictions)
    util.check_compatible(predictions, normalizer, "predictions", "normalizer")
    labels, predictions = _float_pair(labels, predictions)
    normalizer = _cast(normalizer, predictions.dtype)
    is_zero = equal(normalizer, zeros_like(normalizer))
    safe = where(is_zero, ones_like(normalizer), normalizer)
    errors = where(is_zero, zeros_like(labels), math_ops.abs(labels - predictions) / safe)
    return mean(errors, weights, metrics_collections, updates_collections,
                name or "mean_relative_error")


def mean_cosine_distance(labels, predictions, dim, weights=None, metrics_collections=None,
                         updates_collections=None, name=None):
    """Streaming mean cosine distance ``1 - sum(labels * predictions, dim)`` (TF1
    ``tf.metrics.mean_cosine_distance``; the inputs are expected unit-normalised along
    ``dim``, as TF's).

    Args:
        labels: a float tensor of any shape.
        predictions: a tensor of the shape of ``labels``.
        dim: the axis along which the cosine is taken (an int).
        weights: None, a scalar, or broadcastable to ``labels`` with size 1 along ``dim``.

    Returns:
        ``(mean_distance, update_op)``: float32 scalars. Variables
        ``mean_cosine_distance/total`` and ``.../count``.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise invalid("dim", "an int axis", dim, TypeError)
    labels = _tensor(labels, "labels")
    predictions = _tensor(predictions, "predictions")
    predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
    labels, predictions = _float_pair(labels, predictions)
    radial = reduce_sum(predictions * labels, axis=[int(dim)], keepdims=True)
    value, update_op = mean(radial, weights, None, None, name or "mean_cosine_distance")
    value = 1.0 - value
    update_op = 1.0 - update_op
    return _publish(value, update_op, metrics_collections, updates_collections)


# ----------------------------------------------------------------------------
# Mean intersection-over-union
# ----------------------------------------------------------------------------

def _confusion_infer(ctx):
    n = ctx.attrs["num_classes"]
    if ctx.shapes[0].rank not in (None, 1) or ctx.shapes[1].rank not in (None, 1):
        raise ctx.fail("labels and predictions must be flat")
    return [(float64, TensorShape([n, n]))]


def _confusion_build(k):
    labels, predictions, weights = k.ins
    out = k.outs[0]
    n = k.attrs["num_classes"]

    def run():
        for what, ids in (("labels", labels), ("predictions", predictions)):
            bad = (ids < 0) | (ids >= n)
            if bad.any():
                raise InvalidArgumentError(
                    f"`{what}` must be class ids in [0, {n}); got {ids[bad][0].item()!r} in "
                    f"'{k.node.name}'")
        if weights.size not in (1, labels.size):
            raise InvalidArgumentError(
                f"`weights` must be a scalar or have one value per label ({labels.size}); got "
                f"{weights.size} values in '{k.node.name}'")
        out.fill(0.0)
        w = np.broadcast_to(weights.astype(np.float64).reshape(-1)
                            if weights.size > 1 else weights.reshape(()), labels.shape)
        np.add.at(out, (labels.astype(np.intp), predictions.astype(np.intp)), w)
    return run


# labels [N], predictions [N], weights [N] or [] -> float64 [num_classes, num_classes]
row("MetricConfusionMatrix", _confusion_infer, _confusion_build, None)
not_differentiable("MetricConfusionMatrix")


def mean_iou(labels, predictions, num_classes, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """Streaming mean intersection-over-union (TF1 ``tf.metrics.mean_iou``).

    A float64 confusion matrix ``[num_classes, num_classes]`` (rows: labels, columns:
    predictions) accumulates the weights; per class ``IoU = cm[c, c] / (row_c + col_c -
    cm[c, c])``; the value is the mean over the classes whose denominator is not 0 (0 when
    there is none).

    Args:
        labels: int class ids of any shape (flattened), each in ``[0, num_classes)``.
        predictions: class ids of the shape of ``labels``.
        num_classes: a positive int.
        weights: None, a scalar, or a tensor of the shape of ``labels``.

    Returns:
        ``(mean_iou, update_op)``: a float32 scalar and, as TF, the float64 confusion
        matrix after the update. Variable ``mean_iou/total_confusion_matrix``.

    Raises:
        InvalidArgumentError (at run time): a label or prediction outside
            ``[0, num_classes)`` (TF's check).
    """
    check_positive_int("num_classes", num_classes)
    with _scope(name, "mean_iou"):
        labels = _tensor(labels, "labels")
        predictions = _tensor(predictions, "predictions")
        util.check_compatible(predictions, labels, "predictions", "labels")
        for what, t in (("labels", labels), ("predictions", predictions)):
            if not t.dtype.is_integer:
                raise invalid(what, "integer class ids", t.dtype.name, TypeError)
        labels = reshape(_cast(labels, int64), [-1])
        predictions = reshape(_cast(predictions, int64), [-1])
        if weights is None:
            w = constant(np.float64(1.0))
        else:
            w = _tensor(weights, "weights")
            w = _cast(w, float64) if w.shape.rank == 0 else reshape(_cast(w, float64), [-1])
        total_cm = metric_variable([num_classes, num_classes], float64,
                                   "total_confusion_matrix")
        batch_cm = make("MetricConfusionMatrix", [labels, predictions, w],
                        {"num_classes": int(num_classes)}, name="confusion_matrix")
        update_op = assign_add(total_cm, batch_cm)
        value = _mean_iou_of(total_cm, num_classes)
        return _publish(value, update_op, metrics_collections, updates_collections)


def _mean_iou_of(cm, num_classes: int):
    cm32 = cast(cm, float32)
    diag = reduce_sum(cm32 * constant(np.eye(num_classes, dtype=np.float32)), axis=1)
    denominator = reduce_sum(cm32, axis=0) + reduce_sum(cm32, axis=1) - diag
    valid = reduce_sum(cast(not_equal(denominator, 0.0), float32))
    safe = where(greater(denominator, 0.0), denominator, ones_like(denominator))
    total = reduce_sum(diag / safe)
    return where(greater(valid, 0.0), total / maximum(valid, 1.0), zeros_like(total),
                 name="mean_iou")


# ----------------------------------------------------------------------------
# Sensitivity / specificity at a target of the other
# ----------------------------------------------------------------------------

def _pick_infer(ctx):
    return [(float32, TensorShape([]))]


def _pick_build(k):
    tp, tn, fp, fn = k.ins
    out = k.outs[0]
    target, mode = k.attrs["target"], k.attrs["mode"]
    eps = np.float32(1e-7)

    def run():
        if mode == "sensitivity":  # sensitivity at the threshold whose specificity is closest
            spec = tn / (tn + fp + eps)
            i = int(np.argmin(np.abs(spec - np.float32(target))))   # the first closest
            out[()] = tp[i] / (tp[i] + fn[i] + eps)
        else:                      # specificity at the last threshold whose sensitivity is
            sens = tp / (tp + fn + eps)                                 # closest
            dist = np.abs(sens - np.float32(target))
            i = int(np.flatnonzero(dist == dist.min())[-1])
            out[()] = tn[i] / (tn[i] + fp[i] + eps)
    return run


# tp, tn, fp, fn (float32 [T]) -> float32 scalar
row("MetricRateAtTarget", _pick_infer, _pick_build, None)
not_differentiable("MetricRateAtTarget")


def _rate_at_target(labels, predictions, target, weights, num_thresholds, metrics_collections,
                    updates_collections, name, default, mode, target_name, last_threshold):
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not (
            0.0 <= float(target) <= 1.0):
        raise invalid(target_name, "a number in [0, 1]", target)
    check_positive_int("num_thresholds", num_thresholds)
    if num_thresholds < 2:
        raise invalid("num_thresholds", "an int > 1", num_thresholds)
    eps = 1e-7
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = [0.0 - eps, *inner, last_threshold]
    attrs = {"target": float(target), "mode": mode}
    with _scope(name, default):
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds,
                                                          weights, ("tp", "fn", "tn", "fp"))
        value = make("MetricRateAtTarget",
                     [values["tp"], values["tn"], values["fp"], values["fn"]], attrs,
                     name="value")
        update_op = make("MetricRateAtTarget",
                         [updates["tp"], updates["tn"], updates["fp"], updates["fn"]], attrs,
                         name="update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


def sensitivity_at_specificity(labels, predictions, specificity, weights=None,
                               num_thresholds=200, metrics_collections=None,
                               updates_collections=None, name=None):
    """Streaming sensitivity (recall) at the threshold whose specificity is closest to
    ``specificity`` (TF1 ``tf.metrics.sensitivity_at_specificity``).

    Thresholds ``-1e-7, 1/(n-1), ..., (n-2)/(n-1), 1 + 1e-7`` (``n = num_thresholds``);
    per-threshold confusion counts accumulate as in :func:`estcore.metrics.auc`. With
    ``eps = 1e-7``: the first threshold minimising ``|TN / (TN + FP + eps) - specificity|``
    gives ``TP / (TP + FN + eps)``.

    Args:
        labels: bool-castable labels.
        predictions: probabilities in [0, 1], the shape of ``labels``.
        specificity: a number in [0, 1].
        weights: None, a scalar or broadcastable to ``predictions``.
        num_thresholds: an int > 1.

    Returns:
        ``(sensitivity, update_op)``: float32 scalars. Variables
        ``sensitivity_at_specificity/{true_positives,false_negatives,true_negatives,
        false_positives}`` (float32 ``[num_thresholds]``).
    """
    return _rate_at_target(labels, predictions, specificity, weights, num_thresholds,
                           metrics_collections, updates_collections, name,
                           "sensitivity_at_specificity", "sensitivity", "specificity",
                           1.0 + 1e-7)


def specificity_at_sensitivity(labels, predictions, sensitivity, weights=None,
                               num_thresholds=200, metrics_collections=None,
                               updates_collections=None, name=None):
    """Streaming specificity at the threshold whose sensitivity is closest to
    ``sensitivity`` (TF1 ``tf.metrics.specificity_at_sensitivity``).

    As TF: thresholds ``-1e-7, 1/(n-1), ..., (n-2)/(n-1), 1 - 1e-7`` (the last one below 1,
    unlike :func:`sensitivity_at_specificity`'s) and, among the thresholds minimising
    ``|TP / (TP + FN + eps) - sensitivity|``, the last one gives ``TN / (TN + FP + eps)``.

    Args and returns as :func:`sensitivity_at_specificity` (variables under
    ``specificity_at_sensitivity/``).
    """
    return _rate_at_target(labels, predictions, sensitivity, weights, num_thresholds,
                           metrics_collections, updates_collections, name,
                           "specificity_at_sensitivity", "specificity", "sensitivity",
                           1.0 - 1e-7)

