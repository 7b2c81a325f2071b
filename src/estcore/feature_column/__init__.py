"""``estcore.feature_column``: TF 1.15's feature columns, ``input_layer`` and ``linear_model``.

This package ``__init__`` only re-exports the public names of its modules: ``numeric``
(numeric, bucketized), ``layers`` (input_layer, linear_model). Must not: hold code.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.feature_column.base import CategoricalColumn, DenseColumn, FeatureColumn
from estcore.feature_column.layers import input_layer, linear_model
from estcore.feature_column.numeric import bucketized_column, numeric_column

__all__ = ["numeric_column", "bucketized_column", "input_layer", "linear_model",
           "FeatureColumn", "DenseColumn", "CategoricalColumn"]
