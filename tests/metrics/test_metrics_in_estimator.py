"""Metrics built in a ``model_fn``'s ``eval_metric_ops``: TF 1.15's variable names (the
name scope's), and ``Estimator.evaluate`` still streams them over every batch."""

from __future__ import annotations

import numpy as np

import estcore.compat.v1 as tf

X = np.arange(24, dtype=np.float32).reshape(8, 3) / 10.0
Y = np.array([0, 1, 0, 1, 1, 0, 1, 1], np.int64)


class _Names(tf.train.SessionRunHook):
    def begin(self):
        self.local = sorted(v.op.name for v in tf.local_variables())
        self.metrics = sorted(v.op.name for v in tf.get_collection(
            tf.GraphKeys.LOCAL_VARIABLES, scope="metrics"))


def _model_fn(features, labels, mode):
    with tf.variable_scope("net"):
        logits = tf.layers.dense(features["x"], 2, kernel_initializer=tf.zeros_initializer())
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    if mode == tf.estimator.ModeKeys.TRAIN:
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.no_op())
    with tf.name_scope("metrics"):
        acc = tf.metrics.accuracy(labels, tf.zeros_like(labels))
        mean_x = tf.metrics.mean(features["x"][:, 0])
    with tf.variable_scope("eval_vs"):
        pos = tf.metrics.true_positives(labels, tf.ones_like(labels))
    return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={
        "acc": acc, "mean_x": mean_x, "pos": pos})


def test_eval_metric_names_follow_the_name_scope(tmp_path):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path))
    input_fn = tf.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=3, shuffle=False,
                                                  num_epochs=1)
    est.train(input_fn, steps=1)
    names = _Names()
    got = est.evaluate(input_fn, hooks=[names])
    # TF 2.15 names them so (its Estimator adds its own mean/* and eval_step as well)
    assert names.local == ["eval_vs/true_positives/count", "metrics/accuracy/count",
                           "metrics/accuracy/total", "metrics/mean/count", "metrics/mean/total"]
    assert names.metrics == names.local[1:]
    np.testing.assert_allclose(got["acc"], 3 / 8)
    np.testing.assert_allclose(got["mean_x"], X[:, 0].mean(), rtol=1e-6)
    np.testing.assert_allclose(got["pos"], 5.0)
