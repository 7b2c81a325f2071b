"""Lookup tables (TF 1.15's ``tf.lookup`` / ``tf.contrib.lookup``): static key -> value maps.

Design: a table is a Python object (:class:`HashTable`) holding an *initializer* that
describes its contents (constant keys and values, or a text file) and a unique id. Graph
ops refer to it by attribute, so one table serves any graph that looks it up (the main
graph, a ``Dataset.map`` function's graph). Contents are loaded when a session first
needs them, never while the graph is built, and kept per session:

====================  ===========================================================
``LookupTableInit``   loads the contents into the session (``table.initializer``,
                      ``tf.tables_initializer()``); a missing or malformed file
                      raises here, as TF's initializer does.
``LookupTableFind``   key -> value (int64 ids reuse the ``VocabularyLookup`` kernel
                      step of ``sparse_ids``, OOV buckets included); loads the
                      contents itself when no initializer ran in this session, so
                      Estimator / MonitoredSession programs need no explicit
                      initializer (TF's Scaffold runs it for them).
``LookupTableSize``   the number of entries (+ ``num_oov_buckets`` for id tables).
====================  ===========================================================

Differences from TF: a lookup before ``tables_initializer()`` works instead of raising
"Table not initialized"; keys and values of :class:`KeyValueTensorInitializer` must be
known while tracing (constants), and a file is read once per session.

Owns: the table classes, initializers, the three ops and ``index_table_from_*`` /
``index_to_string_table_from_*``. Must not: hash (``sparse_ids`` owns FarmHash ids).
"""

from __future__ import annotations

import numbers
import os
import uuid
from typing import Any

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ir import get_default_graph
from estcore.graph.ops import sparse_ids, sparse_ops
from estcore.graph.ops.core import constant_value, convert_to_tensor, make, make_op, row
from estcore.graph.ops.state_ops import group
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import is_sparse

__all__ = ["HashTable", "StaticHashTable", "IdTableWithHashBuckets", "StaticVocabularyTable",
           "KeyValueTensorInitializer", "TextFileInitializer", "TextFileIndex",
           "TextFileIdTableInitializer", "TextFileStringTableInitializer",
           "index_table_from_file", "index_table_from_tensor",
           "index_to_string_table_from_file", "index_to_string_table_from_tensor",
           "tables_initializer", "TABLE_INITIALIZERS"]

TABLE_INITIALIZERS = "table_initializer"   # TF's GraphKeys.TABLE_INITIALIZERS


class TextFileIndex:
    """Special column indices of :class:`TextFileInitializer` (TF's values)."""
    WHOLE_LINE = -2
    LINE_NUMBER = -1


def _key_of(v: Any, key_dtype) -> Any:
    """A table key: str for string tables (bytes decoded as the lookup kernel does)."""
    if key_dtype.is_string:
        return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)
    return int(v)


def _insert(contents: dict, key: Any, value: Any, where: str) -> None:
    old = contents.setdefault(key, value)
    if old is not value and old != value:
        raise errors.FailedPreconditionError(
            f"HashTable has different value for same key{where}. Key {key} has {old} and "
            f"trying to add value {value}")


# ---------------------------------------------------------------- initializers
class KeyValueTensorInitializer:
    """Contents from ``keys`` and ``values`` tensors of the same length (constants).

    Args:
        keys: 1-D string or integer tensor-like.
        values: 1-D tensor-like, one value per key.
        key_dtype, value_dtype: optional dtypes the tensors are converted to.
    """

    def __init__(self, keys, values, key_dtype=None, value_dtype=None, name=None):
        keys = convert_to_tensor(keys, dtype=key_dtype)
        values = convert_to_tensor(values, dtype=value_dtype)
        self.key_dtype, self.value_dtype = keys.dtype, values.dtype
        self._name = name or "key_value_init"
        kv, vv = constant_value(keys), constant_value(values)
        if kv is None or vv is None:
            which = "keys" if kv is None else "values"
            raise ValueError(f"KeyValueTensorInitializer: `{which}` must be known while the "
                             f"graph is built (a constant) in estcore. Received: {which}="
                             f"{keys if kv is None else values}")
        kv, vv = np.asarray(kv).reshape(-1), np.asarray(vv).reshape(-1)
        if kv.size != vv.size:
            raise ValueError(f"KeyValueTensorInitializer: `keys` and `values` must have the "
                             f"same length. Received: {kv.size} keys, {vv.size} values")
        self._spec = {"kind": "tensor", "key_dtype": self.key_dtype,
                      "value_dtype": self.value_dtype, "name": self._name,
                      "keys": tuple(_key_of(k, self.key_dtype) for k in kv.tolist()),
                      "values": tuple(vv.tolist())}


class TextFileInitializer:
    """Contents from a text file read when the table is initialized (TF's parsing).

    Each line is split on ``delimiter``; the key and the value are the columns
    ``key_index`` and ``value_index``, or the whole line (``TextFileIndex.WHOLE_LINE``) or
    the 0-based line number (``TextFileIndex.LINE_NUMBER``). ``vocab_size`` reads only
    that many lines (the file must have at least that many).
    """

    def __init__(self, filename, key_dtype, key_index, value_dtype, value_index,
                 vocab_size=None, delimiter="\t", name=None):
        filename = _path(filename, "filename")
        self.key_dtype, self.value_dtype = dt.as_dtype(key_dtype), dt.as_dtype(value_dtype)
        for arg, idx, d in (("key_index", key_index, self.key_dtype),
                            ("value_index", value_index, self.value_dtype)):
            if not isinstance(idx, numbers.Integral) or idx < TextFileIndex.WHOLE_LINE:
                raise ValueError(f"`{arg}` must be >= -2. Received: {arg}={idx!r}")
            if idx == TextFileIndex.LINE_NUMBER and d != dt.int64:
                raise ValueError(f"Signature mismatch. `{arg}` is LINE_NUMBER and the dtype "
                                 f"must be int64. Received: {d.name}")
            if idx == TextFileIndex.WHOLE_LINE and not (d.is_string or d.is_integer):
                raise ValueError(f"Signature mismatch. `{arg}` is WHOLE_LINE and the dtype "
                                 f"must be string or integer. Received: {d.name}")
        if vocab_size is not None and vocab_size <= 0:
            raise ValueError(f"`vocab_size` must be greater than 0. Received: "
                             f"vocab_size={vocab_size}")
        self.filename = filename
        self._spec = {"kind": "file", "key_dtype": self.key_dtype,
                      "value_dtype": self.value_dtype, "name": name or "text_file_init",
                      "filename": self.filename, "key_index": int(key_index),
                      "value_index": int(value_index), "delimiter": str(delimiter),
                      "vocab_size": None if vocab_size is None else int(vocab_size)}


class TextFileIdTableInitializer(TextFileInitializer):
    """Whole lines (keys) -> line numbers (TF 1.15 ``contrib.lookup`` name)."""

    def __init__(self, filename, key_column_index=TextFileIndex.WHOLE_LINE,
                 value_column_index=TextFileIndex.LINE_NUMBER, vocab_size=None,
                 delimiter="\t", name="text_file_id_table_init", key_dtype=dt.string):
        super().__init__(filename, key_dtype, key_column_index, dt.int64, value_column_index,
                         vocab_size, delimiter, name)


class TextFileStringTableInitializer(TextFileInitializer):
    """Line numbers (keys) -> whole lines (TF 1.15 ``contrib.lookup`` name)."""

    def __init__(self, filename, key_column_index=TextFileIndex.LINE_NUMBER,
                 value_column_index=TextFileIndex.WHOLE_LINE, vocab_size=None,
                 delimiter="\t", name="text_file_string_table_init"):
        super().__init__(filename, dt.int64, key_column_index, dt.string, value_column_index,
                         vocab_size, delimiter, name)


# ---------------------------------------------------------------- loading (run time)
def _field(spec: dict, line: str, cols: list, n: int, what: str) -> Any:
    index, d = spec[f"{what}_index"], spec[f"{what}_dtype"]
    text = str(n) if index == TextFileIndex.LINE_NUMBER else \
        line if index == TextFileIndex.WHOLE_LINE else cols[index]
    if d.is_string:
        return text if what == "key" else text.encode("utf-8", "surrogateescape")
    try:
        return int(text) if d.is_integer else float(text)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"Field {text} in line {n} of {spec['filename']} is not a valid {d.name} "
            f"({what}).") from None


def _path(value: Any, arg: str) -> str:
    """A table file's absolute path (an export made from the graph finds it from any
    working directory), from a str, bytes, PathLike or a constant string tensor."""
    if hasattr(value, "op") and hasattr(value, "dtype"):
        known = constant_value(value)
        if known is None or not value.dtype.is_string or np.ndim(known) != 0:
            raise ValueError(f"`{arg}` must be a str or a constant scalar string tensor (the "
                             "file is named when the graph is built). Received: the tensor "
                             f"'{value.name}'")
        value = known.item() if isinstance(known, np.ndarray) else known
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"`{arg}` must be specified and must not be empty. Received: "
                         f"{arg}={value!r}")
    return os.path.abspath(value)


def _load_file(spec: dict) -> dict:
    path, size = spec["filename"], spec["vocab_size"]
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            text = f.read()
        # TF's line reader: lines end at "\n" only (not at the other Unicode line
        # breaks splitlines knows), a trailing "\r" dropped
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    except FileNotFoundError:
        raise errors.NotFoundError(
            f"{path}: No such file or directory (the vocabulary / table file of lookup "
            f"table initializer '{spec['name']}')") from None
    if size is not None:
        if len(lines) < size:
            raise errors.InvalidArgumentError(
                f"Invalid vocab_size in {path}: expected {size} but got {len(lines)}")
        lines = lines[:size]
    need = max(spec["key_index"], spec["value_index"]) + 1
    contents: dict = {}
    for n, line in enumerate(lines):
        cols = line.split(spec["delimiter"]) if need > 0 else []
        if len(cols) < need:
            raise errors.InvalidArgumentError(
                f"Invalid number of columns in {path} line {n} ({line}) : expected at least "
                f"{need} got {len(cols)}")
        _insert(contents, _field(spec, line, cols, n, "key"),
                _field(spec, line, cols, n, "value"), f" (in {path}, line {n})")
    return contents


def _load(spec: dict) -> dict:
    """The contents ``{key: value}`` a table spec describes (reads its file)."""
    if spec["kind"] == "file":
        return _load_file(spec)
    contents: dict = {}
    for k, v in zip(spec["keys"], spec["values"], strict=True):
        _insert(contents, k, v, "")
    return contents


# ---------------------------------------------------------------- ops
def _contents(spec: dict, state) -> dict:
    """The table's contents for the session owning ``state`` (loaded once per session)."""
    if state is None:
        return _load(spec)
    key = ("lookup_table", spec["uid"])
    got = state.scratch.get(key)
    if got is None:
        got = state.scratch[key] = _load(spec)
    return got


def _init_build(k):
    spec = k.attrs["table"]
    return lambda: _contents(spec, k.state)


def _find_infer(ctx):
    return [(ctx.attrs["table"]["value_dtype"], ctx.shapes[0])]


def _find_build(k):
    spec, default = k.attrs["table"], k.attrs["default_value"]
    contents = _contents(spec, k.state)
    n_oov = k.attrs["num_oov_buckets"]
    x, o = k.ins[0], k.outs[0]
    if spec["value_dtype"] == dt.int64:
        return sparse_ids.lookup_ids_run(x, o, contents, len(contents), n_oov, default)
    kd, flat = spec["key_dtype"], o.reshape(-1)

    def run():
        flat[...] = [contents.get(_key_of(v, kd), default) for v in x.reshape(-1).tolist()]
    return run


def _size_build(k):
    o, n = k.outs[0], len(_contents(k.attrs["table"], k.state)) + k.attrs["num_oov_buckets"]

    def run():
        o[...] = n
    return run


row("LookupTableInit", lambda ctx: [], _init_build, None, stateful=True)
row("LookupTableFind", _find_infer, _find_build, NO_GRADIENT)
row("LookupTableSize", lambda ctx: [(dt.int64, TensorShape([]))], _size_build, NO_GRADIENT)


# ---------------------------------------------------------------- tables
class HashTable:
    """A static key -> value table (TF1 ``tf.contrib.lookup.HashTable`` /
    ``tf.lookup.StaticHashTable``).

    Args:
        initializer: a :class:`KeyValueTensorInitializer` or :class:`TextFileInitializer`.
        default_value: the value of a missing key (converted to the value dtype).
    """

    def __init__(self, initializer, default_value, name=None):
        if not isinstance(initializer, (KeyValueTensorInitializer, TextFileInitializer)):
            raise TypeError("`initializer` must be a KeyValueTensorInitializer or a "
                            f"TextFileInitializer. Received: {type(initializer).__name__}")
        self._spec = {"uid": uuid.uuid4().hex, **initializer._spec}
        self.key_dtype, self.value_dtype = initializer.key_dtype, initializer.value_dtype
        self.default_value = convert_to_tensor(default_value, dtype=self.value_dtype)
        dv = constant_value(self.default_value)
        if dv is None or np.asarray(dv).size != 1:
            raise ValueError("`default_value` must be a constant scalar. Received: "
                             f"default_value={default_value!r}")
        dv = np.asarray(dv).reshape(-1)[0]
        self._default = dv.item() if isinstance(dv, np.generic) else dv
        self._name = name or "hash_table"
        graph = get_default_graph()
        self.initializer = make_op("LookupTableInit", [], {"table": self._spec},
                                   name=f"{self._name}/table_init", graph=graph)
        graph.add_to_collection(TABLE_INITIALIZERS, self.initializer)

    init = property(lambda self: self.initializer)  # TF 1.x's deprecated name
    name = property(lambda self: self._name)

    def size(self, name=None):
        """The number of entries, an int64 scalar."""
        return make("LookupTableSize", [], {"table": self._spec, "num_oov_buckets": 0},
                    name=name or f"{self._name}_Size")

    def _check_keys(self, keys, what):
        if keys.dtype != self.key_dtype:
            raise TypeError(f"Dtype of argument `keys` must be {self.key_dtype.name}, "
                            f"received: {keys.dtype.name} ({what})")

    def _find(self, keys, n_oov, name):
        def one(v):
            v = convert_to_tensor(v)
            self._check_keys(v, name)
            attrs = {"table": self._spec, "default_value": self._default,
                     "num_oov_buckets": n_oov}
            return make("LookupTableFind", [v], attrs, name=name)
        if is_sparse(keys):
            return sparse_ops.map_values(one, keys)
        return one(keys)

    def lookup(self, keys, name=None):
        """Values of ``keys`` (a tensor or SparseTensor of ``key_dtype``), same shape."""
        return self._find(keys, 0, name or f"{self._name}_Lookup")


StaticHashTable = HashTable


class IdTableWithHashBuckets:
    """int64 ids from ``table``, out-of-vocabulary keys hashed into ``num_oov_buckets``
    buckets after the vocabulary: ``table.size() + Fingerprint64(key) % num_oov_buckets``
    (integer keys hashed as decimal text). ``table=None`` hashes every key."""

    def __init__(self, table, num_oov_buckets, hasher_spec=None, name=None, key_dtype=None):
        if not isinstance(num_oov_buckets, numbers.Integral) or num_oov_buckets < 0:
            raise ValueError("`num_oov_buckets` must be an int >= 0. Received: "
                             f"num_oov_buckets={num_oov_buckets!r}")
        if hasher_spec not in (None, "fasthash"):
            raise ValueError("Only the default FastHashSpec (FarmHash Fingerprint64) is "
                             f"available in estcore. Received: hasher_spec={hasher_spec!r}")
        if table is not None and table.value_dtype != dt.int64:
            raise TypeError("`table` must map keys to int64 ids. Received: a table of "
                            f"{table.value_dtype.name} values")
        self._table, self._n_oov = table, int(num_oov_buckets)
        self._name = name or "hash_bucket"
        self.key_dtype = dt.as_dtype(key_dtype) if key_dtype is not None else \
            table.key_dtype if table is not None else dt.string
        self.value_dtype = dt.int64
        self.initializer = table.initializer if table is not None else group()

    init = property(lambda self: self.initializer)
    name = property(lambda self: self._name)

    def size(self, name=None):
        """Vocabulary entries + ``num_oov_buckets``, an int64 scalar."""
        if self._table is None:
            return convert_to_tensor(np.int64(self._n_oov), name=name)
        return make("LookupTableSize", [], {"table": self._table._spec,
                                            "num_oov_buckets": self._n_oov},
                    name=name or f"{self._name}_Size")

    def lookup(self, keys, name=None):
        """int64 ids of ``keys`` (a tensor or SparseTensor), same shape."""
        name = name or f"{self._name}_Lookup"
        if self._table is None:
            fn = lambda v: sparse_ids.string_to_hash_bucket_fast(v, self._n_oov,  # noqa: E731
                                                                  name=name)
            return sparse_ops.map_values(fn, keys) if is_sparse(keys) else fn(keys)
        return self._table._find(keys, self._n_oov, name)


class StaticVocabularyTable(IdTableWithHashBuckets):
    """TF 1.15's ``tf.lookup.StaticVocabularyTable``: ``initializer``'s ids plus
    ``num_oov_buckets`` hash buckets."""

    def __init__(self, initializer, num_oov_buckets, lookup_key_dtype=None, name=None):
        if num_oov_buckets <= 0:
            raise ValueError("`num_oov_buckets` must be > 0; use StaticHashTable. Received: "
                             f"num_oov_buckets={num_oov_buckets!r}")
        table = HashTable(initializer, -1, name=name)
        super().__init__(table, num_oov_buckets, name=name, key_dtype=lookup_key_dtype)


# ---------------------------------------------------------------- factories
def _check_oov_default(num_oov_buckets, default_value):
    if not isinstance(num_oov_buckets, numbers.Integral) or num_oov_buckets < 0:
        raise ValueError("`num_oov_buckets` must be greater or equal than 0. Received: "
                         f"num_oov_buckets={num_oov_buckets!r}")
    if num_oov_buckets and default_value != -1:
        raise ValueError("`default_value` must be -1 when `num_oov_buckets` > 0. Received: "
                         f"default_value={default_value!r}")


def _id_table(init, num_oov_buckets, default_value, name):
    table = HashTable(init, default_value, name=name or "string_to_index")
    if num_oov_buckets:
        return IdTableWithHashBuckets(table, num_oov_buckets, name=table.name)
    return table


def index_table_from_file(vocabulary_file=None, num_oov_buckets=0, vocab_size=None,
                          default_value=-1, hasher_spec=None, key_dtype=dt.string, name=None,
                          key_column_index=TextFileIndex.WHOLE_LINE,
                          value_column_index=TextFileIndex.LINE_NUMBER, delimiter="\t"):
    """A table of int64 ids: by default each line of ``vocabulary_file`` -> its line
    number; other keys ``default_value`` or an OOV bucket (see
    :class:`IdTableWithHashBuckets`). The file is read when the table is initialized."""
    vocabulary_file = _path(vocabulary_file, "vocabulary_file")
    if vocab_size is not None and vocab_size < 1:
        raise ValueError(f"`vocab_size` must be greater than 0, got {vocab_size} for "
                         f"vocabulary_file: {vocabulary_file}.")
    key_dtype = dt.as_dtype(key_dtype)
    if not (key_dtype.is_string or key_dtype.is_integer):
        raise ValueError(f"`key_dtype` must be string or integer. Received: {key_dtype.name}")
    _check_oov_default(num_oov_buckets, default_value)
    init = TextFileInitializer(vocabulary_file, dt.int64 if key_dtype.is_integer else
                               dt.string, key_column_index, dt.int64, value_column_index,
                               vocab_size, delimiter, name=f"{name or 'string_to_index'}_init")
    if key_dtype.is_integer and key_dtype != dt.int64:
        raise ValueError(f"`key_dtype` must be string or int64. Received: {key_dtype.name}")
    return _id_table(init, num_oov_buckets, default_value, name)


def index_table_from_tensor(vocabulary_list, num_oov_buckets=0, default_value=-1,
                            hasher_spec=None, dtype=dt.string, name=None):
    """A table of int64 ids: ``vocabulary_list[i]`` -> ``i`` (a constant 1-D tensor of
    ``dtype``, string or int64); other keys ``default_value`` or an OOV bucket."""
    if vocabulary_list is None:
        raise ValueError("`vocabulary_list` must be specified.")
    dtype = dt.as_dtype(dtype)
    keys = convert_to_tensor(vocabulary_list)
    if dtype.is_integer != keys.dtype.is_integer or not (keys.dtype.is_string or
                                                          keys.dtype.is_integer):
        raise ValueError(f"Invalid `dtype` of `vocabulary_list`: expected {dtype.name}, got "
                         f"{keys.dtype.name}.")
    _check_oov_default(num_oov_buckets, default_value)
    kv = constant_value(keys)
    if keys.dtype.is_integer and kv is not None:
        keys = convert_to_tensor(np.asarray(kv, np.int64))
    n = np.asarray(kv).size if kv is not None else 0
    init = KeyValueTensorInitializer(keys, np.arange(n, dtype=np.int64),
                                     name=f"{name or 'string_to_index'}_init")
    return _id_table(init, num_oov_buckets, default_value, name)


def index_to_string_table_from_file(vocabulary_file, vocab_size=None, default_value="UNK",
                                    name=None, key_column_index=TextFileIndex.LINE_NUMBER,
                                    value_column_index=TextFileIndex.WHOLE_LINE,
                                    delimiter="\t"):
    """A table int64 id -> string: line number -> line of ``vocabulary_file`` by default;
    other ids ``default_value``."""
    vocabulary_file = _path(vocabulary_file, "vocabulary_file")
    if vocab_size is not None and vocab_size < 1:
        raise ValueError(f"`vocab_size` must be greater than 0, got {vocab_size} for "
                         f"vocabulary_file: {vocabulary_file}.")
    init = TextFileInitializer(vocabulary_file, dt.int64, key_column_index, dt.string,
                               value_column_index, vocab_size, delimiter,
                               name=f"{name or 'index_to_string'}_init")
    return HashTable(init, default_value, name=name or "index_to_string")


def index_to_string_table_from_tensor(vocabulary_list, default_value="UNK", name=None):
    """A table int64 id -> string: ``i`` -> ``vocabulary_list[i]``; other ids
    ``default_value``."""
    if vocabulary_list is None:
        raise ValueError("`vocabulary_list` must be specified.")
    values = convert_to_tensor(vocabulary_list)
    if not values.dtype.is_string:
        raise ValueError("`vocabulary_list` must be a string tensor. Received: dtype "
                         f"{values.dtype.name}")
    vv = constant_value(values)
    n = np.asarray(vv).size if vv is not None else 0
    init = KeyValueTensorInitializer(np.arange(n, dtype=np.int64), values,
                                     name=f"{name or 'index_to_string'}_init")
    return HashTable(init, default_value, name=name or "index_to_string")


def tables_initializer(name="init_all_tables"):
    """One op running every table initializer of the default graph (a no-op without
    tables). Lookups load their table themselves when it was not run."""
    graph = get_default_graph()
    inits = graph.get_collection(TABLE_INITIALIZERS)
    if inits:
        return group(*inits, name=name)
    return make_op("NoOp", [], name=name, graph=graph)
