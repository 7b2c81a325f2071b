"""``tf.keras.layers`` / ``tf.keras.regularizers`` in estcore.compat.v1: Keras's arguments and
defaults over estcore.layers, TF's variable names, regularizer values (Keras's formula),
losses and updates in the TF1 collections (a documented difference), a model_fn that trains."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf


def test_variable_names_match_tf():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4, 4, 3])
        y = tf.keras.layers.BatchNormalization()(x, training=True)
        c = tf.keras.layers.Conv2D(2, 3, kernel_regularizer=tf.keras.regularizers.l2(0.1))(y)
        tf.keras.layers.Dense(5, kernel_regularizer="l1")(tf.keras.layers.Flatten()(c))
        # the names TF 2.15's tf.compat.v1 graph gives the same layers
        assert [v.op.name for v in tf.global_variables()] == [
            "batch_normalization/gamma", "batch_normalization/beta",
            "batch_normalization/moving_mean", "batch_normalization/moving_variance",
            "conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]
        assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 2
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2


def test_regularizer_values_follow_keras():
    w = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    with ec.Graph().as_default():
        terms = [tf.keras.regularizers.l1(0.1)(w), tf.keras.regularizers.l2(0.1)(w),
                 tf.keras.regularizers.l1_l2(0.1, 0.2)(w), tf.keras.regularizers.L1L2()(w),
                 tf.keras.regularizers.get("l2")(w), tf.keras.regularizers.L2(0.3)(w)]
        with ec.Session() as sess:
            got = sess.run(terms)
    l1, l2 = np.abs(w).sum(), np.square(w).sum()
    f = float(np.float32(0.1))
    np.testing.assert_allclose(got, [f * l1, f * l2, f * l1 + float(np.float32(0.2)) * l2, 0.0,
                                     float(np.float32(0.01)) * l2,
                                     float(np.float32(0.3)) * l2], rtol=1e-6)
    assert tf.keras.regularizers.l2(0.1).get_config() == {"l1": 0.0, "l2": float(np.float32(0.1))}
    reg = tf.keras.regularizers.get({"class_name": "L1L2", "config": {"l1": 0.5}})
    assert isinstance(reg, tf.keras.regularizers.L1L2) and reg.l1 == 0.5


def test_dense_matches_numpy_with_named_initializers():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with ec.Graph().as_default():
        layer = tf.keras.layers.Dense(4, activation="relu", kernel_initializer="ones",
                                      bias_initializer="zeros", input_shape=(3,))
        y = layer(x)
        assert layer.kernel.op.name == "dense/kernel"
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            np.testing.assert_allclose(sess.run(y), np.maximum(x @ np.ones((3, 4)), 0))


def test_dropout_and_batch_norm_default_to_inference():
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    with ec.Graph().as_default():
        d = tf.keras.layers.Dropout(0.5)(x)
        bn = tf.keras.layers.BatchNormalization()
        b = bn(x)
        assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(d), x)
            np.testing.assert_allclose(sess.run(b), x / np.sqrt(1 + 1e-3), rtol=1e-6)


def test_pooling_and_flatten_defaults():
    x = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    with ec.Graph().as_default():
        m = tf.keras.layers.MaxPooling2D()(x)          # pool_size (2, 2), Keras's default
        a = tf.keras.layers.AvgPool2D()(x)
        f = tf.keras.layers.Flatten()(m)
        with ec.Session() as sess:
            mv, av, fv = sess.run([m, a, f])
    blocks = x.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5)
    np.testing.assert_array_equal(mv, blocks.max(axis=(3, 4)))
    np.testing.assert_allclose(av, blocks.mean(axis=(3, 4)))
    assert fv.shape == (1, 8)


@pytest.mark.parametrize("make, error, match", [
    (lambda: tf.keras.layers.Dense(3, kernel_initializer="glorot"), ValueError,
     "kernel_initializer"),
    (lambda: tf.keras.layers.Dense(3, kernel_regularizer="l3"), ValueError, "regularizer"),
    (lambda: tf.keras.regularizers.l2(-1.0), ValueError, "l2"),
    (lambda: tf.keras.layers.Dense(3, units_typo=1), TypeError, "units_typo"),
    (lambda: tf.keras.layers.Conv2D(0, 3), ValueError, "filters"),
])
def test_argument_errors(make, error, match):
    with ec.Graph().as_default():
        with pytest.raises(error, match=match):
            make()


def test_model_fn_with_keras_layers_trains(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int32)

    def model_fn(features, labels, mode):
        training = mode == tf.estimator.ModeKeys.TRAIN
        h = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu",
                                   kernel_regularizer=tf.keras.regularizers.l2(1e-4))(
            features["x"])
        h = tf.keras.layers.BatchNormalization()(h, training=training)
        h = tf.keras.layers.MaxPooling2D()(h)
        h = tf.keras.layers.Dropout(0.1)(tf.keras.layers.Flatten()(h), training=training)
        logits = tf.keras.layers.Dense(2)(h)
        loss = (tf.losses.sparse_softmax_cross_entropy(labels, logits)
                + tf.losses.get_regularization_loss())
        if mode == tf.estimator.ModeKeys.EVAL:
            acc = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
            return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"acc": acc})
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train = tf.train.AdamOptimizer(0.05).minimize(loss, tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    est = tf.estimator.Estimator(model_fn, str(tmp_path),
                                 config=tf.estimator.RunConfig(tf_random_seed=3))
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=16, num_epochs=None,
                                                 shuffle=True), steps=60)
    moving = est.get_variable_value("batch_normalization/moving_mean")
    assert np.abs(moving).sum() > 0            # the UPDATE_OPS ran
    result = est.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x}, y, shuffle=False))
    assert result["acc"] > 0.8


def test_keras_initializers_ignore_the_variable_scope_initializer():
    """Keras layers have their own defaults (glorot_uniform kernels, zeros biases); an
    initializer given as None is Keras's ``add_weight`` default, glorot_uniform, never the
    enclosing variable scope's initializer (TF 2.15's tf.compat.v1 graph)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        with tf.variable_scope("net", initializer=tf.constant_initializer(0.5)):
            tf.keras.layers.Dense(3)(x)
            tf.keras.layers.Dense(3, kernel_initializer=None, bias_initializer=None)(x)
            tf.keras.layers.BatchNormalization()(x)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            vals = {v.op.name: sess.run(v) for v in tf.global_variables()}
    assert not np.any(vals["net/dense/kernel"] == 0.5)
    assert np.all(vals["net/dense/bias"] == 0.0)
    # glorot_uniform limits: sqrt(6 / (4 + 3)) for the kernel, sqrt(6 / (3 + 3)) for the bias
    for name, limit in (("net/dense_1/kernel", np.sqrt(6.0 / 7.0)), ("net/dense_1/bias", 1.0)):
        assert np.all(np.abs(vals[name]) <= limit) and np.ptp(vals[name]) > 0
    assert np.all(vals["net/batch_normalization/gamma"] == 1.0)
    assert np.all(vals["net/batch_normalization/beta"] == 0.0)
