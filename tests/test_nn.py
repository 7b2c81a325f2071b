"""``estcore.nn.moments`` / ``batch_normalization``: TF 1.15's name scopes and output names
(``bn1/moments/Squeeze``: the key an ``ExponentialMovingAverage`` of the moments has in a TF
checkpoint), float16 computed in float32. Names from TF 2.15."""

from __future__ import annotations

import numpy as np

import estcore as ec


def test_moments_names_like_tf():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 4], name="x")
        im = ec.placeholder(ec.float32, [None, 3, 3, 2], name="im")
        with ec.variable_scope("bn1"):
            pairs = [ec.nn.moments(x, [0], name="moments"), ec.nn.moments(x, [0]),
                     ec.nn.moments(x, [0], keep_dims=True), ec.nn.moments(im, [0, 1, 2]),
                     ec.nn.moments(x, [0], shift=1.0)]
            y = ec.nn.batch_normalization(x, pairs[0][0], pairs[0][1], None, None, 1e-3)
            y_named = ec.nn.batch_normalization(x, pairs[0][0], pairs[0][1], 0.0, 1.0, 1e-3,
                                                name="bn")
        with ec.name_scope("ns"):
            ns = ec.nn.moments(x, [0])
    assert [(m.name, v.name) for m, v in pairs] == [
        ("bn1/moments/Squeeze:0", "bn1/moments/Squeeze_1:0"),
        ("bn1/moments_1/Squeeze:0", "bn1/moments_1/Squeeze_1:0"),
        ("bn1/moments_2/mean:0", "bn1/moments_2/variance:0"),
        ("bn1/moments_3/Squeeze:0", "bn1/moments_3/Squeeze_1:0"),
        ("bn1/moments_4/Squeeze:0", "bn1/moments_4/Squeeze_1:0")]
    assert (ns[0].name, ns[1].name) == ("ns/moments/Squeeze:0", "ns/moments/Squeeze_1:0")
    assert y.op.name.startswith("bn1/batchnorm/")
    assert y_named.op.name.startswith("bn1/bn/")


def test_moments_values_and_float16():
    xv = np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 1.0]])
    for dtype in (np.float16, np.float32, np.float64):
        with ec.Graph().as_default():
            mean, var = ec.nn.moments(ec.constant(xv.astype(dtype)), [0])
            assert mean.dtype.np == dtype and var.dtype.np == dtype
            with ec.Session() as sess:
                m, v = sess.run([mean, var])
        np.testing.assert_allclose(m, xv.mean(0), rtol=1e-3)
        np.testing.assert_allclose(v, xv.var(0), rtol=1e-3)
