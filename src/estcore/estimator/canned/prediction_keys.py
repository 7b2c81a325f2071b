"""The keys of a premade estimator's predictions (TF 1.15's ``PredictionKeys``).

Owns the key strings only. Must not: build ops.
"""

from __future__ import annotations

__all__ = ["PredictionKeys"]


class PredictionKeys:
    """Prediction key strings, as TF 1.15 names them.

    Classifiers predict ``logits``, ``probabilities``, ``class_ids``, ``classes``,
    ``all_class_ids`` and ``all_classes`` (binary ones ``logistic`` too); regressors
    ``predictions``.
    """

    CLASSES = "classes"
    CLASS_IDS = "class_ids"
    ALL_CLASSES = "all_classes"
    ALL_CLASS_IDS = "all_class_ids"
    LOGISTIC = "logistic"
    LOGITS = "logits"
    PREDICTIONS = "predictions"
    PROBABILITIES = "probabilities"
    TOP_K = "top_k"
