"""views_scope: the Estimator's Dataset input hands out read-only views of unshuffled
in-memory data, and trains exactly as on the C stream's copies."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.data import Dataset
from estcore.estimator import Estimator, EstimatorSpec, RunConfig
from estcore.hooks.session_run_hook import SessionRunHook
from estcore.inputs.source import make_input_source
from estcore.inputs.views import views_allowed, views_scope

pytestmark = pytest.mark.smoke

X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int32)


def test_the_scope_is_set_inside_and_reset_after_even_on_an_error():
    assert not views_allowed()
    with views_scope():
        assert views_allowed()
        with views_scope():
            assert views_allowed()
        assert views_allowed()
    assert not views_allowed()
    with pytest.raises(KeyError), views_scope():
        raise KeyError("x")
    assert not views_allowed()


def test_a_dataset_input_reads_unshuffled_data_as_read_only_views():
    source = make_input_source(Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(16))
    assert source.stream.path == "views"
    features, labels = source.next_batch()
    assert np.shares_memory(features["x"], X) and not features["x"].flags.writeable
    np.testing.assert_array_equal(labels, Y[:16])
    shuffled = make_input_source(Dataset.from_tensor_slices(({"x": X}, Y)).shuffle(40).batch(16))
    assert shuffled.stream.path == "c_stream"
    assert not views_allowed()  # the scope ends with the call


def test_get_next_tensors_are_fed_from_views():
    with ec.Graph().as_default():
        ds = Dataset.from_tensor_slices(({"x": X}, Y)).batch(16)
        source = make_input_source(ds.make_one_shot_iterator().get_next())
    features, _ = source.next_batch()
    assert not features["x"].flags.writeable
    np.testing.assert_array_equal(features["x"], X[:16])


def _model_fn(features, labels, mode):
    logits = ec.layers.dense(features["x"], 2)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(0.1).minimize(loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


class _Feeds(SessionRunHook):
    """Records whether each step's features were a read-only array."""

    def __init__(self):
        self.read_only = []

    def before_run(self, run_context):
        feed = run_context.original_args.feed_dict
        self.read_only.append(all(not v.flags.writeable for v in feed.values()
                                  if v.dtype == np.float32))


def test_training_on_views_equals_training_on_the_stream(tmp_path):
    def train(input_fn, where):
        est = Estimator(_model_fn, model_dir=str(tmp_path / where),
                        config=RunConfig(tf_random_seed=3))
        feeds = _Feeds()
        est.train(input_fn, steps=7, hooks=[feeds])
        return ({n: est.get_variable_value(n) for n in est.get_variable_names()},
                feeds.read_only)

    def views():
        return Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(16)

    def copies():  # the same pipeline on the chunk path (a map the matcher does not take)
        return views().map(lambda f, y: (f, y))

    got, read_only = train(views, "views")
    want, copied = train(copies, "copies")
    assert all(read_only) and not any(copied)  # steps 3, 6 (40 rows, batch 16) cross a pass
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


# ---- numpy_input_fn: an unshuffled stream switched to views ---------------------------

def _batches(stream, limit=100):
    out = []
    for batch in stream:
        out.append(batch)
        if len(out) == limit:
            break
    return out


@pytest.mark.parametrize("batch_size,num_epochs", [(16, 1), (16, 3), (40, 2), (7, None),
                                                   (64, 2), (1, 2), (100, 1), (100, 3)])
def test_an_unshuffled_numpy_input_reads_views_with_the_streams_batches(batch_size,
                                                                         num_epochs):
    def stream():
        return ec.estimator.inputs.numpy_input_fn(
            {"x": X, "half": X[:, :2]}, Y, batch_size=batch_size, num_epochs=num_epochs,
            shuffle=False)()

    want = _batches(stream())  # the C workers' copies, as a user iterating it gets them
    assert all(f["x"].flags.writeable for f, _ in want)
    s = stream()
    make_input_source(s)
    got = _batches(s)
    assert len(got) == len(want)
    n_views = 0
    for (wf, wl), (gf, gl) in zip(want, got, strict=True):
        for key in wf:
            assert gf[key].dtype == wf[key].dtype and gf[key].shape == wf[key].shape
            np.testing.assert_array_equal(gf[key], wf[key])
            assert not gf[key].flags.writeable or not np.shares_memory(gf[key], X)
        np.testing.assert_array_equal(gl, wl)
        n_views += np.shares_memory(gf["x"], X)
    rows = len(X) * num_epochs if num_epochs else None
    wraps = 0 if rows is None else sum(  # batches that run from one pass into the next
        (k * batch_size) // len(X) != (min((k + 1) * batch_size, rows) - 1) // len(X)
        for k in range(len(want)))
    if rows is not None:
        assert n_views == len(want) - wraps


def test_numpy_input_views_only_where_nothing_changes():
    def stream(**kw):
        return ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, **kw)()

    shuffled = stream(shuffle=True)
    assert not shuffled._use_read_only_views()
    assert shuffled._view_next is None and shuffled.get_state()["batches_consumed"] == 0
    started = stream(shuffle=False)
    next(started)
    assert not started._use_read_only_views()  # a batch was handed out already
    with ec.inputs.shard_scope(0, 2):
        sharded = stream(shuffle=False)
    assert not sharded._use_read_only_views()
    for s in (shuffled, started, sharded):
        s.close()


def test_numpy_input_views_keep_the_resume_state_and_close():
    def stream(state=None):
        fn = ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=2,
                                                shuffle=False)
        return fn(state=state)

    c_path, views = stream(), stream()
    assert views._use_read_only_views()
    for _ in range(3):
        next(c_path)
        next(views)
    state, want = views.get_state(), c_path.get_state()
    assert {**state, "seed": 0} == {**want, "seed": 0}  # the seed is drawn (unshuffled: unused)
    resumed = stream(state)  # a C stream resumed from a view-mode state
    np.testing.assert_array_equal(next(resumed)[0]["x"], next(views)[0]["x"])
    views.close()
    assert views.closed
    with pytest.raises(ec.errors.CancelledError):
        next(views)
    for s in (c_path, resumed):
        s.close()


def test_evaluate_on_numpy_input_views_equals_evaluate_on_copies(tmp_path):
    est = Estimator(_model_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=3))
    est.train(ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=8, num_epochs=2,
                                                 shuffle=True), steps=6)
    fortran = np.asfortranarray(X)
    strided = np.repeat(X, 2, axis=0)[::2]
    results = []
    for x in (X, fortran, strided):
        results.append(est.evaluate(ec.estimator.inputs.numpy_input_fn(
            {"x": x}, Y, batch_size=16, shuffle=False)))
    results.append(est.evaluate(lambda: Dataset.from_tensor_slices(({"x": X}, Y)).batch(16)))
    for r in results[1:]:
        assert r == results[0]


@pytest.mark.parametrize("x,y", [(X, None), ({"x": X}, {"y": Y, "z": X[:, 0]}), (X, Y)])
def test_numpy_input_views_pack_like_the_stream(x, y):
    def stream():
        return ec.estimator.inputs.numpy_input_fn(x, y, batch_size=16, num_epochs=2,
                                                  shuffle=False)()

    want = _batches(stream())
    s = stream()
    assert s._use_read_only_views()
    got = _batches(s)
    assert len(got) == len(want) == 5
    for w, g in zip(want, got, strict=True):
        w_leaves, g_leaves = ec.nest.flatten(w), ec.nest.flatten(g)
        assert len(w_leaves) == len(g_leaves)
        for wl, gl in zip(w_leaves, g_leaves, strict=True):
            assert type(gl) is np.ndarray and gl.dtype == wl.dtype
            np.testing.assert_array_equal(gl, wl)
    first = ec.nest.flatten(got[0])
    assert all(not a.flags.writeable for a in first)  # labels too
    if y is Y:
        assert np.shares_memory(first[-1], Y)


def test_a_resumed_stream_switches_to_views_at_its_position():
    fn = ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=2,
                                            shuffle=False)
    c_path = fn()
    for _ in range(2):
        next(c_path)
    resumed = fn(state=c_path.get_state())
    assert resumed._use_read_only_views()
    rest_views, rest_copies = _batches(resumed), _batches(c_path)
    assert len(rest_views) == len(rest_copies) == 3
    for (wf, wl), (gf, gl) in zip(rest_copies, rest_views, strict=True):
        np.testing.assert_array_equal(gf["x"], wf["x"])
        np.testing.assert_array_equal(gl, wl)


def test_numpy_input_views_end_like_the_stream():
    s = ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, shuffle=False)()
    assert s._use_read_only_views()
    assert len(list(s)) == 3  # the for loop closes the stream at its end
    assert s.closed and list(s) == []  # exhausted stays exhausted, closed or not
    fresh = ec.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, shuffle=False)()
    assert fresh._use_read_only_views()
    fresh._view_busy.acquire()  # another thread is reading it
    try:
        with pytest.raises(RuntimeError, match="one consumer at a time"):
            next(fresh)
    finally:
        fresh._view_busy.release()
    next(fresh)
    fresh.close()
    with pytest.raises(ec.errors.CancelledError, match="closed"):
        next(fresh)
