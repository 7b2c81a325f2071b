"""The feature-column protocol and the per-call transformation cache.

Owns: the base classes every column derives from (:class:`FeatureColumn`,
:class:`DenseColumn`, :class:`CategoricalColumn`), the :class:`IdWeightPair` a
categorical column returns, the cache that transforms each raw feature and each column
once per ``input_layer`` / ``linear_model`` call (TF 1.15's ``_LazyBuilder``), the
conversion of raw inputs (numpy arrays, pandas Series, lists, tensors, SparseTensors)
and the normalisation of a ``feature_columns`` argument, and the reshape of a column's
tensor to ``[batch, num_elements]`` (:func:`reshape_per_example`).

Columns are immutable namedtuples (TF's): equal arguments make equal, hashable columns
whose ``repr`` reads as TF's. The protocol below is estcore's own (TF's private
``_transform_feature`` / ``_get_dense_tensor`` / ``_get_sparse_tensors`` names, the
same roles):

* ``name``: the column's name (variable scopes, sort order of the outputs).
* ``_transform_feature(builder)``: the column's transformed input (a dense
  Tensor or an estcore SparseTensor), computed once per call through ``builder``.
* ``_parse_example_spec``: the ``parse_example`` spec the column needs.
* dense columns: ``_variable_shape`` (TensorShape of one example's output) and
  ``_get_dense_tensor(builder, weight_collections, trainable)`` -> ``[batch, ...]``.
* categorical columns: ``_num_buckets`` and ``_get_sparse_tensors(builder, ...)`` ->
  :class:`IdWeightPair` of SparseTensors (ids int64 in ``[0, num_buckets)``).

Must not: create variables (the layers and the embedding columns do, in their scopes);
import the estimator or the compat namespace.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ir import control_dependencies
from estcore.graph.ops import array_ops, math_ops
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.debug_ops import Assert
from estcore.graph.shapes import TensorShape, fmt_shape
from estcore.graph.sparse_tensor import SparseTensor, SparseTensorValue, is_sparse

__all__ = ["FeatureColumn", "DenseColumn", "CategoricalColumn", "IdWeightPair", "LazyBuilder",
           "normalize_feature_columns", "raw_to_tensor", "check_per_example",
           "reshape_per_example"]


class FeatureColumn:
    """Base of every column (see the module docstring for the protocol)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def _var_scope_name(self) -> str:
        return self.name

    def _transform_feature(self, builder: LazyBuilder):
        raise NotImplementedError

    @property
    def _parse_example_spec(self) -> dict:
        raise NotImplementedError


class DenseColumn(FeatureColumn):
    """A column with a dense ``[batch, ...]`` representation (input_layer accepts it)."""

    __slots__ = ()

    @property
    def _variable_shape(self) -> TensorShape:
        raise NotImplementedError

    def _get_dense_tensor(self, builder, weight_collections=None, trainable=None):
        raise NotImplementedError


class CategoricalColumn(FeatureColumn):
    """A column of integer ids in ``[0, _num_buckets)`` (a SparseTensor per batch)."""

    __slots__ = ()

    @property
    def _num_buckets(self) -> int:
        raise NotImplementedError

    def _get_sparse_tensors(self, builder, weight_collections=None, trainable=None):
        raise NotImplementedError


IdWeightPair = collections.namedtuple("IdWeightPair", ("id_tensor", "weight_tensor"))


def raw_to_tensor(key: str, value: Any):
    """A raw feature as a Tensor or SparseTensor of rank >= 1 (rank 1 becomes ``[B, 1]``).

    Accepts Tensors, Variables, SparseTensors, SparseTensorValues, numpy arrays
    (strings as object arrays of str or bytes), pandas Series and nested lists.
    """
    if isinstance(value, SparseTensorValue):
        value = SparseTensor.from_value(value)
    if is_sparse(value):
        if value.shape.rank is not None and value.shape.rank != 2:
            raise ValueError(f"Feature {key!r}: a SparseTensor feature must have rank 2 "
                             f"([batch, values]). Received rank {value.shape.rank}.")
        return value
    if not hasattr(value, "_as_tensor"):
        if hasattr(value, "to_numpy"):  # a pandas Series / Index
            value = value.to_numpy()
        arr = np.asarray(value)
        if arr.dtype.kind in "OUST":
            flat = arr.reshape(-1)
            bad = [v for v in flat if not isinstance(v, (str, bytes))]
            if bad:
                raise TypeError(f"Feature {key!r}: an object array must hold only str or "
                                f"bytes (strings); found a {type(bad[0]).__name__}: "
                                f"{bad[0]!r}.")
            value = convert_to_tensor(arr.astype(object), dt.string)
        else:
            value = convert_to_tensor(arr)
    t = convert_to_tensor(value)
    rank = t.shape.rank
    if rank == 0:
        raise ValueError(f"Feature (key: {key}) cannot have rank 0. Given: {t}")
    if rank == 1:
        t = array_ops.expand_dims(t, -1)
    return t


def _expects(column, num_elements: int, where: str) -> str:
    declared = fmt_shape(getattr(column, "_variable_shape", None)
                         or getattr(column, "shape", (num_elements,)))
    return (f"{where}: feature column '{column.name}' expects {num_elements} value"
            f"{'s' if num_elements != 1 else ''} per example (shape {declared})")


def check_per_example(tensor, column, num_elements: int, where: str) -> bool:
    """True when ``tensor``'s static shape shows ``num_elements`` values per example,
    False when it does not tell (unknown dimensions after the first).

    Raises:
        ValueError: naming the column, when the static shape holds another number of
            values per example (or the tensor is a scalar).
    """
    shape = tensor.shape
    if shape.rank == 0:
        raise ValueError(f"{_expects(column, num_elements, where)}, but its tensor is a "
                         "scalar (shape ()): it needs a batch dimension.")
    per_example = TensorShape(shape.dims[1:]).num_elements() if shape.rank else None
    if per_example is None:
        return False
    if per_example != num_elements:
        raise ValueError(
            f"{_expects(column, num_elements, where)}, but the feature has {per_example} per "
            f"example (tensor shape {fmt_shape(shape)}): a batch of B examples has "
            f"{per_example}*B values where {num_elements}*B are needed. Check the column's "
            "shape against the data (a rank-1 feature is read as [batch, 1]).")
    return True


def reshape_per_example(tensor, column, num_elements: int, where: str):
    """``tensor`` (``[batch, ...]``) as ``[batch, num_elements]``, ``batch`` being its first
    dimension, as TF 1.15 reshapes each column (``(shape(tensor)[0], num_elements)``).

    A feature whose values per example are not ``num_elements`` (``numeric_column('n',
    shape=[2])`` fed ``[batch]`` values) is an error naming the column, never a silent
    regrouping of the rows: a ValueError while the graph is built when the static shape
    proves it (:func:`check_per_example`); otherwise (dimensions after the first unknown
    until run time) an Assert that runs before the reshape raises InvalidArgumentError
    with the batch size and the expected and received counts. (A count that is not even
    a multiple of ``num_elements`` fails earlier, when the session plans the step: the
    reshape named ``<scope>/<column>/Reshape`` cannot take it.)

    Args:
        tensor: the column's dense tensor, rank >= 1 (rank-1 features arrive as
            ``[batch, 1]``).
        column: the feature column (named in the errors).
        num_elements: values per example the column declares.
        where: the caller, for the message (``"input_layer"``, ``"linear_model"``).

    Raises:
        ValueError: the static shape holds another number of values per example.
    """
    if check_per_example(tensor, column, num_elements, where):
        return array_ops.reshape(tensor, [-1, num_elements])
    batch = array_ops.shape(tensor)[0]
    needed = math_ops.multiply(batch, num_elements)
    have = array_ops.size(tensor)
    check = Assert(math_ops.equal(have, needed),
                   [f"{_expects(column, num_elements, where)}: a batch of", batch,
                    "examples needs", needed, "values, but the feature has", have,
                    "values (tensor shape", array_ops.shape(tensor), ")"],
                   summarize=8, name="check_num_elements")
    with control_dependencies([check]):
        return array_ops.reshape(tensor, [-1, num_elements])


class LazyBuilder:
    """Transforms each raw feature and each column once (TF's ``_LazyBuilder``).

    Args:
        features: a mapping from feature key to raw input (see :func:`raw_to_tensor`).
    """

    def __init__(self, features):
        if not isinstance(features, collections.abc.Mapping):
            raise TypeError("`features` must be a dict mapping feature keys to tensors or "
                            f"arrays. Received: {type(features).__name__}")
        self._features = dict(features)
        self._cache: dict = {}

    def get(self, key):
        """The transformed feature for ``key`` (a feature key string or a column)."""
        if key in self._cache:
            return self._cache[key]
        if isinstance(key, str):
            if key not in self._features:
                raise ValueError(f"The feature {key!r} is not in features dictionary "
                                 f"(keys: {sorted(map(str, self._features))}).")
            out = raw_to_tensor(key, self._features[key])
        elif isinstance(key, FeatureColumn):
            out = key._transform_feature(self)
            if out is None:
                raise ValueError(f"Column {key.name!r} did not return a transformed tensor.")
        else:
            raise TypeError(f"LazyBuilder keys must be str or feature columns. Received: "
                            f"{key!r}")
        self._cache[key] = out
        return out


def normalize_feature_columns(feature_columns, kind: type = FeatureColumn,
                              kind_hint: str = "") -> list:
    """``feature_columns`` as a list of unique-named columns of ``kind``.

    Raises:
        ValueError: empty, or two columns share a name.
        TypeError / ValueError: an item is not a column of ``kind``.
    """
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    if isinstance(feature_columns, (str, bytes)) or not hasattr(feature_columns, "__iter__"):
        raise ValueError("Expected feature_columns to be iterable, found "
                         f"{type(feature_columns).__name__}.")
    cols = list(feature_columns)
    if not cols:
        raise ValueError("feature_columns must not be empty.")
    for c in cols:
        if not isinstance(c, kind):
            raise ValueError(f"Items of feature_columns must be a {kind.__name__}. "
                             f"{kind_hint}Given (type {type(c).__name__}): {c!r}.")
    names: dict[str, Any] = {}
    for c in cols:
        if c.name in names:
            raise ValueError(f"Duplicate feature column name found for columns: {names[c.name]} "
                             f"and {c}. This usually means that these columns refer to same "
                             "base feature. Either one must be discarded or a duplicated but "
                             "renamed item must be inserted in features dict.")
        names[c.name] = c
    return cols


def check_key(key) -> str:
    """A column's feature key: a non-empty str."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string. Given: {key!r}")
    return key
