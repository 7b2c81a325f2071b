"""Ops that turn categorical inputs into integer ids (feature columns' transforms).

Owns the rows: ``StringToHashBucketFast`` (FarmHash Fingerprint64 % buckets, TF's ids;
int inputs are hashed as their decimal strings, as TF's ``as_string`` + hash),
``VocabularyLookup`` (in-vocabulary index, else a FarmHash OOV bucket or the default),
``IdentityIds`` (range check / default), ``SparseCrossHashed`` (TF's ``sparse_cross_hashed``:
``FingerprintCat64`` chained from ``hash_key`` over one value of each input, sparse inputs
before dense ones, the last input varying fastest) and ``SparseIndicator`` (counts or
weight sums per id, ``indicator_column``'s dense output). Kernels work on the padded parts
of :class:`~estcore.graph.sparse_tensor.SparseTensor` (a slot counts when ``cols >= 0``);
padding slots may hold anything and stay padding.

Must not: hold the SparseTensor class (``graph/sparse_tensor.py``) or the embedding ops
(``graph/ops/sparse_ops.py``); create variables.
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore._lib import _kernels
from estcore.graph import dtypes as dt
from estcore.graph.ops import math_ops, sparse_ops
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import SparseTensor, is_sparse

__all__ = ["string_to_hash_bucket_fast", "vocabulary_lookup", "lookup_ids_run", "identity_ids",
           "sparse_cross_hashed", "sparse_indicator", "fingerprint_cat64", "DEFAULT_HASH_KEY",
           "to_indicator"]

DEFAULT_HASH_KEY = 0xDECAFCAFFE  # TF's default crossed-column hash key (kFeatureCrossKey)
_CAT_MUL = np.uint64(0xC6A4A7935BD1E995)
_S47 = np.uint64(47)


def fingerprint_cat64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TF's ``FingerprintCat64`` elementwise on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        r = a ^ _CAT_MUL
        t = b * _CAT_MUL
        r = r ^ ((t ^ (t >> _S47)) * _CAT_MUL)
        r = r * _CAT_MUL
        r = (r ^ (r >> _S47)) * _CAT_MUL
        return r ^ (r >> _S47)


def _as_text_list(x: np.ndarray) -> list:
    flat = x.reshape(-1)
    if x.dtype == object:
        return flat.tolist()
    return [str(int(v)) for v in flat]


def _fingerprints(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.size, np.uint64)
    _kernels.hash_strings(_as_text_list(x), out, 0)
    return out.reshape(x.shape)


# ---------------------------------------------------------------- hash buckets
def _hash_infer(ctx):
    d = ctx.dtypes[0]
    if not (d.is_string or d.is_integer):
        raise ctx.fail(f"`input` must be a string (or integer) tensor, got {d.name}", TypeError)
    return [(dt.int64, ctx.shapes[0])]


def _hash_build(k):
    x, o = k.ins[0], k.outs[0]
    nb = k.attrs["num_buckets"]
    flat = o.reshape(-1)

    def run():
        _kernels.hash_strings(_as_text_list(x), flat, nb)
    return run


row("StringToHashBucketFast", _hash_infer, _hash_build, NO_GRADIENT)


def string_to_hash_bucket_fast(input, num_buckets, name=None):  # noqa: A002 - TF's name
    """``Fingerprint64(s) % num_buckets`` of each string (TF's ``to_hash_bucket_fast``);
    integers are hashed as their decimal text. int64, same shape."""
    nb = int(num_buckets)
    if nb < 1:
        raise ValueError(f"`num_buckets` must be >= 1. Received: num_buckets={num_buckets}")
    return make("StringToHashBucketFast", [convert_to_tensor(input)], {"num_buckets": nb},
                name=name or "StringToHashBucketFast")


# ---------------------------------------------------------------- vocabulary
def _vocab_infer(ctx):
    return [(dt.int64, ctx.shapes[0])]


def lookup_ids_run(x: np.ndarray, out: np.ndarray, table: dict, n_vocab: int, n_oov: int,
                   default: int):
    """A kernel step writing ``x``'s int64 ids into ``out`` (same size): ``table[key]``,
    else ``n_vocab + Fingerprint64(key) % n_oov`` (integers hashed as decimal text) when
    ``n_oov > 0``, else ``default``. ``table`` keys are str (string ``x``) or int."""
    is_str = x.dtype == object
    flat = out.reshape(-1)

    def key(v):
        if is_str:
            return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v
        return int(v)

    def run():
        vals = x.reshape(-1).tolist()
        ids = dict.fromkeys(vals)          # the batch's distinct values (C-level loop)
        miss = []
        for v in ids:
            j = table.get(key(v))          # None: missing (a value may be negative)
            if j is None:
                miss.append(v)
            ids[v] = j
        if miss:
            if n_oov:
                h = np.empty(len(miss), np.uint64)
                _kernels.hash_strings(miss if is_str else [str(int(v)) for v in miss], h,
                                      n_oov)
                for v, b in zip(miss, h.tolist(), strict=True):
                    ids[v] = n_vocab + b
            else:
                for v in miss:
                    ids[v] = default
        _kernels.map_ids(vals, ids, flat)
    return run


def _vocab_build(k):
    vocab = k.attrs["vocab"]
    table: dict = {}
    for i, v in enumerate(vocab):
        table.setdefault(v, i)
    return lookup_ids_run(k.ins[0], k.outs[0], table, len(vocab), k.attrs["num_oov_buckets"],
                          k.attrs["default_value"])


row("VocabularyLookup", _vocab_infer, _vocab_build, NO_GRADIENT)


def vocabulary_lookup(x, vocabulary, num_oov_buckets=0, default_value=-1, name=None):
    """int64 ids of ``x``'s values in ``vocabulary`` (a sequence of str or int): the
    position, else ``len(vocabulary) + Fingerprint64(value) % num_oov_buckets`` when
    ``num_oov_buckets > 0``, else ``default_value``."""
    vocab = tuple(v if isinstance(v, str) else (v.decode() if isinstance(v, bytes) else int(v))
                  for v in vocabulary)
    return make("VocabularyLookup", [convert_to_tensor(x)],
                {"vocab": vocab, "num_oov_buckets": int(num_oov_buckets),
                 "default_value": int(default_value)},
                name=name or "hash_table_Lookup")


# ---------------------------------------------------------------- identity
def _identity_build(k):
    x, cols = k.ins
    o = k.outs[0]
    n, default = k.attrs["num_buckets"], k.attrs["default_value"]

    def run():
        np.copyto(o, x, casting="unsafe")
        bad = (cols >= 0) & ((o < 0) | (o >= n))
        if bad.any():
            if default is None:
                v = int(o[bad].reshape(-1)[0])
                raise errors.InvalidArgumentError(
                    f"categorical_column_with_identity '{k.attrs['key']}': id {v} is not in "
                    f"[0, {n}) and the column has no default_value")
            o[bad] = default
    return run


row("IdentityIds", lambda ctx: [(dt.int64, ctx.shapes[0])], _identity_build, NO_GRADIENT)


def identity_ids(sp: SparseTensor, num_buckets: int, default_value, key: str) -> SparseTensor:
    """``sp``'s int values as int64 ids in ``[0, num_buckets)`` (out-of-range ids become
    ``default_value``, or raise InvalidArgumentError at run time when it is None)."""
    ids = make("IdentityIds", [sp.padded_values, sp.cols],
               {"num_buckets": int(num_buckets), "default_value": default_value, "key": key},
               name="identity_ids")
    return SparseTensor.from_parts(sp.cols, ids, sp.dense_shape, shape=sp.shape)


# ---------------------------------------------------------------- crossing
def _cross_infer(ctx):
    n = len(ctx.shapes) // 2
    b = None
    width = 1
    for i in range(n):
        s = ctx.shapes[2 * i]
        if s.rank is not None and s.rank != 2:
            raise ctx.fail(f"input {i} must be [batch, k], got {ctx.fmt(2 * i)}")
        if s.rank is not None:
            b = s[0] if b is None else b
            width = None if (width is None or s[1] is None) else width * s[1]
        else:
            width = None
    return [(dt.int64, TensorShape([b, width])), (dt.int64, TensorShape([b, width]))]


def _cross_build(k):
    ins = k.ins
    n = len(ins) // 2
    cols_o, vals_o = k.outs
    nb, key = k.attrs["num_buckets"], np.uint64(k.attrs["hash_key"])
    B = cols_o.shape[0]

    def run():
        h = np.full((B, 1), key, np.uint64)
        m = np.ones((B, 1), np.bool_)
        for i in range(n):
            c, v = ins[2 * i], ins[2 * i + 1]
            hv = _fingerprints(v) if v.dtype == object else v.astype(np.int64).view(np.uint64)
            h = fingerprint_cat64(h[:, :, None], hv[:, None, :]).reshape(B, -1)
            m = (m[:, :, None] & (c >= 0)[:, None, :]).reshape(B, -1)
        if nb > 0:
            h = h % np.uint64(nb)
        else:
            h = h % np.uint64(2 ** 63 - 1)
        np.copyto(vals_o, h.astype(np.int64))
        np.copyto(cols_o, np.where(m, np.cumsum(m, axis=1) - 1, -1))
    return run


row("SparseCrossHashed", _cross_infer, _cross_build, NO_GRADIENT)


def sparse_cross_hashed(inputs, num_buckets=0, hash_key=None, name=None) -> SparseTensor:
    """TF's ``tf.sparse.cross_hashed`` of SparseTensors and dense ``[B, k]`` tensors
    (every dense entry counts). Ids: ``FingerprintCat64`` chain from ``hash_key``
    (default TF's ``0xDECAFCAFFE``) over one value per input (strings: Fingerprint64,
    ints: the value), ``% num_buckets`` (``> 0``). Sparse inputs come first, in order,
    then dense ones (TF's kernel order); the last input varies fastest."""
    sparse = [x for x in inputs if is_sparse(x)]
    dense = [convert_to_tensor(x) for x in inputs if not is_sparse(x)]
    if not sparse and not dense:
        raise ValueError("sparse_cross_hashed needs at least one input.")
    parts = []
    for sp in sparse:
        parts += [sp.cols, sp.padded_values]
    for d in dense:
        parts += [_dense_cols(d), d]
    for x in parts[1::2]:
        if not (x.dtype.is_string or x.dtype.is_integer):
            raise TypeError(f"sparse_cross_hashed inputs must be strings or integers, got "
                            f"{x.dtype.name}")
    key = DEFAULT_HASH_KEY if hash_key is None else int(hash_key)
    cols, vals = make_op("SparseCrossHashed", parts,
                         {"num_buckets": int(num_buckets), "hash_key": key},
                         name=name or "SparseCrossHashed").outputs
    ds = _dense_shape(cols)
    return SparseTensor.from_parts(cols, vals, ds, shape=TensorShape([cols.shape[0], None]))


def _dense_cols(d):
    return sparse_ops.all_present(d).cols


def _dense_shape(cols):
    return sparse_ops.dense_shape_of(cols)


# ---------------------------------------------------------------- indicator
def _indicator_infer(ctx):
    b = ctx.shapes[0][0] if ctx.shapes[0].rank else None
    return [(dt.float32, TensorShape([b, ctx.attrs["depth"]]))]


def _indicator_build(k):
    ids, cols = k.ins[:2]
    w = k.ins[2] if len(k.ins) == 3 else None
    o = k.outs[0]
    depth = k.attrs["depth"]

    def run():
        o.fill(0)
        valid = (cols >= 0) & (ids >= 0) & (ids < depth)
        r, s = np.nonzero(valid)
        np.add.at(o, (r, ids[r, s]), 1.0 if w is None else w[r, s])
    return run


row("SparseIndicator", _indicator_infer, _indicator_build, NO_GRADIENT)


def sparse_indicator(ids: SparseTensor, depth: int, weights: SparseTensor | None = None):
    """float32 ``[B, depth]``: per row, how often each id occurs (or the sum of its
    weights), TF's ``indicator_column`` output. Ids outside ``[0, depth)`` count nothing."""
    ins = [ids.padded_values, ids.cols]
    if weights is not None:
        ins.append(math_ops.cast(weights.padded_values, dt.float32))
    return make("SparseIndicator", ins, {"depth": int(depth)}, name="indicator")


def to_indicator(sp_input: SparseTensor, vocab_size: int, name=None):
    """bool ``[B, vocab_size]``: True where the row holds that id (TF's
    ``tf.sparse.to_indicator``)."""
    counts = sparse_indicator(sp_input, vocab_size)
    return math_ops.greater(counts, 0.0, name=name or "to_indicator")
