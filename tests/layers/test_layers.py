"""estcore.layers: shapes, TF1 variable names, reuse, dtypes, numerics vs numpy."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

RNG = np.random.default_rng(2)


def _names(collection=None):
    vs = ec.global_variables() if collection is None else ec.get_collection(collection)
    return sorted(v.op.name for v in vs)


def _run(fetches, feed=None):
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        return sess.run(fetches, feed)


def test_dense_names_shapes_and_values():
    x_val = RNG.normal(size=(5, 3)).astype(np.float32)
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 3])
        h = ec.layers.dense(x, 4, activation=ec.nn.relu)
        y = ec.layers.dense(h, 2)
        z = ec.layers.dense(y, 1, use_bias=False, name="logits")
        assert h.shape.as_list() == [None, 4] and y.shape.as_list() == [None, 2]
        assert z.dtype == ec.float32
        assert _names() == ["dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel",
                            "logits/kernel"]
        assert _names(ec.GraphKeys.TRAINABLE_VARIABLES) == _names()
        vals = _run({"h": h, "vars": {v.op.name: v for v in ec.global_variables()}}, {x: x_val})
    k, b = vals["vars"]["dense/kernel"], vals["vars"]["dense/bias"]
    assert k.shape == (3, 4) and np.all(b == 0)
    limit = np.sqrt(6 / (3 + 4))  # glorot uniform
    assert np.all(np.abs(k) <= limit)
    np.testing.assert_allclose(vals["h"], np.maximum(x_val @ k + b, 0), rtol=1e-5, atol=1e-6)


def test_dense_takes_float64_and_casts_integers():
    with ec.Graph().as_default():
        y64 = ec.layers.dense(ec.constant(np.ones((2, 3))), 2)
        assert y64.dtype == ec.float64
        assert ec.global_variables()[0].dtype == ec.float64
        yint = ec.layers.dense(ec.constant(np.ones((2, 3), np.int32)), 2)
        assert yint.dtype == ec.float32


def test_dense_rank3_inputs():
    x_val = RNG.normal(size=(2, 5, 3))
    with ec.Graph().as_default():
        layer = ec.layers.Dense(4)
        y = layer(ec.constant(x_val))
        assert y.shape.as_list() == [2, 5, 4]
        got, k = _run([y, layer.kernel])
    np.testing.assert_allclose(got, x_val @ k, rtol=1e-12)


def test_layer_object_reuses_variables_and_functional_reuse():
    with ec.Graph().as_default():
        layer = ec.layers.Dense(3, name="shared")
        a = layer(ec.placeholder(ec.float32, [None, 2]))
        b = layer(ec.placeholder(ec.float32, [None, 2]))
        assert a is not b
        assert _names() == ["shared/bias", "shared/kernel"]
        assert layer.variables == [layer.kernel, layer.bias]
        assert layer.trainable_variables == [layer.kernel, layer.bias]
        assert layer.name == "shared"
        x = ec.placeholder(ec.float32, [None, 2])
        ec.layers.dense(x, 3, name="f")
        ec.layers.dense(x, 3, name="f", reuse=True)
        assert _names() == ["f/bias", "f/kernel", "shared/bias", "shared/kernel"]
        ec.layers.dense(x, 3, name="f")  # no reuse: a fresh scope f_1, as TF1
        assert "f_1/kernel" in _names()


def test_dense_regularizer_and_non_trainable():
    with ec.Graph().as_default():
        x = ec.constant(np.ones((2, 3), np.float32))
        layer = ec.layers.Dense(2, kernel_regularizer=lambda w: ec.reduce_sum(ec.square(w)),
                                trainable=False)
        layer(x)
        assert layer.trainable_variables == []
        assert ec.trainable_variables() == []
        (reg,) = ec.get_collection(ec.GraphKeys.REGULARIZATION_LOSSES)
        got_reg, k = _run([reg, layer.kernel])
    np.testing.assert_allclose(got_reg, (k**2).sum(), rtol=1e-5)


@pytest.mark.parametrize("bad,match", [
    (dict(units=0), "`units` must be a positive int"),
    (dict(units=2.5), "`units` must be a positive int"),
    (dict(units=2, activation="swishy"), "`activation` must be"),
    (dict(units=2, use_bias=1), "`use_bias` must be a bool"),
])
def test_dense_argument_errors(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ec.layers.Dense(**bad)


def _np_conv_same(x, k, stride=1):
    n, h, w, c = x.shape
    kh, kw, _, f = k.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - w, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_conv2d_pooling_flatten_shapes_names_values():
    x_val = RNG.normal(size=(2, 7, 7, 3))
    with ec.Graph().as_default():
        x = ec.constant(x_val)
        c = ec.layers.conv2d(x, 4, 3, padding="same", activation=ec.nn.relu)
        c2 = ec.layers.conv2d(c, 5, (2, 2), strides=2)
        p = ec.layers.max_pooling2d(c, 2, 2)
        a = ec.layers.average_pooling2d(c, 2, 2, padding="same")
        f = ec.layers.flatten(p)
        assert c.shape.as_list() == [2, 7, 7, 4]
        assert c2.shape.as_list() == [2, 3, 3, 5]
        assert p.shape.as_list() == [2, 3, 3, 4]
        assert a.shape.as_list() == [2, 4, 4, 4]
        assert f.shape.as_list() == [2, 36]
        assert _names() == ["conv2d/bias", "conv2d/kernel", "conv2d_1/bias", "conv2d_1/kernel"]
        got_c, got_p, got_f, kern = _run([c, p, f, ec.global_variables()[0]
                                          if ec.global_variables()[0].op.name == "conv2d/kernel"
                                          else ec.global_variables()[1]])
    assert kern.shape == (3, 3, 3, 4)
    want_c = np.maximum(_np_conv_same(x_val, kern), 0)
    np.testing.assert_allclose(got_c, want_c, rtol=1e-10, atol=1e-12)
    want_p = want_c[:, :6, :6, :].reshape(2, 3, 2, 3, 2, 4).max(axis=(2, 4))
    np.testing.assert_allclose(got_p, want_p, rtol=1e-12)
    np.testing.assert_allclose(got_f, want_p.reshape(2, -1), rtol=1e-12)


def test_conv2d_channels_first_matches_channels_last():
    x_val = RNG.normal(size=(2, 6, 6, 3))
    with ec.Graph().as_default():
        last = ec.layers.Conv2D(4, 3, padding="same")
        y_last = last(ec.constant(x_val))
        first = ec.layers.Conv2D(4, 3, padding="same", data_format="channels_first")
        y_first = first(ec.constant(x_val.transpose(0, 3, 1, 2)))
        assert y_first.shape.as_list() == [2, 4, 6, 6]
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            k = sess.run(last.kernel)
            sess.run(ec.assign(first.kernel, k))
            a, b = sess.run([y_last, y_first])
    np.testing.assert_allclose(b.transpose(0, 2, 3, 1), a, rtol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(filters=0, kernel_size=3), "`filters` must be a positive int"),
    (dict(filters=2, kernel_size=(3, 3, 3)), "`kernel_size` must be"),
    (dict(filters=2, kernel_size=3, strides=0), "`strides` must be"),
    (dict(filters=2, kernel_size=3, padding="full"), "`padding` must be 'valid' or 'same'"),
    (dict(filters=2, kernel_size=3, data_format="NHWC"), "`data_format` must be"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "`dilation_rate`"),
])
def test_conv2d_argument_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ec.layers.Conv2D(**kwargs)


def test_conv2d_needs_rank4():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="rank 4"):
        ec.layers.conv2d(ec.placeholder(ec.float32, [None, 5, 3]), 2, 3)


def test_dropout_training_and_inference():
    x_val = np.ones((200, 50), np.float32)
    with ec.Graph().as_default():
        ec.set_random_seed(3)
        x = ec.constant(x_val)
        off = ec.layers.dropout(x, rate=0.4)
        on = ec.layers.dropout(x, rate=0.4, training=True)
        flag = ec.placeholder(ec.bool, [])
        cond = ec.layers.Dropout(0.4)(x, training=flag)
        with ec.Session() as sess:
            got_off, got_on = sess.run([off, on])
            got_on2 = sess.run(on)
            got_cf = sess.run(cond, {flag: False})
            got_ct = sess.run(cond, {flag: True})
    np.testing.assert_array_equal(got_off, x_val)
    np.testing.assert_array_equal(got_cf, x_val)
    for got in (got_on, got_ct):
        assert set(np.unique(got)) <= {0.0, np.float32(1 / 0.6)}
        assert abs((got == 0).mean() - 0.4) < 0.03
    assert not np.array_equal(got_on, got_on2)  # a fresh mask every run
    with pytest.raises(ValueError, match="`rate` must be a number in"):
        ec.layers.Dropout(1.0)


def test_batch_normalization_training_inference_and_updates():
    x_val = RNG.normal(loc=3.0, scale=2.0, size=(8, 3))
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float64, [None, 3])
        layer = ec.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
        y_train = layer(x, training=True)
        y_infer = layer(x, training=False)
        assert _names() == ["batch_normalization/beta", "batch_normalization/gamma",
                            "batch_normalization/moving_mean",
                            "batch_normalization/moving_variance"]
        assert sorted(v.op.name for v in ec.trainable_variables()) == [
            "batch_normalization/beta", "batch_normalization/gamma"]
        updates = ec.get_collection(ec.GraphKeys.UPDATE_OPS)
        assert len(updates) == 2 and layer.updates == updates
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            yt = sess.run(y_train, {x: x_val})
            mm0 = sess.run(layer.moving_mean)
            sess.run(updates, {x: x_val})
            mm, mv = sess.run([layer.moving_mean, layer.moving_variance])
            yi = sess.run(y_infer, {x: x_val})
    mean, var = x_val.mean(0), x_val.var(0)
    np.testing.assert_allclose(yt, (x_val - mean) / np.sqrt(var + 1e-3), rtol=1e-10)
    np.testing.assert_array_equal(mm0, np.zeros(3))  # running y alone does not update
    np.testing.assert_allclose(mm, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * var, rtol=1e-12)  # rank 2: biased variance
    np.testing.assert_allclose(yi, (x_val - mm) / np.sqrt(mv + 1e-3), rtol=1e-10)


def test_batch_normalization_4d_float32_fused_bessel_and_training_tensor():
    x_val = RNG.normal(size=(4, 3, 3, 2)).astype(np.float32)
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 3, 3, 2])
        flag = ec.placeholder(ec.bool, [])
        y = ec.layers.batch_normalization(x, training=flag, momentum=0.5)
        layer_vars = {v.op.name.split("/")[-1]: v for v in ec.global_variables()}
        train_op = ec.train.GradientDescentOptimizer(0.0).minimize(ec.reduce_sum(y))
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            sess.run(train_op, {x: x_val, flag: False})
            mm_off = sess.run(layer_vars["moving_mean"])
            sess.run(train_op, {x: x_val, flag: True})
            mm, mv = sess.run([layer_vars["moving_mean"], layer_vars["moving_variance"]])
    np.testing.assert_array_equal(mm_off, np.zeros(2))  # training=False: no change
    n = 4 * 3 * 3
    mean = x_val.mean(axis=(0, 1, 2), dtype=np.float64)
    var = x_val.var(axis=(0, 1, 2), dtype=np.float64) * n / (n - 1)
    np.testing.assert_allclose(mm, 0.5 * mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mv, 0.5 + 0.5 * var, rtol=1e-4)


def test_batch_normalization_argument_errors():
    with pytest.raises(ValueError, match="`momentum` must be a number in"):
        ec.layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="`epsilon` must be a number > 0"):
        ec.layers.BatchNormalization(epsilon=0)
    with ec.Graph().as_default(), pytest.raises(ValueError, match="`axis` must be"):
        ec.layers.batch_normalization(ec.placeholder(ec.float32, [None, 3]), axis=4)


def test_keras_class_names_are_unique_per_graph():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 4, 4, 1])
        layers = [ec.layers.Conv2D(2, 2), ec.layers.Conv2D(2, 2)]
        for layer in layers:
            layer(x)
        assert [layer.name for layer in layers] == ["conv2d", "conv2d_1"]
        assert layers[1].kernel.op.name == "conv2d_1/kernel"


def test_batch_normalization_gradient_matches_finite_differences():
    x_val = RNG.normal(size=(5, 3))
    r = RNG.normal(size=(5, 3))
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float64, [None, 3])
        y = ec.layers.batch_normalization(x, training=True, epsilon=1e-2,
                                          gamma_initializer=ec.constant_initializer(1.5))
        obj = ec.reduce_sum(y * r)
        (gx,) = ec.gradients(obj, [x])
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            got = sess.run(gx, {x: x_val})
            num = np.zeros_like(x_val)
            h = 1e-6
            for idx in np.ndindex(x_val.shape):
                xp, xm = x_val.copy(), x_val.copy()
                xp[idx] += h
                xm[idx] -= h
                num[idx] = (sess.run(obj, {x: xp}) - sess.run(obj, {x: xm})) / (2 * h)
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-7)


def test_batch_normalization_channels_first_4d():
    x_val = RNG.normal(size=(3, 2, 4, 4))
    with ec.Graph().as_default():
        layer = ec.layers.BatchNormalization(axis=1)
        y = layer(ec.constant(x_val), training=True)
        assert layer.gamma.shape.as_list() == [2]
        got = _run(y)
    mean = x_val.mean(axis=(0, 2, 3), keepdims=True)
    var = x_val.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(got, (x_val - mean) / np.sqrt(var + 1e-3), rtol=1e-10)


def test_reuse_of_missing_layer_variables_raises():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="does not exist"):
        ec.layers.dense(ec.placeholder(ec.float32, [None, 2]), 3, name="nope", reuse=True)


def test_conv2d_float64_and_pooling_channels_first():
    x_val = RNG.normal(size=(1, 2, 4, 4))
    with ec.Graph().as_default():
        y = ec.layers.conv2d(ec.constant(x_val), 3, 2, data_format="channels_first")
        assert y.dtype == ec.float64 and y.shape.as_list() == [1, 3, 3, 3]
        p = ec.layers.max_pooling2d(ec.constant(x_val), 2, 2, data_format="channels_first")
        got = _run(p)
    np.testing.assert_array_equal(got, x_val.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)))


def test_dropout_noise_shape_shares_mask_across_rows():
    with ec.Graph().as_default():
        y = ec.layers.dropout(ec.constant(np.ones((50, 40), np.float32)), rate=0.5,
                              noise_shape=[1, 40], training=True, seed=1)
        got = _run(y)
    assert (got == got[0]).all()
    assert 0 < (got[0] == 0).sum() < 40


def test_dense_and_conv_layers_build_the_fused_nodes():
    """One fused node per layer (bias and activation included) so the C kernels apply."""
    with ec.Graph().as_default() as g:
        x = ec.placeholder(ec.float32, [None, 8, 8, 1])
        c = ec.layers.conv2d(x, 2, 3, activation=ec.nn.relu)
        ec.layers.dense(ec.layers.flatten(c), 3, activation="relu")
        types = [o.type for o in g.get_operations()]
    assert types.count("FusedConv2D") == 1 and types.count("Dense") == 1
    assert not {"MatMul", "BiasAdd", "Relu", "Conv2D"} & set(types)


def test_dense_and_conv_take_any_callable_activation():
    x_val = RNG.normal(size=(2, 4, 4, 1)).astype(np.float32)
    with ec.Graph().as_default():
        x = ec.constant(x_val)
        c = ec.layers.conv2d(x, 2, 3, activation=lambda t: t * 2.0, name="c")
        d = ec.layers.dense(ec.layers.flatten(c), 3, activation=lambda t: t - 1.0, name="d")
        plain_c = ec.layers.conv2d(x, 2, 3, name="c", reuse=True)
        plain_d = ec.layers.dense(ec.layers.flatten(c), 3, name="d", reuse=True)
        got = _run({"c": c, "d": d, "pc": plain_c, "pd": plain_d})
    np.testing.assert_allclose(got["c"], 2.0 * got["pc"], rtol=1e-6)
    np.testing.assert_allclose(got["d"], got["pd"] - 1.0, rtol=1e-6, atol=1e-6)
