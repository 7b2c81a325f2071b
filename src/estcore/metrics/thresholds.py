"""Metrics at thresholds (TF1 ``tf.metrics.*_at_thresholds``) and the shared
per-threshold confusion counts used by :func:`estcore.metrics.auc`.

A prediction counts as positive at threshold ``t`` when it is strictly greater
than ``t``; predictions are cast to float32 and must lie in [0, 1] (checked
when the graph runs: InvalidArgumentError ``predictions must be in [0, 1]``).

Must not: write state from the value tensors (only the ``update_op`` does); create
variables other than through :mod:`estcore.metrics._base` (local, non-trainable).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from estcore._validation import invalid
from estcore.graph.dtypes import float32
from estcore.graph.ops.array_ops import identity, ones_like, reshape
from estcore.graph.ops.core import constant
from estcore.graph.ops.math_ops import cast, greater, truediv
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import assign_add
from estcore.metrics._base import (
    _as_bool,
    _broadcast_weights,
    _cast,
    _check_unit_interval,
    _metric_variable,
    _publish,
    _scope,
    _squeeze_for_metric,
    _tensor,
)

__all__ = [
    "true_positives_at_thresholds",
    "false_positives_at_thresholds",
    "true_negatives_at_thresholds",
    "false_negatives_at_thresholds",
    "precision_at_thresholds",
    "recall_at_thresholds",
]

_VAR_NAMES = {"tp": "true_positives", "fn": "false_negatives", "tn": "true_negatives",
              "fp": "false_positives"}


def _confusion_matrix_at_thresholds(labels, predictions, thresholds: Sequence[float], weights,
                                    includes: Sequence[str]):
    """Streaming weighted confusion counts per threshold (in the current scope).

    Returns:
        ``(values, updates)``: dicts keyed by ``"tp"``, ``"fn"``, ``"tn"``,
        ``"fp"`` (those in ``includes``) of float32 ``[len(thresholds)]``
        variables and of their update ops.
    """
    n = len(thresholds)
    labels = _as_bool(_tensor(labels, "labels"))
    predictions = _cast(_tensor(predictions, "predictions"), float32)
    predictions, labels, weights = _squeeze_for_metric(predictions, labels, weights)
    predictions = _check_unit_interval(predictions)
    pred_row = reshape(predictions, [1, -1])
    label_row = reshape(cast(labels, float32), [1, -1])
    if weights is not None:
        w_row = reshape(_broadcast_weights(weights, predictions), [1, -1])
    else:
        w_row = ones_like(label_row)
    pos_w = label_row * w_row  # [1, N]: the weight of each positive example, else 0
    neg_w = (1.0 - label_row) * w_row
    thresh_col = constant(np.asarray(thresholds, dtype=np.float32).reshape(n, 1))
    above = cast(greater(pred_row, thresh_col), float32)  # [n, N]
    below = 1.0 - above
    parts = {"tp": (above, pos_w), "fn": (below, pos_w), "tn": (below, neg_w),
             "fp": (above, neg_w)}
    values, updates = {}, {}
    for key in ("tp", "fn", "tn", "fp"):
        if key not in includes:
            continue
        mask, w = parts[key]
        var = _metric_variable([n], _VAR_NAMES[key])
        values[key] = var
        updates[key] = assign_add(var, reduce_sum(mask * w, axis=1))
    return values, updates


def _check_thresholds(thresholds, allow_empty: bool = False) -> list[float]:
    """A list or tuple of numbers, or a 1-D numeric numpy array -> list of floats."""
    expected = "a list of numbers" if allow_empty else "a non-empty list of numbers"
    if isinstance(thresholds, np.ndarray) and thresholds.ndim == 1:
        items = thresholds.tolist()
    elif isinstance(thresholds, Sequence) and not isinstance(thresholds, (str, bytes)):
        items = list(thresholds)
    else:
        raise invalid("thresholds", expected, thresholds, TypeError)
    if (not items and not allow_empty) or not all(
            isinstance(t, numbers.Real) and not isinstance(t, bool) for t in items):
        raise invalid("thresholds", expected, thresholds)
    return [float(t) for t in items]


def _count_at_thresholds(key, labels, predictions, thresholds, weights, metrics_collections,
                         updates_collections, name):
    thresholds = _check_thresholds(thresholds)
    with _scope(name, _VAR_NAMES[key]):
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds,
                                                          weights, (key,))
        value = identity(values[key])
        return _publish(value, updates[key], metrics_collections, updates_collections)


def true_positives_at_thresholds(labels, predictions, thresholds, weights=None,
                                 metrics_collections=None, updates_collections=None, name=None):
    """Streaming weighted true-positive counts, one per threshold: float32 ``[T]``."""
    return _count_at_thresholds("tp", labels, predictions, thresholds, weights,
                                metrics_collections, updates_collections, name)


def false_positives_at_thresholds(labels, predictions, thresholds, weights=None,
                                  metrics_collections=None, updates_collections=None, name=None):
    """Streaming weighted false-positive counts, one per threshold: float32 ``[T]``."""
    return _count_at_thresholds("fp", labels, predictions, thresholds, weights,
                                metrics_collections, updates_collections, name)


def true_negatives_at_thresholds(labels, predictions, thresholds, weights=None,
                                 metrics_collections=None, updates_collections=None, name=None):
    """Streaming weighted true-negative counts, one per threshold: float32 ``[T]``."""
    return _count_at_thresholds("tn", labels, predictions, thresholds, weights,
                                metrics_collections, updates_collections, name)


def false_negatives_at_thresholds(labels, predictions, thresholds, weights=None,
                                  metrics_collections=None, updates_collections=None, name=None):
    """Streaming weighted false-negative counts, one per threshold: float32 ``[T]``."""
    return _count_at_thresholds("fn", labels, predictions, thresholds, weights,
                                metrics_collections, updates_collections, name)


def _ratio_at_thresholds(other, default, labels, predictions, thresholds, weights,
                         metrics_collections, updates_collections, name):
    thresholds = _check_thresholds(thresholds)
    epsilon = 1e-7  # TF1's guard against 0 / 0
    with _scope(name, default):
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds,
                                                          weights, ("tp", other))
        prefix = "precision_" if other == "fp" else "recall_"   # TF's op names
        value = truediv(values["tp"], epsilon + values["tp"] + values[other],
                        name=prefix + "value")
        update_op = truediv(updates["tp"], epsilon + updates["tp"] + updates[other],
                            name=prefix + "update_op")
        return _publish(value, update_op, metrics_collections, updates_collections)


def precision_at_thresholds(labels, predictions, thresholds, weights=None,
                            metrics_collections=None, updates_collections=None, name=None):
    """Streaming precision per threshold: ``TP / (1e-7 + TP + FP)`` (TF1).

    Args:
        labels: bool-castable labels.
        predictions: probabilities in [0, 1], the shape of ``labels``.
        thresholds: list of numbers (used as given).
        weights: None, a scalar or broadcastable to ``predictions``.

    Returns:
        ``(precision, update_op)``: float32 ``[len(thresholds)]``. Variables
        ``precision_at_thresholds/true_positives`` and ``.../false_positives``.
    """
    return _ratio_at_thresholds("fp", "precision_at_thresholds", labels, predictions,
                                thresholds, weights, metrics_collections, updates_collections,
                                name)


def recall_at_thresholds(labels, predictions, thresholds, weights=None,
                         metrics_collections=None, updates_collections=None, name=None):
    """Streaming recall per threshold: ``TP / (1e-7 + TP + FN)`` (TF1); see
    :func:`precision_at_thresholds`."""
    return _ratio_at_thresholds("fn", "recall_at_thresholds", labels, predictions, thresholds,
                                weights, metrics_collections, updates_collections, name)
