"""An Estimator given an unbatched Dataset (TF accepts it: the model sees the element
shapes with no batch dimension, one element per step). Checked against TF 2.15's
tf.estimator (tensorflow-estimator 2.15.0): features [2] and labels [] in every mode,
evaluate averages the loss over every element, predict(yield_single_examples=False)
yields one prediction per element."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data import Dataset

pytestmark = pytest.mark.smoke

X = np.arange(12, dtype=np.float32).reshape(6, 2)
Y = np.arange(6, dtype=np.float32)


def make(tmp_path, seen):
    def model_fn(features, labels, mode):
        seen[mode] = (features["x"].shape.as_list(),
                      None if labels is None else labels.shape.as_list())
        w = tf.get_variable("w", [2], initializer=tf.zeros_initializer())
        pred = tf.reduce_sum(features["x"] * w, -1)
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"p": pred})
        loss = tf.reduce_mean(tf.square(pred - labels))
        op = tf.train.GradientDescentOptimizer(0.001).minimize(
            loss, tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=op)

    return tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))


def test_the_model_sees_element_shapes_and_each_step_one_element(tmp_path):
    seen = {}
    est = make(tmp_path, seen)

    def input_fn():
        return Dataset.from_tensor_slices(({"x": X}, Y))

    est.train(input_fn, steps=3)
    w = np.zeros(2, np.float32)
    for i in range(3):  # one element per step, in order
        w -= 0.001 * 2 * (X[i] @ w - Y[i]) * X[i]
    np.testing.assert_allclose(est.get_variable_value("w"), w, rtol=1e-5)
    metrics = est.evaluate(input_fn)
    assert metrics["global_step"] == 3
    np.testing.assert_allclose(metrics["loss"], np.mean((X @ w - Y) ** 2), rtol=1e-5)
    preds = list(est.predict(input_fn, yield_single_examples=False))
    np.testing.assert_allclose([p["p"] for p in preds], X @ w, rtol=1e-5)
    assert seen == {"train": ([2], []), "eval": ([2], []), "infer": ([2], None)}
    # TF raises an IndexError here; estcore names the cause
    with pytest.raises(ValueError, match="no batch dimension.*yield_single_examples=False"):
        list(est.predict(input_fn))


def test_a_get_next_of_an_unbatched_dataset_and_a_static_batch(tmp_path):
    seen = {}
    est = make(tmp_path, seen)
    est.train(lambda: Dataset.from_tensor_slices(({"x": X}, Y)).make_one_shot_iterator()
              .get_next(), steps=2)
    assert seen["train"] == ([2], [])
    # a batch with drop_remainder has a static batch dimension, as in TF
    est.train(lambda: Dataset.from_tensor_slices(({"x": X}, Y)).batch(4, drop_remainder=True))
    assert seen["train"] == ([4, 2], [4]) and est.get_variable_value("global_step") == 3
