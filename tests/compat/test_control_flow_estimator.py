"""A TF1 Estimator program that uses this issue's names together, as a TF1 reader would
write it (`import estcore.compat.v1 as tf` only): map_fn preprocessing, conv1d and
max_pooling1d over the rows of scikit-learn's digits, dropout under tf.cond on a training
flag, an Assert on the labels through control_dependencies, a boolean_mask'ed loss, a
py_func in the predictions, tf.Print; trained, evaluated and predicted."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

sklearn = pytest.importorskip("sklearn.datasets")


def model_fn(features, labels, mode, params):
    training = mode == tf.estimator.ModeKeys.TRAIN
    x = tf.map_fn(lambda img: img / (tf.reduce_max(img) + 1e-3), features["x"])
    h = tf.layers.conv1d(x, 16, 3, padding="same", activation=tf.nn.relu)
    h = tf.layers.max_pooling1d(h, 2, 2)
    h = tf.layers.flatten(h)
    h = tf.cond(tf.constant(training), lambda: tf.nn.dropout(h, keep_prob=0.9), lambda: h)
    logits = tf.layers.dense(h, 10)
    classes = tf.py_func(lambda z: np.argmax(z, 1).astype(np.int64), [logits], tf.int64)
    classes.set_shape([None])
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"classes": classes})
    with tf.control_dependencies([tf.debugging.assert_non_negative(labels),
                                  tf.assert_less(labels, tf.constant(10, tf.int64))]):
        labels = tf.identity(labels)
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    loss = tf.reduce_mean(tf.boolean_mask(xent, tf.greater_equal(labels, 0)))
    loss = tf.Print(loss, [loss], message="first loss: ", first_n=1)
    if mode == tf.estimator.ModeKeys.EVAL:
        acc = tf.metrics.accuracy(labels=labels, predictions=classes)
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": acc})
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_estimator_with_control_flow_and_dynamic_shapes(tmp_path, capfd):
    digits = sklearn.load_digits()
    x = digits.images.astype(np.float32)
    y = digits.target.astype(np.int64)
    est = tf.estimator.Estimator(model_fn, str(tmp_path),
                                 config=tf.estimator.RunConfig(tf_random_seed=3))
    train = tf.estimator.inputs.numpy_input_fn({"x": x[:1400]}, y[:1400], batch_size=50,
                                               num_epochs=None, shuffle=True)
    est.train(train, steps=600)
    res = est.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x[1400:]}, y[1400:],
                                                          shuffle=False))
    assert res["global_step"] == 600 and res["accuracy"] > 0.9   # 0.91-0.92 over seeds 1-4
    preds = list(est.predict(tf.estimator.inputs.numpy_input_fn({"x": x[1400:1410]},
                                                                shuffle=False)))
    assert np.mean([p["classes"] == t for p, t in zip(preds, y[1400:1410],
                                                      strict=True)]) >= 0.7
    assert "first loss: [" in capfd.readouterr().err
    bad = tf.estimator.inputs.numpy_input_fn({"x": x[:4]}, np.array([1, 2, 3, 12]),
                                             shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Condition x < y did not hold"):
        est.evaluate(bad)
