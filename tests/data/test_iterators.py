"""TF1 iterators: get_next() tensors in a plain Session, initializers, exhaustion."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.data import Dataset
from estcore.errors import FailedPreconditionError, OutOfRangeError
from estcore.inputs import shard_scope

pytestmark = pytest.mark.smoke


def test_one_shot_get_next_in_a_session_ends_with_out_of_range():
    graph = ec.Graph()
    with graph.as_default():
        ds = Dataset.from_tensor_slices(({"a": np.arange(5)}, np.arange(5) * 10)).batch(2)
        features, labels = ds.make_one_shot_iterator().get_next()
    assert features["a"].shape.as_list() == [None] and labels.dtype is ec.int64
    sess = ec.Session(graph=graph)
    got = [sess.run([features, labels]) for _ in range(3)]
    assert [g[1].tolist() for g in got] == [[0, 10], [20, 30], [40]]
    with pytest.raises(OutOfRangeError):
        sess.run(labels)


def test_initializable_iterator_restarts_and_refuses_before_init():
    graph = ec.Graph()
    with graph.as_default():
        it = tf.data.make_initializable_iterator(Dataset.range(3).map(lambda v: v * 2))
        nxt = it.get_next()
    sess = ec.Session(graph=graph)
    with pytest.raises(FailedPreconditionError, match="not been initialized"):
        sess.run(nxt)
    for _ in range(2):
        sess.run(it.initializer)
        assert [sess.run(nxt) for _ in range(3)] == [0, 2, 4]
        with pytest.raises(OutOfRangeError):
            sess.run(nxt)


def test_one_shot_iterator_has_no_initializer_and_compat_helpers():
    ds = Dataset.range(3).batch(2)
    it = tf.data.make_one_shot_iterator(ds)
    with pytest.raises(ValueError, match="make_initializable_iterator"):
        it.initializer  # noqa: B018 - the property raises
    assert tf.data.get_output_shapes(ds).as_list() == [None]
    assert tf.data.get_output_types(it) is ec.int64
    assert tf.data.experimental.AUTOTUNE == -1


def test_python_iterator_get_next_raises_out_of_range_at_the_end():
    it = iter(Dataset.range(2))
    assert it.get_next() == 0 and it.get_next() == 1
    with pytest.raises(OutOfRangeError):
        it.get_next()


def test_len_of_an_iterator_is_what_is_left_when_known():
    it = iter(Dataset.range(10).batch(3))
    assert len(it) == 4
    next(it)
    assert len(it) == 3 and len(list(it)) == 3 and len(it) == 0
    with pytest.raises(TypeError, match="not known"):
        len(iter(Dataset.range(10).filter(lambda v: v > 3)))
    with shard_scope(1, 3):
        sharded = iter(Dataset.range(10))
    assert len(sharded) == 3 and list(sharded) == [1, 4, 7]


def test_a_tf1_training_loop_on_get_next_ends_with_the_data():
    x = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int32)
    graph = tf.Graph()
    with graph.as_default():
        gs = tf.train.get_or_create_global_step()
        ds = Dataset.from_tensor_slices(({"x": x}, y)).shuffle(100, seed=1).repeat(3).batch(10)
        features, labels = tf.data.make_one_shot_iterator(ds).get_next()
        loss = tf.losses.sparse_softmax_cross_entropy(labels, tf.layers.dense(features["x"], 2))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        steps = 0
        with tf.train.MonitoredTrainingSession() as sess:
            while not sess.should_stop():
                sess.run(train)
                steps += 1
    assert steps == 30  # 3 epochs of 100 rows in batches of 10; OutOfRangeError ends it
