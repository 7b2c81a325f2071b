"""The Estimator restores through ``Scaffold(saver=Saver(var_list))`` as TF1 does: the
EMA recipe (``Saver(ema.variables_to_restore())``) evaluates and predicts with the
averaged weights, and a var_list that leaves a variable out is TF's not-ready error."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf


def _model_fn(features, labels, mode, params):
    w = tf.get_variable("w", [1], initializer=tf.zeros_initializer())
    pred = features["x"] * w
    loss = tf.reduce_mean(tf.square(pred - labels))
    gs = tf.train.get_or_create_global_step()
    ema = tf.train.ExponentialMovingAverage(0.5)
    if mode == tf.estimator.ModeKeys.TRAIN:
        opt = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        with tf.control_dependencies([opt]):
            train_op = ema.apply([w])
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
    var_list = params["var_list"](ema, w, gs)
    scaffold = tf.train.Scaffold(saver=tf.train.Saver(var_list))
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"w": pred * 0 + w},
                                          scaffold=scaffold)
    return tf.estimator.EstimatorSpec(mode, loss=loss, scaffold=scaffold,
                                      eval_metric_ops={"w": tf.metrics.mean(w)})


def _input_fn():
    x = np.ones((4, 1), np.float32)
    return {"x": x}, 3 * x


def _train(tmp_path, var_list):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path),
                                 params={"var_list": var_list})
    est.train(_input_fn, steps=5)
    return est


def test_evaluate_and_predict_read_the_moving_averages(tmp_path):
    est = _train(tmp_path, lambda ema, w, gs: ema.variables_to_restore())
    raw = est.get_variable_value("w")[0]
    avg = est.get_variable_value("w/ExponentialMovingAverage")[0]
    assert abs(raw - avg) > 1e-3          # the test distinguishes the two
    got = est.evaluate(lambda: _input_fn(), steps=1)["w"]
    np.testing.assert_allclose(got, avg, rtol=1e-6)
    pred = next(est.predict(lambda: {"x": np.ones((2, 1), np.float32)},
                            yield_single_examples=True))
    np.testing.assert_allclose(pred["w"], [avg], rtol=1e-6)


def test_a_var_list_that_leaves_a_variable_out_is_tf_s_not_ready_error(tmp_path):
    est = _train(tmp_path, lambda ema, w, gs: {"w": w})
    with pytest.raises(RuntimeError, match="Variables not initialized: global_step"):
        est.evaluate(lambda: _input_fn(), steps=1)
