"""tf.losses.mean_pairwise_squared_error: TF 1.15's formula against the mean over pairs,
weights per example, float32, the loss collection, errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf


def _pairs_mean(d):
    n = len(d)
    return np.mean([(d[i] - d[j]) ** 2 for i in range(n) for j in range(n) if i != j])


def test_matches_the_mean_over_pairs_with_example_weights():
    rng = np.random.default_rng(1)
    labels = rng.normal(size=(3, 2, 2))
    preds = rng.normal(size=(3, 2, 2))
    w = np.array([2.0, 0.5, 1.0]).reshape(3, 1, 1)
    want = sum(_pairs_mean((preds[b] - labels[b]).ravel()) * w[b, 0, 0] for b in range(3))
    with tf.Graph().as_default():
        loss = tf.losses.mean_pairwise_squared_error(labels, preds, weights=w)
        assert loss.dtype == tf.float32
        assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss]
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(loss), want, rtol=1e-5)


def test_no_present_element_gives_zero_and_gradient():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [2, 3])
        zero = tf.losses.mean_pairwise_squared_error(np.ones((2, 3)), p, weights=0.0)
        loss = tf.losses.mean_pairwise_squared_error(np.zeros((2, 3)), p)
        (g,) = tf.gradients(loss, [p])
        pv = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 3.0]], np.float32)
        with tf.Session() as sess:
            zv, gv = sess.run([zero, g], {p: pv})
    assert zv == 0.0
    # d/dp of 2 sum(d^2)/(n-1) - 2 sum(d)^2/(n(n-1)), n = 3
    want = 2 * 2 * pv / 2 - 2 * 2 * pv.sum(1, keepdims=True) / 6
    np.testing.assert_allclose(gv, want, rtol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        tf.losses.mean_pairwise_squared_error(np.ones((2, 3)), np.ones((2, 3)),
                                              weights=np.ones(2))
