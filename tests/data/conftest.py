"""Helpers of the Dataset tests: element lists as plain Python values; the linear
model_fn the Estimator tests train."""

from __future__ import annotations

import numpy as np

import estcore.compat.v1 as tf


def values(dataset_or_iter) -> list:
    """Every element, arrays as lists and numpy scalars as Python scalars."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, tuple):
            return tuple(plain(x) for x in v)
        if isinstance(v, (np.ndarray, np.generic)):
            return v.tolist()
        return v
    return [plain(e) for e in dataset_or_iter]


def linear_model_fn(features, labels, mode):
    """y = x @ w, w [3, 1] from zeros, squared error, SGD 0.1 (a TF1 model_fn)."""
    w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
    pred = tf.reshape(tf.matmul(features["x"], w), [-1])
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.losses.mean_squared_error(labels, pred)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
