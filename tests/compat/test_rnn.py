"""tf.nn.dynamic_rnn and the tf.nn.rnn_cell cells against numpy re-implementations of
TF 1.15's cell equations (values and gradients), with TF's variable names."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

RNG = np.random.default_rng(0)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _lstm(x, lengths, k, b, forget=1.0):
    n = b.size // 4
    outs = np.zeros(x.shape[:2] + (n,))
    cs, hs = np.zeros((x.shape[0], n)), np.zeros((x.shape[0], n))
    for e in range(x.shape[0]):
        c, h = np.zeros(n), np.zeros(n)
        for t in range(lengths[e]):
            i, j, f, o = np.split(np.concatenate([x[e, t], h]) @ k + b, 4)
            c = c * _sig(f + forget) + _sig(i) * np.tanh(j)
            h = np.tanh(c) * _sig(o)
            outs[e, t] = h
        cs[e], hs[e] = c, h
    return outs, cs, hs


def _gru(x, gk, gb, ck, cb):
    n = cb.size
    h = np.zeros((x.shape[0], n))
    outs = []
    for t in range(x.shape[1]):
        g = _sig(np.concatenate([x[:, t], h], 1) @ gk + gb)
        r, u = g[:, :n], g[:, n:]
        c = np.tanh(np.concatenate([x[:, t], r * h], 1) @ ck + cb)
        h = u * h + (1 - u) * c
        outs.append(h)
    return np.stack(outs, 1), h


def test_lstm_values_gradients_and_sequence_length():
    x = tf.placeholder(tf.float64, [None, 5, 3])
    lengths = tf.placeholder(tf.int32, [None])
    cell = tf.nn.rnn_cell.BasicLSTMCell(4)
    outs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float64)
    assert [v.name for v in tf.global_variables()] == ["rnn/basic_lstm_cell/kernel:0",
                                                       "rnn/basic_lstm_cell/bias:0"]
    assert outs.shape.as_list() == [None, 5, 4] and isinstance(state, tf.nn.rnn_cell.LSTMStateTuple)
    loss = tf.reduce_sum(outs * outs) + tf.reduce_sum(state.c)
    g_x, g_k = tf.gradients(loss, [x, cell.kernel])
    xv, lv = RNG.standard_normal((3, 5, 3)), np.array([5, 2, 0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        k, b = sess.run([cell.kernel, cell.bias])
        o, c, h, gx, gk = sess.run([outs, state.c, state.h, g_x, g_k], {x: xv, lengths: lv})
    ro, rc, rh = _lstm(xv, lv, k, b)
    np.testing.assert_allclose(o, ro, atol=1e-12)
    np.testing.assert_allclose(c, rc, atol=1e-12)
    np.testing.assert_allclose(h, rh, atol=1e-12)

    def loss_of(xx=xv, kk=k):
        a, cc, _ = _lstm(xx, lv, kk, b)
        return (a * a).sum() + cc.sum()

    eps = 1e-6
    for idx in [(0, 0, 0), (1, 1, 2), (1, 3, 1), (2, 0, 0)]:
        xp, xm = xv.copy(), xv.copy()
        xp[idx] += eps
        xm[idx] -= eps
        assert gx[idx] == pytest.approx((loss_of(xx=xp) - loss_of(xx=xm)) / (2 * eps),
                                        abs=1e-7)
    for idx in [(0, 0), (4, 7), (6, 15)]:
        kp, km = k.copy(), k.copy()
        kp[idx] += eps
        km[idx] -= eps
        assert gk[idx] == pytest.approx((loss_of(kk=kp) - loss_of(kk=km)) / (2 * eps),
                                        abs=1e-7)


def test_stacked_gru_lstm_names_and_values():
    x = tf.placeholder(tf.float32, [2, 4, 3])
    cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(5), tf.nn.rnn_cell.LSTMCell(4)])
    outs, (s_gru, s_lstm) = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    names = [v.name for v in tf.global_variables()]
    assert names == ["rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel:0",
                     "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias:0",
                     "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/kernel:0",
                     "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/bias:0",
                     "rnn/multi_rnn_cell/cell_1/lstm_cell/kernel:0",
                     "rnn/multi_rnn_cell/cell_1/lstm_cell/bias:0"]
    xv = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        vals = sess.run(tf.global_variables())
        o, sg = sess.run([outs, s_gru], {x: xv})
    np.testing.assert_allclose(vals[1], np.ones(10))            # GRU gate bias starts at 1
    go, gh = _gru(xv.astype(np.float64), *[v.astype(np.float64) for v in vals[:4]])
    np.testing.assert_allclose(sg, gh, rtol=1e-5, atol=1e-6)
    lo, _, _ = _lstm(go, [4, 4], vals[4].astype(np.float64), vals[5].astype(np.float64))
    np.testing.assert_allclose(o, lo, rtol=1e-4, atol=1e-5)


def test_time_major_initial_state_and_training():
    x = tf.constant(RNG.standard_normal((6, 2, 3)).astype(np.float32))   # [time, batch, d]
    with tf.variable_scope("enc"):
        outs, last = tf.nn.dynamic_rnn(tf.contrib.rnn.BasicRNNCell(3), x, time_major=True,
                                       initial_state=tf.zeros([2, 3]))
    assert outs.shape.as_list() == [6, 2, 3]
    assert [v.name for v in tf.trainable_variables()] == ["enc/rnn/basic_rnn_cell/kernel:0",
                                                          "enc/rnn/basic_rnn_cell/bias:0"]
    loss = tf.reduce_mean(tf.square(last - 0.5))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss)
        for _ in range(60):
            sess.run(train)
        assert sess.run(loss) < first * 0.1
        np.testing.assert_allclose(sess.run(outs)[-1], sess.run(last))


def test_rnn_errors():
    x = tf.placeholder(tf.float32, [None, 4, 3])
    with pytest.raises(ValueError, match="must give a dtype"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), x)
    with pytest.raises(ValueError, match="3-D"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), tf.placeholder(tf.float32, [None, 3]),
                          dtype=tf.float32)
    with pytest.raises(NotImplementedError, match="peepholes"):
        tf.nn.rnn_cell.LSTMCell(3, use_peepholes=True)
    with pytest.raises(ValueError, match="num_units"):
        tf.nn.rnn_cell.BasicRNNCell(0)


def test_dropout_wrapper_keeps_names_and_trains():
    x = tf.placeholder(tf.float32, [None, 5, 3])
    keep = tf.placeholder_with_default(1.0, [])
    cells = tf.nn.rnn_cell.MultiRNNCell([
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicLSTMCell(4), output_keep_prob=keep,
                                      state_keep_prob=keep) for _ in range(2)])
    outs, _ = tf.nn.dynamic_rnn(cells, x, dtype=tf.float32)
    assert [v.name for v in tf.trainable_variables()] == [
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0"]
    loss = tf.reduce_mean(tf.square(outs - 0.3))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    xv = RNG.random((8, 5, 3)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: xv})
        full1, full2 = sess.run(outs, {x: xv}), sess.run(outs, {x: xv})
        np.testing.assert_array_equal(full1, full2)          # keep 1.0: no dropout
        dropped = sess.run(outs, {x: xv, keep: 0.5})
        assert 0.3 < np.mean(dropped == 0) < 0.7
        for _ in range(40):
            sess.run(train, {x: xv, keep: 0.8})
        assert sess.run(loss, {x: xv}) < first
    with pytest.raises(ValueError, match="output_keep_prob"):
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), output_keep_prob=1.5)
    with pytest.raises(NotImplementedError, match="variational"):
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), variational_recurrent=True)


def test_nn_dropout_with_a_keep_prob_placeholder():
    x = tf.placeholder(tf.float32, [None, 4000])
    keep_prob = tf.placeholder(tf.float32)
    y = tf.nn.dropout(x, keep_prob)
    (g,) = tf.gradients(tf.reduce_sum(y * 3.0), [x])
    with tf.Session() as sess:
        yv, gv = sess.run([y, g], {x: np.ones((2, 4000)), keep_prob: 0.8})
        same = sess.run(y, {x: np.ones((2, 4000)), keep_prob: 1.0})
    assert set(np.unique(yv)) == {0.0, np.float32(1.25)}
    assert abs(np.mean(yv != 0) - 0.8) < 0.03
    np.testing.assert_allclose(gv, 3.0 * yv)          # the mask of the same run
    np.testing.assert_array_equal(same, np.ones((2, 4000)))
    with pytest.raises(ValueError, match="exactly one"):
        tf.nn.dropout(x, keep_prob, rate=0.5)


def test_reverse_sequence_bidirectional_and_static_rnn():
    x = tf.placeholder(tf.float64, [None, 5, 2])
    lengths = tf.placeholder(tf.int32, [None])
    rev = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    rev_t = tf.reverse_sequence(tf.transpose(x, [1, 0, 2]), lengths, seq_axis=0, batch_axis=1)
    (fw, bw), (s_fw, s_bw) = tf.nn.bidirectional_dynamic_rnn(
        tf.nn.rnn_cell.GRUCell(3), tf.nn.rnn_cell.GRUCell(3), x, sequence_length=lengths,
        dtype=tf.float64)
    names = [v.name for v in tf.global_variables()]
    assert names[0] == "bidirectional_rnn/fw/gru_cell/gates/kernel:0"
    assert names[4] == "bidirectional_rnn/bw/gru_cell/gates/kernel:0"
    steps = [x[:, t] for t in range(5)]
    s_outs, s_last = tf.nn.static_rnn(tf.nn.rnn_cell.BasicRNNCell(2), steps, dtype=tf.float64,
                                      sequence_length=lengths, scope="static")
    xv, lv = RNG.standard_normal((2, 5, 2)), np.array([3, 5])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        vals = sess.run(tf.global_variables())
        r, rt, f, b, sb, so, sl = sess.run([rev, rev_t, fw, bw, s_bw, s_outs, s_last],
                                           {x: xv, lengths: lv})
    want = xv.copy()
    for e, n in enumerate(lv):
        want[e, :n] = xv[e, :n][::-1]
    np.testing.assert_array_equal(r, want)
    np.testing.assert_array_equal(rt, want.transpose(1, 0, 2))
    for e, n in enumerate(lv):      # backward GRU: run on the reversed valid steps
        ref_out, ref_h = _gru(xv[e:e + 1, :n][:, ::-1], *vals[4:8])
        np.testing.assert_allclose(b[e, :n], ref_out[0, ::-1], atol=1e-12)
        np.testing.assert_allclose(b[e, n:], 0.0)
        np.testing.assert_allclose(sb[e], ref_h[0], atol=1e-12)
        ref_f, _ = _gru(xv[e:e + 1, :n], *vals[0:4])
        np.testing.assert_allclose(f[e, :n], ref_f[0], atol=1e-12)
    k, bias = vals[8], vals[9]
    for e, n in enumerate(lv):
        h = np.zeros(2)
        for t in range(5):
            if t < n:
                h = np.tanh(np.concatenate([xv[e, t], h]) @ k + bias)
                np.testing.assert_allclose(so[t][e], h, atol=1e-12)
            else:
                np.testing.assert_allclose(so[t][e], 0.0)
        np.testing.assert_allclose(sl[e], h, atol=1e-12)
