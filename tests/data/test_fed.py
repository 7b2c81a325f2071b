"""Dataset arguments given as placeholders and bound when an initializable iterator's
initializer runs (TF1's ``ds.batch(bs_placeholder)`` + ``sess.run(it.initializer,
{bs: 32})``). Expected values and messages checked in TF 2.15.1 (tf.compat.v1)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data import Dataset
from estcore.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError

from .conftest import linear_model_fn

pytestmark = pytest.mark.smoke

X = np.arange(20, dtype=np.float32).reshape(10, 2)


def _drain(sess, tensor, limit=12):
    out = []
    while len(out) < limit:
        try:
            out.append(np.asarray(sess.run(tensor)).tolist())
        except OutOfRangeError:
            break
    return out


def test_batch_size_placeholder_is_bound_by_each_initializer_run():
    graph = tf.Graph()
    with graph.as_default():
        bs = tf.placeholder(tf.int64, [])
        ds = tf.data.Dataset.from_tensor_slices(X).batch(bs)
        it = ds.make_initializable_iterator()
        nxt = it.get_next()
    assert ds.output_shapes.as_list() == [None, 2] and nxt.shape.as_list() == [None, 2]
    assert ds.cardinality() == tf.data.experimental.UNKNOWN_CARDINALITY
    with pytest.raises(FailedPreconditionError, match="`batch_size` is the graph tensor "
                                                      "'Placeholder:0'.*initializer"):
        list(ds)
    with pytest.raises(ValueError, match="make_initializable_iterator"):
        ds.make_one_shot_iterator()
    sess = tf.Session(graph=graph)
    sess.run(it.initializer, {bs: 4})
    assert it._pass.path == "c_stream"  # the bound pipeline is the C stream's shape
    assert ds.cardinality() == 3
    assert [len(b) for b in _drain(sess, nxt)] == [4, 4, 2]
    sess.run(it.initializer, {bs: 3})
    assert [len(b) for b in _drain(sess, nxt)] == [3, 3, 3, 1]
    # a bad value is TF's error at the initializer and leaves the iterator as it was
    with pytest.raises(InvalidArgumentError, match="Batch size must be greater than zero."):
        sess.run(it.initializer, {bs: 0})
    with pytest.raises(OutOfRangeError):
        sess.run(nxt)
    with pytest.raises(InvalidArgumentError, match="must feed a value for placeholder"):
        sess.run(it.initializer)


def test_fed_drop_remainder_and_static_batch_dimensions():
    graph = tf.Graph()
    with graph.as_default():
        drop = tf.placeholder(tf.bool, [])
        bs = tf.placeholder(tf.int64, [])
        fed_drop = Dataset.from_tensor_slices(X).batch(3, drop_remainder=drop)
        assert fed_drop.output_shapes.as_list() == [None, 2]
        fed_size = Dataset.from_tensor_slices(X).batch(bs, drop_remainder=True)
        assert fed_size.output_shapes.as_list() == [None, 2]
        folded = Dataset.range(10).batch(tf.constant(3, tf.int64), drop_remainder=True)
        assert folded.output_shapes.as_list() == [3]  # a constant is a value (TF folds it)
        it = fed_drop.make_initializable_iterator()
        nxt = it.get_next()
    sess = tf.Session(graph=graph)
    sess.run(it.initializer, {drop: True})
    assert [len(b) for b in _drain(sess, nxt)] == [3, 3, 3]
    sess.run(it.initializer, {drop: False})
    assert [len(b) for b in _drain(sess, nxt)] == [3, 3, 3, 1]


@pytest.mark.parametrize(("dtype", "shape", "message"), [
    (tf.int32, [], "batch_size: Tensor conversion requested dtype int64 for Tensor with "
                   "dtype int32"),
    (tf.float32, [], "requested dtype int64 for Tensor with dtype float32"),
    (tf.int64, [None], "Shape must be rank 0 but is rank 1"),
])
def test_fed_arguments_are_int64_scalars_as_in_tf(dtype, shape, message):
    with tf.Graph().as_default(), pytest.raises(ValueError, match=message):
        Dataset.from_tensor_slices(X).batch(tf.placeholder(dtype, shape))


def test_drop_remainder_must_be_a_bool_tensor():
    with tf.Graph().as_default(), pytest.raises(ValueError, match="requested dtype bool"):
        Dataset.from_tensor_slices(X).batch(2, drop_remainder=tf.placeholder(tf.int64, []))


# value -> elements (or the error) as TF 2.15.1 gives them, range(5) as the input
FED = {
    "take": (lambda d, n: d.take(n), {2: [0, 1], 0: [], -1: [0, 1, 2, 3, 4],
                                      -2: [0, 1, 2, 3, 4]}),
    "skip": (lambda d, n: d.skip(n), {2: [2, 3, 4], 0: [0, 1, 2, 3, 4], -1: [], -2: []}),
    "repeat": (lambda d, n: d.repeat(n), {2: [0, 1, 2, 3, 4] * 2, 0: [],
                                          -1: [0, 1, 2, 3, 4] * 2 + [0, 1],
                                          -2: [0, 1, 2, 3, 4] * 2 + [0, 1]}),
    "shuffle": (lambda d, n: d.shuffle(n, seed=1), {
        2: "permutation", 0: "buffer_size must be greater than zero.",
        -1: "buffer_size must be greater than zero."}),
    "shard": (lambda d, n: d.shard(n, 0), {
        2: [0, 2, 4], 0: r"Number of shards must be greater than zero \(currently "
                         r"num_shards = 0\)\."}),
    "prefetch": (lambda d, n: d.prefetch(n), {
        2: [0, 1, 2, 3, 4], 0: [0, 1, 2, 3, 4], -1: [0, 1, 2, 3, 4],
        -2: "buffer_size must be >= 0 or set buffer_size to be -1 for auto-tuning"}),
    "padded_batch": (lambda d, n: d.map(lambda v: tf.fill([2], v)).padded_batch(n, [2]), {
        2: [[[0, 0], [1, 1]], [[2, 2], [3, 3]], [[4, 4]]],
        0: "Batch size must be greater than zero.", -1: "Batch size must be greater than "
                                                        "zero."}),
    "enumerate": (lambda d, n: d.take(2).enumerate(n), {3: [[3, 0], [4, 1]]}),
    "range": (lambda _d, n: Dataset.range(n), {3: [0, 1, 2], 0: [], -1: []}),
    "range_step": (lambda _d, n: Dataset.range(0, 5, n), {
        2: [0, 2, 4], -1: [], 0: "step must be a non-zero integer."}),
}


@pytest.mark.parametrize(("name", "value", "expected"), [
    (name, v, e) for name, (_make, cases) in FED.items() for v, e in cases.items()],
    ids=lambda x: str(x)[:12])
def test_fed_counts_and_sizes_behave_as_tf(name, value, expected):
    make = FED[name][0]
    graph = tf.Graph()
    with graph.as_default():
        n = tf.placeholder(tf.int64, [])
        it = make(Dataset.range(5), n).make_initializable_iterator()
        nxt = it.get_next()
    sess = tf.Session(graph=graph)
    if isinstance(expected, str) and expected != "permutation":
        with pytest.raises(InvalidArgumentError, match=expected):
            sess.run(it.initializer, {n: value})
        return
    sess.run(it.initializer, {n: value})
    got = _drain(sess, nxt)
    if expected == "permutation":
        assert sorted(got) == [0, 1, 2, 3, 4]
    else:
        assert got == expected


def test_fed_shard_index_is_checked_against_num_shards_when_bound():
    graph = tf.Graph()
    with graph.as_default():
        n = tf.placeholder(tf.int64, [])
        it = Dataset.range(5).shard(n, 3).make_initializable_iterator()
        nxt = it.get_next()
    sess = tf.Session(graph=graph)
    with pytest.raises(InvalidArgumentError, match=r"Index must be between 0 and 1 "
                                                   r"\(currently index = 3\)\."):
        sess.run(it.initializer, {n: 2})
    with pytest.raises(FailedPreconditionError, match="not been initialized"):
        sess.run(nxt)
    with pytest.raises(InvalidArgumentError, match=r"currently index = 3"):
        sess.run(it.initializer, {n: 3})
    sess.run(it.initializer, {n: 4})
    assert _drain(sess, nxt) == [3]


def test_a_reinitializable_iterator_binds_the_fed_tensors_of_each_dataset():
    graph = tf.Graph()
    with graph.as_default():
        bs = tf.placeholder(tf.int64, [])
        x_ph = tf.placeholder(tf.float32, [None, 2])
        train = Dataset.from_tensor_slices(x_ph).batch(bs)
        val = Dataset.from_tensor_slices(X).batch(4)
        it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
        nxt = it.get_next()
        train_init, val_init = it.make_initializer(train), it.make_initializer(val)
    sess = tf.Session(graph=graph)
    sess.run(train_init, {bs: 2, x_ph: X[:5]})
    assert [len(b) for b in _drain(sess, nxt)] == [2, 2, 1]
    sess.run(val_init)
    assert [len(b) for b in _drain(sess, nxt)] == [4, 4, 2]
    with pytest.raises(InvalidArgumentError, match="Batch size must be greater than zero."):
        sess.run(train_init, {bs: 0, x_ph: X})


def test_from_tensors_and_computed_arguments_take_the_initializers_values():
    graph = tf.Graph()
    with graph.as_default():
        x_ph = tf.placeholder(tf.float32, [None, 2])
        bs = tf.placeholder(tf.int64, [])
        one = Dataset.from_tensors(x_ph)
        assert one.output_shapes.as_list() == [None, 2] and one.cardinality() == 1
        it = one.repeat(2).make_initializable_iterator()
        nxt = it.get_next()
        doubled = Dataset.range(10).batch(bs * 2).make_initializable_iterator()
        batch = doubled.get_next()
        v = tf.Variable(3, dtype=tf.int64)
        with pytest.raises(ValueError, match="Variable"):
            Dataset.range(10).batch(v).make_one_shot_iterator()
    sess = tf.Session(graph=graph)
    sess.run(it.initializer, {x_ph: X[:3]})
    got = _drain(sess, nxt)
    assert len(got) == 2 and got[0] == X[:3].tolist() == got[1]
    sess.run(doubled.initializer, {bs: 2})
    assert sess.run(batch).tolist() == [0, 1, 2, 3]


def test_estimator_reads_a_pipeline_with_a_fed_batch_size(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)
    seen = []

    class InitHook(tf.train.SessionRunHook):
        def after_create_session(self, session, coord):
            session.run(self.init, {self.bs: 8})

    hook = InitHook()

    def input_fn():
        hook.bs = tf.placeholder(tf.int64, [])
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(hook.bs)
        it = ds.make_initializable_iterator()
        hook.init = it.initializer
        return it.get_next()

    def model_fn(features, labels, mode):
        seen.append(features["x"].shape.as_list())
        return linear_model_fn(features, labels, mode)

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(input_fn, hooks=[hook])  # the end of the pass ends train
    assert seen == [[None, 3]]
    assert est.get_variable_value("global_step") == 5  # 40 rows in batches of the fed 8


def test_two_iterators_of_one_dataset_keep_their_own_fed_values():
    """TF captures the fed values per iterator when its initializer runs."""
    with tf.Graph().as_default(), tf.Session() as sess:
        bs = tf.placeholder(tf.int64, [])
        ds = tf.data.Dataset.range(10).batch(bs)
        a, b = ds.make_initializable_iterator(), ds.make_initializable_iterator()
        sess.run(a.initializer, {bs: 4})
        sess.run(b.initializer, {bs: 1})
        na, nb = a.get_next(), b.get_next()
        assert [sess.run(na).tolist(), sess.run(nb).tolist(), sess.run(na).tolist(),
                sess.run(nb).tolist()] == [[0, 1, 2, 3], [0], [4, 5, 6, 7], [1]]
        p = tf.placeholder(tf.int64, [None])
        slices = tf.data.Dataset.from_tensor_slices(p).map(lambda v: v * 2)
        c, d = slices.make_initializable_iterator(), slices.make_initializable_iterator()
        sess.run(c.initializer, {p: [1, 2, 3]})
        sess.run(d.initializer, {p: [9, 8]})
        nc, nd = c.get_next(), d.get_next()
        assert [int(sess.run(nc)) for _ in range(3)] == [2, 4, 6]
        assert [int(sess.run(nd)) for _ in range(2)] == [18, 16]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(nc)
