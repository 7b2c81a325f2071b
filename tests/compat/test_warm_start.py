"""tf.train.warm_start (TF 1.15's selection rules over the default graph, values through the
variables' initializers) and the tf.train.WarmStartSettings alias."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.checkpoint.warm_starting import WarmStartSettings


def _save(tmp_path):
    with tf.Graph().as_default():
        tf.get_variable("dense/kernel", [2, 2], initializer=tf.constant_initializer(3.0))
        tf.get_variable("dense/bias", [2], initializer=tf.constant_initializer(4.0))
        tf.get_variable("stat", [2], initializer=tf.constant_initializer(5.0),
                        trainable=False)
        step = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver().save(sess, str(tmp_path / "m.ckpt"), global_step=step)


def _fresh_graph_values(warm):
    with tf.Graph().as_default():
        k = tf.get_variable("dense/kernel", [2, 2], initializer=tf.zeros_initializer())
        b = tf.get_variable("dense/bias", [2], initializer=tf.zeros_initializer())
        s = tf.get_variable("stat", [2], initializer=tf.zeros_initializer(), trainable=False)
        warm()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return [sess.run(v).tolist() for v in (k, b, s)]


def test_alias():
    assert tf.train.WarmStartSettings is WarmStartSettings
    assert tf.estimator.WarmStartSettings is WarmStartSettings


def test_regex_selects_trainable_only(tmp_path):
    _save(tmp_path)
    k, b, s = _fresh_graph_values(lambda: tf.train.warm_start(str(tmp_path)))
    assert k == [[3.0, 3.0], [3.0, 3.0]] and b == [4.0, 4.0] and s == [0.0, 0.0]
    k, b, s = _fresh_graph_values(lambda: tf.train.warm_start(str(tmp_path), ".*kernel"))
    assert k == [[3.0, 3.0], [3.0, 3.0]] and b == [0.0, 0.0] and s == [0.0, 0.0]


def test_list_of_regexes_covers_global_variables(tmp_path):
    prefix = _save(tmp_path)
    k, b, s = _fresh_graph_values(lambda: tf.train.warm_start(prefix, ["stat", "dense/b"]))
    assert k == [[0.0, 0.0], [0.0, 0.0]] and b == [4.0, 4.0] and s == [5.0, 5.0]


def test_prev_var_name_and_errors(tmp_path):
    prefix = _save(tmp_path)
    with tf.Graph().as_default():
        w = tf.get_variable("new_bias", [2], initializer=tf.zeros_initializer())
        tf.train.warm_start(prefix, "new_bias",
                            var_name_to_prev_var_name={"new_bias": "dense/bias"})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(w), [4.0, 4.0])
        with pytest.raises(ValueError, match="not used"):
            tf.train.warm_start(prefix, "new_bias", var_name_to_prev_var_name={"x": "y"})
        with pytest.raises(ValueError, match="is not found"):
            tf.train.warm_start(prefix, "new_bias")
    with tf.Graph().as_default():
        tf.get_variable("dense/bias", [3], initializer=tf.zeros_initializer())
        with pytest.raises(ValueError, match="doesn't match"):
            tf.train.warm_start(prefix, "dense/bias")
        with pytest.raises(ValueError, match="Couldn't find a checkpoint"):
            tf.train.warm_start(str(tmp_path / "none"))
