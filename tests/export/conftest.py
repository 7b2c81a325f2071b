"""Fixtures for the export tests: small trained estimators (trained once per session)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.export import (
    ClassificationOutput,
    PredictOutput,
    RegressionOutput,
)
from estcore.estimator.inputs import numpy_input_fn  # noqa: F401 - used via `models`


def _head(logits, labels, mode, export_outputs=None, predictions=None):
    preds = predictions or {"classes": ec.argmax(logits, 1),
                            "probabilities": ec.nn.softmax(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=preds, export_outputs=export_outputs)
    loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = ec.train.AdamOptimizer(0.01).minimize(loss, ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         eval_metric_ops={"accuracy": ec.metrics.accuracy(
                             labels, ec.argmax(logits, 1))})


def mlp_model_fn(features, labels, mode, params):
    x = features["x"]
    for units in params.get("hidden", (16, 16)):
        x = ec.layers.dense(x, units, activation=ec.nn.relu)
    return _head(ec.layers.dense(x, params.get("classes", 3)), labels, mode)


def cnn_model_fn(features, labels, mode):
    """The TF tutorial CNN (smaller): conv-pool-conv-pool-dense-dropout-dense."""
    x = ec.reshape(features["x"], [-1, 8, 8, 1])
    c1 = ec.layers.conv2d(x, 4, [3, 3], padding="same", activation=ec.nn.relu)
    p1 = ec.layers.max_pooling2d(c1, pool_size=[2, 2], strides=2)
    c2 = ec.layers.conv2d(p1, 8, [3, 3], padding="valid", activation=ec.nn.relu)
    p2 = ec.layers.average_pooling2d(c2, pool_size=[2, 2], strides=1, padding="same")
    flat = ec.layers.flatten(p2)
    dense = ec.layers.dense(flat, 16, activation=ec.nn.relu)
    drop = ec.layers.dropout(dense, rate=0.4, training=mode == ModeKeys.TRAIN)
    return _head(ec.layers.dense(drop, 3), labels, mode)


def bn_model_fn(features, labels, mode):
    h = ec.layers.dense(features["x"], 16)
    h = ec.layers.batch_normalization(h, training=mode == ModeKeys.TRAIN)
    return _head(ec.layers.dense(ec.nn.relu(h), 3), labels, mode)


def linear_model_fn(features, labels, mode):
    """A linear regressor: ``x @ w + b`` with a RegressionOutput signature."""
    w = ec.get_variable("w", [64, 1], initializer=ec.zeros_initializer())
    b = ec.get_variable("b", [1], initializer=ec.zeros_initializer())
    pred = ec.squeeze(ec.matmul(features["x"], w) + b, axis=[1])
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"predictions": pred},
                             export_outputs={"serving_default": RegressionOutput(pred),
                                             "predict": PredictOutput({"predictions": pred})})
    loss = ec.losses.mean_squared_error(ec.cast(labels, ec.float32), pred)
    train_op = ec.train.GradientDescentOptimizer(0.05).minimize(loss, ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def classify_model_fn(features, labels, mode):
    """Exports a ClassificationOutput (scores) next to the default PredictOutput."""
    logits = ec.layers.dense(features["x"], 3)
    probs = ec.nn.softmax(logits)
    outputs = {"serving_default": PredictOutput({"probabilities": probs}),
               "classification": ClassificationOutput(scores=probs)}
    return _head(logits, labels, mode, export_outputs=outputs,
                 predictions={"probabilities": probs})


def cond_trunk(x):
    """The control-flow models' shared part: ``(total, logits)``, logits from a cond with
    a dense layer in one branch and a nested cond in the other."""
    h = ec.layers.dense(x, 8, activation=ec.nn.relu)
    total = ec.reduce_sum(x)
    logits = ec.cond(total > 0.0, lambda: ec.layers.dense(h, 3, name="pos"),
                     lambda: ec.cond(total > -50.0, lambda: h[:, :3] * 2.0,
                                     lambda: h[:, 3:6] - 1.0))
    return total, logits


def cond_model_fn(features, labels, mode):
    """Control flow in the serving graph: cond (a dense layer in one branch), case with
    two predicates and no default (an Assert inside a branch), map_fn with a cond in its
    body, and a nested cond."""
    x = features["x"]
    total, logits = cond_trunk(x)
    if mode != ModeKeys.PREDICT:
        return _head(logits, labels, mode)
    rows = ec.map_fn(lambda r: ec.cond(r[0] > 0.0, lambda: r[:2] * 3.0, lambda: r[2:4]), x)
    picked = ec.case([(total > 1e6, lambda: logits * 0.0),
                      (total > -1e6, lambda: ec.nn.softmax(logits))])
    return _head(logits, labels, mode, predictions={
        "classes": ec.argmax(logits, 1), "probabilities": picked, "rows": rows})


MODELS = {"mlp": (mlp_model_fn, {"hidden": (16, 16)}), "cnn": (cnn_model_fn, None),
          "bn": (bn_model_fn, None), "linear": (linear_model_fn, None),
          "classify": (classify_model_fn, None), "cond": (cond_model_fn, None)}


def data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 64)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)).astype(np.int32)
    return x, y


def train_input_fn():
    x, y = data()
    return numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=2, shuffle=True)


def make_estimator(kind: str, model_dir: str, train: bool = True) -> Estimator:
    fn, params = MODELS[kind]
    est = Estimator(fn, model_dir, RunConfig(tf_random_seed=7, log_step_count_steps=None,
                                             save_summary_steps=None), params=params)
    if train:
        est.train(train_input_fn())
    return est


def serving_fn():
    return ec.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": np.zeros((1, 64), np.float32)})


def predict_all(est: Estimator, x: np.ndarray) -> dict:
    return next(est.predict(numpy_input_fn({"x": x}, batch_size=len(x), shuffle=False),
                            yield_single_examples=False))


@pytest.fixture(scope="session")
def trained_dirs(tmp_path_factory):
    """kind -> a model_dir trained once; tests copy it before changing anything."""
    base = tmp_path_factory.mktemp("trained")
    out = {}
    for kind in MODELS:
        d = str(base / kind)
        make_estimator(kind, d)
        out[kind] = d
    return out


@pytest.fixture
def trained(trained_dirs, tmp_path):
    """``trained(kind) -> Estimator`` on a private copy of the trained model_dir."""
    counter = [0]

    def get(kind: str) -> Estimator:
        counter[0] += 1
        d = str(tmp_path / f"model_{kind}_{counter[0]}")
        shutil.copytree(trained_dirs[kind], d)
        return make_estimator(kind, d, train=False)
    return get


@pytest.fixture
def exported(trained, tmp_path):
    """``exported(kind) -> (estimator, export path str)``."""
    def get(kind: str):
        est = trained(kind)
        path = est.export_saved_model(str(tmp_path / "export"), serving_fn())
        return est, os.fsdecode(path)
    return get


@pytest.fixture
def models():
    """This module (model_fns, data, helpers) for the tests."""
    import sys

    return sys.modules[__name__]
