"""parse_example with VarLenFeature: row-padded SparseTensors (TF's values, indices and
dense_shape), mixed with FixedLenFeature, fed through feature columns."""

import numpy as np
import pytest

import estcore as ec
from estcore import feature_column as fc
from estcore._lib import _pipeline
from estcore.errors import InvalidArgumentError
from estcore.graph.ops import sparse_ops, sparse_parse
from estcore.graph.ops.decode_ops import parse_threads, set_parse_threads
from estcore.graph.sparse_tensor import SparseTensor
from estcore.io import FixedLenFeature, VarLenFeature, encode_example, parse_example

BATCH = [encode_example({"w": [b"a", b"b", b"c"], "n": [3, 4], "x": [1.0]}),
         encode_example({"x": [2.0]}),
         encode_example({"w": [b"z"], "n": [7], "x": [3.0]})]
SPEC = {"w": VarLenFeature(ec.string), "n": VarLenFeature(ec.int64),
        "x": FixedLenFeature([1], ec.float32)}


def test_varlen_features_are_sparse_tensors_with_tf_values():
    s = ec.placeholder(ec.string, [None])
    p = parse_example(s, SPEC)
    assert isinstance(p["w"], SparseTensor) and p["w"].dtype == ec.string
    assert p["x"].shape.as_list() == [None, 1]
    with ec.Session() as sess:
        w, n, x, d = sess.run([p["w"], p["n"], p["x"], sparse_ops.to_dense(p["n"])],
                              {s: BATCH})
    np.testing.assert_array_equal(w.indices, [[0, 0], [0, 1], [0, 2], [2, 0]])
    assert w.values.tolist() == [b"a", b"b", b"c", b"z"]
    np.testing.assert_array_equal(w.dense_shape, [3, 3])
    np.testing.assert_array_equal(n.values, [3, 4, 7])
    np.testing.assert_array_equal(n.dense_shape, [3, 2])
    np.testing.assert_array_equal(x, [[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(d, [[3, 4], [0, 0], [7, 0]])


def test_varlen_wrong_kind_is_an_error_naming_the_key():
    s = ec.placeholder(ec.string, [None])
    p = parse_example(s, {"w": VarLenFeature(ec.int64)})
    with ec.Session() as sess:
        with pytest.raises(InvalidArgumentError, match="Key: w, Index: 0"):
            sess.run(p["w"], {s: BATCH[:1]})


def test_parsed_varlen_feeds_an_embedding_and_a_linear_model():
    s = ec.placeholder(ec.string, [None])
    p = parse_example(s, fc.make_parse_example_spec(
        [fc.categorical_column_with_hash_bucket("w", 50), fc.numeric_column("x")]))
    assert isinstance(p["w"], SparseTensor)
    col = fc.categorical_column_with_hash_bucket("w", 50)
    dense = fc.input_layer(p, [fc.embedding_column(col, 4), fc.numeric_column("x")])
    wide = fc.linear_model(p, [col])
    loss = ec.reduce_sum(dense) + ec.reduce_sum(wide)
    train = ec.train.AdagradOptimizer(0.1).minimize(loss)
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        before = sess.run(dense, {s: BATCH})
        sess.run(train, {s: BATCH})
        after = sess.run(dense, {s: BATCH})
    np.testing.assert_array_equal(before[1, :4], 0)      # the row without "w": zeros
    assert not np.allclose(before[0], after[0])


def _random_batch(rng, n):
    """Random Examples over keys f / i / s (float32 lists of 0..6 values -- an empty
    list encodes as float --, int64 / bytes lists of 1..6, some keys absent); some
    records are two Examples concatenated (protobuf's merge: a key's later entry wins)."""
    def one():
        feats = {}
        if rng.random() < 0.8:
            feats["f"] = rng.standard_normal(rng.integers(0, 7)).astype(np.float32).tolist()
        if rng.random() < 0.8:
            feats["i"] = rng.integers(-2**63, 2**63 - 1, rng.integers(1, 7),
                                      dtype=np.int64).tolist()
        if rng.random() < 0.8:
            feats["s"] = [bytes(rng.integers(0, 256, rng.integers(0, 5), dtype=np.uint8))
                          for _ in range(rng.integers(1, 7))]
        feats["other"] = [1.0]
        return encode_example(feats)
    return [one() + (one() if rng.random() < 0.2 else b"") for _ in range(n)]


VSPEC = {"f": VarLenFeature(ec.float32), "i": VarLenFeature(ec.int64),
         "s": VarLenFeature(ec.string)}


def _run_parts(batch):
    s = ec.placeholder(ec.string, [None])
    p = parse_example(s, VSPEC)
    with ec.Session() as sess:
        out = sess.run({k: (v.indices, v.values, v.dense_shape) for k, v in p.items()},
                       {s: batch})
    return {k: tuple(np.asarray(a) for a in v) for k, v in out.items()}


def _python_only(monkeypatch):
    monkeypatch.setattr(sparse_parse, "_parse_in_c", lambda *a: None)


@pytest.mark.parametrize("seed,n,threads", [(0, 1, 1), (1, 37, 1), (2, 3000, 4), (3, 0, 1)])
def test_c_varlen_parse_equals_the_python_decoder(monkeypatch, seed, n, threads):
    batch = _random_batch(np.random.default_rng(seed), n)
    old = parse_threads()
    set_parse_threads(threads)
    try:
        fast = _run_parts(batch)
        res = _pipeline.parse_example_varlen(np.array(batch + [b""], dtype=object),
                                             [b"f", b"i", b"s"], [2, 3, 1], threads)
        assert res[0] == -1  # the C kernel served the batch (no silent fallback)
        _python_only(monkeypatch)
        ref = _run_parts(batch)
    finally:
        set_parse_threads(old)
    for k in VSPEC:
        for a, b in zip(fast[k], ref[k], strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tolist() == b.tolist()


def test_c_varlen_cols_are_row_padded_with_minus_one():
    batch = [encode_example({"i": [5, 6, 7]}), encode_example({"x": [1.0]}),
             encode_example({"i": [8]})]
    parse_example(ec.constant(batch), {"i": VarLenFeature(ec.int64)})
    graph_op = [o for o in ec.get_default_graph().get_operations()
                if o.type == "ParseExampleVarLen"][-1]
    with ec.Session() as sess:
        cols, vals = sess.run([graph_op.outputs[0], graph_op.outputs[1]])
    np.testing.assert_array_equal(cols, [[0, 1, 2], [-1, -1, -1], [0, -1, -1]])
    np.testing.assert_array_equal(vals, [[5, 6, 7], [0, 0, 0], [8, 0, 0]])
    assert vals.dtype == np.int64


@pytest.mark.parametrize("batch,spec", [
    ([encode_example({"f": [1.0]}), encode_example({"f": [1]})],
     {"f": VarLenFeature(ec.float32)}),
    ([encode_example({"f": [1.0]}), b"\x0a\x7f\x01"], {"f": VarLenFeature(ec.float32)}),
    ([encode_example({"s": [b"a"]}), encode_example({"s": [2.5]})],
     {"s": VarLenFeature(ec.string)}),
])
def test_c_varlen_errors_are_the_python_decoders(monkeypatch, batch, spec):
    def message():
        with ec.Graph().as_default():
            s = ec.placeholder(ec.string, [None])
            p = parse_example(s, spec)
            with ec.Session() as sess, pytest.raises(InvalidArgumentError) as e:
                sess.run(next(iter(p.values())), {s: batch})
        return str(e.value)
    fast = message()
    assert "Index: 1" in fast or "example input 1" in fast
    _python_only(monkeypatch)
    assert message() == fast
