"""Categorical columns (TF 1.15): hash bucket, vocabulary list / file, identity,
weighted, crossed.

Owns how each column turns its input into int64 ids in ``[0, _num_buckets)``: a dense
``[B, k]`` input becomes a row-padded SparseTensor whose missing entries (``''`` for
strings, ``-1`` for ints, TF's ``to_sparse_input`` rule) are padding slots, so nothing is
copied; a SparseTensor input (``VarLenFeature``, ``sparse_placeholder``) is used as is.
Ids: FarmHash Fingerprint64 % buckets (hash), the vocabulary position or an OOV hash
bucket / ``default_value`` (vocabulary), the value itself (identity), TF's crossed hash
(crossed). Must not: create variables (the layers and embedding columns do).
"""

from __future__ import annotations

import collections
import numbers
import os

from estcore.feature_column.base import CategoricalColumn, IdWeightPair, check_key
from estcore.graph import dtypes as dt
from estcore.graph.ops import sparse_ids, sparse_ops
from estcore.graph.ops.parsing_ops import VarLenFeature
from estcore.graph.sparse_tensor import SparseTensor, is_sparse

__all__ = ["categorical_column_with_hash_bucket", "categorical_column_with_vocabulary_list",
           "categorical_column_with_vocabulary_file", "categorical_column_with_identity",
           "weighted_categorical_column", "crossed_column", "to_sparse_input"]


def to_sparse_input(x, key: str) -> SparseTensor:
    """A raw feature as a SparseTensor: dense ``[B, k]`` drops ``''`` (strings) / ``-1``
    (ints) as TF; a SparseTensor passes through."""
    if is_sparse(x):
        return x
    if x.dtype.is_string:
        ignore = ""
    elif x.dtype.is_integer:
        ignore = -1
    else:
        raise ValueError(f"Feature {key!r}: a categorical column needs string or integer "
                         f"input. Given dtype {x.dtype.name}.")
    return sparse_ops.from_dense(x, ignore_value=ignore)


def _check_input_dtype(sp: SparseTensor, dtype, column) -> None:
    want_str = dtype.is_string
    if want_str != sp.dtype.is_string or (not want_str and not sp.dtype.is_integer):
        raise ValueError(f"Column dtype and SparseTensors dtype must be compatible. key: "
                         f"{column.key}, column dtype: {dtype.name}, tensor dtype: "
                         f"{sp.dtype.name}")


def _check_dtype(dtype, key) -> dt.DType:
    dtype = dt.as_dtype(dtype)
    if not (dtype.is_string or dtype.is_integer):
        raise ValueError(f"dtype must be string or integer. dtype: {dtype}, column_name: {key}")
    return dtype


def _pos_int(name, value, key):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be at least 1. {name}: {value!r}, key: {key}")
    return int(value)


class _Base(CategoricalColumn):
    __slots__ = ()

    @property
    def name(self) -> str:
        return self.key

    @property
    def _parse_example_spec(self) -> dict:
        return {self.key: VarLenFeature(self.dtype)}

    def _get_sparse_tensors(self, builder, weight_collections=None, trainable=None):
        return IdWeightPair(builder.get(self), None)


class HashedCategoricalColumn(_Base, collections.namedtuple(
        "HashedCategoricalColumn", ("key", "hash_bucket_size", "dtype"))):
    """See :func:`categorical_column_with_hash_bucket`."""

    __slots__ = ()

    @property
    def _num_buckets(self) -> int:
        return self.hash_bucket_size

    def _transform_feature(self, builder):
        sp = to_sparse_input(builder.get(self.key), self.key)
        _check_input_dtype(sp, self.dtype, self)
        return sparse_ops.map_values(
            lambda v: sparse_ids.string_to_hash_bucket_fast(v, self.hash_bucket_size,
                                                            name="lookup"), sp)


def categorical_column_with_hash_bucket(key, hash_bucket_size, dtype=dt.string):
    """Ids ``Fingerprint64(value) % hash_bucket_size`` (TF's FarmHash ids; integer inputs
    are hashed as their decimal text, as TF)."""
    check_key(key)
    if hash_bucket_size is None:
        raise ValueError(f"hash_bucket_size must be set. key: {key}")
    return HashedCategoricalColumn(key, _pos_int("hash_bucket_size", hash_bucket_size, key),
                                   _check_dtype(dtype, key))


class VocabularyListCategoricalColumn(_Base, collections.namedtuple(
        "VocabularyListCategoricalColumn",
        ("key", "vocabulary_list", "dtype", "default_value", "num_oov_buckets"))):
    """See :func:`categorical_column_with_vocabulary_list`."""

    __slots__ = ()

    @property
    def _num_buckets(self) -> int:
        return len(self.vocabulary_list) + self.num_oov_buckets

    def _transform_feature(self, builder):
        sp = to_sparse_input(builder.get(self.key), self.key)
        _check_input_dtype(sp, self.dtype, self)
        return sparse_ops.map_values(
            lambda v: sparse_ids.vocabulary_lookup(v, self.vocabulary_list,
                                                   self.num_oov_buckets, self.default_value),
            sp)


def _check_oov(default_value, num_oov_buckets, key):
    if not isinstance(num_oov_buckets, numbers.Integral) or num_oov_buckets < 0:
        raise ValueError(f"Invalid num_oov_buckets {num_oov_buckets} in {key}.")
    if default_value is None:
        default_value = -1
    if num_oov_buckets and default_value != -1:
        raise ValueError(f"Can't specify both num_oov_buckets and default_value in {key}.")
    return int(default_value), int(num_oov_buckets)


def categorical_column_with_vocabulary_list(key, vocabulary_list, dtype=None,
                                            default_value=-1, num_oov_buckets=0):
    """Ids: the position in ``vocabulary_list``; an out-of-vocabulary value gets
    ``len(vocabulary_list) + Fingerprint64(value) % num_oov_buckets`` when
    ``num_oov_buckets > 0``, else ``default_value`` (-1: dropped by the lookups)."""
    check_key(key)
    if vocabulary_list is None or isinstance(vocabulary_list, (str, bytes)) or \
            len(vocabulary_list) < 1:
        raise ValueError(f"vocabulary_list {vocabulary_list!r} must be non-empty, column_name: "
                         f"{key}")
    vocab = tuple(v.decode() if isinstance(v, bytes) else v for v in vocabulary_list)
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"Duplicate keys in vocabulary_list {vocabulary_list}, column_name: "
                         f"{key}")
    is_str = all(isinstance(v, str) for v in vocab)
    is_int = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in vocab)
    if not (is_str or is_int):
        raise ValueError(f"Invalid vocabulary dtype: vocabulary_list {vocabulary_list!r} must "
                         f"hold only strings or only integers, column_name: {key}")
    vdtype = dt.string if is_str else dt.int64
    if dtype is None:
        dtype = vdtype
    else:
        dtype = _check_dtype(dtype, key)
        if dtype.is_string != is_str:
            raise ValueError(f"dtype {dtype} and vocabulary dtype {vdtype} do not match, "
                             f"column_name: {key}")
    default_value, num_oov_buckets = _check_oov(default_value, num_oov_buckets, key)
    if is_int:
        vocab = tuple(int(v) for v in vocab)
    return VocabularyListCategoricalColumn(key, vocab, dtype, default_value, num_oov_buckets)


class VocabularyFileCategoricalColumn(_Base, collections.namedtuple(
        "VocabularyFileCategoricalColumn",
        ("key", "vocabulary_file", "vocabulary_size", "num_oov_buckets", "dtype",
         "default_value"))):
    """See :func:`categorical_column_with_vocabulary_file`."""

    __slots__ = ()

    @property
    def _num_buckets(self) -> int:
        return self.vocabulary_size + self.num_oov_buckets

    def _vocabulary(self) -> tuple:
        with open(self.vocabulary_file, encoding="utf-8") as f:
            lines = [ln.rstrip("\r\n") for ln in f]
        lines = lines[:self.vocabulary_size]
        if len(lines) < self.vocabulary_size:
            raise ValueError(f"Invalid vocab_size > size in file: {self.vocabulary_size} > "
                             f"{len(lines)} ({self.vocabulary_file})")
        if self.dtype.is_integer:
            return tuple(int(v) for v in lines)
        return tuple(lines)

    def _transform_feature(self, builder):
        sp = to_sparse_input(builder.get(self.key), self.key)
        _check_input_dtype(sp, self.dtype, self)
        vocab = self._vocabulary()
        return sparse_ops.map_values(
            lambda v: sparse_ids.vocabulary_lookup(v, vocab, self.num_oov_buckets,
                                                   self.default_value), sp)


def categorical_column_with_vocabulary_file(key, vocabulary_file, vocabulary_size=None,
                                            num_oov_buckets=0, default_value=None,
                                            dtype=dt.string):
    """As :func:`categorical_column_with_vocabulary_list` with one vocabulary entry per
    line of ``vocabulary_file`` (UTF-8; the first ``vocabulary_size`` lines, default all)."""
    check_key(key)
    if not vocabulary_file:
        raise ValueError(f"Missing vocabulary_file in {key}.")
    if vocabulary_size is None:
        if not os.path.exists(vocabulary_file):
            raise ValueError(f"vocabulary_file in {key} does not exist: {vocabulary_file}")
        with open(vocabulary_file, encoding="utf-8") as f:
            vocabulary_size = sum(1 for _ in f)
    if not isinstance(vocabulary_size, numbers.Integral) or vocabulary_size < 1:
        raise ValueError(f"Invalid vocabulary_size in {key}.")
    default_value, num_oov_buckets = _check_oov(default_value, num_oov_buckets, key)
    return VocabularyFileCategoricalColumn(key, str(vocabulary_file), int(vocabulary_size),
                                           num_oov_buckets, _check_dtype(dtype, key),
                                           default_value)


class IdentityCategoricalColumn(_Base, collections.namedtuple(
        "IdentityCategoricalColumn", ("key", "number_buckets", "default_value"))):
    """See :func:`categorical_column_with_identity`."""

    __slots__ = ()

    @property
    def dtype(self):
        return dt.int64

    @property
    def _num_buckets(self) -> int:
        return self.number_buckets

    def _transform_feature(self, builder):
        sp = to_sparse_input(builder.get(self.key), self.key)
        if not sp.dtype.is_integer:
            raise ValueError(f"Invalid input, not integer. key: {self.key} dtype: "
                             f"{sp.dtype.name}")
        return sparse_ids.identity_ids(sp, self.number_buckets, self.default_value, self.key)


def categorical_column_with_identity(key, num_buckets, default_value=None):
    """Ids are the integer inputs themselves, in ``[0, num_buckets)``; others become
    ``default_value`` (None: an InvalidArgumentError when the step runs)."""
    check_key(key)
    num_buckets = _pos_int("num_buckets", num_buckets, key)
    if default_value is not None and not 0 <= default_value < num_buckets:
        raise ValueError(f"default_value {default_value} not in range [0, {num_buckets}), "
                         f"column_name {key}")
    return IdentityCategoricalColumn(key, num_buckets,
                                     None if default_value is None else int(default_value))


class WeightedCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "WeightedCategoricalColumn", ("categorical_column", "weight_feature_key", "dtype"))):
    """See :func:`weighted_categorical_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"

    @property
    def _num_buckets(self) -> int:
        return self.categorical_column._num_buckets

    @property
    def _parse_example_spec(self) -> dict:
        spec = dict(self.categorical_column._parse_example_spec)
        if self.weight_feature_key in spec:
            raise ValueError(f"Parse config {spec[self.weight_feature_key]} already exists for "
                             f"{self.weight_feature_key}.")
        spec[self.weight_feature_key] = VarLenFeature(self.dtype)
        return spec

    def _transform_feature(self, builder):
        w = builder.get(self.weight_feature_key)
        if not is_sparse(w):
            if not w.dtype.is_floating:
                raise ValueError(f"Bad dtype, expected {self.dtype.name}, but got "
                                 f"{w.dtype.name}.")
            w = sparse_ops.from_dense(w, ignore_value=0.0)
        ids = self.categorical_column._get_sparse_tensors(builder).id_tensor
        return ids, sparse_ops.with_layout_of(w, ids, f"weighted column {self.name!r}")

    def _get_sparse_tensors(self, builder, weight_collections=None, trainable=None):
        ids, w = builder.get(self)
        return IdWeightPair(ids, w)


def weighted_categorical_column(categorical_column, weight_feature_key, dtype=dt.float32):
    """Ids of ``categorical_column`` weighted by the feature ``weight_feature_key`` (same
    layout as the ids: one weight per id)."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a categorical column. Given: "
                         f"{categorical_column!r}")
    check_key(weight_feature_key)
    dtype = dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"dtype {dtype} is not convertible to float.")
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dtype)


class CrossedColumn(CategoricalColumn, collections.namedtuple(
        "CrossedColumn", ("keys", "hash_bucket_size", "hash_key"))):
    """See :func:`crossed_column`."""

    __slots__ = ()

    @property
    def name(self) -> str:
        names = []
        for k in self.keys:
            names.append(k if isinstance(k, str) else k.name)
        return "_X_".join(sorted(names))

    @property
    def _num_buckets(self) -> int:
        return self.hash_bucket_size

    @property
    def _parse_example_spec(self) -> dict:
        spec = {}
        for k in self.keys:
            if isinstance(k, str):
                spec[k] = VarLenFeature(dt.string)
            else:
                spec.update(k._parse_example_spec)
        return spec

    def _leaf_keys(self) -> list:
        out = []
        for k in self.keys:
            if isinstance(k, CrossedColumn):
                out.extend(k._leaf_keys())
            else:
                out.append(k)
        return out

    def _transform_feature(self, builder):
        tensors = []
        for k in self._leaf_keys():
            if isinstance(k, str):
                tensors.append(builder.get(k))
            else:
                pair = k._get_sparse_tensors(builder)
                if pair.weight_tensor is not None:
                    raise ValueError("crossed_column does not support weight_tensor, but the "
                                     f"given column populates weight_tensor. Given column: "
                                     f"{k.name}")
                tensors.append(pair.id_tensor)
        return sparse_ids.sparse_cross_hashed(tensors, self.hash_bucket_size, self.hash_key)

    def _get_sparse_tensors(self, builder, weight_collections=None, trainable=None):
        return IdWeightPair(builder.get(self), None)


def crossed_column(keys, hash_bucket_size, hash_key=None):
    """Hashed crosses of ``keys`` (feature keys of string/int features, or categorical
    columns other than hashed ones), ids as TF's ``sparse_cross_hashed`` (the same ids
    for the same inputs)."""
    if not hash_bucket_size or hash_bucket_size < 1:
        raise ValueError(f"hash_bucket_size must be > 1. hash_bucket_size: {hash_bucket_size}")
    if not keys or len(keys) < 2:
        raise ValueError(f"keys must be a list with length > 1. Given: {keys}")
    for k in keys:
        if not isinstance(k, (str, CategoricalColumn)):
            raise ValueError(f"Unsupported key type. All keys must be either string, or "
                             f"categorical column except _HashedCategoricalColumn. Given: {k}")
        if isinstance(k, HashedCategoricalColumn):
            raise ValueError("categorical_column_with_hash_bucket is not supported for "
                             f"crossing. Hashing before crossing will increase probability "
                             f"of collision. Instead, use the feature name as a string. "
                             f"Given: {k}")
    return CrossedColumn(tuple(keys), int(hash_bucket_size), hash_key)
