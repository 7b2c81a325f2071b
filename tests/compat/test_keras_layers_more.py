"""tf.keras.layers ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, GaussianNoise:
numpy references, Keras's argument forms, training switch, errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

K = tf.keras.layers
RNG = np.random.default_rng(8)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def test_padding_and_cropping():
    x = RNG.normal(size=(2, 4, 5, 3)).astype(np.float32)
    got = _run(K.ZeroPadding2D(((1, 2), (0, 3)))(x))
    np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (1, 2), (0, 3), (0, 0)]))
    np.testing.assert_array_equal(_run(K.ZeroPadding2D(2)(x)),
                                  np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)]))
    np.testing.assert_array_equal(_run(K.ZeroPadding2D((1, 0))(x)),
                                  np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0)]))
    np.testing.assert_array_equal(_run(K.Cropping2D(((1, 0), (2, 1)))(x)), x[:, 1:, 2:-1, :])
    s = x[:, :, :, 0]
    np.testing.assert_array_equal(_run(K.ZeroPadding1D((0, 2))(s)),
                                  np.pad(s, [(0, 0), (0, 2), (0, 0)]))
    np.testing.assert_array_equal(_run(K.Cropping1D((1, 2))(s)), s[:, 1:-2, :])
    with pytest.raises(ValueError, match="channels_last"):
        K.ZeroPadding2D(1, data_format="channels_first")


def test_upsampling_nearest_and_gradient():
    x = RNG.normal(size=(2, 3, 2, 4)).astype(np.float32)
    got = _run(K.UpSampling2D((2, 3))(x))
    np.testing.assert_array_equal(got, x.repeat(2, axis=1).repeat(3, axis=2))
    s = x[:, :, 0, :]
    np.testing.assert_array_equal(_run(K.UpSampling1D(3)(s)), s.repeat(3, axis=1))
    p = tf.placeholder(tf.float32, [None, 3, 2, 4])
    (g,) = tf.gradients(tf.reduce_sum(K.UpSampling2D()(p)), [p])
    assert (_run(g, {p: x}) == 4.0).all()
    with pytest.raises(ValueError, match="nearest"):
        K.UpSampling2D(interpolation="bilinear")


def test_gaussian_noise_only_when_training():
    x = np.zeros((200, 50), np.float32)
    layer = K.GaussianNoise(0.5)
    assert (_run(layer(x)) == 0).all()                  # training=None: inference
    noisy = _run(K.GaussianNoise(0.5)(x, training=True))
    assert abs(noisy.std() - 0.5) < 0.02 and abs(noisy.mean()) < 0.02
    flag = tf.placeholder(tf.bool, [])
    y = K.GaussianNoise(0.5)(x, training=flag)
    assert (_run(y, {flag: False}) == 0).all() and _run(y, {flag: True}).std() > 0.4
