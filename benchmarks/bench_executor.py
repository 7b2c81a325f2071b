"""Executor overhead: a 4-10-10-3 MLP, batch 32, Adam, ``sess.run([loss, train_op], feed)``.

Run: ``python -m pytest benchmarks/bench_executor.py --benchmark-only``

Every benchmark in the group times the same training step:

* ``session_run_c``: ``Session.run`` with C programs (the product path).
* ``kernels_only_c``: the compiled plan's prepared steps called directly (for the
  C path: one ``Program.run()``), i.e. the sum of the kernel times. The difference
  to ``session_run_c`` is the framework overhead per step (feed copies, plan
  lookup, fetch copies, structure rebuild); it is stored in ``extra_info``.
* ``session_run_numpy`` / ``kernels_only_numpy``: the same with numpy kernels.
* ``handwritten_numpy``: the baseline, a hand-written numpy forward/backward/Adam
  step with preallocated arrays (what a user would write without a framework).

The graph is built from graph-core entry points (fused dense, sparse softmax
cross-entropy, ``gradients``, ``apply_adam`` with ``beta1_power``/``beta2_power``
variables and a global step), mirroring ``AdamOptimizer.minimize``; when the
library's ``estcore.train`` is present, ``session_run_c_library`` times the same
model written with ``estcore.layers`` / ``losses`` / ``train``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import estcore as ec
from estcore.graph.global_step import get_or_create_global_step
from estcore.graph.ops import fused, state_ops

BATCH = 32


def _core_mlp():
    x = ec.placeholder(ec.float32, [None, 4], name="x")
    y = ec.placeholder(ec.int32, [None], name="y")
    h = x
    params = []
    for i, (n_in, n_out, act) in enumerate([(4, 10, "relu"), (10, 10, "relu"), (10, 3, None)]):
        with ec.variable_scope("dense" if i == 0 else f"dense_{i}"):
            w = ec.get_variable("kernel", [n_in, n_out])
            b = ec.get_variable("bias", [n_out], initializer=ec.zeros_initializer())
        h = fused.dense(h, w, b, act)
        params += [w, b]
    loss = ec.reduce_mean(ec.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
    gs = get_or_create_global_step()
    grads = ec.gradients(loss, params)
    b1p = ec.Variable(0.9, trainable=False, name="beta1_power")
    b2p = ec.Variable(0.999, trainable=False, name="beta2_power")
    updates = []
    for v, g in zip(params, grads, strict=True):
        m = ec.Variable(np.zeros(v.shape.as_list(), np.float32), trainable=False)
        s = ec.Variable(np.zeros(v.shape.as_list(), np.float32), trainable=False)
        updates.append(state_ops.apply_adam(v, m, s, b1p, b2p, 1e-3, 0.9, 0.999, 1e-8, g))
    with ec.control_dependencies(updates):
        pw = [ec.assign(b1p, b1p * 0.9), ec.assign(b2p, b2p * 0.999)]
    with ec.control_dependencies(updates + pw):
        train_op = ec.assign_add(gs, 1)
    return x, y, loss, train_op


def _library_mlp():
    x = ec.placeholder(ec.float32, [None, 4])
    y = ec.placeholder(ec.int32, [None])
    h = ec.layers.dense(x, 10, activation=ec.nn.relu)
    h = ec.layers.dense(h, 10, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    train_op = ec.train.AdamOptimizer(1e-3).minimize(
        loss, global_step=ec.train.get_or_create_global_step())
    return x, y, loss, train_op


def _setup(use_c: bool, builder=_core_mlp):
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(0)
        x, y, loss, train_op = builder()
        sess = ec.Session(graph=g, config={"use_c_kernels": use_c})
        sess.run(ec.global_variables_initializer())
    rs = np.random.RandomState(0)
    feed = {x: rs.rand(BATCH, 4).astype(np.float32),
            y: rs.randint(0, 3, BATCH).astype(np.int32)}
    fetches = [loss, train_op]
    sess.run(fetches, feed)
    plan = [p for f in sess._families.values() for p in f.plans.values()][-1]
    # the session may read feeds in place; running the steps alone needs them copied in
    for buf, value in zip(plan.feed_bufs, feed.values(), strict=True):
        np.copyto(buf, value)
    return sess, fetches, feed, plan


def _steps_only(plan):
    steps = plan.steps

    def run():
        for s in steps:
            s()
    return run


def _best_us(fn, n=2000, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def _record_overhead(benchmark, sess, fetches, feed, plan):
    step_us = _best_us(lambda: sess.run(fetches, feed))
    kern_us = _best_us(_steps_only(plan))
    benchmark.extra_info.update({
        "step_us": round(step_us, 2), "kernels_us": round(kern_us, 2),
        "overhead_us": round(step_us - kern_us, 2), "programs": plan.programs,
        "steps": len(plan.steps), "cpu_count": os.cpu_count(),
        "kernel_threads": _kernel_threads(),
    })


def _kernel_threads():
    try:
        from estcore._lib import _kernels
        return _kernels.get_num_threads()
    except (ImportError, AttributeError):  # pragma: no cover
        return None


@pytest.mark.benchmark(group="mlp-adam-step")
def test_session_run_c(benchmark):
    sess, fetches, feed, plan = _setup(True)
    assert plan.programs >= 1
    _record_overhead(benchmark, sess, fetches, feed, plan)
    benchmark(sess.run, fetches, feed)


@pytest.mark.benchmark(group="mlp-adam-step")
def test_kernels_only_c(benchmark):
    _, _, _, plan = _setup(True)
    benchmark(_steps_only(plan))


@pytest.mark.benchmark(group="mlp-adam-step")
def test_session_run_numpy(benchmark):
    sess, fetches, feed, plan = _setup(False)
    _record_overhead(benchmark, sess, fetches, feed, plan)
    benchmark(sess.run, fetches, feed)


@pytest.mark.benchmark(group="mlp-adam-step")
def test_kernels_only_numpy(benchmark):
    _, _, _, plan = _setup(False)
    benchmark(_steps_only(plan))


@pytest.mark.benchmark(group="mlp-adam-step")
def test_session_run_c_library(benchmark):
    if not all(hasattr(ec, m) for m in ("layers", "losses", "train")):
        pytest.skip("estcore.layers/losses/train (branch `library`) are not merged here")
    sess, fetches, feed, plan = _setup(True, _library_mlp)
    _record_overhead(benchmark, sess, fetches, feed, plan)
    benchmark(sess.run, fetches, feed)


def _handwritten_step():
    rs = np.random.RandomState(0)
    xb = rs.rand(BATCH, 4).astype(np.float32)
    yb = rs.randint(0, 3, BATCH)
    sizes = [(4, 10), (10, 10), (10, 3)]
    params = []
    for a, b in sizes:
        params += [(rs.rand(a, b).astype(np.float32) - 0.5), np.zeros(b, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    state = {"t": 0}
    rows = np.arange(BATCH)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(xb @ w1 + b1, 0)
        h2 = np.maximum(h1 @ w2 + b2, 0)
        z = h2 @ w3 + b3
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - z[rows, yb])
        d = e / s
        d[rows, yb] -= 1
        d /= BATCH
        g3, gb3 = h2.T @ d, d.sum(0)
        d2 = (d @ w3.T) * (h2 > 0)
        g2, gb2 = h1.T @ d2, d2.sum(0)
        d1 = (d2 @ w2.T) * (h1 > 0)
        g1, gb1 = xb.T @ d1, d1.sum(0)
        state["t"] += 1
        t = state["t"]
        lr_t = 1e-3 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for p, mi, vi, g in zip(params, m, v, (g1, gb1, g2, gb2, g3, gb3), strict=True):
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            p -= lr_t * mi / (np.sqrt(vi) + 1e-8)
        return loss
    return step


@pytest.mark.benchmark(group="mlp-adam-step")
def test_handwritten_numpy(benchmark):
    benchmark(_handwritten_step())
