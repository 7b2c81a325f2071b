"""tf.TensorArray: the while_loop patterns of TF1 code (per-step outputs, dynamic_size,
unstack + read, a hand-written RNN) against TF-computed values, gradients (TF's values
and finite differences), gather / scatter / concat / split / size, and TF's errors.

Expected values were computed once with TensorFlow 2.15 (``tf.compat.v1``, graph mode)
running the same code (``clear_after_read=False`` where TF would refuse a second read).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import estcore.compat.v1 as tf
import estcore.saved_model as sm
from estcore import errors


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


@pytest.fixture(autouse=True)
def _graph():
    with tf.Graph().as_default():
        yield


def test_write_in_loop_then_stack():
    n = 5
    ta = tf.TensorArray(dtype=tf.float32, size=n)

    def body(i, ta):
        return i + 1, ta.write(i, tf.square(tf.cast(i, tf.float32)))

    _, ta = tf.while_loop(lambda i, ta: i < n, body, [0, ta])
    assert isinstance(ta, tf.TensorArray) and ta.element_shape.as_list() == []
    out = ta.stack()
    np.testing.assert_array_equal(_run(out), [0.0, 1.0, 4.0, 9.0, 16.0])


def test_dynamic_size_grows_and_element_shape_is_inferred():
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)

    def body(i, ta):
        return i + 1, ta.write(i, tf.fill([2], tf.cast(i, tf.float32)))

    _, ta = tf.while_loop(lambda i, ta: i < 4, body, [0, ta])
    assert ta.element_shape.as_list() == [2]
    out, size = _run([ta.stack(), ta.size()])
    np.testing.assert_array_equal(out, [[0, 0], [1, 1], [2, 2], [3, 3]])
    assert size == 4
    # a write past the end outside a loop grows it too (TF: [0, 0, 1])
    d = tf.TensorArray(tf.float32, size=0, dynamic_size=True).write(2, 1.0)
    np.testing.assert_array_equal(_run(d.stack()), [0.0, 0.0, 1.0])


def test_element_shape_given_keeps_the_loop_static():
    ta = tf.TensorArray(tf.float32, size=3, element_shape=[2])
    _, ta = tf.while_loop(lambda i, ta: i < 3,
                          lambda i, ta: (i + 1, ta.write(i, tf.ones([2]) * tf.cast(i, tf.float32))),
                          [0, ta], maximum_iterations=2)
    out = ta.stack()
    assert out.shape.as_list()[1:] == [2]
    # never written rows read as zeros when the element shape is known (TF)
    np.testing.assert_array_equal(_run(out), [[0, 0], [1, 1], [0, 0]])


def _rnn(x, w, u, batch):
    """h_t = tanh(x_t w + h_{t-1} u) over time-major ``x``; returns (outputs, loss)."""
    steps = tf.shape(x)[0]
    x_ta = tf.TensorArray(tf.float32, size=steps).unstack(x)
    out_ta = tf.TensorArray(tf.float32, size=steps)

    def body(t, h, ta):
        h = tf.tanh(tf.matmul(x_ta.read(t), w) + tf.matmul(h, u))
        return t + 1, h, ta.write(t, h)

    _, h, out_ta = tf.while_loop(lambda t, h, ta: t < steps, body,
                                 [tf.constant(0), tf.zeros([batch, 2]), out_ta])
    outs = out_ta.stack()
    return outs, tf.reduce_sum(outs * tf.constant([1.0, -2.0])) + tf.reduce_sum(h)


_X = ((np.arange(24).reshape(4, 2, 3) % 7 - 3) / 4.0).astype(np.float32)
_W = np.linspace(-1, 1, 6).reshape(3, 2).astype(np.float32)
_U = np.array([[0.5, -0.3], [0.2, 0.4]], np.float32)


def test_rnn_over_time_major_inputs_matches_tf_with_gradients():
    x, w, u = tf.placeholder(tf.float32, [None, 2, 3]), tf.placeholder(tf.float32, [3, 2]), \
        tf.placeholder(tf.float32, [2, 2])
    outs, loss = _rnn(x, w, u, 2)
    gw, gu, gx = tf.gradients(loss, [w, u, x])
    got = _run([outs, loss, gw, gu, gx], {x: _X, w: _W, u: _U})
    np.testing.assert_allclose(got[0], [
        [[0.6043678, 0.09966801], [0.24491866, 0.5005202]],
        [[-0.5211247, -0.8458667], [0.55291027, 0.48287943]],
        [[-0.91037935, -0.79394305], [0.7273282, 0.27038455]],
        [[-0.47303903, 0.5753853], [0.80678177, -0.01004428]]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], 1.3728802, rtol=1e-5)
    np.testing.assert_allclose(got[2], [[-0.7540692, 2.8316054], [-0.26376045, 1.1595441],
                                        [1.4013758, -0.35265043]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[3], [[0.3008008, -1.7855072], [-0.15351015, -1.231643]],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[4][0], [[0.14272022, -0.62121725, -1.3851546],
                                           [-1.034824, -0.8168144, -0.5988047]],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[4][3], [[-1.1511091, -0.44428, 0.26254922],
                                           [-0.09826684, -0.3396211, -0.5809753]],
                               rtol=1e-5, atol=1e-6)


def test_rnn_gradient_matches_finite_differences():
    x = tf.placeholder(tf.float64, [None, 2, 3])
    w, u = tf.placeholder(tf.float64, [3, 2]), tf.placeholder(tf.float64, [2, 2])
    steps = tf.shape(x)[0]
    x_ta = tf.TensorArray(tf.float64, size=steps).unstack(x)
    out_ta = tf.TensorArray(tf.float64, size=0, dynamic_size=True)

    def body(t, h, ta):
        h = tf.tanh(tf.matmul(x_ta.read(t), w) + tf.matmul(h, u))
        return t + 1, h, ta.write(t, h)

    _, _, out_ta = tf.while_loop(lambda t, h, ta: t < steps, body,
                                 [tf.constant(0), tf.zeros([2, 2], tf.float64), out_ta])
    loss = tf.reduce_sum(out_ta.stack() * tf.constant([1.0, -2.0], tf.float64))
    gw, gx = tf.gradients(loss, [w, x])
    xs, ws, us = _X.astype(np.float64), _W.astype(np.float64), _U.astype(np.float64)
    with tf.Session() as sess:
        def f(xv, wv):
            return sess.run(loss, {x: xv, w: wv, u: us})
        agw, agx = sess.run([gw, gx], {x: xs, w: ws, u: us})
        eps = 1e-6
        for arr, grad, which in ((ws, agw, 1), (xs, agx, 0)):
            for pos in [(0, 0), (2, 1)] if which else [(0, 0, 0), (3, 1, 2), (1, 0, 1)]:
                plus, minus = arr.copy(), arr.copy()
                plus[pos] += eps
                minus[pos] -= eps
                args = (xs, plus) if which else (plus, ws)
                args_m = (xs, minus) if which else (minus, ws)
                num = (f(*args) - f(*args_m)) / (2 * eps)
                np.testing.assert_allclose(grad[pos], num, rtol=1e-6, atol=1e-8)


def test_gradients_through_write_read_stack_outside_loops():
    a = tf.placeholder(tf.float32, [2])
    b = tf.placeholder(tf.float32, [2])
    ta = tf.TensorArray(tf.float32, size=3, clear_after_read=False).write(0, a)
    ta = ta.write(2, b * b)
    s, r = ta.stack(), ta.read(2)
    loss = tf.reduce_sum(s * tf.constant([[1.0], [2.0], [3.0]])) + tf.reduce_sum(r * a)
    got = _run([s, loss] + tf.gradients(loss, [a, b]), {a: [1.0, 2.0], b: [3.0, -1.0]})
    np.testing.assert_array_equal(got[0], [[1, 2], [0, 0], [9, 1]])
    assert got[1] == 44.0
    np.testing.assert_array_equal(got[2], [10.0, 2.0])
    np.testing.assert_array_equal(got[3], [24.0, -10.0])


def test_dynamic_size_gradient_matches_tf():
    v = tf.placeholder(tf.float32, [3])
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)

    def body(i, ta):
        return i + 1, ta.write(i, v * tf.cast(i + 1, tf.float32) + tf.sin(v))

    _, ta = tf.while_loop(lambda i, ta: i < 3, body, [0, ta])
    s = ta.stack()
    loss = tf.reduce_sum(s * s)
    got = _run([s, loss, tf.gradients(loss, v)[0]], {v: [0.5, -1.5, 2.0]})
    np.testing.assert_allclose(got[0][2], [1.9794255, -5.497495, 6.909297], rtol=1e-6)
    np.testing.assert_allclose(got[1], 139.80962, rtol=1e-6)
    np.testing.assert_allclose(got[2], [27.543015, -55.66657, 54.653637], rtol=1e-5)


def test_gather_scatter_concat_split_size_identity():
    base = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    ta = tf.TensorArray(tf.float32, size=4, clear_after_read=False).unstack(base)
    sc = tf.TensorArray(tf.float32, size=3).scatter([2, 0], [[1.0, 2.0], [5.0, 6.0]])
    sp = tf.TensorArray(tf.float32, size=3, clear_after_read=False).split(
        tf.range(6.0), [2, 2, 2])
    got = _run([ta.gather([3, 0]), ta.concat(), ta.size(), sc.stack(), sp.read(1),
                sp.concat(), ta.identity().read(2)])
    np.testing.assert_array_equal(got[0], [[7, 8], [1, 2]])
    np.testing.assert_array_equal(got[1], [1, 2, 3, 4, 5, 6, 7, 8])
    assert got[2] == 4
    np.testing.assert_array_equal(got[3], [[5, 6], [0, 0], [1, 2]])
    np.testing.assert_array_equal(got[4], [2, 3])
    np.testing.assert_array_equal(got[5], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(got[6], [5, 6])
    assert isinstance(ta.close(), tf.Operation)


def test_scatter_gather_gradient_matches_tf():
    v = tf.placeholder(tf.float32, [2, 2])
    ta = tf.TensorArray(tf.float32, size=3, clear_after_read=False).scatter([2, 0], v * v)
    g = ta.gather([0, 2, 2])   # element 2 read twice: both gradients add up
    loss = tf.reduce_sum(g * tf.constant([[1.0], [2.0], [3.0]]))
    got = _run([g, loss, tf.gradients(loss, v)[0]], {v: [[1.0, 2.0], [3.0, 4.0]]})
    np.testing.assert_array_equal(got[0], [[9, 16], [1, 4], [1, 4]])
    assert got[1] == 50.0
    np.testing.assert_array_equal(got[2], [[10, 20], [6, 8]])


def test_stack_empty_needs_element_shape():
    out = tf.TensorArray(tf.float32, size=0, element_shape=[3]).stack()
    assert _run(out).shape == (0, 3)
    with pytest.raises(errors.UnimplementedError, match="size zero, but element shape"):
        _run(tf.TensorArray(tf.float32, size=0).stack())


@pytest.mark.parametrize("build, cls, message", [
    (lambda: tf.TensorArray(tf.float32, size=3, name="ta").write(0, 1.0).write(0, 2.0).stack(),
     errors.InvalidArgumentError,
     "TensorArray ta: Could not write to TensorArray index 0 because it has already been "
     "written to."),
    (lambda: tf.TensorArray(tf.float32, size=3, name="ta").write(3, 1.0).stack(),
     errors.InvalidArgumentError,
     "TensorArray ta: Tried to write to index 3 but array is not resizeable and size is: 3"),
    (lambda: tf.TensorArray(tf.float32, size=3, name="ta").write(0, 1.0).read(5),
     errors.InvalidArgumentError, "TensorArray ta: Tried to read from index 5 but array size "
     "is: 3"),
    (lambda: tf.TensorArray(tf.float32, size=3, name="ta").read(1),
     errors.InvalidArgumentError, "TensorArray ta: Could not read from TensorArray index 1.  "
     "Furthermore, the element shape is not fully defined"),
], ids=["write-twice", "write-out-of-range", "read-out-of-range", "read-unknown-shape"])
def test_run_time_errors_name_the_array(build, cls, message):
    with pytest.raises(cls, match=message.replace(".", r"\.")):
        _run(build())


def test_write_past_the_end_in_a_loop_is_an_error():
    ta = tf.TensorArray(tf.float32, size=2, name="acc")
    _, ta = tf.while_loop(lambda i, ta: i < 3,
                          lambda i, ta: (i + 1, ta.write(i, tf.cast(i, tf.float32))), [0, ta])
    with pytest.raises(errors.InvalidArgumentError, match="TensorArray acc: Tried to write to "
                       "index 2 but array is not resizeable and size is: 2"):
        _run(ta.stack())


def test_build_time_errors():
    ta = tf.TensorArray(tf.float32, size=3).write(0, [1.0])
    with pytest.raises(ValueError, match=r"Inconsistent shapes: saw \(2,\) but expected \(1,\)"):
        ta.write(1, [1.0, 2.0])
    with pytest.raises(TypeError, match="loop variable 1 is a TensorArray"):
        tf.while_loop(lambda i, t: i < 2, lambda i, t: (i + 1, tf.zeros([3])),
                      [0, tf.TensorArray(tf.float32, size=3)])
    with pytest.raises(NotImplementedError, match="all equal"):
        tf.TensorArray(tf.float32, size=2).split(tf.range(3.0), [2, 1])


def _model_fn(features, labels, mode):
    logits = tf.layers.dense(features["x"], 2)
    acc = tf.TensorArray(tf.float32, size=3)
    _, acc = tf.while_loop(
        lambda i, t: i < 3,
        lambda i, t: (i + 1, t.write(i, logits * tf.cast(i + 1, tf.float32))), [0, acc])
    y = tf.reduce_sum(acc.stack(), 0)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": y})
    loss = tf.reduce_mean(tf.square(y - 1.0))
    step = tf.train.GradientDescentOptimizer(0.01).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=step)


def test_estimator_trains_predicts_and_exports_a_tensor_array_loop(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    est = tf.estimator.Estimator(_model_fn, str(tmp_path / "m"), tf.estimator.RunConfig(
        log_step_count_steps=None, save_summary_steps=None))
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x}, np.ones(8, np.float32),
                                                 batch_size=4, num_epochs=1, shuffle=False))
    want = next(est.predict(tf.estimator.inputs.numpy_input_fn(
        {"x": x}, batch_size=8, shuffle=False), yield_single_examples=False))["y"]
    path = est.export_saved_model(
        str(tmp_path / "export"),
        tf.estimator.export.build_raw_serving_input_receiver_fn(
            {"x": np.zeros((1, 3), np.float32)}))
    np.testing.assert_allclose(sm.load(os.fsdecode(path))({"x": x})["y"], want, rtol=1e-6)
