"""The reference job of /work/shared/spec/tf_reference_run: a 4-8-3 dense classifier."""

from __future__ import annotations

import numpy as np

import estcore
from estcore.estimator import EstimatorSpec, ModeKeys, RunConfig

N_ROWS = 1000


def model_fn(features, labels, mode):
    hidden = estcore.layers.dense(features["x"], 8, activation=estcore.nn.relu)
    logits = estcore.layers.dense(hidden, 3)
    classes = estcore.argmax(logits, 1)
    predictions = {"classes": classes, "probabilities": estcore.nn.softmax(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == ModeKeys.TRAIN:
        train_op = estcore.train.AdamOptimizer(0.01).minimize(
            loss, global_step=estcore.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)
    metrics = {
        "accuracy": estcore.metrics.accuracy(labels=labels, predictions=classes),
        "mean_per_class_accuracy": estcore.metrics.mean_per_class_accuracy(
            labels=labels, predictions=classes, num_classes=3),
    }
    return EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_ROWS, 4)).astype(np.float32)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    y = np.argmax(x @ w + rng.normal(scale=0.5, size=(N_ROWS, 3)), axis=1).astype(np.int32)
    return x, y


def reference_input_fn(x, y, batch_size=100, num_epochs=2, shuffle=True):
    """The reference job's input: ``numpy_input_fn(x={'x': x}, y=y, ...)``."""
    from estcore.estimator.inputs import numpy_input_fn

    return numpy_input_fn(x={"x": x}, y=y, batch_size=batch_size, num_epochs=num_epochs,
                          shuffle=shuffle)


def reference_config(model_dir=None):
    return RunConfig(model_dir=model_dir, tf_random_seed=1, save_checkpoints_steps=7,
                     keep_checkpoint_max=2, log_step_count_steps=5, save_summary_steps=5)
