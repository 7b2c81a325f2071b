"""input_fns that return graph tensors (TF 1.x's tf.constant features, SparseTensors built
from data, ops over them): run each step in a session of their own and fed."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.inputs.source import Leaf, make_input_source

X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
Y = X @ np.array([1.0, -1.0, 2.0], np.float32)


def constant_input_fn():
    return {"x": tf.constant(X)}, tf.constant(Y)


def test_constant_tensors_train_evaluate_predict(tmp_path):
    est = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x", shape=[3])],
                                       model_dir=str(tmp_path))
    est.train(constant_input_fn, steps=1)
    first = est.evaluate(constant_input_fn, steps=1)
    est.train(constant_input_fn, steps=100)
    got = est.evaluate(constant_input_fn, steps=1)  # the one batch, evaluated once
    assert got["global_step"] == 101
    assert got["average_loss"] < first["average_loss"] / 4
    preds = est.predict(lambda: {"x": tf.constant(X[:4])})
    values = [float(next(preds)["predictions"][0]) for _ in range(4)]
    assert values == pytest.approx(
        [float(p["predictions"][0]) for p in est.predict(
            tf.estimator.inputs.numpy_input_fn({"x": X[:4]}, shuffle=False))])


def test_sparse_tensor_features_wide_n_deep_style(tmp_path):
    """TF 1.0's wide_n_deep tutorial: categorical features as SparseTensors of data."""
    cats = np.array(["a", "b", "c", "a"] * 10)
    labels = (cats == "a").astype(np.int32)

    def input_fn():
        feats = {"c": tf.SparseTensor(indices=[[i, 0] for i in range(40)], values=cats,
                                      dense_shape=[40, 1]),
                 "n": tf.constant(X[:, :1])}
        return feats, tf.constant(labels)

    cols = [tf.feature_column.categorical_column_with_vocabulary_list("c", ["a", "b", "c"]),
            tf.feature_column.numeric_column("n")]
    est = tf.estimator.LinearClassifier(cols, model_dir=str(tmp_path))
    est.train(input_fn, steps=30)
    assert est.evaluate(input_fn, steps=1)["accuracy"] == 1.0


def test_ops_are_run_every_step(tmp_path):
    seen = []

    def model_fn(features, labels, mode):
        w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(features["x"]) * w
        seen_op = tf.py_func(lambda v: seen.append(float(v.sum())) or np.float32(0),
                             [features["x"]], tf.float32)
        train = tf.group(tf.assign_add(tf.train.get_global_step(), 1), seen_op)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(lambda: ({"x": tf.random_uniform([4, 2], seed=1)}, tf.zeros([4])), steps=3)
    assert len(seen) == 3 and len(set(seen)) == 3  # new random values each step


def test_model_fn_sees_the_tensor_shapes(tmp_path):
    shapes = []

    def model_fn(features, labels, mode):
        shapes.append((features["x"].shape.as_list(), labels.shape.as_list()))
        w = tf.get_variable("w", [3, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w)[:, 0] - labels))
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.train.AdamOptimizer(
            0.1).minimize(loss, tf.train.get_global_step()))

    tf.estimator.Estimator(model_fn, model_dir=str(tmp_path)).train(constant_input_fn, steps=1)
    assert shapes == [([40, 3], [40])]


def test_mixed_arrays_and_tensors(tmp_path):
    est = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x", shape=[3])],
                                       model_dir=str(tmp_path))
    est.train(lambda: ({"x": tf.constant(X)}, Y), steps=2)
    assert est.get_variable_value("global_step") == 2


def test_evaluate_without_steps_warns(tmp_path, caplog):
    est = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x", shape=[3])],
                                       model_dir=str(tmp_path))
    est.train(constant_input_fn, steps=1)

    class StopAfter2(tf.train.SessionRunHook):
        def __init__(self):
            self.n = 0

        def after_run(self, run_context, run_values):
            self.n += 1
            if self.n == 2:
                run_context.request_stop()

    with caplog.at_level(logging.WARNING, logger="estcore"):
        est.evaluate(constant_input_fn, hooks=[StopAfter2()])
    assert any("runs until interrupted" in r.getMessage() for r in caplog.records)


def test_leaf_descriptions_and_unknown_rank():
    with tf.Graph().as_default():
        runs = []

        def run_tensors(tensors):
            class Runner:
                def __call__(self):
                    runs.append(1)
                    return [np.zeros([2, 3], np.float32)]

                def close(self):
                    pass
            return Runner()

        source = make_input_source(({"x": tf.placeholder(tf.float32, [None, 3])}, None),
                                   run_tensors)
        assert source.features_spec == {"x": Leaf(np.dtype(np.float32), (None, 3),
                                                  batched=False)}
        features, labels = source.next_batch()
        assert features["x"].shape == (2, 3) and labels is None and runs == [1]
        unknown = tf.py_func(lambda: np.zeros(2, np.float32), [], tf.float32)
        with pytest.raises(ValueError, match="unknown rank"):
            make_input_source({"x": unknown}, run_tensors)
        with pytest.raises(TypeError, match="only the Estimator can run them"):
            make_input_source({"x": tf.constant([[1.0]])})


def test_tensors_that_read_variables_are_refused_naming_both(tmp_path):
    def input_fn():
        scale = tf.get_variable("scale", [], initializer=tf.ones_initializer())
        return {"x": tf.multiply(tf.constant(X), scale, name="scaled")}, tf.constant(Y)

    est = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x", shape=[3])],
                                       model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="tensor 'scaled:0', which reads the variable 'scale'"):
        est.train(input_fn, steps=1)
