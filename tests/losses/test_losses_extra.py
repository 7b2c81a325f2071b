"""``estcore.losses.cosine_distance`` (TF1 ``tf.losses.cosine_distance``): values as TF 2.15's
``tf.compat.v1.losses.cosine_distance`` gives for the same inputs (numbers from
``/work/tf-venv``, recorded below), the ``dim`` alias, reductions and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf

LABELS = np.array([[0.6, 0.8, 0], [1, 0, 0], [0, 0, 1]], np.float32)
PREDS = np.array([[0.8, 0.6, 0], [0, 1, 0], [0, 0.6, 0.8]], np.float32)
WEIGHTS = np.array([[1], [0], [2]], np.float32)


def _run(t):
    with ec.Session() as sess:
        return sess.run(t)


def test_values_match_tensorflow():
    with ec.Graph().as_default():
        out = _run([
            ec.losses.cosine_distance(LABELS, PREDS, axis=1),
            ec.losses.cosine_distance(LABELS, PREDS, dim=1, weights=WEIGHTS),
            ec.losses.cosine_distance(LABELS, PREDS, axis=1, reduction="none"),
            ec.losses.cosine_distance(LABELS, PREDS, axis=0,
                                      reduction=ec.losses.Reduction.MEAN)])
    # TF 2.15 tf.compat.v1.losses.cosine_distance on the same inputs
    np.testing.assert_allclose(out[0], 0.41333333, rtol=1e-6)
    np.testing.assert_allclose(out[1], 0.21999997, rtol=1e-6)
    np.testing.assert_allclose(out[2], [[0.03999996], [1.0], [0.19999999]], rtol=1e-6)
    np.testing.assert_allclose(out[3], 0.41333333, rtol=1e-6)


def test_against_numpy_and_collection():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4))
    b = rng.normal(size=(5, 4))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    with ec.Graph().as_default():
        loss = tf.losses.cosine_distance(a, b, axis=1)
        assert loss.dtype == ec.float64            # estcore keeps float64 inputs
        assert ec.get_collection(ec.GraphKeys.LOSSES) == [loss]
        assert loss.op.name.startswith("cosine_distance_loss/")
        np.testing.assert_allclose(_run(loss), np.mean(1 - (a * b).sum(axis=1)), rtol=1e-12)


def test_gradient_flows_to_predictions():
    with ec.Graph().as_default():
        p = ec.Variable(PREDS)
        loss = ec.losses.cosine_distance(LABELS, p, axis=1)
        (g,) = ec.gradients(loss, [p])
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            np.testing.assert_allclose(sess.run(g), -LABELS / 3, rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "axis"),
    ({"axis": 1, "dim": 0}, "not both"),
    ({"axis": 1.0}, "axis"),
])
def test_argument_errors(kwargs, match):
    with ec.Graph().as_default():
        with pytest.raises((ValueError, TypeError), match=match):
            ec.losses.cosine_distance(LABELS, PREDS, **kwargs)


def test_shape_mismatch_is_an_error():
    with ec.Graph().as_default():
        with pytest.raises(ValueError):
            ec.losses.cosine_distance(LABELS, PREDS[:, :2], axis=1)
