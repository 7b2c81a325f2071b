"""A serving graph with tf.while_loop exports natively and serves like predict."""

from __future__ import annotations

import os

import numpy as np

import estcore as ec
import estcore.saved_model as sm
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.graph.ops.while_ops import while_loop


def _model_fn(features, labels, mode):
    logits = ec.layers.dense(features["x"], 2)
    limit = ec.cast(ec.reduce_sum(ec.abs(features["x"])), ec.int32) % 4 + 1
    n, y = while_loop(lambda i, a: i < limit, lambda i, a: (i + 1, a * 0.5 + 1.0),
                      [ec.constant(0), logits], back_prop=False)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"y": y, "n": ec.fill([ec.shape(y)[0]], n)})
    loss = ec.reduce_mean(ec.square(logits - ec.cast(ec.expand_dims(labels, 1), ec.float32)))
    opt = ec.train.GradientDescentOptimizer(0.1)
    return EstimatorSpec(mode, loss=loss,
                         train_op=opt.minimize(loss, ec.train.get_global_step()))


def test_while_loop_serves_like_predict(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    est = Estimator(_model_fn, str(tmp_path / "m"),
                    RunConfig(log_step_count_steps=None, save_summary_steps=None))
    est.train(numpy_input_fn({"x": x}, np.ones(8, np.int32), batch_size=4, num_epochs=1,
                             shuffle=False))
    path = est.export_saved_model(
        str(tmp_path / "export"),
        ec.estimator.export.build_raw_serving_input_receiver_fn(
            {"x": np.zeros((1, 3), np.float32)}))
    pred = sm.load(os.fsdecode(path))
    for rows in (x, x[:3], x[5:6]):
        want = next(est.predict(numpy_input_fn({"x": rows}, batch_size=len(rows),
                                               shuffle=False), yield_single_examples=False))
        got = pred({"x": rows})
        np.testing.assert_array_equal(got["n"], want["n"])
        np.testing.assert_allclose(got["y"], want["y"], rtol=1e-6)
    assert len({int(pred({"x": r})["n"][0]) for r in (x, x[:3], x[5:6])}) > 1
