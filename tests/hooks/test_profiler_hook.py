"""``ProfilerHook`` and ``graph.profiling.trace_next_run``: TF1's trigger rule and file
names, the Chrome trace's contents (one event per kernel of the step's plan, with its graph
node; dataflow arrows; the memory counter), an unchanged result and session after a traced
step, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.graph.profiling import disarm, trace_next_run
from estcore.hooks.profiler_hook import ProfilerHook, chrome_trace


def _mlp():
    x = ec.placeholder(ec.float32, [None, 8], name="x")
    y = ec.placeholder(ec.int32, [None], name="y")
    h = ec.layers.dense(x, 16, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    loss = ec.losses.sparse_softmax_cross_entropy(y, logits)
    train = ec.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, y, loss, train


def _batch():
    rng = np.random.default_rng(0)
    return rng.random((32, 8), dtype=np.float32), rng.integers(0, 3, 32).astype(np.int32)


def _two_steps(use_callable: bool, traced: bool):
    """The losses of steps 2 and 3 of a fresh model (step 2 traced when ``traced``)."""
    xs, ys = _batch()
    with ec.Graph().as_default():
        ec.set_random_seed(1)
        x, y, loss, train = _mlp()
        sess = ec.Session()
        sess.run(ec.global_variables_initializer())
        if use_callable:
            run = sess.make_callable([train, loss], [x, y])
        else:
            def run(a, b):
                return sess.run([train, loss], {x: a, y: b})
        run(xs, ys)
        trace = trace_next_run(sess) if traced else None
        losses = [run(xs, ys)[1], run(xs, ys)[1]]
        return losses, trace, sess


@pytest.mark.parametrize("use_callable", [False, True])
def test_traced_run_computes_the_same_and_times_every_kernel(use_callable):
    plain, _, _ = _two_steps(use_callable, traced=False)
    timed, trace, sess = _two_steps(use_callable, traced=True)
    assert plain == timed                # the timed step computes exactly the same
    assert trace.done and "_execute" not in sess.__dict__
    ops = [e.op for e in trace.events]
    names = [e.name for e in trace.events]
    assert "SparseSoftmaxCrossEntropyWithLogits" in ops
    assert any(n.startswith("dense_1/") for n in names)
    assert all(e.dur_ns >= 0 for e in trace.events)
    starts = [e.start_ns for e in trace.events]
    assert starts == sorted(starts)
    assert trace.planned_bytes > 0
    assert sum(e.dur_ns for e in trace.events) <= trace.wall_ns


def test_plan_compiled_during_the_traced_run_is_timed_and_restored():
    with ec.Graph().as_default():
        a = ec.placeholder(ec.float32, [None])
        b = ec.reduce_sum(ec.square(a))
        sess = ec.Session()
        trace = trace_next_run(sess)
        assert sess.run(b, {a: [1.0, 2.0]}) == 5.0
        assert trace.done and trace.events
        plan = next(p for fam in sess._families.values() for p in fam.plans.values())
        assert not any(getattr(s, "__name__", "") in ("run_numpy", "run_program")
                       for s in plan.steps)


def test_failed_run_leaves_nothing_armed():
    with ec.Graph().as_default():
        v = ec.Variable(1.0)
        sess = ec.Session()
        trace_next_run(sess)
        with pytest.raises(ec.errors.FailedPreconditionError):
            sess.run(v + 1.0)
        assert "_execute" not in sess.__dict__ and "_compile" not in sess.__dict__
        disarm(sess)                                  # harmless when nothing is armed
        sess.run(v.initializer)
        assert sess.run(v + 1.0) == 2.0


def test_chrome_trace_contents():
    xs, ys = _batch()
    with ec.Graph().as_default():
        x, y, loss, train = _mlp()
        sess = ec.Session()
        sess.run(ec.global_variables_initializer())
        trace = trace_next_run(sess)
        sess.run(train, {x: xs, y: ys})
    data = chrome_trace(trace, show_dataflow=True, show_memory=True)
    json.dumps(data)
    events = data["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == len(trace.events)
    first = complete[0]
    assert first["cat"] == "Op" and first["args"]["name"] == trace.events[0].name
    assert {"s", "f"} <= {e["ph"] for e in events}
    (counter,) = [e for e in events if e["ph"] == "C"]
    assert counter["args"]["bytes"] == trace.planned_bytes
    plain = chrome_trace(trace, show_dataflow=False, show_memory=False)["traceEvents"]
    assert not [e for e in plain if e["ph"] in ("s", "f", "C")]


def _model_fn(features, labels, mode):
    logits = tf.layers.dense(tf.layers.dense(features["x"], 8, activation=tf.nn.relu), 3)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train = tf.train.AdamOptimizer(0.01).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)


def test_hook_writes_timelines_on_tf1_steps(tmp_path):
    xs, ys = _batch()
    est = tf.estimator.Estimator(_model_fn, str(tmp_path / "model"))
    hook = tf.train.ProfilerHook(save_steps=4, output_dir=str(tmp_path / "prof"),
                                 show_memory=True)
    est.train(tf.estimator.inputs.numpy_input_fn({"x": xs}, ys, batch_size=8, num_epochs=None,
                                                 shuffle=False), steps=10, hooks=[hook])
    files = sorted(p.name for p in (tmp_path / "prof").iterdir())
    # TF's rule: the first step primes the timer; then a step whose post-run global step
    # reaches the period is traced, and its file is named after that step
    assert files == ["timeline-4.json", "timeline-8.json"]
    data = json.loads((tmp_path / "prof" / "timeline-8.json").read_text())
    ops = {e["name"] for e in data["traceEvents"] if e["ph"] == "X"}
    assert "SparseSoftmaxCrossEntropyWithLogits" in ops
    assert est.get_variable_value("global_step") == 10


def test_hook_errors():
    with pytest.raises(ValueError, match="Either every_secs or every_steps"):
        ProfilerHook()
    with pytest.raises(ValueError, match="Can not provide both"):
        ProfilerHook(save_steps=1, save_secs=1)
    with ec.Graph().as_default():
        with pytest.raises(RuntimeError, match="Global step should be created to use "
                                               "ProfilerHook"):
            ProfilerHook(save_steps=1).begin()
    with pytest.raises(TypeError, match="estcore Session"):
        trace_next_run(object())
