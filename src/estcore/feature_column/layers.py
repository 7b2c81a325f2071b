"""``input_layer`` and ``linear_model`` (TF 1.15 ``tf.feature_column``, v1 functions).

Owns the two model entry points over feature columns: the columns sorted by name, each
transformed once per call (:class:`~estcore.feature_column.base.LazyBuilder`), each in
a variable scope named after it. ``input_layer`` concatenates the dense columns'
``[batch, num_elements]`` outputs; ``linear_model`` sums one weighted sum per column
(a ``weights`` variable ``[num_elements or num_buckets, units]``, zeros) and adds
``bias_weights`` (``[units]``, zeros): variables ``linear_model/<col>/weights`` and
``linear_model/bias_weights`` under the caller's scope, as TF names them. A categorical
column's weighted sum is a sparse lookup (its gradient touches only the rows looked up).

Must not: know the estimator or heads (the premade estimators call these); register ops.
"""

from __future__ import annotations

from estcore.feature_column.base import (
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    LazyBuilder,
    normalize_feature_columns,
    reshape_per_example,
)
from estcore.graph import dtypes as dt
from estcore.graph.initializers import zeros_initializer
from estcore.graph.ir import GraphKeys, get_collection
from estcore.graph.ops import array_ops, math_ops, nn_ops
from estcore.graph.variables import get_variable, variable_scope
from estcore.nn import safe_embedding_lookup_sparse

__all__ = ["input_layer", "linear_model"]


def _scope_vars(scope_name: str) -> list:
    return get_collection(GraphKeys.GLOBAL_VARIABLES, scope=scope_name + "/")


def _verify_batch_sizes(tensors, columns) -> None:
    seen = None
    for t, c in zip(tensors, columns, strict=True):
        b = t.shape[0] if t.shape.rank else None
        if b is None:
            continue
        if seen is None:
            seen = (b, c)
        elif b != seen[0]:
            raise ValueError(f"Batch size (first dimension) of each feature must be same. "
                             f"Batch size of columns ({seen[1].name}, {c.name}): "
                             f"({seen[0]}, {b})")


def input_layer(features, feature_columns, weight_collections=None, trainable=True,
                cols_to_vars=None, cols_to_output_tensors=None):
    """The dense input layer of ``feature_columns`` (TF 1.15 ``tf.feature_column.input_layer``).

    Args:
        features: dict from feature key to Tensor / SparseTensor / numpy array / pandas
            Series (rank-1 inputs are ``[batch, 1]``).
        feature_columns: dense columns (numeric, bucketized, embedding, indicator).
        weight_collections: extra collections for the variables the columns create.
        trainable: whether those variables are trainable.
        cols_to_vars: optional dict, filled with column -> list of its variables.
        cols_to_output_tensors: optional dict, filled with column -> its output tensor.

    Returns:
        float32 ``[batch, sum of num_elements]``: the columns' outputs in name order.
    """
    columns = normalize_feature_columns(
        feature_columns, DenseColumn,
        "You can wrap a categorical column with an embedding_column or indicator_column. ")
    with variable_scope(None, default_name="input_layer"):
        builder = LazyBuilder(features)
        outputs, ordered = [], []
        for column in sorted(columns, key=lambda c: c.name):
            with variable_scope(None, default_name=column._var_scope_name) as vs:
                tensor = column._get_dense_tensor(builder, weight_collections=weight_collections,
                                                  trainable=trainable)
                out = reshape_per_example(tensor, column,
                                          column._variable_shape.num_elements(),
                                          "input_layer")
                outputs.append(out)
                ordered.append(column)
                if cols_to_vars is not None:
                    cols_to_vars[column] = _scope_vars(vs.name)
                if cols_to_output_tensors is not None:
                    cols_to_output_tensors[column] = out
        _verify_batch_sizes(outputs, ordered)
        return array_ops.concat(outputs, 1)


def _collections(weight_collections) -> list:
    cols = list(weight_collections or [])
    for k in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES):
        if k not in cols:
            cols.append(k)
    return cols


def _weighted_sum(column, builder, units, sparse_combiner, weight_collections, trainable):
    if isinstance(column, CategoricalColumn):
        pair = column._get_sparse_tensors(builder, weight_collections=weight_collections,
                                          trainable=trainable)
        weight = get_variable("weights", shape=[column._num_buckets, units], dtype=dt.float32,
                              initializer=zeros_initializer(), trainable=trainable,
                              collections=_collections(weight_collections))
        return safe_embedding_lookup_sparse(weight, pair.id_tensor, pair.weight_tensor,
                                            combiner=sparse_combiner, name="weighted_sum")
    tensor = column._get_dense_tensor(builder, weight_collections=weight_collections,
                                      trainable=trainable)
    n = column._variable_shape.num_elements()
    tensor = reshape_per_example(tensor, column, n, "linear_model")
    weight = get_variable("weights", shape=[n, units], dtype=dt.float32,
                          initializer=zeros_initializer(), trainable=trainable,
                          collections=_collections(weight_collections))
    return math_ops.matmul(tensor, weight, name="weighted_sum")


def linear_model(features, feature_columns, units=1, sparse_combiner="sum",
                 weight_collections=None, trainable=True, cols_to_vars=None):
    """A linear prediction from ``feature_columns`` (TF 1.15 ``tf.feature_column.linear_model``).

    Dense columns contribute ``x @ weights``; categorical columns (bucketized, hashed,
    vocabulary, identity, crossed, weighted) the ``sparse_combiner`` of their ids'
    weight rows. All weights and the bias start at zero.

    Args:
        features: as :func:`input_layer`.
        feature_columns: any mix of dense and categorical columns.
        units: output width.
        sparse_combiner: ``"sum"`` (default), ``"mean"`` or ``"sqrtn"``.
        weight_collections: extra collections for the variables (they are also in
            GLOBAL_VARIABLES and MODEL_VARIABLES).
        trainable: whether the variables are trainable.
        cols_to_vars: optional dict, filled with column -> [its weights variable] and
            ``'bias'`` -> [bias_weights].

    Returns:
        float32 ``[batch, units]``.
    """
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"units must be a positive int. Given: {units!r}")
    if sparse_combiner not in ("sum", "mean", "sqrtn"):
        raise ValueError("sparse_combiner must be one of 'mean', 'sqrtn', 'sum'. Given: "
                         f"{sparse_combiner!r}")
    columns = normalize_feature_columns(
        feature_columns, FeatureColumn, "")
    for c in columns:
        if not isinstance(c, (DenseColumn, CategoricalColumn)):
            raise ValueError(f"Items of feature_columns must be either a _DenseColumn or "
                             f"_CategoricalColumn. Given: {c}")
    with variable_scope(None, default_name="linear_model"):
        builder = LazyBuilder(features)
        sums, ordered = [], []
        for column in sorted(columns, key=lambda c: c.name):
            with variable_scope(None, default_name=column._var_scope_name) as vs:
                s = _weighted_sum(column, builder, units, sparse_combiner, weight_collections,
                                  trainable)
                sums.append(s)
                ordered.append(column)
                if cols_to_vars is not None:
                    cols_to_vars[column] = _scope_vars(vs.name)
        _verify_batch_sizes(sums, ordered)
        no_bias = math_ops.add_n(sums, name="weighted_sum_no_bias") if len(sums) > 1 else \
            array_ops.identity(sums[0], name="weighted_sum_no_bias")
        bias = get_variable("bias_weights", shape=[units], dtype=dt.float32,
                            initializer=zeros_initializer(), trainable=trainable,
                            collections=_collections(weight_collections))
        if cols_to_vars is not None:
            cols_to_vars["bias"] = [bias]
        return nn_ops.bias_add(no_bias, bias, name="weighted_sum")
