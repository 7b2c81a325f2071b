"""``estcore.feature_column``: TF 1.15's feature columns, ``input_layer`` and ``linear_model``.

This package ``__init__`` only re-exports the public names of its modules: ``numeric``
(numeric, bucketized), ``categorical`` (hash bucket, vocabulary list / file, identity,
weighted, crossed), ``embedding`` (indicator, embedding, shared embedding,
make_parse_example_spec), ``layers`` (input_layer, linear_model). Must not: hold code.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.feature_column.base import CategoricalColumn, DenseColumn, FeatureColumn
from estcore.feature_column.categorical import (
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
    crossed_column,
    weighted_categorical_column,
)
from estcore.feature_column.embedding import (
    embedding_column,
    indicator_column,
    make_parse_example_spec,
    shared_embedding_columns,
)
from estcore.feature_column.layers import input_layer, linear_model
from estcore.feature_column.numeric import bucketized_column, numeric_column

__all__ = ["numeric_column", "bucketized_column", "categorical_column_with_hash_bucket",
           "categorical_column_with_vocabulary_list", "categorical_column_with_vocabulary_file",
           "categorical_column_with_identity", "weighted_categorical_column", "crossed_column",
           "indicator_column", "embedding_column", "shared_embedding_columns",
           "make_parse_example_spec", "input_layer", "linear_model", "FeatureColumn",
           "DenseColumn", "CategoricalColumn"]
