"""estcore.losses vs numpy references of TF1's formulas, every reduction, several weights."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.losses import Reduction

pytestmark = pytest.mark.smoke

RNG = np.random.default_rng(0)
B, C = 6, 4
REDUCTIONS = [Reduction.NONE, Reduction.SUM, Reduction.MEAN, Reduction.SUM_OVER_BATCH_SIZE,
              Reduction.SUM_BY_NONZERO_WEIGHTS]


def _run(fetch):
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        return sess.run(fetch)


def ref_reduce(losses, weights, reduction, python_weight=False):
    """TF1 compute_weighted_loss in float64."""
    losses = np.asarray(losses, np.float64)
    w = np.asarray(weights, np.float64)
    weighted = losses * w
    if reduction == Reduction.NONE:
        return weighted
    total = weighted.sum()
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        denom = (np.ones_like(losses) * w).sum()
    elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
        denom = losses.size
    else:
        if python_weight and w != 0:
            denom = losses.size
        else:
            denom = np.broadcast_to((w != 0).astype(np.float64), weighted.shape).sum()
    return total / denom if denom != 0 else 0.0


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _elementwise_cases():
    labels01 = RNG.integers(0, 2, size=(B, C)).astype(np.float64)
    probs = RNG.uniform(0.05, 0.95, size=(B, C))
    preds = RNG.normal(size=(B, C))
    labels = RNG.normal(size=(B, C))
    delta = 0.7
    e = np.abs(preds - labels)
    q = np.minimum(e, delta)
    eps = 1e-7
    return {
        "absolute_difference": (lambda lab, p, **kw: ec.losses.absolute_difference(lab, p, **kw),
                                labels, preds, np.abs(preds - labels)),
        "mean_squared_error": (lambda lab, p, **kw: ec.losses.mean_squared_error(lab, p, **kw),
                               labels, preds, (preds - labels) ** 2),
        "huber_loss": (lambda lab, p, **kw: ec.losses.huber_loss(lab, p, delta=delta, **kw),
                       labels, preds, 0.5 * q**2 + delta * (e - q)),
        "log_loss": (lambda lab, p, **kw: ec.losses.log_loss(lab, p, **kw), labels01, probs,
                     -labels01 * np.log(probs + eps) - (1 - labels01) * np.log(1 - probs + eps)),
        "hinge_loss": (lambda lab, p, **kw: ec.losses.hinge_loss(lab, p, **kw), labels01, preds,
                       np.maximum(0.0, 1.0 - (2 * labels01 - 1) * preds)),
        "sigmoid_cross_entropy": (
            lambda lab, p, **kw: ec.losses.sigmoid_cross_entropy(lab, p, **kw), labels01, preds,
            np.maximum(preds, 0) - preds * labels01 + np.log1p(np.exp(-np.abs(preds)))),
    }


ELEMENTWISE = _elementwise_cases()


def _weight_cases():
    w_full = RNG.uniform(0.5, 2.0, size=(B, C))
    w_full[0, 1] = 0.0
    w_full[3, :] = 0.0
    w_col = RNG.uniform(0.5, 2.0, size=(B, 1))
    w_col[2, 0] = 0.0
    w_row = np.array([[1.0, 0.0, 2.0, 0.5]])
    return {"py1": 1.0, "py2.5": 2.5, "py0": 0.0, "full": w_full, "col": w_col, "row": w_row,
            "zeros": np.zeros((B, C))}


WEIGHTS = _weight_cases()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wkey", sorted(WEIGHTS))
@pytest.mark.parametrize("loss_name", sorted(ELEMENTWISE))
def test_elementwise_losses(loss_name, wkey, reduction):
    fn, labels, preds, per_elem = ELEMENTWISE[loss_name]
    weights = WEIGHTS[wkey]
    with ec.Graph().as_default():
        loss = fn(labels, preds, weights=weights, reduction=reduction)
        assert loss.dtype == ec.float64
        got = _run(loss)
        assert ec.get_collection(ec.GraphKeys.LOSSES) == [loss]
    want = ref_reduce(per_elem, weights, reduction, python_weight=isinstance(weights, float))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _softmax_case():
    logits = RNG.normal(size=(B, C)) * 2
    ids = RNG.integers(0, C, size=B)
    onehot = np.eye(C)[ids]
    per_ex = -_log_softmax(logits)[np.arange(B), ids]
    return logits, ids, onehot, per_ex


SOFTMAX = _softmax_case()
EXAMPLE_WEIGHTS = {"py1": 1.0, "py0.5": 0.5, "vec": np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0]),
                   "zeros": np.zeros(B)}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wkey", sorted(EXAMPLE_WEIGHTS))
def test_sparse_and_dense_softmax_cross_entropy(wkey, reduction):
    logits, ids, onehot, per_ex = SOFTMAX
    weights = EXAMPLE_WEIGHTS[wkey]
    want = ref_reduce(per_ex, weights, reduction, python_weight=isinstance(weights, float))
    with ec.Graph().as_default():
        sparse = ec.losses.sparse_softmax_cross_entropy(ids, logits, weights=weights,
                                                        reduction=reduction)
        dense = ec.losses.softmax_cross_entropy(onehot, logits, weights=weights,
                                                reduction=reduction)
        got_sparse, got_dense = _run([sparse, dense])
    np.testing.assert_allclose(got_sparse, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_dense, want, rtol=1e-12, atol=1e-12)


def test_sparse_squeezes_column_labels_and_weights():
    logits, ids, _, per_ex = SOFTMAX
    w = EXAMPLE_WEIGHTS["vec"]
    with ec.Graph().as_default():
        loss = ec.losses.sparse_softmax_cross_entropy(ids.reshape(B, 1).astype(np.int32),
                                                      logits, weights=w.reshape(B, 1))
        got = _run(loss)
    np.testing.assert_allclose(got, ref_reduce(per_ex, w, Reduction.SUM_BY_NONZERO_WEIGHTS),
                               rtol=1e-12)


def test_sparse_float32_with_placeholders_uses_fused_op():
    logits, ids, _, per_ex = SOFTMAX
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, C])
        y = ec.placeholder(ec.int64, [None])
        loss = ec.losses.sparse_softmax_cross_entropy(y, x)
        assert loss.dtype == ec.float32
        with ec.Session() as sess:
            got = sess.run(loss, {x: logits.astype(np.float32), y: ids})
    np.testing.assert_allclose(got, per_ex.mean(), rtol=1e-5)


def test_label_smoothing():
    logits, ids, onehot, _ = SOFTMAX
    s = 0.2
    smooth = onehot * (1 - s) + s / C
    want = (-(smooth * _log_softmax(logits)).sum(axis=1)).mean()
    labels01 = (onehot > 0).astype(np.float64)
    z = labels01 * (1 - s) + 0.5 * s
    want_sig = (np.maximum(logits, 0) - logits * z + np.log1p(np.exp(-np.abs(logits)))).mean()
    with ec.Graph().as_default():
        a = ec.losses.softmax_cross_entropy(onehot, logits, label_smoothing=s)
        b = ec.losses.sigmoid_cross_entropy(labels01, logits, label_smoothing=s)
        got_a, got_b = _run([a, b])
    np.testing.assert_allclose(got_a, want, rtol=1e-12)
    np.testing.assert_allclose(got_b, want_sig, rtol=1e-12)


def test_loss_collection_none_and_get_total_loss():
    _, labels, preds, per_elem = ELEMENTWISE["mean_squared_error"]
    with ec.Graph().as_default():
        a = ec.losses.mean_squared_error(labels, preds)
        ec.losses.absolute_difference(labels, preds, loss_collection=None)
        assert ec.losses.get_losses() == [a]
        assert _run(ec.losses.get_regularization_loss()) == 0.0
        w = ec.get_variable("w", shape=[2], dtype=ec.float64,
                            initializer=ec.constant_initializer(3.0))
        ec.add_to_collection(ec.GraphKeys.REGULARIZATION_LOSSES, ec.reduce_sum(w))
        total = ec.losses.get_total_loss()
        no_reg = ec.losses.get_total_loss(add_regularization_losses=False)
        got, got_no_reg = _run([total, no_reg])
    np.testing.assert_allclose(got, per_elem.mean() + 6.0, rtol=1e-12)
    np.testing.assert_allclose(got_no_reg, per_elem.mean(), rtol=1e-12)


def test_get_total_loss_without_losses_raises():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="no losses"):
        ec.losses.get_total_loss()


def test_bad_reduction_names_argument():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="`reduction` must be one of"):
        ec.losses.mean_squared_error(np.zeros(3), np.zeros(3), reduction="avg")


def test_weights_not_broadcastable():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="can not be broadcast"):
        ec.losses.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 2)), weights=np.ones(2))


def test_shape_mismatch_and_none():
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match="compatible shapes"):
            ec.losses.absolute_difference(np.zeros((3, 2)), np.zeros((3, 3)))
        with pytest.raises(ValueError, match="`labels` must be"):
            ec.losses.absolute_difference(None, np.zeros(3))
        with pytest.raises(TypeError, match="`labels` must be an integer"):
            ec.losses.sparse_softmax_cross_entropy(np.zeros(3), np.zeros((3, 2)))
        with pytest.raises(ValueError, match="`label_smoothing`"):
            ec.losses.softmax_cross_entropy(np.zeros((3, 2)), np.zeros((3, 2)),
                                            label_smoothing=2)


def test_float32_losses_match_float64_reference():
    _, labels, preds, per_elem = ELEMENTWISE["huber_loss"]
    with ec.Graph().as_default():
        loss = ec.losses.huber_loss(labels.astype(np.float32), preds.astype(np.float32),
                                    delta=0.7, weights=WEIGHTS["full"].astype(np.float32))
        assert loss.dtype == ec.float32
        got = _run(loss)
    want = ref_reduce(per_elem, WEIGHTS["full"], Reduction.SUM_BY_NONZERO_WEIGHTS)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_gradient_flows_through_weighted_loss():
    """d(mean weighted MSE)/d(pred) = 2 (p - l) w / num_present."""
    _, labels, preds, _ = ELEMENTWISE["mean_squared_error"]
    w = WEIGHTS["full"]
    with ec.Graph().as_default():
        p = ec.constant(preds)
        loss = ec.losses.mean_squared_error(labels, p, weights=w)
        (g,) = ec.gradients(loss, [p])
        got = _run(g)
    want = 2 * (preds - labels) * w / (w != 0).sum()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
