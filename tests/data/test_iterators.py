"""TF1 iterators: get_next() tensors in a plain Session, initializers, exhaustion."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.data import Dataset
from estcore.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from estcore.inputs import shard_scope

from .conftest import linear_model_fn

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


# ---------------------------------------------------------------------- from_structure
# Expected values and messages checked in TF 2.15.1 (tf.compat.v1, graph mode).

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10)


def _drain(sess, tensor):
    out = []
    while True:
        try:
            out.append(sess.run(tensor))
        except OutOfRangeError:
            return out


def test_from_structure_switches_between_train_and_validation_datasets():
    graph = tf.Graph()
    with graph.as_default():
        train_ds = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=1).batch(4)
        val_ds = tf.data.Dataset.from_tensor_slices((X * 10, Y + 100)).batch(3)
        it = tf.data.Iterator.from_structure(train_ds.output_types, train_ds.output_shapes)
        x, y = it.get_next()
        train_init = it.make_initializer(train_ds)
        val_init = it.make_initializer(val_ds)
    assert (x.name, y.name) == ("IteratorGetNext:0", "IteratorGetNext:1")
    assert x.shape.as_list() == [None, 2] and y.shape.as_list() == [None]
    assert it.output_types == (tf.float32, tf.int64)
    assert it.output_classes == (tf.Tensor, tf.Tensor)
    with pytest.raises(ValueError, match="does not have an initializer"):
        it.initializer  # noqa: B018 - from_structure iterators have none (TF)
    sess = tf.Session(graph=graph)
    with pytest.raises(FailedPreconditionError, match="not been initialized"):
        sess.run(x)
    for _ in range(2):  # epochs: each initializer run starts a new pass
        sess.run(train_init)
        got = _drain(sess, [x, y])
        assert [len(b[1]) for b in got] == [4, 4, 2]
        assert sorted(np.concatenate([b[1] for b in got]).tolist()) == list(range(10))
        for features, labels in got:  # rows stay together through the shuffle
            np.testing.assert_array_equal(features, X[labels])
        sess.run(val_init)
        got = _drain(sess, y)
        assert [b.tolist() for b in got] == [[100, 101, 102], [103, 104, 105],
                                             [106, 107, 108], [109]]
    sess.run(train_init)
    sess.run(x)
    sess.run(val_init)  # switching mid-pass starts the other dataset from its start
    assert sess.run(y).tolist() == [100, 101, 102]


def test_make_initializer_checks_the_dataset_as_tf_does():
    with tf.Graph().as_default():
        it = tf.data.Iterator.from_structure((tf.float32, tf.int64), ([None, 2], [None]))
        with pytest.raises(TypeError, match=r"Expected output types \(.*float32, .*int64\) "
                                            r"but got dataset with output types \(.*float32, "
                                            r".*int32\)\."):
            it.make_initializer(tf.data.Dataset.from_tensor_slices((X, Y.astype(np.int32))))
        with pytest.raises(TypeError, match=r"Expected output shapes compatible with "
                                            r"\(TensorShape\(\[None, 2\]\), .*\) but got dataset "
                                            r"with output shapes \(TensorShape\(\[None, 1\]\)"):
            it.make_initializer(tf.data.Dataset.from_tensor_slices((X[:, :1], Y)).batch(4))
        with pytest.raises(ValueError, match="same number of elements"):
            it.make_initializer(tf.data.Dataset.from_tensor_slices(X).batch(4))
        with pytest.raises(ValueError, match="same number of elements"):
            it.make_initializer(tf.data.Dataset.from_tensor_slices((X, Y, Y)).batch(4))
        with pytest.raises(TypeError, match="same nested structure"):
            it.make_initializer(tf.data.Dataset.from_tensor_slices({"a": X, "b": Y}).batch(4))
        with pytest.raises(TypeError, match="must be a tf.data.Dataset"):
            it.make_initializer(5)
        sparse = tf.data.Iterator.from_structure(tf.int64, [None, None],
                                                 output_classes=tf.SparseTensor)
        assert sparse.output_classes is tf.SparseTensor
        assert isinstance(sparse.get_next(), tf.SparseTensor)
        with pytest.raises(TypeError, match="Expected output classes"):
            sparse.make_initializer(Dataset.from_tensor_slices(np.zeros((4, 3), np.int64)))
        with pytest.raises(TypeError, match="Could not build a structure for output class int"):
            tf.data.Iterator.from_structure(tf.int64, [None], output_classes=int)


@pytest.mark.parametrize(("types", "shapes", "expected"), [
    ((tf.float32, tf.int64), None, (None, None)),
    ((tf.float32, tf.int64), ([None, 2], []), ([None, 2], [])),
    ((tf.float32, tf.int64), ((2,), None), ([2], None)),
    (tf.float32, [None, 2], [None, 2]),
    ({"a": tf.float32, "b": tf.int64}, {"a": [2], "b": []}, {"a": [2], "b": []}),
], ids=["no_shapes", "lists", "tuple_and_none", "single", "dict"])
def test_from_structure_reads_shapes_up_to_the_types(types, shapes, expected):
    def dims(s):
        return s.as_list() if s.rank is not None else None

    with tf.Graph().as_default():
        it = tf.data.Iterator.from_structure(types, shapes)
        got = ec.nest.map_structure(dims, it.output_shapes)
        assert got == expected
        assert ec.nest.map_structure(lambda t: dims(t.shape), it.get_next()) == expected


@pytest.mark.parametrize(("shapes", "error", "message"), [
    (([None, 2], [], []), ValueError, "Input structure has length 3, while shallow structure "
                                      "has length 2"),
    ([None, 2], TypeError, "input must also be a sequence. Input has type: 'list'"),
    ({"a": [], "b": []}, TypeError, "same sequence type"),
])
def test_from_structure_refuses_shapes_of_another_structure(shapes, error, message):
    with tf.Graph().as_default(), pytest.raises(error, match=message):
        tf.data.Iterator.from_structure((tf.float32, tf.int64), shapes)


def test_get_next_values_are_checked_against_more_specific_declared_shapes():
    def gen():
        yield np.zeros((3, 2), np.float32)
        yield np.zeros((3, 5), np.float32)

    graph = tf.Graph()
    with graph.as_default():
        it = tf.data.Iterator.from_structure(tf.float32, [None, 2])
        nxt = it.get_next()
        init = it.make_initializer(Dataset.from_generator(gen, tf.float32, [None, None]))
    assert nxt.shape.as_list() == [None, 2]
    sess = tf.Session(graph=graph)
    sess.run(init)
    assert sess.run(nxt).shape == (3, 2)
    with pytest.raises(InvalidArgumentError, match=r"Incompatible shapes at component 0: "
                                                   r"expected \[\?,2\] but got \[3,5\]\."):
        sess.run(nxt)


def test_from_structure_iterator_feeds_an_estimator_after_a_hook_initializes_it(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)

    class InitHook(tf.train.SessionRunHook):
        def after_create_session(self, session, coord):
            session.run(self.init)

    hook = InitHook()

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(8)
        it = tf.data.Iterator.from_structure(ds.output_types, ds.output_shapes)
        hook.init = it.make_initializer(ds)
        return it.get_next()

    est = tf.estimator.Estimator(linear_model_fn, model_dir=str(tmp_path))
    est.train(input_fn, hooks=[hook], steps=150)
    np.testing.assert_allclose(est.get_variable_value("w").ravel(), [1.0, -2.0, 0.5], atol=1e-3)


# ---------------------------------------------------------------------- from_string_handle


def test_feedable_iterator_reads_the_iterator_whose_handle_is_fed():
    graph = tf.Graph()
    with graph.as_default():
        train_ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch(4)
        val_ds = tf.data.Dataset.from_tensor_slices((X * 10, Y)).batch(3)
        handle = tf.placeholder(tf.string, shape=[])
        it = tf.data.Iterator.from_string_handle(handle, train_ds.output_types,
                                                 train_ds.output_shapes)
        x, y = it.get_next()
        train_handle = tf.compat.v1.data.make_one_shot_iterator(train_ds).string_handle()
        val_it = tf.data.make_initializable_iterator(val_ds)
        val_handle = val_it.string_handle()
    assert x.shape.as_list() == [None, 2] and y.shape.as_list() == [None]
    assert train_handle.dtype is tf.string and train_handle.shape.as_list() == []
    with pytest.raises(ValueError, match="does not have an initializer"):
        it.initializer  # noqa: B018
    sess = tf.Session(graph=graph)
    th, vh = sess.run([train_handle, val_handle])
    assert isinstance(th, bytes) and th != vh
    with pytest.raises(FailedPreconditionError, match="not been initialized"):
        sess.run(y, {handle: vh})
    sess.run(val_it.initializer)
    # each iterator keeps its own position (TF: [0 1 2 3] [0 1 2] [4 5 6 7])
    assert sess.run(y, {handle: th}).tolist() == [0, 1, 2, 3]
    assert sess.run(y, {handle: vh}).tolist() == [0, 1, 2]
    f, lab = sess.run([x, y], {handle: th})
    assert lab.tolist() == [4, 5, 6, 7]
    np.testing.assert_array_equal(f, X[4:8])
    np.testing.assert_array_equal(sess.run(x, {handle: vh}), X[3:6] * 10)
    assert sess.run(y, {handle: th}).tolist() == [8, 9]
    with pytest.raises(OutOfRangeError):
        sess.run(y, {handle: th})
    assert sess.run(y, {handle: vh}).tolist() == [6, 7, 8]  # still where it was
    with pytest.raises(InvalidArgumentError, match="Could not parse string_handle"):
        sess.run(y, {handle: b"garbage"})


def test_feedable_iterator_checks_the_fed_iterator_as_tf_does():
    graph = tf.Graph()
    with graph.as_default():
        handle = tf.placeholder(tf.string, shape=[])
        it = tf.data.Iterator.from_string_handle(handle, (tf.float32, tf.int64),
                                                 ([None, 2], [None]))
        _x, y = it.get_next()
        others = {
            "types": Dataset.from_tensor_slices((X, Y.astype(np.int32))).batch(3),
            "count": Dataset.from_tensor_slices(X).batch(3),
            "shapes": Dataset.from_tensor_slices((X[:, :1], Y)).batch(3),
        }
        handles = {k: ds.make_one_shot_iterator().string_handle() for k, ds in others.items()}
        switchable = tf.data.Iterator.from_structure((tf.float32, tf.int64), ([None, 2], [None]))
        switch_init = switchable.make_initializer(Dataset.from_tensor_slices((X, Y)).batch(4))
        switch_handle = switchable.string_handle()
        switchable_y = switchable.get_next()[1]
    with pytest.raises(ValueError, match="requested dtype string for Tensor with dtype int64"):
        tf.data.Iterator.from_string_handle(tf.placeholder(tf.int64, []), tf.int64)
    sess = tf.Session(graph=graph)
    h = sess.run(handles)
    with pytest.raises(InvalidArgumentError, match="Data type mismatch at component 1: "
                                                   "expected int64 but got int32."):
        sess.run(y, {handle: h["types"]})
    with pytest.raises(InvalidArgumentError, match="Number of components does not match: "
                                                   "expected 2 types but got 1."):
        sess.run(y, {handle: h["count"]})
    with pytest.raises(InvalidArgumentError, match=r"Incompatible shapes at component 0: "
                                                   r"expected \[\?,2\] but got \[\?,1\]\."):
        sess.run(y, {handle: h["shapes"]})
    # a reinitializable iterator's handle: the same iterator, the same position (TF)
    sess.run(switch_init)
    assert sess.run(switchable_y).tolist() == [0, 1, 2, 3]
    assert sess.run(y, {handle: sess.run(switch_handle)}).tolist() == [4, 5, 6, 7]
    assert sess.run(switchable_y).tolist() == [8, 9]


def test_a_feedable_iterators_initializer_restarts_the_iterator_it_is_fed():
    graph = tf.Graph()
    with graph.as_default():
        ds = Dataset.from_tensor_slices(Y).batch(4)
        handle = tf.placeholder(tf.string, shape=[])
        feedable = tf.data.Iterator.from_string_handle(handle, ds.output_types, ds.output_shapes)
        restart = feedable.make_initializer(Dataset.from_tensor_slices(Y * 10).batch(4))
        nxt = feedable.get_next()
        target = ds.make_initializable_iterator()
        target_handle = target.string_handle()
        target_next = target.get_next()
        same = feedable.string_handle()
    sess = tf.Session(graph=graph)
    h = sess.run(target_handle)
    assert sess.run(same, {handle: h}) == h
    sess.run(target.initializer)
    assert sess.run(nxt, {handle: h}).tolist() == [0, 1, 2, 3]
    sess.run(restart, {handle: h})  # TF: a MakeIterator on the iterator the handle names
    assert sess.run(target_next).tolist() == [0, 10, 20, 30]


def test_output_classes_of_datasets_and_iterators():
    ds = Dataset.from_tensor_slices(({"a": X}, Y))
    assert ds.output_classes == ({"a": tf.Tensor}, tf.Tensor)
    assert tf.data.get_output_classes(ds.make_one_shot_iterator()) == ({"a": tf.Tensor}, tf.Tensor)
    sparse = tf.data.Dataset.from_generator(
        lambda: iter([]), output_signature=tf.SparseTensorSpec([None, 3], tf.float32))
    assert sparse.output_classes is tf.SparseTensor
