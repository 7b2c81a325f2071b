"""tf.image rgb_to_hsv / hsv_to_rgb, adjust / random saturation and hue: against Python's
colorsys (the same HSV), integer images, gradients, TF's argument errors."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

import estcore.compat.v1 as tf

RNG = np.random.default_rng(6)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _image():
    x = RNG.uniform(size=(3, 4, 3))
    x[0, 0], x[0, 1], x[0, 2] = 0.4, 0.0, [0.2, 0.9, 0.9]   # grey, black, a tie for max
    return x


def _hsv(x):
    return np.array([colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3)]).reshape(x.shape)


def test_hsv_round_trip_matches_colorsys():
    x = _image()
    hsv, back = _run([tf.image.rgb_to_hsv(x), tf.image.hsv_to_rgb(tf.image.rgb_to_hsv(x))])
    np.testing.assert_allclose(hsv, _hsv(x), atol=1e-12)
    np.testing.assert_allclose(back, x, atol=1e-12)


def test_adjust_saturation_and_hue():
    x = _image()
    ref = _hsv(x).reshape(-1, 3)
    sat, hue = _run([tf.image.adjust_saturation(x, 1.7), tf.image.adjust_hue(x, -0.3)])
    want_s = [colorsys.hsv_to_rgb(h, min(s * 1.7, 1.0), v) for h, s, v in ref]
    want_h = [colorsys.hsv_to_rgb((h - 0.3) % 1.0, s, v) for h, s, v in ref]
    np.testing.assert_allclose(sat, np.reshape(want_s, x.shape), atol=1e-12)
    np.testing.assert_allclose(hue, np.reshape(want_h, x.shape), atol=1e-12)
    u8 = (x * 255).astype(np.uint8)
    out = _run(tf.image.adjust_hue(u8, 0.0))
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - u8).max() <= 1


def test_random_versions_and_gradient():
    x = _image().astype(np.float32)
    y = _run(tf.image.random_hue(x, 0.2, seed=1))
    assert y.shape == x.shape and not np.allclose(y, x)
    grey = np.full((2, 2, 3), 0.5, np.float32)
    np.testing.assert_allclose(_run(tf.image.random_saturation(grey, 0.5, 1.5, seed=2)), grey)
    p = tf.placeholder(tf.float32, [3, 4, 3])
    (g,) = tf.gradients(tf.reduce_sum(tf.image.adjust_saturation(p, 0.5)), [p])
    assert np.isfinite(_run(g, {p: x})).all()
    with pytest.raises(ValueError, match="max_delta must be <= 0.5"):
        tf.image.random_hue(x, 0.6)
    with pytest.raises(ValueError, match="upper must be > lower"):
        tf.image.random_saturation(x, 1.0, 0.5)
    with pytest.raises(ValueError, match="last dimension must be 3"):
        tf.image.rgb_to_hsv(np.zeros((2, 2, 4)))
