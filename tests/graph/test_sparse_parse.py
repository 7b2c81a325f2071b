"""parse_example with VarLenFeature: row-padded SparseTensors (TF's values, indices and
dense_shape), mixed with FixedLenFeature, fed through feature columns."""

import numpy as np
import pytest

import estcore as ec
from estcore import feature_column as fc
from estcore.errors import InvalidArgumentError
from estcore.graph.ops import sparse_ops
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
