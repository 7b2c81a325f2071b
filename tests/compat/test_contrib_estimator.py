"""tf.contrib.estimator: head factories with TF 1.15 contrib defaults, add_metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.estimator.canned import classifier_heads
from estcore.estimator.canned import head as head_lib
from estcore.losses import Reduction


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5).astype(np.int32)
    return x, y


def _input_fn(x, y, epochs=None, shuffle=True):
    return tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=20, num_epochs=epochs,
                                              shuffle=shuffle)


def _config():
    return tf.estimator.RunConfig(tf_random_seed=3, log_step_count_steps=None,
                                  save_summary_steps=None)


def test_contrib_defaults_are_sum_over_batch_size():
    ns = tf.contrib.estimator
    for factory, canned, args in (
            (ns.binary_classification_head, classifier_heads.binary_classification_head, ()),
            (ns.multi_class_head, classifier_heads.multi_class_head, (3,)),
            (ns.regression_head, head_lib.regression_head, ())):
        h = factory(*args)
        assert h._loss_reduction == Reduction.SUM_OVER_BATCH_SIZE
        assert canned(*args)._loss_reduction == Reduction.SUM   # the canned default differs
        assert factory(*args, loss_reduction=Reduction.SUM)._loss_reduction == Reduction.SUM
    assert ns.multi_class_head(3, name="h").name == "h"
    assert ns.add_metrics is tf.estimator.add_metrics
    assert ns.poisson_regression_head()._loss_reduction == Reduction.SUM_OVER_BATCH_SIZE
    with pytest.raises(AttributeError, match="tf.contrib.estimator"):
        ns.multi_head  # noqa: B018 - not provided: named in the error


def test_dnn_estimator_with_contrib_multi_class_head(tmp_path):
    x, y = _data()
    cols = [tf.feature_column.numeric_column("x", shape=[4])]
    est = tf.estimator.DNNEstimator(head=tf.contrib.estimator.multi_class_head(3),
                                    hidden_units=[8], feature_columns=cols,
                                    model_dir=str(tmp_path / "m"), config=_config())
    est.train(_input_fn(x, y), steps=30)
    est = tf.contrib.estimator.add_metrics(
        est, lambda labels, predictions: {"my_acc": tf.metrics.accuracy(
            labels, predictions["class_ids"])})
    res = est.evaluate(_input_fn(x, y, epochs=1, shuffle=False))
    # SUM_OVER_BATCH_SIZE: the loss is the mean per-example loss (with SUM, the canned
    # default, it would be the batch size times larger)
    assert math.isclose(res["loss"], res["average_loss"], rel_tol=1e-5)
    assert res["my_acc"] == pytest.approx(res["accuracy"])
    preds = next(est.predict(_input_fn(x, y, epochs=1, shuffle=False),
                             yield_single_examples=False))
    assert preds["probabilities"].shape == (20, 3)
    acc = np.mean(np.concatenate([p["class_ids"].ravel() for p in est.predict(
        _input_fn(x, y, epochs=1, shuffle=False), yield_single_examples=False)]) == y)
    assert res["accuracy"] == pytest.approx(acc)


def _head_loss(head, logits, labels):
    with tf.Graph().as_default():
        spec = head.create_estimator_spec(
            features={"x": tf.constant(np.zeros((len(labels), 1), np.float32))},
            mode=tf.estimator.ModeKeys.EVAL, logits=tf.constant(logits),
            labels=tf.constant(labels))
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            return sess.run([spec.loss, spec.predictions])


def test_poisson_regression_head_loss_and_predictions():
    z = np.array([[0.0], [0.5], [1.0], [2.0], [7.0]], np.float32)
    c = np.array([[0.1], [-0.3], [1.2], [0.7], [2.0]], np.float32)
    loss, preds = _head_loss(tf.contrib.estimator.poisson_regression_head(), c, z)
    zz, cc = z.astype(np.float64), c.astype(np.float64)
    want = np.exp(cc) - cc * zz
    big = zz > 1
    zb = zz[big]
    want[big] += zb * np.log(zb) - zb + 0.5 * np.log(2 * np.pi * zb)   # Stirling, z > 1
    assert loss == pytest.approx(want.mean(), rel=1e-5)   # SUM_OVER_BATCH_SIZE
    np.testing.assert_allclose(preds["predictions"], np.exp(c), rtol=1e-6)
    short, _ = _head_loss(tf.contrib.estimator.poisson_regression_head(
        compute_full_loss=False, loss_reduction=Reduction.SUM), c, z)
    assert short == pytest.approx((np.exp(cc) - cc * zz).sum(), rel=1e-5)


def test_logistic_regression_head():
    labels = np.array([[0.0], [0.25], [1.0]], np.float32)
    logits = np.array([[0.3], [-1.0], [2.0]], np.float32)
    loss, preds = _head_loss(tf.contrib.estimator.logistic_regression_head(), logits, labels)
    ll, zz = logits.astype(np.float64), labels.astype(np.float64)
    want = np.maximum(ll, 0) - ll * zz + np.log1p(np.exp(-np.abs(ll)))
    assert loss == pytest.approx(want.mean(), rel=1e-5)
    np.testing.assert_allclose(preds["predictions"], 1 / (1 + np.exp(-logits)), rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Labels must be in range \[0, 1\]"):
        _head_loss(tf.contrib.estimator.logistic_regression_head(), logits,
                   np.array([[0.0], [1.5], [1.0]], np.float32))
