"""compat.v1's thin adapters: tf.split, the TF1 keyword aliases, get_file,
init_from_checkpoint, tf.train.Saver with a session."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_split_equal_parts_of_a_runtime_batch_and_sizes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 6])
        a, b = tf.split(x, 2)
        c, d, e = tf.split(x, [1, -1, 2], axis=1)
        data = np.arange(24, dtype=np.float32).reshape(4, 6)
        got = _run([a, b, c, d, e], {x: data})
    for g, w in zip(got, [data[:2], data[2:], data[:, :1], data[:, 1:4], data[:, 4:]],
                    strict=True):
        np.testing.assert_array_equal(g, w)


def test_split_names_bad_arguments():
    with tf.Graph().as_default():
        x = tf.zeros([5, 4])
        with pytest.raises(ValueError, match="size 5 cannot be split into 2 equal parts"):
            tf.split(x, 2)
        with pytest.raises(ValueError, match=r"sizes \[1, 1\] do not add up"):
            tf.split(x, [1, 1], axis=1)


def test_tf1_keyword_aliases():
    with tf.Graph().as_default():
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        s = tf.reduce_sum(x, reduction_indices=[1], keep_dims=True)
        e = tf.expand_dims(x, dim=0)
        q = tf.squeeze(tf.zeros([2, 1]), squeeze_dims=[1])
        assert s.shape.as_list() == [2, 1] and e.shape.as_list() == [1, 2, 2]
        assert q.shape.as_list() == [2]
        np.testing.assert_array_equal(_run(s), [[3.0], [7.0]])
        assert tf.to_float(tf.constant([1])).dtype == tf.float32
        assert tf.to_int64(x).dtype == tf.int64
        with pytest.raises(ValueError, match="`axis` or its old name `reduction_indices`"):
            tf.reduce_mean(x, axis=0, reduction_indices=0)


def test_get_file_returns_the_cached_file_and_names_url_and_path_when_missing(tmp_path):
    src = tmp_path / "src.csv"
    src.write_text("a,b\n1,2\n")
    path = tf.keras.utils.get_file("data.csv", src.as_uri(), cache_dir=str(tmp_path / "c"))
    with open(path) as f:
        assert f.read() == "a,b\n1,2\n"
    src.unlink()   # now offline: the cached copy is returned without fetching
    assert tf.keras.utils.get_file("data.csv", src.as_uri(),
                                   cache_dir=str(tmp_path / "c")) == path
    with pytest.raises(Exception, match=r"other.csv is not in the cache and fetching "
                                        r"file://.*src.csv failed"):
        tf.keras.utils.get_file("other.csv", src.as_uri(), cache_dir=str(tmp_path / "c"))


def test_saver_save_restore_with_a_session_and_init_from_checkpoint(tmp_path):
    with tf.Graph().as_default():
        w = tf.get_variable("old/w", [2], initializer=tf.constant_initializer(3.0))
        step = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = tf.train.Saver().save(sess, str(tmp_path / "m.ckpt"), global_step=step)
    assert prefix.endswith("m.ckpt-0") and tf.train.checkpoint_exists(prefix)
    with tf.Graph().as_default():
        w = tf.get_variable("new/w", [2], initializer=tf.zeros_initializer())
        tf.train.init_from_checkpoint(str(tmp_path), {"old/": "new/"})
        np.testing.assert_array_equal(_run(w), [3.0, 3.0])
    with tf.Graph().as_default():
        w = tf.get_variable("old/w", [2], initializer=tf.zeros_initializer())
        with tf.Session() as sess:
            tf.train.Saver([w]).restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(w), [3.0, 3.0])
        with pytest.raises(ValueError, match="Tensor nope is not found"):
            tf.train.init_from_checkpoint(prefix, {"nope": "old/w"})


def _counter_graph():
    step = tf.train.get_or_create_global_step()
    w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
    train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    return step, w, train


def test_monitored_training_session_resumes_from_its_checkpoint_dir(tmp_path):
    for expected_end in (5, 10):
        with tf.Graph().as_default():
            step, w, train = _counter_graph()
            hooks = [tf.train.StopAtStepHook(num_steps=5)]
            with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path),
                                                   hooks=hooks) as sess:
                while not sess.should_stop():
                    sess.run(train)
        assert tf.train.load_variable(str(tmp_path), "global_step") == expected_end
        assert tf.train.load_variable(str(tmp_path), "w") == expected_end


def test_global_step_waiter_refuses_a_wait_that_cannot_end(tmp_path):
    with tf.Graph().as_default():
        _, _, train = _counter_graph()
        with pytest.raises(RuntimeError, match="wait_until_step=3 but the global step is 0"):
            with tf.train.SingularMonitoredSession(
                    hooks=[tf.train.GlobalStepWaiterHook(3)]) as sess:
                sess.run(train)
    with tf.Graph().as_default():
        _, w, train = _counter_graph()
        with tf.train.SingularMonitoredSession(
                hooks=[tf.train.GlobalStepWaiterHook(0)]) as sess:
            sess.run(train)
            assert sess.raw_session().run(w) == 1.0


def test_dropout_with_a_keep_prob_placeholder_keeps_the_shape():
    """The `keep_prob = tf.placeholder(tf.float32)` idiom (unknown rank): TF's result has
    x's static shape, so a dense layer can follow."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 8])
        kp = tf.placeholder(tf.float32)
        d = tf.nn.dropout(x, kp)
        assert d.shape.as_list() == [None, 8]
        assert tf.layers.dense(d, 2).shape.as_list() == [None, 2]
        assert tf.nn.dropout(x, rate=1 - kp).shape.as_list() == [None, 8]
        with tf.Session() as sess:
            out = sess.run(d, {x: np.ones((3, 8), np.float32), kp: 1.0})
        assert out.tolist() == np.ones((3, 8)).tolist()
        with pytest.raises(ValueError, match="`keep_prob` must be a scalar"):
            tf.nn.dropout(x, tf.placeholder(tf.float32, [2]))


def test_monitored_session_unfinalizes_the_graph_it_finalized():
    """TF's MonitoredSession.close un-finalizes a graph that was not finalized before."""
    with tf.Graph().as_default() as g:
        v = tf.Variable(1.0)
        with tf.train.MonitoredSession() as sess:
            assert g.finalized
            assert sess.run(v) == 1.0
        assert not g.finalized
        tf.Variable(2.0)  # the program builds on
        g.finalize()
        with tf.train.MonitoredSession() as sess:
            sess.run(v)
        assert g.finalized  # finalized before: stays so
