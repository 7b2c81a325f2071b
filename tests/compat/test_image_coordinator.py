"""tf.image additions, tf.nn.conv1d, tf.train.Coordinator / start_queue_runners and
tf.AggregationMethod in estcore.compat.v1 (TF 1.15's documented behaviour; numpy
references)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import estcore.compat.v1 as tf

IMG = np.random.default_rng(0).integers(0, 256, (2, 5, 6, 3)).astype(np.uint8)


def _run(*ts):
    with tf.Session() as sess:
        return sess.run(list(ts))


def test_image_geometry():
    x = tf.constant(IMG)
    out = _run(tf.image.flip_up_down(x), tf.image.central_crop(x, 0.5),
               tf.image.crop_to_bounding_box(x, 1, 2, 3, 3),
               tf.image.pad_to_bounding_box(x, 1, 2, 8, 9),
               tf.image.resize_image_with_crop_or_pad(x, 3, 8),
               tf.image.resize_with_crop_or_pad(x[0], 7, 4))
    np.testing.assert_array_equal(out[0], IMG[:, ::-1])
    np.testing.assert_array_equal(out[1], IMG[:, 1:4, 1:5])       # int((5 - 2.5) / 2) = 1
    np.testing.assert_array_equal(out[2], IMG[:, 1:4, 2:5])
    want = np.zeros((2, 8, 9, 3), np.uint8)
    want[:, 1:6, 2:8] = IMG
    np.testing.assert_array_equal(out[3], want)
    want = np.zeros((2, 3, 8, 3), np.uint8)                       # crop rows 1..3, pad 1|1
    want[:, :, 1:7] = IMG[:, 1:4]
    np.testing.assert_array_equal(out[4], want)
    want = np.zeros((7, 4, 3), np.uint8)                          # pad rows 1|1, crop 1..4
    want[1:6] = IMG[0, :, 1:5]
    np.testing.assert_array_equal(out[5], want)
    with pytest.raises(ValueError, match="exceeds"):
        tf.image.crop_to_bounding_box(x, 3, 0, 3, 3)
    with pytest.raises(ValueError, match="must be known"):
        tf.image.central_crop(tf.placeholder(tf.float32, [None, None, 3]), 0.5)


def test_image_colour_and_dtype():
    x = tf.constant(IMG)
    f = IMG.astype(np.float32) / 255.0
    out = _run(tf.image.convert_image_dtype(x, tf.float32),
               tf.image.convert_image_dtype(tf.constant([0.0, 0.5, 1.0, 1.2, -0.1]), tf.uint8,
                                            saturate=True),
               tf.image.rgb_to_grayscale(tf.constant(f)), tf.image.rgb_to_grayscale(x),
               tf.image.grayscale_to_rgb(tf.constant(f[..., :1])),
               tf.image.adjust_brightness(tf.constant(f), 0.25),
               tf.image.adjust_brightness(x, 0.5),
               tf.image.adjust_contrast(tf.constant(f), 2.0))
    np.testing.assert_allclose(out[0], f, rtol=1e-6)
    np.testing.assert_array_equal(out[1], [0, 127, 255, 255, 0])   # * 255.5, truncated
    gray = f @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    np.testing.assert_allclose(out[2][..., 0], gray, rtol=1e-5)
    np.testing.assert_array_equal(out[3][..., 0], (gray * 255.5).astype(np.uint8))
    np.testing.assert_array_equal(out[4], np.repeat(f[..., :1], 3, -1))
    np.testing.assert_allclose(out[5], f + 0.25, rtol=1e-6)
    np.testing.assert_array_equal(out[6], np.minimum(f + 0.5, 1.0) * 255.5 // 1)
    mean = f.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out[7], (f - mean) * 2.0 + mean, rtol=1e-5, atol=1e-6)


def test_random_image_ops_stay_in_their_family():
    x = tf.constant(IMG)
    ups, bright, contrast = _run(tf.image.random_flip_up_down(x, seed=1),
                                 tf.image.random_brightness(tf.constant(IMG / 255.0), 0.2),
                                 tf.image.random_contrast(x, 0.5, 1.5))
    for i in range(2):
        assert (np.array_equal(ups[i], IMG[i]) or np.array_equal(ups[i], IMG[i, ::-1]))
    delta = bright - IMG / 255.0
    assert np.ptp(delta) < 1e-9 and abs(delta.flat[0]) <= 0.2
    assert contrast.shape == IMG.shape and contrast.dtype == np.uint8
    with pytest.raises(ValueError, match="upper"):
        tf.image.random_contrast(x, 1.0, 0.5)


def test_conv1d_matches_a_direct_sum():
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((2, 9, 3)).astype(np.float32)
    fv = rng.standard_normal((3, 3, 4)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 9, 3])
    valid = tf.nn.conv1d(x, fv, stride=2, padding="VALID")
    dil = tf.nn.conv1d(input=x, filters=fv, stride=[1, 1, 1], padding="VALID", dilations=2)
    same = tf.nn.conv1d(x, fv, 1, "SAME")
    with tf.Session() as sess:
        v, d, s = sess.run([valid, dil, same], {x: xv})
    np.testing.assert_allclose(v, np.stack([sum(xv[:, 2 * i + k] @ fv[k] for k in range(3))
                                            for i in range(4)], 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d, np.stack([sum(xv[:, i + 2 * k] @ fv[k] for k in range(3))
                                            for i in range(5)], 1), rtol=1e-5, atol=1e-5)
    padded = np.pad(xv, ((0, 0), (1, 1), (0, 0)))
    np.testing.assert_allclose(s, np.stack([sum(padded[:, i + k] @ fv[k] for k in range(3))
                                            for i in range(9)], 1), rtol=1e-5, atol=1e-5)
    (g,) = tf.gradients(tf.reduce_sum(same), [x])
    assert g.shape.as_list() == [None, 9, 3]


def test_coordinator_boilerplate_and_errors():
    coord = tf.train.Coordinator()
    with tf.Session() as sess:
        assert tf.train.start_queue_runners(sess=sess, coord=coord) == []
    seen = []

    def worker():
        with coord.stop_on_exception():
            while not coord.should_stop():
                seen.append(1)
                if len(seen) > 3:
                    raise ValueError("worker failed")

    t = threading.Thread(target=worker)
    t.start()
    with pytest.raises(ValueError, match="worker failed"):
        coord.join([t])
    assert coord.joined and coord.should_stop()
    coord.clear_stop()
    assert not coord.should_stop()
    coord.request_stop(tf.errors.OutOfRangeError("end of data"))   # a clean stop
    coord.join()
    coord.clear_stop()
    stuck = threading.Event()
    t2 = threading.Thread(target=stuck.wait, name="stuck-thread", daemon=True)
    t2.start()
    coord.register_thread(t2)
    coord.request_stop()
    with pytest.raises(RuntimeError, match="stuck-thread"):
        coord.join(stop_grace_period_secs=0.01)
    stuck.set()
    t2.join()


def test_aggregation_method_constants():
    assert tf.AggregationMethod.ADD_N == tf.AggregationMethod.DEFAULT == 0
    x = tf.constant(2.0)
    (g,) = tf.gradients(x * x, [x], aggregation_method=tf.AggregationMethod.EXPERIMENTAL_TREE)
    assert _run(g) == [4.0]
