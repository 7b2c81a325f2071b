"""Controller overhead of Estimator.train / evaluate / predict vs the bare session loop.

Both sides run the same model (784-256-256-10 MLP, batch 128, Adam) on the same
prebuilt batches; the baseline builds the graph once and calls ``session.run``
in a loop, the Estimator adds graph building, checkpoint restore/saves (start
and end), default hooks and logging. Target: the Estimator within 5% of the bare loop.

This machine's speed drifts by 5-15% over tens of seconds, more than the overhead
being measured, so the comparison is paired: per round one bare call and one
Estimator call (which goes first alternates), and the figure is the median of the
per-round ratios. Also reported: the controller's own time (everything outside the
compiled plans' execution, which is the same work on both sides) as a share of the
bare call, free of the plans' run-to-run noise. Run either

    python benchmarks/bench_estimator.py [rounds]

or ``python -m pytest benchmarks/bench_estimator.py --benchmark-only``: its module
fixture runs the paired measurement once (results printed with ``-s`` and stored in
each test's extra_info as ``paired_*``), then each side is timed on its own with the
other side run between rounds (untimed), so the two medians of a group are comparable
too, though they are taken seconds apart and so carry the drift.
"""

from __future__ import annotations

import logging
import statistics

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


MODES = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)


def _call(side: str, mode: str, model_dir: str) -> None:
    """One bare or Estimator call; a training Estimator writes into ``model_dir``,
    which is removed afterwards (untimed by the caller)."""
    if side == "bare":
        _bare(mode)
    else:
        _estimator(model_dir, mode)


def measure(rounds: int = 11) -> dict[str, dict[str, float]]:
    """Per mode, interleaved over ``rounds`` (plus one warm-up round): one bare call
    and one Estimator call per round, which goes first alternating from round to
    round (the second call of a round runs its plans ~1.5% slower on this VM, which
    would bias a fixed order).

    Returns, per mode: ``bare_ms`` and ``estimator_ms`` (medians), ``ratio`` (median of
    the per-round Estimator / bare ratios: the headline figure, immune to the drift
    between rounds), ``controller_pct`` (the time outside the compiled plans,
    Estimator minus bare, as a share of the bare call: the controller's own cost,
    free of the plans' run-to-run noise), ``final_save_ms`` (the final, synchronous
    checkpoint save inside it) and ``gap_us_bare`` / ``gap_us_estimator`` (median
    time between two plan runs, i.e. the per-step Python).
    """
    import os
    import shutil
    import tempfile
    import time

    from estcore.graph.executor import Plan
    from estcore.hooks.checkpoint_hooks import CheckpointSaverHook

    spent = [0.0]
    gaps: list[float] = []  # time between one plan run's end and the next one's start
    last_end: list[float | None] = [None]
    saving = [0.0]
    run, end = Plan.run, CheckpointSaverHook.end

    def timed_run(self, values):
        t = time.perf_counter()
        if last_end[0] is not None:
            gaps.append(t - last_end[0])
        try:
            return run(self, values)
        finally:
            last_end[0] = time.perf_counter()
            spent[0] += last_end[0] - t

    def timed_end(self, session):  # the final, synchronous checkpoint save
        t = time.perf_counter()
        try:
            end(self, session)
        finally:
            saving[0] += time.perf_counter() - t

    Plan.run, CheckpointSaverHook.end = timed_run, timed_end
    level = logging.getLogger("estcore").level
    logging.getLogger("estcore").setLevel(logging.WARNING)
    scratch = tempfile.TemporaryDirectory(prefix="bench-estimator-")  # removed at the end
    results: dict[str, dict[str, float]] = {}
    try:
        trained = os.path.join(scratch.name, "trained")
        _estimator(trained, ModeKeys.TRAIN)
        med = statistics.median
        for mode in MODES:
            rows = []
            for r in range(rounds + 1):
                model_dir = (os.path.join(scratch.name, f"round{r}") if mode == ModeKeys.TRAIN
                             else trained)
                sides = ["bare", "estimator"] if r % 2 == 0 else ["estimator", "bare"]
                row = {}
                for side in sides:
                    spent[0] = saving[0] = 0.0
                    gaps.clear()
                    last_end[0] = None
                    t = time.perf_counter()
                    _call(side, mode, model_dir)
                    total = time.perf_counter() - t
                    row[side] = (total, total - spent[0], saving[0], med(gaps))
                if model_dir != trained:
                    shutil.rmtree(model_dir)  # untimed: no checkpoints left behind
                if r:  # round 0 warms up
                    rows.append(row)
            bare = med(r["bare"][0] for r in rows)
            results[mode] = {
                "bare_ms": bare * 1e3,
                "estimator_ms": med(r["estimator"][0] for r in rows) * 1e3,
                "ratio": med(r["estimator"][0] / r["bare"][0] for r in rows),
                "controller_pct": (med(r["estimator"][1] for r in rows)
                                   - med(r["bare"][1] for r in rows)) / bare * 100,
                "final_save_ms": med(r["estimator"][2] for r in rows) * 1e3,
                "gap_us_bare": med(r["bare"][3] for r in rows) * 1e6,
                "gap_us_estimator": med(r["estimator"][3] for r in rows) * 1e6,
                "rounds": rounds,
            }
    finally:
        Plan.run, CheckpointSaverHook.end = run, end
        logging.getLogger("estcore").setLevel(level)
        scratch.cleanup()
    return results


def report(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{STEPS} steps of batch {BATCH} per call; interleaved rounds, medians"]
    for mode, r in results.items():
        lines.append(
            f"{mode:6s} bare {r['bare_ms']:7.1f} ms  estimator {r['estimator_ms']:7.1f} ms  "
            f"paired ratio {r['ratio']:.3f}  controller overhead {r['controller_pct']:.1f}%"
            + (f" (final checkpoint save {r['final_save_ms']:.1f} ms)" if r["final_save_ms"]
               else "")
            + f"; per step between plan runs: bare {r['gap_us_bare']:.0f} us, estimator "
              f"{r['gap_us_estimator']:.0f} us")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def paired(request):
    """The interleaved measurement, once per run (one round when timing is off)."""
    disabled = request.config.getoption("benchmark_disable", False)
    return measure(rounds=1 if disabled else 11)


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("trained"))
    _estimator(d, ModeKeys.TRAIN)
    return d


@pytest.mark.parametrize(("mode", "side"), [(m, s) for m in MODES for s in ("bare", "estimator")],
                         ids=lambda v: v)
def test_controller(benchmark, mode, side, paired, trained_dir, tmp_path):
    """Times one side; before each round (untimed) the other side runs and the
    garbage collector is run, so both tests of a mode see the same alternation.
    Compare the two medians of a group, or better the paired ratio in extra_info
    (measured round by round, free of the drift between the two tests)."""
    import gc
    import shutil

    benchmark.group = f"controller-{mode}"
    benchmark.extra_info["examples_per_round"] = BATCH * STEPS
    benchmark.extra_info.update({f"paired_{k}": v for k, v in paired[mode].items()})
    other = "estimator" if side == "bare" else "bare"
    dirs = (str(tmp_path / f"r{i}") for i in range(1000))

    def model_dir() -> str:
        return trained_dir if mode != ModeKeys.TRAIN else next(dirs)

    def setup():
        d = model_dir()
        _call(other, mode, d)
        if d != trained_dir:
            shutil.rmtree(d, ignore_errors=True)
        gc.collect()
        return (side, mode, model_dir()), {}

    def teardown(side, mode, d):
        if d != trained_dir:
            shutil.rmtree(d, ignore_errors=True)

    benchmark.pedantic(_call, setup=setup, teardown=teardown, rounds=5, iterations=1,
                       warmup_rounds=1)
    if side == "estimator":
        print("\n" + report({mode: paired[mode]}))


if __name__ == "__main__":
    import sys

    print(report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 11)))
