"""TF1's feed-at-initialization pattern: ``from_tensor_slices(placeholders)`` read through
an initializable iterator whose initializer is run with a feed_dict (in a Session, and
from an ``IteratorInitializerHook`` under an Estimator)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError

from .conftest import linear_model_fn

pytestmark = pytest.mark.smoke


def test_session_feeds_the_source_arrays_and_reinit_restarts_with_new_ones():
    graph = tf.Graph()
    with graph.as_default():
        x_ph = tf.placeholder(tf.float32, [None, 2])
        y_ph = tf.placeholder(tf.int64, [None])
        ds = tf.data.Dataset.from_tensor_slices((x_ph, y_ph)).batch(2)
        it = ds.make_initializable_iterator()
        features, labels = it.get_next()
    assert features.shape.as_list() == [None, 2] and labels.dtype is tf.int64
    sess = tf.Session(graph=graph)
    with pytest.raises(FailedPreconditionError, match="not been initialized"):
        sess.run(features)
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    sess.run(it.initializer, feed_dict={x_ph: x, y_ph: np.arange(5)})
    assert it._pass.path == "c_stream"  # bound numeric slices run on the C stream
    got = [sess.run([features, labels]) for _ in range(3)]
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), x)
    assert [g[1].tolist() for g in got] == [[0, 1], [2, 3], [4]]
    with pytest.raises(OutOfRangeError):
        sess.run(labels)
    # re-running the initializer starts a new pass over the newly fed arrays
    sess.run(it.initializer, feed_dict={x_ph: -x[:3], y_ph: np.array([7, 8, 9])})
    f, lab = sess.run([features, labels])
    np.testing.assert_array_equal(f, -x[:2])
    assert lab.tolist() == [7, 8]
    sess.run(it.initializer, feed_dict={x_ph: x[:1], y_ph: np.array([5])})
    assert sess.run(labels).tolist() == [5]  # restarted in the middle of the last pass


def test_dict_features_shuffle_and_map_over_fed_arrays():
    graph = tf.Graph()
    with graph.as_default():
        a_ph = tf.placeholder(tf.int64, [None])
        ds = (tf.data.Dataset.from_tensor_slices(({"a": a_ph}, np.arange(6) * 10))
              .map(lambda f, y: ({"a": f["a"] * 2}, y)).shuffle(6, seed=3).batch(6))
        it = ds.make_initializable_iterator()
        features, labels = it.get_next()
    sess = tf.Session(graph=graph)
    sess.run(it.initializer, feed_dict={a_ph: np.arange(6)})
    f, lab = sess.run([features, labels])
    assert sorted(f["a"].tolist()) == [0, 2, 4, 6, 8, 10]
    assert (f["a"] * 5).tolist() == lab.tolist()  # rows stay together


def test_fed_values_are_checked_and_one_shot_iterators_refused():
    graph = tf.Graph()
    with graph.as_default():
        x_ph = tf.placeholder(tf.float32, [None, 2])
        y_ph = tf.placeholder(tf.float32, [None])
        ds = tf.data.Dataset.from_tensor_slices((x_ph, y_ph))
        with pytest.raises(ValueError, match="make_initializable_iterator"):
            ds.make_one_shot_iterator()
        it = ds.make_initializable_iterator()
        it.get_next()
    with pytest.raises(FailedPreconditionError, match="initializer"):
        list(ds)
    sess = tf.Session(graph=graph)
    with pytest.raises(InvalidArgumentError, match="same size in the first dimension"):
        sess.run(it.initializer, feed_dict={x_ph: np.zeros((3, 2)), y_ph: np.zeros(2)})


class IteratorInitializerHook(tf.train.SessionRunHook):
    """The hook as TF1 programs wrote it."""

    def __init__(self):
        super().__init__()
        self.iterator_initializer_func = None

    def after_create_session(self, session, coord):
        self.iterator_initializer_func(session)


def get_inputs(x, y, batch_size, repeat):
    hook = IteratorInitializerHook()

    def input_fn():
        x_ph = tf.placeholder(x.dtype, x.shape)
        y_ph = tf.placeholder(y.dtype, y.shape)
        ds = tf.data.Dataset.from_tensor_slices((x_ph, y_ph))
        ds = ds.repeat(None if repeat else 1).batch(batch_size)
        it = ds.make_initializable_iterator()
        next_x, next_y = it.get_next()
        hook.iterator_initializer_func = lambda sess: sess.run(
            it.initializer, feed_dict={x_ph: x, y_ph: y})
        return {"x": next_x}, next_y

    return input_fn, hook


def test_estimator_train_evaluate_predict_with_an_iterator_initializer_hook(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)
    est = tf.estimator.Estimator(linear_model_fn, model_dir=str(tmp_path))
    train_fn, train_hook = get_inputs(x, y, 16, repeat=True)
    est.train(train_fn, hooks=[train_hook], steps=200)
    assert est.get_variable_value("global_step") == 200
    np.testing.assert_allclose(est.get_variable_value("w").ravel(), [1.0, -2.0, 0.5], atol=1e-3)
    eval_fn, eval_hook = get_inputs(x, y, 10, repeat=False)
    metrics = est.evaluate(eval_fn, hooks=[eval_hook])  # the pass's end ends evaluate
    assert metrics["loss"] < 1e-5
    pred_fn, pred_hook = get_inputs(x[:5], y[:5], 2, repeat=False)
    preds = [p["y"] for p in est.predict(pred_fn, hooks=[pred_hook])]
    np.testing.assert_allclose(preds, y[:5], atol=1e-3)


def test_estimator_without_the_hook_names_the_missing_initializer(tmp_path):
    x = np.zeros((4, 3), np.float32)
    est = tf.estimator.Estimator(linear_model_fn, model_dir=str(tmp_path))
    train_fn, _hook = get_inputs(x, np.zeros(4, np.float32), 2, repeat=False)
    with pytest.raises(FailedPreconditionError, match="initializer"):
        est.train(train_fn, steps=1)


@pytest.mark.parametrize("chunks", [False, True])
def test_a_started_pass_keeps_its_arrays_when_another_iterator_is_initialized(chunks):
    graph = tf.Graph()
    with graph.as_default():
        ph = tf.placeholder(tf.int64, [None])
        ds = tf.data.Dataset.from_tensor_slices(ph)
        if chunks:
            ds = ds.map(lambda v: v + 0)
        ds = ds.batch(1000)
        first, second = ds.make_initializable_iterator(), ds.make_initializable_iterator()
        a, b = first.get_next(), second.get_next()
    sess = tf.Session(graph=graph)
    sess.run(first.initializer, feed_dict={ph: np.arange(5000)})  # more than one chunk
    assert first._pass.path == ("chunks" if chunks else "c_stream")
    assert sess.run(a).tolist() == list(range(1000))
    sess.run(second.initializer, feed_dict={ph: np.arange(10**6, 10**6 + 5000)})
    assert sess.run(b)[0] == 10**6
    rest = np.concatenate([sess.run(a) for _ in range(4)])
    np.testing.assert_array_equal(rest, np.arange(1000, 5000))
