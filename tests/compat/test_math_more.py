"""truncatediv / truncatemod, unravel_index, invert_permutation, unique_with_counts,
searchsorted, histogram_fixed_width, lbeta, xdivy, polyval and the tf.nn moment helpers:
numpy references written here, TF's edge rules, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError

RNG = np.random.default_rng(4)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def test_truncated_division():
    x = np.array([7, -7, 7, -7, 6, -6, 0], np.int32)
    y = np.array([5, 5, -5, -5, -3, 4, -2], np.int32)
    want_q = [int(a / b) for a, b in zip(x, y, strict=True)]        # toward zero
    q, r = _run([tf.truncatediv(x, y), tf.math.truncatemod(x, y)])
    assert q.tolist() == want_q
    assert r.tolist() == [int(math.fmod(a, b)) for a, b in zip(x, y, strict=True)]
    with pytest.raises(TypeError, match="integer"):
        tf.truncatediv([1.5], [2.0])


def test_unravel_index_and_invert_permutation():
    got = _run(tf.unravel_index([1, 5, 11], [3, 4]))
    assert got.tolist() == [list(v) for v in np.unravel_index([1, 5, 11], (3, 4))]
    assert _run(tf.unravel_index(5, tf.constant([3, 4]))).tolist() == [1, 1]
    with pytest.raises(InvalidArgumentError, match="out of bound"):
        _run(tf.unravel_index([12], [3, 4]))
    perm = RNG.permutation(6).astype(np.int32)
    inv = _run(tf.invert_permutation(perm))
    assert (inv[perm] == np.arange(6)).all() and inv.dtype == np.int32
    with pytest.raises(InvalidArgumentError, match="not a valid permutation"):
        _run(tf.invert_permutation([0, 0, 2]))


def test_unique_with_counts_searchsorted_histogram():
    y, idx, count = _run(tf.unique_with_counts([4, 1, 4, 2, 1, 4]))
    assert y.tolist() == [4, 1, 2] and idx.tolist() == [0, 1, 0, 2, 1, 0]
    assert count.tolist() == [3, 2, 1]
    seq = np.array([[0.0, 3, 9, 9, 10], [1, 2, 3, 4, 5]])
    vals = np.array([[2.0, 4, 9], [0, 2, 6]])
    for side in ("left", "right"):
        want = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seq, vals,
                                                                            strict=True)])
        got = _run(tf.searchsorted(seq, vals, side=side, out_type=tf.int64))
        assert got.tolist() == want.tolist() and got.dtype == np.int64
    hist = _run(tf.histogram_fixed_width([-1.0, 0.0, 1.5, 2.0, 4.99, 5.0, 15.0], [0.0, 5.0],
                                         nbins=5))
    assert hist.tolist() == [2, 1, 1, 0, 3]      # out-of-range values go to the end bins
    with pytest.raises(ValueError, match="nbins"):
        tf.histogram_fixed_width([1.0], [0.0, 1.0], nbins=0)


def test_lbeta_xdivy_polyval_with_gradients():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 2.5]])
    want = [math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b) for a, b in x]
    np.testing.assert_allclose(_run(tf.lbeta(x)), want, rtol=1e-12)
    a, b = tf.placeholder(tf.float64, [3]), tf.placeholder(tf.float64, [3])
    q = tf.math.xdivy(a, b)
    ga, gb = tf.gradients(tf.reduce_sum(q), [a, b])
    qv, gav, gbv = _run([q, ga, gb], {a: [0.0, 1.0, 0.0], b: [0.0, 2.0, 3.0]})
    assert qv.tolist() == [0.0, 0.5, 0.0]
    assert np.isfinite(gav).all() and np.isfinite(gbv).all()
    assert gav[1] == 0.5 and gbv[1] == -0.25
    xv = tf.placeholder(tf.float64, [])
    p = tf.math.polyval([1.0, -2.0, 3.0], xv)
    (gp,) = tf.gradients(p, [xv])
    assert _run([p, gp], {xv: 2.0}) == [3.0, 2.0]   # x^2 - 2x + 3, 2x - 2
    assert _run(tf.math.polyval([], tf.constant([1.0, 2.0]))).tolist() == [0.0, 0.0]


def test_nn_log_poisson_loss_and_moments():
    z = np.array([0.0, 0.5, 1.0, 2.0, 7.0])
    c = RNG.normal(size=5)
    base = np.exp(c) - c * z
    stirling = np.where(z > 1, z * np.log(np.maximum(z, 1)) - z
                        + 0.5 * np.log(2 * np.pi * np.maximum(z, 1)), 0.0)
    np.testing.assert_allclose(_run(tf.nn.log_poisson_loss(z, c)), base, rtol=1e-12)
    np.testing.assert_allclose(_run(tf.nn.log_poisson_loss(z, c, compute_full_loss=True)),
                               base + stirling, rtol=1e-12)
    x = RNG.normal(size=(4, 3))
    count, m_ss, v_ss, shift = tf.nn.sufficient_statistics(tf.constant(x), [0], shift=0.5)
    mean, var = tf.nn.normalize_moments(count, m_ss, v_ss, shift)
    cv, mv, vv = _run([count, mean, var])
    assert cv == 4.0
    np.testing.assert_allclose(mv, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(vv, x.var(0), rtol=1e-10)
    w = RNG.uniform(0.5, 2.0, size=(4, 1))
    wm, wv = _run(tf.nn.weighted_moments(tf.constant(x), [0], w))
    ref_m = (w * x).sum(0) / w.sum()
    np.testing.assert_allclose(wm, ref_m, rtol=1e-12)
    np.testing.assert_allclose(wv, (w * (x - ref_m) ** 2).sum(0) / w.sum(), rtol=1e-12)
    km, _ = tf.nn.weighted_moments(tf.constant(x), [0], w, keep_dims=True)
    assert km.shape.as_list() == [1, 3]


def test_atrous_conv2d_and_assert_global_step():
    x = RNG.normal(size=(1, 6, 6, 2))
    w = RNG.normal(size=(2, 2, 2, 3))
    y = _run(tf.nn.atrous_conv2d(x, w, 2, "VALID"))
    ref = sum(np.tensordot(x[:, 2 * i:2 * i + 4, 2 * j:2 * j + 4, :], w[i, j], [[3], [0]])
              for i in range(2) for j in range(2))
    np.testing.assert_allclose(y, ref, rtol=1e-10)
    with pytest.raises(ValueError, match="cannot be less than one"):
        tf.nn.atrous_conv2d(x, w, 0, "SAME")
    with tf.Graph().as_default():
        tf.train.assert_global_step(tf.train.get_or_create_global_step())
        tf.train.assert_global_step(tf.placeholder(tf.int64, None))   # shape not known
        with pytest.raises(TypeError, match="not scalar"):
            tf.train.assert_global_step(tf.constant([1, 2]))
        with pytest.raises(TypeError, match="integer type"):
            tf.train.assert_global_step(tf.constant(1.0))
        with pytest.raises(TypeError, match="Variable or Tensor"):
            tf.train.assert_global_step(3)


def test_moment_helpers_names_and_zero_weights_like_tf():
    """TF 2.15's op names (a ``tf.train.ExponentialMovingAverage`` of these tensors, and so
    a checkpoint, is keyed by them) and ``weighted_moments``' 0 (``div_no_nan``) where the
    weights sum to 0."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        w = tf.placeholder(tf.float32, [None, 1], name="w")
        with tf.variable_scope("bn1"):
            ss = tf.nn.sufficient_statistics(x, [0])
            assert [t.name for t in ss[:3]] == ["bn1/sufficient_statistics/count:0",
                                                "bn1/sufficient_statistics/mean_ss:0",
                                                "bn1/sufficient_statistics/var_ss:0"]
            nm = tf.nn.normalize_moments(ss[0], ss[1], ss[2], None)
            assert [t.name for t in nm] == ["bn1/normalize/mean:0", "bn1/normalize/variance:0"]
            wm = tf.nn.weighted_moments(x, [0], w)
            assert [t.name for t in wm] == ["bn1/weighted_moments/Squeeze:0",
                                            "bn1/weighted_moments/Squeeze_1:0"]
            wk = tf.nn.weighted_moments(x, [0], w, name="wmom", keep_dims=True)
            assert [t.name for t in wk] == ["bn1/wmom/div_no_nan:0", "bn1/wmom/div_no_nan_1:0"]
    xv = tf.constant([[1.0, 2.0], [3.0, 5.0]])
    zero = _run(tf.nn.weighted_moments(xv, [0], tf.constant([[0.0], [0.0]])))
    np.testing.assert_array_equal(zero, [[0.0, 0.0], [0.0, 0.0]])
    rows = _run(tf.nn.weighted_moments(xv, [1], tf.constant([[0.0, 0.0], [1.0, 2.0]])))
    np.testing.assert_allclose(rows, [[0.0, 13 / 3], [0.0, 8 / 9]], rtol=1e-6)
