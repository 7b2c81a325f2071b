"""What control flow and data-dependent shapes cost per train step.

One model, an MLP 64-128-10 (batch 64, Adam, ``make_callable``), in four variants timed
in interleaved rounds:

* ``plain``: dropout on the hidden layer (one static plan: the reference);
* ``cond``: the same dropout inside ``cond(training, dropout, identity)`` (a ``Cond`` node
  running its branch's sub-plan, and a gradient ``Cond`` reading the kept values);
* ``mask``: ``plain`` with the loss over ``boolean_mask(xent, labels >= 0)`` (a segmented
  plan: static head, ``Where``, tail plan looked up by shape);
* ``map_fn``: ``plain`` with each input row scaled by ``map_fn`` (one sub-plan run per
  row: 64 per step).

The table shows the best per-step time of each and its ratio to ``plain``.

Run: ``flock /tmp/estcore-heavy.lock python -m pytest benchmarks/bench_control_flow.py
--benchmark-only -s``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops.control_flow_ops import cond, map_fn
from estcore.graph.ops.dynamic_ops import boolean_mask

BATCH = 64
KINDS = ("plain", "cond", "mask", "map_fn")


def make_step(kind: str):
    """A compiled train step ``f(x, y)`` for one variant."""
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(0)
        x = ec.placeholder(ec.float32, [None, 64])
        y = ec.placeholder(ec.int32, [None])
        inp = map_fn(lambda r: r / (ec.reduce_max(ec.abs(r)) + 1.0), x) \
            if kind == "map_fn" else x
        h = ec.layers.dense(inp, 128, activation=ec.nn.relu)
        if kind == "cond":
            h = cond(ec.placeholder_with_default(True, []),
                     lambda: ec.nn.dropout(h, rate=0.1), lambda: h)
        else:
            h = ec.nn.dropout(h, rate=0.1)
        logits = ec.layers.dense(h, 10)
        xent = ec.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        if kind == "mask":
            xent = boolean_mask(xent, y >= 0)
        loss = ec.reduce_mean(xent)
        train = ec.train.AdamOptimizer(1e-3).minimize(loss)
        sess = ec.Session()
        sess.run(ec.global_variables_initializer())
        return sess.make_callable([train, loss], [x, y])


def _batch():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(BATCH, 64)).astype(np.float32),
            rng.integers(0, 10, BATCH).astype(np.int32))


@pytest.mark.benchmark(group="control_flow")
@pytest.mark.parametrize("kind", KINDS)
def test_step(benchmark, kind):
    step = make_step(kind)
    benchmark(step, *_batch())


@pytest.mark.benchmark(group="control_flow_ratios")
def test_ratios(benchmark):
    """Interleaved best-of-rounds per-step times; ratios to ``plain`` in ``extra_info``."""
    steps = {k: make_step(k) for k in KINDS}
    xb, yb = _batch()
    best = dict.fromkeys(KINDS, float("inf"))

    def rounds(n_rounds=5, n=50):
        for _ in range(n_rounds):
            for k, f in steps.items():
                t = time.perf_counter()
                for _ in range(n):
                    f(xb, yb)
                best[k] = min(best[k], (time.perf_counter() - t) / n)

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    for k in KINDS:
        benchmark.extra_info[f"{k}_us"] = round(best[k] * 1e6, 1)
        benchmark.extra_info[f"{k}_ratio"] = round(best[k] / best["plain"], 2)
    print("\n" + "  ".join(f"{k}: {best[k] * 1e6:.0f} us ({best[k] / best['plain']:.2f}x)"
                           for k in KINDS))
