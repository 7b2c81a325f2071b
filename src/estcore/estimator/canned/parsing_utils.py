"""``classifier_parse_example_spec`` / ``regressor_parse_example_spec`` (TF 1.15).

A ``parse_example`` spec for an input_fn reading ``tf.train.Example`` records: the
feature columns' spec, plus a ``FixedLenFeature`` for the label and, when given, the
weight column's. Owns those two functions. Must not: parse anything (the spec is handed
to ``parse_example``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from estcore.feature_column.embedding import make_parse_example_spec
from estcore.feature_column.numeric import NumericColumn, numeric_column
from estcore.graph import dtypes
from estcore.graph.ops.parsing_ops import FixedLenFeature

__all__ = ["classifier_parse_example_spec", "regressor_parse_example_spec"]


def _add_label_and_weight(spec: dict, label_key: Any, label_spec: FixedLenFeature,
                          weight_column: Any) -> dict:
    if not isinstance(label_key, str) or not label_key:
        raise ValueError(f"label_key must be a non-empty string. Given: {label_key!r}")
    if label_key in spec:
        raise ValueError(f"label should not be used as feature. label_key: {label_key}, "
                         f"features: {list(spec)}")
    spec[label_key] = label_spec
    if weight_column is None:
        return spec
    if isinstance(weight_column, str):
        weight_column = numeric_column(weight_column)
    if not isinstance(weight_column, NumericColumn):
        raise ValueError("weight_column should be an instance of "
                         f"tf.feature_column.numeric_column. Given type: {type(weight_column)} "
                         f"value: {weight_column}")
    if weight_column.key in spec:
        raise ValueError(f"weight_column should not be used as feature. weight_column: "
                         f"{weight_column.key}, features: {list(spec)}")
    spec.update(weight_column._parse_example_spec)
    return spec


def classifier_parse_example_spec(feature_columns: Iterable, label_key: str,
                                  label_dtype: Any = dtypes.int64, label_default: Any = None,
                                  weight_column: Any = None) -> dict:
    """The parse spec of a classifier's examples: features, label ``[1]``, weight.

    Args:
        feature_columns: the columns the model reads.
        label_key: the label's feature name in the examples.
        label_dtype: int64 (class ids) or string (with ``label_vocabulary``).
        label_default: the label of an example that has none (None: required).
        weight_column: None, a key, or a numeric column of example weights.

    Raises:
        ValueError: the label or weight key is also a feature, or a bad weight column.
    """
    return _add_label_and_weight(make_parse_example_spec(feature_columns), label_key,
                                 FixedLenFeature((1,), label_dtype, label_default),
                                 weight_column)


def regressor_parse_example_spec(feature_columns: Iterable, label_key: str,
                                 label_dtype: Any = dtypes.float32, label_default: Any = None,
                                 label_dimension: int = 1, weight_column: Any = None) -> dict:
    """The parse spec of a regressor's examples: features, label ``[label_dimension]``,
    weight. Arguments as :func:`classifier_parse_example_spec`."""
    return _add_label_and_weight(make_parse_example_spec(feature_columns), label_key,
                                 FixedLenFeature((label_dimension,), label_dtype,
                                                 label_default), weight_column)
