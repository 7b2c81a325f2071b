"""InMemoryEvaluatorHook: evaluation during train from the training session's values."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.experimental import InMemoryEvaluatorHook
from estcore.summary import read_eval_metrics

X = np.random.RandomState(0).rand(64, 3).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32)).ravel()


def model_fn(features, labels, mode):
    w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
    pred = tf.reshape(tf.matmul(features["x"], w), [-1])
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.reduce_mean(tf.square(pred - labels))
    train_op = tf.train.GradientDescentOptimizer(0.2).minimize(
        loss, global_step=tf.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         eval_metric_ops={"mse": tf.metrics.mean_squared_error(labels, pred)})


def train_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(16)


def eval_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(32)


def test_evaluates_every_n_iter_and_at_end(tmp_path):
    est = Estimator(model_fn, model_dir=str(tmp_path))
    hook = InMemoryEvaluatorHook(est, eval_fn, name="mem", every_n_iter=4)
    est.train(train_fn, steps=10, hooks=[hook])
    by_step = read_eval_metrics(est.eval_dir("mem"))
    assert sorted(by_step) == [0, 4, 8, 10]  # before training too, as TF's
    assert by_step[10]["mse"] < by_step[4]["mse"] < by_step[0]["mse"]
    # the last in-memory evaluation is the checkpoint's: the same variables
    from_ckpt = est.evaluate(eval_fn, name="ckpt")
    assert by_step[10]["mse"] == pytest.approx(float(from_ckpt["mse"]), rel=1e-6)
    assert by_step[10]["loss"] == pytest.approx(float(from_ckpt["loss"]), rel=1e-6)


def test_steps_and_eval_hooks_are_passed_on(tmp_path):
    seen = []

    class Count(tf.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            seen.append(1)

    est = Estimator(model_fn, model_dir=str(tmp_path))
    hook = InMemoryEvaluatorHook(est, eval_fn, steps=1, hooks=[Count()], every_n_iter=100)
    est.train(train_fn, steps=3, hooks=[hook])
    assert len(seen) == 2  # two evaluations (before training, at the end), of one step
    assert sorted(read_eval_metrics(est.eval_dir())) == [0, 3]


def test_compat_names():
    assert tf.estimator.experimental.InMemoryEvaluatorHook is InMemoryEvaluatorHook
    assert tf.contrib.estimator.InMemoryEvaluatorHook is InMemoryEvaluatorHook
    assert tf.contrib.estimator.stop_if_no_increase_hook is \
        tf.estimator.experimental.stop_if_no_increase_hook


@pytest.mark.parametrize("kwargs, err, match", [
    ({"every_n_iter": 0}, ValueError, "every_n_iter"),
    ({"every_n_iter": 2.5}, ValueError, "every_n_iter"),
    ({"input_fn": 3}, TypeError, "input_fn"),
    ({"steps": 0}, ValueError, "steps=0"),
    ({"steps": "3"}, ValueError, "steps='3'"),
])
def test_argument_errors(tmp_path, kwargs, err, match):
    est = Estimator(model_fn, model_dir=str(tmp_path))
    args = {"estimator": est, "input_fn": eval_fn, **kwargs}
    with pytest.raises(err, match=match):
        InMemoryEvaluatorHook(**args)


def test_refuses_non_estimators_and_distributed_configs(tmp_path, monkeypatch):
    with pytest.raises(TypeError, match="tf.estimator.Estimator"):
        InMemoryEvaluatorHook(object(), eval_fn)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, '
                                    '"task": {"type": "chief", "index": 0}}')
    est = Estimator(model_fn, model_dir=str(tmp_path), config=RunConfig())
    with pytest.raises(ValueError, match="distributed.*num_worker_replicas=2"):
        InMemoryEvaluatorHook(est, eval_fn)
