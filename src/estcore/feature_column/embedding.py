"""Dense columns over categorical ones (TF 1.15): indicator, embedding, shared embedding;
and ``make_parse_example_spec``.

Owns: ``indicator_column`` (per-row id counts, or weight sums for a weighted column,
``[B, num_buckets]``); ``embedding_column`` (a ``[num_buckets, dimension]`` variable
``embedding_weights`` in the column's scope, ``<categorical>_embedding``, combined by
``combiner`` with the sparse lookup, whose gradient touches only the looked-up rows);
``shared_embedding_columns`` (one variable for several columns, found again through a
graph collection named after them, as TF). Must not: register ops; import the estimator.
"""

from __future__ import annotations

import collections
import math
import numbers

from estcore.feature_column.base import CategoricalColumn, DenseColumn, FeatureColumn
from estcore.graph import dtypes as dt
from estcore.graph.initializers import truncated_normal_initializer
from estcore.graph.ir import GraphKeys, add_to_collection, get_collection
from estcore.graph.ops import sparse_ids
from estcore.graph.shapes import TensorShape
from estcore.graph.variables import get_variable
from estcore.nn import safe_embedding_lookup_sparse

__all__ = ["indicator_column", "embedding_column", "shared_embedding_columns",
           "make_parse_example_spec"]

_COMBINERS = ("mean", "sqrtn", "sum")


class IndicatorColumn(DenseColumn, collections.namedtuple("IndicatorColumn",
                                                          ("categorical_column",))):
    """See :func:`indicator_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_indicator"

    @property
    def _parse_example_spec(self) -> dict:
        return self.categorical_column._parse_example_spec

    @property
    def _variable_shape(self) -> TensorShape:
        return TensorShape([self.categorical_column._num_buckets])

    def _transform_feature(self, builder):
        pair = self.categorical_column._get_sparse_tensors(builder)
        return sparse_ids.sparse_indicator(pair.id_tensor, self.categorical_column._num_buckets,
                                           pair.weight_tensor)

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        return builder.get(self)


def indicator_column(categorical_column) -> IndicatorColumn:
    """Multi-hot ``[B, num_buckets]`` float32 of a categorical column: how often each id
    occurs in the row (for a weighted column: the sum of its weights)."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"Unsupported input type. Input must be a CategoricalColumn. Given: "
                         f"{categorical_column!r}")
    return IndicatorColumn(categorical_column)


def _check_embedding_args(categorical_column, dimension, combiner, initializer, max_norm,
                          ckpt_to_load_from, tensor_name_in_ckpt):
    if not isinstance(dimension, numbers.Integral) or isinstance(dimension, bool) or \
            dimension < 1:
        raise ValueError(f"Invalid dimension {dimension}.")
    if combiner not in _COMBINERS:
        raise ValueError(f"combiner must be one of 'mean', 'sqrtn', 'sum'. Given: {combiner!r}")
    if initializer is not None and not callable(initializer):
        raise ValueError(f"initializer must be callable if specified. Embedding of column_name: "
                         f"{categorical_column.name}")
    if (ckpt_to_load_from is None) != (tensor_name_in_ckpt is None):
        raise ValueError("Must specify both `ckpt_to_load_from` and `tensor_name_in_ckpt` or "
                         "none of them.")
    if ckpt_to_load_from is not None:
        raise NotImplementedError(
            "estcore's embedding_column does not load from `ckpt_to_load_from` (the checkpoint "
            "reader sits above feature columns). Warm-start the variable instead: "
            "WarmStartSettings(ckpt_to_initialize_from=..., vars_to_warm_start=...).")
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be positive. Given: {max_norm!r}")
    if initializer is None:
        initializer = truncated_normal_initializer(mean=0.0, stddev=1.0 / math.sqrt(dimension))
    return initializer


def _embed(pair, weights, combiner, max_norm):
    return safe_embedding_lookup_sparse(weights, pair.id_tensor, pair.weight_tensor,
                                        combiner=combiner, name="embedding_lookup_sparse",
                                        max_norm=max_norm)


class _EmbeddingParts:
    """What an embedding column and a shared one have in common: the categorical column's
    parse spec and ids, and a ``[dimension]`` output per example."""

    __slots__ = ()

    @property
    def _parse_example_spec(self) -> dict:
        return self.categorical_column._parse_example_spec

    @property
    def _variable_shape(self) -> TensorShape:
        return TensorShape([self.dimension])

    def _transform_feature(self, builder):
        return self.categorical_column._get_sparse_tensors(builder)


class EmbeddingColumn(_EmbeddingParts, DenseColumn, collections.namedtuple(
        "EmbeddingColumn", ("categorical_column", "dimension", "combiner", "layer_creator",
                            "ckpt_to_load_from", "tensor_name_in_ckpt", "max_norm",
                            "trainable"))):
    """See :func:`embedding_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_embedding"

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        pair = builder.get(self)
        weights = self.layer_creator(weight_collections=weight_collections,
                                     scope=None, trainable=trainable)
        return _embed(pair, weights, self.combiner, self.max_norm)


class _EmbeddingCreator:
    """Creates ``embedding_weights`` in the current variable scope (TF's layer_creator)."""

    def __init__(self, shape, initializer, trainable):
        self._shape = shape
        self._initializer = initializer
        self._trainable = trainable

    def __call__(self, weight_collections=None, scope=None, trainable=None):
        t = self._trainable and (trainable is None or bool(trainable))
        cols = list(weight_collections or [])
        if GraphKeys.GLOBAL_VARIABLES not in cols:
            cols.append(GraphKeys.GLOBAL_VARIABLES)
        return get_variable("embedding_weights", shape=self._shape, dtype=dt.float32,
                            initializer=self._initializer, trainable=t, collections=cols)

    def __repr__(self) -> str:
        return f"<embedding_weights creator shape={self._shape}>"


def embedding_column(categorical_column, dimension, combiner="mean", initializer=None,
                     ckpt_to_load_from=None, tensor_name_in_ckpt=None, max_norm=None,
                     trainable=True) -> EmbeddingColumn:
    """A ``dimension``-wide dense embedding of a categorical column (TF 1.15).

    Args:
        categorical_column: any categorical column (ids in ``[0, num_buckets)``).
        dimension: embedding width.
        combiner: ``"mean"`` (default), ``"sqrtn"`` or ``"sum"`` over a row's ids.
        initializer: default ``truncated_normal(0, 1 / sqrt(dimension))``.
        ckpt_to_load_from, tensor_name_in_ckpt: not supported (NotImplementedError; use
            WarmStartSettings).
        max_norm: clip each embedding to this L2 norm before combining.
        trainable: whether ``embedding_weights`` is trainable.
    """
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a categorical column. Given: "
                         f"{categorical_column!r}")
    init = _check_embedding_args(categorical_column, dimension, combiner, initializer,
                                 max_norm, ckpt_to_load_from, tensor_name_in_ckpt)
    creator = _EmbeddingCreator((categorical_column._num_buckets, int(dimension)), init,
                                bool(trainable))
    return EmbeddingColumn(categorical_column, int(dimension), combiner, creator,
                           ckpt_to_load_from, tensor_name_in_ckpt, max_norm, bool(trainable))


class SharedEmbeddingColumn(_EmbeddingParts, DenseColumn, collections.namedtuple(
        "SharedEmbeddingColumn", ("categorical_column", "dimension", "combiner",
                                  "initializer", "shared_embedding_collection_name",
                                  "ckpt_to_load_from", "tensor_name_in_ckpt", "max_norm",
                                  "trainable"))):
    """See :func:`shared_embedding_columns`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_shared_embedding"

    @property
    def _var_scope_name(self) -> str:
        return self.shared_embedding_collection_name

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        pair = builder.get(self)
        shape = (self.categorical_column._num_buckets, self.dimension)
        found = get_collection(self.shared_embedding_collection_name)
        if found:
            weights = found[0]
            if tuple(weights.shape.as_list()) != shape:
                raise ValueError(f"Shared embedding collection "
                                 f"{self.shared_embedding_collection_name} contains a variable "
                                 f"of shape {weights.shape}, expected {shape}.")
        else:
            t = self.trainable and (trainable is None or bool(trainable))
            cols = list(weight_collections or [])
            if GraphKeys.GLOBAL_VARIABLES not in cols:
                cols.append(GraphKeys.GLOBAL_VARIABLES)
            weights = get_variable("embedding_weights", shape=shape, dtype=dt.float32,
                                   initializer=self.initializer, trainable=t, collections=cols)
            add_to_collection(self.shared_embedding_collection_name, weights)
        return _embed(pair, weights, self.combiner, self.max_norm)


def shared_embedding_columns(categorical_columns, dimension, combiner="mean",
                             initializer=None, shared_embedding_collection_name=None,
                             ckpt_to_load_from=None, tensor_name_in_ckpt=None, max_norm=None,
                             trainable=True) -> list:
    """Embedding columns sharing one ``embedding_weights`` variable (TF 1.15).

    The columns must have the same number of buckets. The variable lives in the scope
    ``shared_embedding_collection_name`` (default: the sorted column names joined by
    ``_`` + ``_shared_embedding``) and in the graph collection of that name.
    """
    cols = list(categorical_columns)
    if not cols:
        raise ValueError("categorical_columns must not be empty.")
    for c in cols:
        if not isinstance(c, CategoricalColumn):
            raise ValueError(f"All categorical_columns must be categorical columns. Given: "
                             f"{c!r}")
    n = cols[0]._num_buckets
    for c in cols[1:]:
        if c._num_buckets != n:
            raise ValueError("To use shared_embedding_column, all categorical_columns must have "
                             f"the same number of buckets. Given column: {cols[0]} with buckets: "
                             f"{n} does not match column: {c} with buckets: {c._num_buckets}")
    init = _check_embedding_args(cols[0], dimension, combiner, initializer, max_norm,
                                 ckpt_to_load_from, tensor_name_in_ckpt)
    if not shared_embedding_collection_name:
        shared_embedding_collection_name = "_".join(sorted(c.name for c in cols)) + \
            "_shared_embedding"
    return [SharedEmbeddingColumn(c, int(dimension), combiner, init,
                                  shared_embedding_collection_name, ckpt_to_load_from,
                                  tensor_name_in_ckpt, max_norm, bool(trainable)) for c in cols]


def make_parse_example_spec(feature_columns) -> dict:
    """The ``parse_example`` spec of ``feature_columns`` (TF 1.15): a dict from feature key
    to FixedLenFeature / VarLenFeature.

    Raises:
        ValueError: an item is not a feature column, or two columns need different specs
            for one key.
    """
    result: dict = {}
    for column in feature_columns:
        if not isinstance(column, FeatureColumn):
            raise ValueError(f"All feature_columns must be _FeatureColumn instances. Given: "
                             f"{column}")
        for key, spec in column._parse_example_spec.items():
            if key in result and result[key] != spec:
                raise ValueError(f"feature_columns contain different parse_spec for key "
                                 f"{key}. Given {spec} and {result[key]}")
            result[key] = spec
    return result
