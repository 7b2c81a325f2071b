"""Row-padded SparseTensors: value conversions, feeding/fetching, plans per (B, L), and the
sparse ops against numpy."""

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import sparse_ops
from estcore.graph.sparse_tensor import (
    SparseTensor,
    SparseTensorValue,
    pad_value,
    round_slots,
    unpad_value,
)


def test_pad_and_unpad_round_trip_in_tf_order():
    v = SparseTensorValue([[2, 1], [0, 3], [0, 0], [2, 0]], [4, 2, 1, 3], [3, 5])
    cols, vals, ds = pad_value(v)
    assert cols.shape == (3, 2) and vals.shape == (3, 2)
    np.testing.assert_array_equal(cols, [[0, 3], [-1, -1], [0, 1]])
    np.testing.assert_array_equal(vals, [[1, 2], [0, 0], [3, 4]])
    back = unpad_value(cols, vals, ds)
    np.testing.assert_array_equal(back.indices, [[0, 0], [0, 3], [2, 0], [2, 1]])
    np.testing.assert_array_equal(back.values, [1, 2, 3, 4])
    np.testing.assert_array_equal(back.dense_shape, [3, 5])


@pytest.mark.parametrize("n, want", [(0, 1), (1, 1), (2, 2), (3, 4), (5, 8), (8, 8)])
def test_slots_round_up_to_a_power_of_two(n, want):
    assert round_slots(n) == want


@pytest.mark.parametrize("value, match", [
    (([[0, 0, 0]], [1], [2, 2]), r"\[nnz, 2\]"),
    (([[0, 0]], [1, 2], [2, 2]), "entries"),
    (([[0, 5]], [1], [2, 2]), "outside"),
    (([[0, 0]], [1], [2, 2, 2]), "rank 2"),
])
def test_pad_rejects_bad_values(value, match):
    with pytest.raises(ValueError, match=match):
        pad_value(value)


def test_feed_and_fetch_a_sparse_placeholder_compiles_once_per_slot_count():
    sp = sparse_ops.sparse_placeholder(ec.float32, shape=[None, 6], name="sp")
    doubled = sparse_ops.map_values(lambda v: v * 2.0, sp)
    with ec.Session() as s:
        out = s.run(doubled, {sp: ([[0, 1], [1, 4], [1, 5]], [1.0, 2.0, 3.0], [2, 6])})
        assert isinstance(out, SparseTensorValue)
        np.testing.assert_array_equal(out.indices, [[0, 1], [1, 4], [1, 5]])
        np.testing.assert_allclose(out.values, [2, 4, 6])
        np.testing.assert_array_equal(out.dense_shape, [2, 6])
        n = s.compile_count
        # another nnz, same longest row (2): the same plan
        s.run(doubled, {sp: ([[0, 0], [0, 1], [1, 2]], [1.0, 1.0, 1.0], [2, 6])})
        s.run(doubled, {sp: ([[1, 2]], [1.0], [2, 6])})   # longest row 1: a new plan
        assert s.compile_count == n + 1
        s.run(doubled, {sp: ([[0, 2]], [5.0], [2, 6])})
        assert s.compile_count == n + 1


def test_to_dense_from_dense_and_row_sum():
    x = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]], np.float32)
    sp = sparse_ops.from_dense(ec.constant(x))
    with ec.Session() as s:
        d, rows, total, val = s.run([sparse_ops.to_dense(sp, default_value=-1.0),
                                     sparse_ops.sparse_reduce_sum(sp, axis=1),
                                     sparse_ops.sparse_reduce_sum(sp), sp])
    np.testing.assert_array_equal(d, np.where(x == 0, -1, x))
    np.testing.assert_allclose(rows, [2, 4])
    assert total == 6
    np.testing.assert_array_equal(val.indices, [[0, 1], [1, 0], [1, 2]])


def test_to_dense_of_a_placeholder_without_width_says_how_to_fix():
    sp = sparse_ops.sparse_placeholder(ec.float32)
    with pytest.raises(ValueError, match="shape=\\[None, width\\]"):
        sparse_ops.to_dense(sp)


def test_graph_indices_and_values_are_tensors_in_tf_order():
    sp = SparseTensor([[0, 1], [0, 3], [2, 0]], [1.0, 2.0, 3.0], [3, 4])
    ph = sparse_ops.sparse_placeholder(ec.float32, shape=[None, 5])
    sess = ec.Session()
    values, indices = sess.run([sp.values, sp.indices])
    np.testing.assert_array_equal(values, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(indices, [[0, 1], [0, 3], [2, 0]])
    assert indices.dtype == np.int64
    fed = SparseTensorValue([[0, 4], [1, 0], [1, 2], [3, 1]], [5.0, 6.0, 7.0, 8.0], [4, 5])
    total = ec.reduce_sum(ph.values * 2.0)          # ops after a data-dependent size
    v, i, t = sess.run([ph.values, ph.indices, total], {ph: fed})
    np.testing.assert_array_equal(v, fed.values)
    np.testing.assert_array_equal(i, fed.indices)
    assert t == 52.0
    empty = SparseTensorValue(np.zeros((0, 2), np.int64), np.zeros(0, np.float32), [2, 5])
    v, i = sess.run([ph.values, ph.indices], {ph: empty})
    assert v.shape == (0,) and i.shape == (0, 2)


def test_gradient_through_values_reaches_the_padded_values():
    w = ec.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    sp = SparseTensor.from_parts(ec.constant(np.array([[0, -1], [0, 1]], np.int64)), w,
                                 ec.constant(np.array([2, 2], np.int64)))
    (g,) = ec.gradients(ec.reduce_sum(sp.values * 3.0), [w])
    sess = ec.Session()
    sess.run(ec.global_variables_initializer())
    np.testing.assert_array_equal(sess.run(g), [[3.0, 0.0], [3.0, 3.0]])


def _numpy_lookup(params, rows, weights, combiner, max_norm=None):
    out = np.zeros((len(rows), params.shape[1]))
    for b, (ids, ws) in enumerate(zip(rows, weights, strict=True)):
        keep = [(i, w) for i, w in zip(ids, ws, strict=True) if i >= 0 and w > 0]
        if not keep:
            continue
        e = np.array([params[i] for i, _ in keep])
        if max_norm is not None:
            n = np.linalg.norm(e, axis=1, keepdims=True)
            e = e * max_norm / np.maximum(n, max_norm)
        w = np.array([w for _, w in keep])
        s = (w[:, None] * e).sum(0)
        if combiner == "mean":
            s /= w.sum()
        elif combiner == "sqrtn":
            s /= np.sqrt((w * w).sum())
        out[b] = s
    return out


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
@pytest.mark.parametrize("max_norm", [None, 0.8])
def test_embedding_lookup_sparse_against_numpy(combiner, max_norm):
    rng = np.random.default_rng(1)
    params = rng.normal(size=(6, 3))
    rows = [[1, 5, 1], [], [0], [2, 3]]
    weights = [[0.5, 2.0, 1.0], [], [3.0], [-1.0, 1.5]]   # a weight <= 0 is dropped
    idx = [[b, j] for b, r in enumerate(rows) for j in range(len(r))]
    ids = SparseTensor(idx, np.array([i for r in rows for i in r], np.int64), [4, 3])
    ws = SparseTensor(idx, np.array([w for r in weights for w in r]), [4, 3])
    out = ec.nn.embedding_lookup_sparse(ec.constant(params), ids, ws, combiner=combiner,
                                        max_norm=max_norm)
    with ec.Session() as s:
        got = s.run(out)
    np.testing.assert_allclose(got, _numpy_lookup(params, rows, weights, combiner, max_norm),
                               rtol=1e-10)


def test_safe_lookup_default_id_fills_empty_rows():
    params = np.arange(12, dtype=np.float32).reshape(4, 3)
    ids = SparseTensor([[0, 0], [2, 0]], np.array([1, -1], np.int64), [3, 1])
    out = ec.nn.safe_embedding_lookup_sparse(ec.constant(params), ids, default_id=3)
    with ec.Session() as s:
        np.testing.assert_allclose(s.run(out), [params[1], params[3], params[3]])


def test_lookup_rejects_bad_arguments():
    ids = SparseTensor([[0, 0]], np.array([1], np.int64), [1, 1])
    p = ec.constant(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="combiner"):
        ec.nn.embedding_lookup_sparse(p, ids, None, combiner="max")
    with pytest.raises(TypeError, match="sp_ids"):
        ec.nn.embedding_lookup_sparse(p, ec.constant([1]), None)
    with pytest.raises(ValueError, match="sharded"):
        ec.nn.embedding_lookup_sparse([p, p], ids, None)
