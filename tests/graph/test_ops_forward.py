"""Forward values of the ops against numpy (float32 and float64, C and numpy kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax

import estcore as ec
from estcore import errors

R = np.random.default_rng(1)
A = R.standard_normal((3, 4))
B = R.standard_normal((4,))
P = R.uniform(0.5, 2.0, (3, 4))
I = np.array([[1, -2, 3], [4, 5, -6]], np.int32)

# name -> (estcore fn on constants, numpy expected)
CASES = {
    "add": (lambda: ec.constant(A) + B, A + B),
    "sub": (lambda: ec.constant(B) - A, B - A),
    "mul": (lambda: ec.constant(A) * 3.0, A * 3.0),
    "div": (lambda: ec.constant(A) / P, A / P),
    "floordiv": (lambda: ec.constant(I) // 2, I // 2),
    "mod": (lambda: ec.constant(I) % 4, I % 4),
    "pow": (lambda: ec.constant(P) ** 1.5, P ** 1.5),
    "neg_abs": (lambda: abs(-ec.constant(A)), np.abs(A)),
    "sqrt_rsqrt": (lambda: ec.sqrt(P) + ec.rsqrt(P), np.sqrt(P) + 1 / np.sqrt(P)),
    "exp_log": (lambda: ec.exp(ec.constant(A)) + ec.log(P) + ec.log1p(P),
                np.exp(A) + np.log(P) + np.log1p(P)),
    "max_min": (lambda: ec.maximum(A, 0.0) - ec.minimum(A, B), np.maximum(A, 0) - np.minimum(A, B)),
    "matmul": (lambda: ec.matmul(ec.constant(A), ec.constant(A), transpose_b=True), A @ A.T),
    "batch_matmul": (lambda: ec.matmul(ec.constant(np.stack([A, A])),
                                       ec.constant(np.stack([A.T, 2 * A.T]))),
                     np.stack([A @ A.T, 2 * A @ A.T])),
    "reduce_sum": (lambda: ec.reduce_sum(A, axis=1), A.sum(1)),
    "reduce_mean_keep": (lambda: ec.reduce_mean(A, axis=0, keepdims=True),
                         A.mean(0, keepdims=True)),
    "reduce_max_all": (lambda: ec.reduce_max(A), A.max()),
    "reduce_prod": (lambda: ec.reduce_prod(P, axis=[0, 1]), P.prod()),
    "argmax_int32": (lambda: ec.argmax(A, 1, output_type=ec.int32), A.argmax(1).astype(np.int32)),
    "argmin": (lambda: ec.argmin(A, 0), A.argmin(0)),
    "count_nonzero": (lambda: ec.count_nonzero(I, axis=1), (I != 0).sum(1)),
    "compare": (lambda: ec.logical_and(ec.greater(A, 0.0), ec.less_equal(A, 1.0)),
                (A > 0) & (A <= 1)),
    "logical": (lambda: ec.logical_xor(ec.constant(A > 0), ~ec.constant(A > 1)),
                (A > 0) ^ ~(A > 1)),
    "where": (lambda: ec.where(A > 0, A, ec.zeros_like(A)), np.where(A > 0, A, 0)),
    "where_rows": (lambda: ec.where(ec.constant([True, False, True]), A, -A),
                   np.where(np.array([True, False, True])[:, None], A, -A)),
    "cast": (lambda: ec.cast(ec.constant(A * 3), ec.int32), (A * 3).astype(np.int32)),
    "reshape": (lambda: ec.reshape(A, [2, -1]), A.reshape(2, -1)),
    "transpose": (lambda: ec.transpose(A), A.T),
    "concat": (lambda: ec.concat([A, A * 2], 0), np.concatenate([A, A * 2], 0)),
    "stack": (lambda: ec.stack([B, B], axis=1), np.stack([B, B], 1)),
    "unstack": (lambda: ec.unstack(ec.constant(A), axis=1)[2], A[:, 2]),
    "squeeze_expand": (lambda: ec.squeeze(ec.expand_dims(A, 1)), A),
    "tile": (lambda: ec.tile(ec.constant(A), [2, 1]), np.tile(A, (2, 1))),
    "shape_size_rank": (lambda: ec.cast(ec.shape(A), ec.int64) * ec.cast(ec.size(A), ec.int64)
                        + ec.cast(ec.rank(A), ec.int64), np.array([3 * 12 + 2, 4 * 12 + 2])),
    "fill_zeros_ones": (lambda: ec.fill([2, 2], 3.0) + ec.ones([2, 2]) + ec.zeros([2, 2]),
                        np.full((2, 2), 4.0, np.float32)),
    "range": (lambda: ec.range(1, 10, 3), np.arange(1, 10, 3, dtype=np.int32)),
    "one_hot": (lambda: ec.one_hot([0, 2, -1, 5], 3), np.array(
        [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], np.float32)),
    "one_hot_axis0": (lambda: ec.one_hot([1, 0], 3, on_value=5.0, off_value=-1.0, axis=0),
                      np.array([[-1, 5], [5, -1], [-1, -1]], np.float32)),
    "gather": (lambda: ec.gather(A, [2, 0]), A[[2, 0]]),
    "embedding": (lambda: ec.nn.embedding_lookup(A, [[1], [1]]), A[[[1], [1]]]),
    "slicing": (lambda: ec.constant(A)[::-1, 1:3], A[::-1, 1:3]),
    "clip_by_value": (lambda: ec.clip_by_value(A, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
    "clip_by_norm": (lambda: ec.clip_by_norm(A, 1.0),
                     A * 1.0 / max(np.linalg.norm(A), 1.0)),
    "global_norm": (lambda: ec.global_norm([A, B]),
                    np.sqrt((A ** 2).sum() + (B ** 2).sum())),
    "isnan": (lambda: ec.is_nan(ec.constant([np.nan, 1.0, 2.0]))
              | ec.is_inf([1.0, np.inf, 0.0]) | ~ec.is_finite([0.0, 0.0, -np.inf]),
              np.array([True, True, True])),
    "relu6_leaky": (lambda: ec.nn.relu6(A * 4) + ec.nn.leaky_relu(A, 0.1),
                    np.clip(A * 4, 0, 6) + np.where(A > 0, A, 0.1 * A)),
    "elu_selu": (lambda: ec.nn.elu(A) + ec.nn.selu(A),
                 np.where(A > 0, A, np.expm1(A)) + 1.0507009873554805 * np.where(
                     A > 0, A, 1.6732632423543772 * np.expm1(A))),
    "sigmoid_tanh": (lambda: ec.nn.sigmoid(A) + ec.nn.tanh(A), expit(A) + np.tanh(A)),
    "softplus_softsign": (lambda: ec.nn.softplus(A) + ec.nn.softsign(A),
                          np.logaddexp(A, 0) + A / (1 + np.abs(A))),
    "softmax": (lambda: ec.nn.softmax(A), softmax(A, axis=-1)),
    "log_softmax": (lambda: ec.nn.log_softmax(A, axis=0), log_softmax(A, axis=0)),
    "sparse_xent": (lambda: ec.nn.sparse_softmax_cross_entropy_with_logits(
        labels=[0, 3, 1], logits=A), -log_softmax(A, -1)[[0, 1, 2], [0, 3, 1]]),
    "xent": (lambda: ec.nn.softmax_cross_entropy_with_logits(labels=softmax(P, -1), logits=A),
             -(softmax(P, -1) * log_softmax(A, -1)).sum(-1)),
    "sigmoid_xent": (lambda: ec.nn.sigmoid_cross_entropy_with_logits(labels=P / 2, logits=A),
                     np.maximum(A, 0) - A * P / 2 + np.log1p(np.exp(-np.abs(A)))),
    "l2_loss": (lambda: ec.nn.l2_loss(A), (A ** 2).sum() / 2),
    "moments": (lambda: ec.nn.moments(A, [0])[1], A.var(0)),
    "batch_norm": (lambda: ec.nn.batch_normalization(A, B, B ** 2, 1.0, 2.0, 1e-3),
                   (A - B) * 2.0 / np.sqrt(B ** 2 + 1e-3) + 1.0),
    "l2_normalize": (lambda: ec.nn.l2_normalize(A, axis=1),
                     A / np.linalg.norm(A, axis=1, keepdims=True)),
    "in_top_k": (lambda: ec.nn.in_top_k(A, [0, 1, 2], 2),
                 np.array([(A[i] > A[i, i]).sum() < 2 for i in range(3)])),
    "bias_add": (lambda: ec.nn.bias_add(A, B), A + B),
    "top_k": (lambda: ec.cast(ec.nn.top_k(ec.constant([[1.0, 3.0, 3.0, 2.0]]), 3)[1],
                              ec.float32) * 10.0 + ec.nn.top_k([[1.0, 3.0, 3.0, 2.0]], 3)[0],
              np.array([[13.0, 23.0, 32.0]])),
}


@pytest.mark.smoke
@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy(name, use_c):
    build, expected = CASES[name]
    t = build()
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        got = sess.run(t)
    exp = np.asarray(expected)
    assert got.shape == exp.shape
    if exp.dtype.kind in "biu":
        np.testing.assert_array_equal(got, exp)
    else:
        rtol = 1e-5 if np.asarray(got).dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, exp, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv_and_pool_against_direct_loops(dtype, padding):
    x = R.standard_normal((2, 6, 5, 3)).astype(dtype)
    w = R.standard_normal((3, 2, 3, 4)).astype(dtype)
    y = ec.nn.conv2d(x, w, strides=[1, 2, 1, 1], padding=padding)
    mp = ec.nn.max_pool2d(x, [2, 3], [2, 2], padding)
    ap = ec.nn.avg_pool2d(x, 3, 2, padding)
    with ec.Session() as sess:
        yv, mpv, apv = sess.run([y, mp, ap])
    from estcore.graph.ops.conv_ops import conv_out_size

    def ref(kh, kw, sh, sw, f):
        oh, (pt, _) = conv_out_size(6, kh, sh, 1, padding)
        ow, (pl, _) = conv_out_size(5, kw, sw, 1, padding)
        out = []
        for i in range(oh):
            row = []
            for j in range(ow):
                hs = [h for h in range(i * sh - pt, i * sh - pt + kh) if 0 <= h < 6]
                ws = [c for c in range(j * sw - pl, j * sw - pl + kw) if 0 <= c < 5]
                row.append(f(hs, ws, i * sh - pt, j * sw - pl))
            out.append(row)
        return np.moveaxis(np.array(out), (0, 1), (1, 2))

    def conv_f(hs, ws, h0, w0):
        acc = 0
        for h in hs:
            for c in ws:
                acc = acc + x[:, h, c, :] @ w[h - h0, c - w0]
        return acc

    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(yv, ref(3, 2, 2, 1, conv_f), rtol=tol, atol=tol)
    np.testing.assert_allclose(mpv, ref(2, 3, 2, 2, lambda hs, ws, *_: x[:, hs][:, :, ws]
                                        .max(axis=(1, 2))), rtol=tol)
    np.testing.assert_allclose(apv, ref(3, 3, 2, 2, lambda hs, ws, *_: x[:, hs][:, :, ws]
                                        .mean(axis=(1, 2))), rtol=tol, atol=tol)


def test_run_time_errors():
    labels = ec.placeholder(ec.int32, [None])
    loss = ec.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=ec.zeros([2, 3]))
    idx = ec.placeholder(ec.int32, [None])
    g = ec.gather(ec.zeros([4, 2]), idx)
    for use_c in (True, False):
        with ec.Session(config={"use_c_kernels": use_c}) as sess:
            with pytest.raises(errors.InvalidArgumentError, match=r"label.*7"):
                sess.run(loss, {labels: [0, 7]})
            with pytest.raises(IndexError, match="index 9 is out of range"):
                sess.run(g, {idx: [1, 9]})


def test_dilated_conv_equals_conv_with_a_zero_stuffed_kernel():
    x = R.standard_normal((2, 7, 6, 2))
    w = R.standard_normal((2, 3, 2, 3))
    big = np.zeros((3, 5, 2, 3))
    big[::2, ::2] = w
    for padding in ("SAME", "VALID"):
        a = ec.nn.conv2d(x, w, strides=1, padding=padding, dilations=2)
        b = ec.nn.conv2d(x, big, strides=1, padding=padding)
        with ec.Session() as sess:
            av, bv = sess.run([a, b])
        np.testing.assert_allclose(av, bv, rtol=1e-12, atol=1e-12)


def test_tf1_div_floors_integers_divide_does_not():
    with ec.Session() as sess:
        assert sess.run(ec.div(ec.constant([7, -7]), ec.constant([2, 2]))).tolist() == [3, -4]
        assert sess.run(ec.div(ec.constant([7.0]), ec.constant([2.0]))).tolist() == [3.5]
        assert sess.run(ec.divide(ec.constant([7]), ec.constant([2]))).tolist() == [3.5]


def test_integer_division_by_zero_is_an_error():
    x = ec.placeholder(ec.int32, [2])
    with ec.Session() as sess:
        for op in (ec.floordiv, ec.mod):
            with pytest.raises(errors.InvalidArgumentError, match="Integer division by zero"):
                sess.run(op(x, ec.constant([1, 0])), {x: [3, 4]})


def test_constant_refuses_values_numpy_cannot_type():
    with pytest.raises(TypeError, match="an int does not fit in int64"):
        ec.constant(10**30)
    with pytest.raises(TypeError, match="an int does not fit in int64"):
        ec.constant(2**63)
    with pytest.raises(TypeError, match="neither all numbers nor all strings"):
        ec.constant(np.array([None, 1], object))
    assert ec.constant(["a", b"b"]).dtype is ec.string
    assert ec.constant(2**62).dtype is ec.int64


def test_valid_window_larger_than_the_input_is_a_graph_error():
    img = ec.placeholder(ec.float32, [None, 8, 8, 2])
    with pytest.raises(ValueError, match="Negative dimension size caused by subtracting 9 "
                                         "from 8"):
        ec.layers.conv2d(img, 4, 9)
    with pytest.raises(ValueError, match="Negative dimension size caused by subtracting 9 "
                                         "from 8"):
        ec.layers.max_pooling2d(img, 9, 2)
    assert ec.layers.conv2d(img, 4, 8).shape.as_list() == [None, 1, 1, 4]  # exactly fits
    assert ec.layers.max_pooling2d(img, 9, 2, padding="same").shape.as_list() == [None, 4, 4, 2]


def test_cast_between_strings_and_numbers_is_refused():
    with pytest.raises(TypeError, match="Cast float32 to string is not supported"):
        ec.cast(ec.constant([1.0]), ec.string)
    with pytest.raises(TypeError, match="Cast string to int32 is not supported"):
        ec.cast(ec.constant(["1"]), ec.int32)


def test_empty_reductions_give_the_identity_and_argmax_refuses():
    x = ec.placeholder(ec.float32, [None, 3])
    i = ec.placeholder(ec.int32, [None, 3])
    with ec.Session() as sess:
        mx, mn, imx = sess.run([ec.reduce_max(x, 0), ec.reduce_min(x, 0), ec.reduce_max(i, 0)],
                               {x: np.zeros((0, 3), np.float32), i: np.zeros((0, 3), np.int32)})
        assert mx.tolist() == [-np.inf] * 3 and mn.tolist() == [np.inf] * 3
        assert imx.tolist() == [np.iinfo(np.int32).min] * 3
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"Reduction axis 0 is empty in shape \[0, 3\]"):
            sess.run(ec.argmax(x, 0), {x: np.zeros((0, 3), np.float32)})
        assert sess.run(ec.argmax(x, 1), {x: np.zeros((0, 3), np.float32)}).shape == (0,)


def test_argument_type_errors_are_clear():
    x = ec.placeholder(ec.float32, [2])
    with ec.Session() as sess:
        with pytest.raises(TypeError, match="feed_dict must be a dict of tensor -> value. "
                                            "Received: list"):
            sess.run(x, [(x, np.ones(2))])
    with pytest.raises(TypeError, match="a shape must be a list of dimensions"):
        ec.placeholder(ec.float32, shape="abc")
    with pytest.raises(TypeError, match=r"Received: 'a' in \['a', 2\]"):
        ec.placeholder(ec.float32, shape=["a", 2])
    with pytest.raises(ValueError, match="Axes contains duplicate dimension: 0"):
        ec.reduce_sum(x, axis=[0, -1])


def test_constant_integer_range_and_object_numbers():
    with pytest.raises(TypeError, match="would lose information"):
        ec.constant(2**63, dtype=ec.int64)
    with pytest.raises(TypeError, match="would lose information"):
        ec.constant([2**64 - 1], dtype=ec.int64)
    assert ec.constant([np.uint64(5), np.uint64(6)]).dtype is ec.int32  # as a list of ints
    assert ec.constant(np.array([1, 2], dtype=object)).dtype in (ec.int32, ec.int64)
    with ec.Session() as sess:
        assert sess.run(ec.constant(1.0), feed_dict=[]) == 1.0  # TF1 accepts an empty list


@pytest.mark.parametrize("dtype", [ec.uint8, ec.int32, ec.int64, ec.float32])
def test_top_k_orders_integers_without_wrapping(dtype):
    """top_k on integers: the largest first, ties at the lower index first, at the
    dtype's extremes too (negating them wraps: uint8 255 -> 1, int32 INT_MIN)."""
    npd = dtype.np
    info = np.iinfo(npd) if np.issubdtype(npd, np.integer) else np.finfo(npd)
    x = np.array([[0, info.max, 1, info.max, info.min]], npd)
    vals, idx = ec.nn.top_k(ec.constant(x), k=4)
    with ec.Session() as sess:
        v, i = sess.run([vals, idx])
    np.testing.assert_array_equal(i, [[1, 3, 2, 0]])
    np.testing.assert_array_equal(v, x[:, [1, 3, 2, 0]])


def test_sparse_softmax_xent_of_sequence_logits():
    """Logits [batch, time, classes] (a tagger's, a language model's): flattened and the
    losses given labels' shape, as TF's wrapper does; its rank checks."""
    import estcore.compat.v1 as tf

    rs = np.random.RandomState(0)
    lg = rs.randn(2, 4, 3).astype(np.float32)
    lb = rs.randint(0, 3, (2, 4))
    want = -np.log(np.take_along_axis(np.exp(lg) / np.exp(lg).sum(-1, keepdims=True),
                                      lb[..., None], -1))[..., 0]
    with tf.Graph().as_default():
        logits = tf.placeholder(tf.float32, [None, 4, 3])
        labels = tf.placeholder(tf.int32, [None, 4])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        assert loss.shape.as_list() == [None, 4]
        mean = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        grad = tf.gradients(tf.reduce_sum(loss), logits)[0]
        with tf.Session() as sess:
            got, got_mean, g = sess.run([loss, mean, grad], {logits: lg, labels: lb})
        np.testing.assert_allclose(got, want, rtol=1e-5)
        np.testing.assert_allclose(got_mean, want.mean(), rtol=1e-5)
        soft = np.exp(lg) / np.exp(lg).sum(-1, keepdims=True)
        np.testing.assert_allclose(g, soft - np.eye(3)[lb], rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError, match=r"rank of `labels` \(received 1\) must equal"):
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.zeros([2], tf.int32),
                                                           logits=tf.zeros([2, 4, 3]))


def test_shape_of_a_scalar_and_sparse_xent_of_one_example():
    """tf.shape of a scalar is the empty int32 vector; rank-1 logits are one example
    (TF 2.15: 0.40761)."""
    import estcore.compat.v1 as tf

    with tf.Graph().as_default(), tf.Session() as sess:
        shape = sess.run(tf.shape(tf.constant(2.0)))
        assert shape.shape == (0,) and shape.dtype == np.int32
        one = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(2),
                                                             logits=[1.0, 2.0, 3.0])
        assert sess.run(one) == pytest.approx(0.407606, rel=1e-5)
