"""``estcore.metrics``: TF1 streaming metrics returning ``(value, update_op)``.

State lives in local variables (``LOCAL_VARIABLES`` + ``METRIC_VARIABLES``);
``estcore.local_variables_initializer()`` resets it.

This ``__init__`` only re-exports (from ``metrics_impl``, ``thresholds``, ``metrics_extra``
and ``at_k``).
Must not: hold code; be imported by estcore's own modules.
"""

from estcore.metrics.at_k import (
    precision_at_k,
    precision_at_top_k,
    recall_at_k,
    recall_at_top_k,
    sparse_precision_at_k,
    sparse_recall_at_k,
)
from estcore.metrics.metrics_extra import (
    mean_cosine_distance,
    mean_iou,
    mean_relative_error,
    mean_tensor,
    percentage_below,
    sensitivity_at_specificity,
    specificity_at_sensitivity,
)
from estcore.metrics.metrics_impl import (
    accuracy,
    auc,
    false_negatives,
    false_positives,
    mean,
    mean_absolute_error,
    mean_per_class_accuracy,
    mean_squared_error,
    precision,
    recall,
    root_mean_squared_error,
    true_negatives,
    true_positives,
)
from estcore.metrics.thresholds import (
    false_negatives_at_thresholds,
    false_positives_at_thresholds,
    precision_at_thresholds,
    recall_at_thresholds,
    true_negatives_at_thresholds,
    true_positives_at_thresholds,
)

__all__ = [
    "accuracy",
    "auc",
    "false_negatives",
    "false_positives",
    "mean",
    "mean_absolute_error",
    "mean_per_class_accuracy",
    "mean_squared_error",
    "precision",
    "recall",
    "root_mean_squared_error",
    "true_negatives",
    "true_positives",
    "false_negatives_at_thresholds",
    "false_positives_at_thresholds",
    "precision_at_thresholds",
    "recall_at_thresholds",
    "true_negatives_at_thresholds",
    "true_positives_at_thresholds",
    "mean_cosine_distance",
    "mean_iou",
    "mean_relative_error",
    "mean_tensor",
    "percentage_below",
    "precision_at_k",
    "precision_at_top_k",
    "recall_at_k",
    "recall_at_top_k",
    "sensitivity_at_specificity",
    "sparse_precision_at_k",
    "sparse_recall_at_k",
    "specificity_at_sensitivity",
]
