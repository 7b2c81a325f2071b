"""The hooked session: its per-step path (``step_runner``) against ``run``, the
Estimator's feeder, the schedule as the loop applies it, and the global step a run
fetches; with a real estcore Session."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.estimator._session_setup import Feeder
from estcore.estimator.monitored_session import MonitoredSession
from estcore.hooks.basic_hooks import FeedFnHook
from estcore.hooks.schedule import Due
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook

from .tiny_model import linear_model


def _model():
    m = linear_model()
    return m.graph, m.sess, m.gs, m.x, m.y, m.scale, m.loss, m.train


class _Recorder(SessionRunHook):
    """Asks for ``fetch`` (the same request object every step, or a new one per step
    with ``fresh``; every other step only with ``alternate``) and records what it
    sees, including the step's original feeds."""

    def __init__(self, fetch, fresh=False, alternate=False):
        self.fetch, self.fresh, self.alternate = fetch, fresh, alternate
        self.args = SessionRunArgs(fetch)
        self.seen, self.feeds, self.n = [], [], 0

    def before_run(self, run_context):
        self.n += 1
        self.feeds.append(run_context.original_args.feed_dict)
        if self.alternate and self.n % 2:
            return None
        return SessionRunArgs(self.fetch) if self.fresh else self.args

    def after_run(self, run_context, run_values):
        self.seen.append(run_values.results)


def _batches(n=6):
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(4, 2)).astype(np.float32), rng.normal(size=4).astype(np.float32))
            for _ in range(n)]


@pytest.mark.parametrize("fresh,alternate", [(False, False), (True, False), (False, True)])
def test_step_runner_matches_run(fresh, alternate):
    results = {}
    for path in ("run", "step"):
        graph, sess, gs, x, y, _, loss, train = _model()
        hook = _Recorder({"step": gs, "loss": loss}, fresh=fresh, alternate=alternate)
        with graph.as_default(), MonitoredSession(lambda s=sess: s, [hook]) as mon:
            step = mon.step_runner([train, loss], Feeder(x, y))
            losses = []
            for xb, yb in _batches():
                out = (mon.run([train, loss], {x: xb, y: yb}) if path == "run"
                       else step(xb, yb))
                losses.append(out[1])
            results[path] = (losses, hook.seen, sess.run(gs))
        feeds = hook.feeds
        assert len(feeds) == 6 and list(feeds[0]) == [x, y]
        np.testing.assert_array_equal(feeds[2][y], _batches()[2][1])
    assert results["run"][0] == results["step"][0]
    assert results["run"][2] == results["step"][2] == 6
    for a, b in zip(results["run"][1], results["step"][1], strict=True):
        assert a == b if a is None else (a["step"], a["loss"]) == (b["step"], b["loss"])


def test_step_runner_with_a_feeding_hook_and_a_stop_request():
    graph, sess, gs, x, y, scale, loss, train = _model()

    class Stop(SessionRunHook):
        steps = 0

        def after_run(self, run_context, run_values):
            Stop.steps += 1
            assert run_values.results == sess.run(gs) - 1  # fetched before the step
            if Stop.steps == 3:
                run_context.request_stop()

        def before_run(self, run_context):
            return SessionRunArgs(gs)

    with graph.as_default(), MonitoredSession(lambda: sess, [FeedFnHook(lambda: {scale: 0.0}),
                                                             Stop()]) as mon:
        step = mon.step_runner([train, loss], Feeder(x, y))
        w0 = sess.get_variable_values()["w"]
        n = 0
        for xb, yb in _batches():
            if mon.should_stop():
                break
            assert step(xb, yb)[1] == 0.0  # the hook's feed reached the run
            n += 1
        assert n == 3
        np.testing.assert_array_equal(sess.get_variable_values()["w"], w0)  # zero gradients
    mon2 = MonitoredSession(lambda: sess, [FeedFnHook(lambda: {x: _batches()[0][0]})])
    with pytest.raises(RuntimeError, match="fed by a SessionRunHook and user"):
        mon2.step_runner([loss], Feeder(x, y))(*_batches()[0])


def test_feeder_values_follow_its_tensor_order():
    graph = ec.Graph()
    with graph.as_default():
        f = {"b": ec.placeholder(ec.float32, [None]), "a": ec.placeholder(ec.float32, [None])}
        lab = ec.placeholder(ec.int32, [None])
    feeder = Feeder(f, lab)
    assert feeder.tensors == (f["b"], f["a"], lab)
    a, b, c = np.zeros(2, np.float32), np.ones(2, np.float32), np.arange(2, dtype=np.int32)
    assert feeder.values({"a": a, "b": b}, c) == [b, a, c]
    with pytest.raises(ValueError, match="labels of this batch are a list"):
        feeder.values({"a": a, "b": b}, list(c))  # the general path's structure check
    assert feeder({"a": a, "b": b}, c) == {f["b"]: b, f["a"]: a, lab: c}
    assert feeder.values({"a": a, "b": b}, None) is None  # labels left out: the dict path
    assert feeder({"a": a, "b": b}, None) == {f["b"]: b, f["a"]: a}
    with pytest.raises(ValueError, match="have keys"):
        feeder.values({"a": a}, c)
    nested = Feeder({"p": (f["a"], f["b"])}, None)
    assert nested.tensors == (f["a"], f["b"])
    assert nested.values({"p": (a, b)}, None) == [a, b]
    leaf = Feeder(lab, None)
    with pytest.raises(ValueError, match="first batch's were an array"):
        leaf.values([c], None)


def test_step_runner_falls_back_to_feed_dicts():
    graph, sess, gs, x, y, _, loss, train = _model()
    with graph.as_default(), MonitoredSession(lambda: sess, []) as mon:
        feeder = Feeder({"x": x}, y)
        run = mon.step_runner((train, loss), feeder)
        xb, yb = _batches()[0]
        out = run({"x": xb}, yb)
        assert type(out) is tuple and out[1] == pytest.approx(
            float(np.mean((xb.sum(axis=1) - yb) ** 2)))
        probe = mon.step_runner([loss], feeder)
        # float64 labels: the fast path hands them on, the session converts them
        assert probe({"x": xb}, yb.astype(np.float64)) == probe({"x": xb}, yb)
        with pytest.raises(ec.errors.InvalidArgumentError, match="placeholder tensor 'y'"):
            run({"x": xb}, None)  # no labels: fed as a dict without y, the session says so


def test_a_hook_that_edits_the_original_feed_dict_changes_the_run():
    class Edit(SessionRunHook):
        def __init__(self, y):
            self.y = y

        def before_run(self, run_context):
            feed = run_context.original_args.feed_dict
            feed[self.y] = feed[self.y] + 10.0  # TF1: the caller's dict is what runs

    losses = {}
    for path in ("run", "step"):
        graph, sess, gs, x, y, _, loss, train = _model()
        xb, yb = _batches()[0]
        with graph.as_default(), MonitoredSession(lambda s=sess: s, [Edit(y)]) as mon:
            losses[path] = (mon.run(loss, {x: xb, y: yb}) if path == "run"
                            else mon.step_runner(loss, Feeder(x, y))(xb, yb))
    np.testing.assert_allclose(losses["step"], np.mean((xb.sum(axis=1) - yb - 10.0) ** 2),
                               rtol=1e-5)
    assert losses["run"] == losses["step"]


def test_fresh_requests_reuse_the_sessions_compiled_plans():
    graph, sess, gs, x, y, _, loss, train = _model()
    hook = _Recorder(gs, fresh=True)
    with graph.as_default(), MonitoredSession(lambda: sess, [hook]) as mon:
        step = mon.step_runner([train, loss], Feeder(x, y))
        step(*_batches()[0])
        compiled = sess.compile_count
        for xb, yb in _batches():
            step(xb, yb)
        assert sess.compile_count == compiled  # a new layout each step, the same plans
        assert hook.seen[-1] == 6  # the global step before the 7th run


def test_original_args_without_feeds_is_an_empty_dict():
    graph, sess, gs, *_ = _model()
    hook = _Recorder(gs)
    with graph.as_default(), MonitoredSession(lambda: sess, [hook]) as mon:
        mon.step_runner(gs, Feeder(None, None))(None, None)
    assert hook.feeds == [{}]




def test_hooks_fetch_the_global_step_as_it_was_before_the_run():
    """As in TF's Estimator (its training ops run after the global step is read): a
    hook gets the value before the run, as the variable or the tensor it reads as; the
    caller's own fetch gets the value after it, as TF's fetch of the variable."""
    graph, sess, gs, x, y, _, loss, train = _model()
    hook = _Recorder({"variable": gs, "tensor": gs.value()})
    xb, yb = _batches()[0]
    with graph.as_default(), MonitoredSession(lambda: sess, [hook]) as mon:
        assert mon.run([train, gs], {x: xb, y: yb})[1] == 1
        step = mon.step_runner([train, gs], Feeder(x, y))
        assert [int(step(xb, yb)[1]) for _ in range(3)] == [2, 3, 4]
        assert type(step(xb, yb)[1]) is np.int64
        assert sess.run(gs) == 5  # (outside the hooked session: after the runs)
    assert [(s["variable"], s["tensor"]) for s in hook.seen] == [(i, i) for i in range(5)]


class _Every(SessionRunHook):
    """Due every ``n`` iterations; records the iterations of its before_run and
    after_run calls."""

    def __init__(self, n):
        self.n, self.before, self.after = n, [], []

    def before_run(self, run_context):
        self.before.append(run_context.iteration)

    def after_run(self, run_context, run_values):
        self.after.append(run_context.iteration)

    def next_due(self):
        return Due(iteration=self.after[-1] + self.n) if self.after else None


def test_the_loop_calls_only_the_due_hooks_and_counts_iterations():
    graph, sess, gs, x, y, _, loss, train = _model()
    third, every = _Every(3), _Recorder(gs)
    with graph.as_default(), MonitoredSession(lambda: sess, [third, every]) as mon:
        step = mon.step_runner([train, loss], Feeder(x, y))
        for i, (xb, yb) in enumerate(_batches(8)):
            if i == 4:
                mon.run(loss, {x: xb, y: yb})  # run() is an iteration too
            else:
                step(xb, yb)
    assert third.before == third.after == [0, 3, 6]
    assert every.n == 8 and every.seen == [0, 1, 2, 3, 4, 4, 5, 6]  # (run 4: no step)


def test_a_steady_layout_is_compiled_once_into_a_callable():
    graph, sess, gs, x, y, _, loss, train = _model()
    made, make = [], sess.make_callable
    sess.make_callable = lambda *a, **k: made.append(a) or make(*a, **k)
    third, every = _Every(3), _Recorder(gs)
    with graph.as_default(), MonitoredSession(lambda: sess, [third, every]) as mon:
        step = mon.step_runner([train, loss], Feeder(x, y))
        losses = [step(xb, yb)[1] for xb, yb in _batches(8)]
    # two groups of due hooks (with and without `third`): a callable for each once
    # its layout is used a second time
    assert len(made) == 2
    graph, sess, gs, x, y, _, loss, train = _model()
    with graph.as_default(), MonitoredSession(lambda: sess, [_Every(3), _Recorder(gs)]) as mon:
        assert [mon.run([train, loss], {x: xb, y: yb})[1] for xb, yb in _batches(8)] == losses


class _Failing(SessionRunHook):
    def __init__(self, where):
        self.where = where

    def after_create_session(self, session, coord):
        if self.where == "after_create_session":
            raise RuntimeError("boom in after_create_session")

    def end(self, session):
        if self.where == "end":
            raise RuntimeError("boom in end")


class _PendingSave(SessionRunHook):
    """Stands in for a checkpoint hook with a save in flight."""

    def __init__(self):
        self.waited = 0

    def wait_for_pending_save(self):
        self.waited += 1


class _ClosingSession:
    graph = None

    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def test_error_after_session_creation_waits_for_saves_and_closes_the_session():
    pending, sess = _PendingSave(), _ClosingSession()
    with pytest.raises(RuntimeError, match="after_create_session"):
        MonitoredSession(lambda: sess, [pending, _Failing("after_create_session")])
    assert pending.waited == 1 and sess.closed


def test_error_in_end_waits_for_saves_and_closes_the_session():
    pending, sess = _PendingSave(), _ClosingSession()
    mon = MonitoredSession(lambda: sess, [_Failing("end"), pending])
    with pytest.raises(RuntimeError, match="boom in end"):
        mon.close()
    assert pending.waited == 1 and sess.closed


def test_the_callers_global_step_is_after_the_run_hooks_see_it_before():
    """TF 2.15: MonitoredSession.run([train_op, global_step]) gives the incremented step;
    its hooks read the step before the increment."""
    import estcore.compat.v1 as tf

    with tf.Graph().as_default():
        gs = tf.train.get_or_create_global_step()
        v = tf.Variable(1.0)
        op = tf.train.GradientDescentOptimizer(0.1).minimize(v * v, global_step=gs)
        seen = []

        class Hook(tf.train.SessionRunHook):
            def before_run(self, run_context):
                return tf.train.SessionRunArgs(gs)

            def after_run(self, run_context, run_values):
                seen.append(int(run_values.results))

        with tf.train.MonitoredSession(hooks=[Hook()]) as sess:
            got = [sess.run([op, gs, v])[1:] for _ in range(2)]
    assert [(int(s), round(float(x), 4)) for s, x in got] == [(1, 0.8), (2, 0.64)]
    assert seen == [0, 1]
