"""tf.sort / argsort, cumprod, scatter_nd, sparse_to_dense, sparse_tensor_dense_matmul,
matrix_set_diag, depth_to_space / space_to_depth, confusion_matrix, dynamic_partition:
numpy references written here, gradients, TF's index errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError

RNG = np.random.default_rng(9)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _fd_check(fn, x0, numeric_gradient):
    x = tf.placeholder(tf.float64, x0.shape)
    y = fn(x)
    w = RNG.normal(size=y.shape.as_list())
    loss = tf.reduce_sum(y * w)
    (g,) = tf.gradients(loss, [x])
    with tf.Session() as sess:
        analytic = sess.run(g, {x: x0})
        num = numeric_gradient(lambda v: sess.run(loss, {x: v}), x0)
    np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_sort_and_argsort_float(axis, direction, numeric_gradient):
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, -1.0, 5.0, 5.0], [2.0, 2.0, -3.0, 0.5]])
    order = np.argsort(x if direction == "ASCENDING" else -x, axis=axis, kind="stable")
    vals, idx = _run([tf.sort(x, axis=axis, direction=direction),
                      tf.argsort(x, axis=axis, direction=direction)])
    np.testing.assert_array_equal(idx, order)     # stable: ties keep their order
    np.testing.assert_array_equal(vals, np.take_along_axis(x, order, axis=axis))
    _fd_check(lambda t: tf.sort(t, axis=axis, direction=direction),
              RNG.normal(size=(3, 4)), numeric_gradient)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_sort_integers_over_the_whole_range(dtype):
    info = np.iinfo(dtype)
    x = np.array([5, info.min, 7, info.max, 5, 0], dtype=dtype)
    for direction, key in (("ASCENDING", x.astype(object)), ("DESCENDING", -x.astype(object))):
        order = sorted(range(len(x)), key=lambda i, key=key: key[i])   # stable
        vals, idx = _run([tf.sort(x, direction=direction),
                          tf.argsort(x, direction=direction)])
        assert idx.tolist() == order and vals.tolist() == x[order].tolist()
        assert vals.dtype == dtype


def test_sort_errors():
    with pytest.raises(ValueError, match="direction"):
        tf.sort([1.0, 2.0], direction="UP")
    with pytest.raises(ValueError, match="must be known"):
        tf.sort(tf.placeholder(tf.float32, [None]))
    with pytest.raises(ValueError, match="axis"):
        tf.argsort([1.0, 2.0], axis=1)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_values_and_exact_gradient_at_zeros(exclusive, reverse, numeric_gradient):
    x = np.array([[1.5, 2.0, -3.0, 4.0], [2.0, 0.0, 0.5, 3.0]])
    src = x[:, ::-1] if reverse else x
    ref = np.cumprod(src, axis=1)
    if exclusive:
        ref = np.concatenate([np.ones((2, 1)), ref[:, :-1]], axis=1)
    ref = ref[:, ::-1] if reverse else ref
    np.testing.assert_allclose(_run(tf.cumprod(x, axis=1, exclusive=exclusive,
                                               reverse=reverse)), ref)
    _fd_check(lambda t: tf.math.cumprod(t, axis=1, exclusive=exclusive, reverse=reverse), x,
              numeric_gradient)


def test_scatter_nd_adds_repeats_and_checks_indices(numeric_gradient):
    got = _run(tf.scatter_nd([[4], [3], [1], [7], [1]], [9.0, 10, 11, 12, 1], [8]))
    assert got.tolist() == [0, 12, 0, 10, 9, 0, 0, 12]
    got = _run(tf.scatter_nd([[0, 1], [1, 0]], [[1.0, 2], [3, 4]], tf.constant([2, 2, 2])))
    want = np.zeros((2, 2, 2))
    want[0, 1], want[1, 0] = [1, 2], [3, 4]
    np.testing.assert_array_equal(got, want)
    ints = _run(tf.scatter_nd([[1], [1]], np.array([2, 3], np.int64), [3]))
    assert ints.tolist() == [0, 5, 0] and ints.dtype == np.int64
    _fd_check(lambda u: tf.scatter_nd([[0, 1], [2, 0], [0, 1]], u, [3, 2]),
              RNG.normal(size=(3,)), numeric_gradient)
    with pytest.raises(InvalidArgumentError, match="index into shape"):
        _run(tf.scatter_nd([[8]], [1.0], [8]))
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        _run(tf.scatter_nd([[-1]], [1.0], [8]))
    with pytest.raises(ValueError, match="known when the graph is built"):
        tf.scatter_nd([[0]], [1.0], tf.placeholder(tf.int32, [1]))


def test_sparse_to_dense():
    got = _run(tf.sparse_to_dense([[0, 1], [2, 3]], [3, 4], [5.0, 6.0], -1.0))
    want = np.full((3, 4), -1.0)
    want[0, 1], want[2, 3] = 5, 6
    np.testing.assert_array_equal(got, want)
    assert _run(tf.sparse_to_dense([1, 3], [5], 7, 0)).tolist() == [0, 7, 0, 7, 0]
    with pytest.raises(InvalidArgumentError, match="out of order or repeated"):
        _run(tf.sparse_to_dense([3, 1], [5], 7))
    assert _run(tf.sparse_to_dense([3, 1], [5], 7, validate_indices=False)).tolist() == [
        0, 7, 0, 7, 0]
    with pytest.raises(InvalidArgumentError, match="index into shape"):
        _run(tf.sparse_to_dense([5], [5], 1))


def test_sparse_tensor_dense_matmul():
    sp = tf.SparseTensor(indices=[[0, 0], [1, 2]], values=[2.0, 3.0], dense_shape=[2, 3])
    dense = np.array([[2.0, 0, 0], [0, 0, 3.0]])
    b = RNG.normal(size=(3, 2)).astype(np.float32)
    np.testing.assert_allclose(_run(tf.sparse_tensor_dense_matmul(sp, b)), dense @ b,
                               rtol=1e-6)
    np.testing.assert_allclose(_run(tf.sparse.matmul(sp, b.T, adjoint_b=True)), dense @ b,
                               rtol=1e-6)


def test_matrix_set_diag_and_space_depth():
    for shape in ((2, 3), (3, 2), (2, 2, 2)):
        m = RNG.normal(size=shape)
        d = RNG.normal(size=shape[:-2] + (min(shape[-2:]),))
        want = m.copy()
        k = min(shape[-2:])
        want[..., range(k), range(k)] = d
        np.testing.assert_allclose(_run(tf.matrix_set_diag(m, d)), want)
    np.testing.assert_allclose(_run(tf.linalg.set_diag(np.zeros((2, 2)), [1.0, 2.0])),
                               np.diag([1.0, 2.0]))
    x = np.arange(2 * 2 * 3 * 8, dtype=np.float32).reshape(2, 2, 3, 8)
    y = _run(tf.depth_to_space(x, 2))
    assert y.shape == (2, 4, 6, 2)
    for i in range(2):
        for j in range(2):     # depth (i * 2 + j) * 2 + c goes to offset (i, j)
            np.testing.assert_array_equal(y[:, i::2, j::2, :],
                                          x[..., (i * 2 + j) * 2:(i * 2 + j) * 2 + 2])
    np.testing.assert_array_equal(_run(tf.space_to_depth(y, 2)), x)
    np.testing.assert_array_equal(_run(tf.nn.space_to_depth(tf.nn.depth_to_space(x, 2), 2)), x)
    with pytest.raises(ValueError, match="divisible"):
        tf.depth_to_space(x, 3)
    with pytest.raises(ValueError, match="NHWC"):
        tf.space_to_depth(x, 2, data_format="NCHW")
    with pytest.raises(ValueError, match=">= 2"):
        tf.space_to_depth(x, 1)


def test_confusion_matrix():
    labels, preds = [1, 2, 4, 2], [2, 2, 4, 1]
    want = np.zeros((5, 5), np.int32)
    for a, b in zip(labels, preds, strict=True):
        want[a, b] += 1
    got = _run(tf.confusion_matrix(labels, preds))
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int32
    got = _run(tf.math.confusion_matrix([1, 2], [2, 2], num_classes=3, weights=[0.5, 2.0],
                                        dtype=tf.float32))
    assert got.tolist() == [[0, 0, 0], [0, 0, 0.5], [0, 0, 2.0]]
    with pytest.raises(InvalidArgumentError, match="out of bound"):
        _run(tf.confusion_matrix([3], [0], num_classes=3))
    with pytest.raises(InvalidArgumentError, match="negative"):
        _run(tf.confusion_matrix([-1], [0]))


@pytest.mark.parametrize("num_classes", [3, None])
def test_confusion_matrix_of_fed_values(num_classes):
    lab = tf.placeholder(tf.int64, [None])
    pred = tf.placeholder(tf.int64, [None])
    cm = tf.confusion_matrix(lab, pred, num_classes=num_classes)
    assert cm.shape.as_list() == ([3, 3] if num_classes else [None, None])   # as TF
    with tf.Session() as sess:
        got = sess.run(cm, {lab: [0, 1, 2, 2], pred: [0, 2, 2, 1]})
        assert got.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]             # TF's values
        got = sess.run(cm, {lab: [1], pred: [0]})
        assert got.tolist() == ([[0, 0, 0], [1, 0, 0], [0, 0, 0]] if num_classes
                                else [[0, 0], [1, 0]])


def test_dynamic_partition_values_gradient_and_errors():
    parts = _run(tf.dynamic_partition([[1.0, 2], [3, 4], [5, 6]], [1, 0, 1], 3))
    assert [p.tolist() for p in parts] == [[[3, 4]], [[1, 2], [5, 6]], []]
    assert parts[2].shape == (0, 2)
    x = tf.placeholder(tf.float64, [4])
    a, b = tf.dynamic_partition(x, [1, 0, 1, 1], 2)
    (g,) = tf.gradients(tf.reduce_sum(a) * 2.0 + tf.reduce_sum(b * b), [x])
    assert _run(g, {x: [1.0, 2.0, 3.0, 4.0]}).tolist() == [2.0, 2.0, 6.0, 8.0]
    with pytest.raises(InvalidArgumentError, match="partitions must be < 2"):
        _run(tf.dynamic_partition([1.0, 2.0], [0, 2], 2))
    with pytest.raises(ValueError, match="num_partitions"):
        tf.dynamic_partition([1.0], [0], 0)
