"""tf.contrib.layers fully_connected / conv2d / batch_norm / variance_scaling_initializer:
TF 1.15's variable names, defaults and collections; values against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

L = tf.contrib.layers
RNG = np.random.default_rng(2)


def _names(collection=tf.GraphKeys.GLOBAL_VARIABLES):
    return [v.op.name for v in tf.get_collection(collection)]


def test_fully_connected_names_defaults_and_values():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        y = L.fully_connected(x, 4)
        z = L.fully_connected(y, 2, activation_fn=None, scope="logits",
                              weights_regularizer=L.l2_regularizer(0.5))
        n = L.fully_connected(x, 2, normalizer_fn=lambda t: t * 2.0)
        assert _names() == ["fully_connected/weights", "fully_connected/biases",
                            "logits/weights", "logits/biases", "fully_connected_1/weights"]
        assert _names(tf.GraphKeys.MODEL_VARIABLES) == _names()
        assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
        xv = RNG.normal(size=(5, 3)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            w1, b1, w2, b2, w3 = sess.run(tf.global_variables())
            assert not b1.any() and np.abs(w1).max() <= np.sqrt(6.0 / 7.0)  # xavier uniform
            yv, zv, nv = sess.run([y, z, n], {x: xv})
    np.testing.assert_allclose(yv, np.maximum(xv @ w1 + b1, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(zv, yv @ w2 + b2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nv, np.maximum(2.0 * (xv @ w3), 0), rtol=1e-5, atol=1e-6)


def test_fully_connected_reuse_rank3_and_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 5, 3])
        a = L.fully_connected(x, 4, scope="fc", activation_fn=None)
        b = L.fully_connected(x, 4, scope="fc", reuse=True, activation_fn=None)
        assert a.shape.as_list() == [2, 5, 4] and _names() == ["fc/weights", "fc/biases"]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            av, bv = sess.run([a, b], {x: np.ones((2, 5, 3), np.float32)})
        np.testing.assert_array_equal(av, bv)
        with pytest.raises(ValueError, match="num_outputs"):
            L.fully_connected(x, 2.5)


def test_conv2d_names_strides_and_values():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [1, 5, 5, 2])
        y = L.conv2d(x, 3, [3, 3], stride=2)
        z = L.convolution2d(x, 1, 1, activation_fn=None, rate=2, padding="valid")
        assert _names() == ["Conv/weights", "Conv/biases", "Conv_1/weights", "Conv_1/biases"]
        assert y.shape.as_list() == [1, 3, 3, 3] and z.shape.as_list() == [1, 5, 5, 1]
        xv = RNG.normal(size=(1, 5, 5, 2)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            w, b, w1, _ = sess.run(tf.global_variables())
            yv, zv = sess.run([y, z], {x: xv})
    assert w.shape == (3, 3, 2, 3)
    pad = np.pad(xv, [(0, 0), (1, 1), (1, 1), (0, 0)])
    ref = np.zeros((1, 3, 3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            patch = pad[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3, :]
            ref[0, i, j] = np.tensordot(patch, w, 3) + b
    np.testing.assert_allclose(yv, np.maximum(ref, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(zv[..., 0], np.tensordot(xv, w1[0, 0], [[3], [0]])[..., 0],
                               rtol=1e-5, atol=1e-6)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="cannot both"):
            L.conv2d(tf.zeros([1, 4, 4, 1]), 1, 3, stride=2, rate=2)
        with pytest.raises(ValueError, match="4-D"):
            L.conv2d(tf.zeros([1, 4, 1]), 1, 3)


def test_batch_norm_names_updates_and_values():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4, 3])
        y = L.batch_norm(x, is_training=True)
        assert _names() == ["BatchNorm/beta", "BatchNorm/moving_mean",
                            "BatchNorm/moving_variance"]       # scale=False: no gamma
        assert [v.op.name for v in tf.trainable_variables()] == ["BatchNorm/beta"]
        assert set(_names(tf.GraphKeys.MODEL_VARIABLES)) == set(_names())
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
        g = L.batch_norm(x, scale=True, updates_collections=None, decay=0.5, scope="bn2")
        assert "bn2/gamma" in _names() and len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
        mm = [v for v in tf.global_variables() if v.op.name == "bn2/moving_mean"][0]
        xv = RNG.normal(size=(4, 3)).astype(np.float32) * 3 + 1
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            yv, _ = sess.run([y, g], {x: xv})
            moved = sess.run(mm)       # updated by running g (updates_collections=None)
    ref = (xv - xv.mean(0)) / np.sqrt(xv.var(0) + 1e-3)
    np.testing.assert_allclose(yv, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moved, 0.5 * xv.mean(0), rtol=1e-5)


def test_variance_scaling_initializer_contrib_rule():
    init = L.variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=1)
    w = init([400, 300])
    assert np.abs(w).max() <= 2 * np.sqrt(1.3 * 2.0 / 400) + 1e-7
    # a normal truncated at 2 sigma has standard deviation 0.8796 sigma
    assert abs(w.std() / (np.sqrt(1.3 * 2.0 / 400) * 0.87962566) - 1) < 0.02
    u = L.variance_scaling_initializer(1.0, "FAN_AVG", uniform=True, seed=1)([10, 30, 4, 2])
    n = (4 * 300 + 2 * 300) / 2    # fans: in 4, out 2, both times the leading 10 * 30
    assert np.abs(u).max() <= np.sqrt(3.0 / n) and np.abs(u).max() > 0.9 * np.sqrt(3.0 / n)
    np.testing.assert_array_equal(L.xavier_initializer(seed=3)([5, 5]),
                                  L.variance_scaling_initializer(1.0, "FAN_AVG", True, 3)([5, 5]))
    with pytest.raises(TypeError, match="Unknown mode"):
        L.variance_scaling_initializer(mode="fan_in")
    with pytest.raises(TypeError, match="non-floating"):
        L.variance_scaling_initializer(dtype=tf.int32)


def _init_kinds():
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = {}
        for v in tf.global_variables():
            val = sess.run(v)
            out[v.op.name] = next((k for k, c in (("half", 0.5), ("zeros", 0.0), ("ones", 1.0))
                                   if np.all(val == c)), "random")
        return out


def test_defaults_ignore_the_scope_initializer_and_none_takes_it():
    """contrib's defaults (Xavier weights, zeros biases, batch_norm's zeros / ones) are
    explicit, so the variable scope's initializer only reaches a weights_initializer or a
    param_initializers entry given as None (TF 1.15's ``get_variable`` default)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        with tf.variable_scope("net", initializer=tf.constant_initializer(0.5)):
            L.fully_connected(x, 2)
            L.fully_connected(x, 2, weights_initializer=None, scope="fc_none")
            L.batch_norm(x, scale=True)
            L.batch_norm(x, param_initializers={"beta": None}, scope="bn_none")
        assert _init_kinds() == {
            "net/fully_connected/weights": "random", "net/fully_connected/biases": "zeros",
            "net/fc_none/weights": "half", "net/fc_none/biases": "zeros",
            "net/BatchNorm/gamma": "ones", "net/BatchNorm/beta": "zeros",
            "net/BatchNorm/moving_mean": "zeros", "net/BatchNorm/moving_variance": "ones",
            "net/bn_none/beta": "half", "net/bn_none/moving_mean": "zeros",
            "net/bn_none/moving_variance": "ones"}


def test_optimize_loss_names_are_tf_1_15s():
    """TF 1.15's optimize_loss runs in variable_scope(name, "OptimizeLoss"): the slots are
    OptimizeLoss/<var>/<slot> and a float learning rate is a variable, as its checkpoints
    hold them."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        loss = tf.reduce_sum(tf.layers.dense(x, 1))
        train = tf.contrib.layers.optimize_loss(loss, tf.train.get_or_create_global_step(),
                                                0.1, "Adam")
        names = sorted(v.op.name for v in tf.global_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {x: np.ones((3, 2), np.float32)})
            assert sess.run("OptimizeLoss/learning_rate:0") == pytest.approx(0.1)
    assert names == ["OptimizeLoss/beta1_power", "OptimizeLoss/beta2_power",
                     "OptimizeLoss/dense/bias/Adam", "OptimizeLoss/dense/bias/Adam_1",
                     "OptimizeLoss/dense/kernel/Adam", "OptimizeLoss/dense/kernel/Adam_1",
                     "OptimizeLoss/learning_rate", "dense/bias", "dense/kernel", "global_step"]
    with tf.Graph().as_default():
        loss = tf.reduce_sum(tf.get_variable("w", [1]))
        with pytest.raises(ValueError, match="learning_rate` must be >= 0"):
            tf.contrib.layers.optimize_loss(loss, None, -1.0, "SGD")
