"""tf.make_template, tf.random, tf.random_shuffle, tf.numpy_function and tf.while_loop
as estcore.compat.v1 names them (TF 1.15 semantics)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf


def _linear(x, units):
    w = tf.get_variable("w", [x.shape[-1], units], initializer=tf.ones_initializer())
    return tf.matmul(x, w)


def test_make_template_shares_variables_between_calls():
    lin = tf.make_template("linear", _linear, units=2)
    a = lin(tf.constant([[1.0, 2.0]]))
    b = lin(tf.constant([[3.0, 4.0]]))
    assert [v.name for v in tf.global_variables()] == ["linear/w:0"]
    assert lin.variable_scope_name == "linear" and lin.name == "linear"
    assert [v.name for v in lin.trainable_variables] == ["linear/w:0"]
    other = tf.make_template("linear", _linear, units=2)
    other(tf.constant([[1.0, 2.0]]))
    assert [v.name for v in tf.global_variables()] == ["linear/w:0", "linear_1/w:0"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run([a, b]), [[[3.0, 3.0]], [[7.0, 7.0]]])


def test_make_template_scope_now_and_new_variables_refused():
    now = tf.make_template("early", _linear, create_scope_now_=True, units=1)
    assert now.variable_scope_name == "early" and now.variables == []
    now(tf.constant([[1.0]]))
    now(tf.constant([[2.0]]))
    assert [v.name for v in now.variables] == ["early/w:0"]
    fresh = tf.make_template("bad", lambda: tf.Variable(1.0))
    fresh()
    with pytest.raises(ValueError, match="Trainable variable created when calling template"):
        fresh()
    with pytest.raises(TypeError, match="func_"):
        tf.make_template("x", 3)


def test_random_namespace_and_top_level_names():
    tf.random.set_random_seed(4)
    n = tf.random.normal([2000], mean=1.0, stddev=2.0)
    u = tf.random.uniform([3], maxval=5, dtype=tf.int32)
    t = tf.random.truncated_normal([2000])
    s = tf.random_shuffle(tf.range(10))
    s2 = tf.random.shuffle(tf.range(10))
    c = tf.random.categorical(tf.constant([[0.0, -np.inf]]), 4)
    m = tf.multinomial(tf.constant([[-np.inf, 0.0]]), 4)
    with tf.Session() as sess:
        nv, uv, tv, sv, s2v, cv, mv = sess.run([n, u, t, s, s2, c, m])
    assert abs(nv.mean() - 1.0) < 0.2 and abs(nv.std() - 2.0) < 0.2
    assert uv.dtype == np.int32 and ((0 <= uv) & (uv < 5)).all()
    assert np.abs(tv).max() <= 2.0
    assert sorted(sv) == sorted(s2v) == list(range(10))
    assert (cv == 0).all() and (mv == 1).all()
    with pytest.raises(AttributeError, match=r"tf\.random\.gamma"):
        _ = tf.random.gamma


def test_numpy_function_and_while_loop_names():
    x = tf.placeholder(tf.float32, [None])
    y = tf.numpy_function(lambda a: (a * 2).astype(np.float32), [x], tf.float32)
    i, acc = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + 1.0),
                           [tf.constant(0), x])
    with tf.Session() as sess:
        yv, iv, av = sess.run([y, i, acc], {x: [1.0, 2.0]})
    np.testing.assert_allclose(yv, [2.0, 4.0])
    assert iv == 3
    np.testing.assert_allclose(av, [4.0, 5.0])
