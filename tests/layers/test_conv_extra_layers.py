"""Conv1D, Conv2DTranspose, SeparableConv2D, MaxPooling1D, AveragePooling1D: TF1 names,
shapes, values equal to TF 2.15's for the same weights (fixtures/tf_ops_fixtures.npz,
written by fixtures/make_tf_ops_fixtures.py), gradients, errors."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import estcore as ec
from estcore import layers

pytestmark = pytest.mark.smoke
FIX = np.load(pathlib.Path(__file__).with_name("fixtures") / "tf_ops_fixtures.npz")


def _build(a, b):
    return {
        "conv1d_same_relu": layers.conv1d(a, 4, 3, strides=2, padding="same",
                                          activation=ec.nn.relu),
        "conv1d_dilated": layers.conv1d(a, 4, 3, dilation_rate=2),
        "max_pooling1d": layers.max_pooling1d(a, 2, 2),
        "average_pooling1d_same": layers.average_pooling1d(a, 3, 2, padding="same"),
        "conv2d_transpose_same": layers.conv2d_transpose(b, 4, 3, strides=2, padding="same"),
        "conv2d_transpose_valid": layers.conv2d_transpose(b, 2, (2, 3), strides=(1, 2)),
        "separable_conv2d": layers.separable_conv2d(b, 5, 3, depth_multiplier=2,
                                                    padding="same", activation="tanh"),
    }


def test_outputs_and_variable_names_match_tf():
    a = ec.placeholder(ec.float32, [None, 9, 3])
    b = ec.placeholder(ec.float32, [None, 5, 6, 3])
    outs = _build(a, b)
    names = {v.op.name for v in ec.global_variables()}
    assert names == {k[4:] for k in FIX.files if k.startswith("var:")}
    with ec.Session() as sess:
        sess.set_variable_values({n: FIX["var:" + n] for n in names})
        got = sess.run(outs, {a: FIX["x1"], b: FIX["x2"]})
    for k, v in got.items():
        np.testing.assert_allclose(v, FIX["out:" + k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_class_forms_channels_first_and_reuse():
    a = ec.placeholder(ec.float32, [None, 3, 9])   # channels first
    layer = layers.Conv1D(4, 3, data_format="channels_first", name="c")
    y = layer(a)
    assert y.shape.as_list() == [None, 4, 7]
    assert layer.kernel.shape.as_list() == [3, 3, 4]
    b = ec.placeholder(ec.float32, [None, 3, 5, 6])
    t = layers.Conv2DTranspose(2, 3, strides=2, padding="same", data_format="channels_first")(b)
    s = layers.SeparableConv2D(2, 3, data_format="channels_first")(b)
    p = layers.MaxPooling1D(2, 2, data_format="channels_first")(a)
    assert t.shape.as_list() == [None, 2, 10, 12]
    assert s.shape.as_list() == [None, 2, 3, 4]
    assert p.shape.as_list() == [None, 3, 4]
    with ec.variable_scope("shared"):
        layers.conv1d(ec.placeholder(ec.float32, [None, 9, 3]), 2, 3, name="k")
    with ec.variable_scope("shared", reuse=True):
        layers.conv1d(ec.placeholder(ec.float32, [None, 9, 3]), 2, 3, name="k")
    assert len([v for v in ec.global_variables() if v.op.name.startswith("shared/")]) == 2
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        xv = np.random.default_rng(0).normal(size=(2, 3, 9)).astype(np.float32)
        yv, kv, bv = sess.run([y, layer.kernel, layer.bias], {a: xv})
    ref = np.zeros((2, 7, 4), np.float32)
    xl = xv.transpose(0, 2, 1)
    for i in range(7):
        ref[:, i] = np.einsum("nkc,kcf->nf", xl[:, i:i + 3], kv) + bv
    np.testing.assert_allclose(yv, ref.transpose(0, 2, 1), rtol=1e-5, atol=1e-5)


def test_layers_train():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 8, 2)).astype(np.float32)
    target = x[:, ::2, :1] * 2.0 - x[:, 1::2, 1:]
    xp = ec.placeholder(ec.float32, [None, 8, 2])
    h = layers.conv1d(xp, 1, 2, strides=2)
    up = layers.conv2d_transpose(ec.expand_dims(h, 1), 1, (1, 2), strides=(1, 2))
    loss = ec.reduce_mean(ec.square(h - target)) + 0.0 * ec.reduce_sum(up)
    step = ec.train.AdamOptimizer(0.05).minimize(loss)
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        first = sess.run(loss, {xp: x})
        for _ in range(200):
            sess.run(step, {xp: x})
        assert sess.run(loss, {xp: x}) < first * 0.01


def test_bad_arguments_name_them():
    a = ec.placeholder(ec.float32, [None, 9, 3])
    with pytest.raises(ValueError, match="rank 3"):
        layers.conv1d(ec.placeholder(ec.float32, [None, 9]), 2, 3)
    with pytest.raises(TypeError, match="kernel_size"):
        layers.Conv1D(2, (3, 3))
    with pytest.raises(ValueError, match="rank 4"):
        layers.conv2d_transpose(a, 2, 3)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="rank 3"):
        layers.max_pooling1d(ec.placeholder(ec.float32, [None, 4, 4, 1]), 2, 2)
