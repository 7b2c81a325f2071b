"""Controller overhead of Estimator.train / evaluate / predict vs the bare session loop.

Both sides run the same model (784-256-256-10 MLP, batch 128, Adam) on the same
prebuilt batches; the baseline builds the graph once and calls ``session.run``
in a loop, the Estimator adds graph building, checkpoint restore/saves (start
and end), default hooks and logging. Run:

    python -m pytest benchmarks/bench_estimator.py --benchmark-only

and compare each ``estimator_*`` median with its ``bare_*`` median (same run).

This machine's step time drifts by 5-10% between consecutive calls, more than the
overhead being measured, so ``python benchmarks/bench_estimator.py [rounds]`` also
prints an interleaved comparison: per round one bare call and one Estimator call
(which one goes first alternates from round to round), the median of the per-round
ratios, and the controller's own time (everything but
the compiled plans' execution, which is the same work on both sides) as a share of
the bare call.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import estcore
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig

BATCH = 128
STEPS = 300  # per call; 20 distinct batches are cycled
RNG = np.random.default_rng(0)
X = RNG.normal(size=(BATCH * 20, 784)).astype(np.float32)
Y = RNG.integers(0, 10, size=BATCH * 20).astype(np.int32)
_DISTINCT = [({"x": X[i:i + BATCH]}, Y[i:i + BATCH]) for i in range(0, len(X), BATCH)]
BATCHES = [_DISTINCT[i % len(_DISTINCT)] for i in range(STEPS)]


def model_fn(features, labels, mode):
    h = estcore.layers.dense(features["x"], 256, activation=estcore.nn.relu)
    h = estcore.layers.dense(h, 256, activation=estcore.nn.relu)
    logits = estcore.layers.dense(h, 10)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"classes": estcore.argmax(logits, 1)})
    loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss, eval_metric_ops={
            "accuracy": estcore.metrics.accuracy(labels, estcore.argmax(logits, 1))})
    train_op = estcore.train.AdamOptimizer().minimize(
        loss, global_step=estcore.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def input_fn():
    return iter(BATCHES)


@pytest.fixture(scope="module", autouse=True)
def quiet():
    logging.getLogger("estcore").setLevel(logging.WARNING)
    yield
    logging.getLogger("estcore").setLevel(logging.NOTSET)


def _bare(mode: str):
    graph = estcore.Graph()
    with graph.as_default():
        estcore.set_random_seed(1)
        estcore.train.get_or_create_global_step()
        x = estcore.placeholder(estcore.float32, [None, 784])
        y = estcore.placeholder(estcore.int32, [None])
        spec = model_fn({"x": x}, y, mode)
        init = [v.initializer for v in estcore.global_variables() + estcore.local_variables()]
    sess = estcore.Session(graph=graph)
    sess.run(init)
    if mode == ModeKeys.TRAIN:
        fetch = [spec.train_op, spec.loss]
    elif mode == ModeKeys.EVAL:
        fetch = [[op for _, op in spec.eval_metric_ops.values()], spec.loss]
    else:
        fetch = spec.predictions
    for f, labels in BATCHES:
        feed = {x: f["x"]} if mode == ModeKeys.PREDICT else {x: f["x"], y: labels}
        sess.run(fetch, feed_dict=feed)
    sess.close()


def _estimator(model_dir: str, mode: str):
    est = Estimator(model_fn, model_dir=model_dir, config=RunConfig(tf_random_seed=1))
    if mode == ModeKeys.TRAIN:
        est.train(input_fn)
    elif mode == ModeKeys.EVAL:
        est.evaluate(input_fn)
    else:
        for _ in est.predict(lambda: iter([b[0] for b in BATCHES]),
                             yield_single_examples=False):
            pass


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("trained"))
    _estimator(d, ModeKeys.TRAIN)
    return d


@pytest.mark.parametrize("mode", [ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT])
def test_bare(benchmark, mode):
    benchmark.group = f"controller-{mode}"
    benchmark.extra_info["examples_per_round"] = BATCH * STEPS
    benchmark.pedantic(_bare, args=(mode,), rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("mode", [ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT])
def test_estimator(benchmark, mode, trained_dir, tmp_path):
    benchmark.group = f"controller-{mode}"
    benchmark.extra_info["examples_per_round"] = BATCH * STEPS
    if mode == ModeKeys.TRAIN:
        dirs = iter(str(tmp_path / f"r{i}") for i in range(100))
        benchmark.pedantic(lambda: _estimator(next(dirs), mode), rounds=5, iterations=1,
                           warmup_rounds=1)
    else:
        benchmark.pedantic(_estimator, args=(trained_dir, mode), rounds=5, iterations=1,
                           warmup_rounds=1)


def _interleaved(rounds: int) -> None:
    """Print per mode: median bare / Estimator times, median per-round ratio, and the
    time outside plan execution (the controller's share) for both sides."""
    import os
    import shutil
    import statistics
    import tempfile
    import time

    from estcore.graph.executor import Plan

    spent = [0.0]
    gaps: list[float] = []  # time between one plan run's end and the next one's start
    last_end = [None]
    run = Plan.run

    def timed_run(self, values):
        t = time.perf_counter()
        if last_end[0] is not None:
            gaps.append(t - last_end[0])
        try:
            return run(self, values)
        finally:
            last_end[0] = time.perf_counter()
            spent[0] += last_end[0] - t

    Plan.run = timed_run
    from estcore.estimator.checkpoint_hooks import CheckpointSaverHook

    saving = [0.0]
    end = CheckpointSaverHook.end

    def timed_end(self, session):  # the final, synchronous checkpoint save
        t = time.perf_counter()
        try:
            end(self, session)
        finally:
            saving[0] += time.perf_counter() - t

    CheckpointSaverHook.end = timed_end
    logging.getLogger("estcore").setLevel(logging.WARNING)
    scratch = tempfile.TemporaryDirectory(prefix="bench-estimator-")  # removed at the end
    trained = os.path.join(scratch.name, "trained")
    _estimator(trained, ModeKeys.TRAIN)
    print(f"{STEPS} steps of batch {BATCH} per call, {rounds} interleaved rounds (medians)")
    for mode in (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT):
        rows = []
        for r in range(rounds + 1):
            pair = [None, None]
            model_dir = (os.path.join(scratch.name, f"round{r}") if mode == ModeKeys.TRAIN
                         else trained)
            sides = [(0, _bare, (mode,)), (1, _estimator, (model_dir, mode))]
            # Odd rounds run the Estimator first: the second call of a round is measurably
            # slower on this VM (its plans by about 1.5%), which would bias a fixed order.
            for side, fn, args in (sides if r % 2 == 0 else sides[::-1]):
                spent[0] = saving[0] = 0.0
                gaps.clear()
                last_end[0] = None
                t = time.perf_counter()
                fn(*args)
                total = time.perf_counter() - t
                pair[side] = (total, total - spent[0], saving[0], statistics.median(gaps))
            if r:  # the first round warms up
                rows.append(pair)
            if model_dir != trained:
                shutil.rmtree(model_dir)  # (untimed) no gigabytes of checkpoints left behind
        med = statistics.median
        bare, est = med(p[0][0] for p in rows), med(p[1][0] for p in rows)
        ratio = med(p[1][0] / p[0][0] for p in rows)
        ctl_bare, ctl_est = med(p[0][1] for p in rows), med(p[1][1] for p in rows)
        final = med(p[1][2] for p in rows)
        print(f"{mode:6s} bare {bare * 1e3:7.1f} ms  estimator {est * 1e3:7.1f} ms  "
              f"ratio {ratio:.3f}  outside plans: bare {ctl_bare * 1e3:5.1f} ms, estimator "
              f"{ctl_est * 1e3:5.1f} ms -> controller overhead "
              f"{(ctl_est - ctl_bare) / bare * 100:.1f}%"
              + (f" (of which the final checkpoint save {final * 1e3:.1f} ms = "
                 f"{final / bare * 100:.1f}%)" if final else "")
              + f"; median time between plan runs (per step): bare "
                f"{med(p[0][3] for p in rows) * 1e6:.0f} us, estimator "
                f"{med(p[1][3] for p in rows) * 1e6:.0f} us")
    Plan.run = run
    CheckpointSaverHook.end = end
    scratch.cleanup()


if __name__ == "__main__":
    import sys

    _interleaved(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
