"""tf.slice, tf.pad, tf.gather_nd (compat.v1, composed from graph ops) vs numpy, with
gradients vs numpy's adjoints."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5 - 3.0


def _run(build, x=X):
    """Value of build(x) and d sum(build(x) * w) / dx for a fixed random w."""
    with tf.Graph().as_default():
        xt = tf.placeholder(tf.float64, list(x.shape))
        y = build(xt)
        w = np.random.default_rng(1).normal(size=y.shape.as_list())
        (g,) = tf.gradients(tf.reduce_sum(y * w), [xt])
        with tf.Session() as sess:
            val, grad = sess.run([y, g], {xt: x})
    return val, grad, w


@pytest.mark.parametrize("begin,size", [([0, 0, 0], [2, 3, 4]), ([1, 1, 2], [1, 2, -1]),
                                        ([0, 2, 1], [-1, 1, 2])])
def test_slice(begin, size):
    val, grad, w = _run(lambda x: tf.slice(x, begin, size))
    key = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size, strict=True))
    np.testing.assert_array_equal(val, X[key])
    want = np.zeros_like(X)
    want[key] = w
    np.testing.assert_array_equal(grad, want)


def test_slice_errors():
    with tf.Graph().as_default():
        x = tf.constant(X)
        with pytest.raises(ValueError, match="dimension 1"):
            tf.slice(x, [0, 2, 0], [1, 2, 1])
        with pytest.raises(ValueError, match="one entry per dimension"):
            tf.slice(x, [0, 0], [1, 1])
        b = tf.placeholder(tf.int32, [3])
        with pytest.raises(ValueError, match="begin"):
            tf.slice(x, b, [1, 1, 1])


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC", "reflect"])
def test_pad_matches_numpy(mode):
    paddings = [[1, 0], [2, 1], [0, 3]]
    val, grad, w = _run(lambda x: tf.pad(x, paddings, mode=mode))
    np_mode = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}
    np.testing.assert_array_equal(val, np.pad(X, paddings, mode=np_mode[mode.upper()]))
    # the adjoint: sum over every output cell that copies an input cell
    idx = np.arange(X.size).reshape(X.shape).astype(np.float64)
    extra = {"constant_values": -1} if mode == "CONSTANT" else {}
    src = np.pad(idx, paddings, mode=np_mode[mode.upper()], **extra)
    want = np.zeros(X.size)
    for s, wv in zip(src.reshape(-1), w.reshape(-1), strict=True):
        if s >= 0:
            want[int(s)] += wv
    np.testing.assert_allclose(grad, want.reshape(X.shape), rtol=1e-12)


def test_pad_constant_value_and_unknown_batch():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        y = tf.pad(x, [[0, 1], [1, 1]], constant_values=7.0)
        with tf.Session() as sess:
            got = sess.run(y, {x: np.ones((3, 2), np.float32)})
    np.testing.assert_array_equal(got, np.pad(np.ones((3, 2)), [[0, 1], [1, 1]],
                                              constant_values=7.0))


def test_pad_errors():
    with tf.Graph().as_default():
        x = tf.constant(X)
        with pytest.raises(ValueError, match="paddings"):
            tf.pad(x, [[1, 1]])
        with pytest.raises(ValueError, match="mode"):
            tf.pad(x, [[0, 0], [0, 0], [1, 1]], mode="WRAP")
        with pytest.raises(ValueError, match="REFLECT padding"):
            tf.pad(x, [[2, 0], [0, 0], [0, 0]], mode="REFLECT")


@pytest.mark.parametrize("indices", [[[1, 2], [0, 0], [1, 2]], [[1]], [[[0, 1, 3]], [[1, 2, 0]]]])
def test_gather_nd(indices):
    ind = np.asarray(indices)
    val, grad, w = _run(lambda x: tf.gather_nd(x, ind))
    k = ind.shape[-1]
    want = X[tuple(np.moveaxis(ind, -1, 0))]
    np.testing.assert_array_equal(val, want)
    g = np.zeros_like(X)
    np.add.at(g, tuple(np.moveaxis(ind, -1, 0)), w)     # repeated indices accumulate
    np.testing.assert_allclose(grad, g, rtol=1e-12)
    assert val.shape == ind.shape[:-1] + X.shape[k:]


def test_slice_and_pad_take_sizes_the_graph_determines():
    x = tf.placeholder(tf.float64, [None, 3, 4])
    s = tf.shape(x)
    y = tf.slice(x, [0, 0, 1], [-1, s[1] - 1, s[2] // 2])
    p = tf.pad(x, [[0, 0], [0, s[1]], [0, 0]])
    assert y.shape.as_list() == [None, 2, 2] and p.shape.as_list() == [None, 6, 4]   # as TF
    with tf.Session() as sess:
        yv, pv = sess.run([y, p], {x: X})
    np.testing.assert_array_equal(yv, X[:, :2, 1:3])
    np.testing.assert_array_equal(pv, np.pad(X, [[0, 0], [0, 3], [0, 0]]))
    with pytest.raises(ValueError, match="known when the graph is built"):
        tf.slice(x, [s[0] - 1, 0, 0], [1, 1, 1])


def test_gather_nd_with_an_unknown_batch_size_the_last_relevant_output_idiom():
    out = tf.placeholder(tf.float64, [None, 15, 32])
    lengths = tf.placeholder(tf.int32, [None])
    idx = tf.stack([tf.range(tf.shape(out)[0]), lengths - 1], 1)
    last = tf.gather_nd(out, idx)
    assert last.shape.as_list() == [None, 32]            # as TF
    (g,) = tf.gradients(tf.reduce_sum(last * 2.0), [out])
    ov = np.arange(2 * 15 * 32, dtype=np.float64).reshape(2, 15, 32)
    with tf.Session() as sess:
        for n, lv in ((2, [3, 5]), (1, [15])):           # other batch sizes, one graph
            val, gv = sess.run([last, g], {out: ov[:n], lengths: lv})
            rows = np.arange(n), np.asarray(lv) - 1
            np.testing.assert_array_equal(val, ov[:n][rows])
            want = np.zeros((n, 15, 32))
            want[rows] = 2.0
            np.testing.assert_array_equal(gv, want)


def test_gather_nd_params_of_unknown_sizes_anywhere():
    p = tf.placeholder(tf.float64, [None, 3, None, None])
    idx = tf.placeholder(tf.int32, [None, 2])
    y = tf.gather_nd(p, idx)
    assert y.shape.as_list() == [None, None, None]
    pv = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    with tf.Session() as sess:
        got = sess.run(y, {p: pv, idx: [[1, 2], [0, 0]]})
    np.testing.assert_array_equal(got, pv[[1, 0], [2, 0]])
    with pytest.raises(ValueError, match=r"gather_nd: the last dimension of `indices` must be "
                                         r"known"):
        tf.gather_nd(p, tf.placeholder(tf.int32, [None, None]))


def test_gather_nd_out_of_range_raises_instead_of_reading_another_element():
    with tf.Graph().as_default():
        idx = tf.placeholder(tf.int64, [None, 2])
        y = tf.gather_nd(tf.constant(X[0]), idx)     # X[0] is 3 x 4
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {idx: [[2, 3]]}), [X[0, 2, 3]])
            with pytest.raises(IndexError):
                sess.run(y, {idx: [[0, 5]]})          # flat index 5 is valid: must not read
            with pytest.raises(IndexError):
                sess.run(y, {idx: [[-1, 0]]})
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="batch_dims"):
            tf.gather_nd(tf.constant(X), [[0]], batch_dims=1)
