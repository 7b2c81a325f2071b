"""tf.foldl / foldr / scan (on while_loop, with gradients), tf.device & co., RunOptions,
and the array/matrix compositions of compat/v1/array_extra.py, against numpy references
of TF's documented results."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

XV = np.array([1.0, 2.0, 3.0, 4.0])


def _run(ts, feed=None):
    with tf.Session() as sess:
        return sess.run(ts, feed)


def test_folds_and_scans():
    x = tf.placeholder(tf.float64, [None])
    pair = (tf.constant(0.0, tf.float64), tf.constant(1.0, tf.float64))
    out = _run([tf.foldl(lambda a, e: a * 2 + e, x),
                tf.foldl(lambda a, e: a * 2 + e, x, initializer=tf.constant(10.0, tf.float64)),
                tf.foldr(lambda a, e: a * 2 + e, x),
                tf.scan(lambda a, e: a + e, x),
                tf.scan(lambda a, e: a + e, x, reverse=True),
                tf.scan(lambda a, e: (a[0] + e, a[1] * e), x, initializer=pair),
                tf.scan(lambda a, e: a + e["u"] * e["v"], {"u": x, "v": x},
                        initializer=tf.constant(0.0, tf.float64))], {x: XV})
    assert out[0] == 26.0 and out[1] == 186.0 and out[2] == 49.0
    np.testing.assert_allclose(out[3], np.cumsum(XV))
    np.testing.assert_allclose(out[4], np.cumsum(XV[::-1])[::-1])
    np.testing.assert_allclose(out[5][0], np.cumsum(XV))
    np.testing.assert_allclose(out[5][1], np.cumprod(XV))
    np.testing.assert_allclose(out[6], np.cumsum(XV * XV))
    s = tf.scan(lambda a, e: a + e, x)
    (g,) = tf.gradients(tf.reduce_sum(s * s), [x])
    c = np.cumsum(XV)
    np.testing.assert_allclose(_run(g, {x: XV}), [2 * c[i:].sum() for i in range(4)])
    with pytest.raises(ValueError, match="rank >= 1"):
        tf.scan(lambda a, e: a, tf.constant(1.0))


def test_device_contexts_and_run_options_are_accepted():
    with tf.device("/gpu:0"), tf.device(lambda op: "/cpu:0"), tf.device(None):
        with tf.colocate_with(tf.constant(1.0)):
            y = tf.constant(2.0) * 3.0
    with pytest.raises(TypeError, match="device string"):
        with tf.device(3):
            pass
    v = tf.Variable(1.0)
    with tf.control_dependencies([tf.assign_add(v, 1.0)]):
        with tf.init_scope():
            free = tf.identity(tf.constant(5.0))
    assert free.op.control_inputs == () or list(free.op.control_inputs) == []
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        out = sess.run(y, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                       run_metadata=meta)
    assert out == 6.0 and meta.partition_graphs == []


def test_array_compositions():
    x = tf.constant(np.arange(12.0).reshape(3, 4))
    v = tf.constant([1.0, 2.0, 3.0])
    m = np.arange(12.0).reshape(3, 4)
    out = _run([tf.broadcast_to(v, [2, 3]), tf.linspace(0.0, 1.0, 5), tf.lin_space(2.0, 3.0, 1),
                tf.saturate_cast(tf.constant([-5.0, 300.0, 7.9]), tf.uint8),
                tf.parallel_stack([v, v]), tf.clip_by_average_norm(v, 0.1),
                tf.clip_by_average_norm(v, 10.0), tf.cumsum(x, 1), tf.math.cumsum(x, -1),
                tf.cumsum(x, 0, exclusive=True, reverse=True),
                tf.cumsum(x, 0, exclusive=True), tf.cumsum(x, 1, reverse=True),
                tf.diag(v), tf.diag_part(x), tf.trace(tf.diag(v)),
                tf.linalg.diag(tf.constant([[1.0, 2.0], [3.0, 4.0]])),
                tf.matrix_band_part(tf.ones([4, 4]), 1, 0),
                tf.matrix_band_part(tf.ones([3, 3]), -1, 0),
                *tf.meshgrid(v, tf.constant([5, 6])),
                *tf.meshgrid(v, tf.constant([5, 6]), indexing="ij")])
    np.testing.assert_array_equal(out[0], [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_allclose(out[1], np.linspace(0, 1, 5))
    np.testing.assert_allclose(out[2], [2.0])
    np.testing.assert_array_equal(out[3], [0, 255, 7])
    np.testing.assert_array_equal(out[4], [[1, 2, 3], [1, 2, 3]])
    vv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out[5], vv * 0.1 * 3 / np.linalg.norm(vv), rtol=1e-6)
    np.testing.assert_allclose(out[6], vv)                      # average norm below 10
    np.testing.assert_allclose(out[7], np.cumsum(m, 1))
    np.testing.assert_allclose(out[8], np.cumsum(m, 1))
    np.testing.assert_allclose(out[9], np.cumsum(m[::-1], 0)[::-1] - m)
    np.testing.assert_allclose(out[10], np.cumsum(m, 0) - m)
    np.testing.assert_allclose(out[11], np.cumsum(m[:, ::-1], 1)[:, ::-1])
    np.testing.assert_allclose(out[12], np.diag(vv))
    np.testing.assert_allclose(out[13], np.diag(m))
    assert out[14] == 6.0
    np.testing.assert_allclose(out[15], [np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    np.testing.assert_allclose(out[16], np.tril(np.triu(np.ones((4, 4)), -1)))
    np.testing.assert_allclose(out[17], np.tril(np.ones((3, 3))))
    gx, gy = np.meshgrid(vv, [5, 6])
    np.testing.assert_allclose(out[18], gx)
    np.testing.assert_array_equal(out[19], gy)
    gx, gy = np.meshgrid(vv, [5, 6], indexing="ij")
    np.testing.assert_allclose(out[20], gx)
    np.testing.assert_array_equal(out[21], gy)
    assert tf.is_numeric_tensor(v) and not tf.is_numeric_tensor(tf.constant("a"))
    assert not tf.is_numeric_tensor(3.0)
    with pytest.raises(ValueError, match="must be known"):
        tf.cumsum(tf.placeholder(tf.float32, [None]))
    with pytest.raises(ValueError, match="num"):
        tf.linspace(0.0, 1.0, tf.placeholder(tf.int32, []))


def test_cumsum_gradient():
    x = tf.placeholder(tf.float64, [2, 3])
    (g,) = tf.gradients(tf.reduce_sum(tf.cumsum(x, 1) * tf.constant([1.0, 2.0, 3.0],
                                                                     tf.float64)), [x])
    np.testing.assert_allclose(_run(g, {x: np.ones((2, 3))}), [[6, 5, 3], [6, 5, 3]])


def test_unsorted_segment_sum_and_mean():
    data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], np.float32)
    ids = tf.placeholder(tf.int32, [None])
    s = tf.unsorted_segment_sum(tf.constant(data), ids, 3)
    m = tf.math.unsorted_segment_mean(tf.constant(data), ids, 3)
    v = tf.math.unsorted_segment_sum(tf.constant([1.0, 2.0, 3.0, 4.0]), ids, 3)
    (g,) = tf.gradients(tf.reduce_sum(s * tf.constant([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])),
                        [tf.constant(0.0)])
    with tf.Session() as sess:
        sv, mv, vv = sess.run([s, m, v], {ids: [0, 2, 0, -1]})
        np.testing.assert_allclose(sv, [[6, 8], [0, 0], [3, 4]])     # -1: dropped
        np.testing.assert_allclose(mv, [[3, 4], [0, 0], [3, 4]])
        np.testing.assert_allclose(vv, [4, 0, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match="num_segments"):
            sess.run(s, {ids: [0, 3, 0, 1]})
    assert g is None
    with pytest.raises(TypeError, match="num_segments"):
        tf.unsorted_segment_sum(tf.constant(data), ids, tf.constant(3))


def test_scan_keeps_the_static_number_of_elements():
    """TF 2.15: tf.scan over [5, 3] elements has the static shape (5, 3)."""
    with tf.Graph().as_default():
        s = tf.scan(lambda a, e: a + e, tf.zeros([5, 3]))
        assert s.shape.as_list() == [5, 3]
        assert len(tf.unstack(s)) == 5
        pair = tf.scan(lambda a, e: (a[0] + e, a[1] * 2.0), tf.ones([4, 2]),
                       initializer=(tf.zeros([2]), tf.ones([])))
        assert [t.shape.as_list() for t in pair] == [[4, 2], [4]]
        with tf.Session() as sess:
            assert sess.run(pair[1]).tolist() == [2.0, 4.0, 8.0, 16.0]
        unknown = tf.scan(lambda a, e: a + e, tf.placeholder(tf.float32, [None, 3]))
        assert unknown.shape.as_list() == [None, 3]
