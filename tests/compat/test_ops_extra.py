"""The TF 1.x names estcore.compat.v1 builds from existing ops (compat/v1/ops_extra.py),
the tf.linalg / tf.keras.initializers namespaces and the other aliases, each checked
against its documented TF meaning (numpy references)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

X = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)


def _run(*ts, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(list(ts), feed)


def test_math_compositions_match_numpy():
    x = tf.constant(X)
    big = tf.constant([[1000.0, 1000.0], [-np.inf, 0.0]])
    out = _run(tf.log_sigmoid(x), tf.reduce_logsumexp(x, axis=1),
               tf.reduce_logsumexp(x, reduction_indices=[0], keep_dims=True),
               tf.reduce_logsumexp(big, 1), tf.math.reduce_variance(x, axis=0),
               tf.math.reduce_std(x), tf.div_no_nan(x, tf.constant([2.0, 0.0, -1.0])),
               tf.math.divide_no_nan(1.0, tf.constant([0.0, 4.0])), tf.scalar_mul(3.0, x),
               tf.norm(x), tf.norm(x, ord=1, axis=1), tf.norm(x, ord=np.inf, axis=0),
               tf.linalg.norm(x, axis=1, keepdims=True))
    np.testing.assert_allclose(out[0], -np.log1p(np.exp(-X)), rtol=1e-6)
    np.testing.assert_allclose(out[1], np.log(np.exp(X).sum(1)), rtol=1e-6)
    np.testing.assert_allclose(out[2], np.log(np.exp(X).sum(0, keepdims=True)), rtol=1e-6)
    np.testing.assert_allclose(out[3], [1000.0 + np.log(2.0), 0.0], rtol=1e-6)
    np.testing.assert_allclose(out[4], X.var(0), rtol=1e-6)
    np.testing.assert_allclose(out[5], X.std(), rtol=1e-6)
    np.testing.assert_allclose(out[6], [[0.5, 0.0, -3.0], [0.25, 0.0, 1.0]])
    np.testing.assert_allclose(out[7], [0.0, 0.25])
    np.testing.assert_allclose(out[8], 3 * X)
    np.testing.assert_allclose(out[9], np.linalg.norm(X), rtol=1e-6)
    np.testing.assert_allclose(out[10], np.abs(X).sum(1))
    np.testing.assert_allclose(out[11], np.abs(X).max(0))
    np.testing.assert_allclose(out[12], np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="matrix norm"):
        tf.norm(x, ord=2, axis=[0, 1])


def test_div_no_nan_and_logsumexp_gradients_are_finite():
    x = tf.constant([1.0, 2.0])
    y = tf.constant([0.0, 4.0])
    g_x, g_y = tf.gradients(tf.reduce_sum(tf.div_no_nan(x, y)), [x, y])
    (g_l,) = tf.gradients(tf.reduce_logsumexp(x), [x])
    gx, gy, gl = _run(g_x, g_y, g_l)
    np.testing.assert_allclose(gx, [0.0, 0.25])
    np.testing.assert_allclose(gy, [0.0, -2.0 / 16.0])
    np.testing.assert_allclose(gl, np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum(), rtol=1e-6)


def test_array_helpers():
    lengths = tf.placeholder(tf.int32, [None])
    a = tf.constant(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    t1, t2 = tf.tuple([tf.constant(1.0), tf.constant(2.0)])
    out = _run(tf.sequence_mask(lengths), tf.sequence_mask(lengths, 4, dtype=tf.float32),
               tf.matrix_transpose(a), tf.linalg.transpose(a), tf.eye(2, 3),
               tf.eye(2, batch_shape=[2], dtype=tf.int32), t1, t2,
               *tf.identity_n([a, lengths]), *tf.shape_n([a, lengths]),
               tf.where_v2(tf.constant([True, False]), 1.0, tf.constant([[5.0], [6.0]])),
               feed={lengths: [1, 3, 0]})
    np.testing.assert_array_equal(out[0], [[True, False, False], [True, True, True],
                                           [False, False, False]])
    np.testing.assert_array_equal(out[1], [[1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(out[2], np.swapaxes(np.arange(24).reshape(2, 3, 4), 1, 2))
    np.testing.assert_array_equal(out[3], out[2])
    np.testing.assert_array_equal(out[4], np.eye(2, 3))
    assert out[5].shape == (2, 2, 2) and out[5].dtype == np.int32
    assert (out[6], out[7]) == (1.0, 2.0)
    np.testing.assert_array_equal(out[9], [1, 3, 0])
    np.testing.assert_array_equal(out[10], [2, 3, 4])
    np.testing.assert_array_equal(out[11], [3])
    np.testing.assert_array_equal(out[12], [[1.0, 5.0], [1.0, 6.0]])
    with pytest.raises(TypeError, match="num_rows"):
        tf.eye(tf.constant(2))


def test_nn_extras_and_checks():
    x = tf.constant(X)
    w = tf.constant(np.ones((3, 2), np.float32))
    b = tf.constant([1.0, -1.0])
    bad = tf.placeholder(tf.float32, [2])
    checked = tf.verify_tensor_all_finite(bad, "bad value")
    checked2 = tf.debugging.assert_all_finite(bad, "bad value")
    out = _run(tf.nn.xw_plus_b(x, w, b), tf.nn.crelu(x), tf.nn.log_sigmoid(x),
               checked, checked2, feed={bad: [1.0, 2.0]})
    np.testing.assert_allclose(out[0], X @ np.ones((3, 2)) + [1.0, -1.0])
    np.testing.assert_allclose(out[1], np.concatenate([np.maximum(X, 0), np.maximum(-X, 0)],
                                                      -1))
    np.testing.assert_allclose(out[3], [1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="bad value"):
        _run(checked, feed={bad: [np.nan, 1.0]})


def test_variable_helpers_and_aliases():
    v = tf.get_local_variable("counter", [], initializer=tf.zeros_initializer())
    assert v in tf.local_variables() and v not in tf.trainable_variables()
    assert tf.moving_average_variables() == []
    assert tf.no_regularizer(tf.constant(1.0)) is None
    assert tf.initialize_all_variables is tf.global_variables_initializer
    assert tf.initialize_local_variables is tf.local_variables_initializer
    assert tf.floor_div is tf.floordiv and tf.initialize_all_tables is tf.tables_initializer
    init = tf.initializers.global_variables()
    with tf.Session() as sess:
        sess.run([init, tf.initializers.local_variables()])
        assert sess.run(tf.floormod(tf.constant(-7), 3)) == 2      # Python's sign rule
    assert tf.compat.as_str_any(b"ab") == "ab" and tf.compat.as_str_any(3) == "3"
    assert tf.compat.path_to_str(__import__("pathlib").Path("/a/b")) == "/a/b"
    assert tf.train.VocabInfo is not None and tf.io.decode_png is not None


def test_keras_initializers_use_keras_defaults():
    ki = tf.keras.initializers
    assert ki.RandomNormal().stddev == 0.05 and ki.TruncatedNormal().stddev == 0.05
    assert (ki.RandomUniform().minval, ki.RandomUniform().maxval) == (-0.05, 0.05)
    assert tf.random_normal_initializer().stddev == 1.0          # the v1 one keeps TF1's
    v = tf.get_variable("k", [400, 50], initializer=ki.RandomNormal(seed=1))
    z = tf.get_variable("z", [3], initializer=ki.zeros())
    g = tf.get_variable("g", [20, 30], initializer=ki.glorot_uniform(seed=2))
    vv, zv, gv = _run(v, z, g)
    assert abs(vv.std() - 0.05) < 0.005 and (zv == 0).all()
    assert np.abs(gv).max() <= np.sqrt(6.0 / 50) + 1e-6
