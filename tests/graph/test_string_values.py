"""String tensors hold bytes, as TF's: a str constant, feed or py_func result is its UTF-8
encoding, so comparing data with a str literal works (the census tutorial's
``tf.equal(labels, '>50K')``)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError
from estcore.graph.dtypes import as_string_array


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


@pytest.fixture(autouse=True)
def _graph():
    with tf.Graph().as_default():
        yield


def test_str_constant_is_bytes():
    assert run(tf.constant("abc")) == b"abc"
    assert run(tf.constant(["a", b"b", "é"])).tolist() == [b"a", b"b", "é".encode()]
    assert run(tf.constant("x", shape=[2])).tolist() == [b"x", b"x"]
    assert run(tf.fill([2], "u")).tolist() == [b"u", b"u"]


def test_equal_with_a_str_literal():
    p = tf.placeholder(tf.string, [None])
    got = run([tf.equal(p, ">50K"), tf.not_equal(p, ">50K")], {p: [b">50K", b"<=50K"]})
    assert got[0].tolist() == [True, False]
    assert got[1].tolist() == [False, True]
    stripped = tf.equal(tf.string_strip(p), "No")
    assert run(stripped, {p: [b" No ", b"Yes"]}).tolist() == [True, False]
    filled = tf.where(tf.equal(p, ""), tf.fill(tf.shape(p), "unk"), p)
    assert run(filled, {p: [b"", b"x"]}).tolist() == [b"unk", b"x"]


@pytest.mark.parametrize("fed", [["x", "yé"], np.array(["x", "yé"]), [b"x", "yé".encode()],
                                 np.array([b"x", "yé".encode()])])
def test_string_feeds_become_bytes(fed):
    p = tf.placeholder(tf.string, [None])
    assert run(tf.identity(p), {p: fed}).tolist() == [b"x", "yé".encode()]


def test_string_feed_of_numbers_is_refused_naming_the_placeholder():
    p = tf.placeholder(tf.string, [None], name="city")
    with pytest.raises(InvalidArgumentError, match="string placeholder 'city'.*got 1 of type int"):
        run(tf.identity(p), {p: [1]})


def test_py_func_strings_become_bytes():
    p = tf.placeholder(tf.string, [None])
    out = tf.py_func(lambda v: np.array([s.decode().upper() for s in v]), [p], tf.string)
    assert run(out, {p: [b"a", b"b"]}).tolist() == [b"A", b"B"]
    bad = tf.py_func(lambda v: np.array([None], dtype=object), [p], tf.string)
    with pytest.raises(InvalidArgumentError, match="PyFunc.*expected strings.*None"):
        run(bad, {p: [b"a"]})


def test_as_string_array():
    assert as_string_array(np.array([["a"], ["bc"]]), "v").tolist() == [[b"a"], [b"bc"]]
    assert as_string_array("é", "v").tolist() == "é".encode()
    with pytest.raises(TypeError, match="v: expected strings.*dtype float"):
        as_string_array(np.zeros(2), "v")
    with pytest.raises(TypeError, match="constant: expected strings"):
        tf.constant([1], dtype=tf.string)
