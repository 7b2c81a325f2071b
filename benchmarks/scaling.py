"""How the threaded C code scales with cores (a script, run on a many-core machine).

Prints one table per component, each figure a ratio against the 1-thread run of the
same work in the same process (the baseline is always timed in the same run):

* input pipeline: one shuffled epoch of float32 [60000, 784] + int32 labels, batch 128,
  ``numpy_input_fn(num_threads=T)`` consumed by a Python loop, against the plain C
  gather loop on T threads (the physical limit);
* kernels: fused dense forward and backward (batch 512, 784 -> 256) with
  ``set_num_threads(T)``;
* a whole MLP train step (784-256-256-10, Adam) through ``Session.run``, batch 128 and 512.

Run: ``python benchmarks/scaling.py [max_threads]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

import estcore as ec
from estcore._lib import _kernels
from estcore._lib._pipeline import _gather_baseline_for_testing
from estcore.inputs import numpy_input_fn


def best(fn, rounds=5):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def pipeline_table(threads):
    n, d, batch = 60000, 784, 128
    rng = np.random.default_rng(0)
    x = rng.random((n, d), dtype=np.float32)
    y = rng.integers(0, 10, n, dtype=np.int32)
    idx = rng.permutation(n)

    def stream(t):
        def go():
            for _f, _l in numpy_input_fn(x, y, batch_size=batch, num_epochs=1, shuffle=True,
                                         num_threads=t, seed=0)():
                pass
        return go

    def gather(t):
        return lambda: _gather_baseline_for_testing(x, idx, batch, t)

    print("\n## input pipeline (rows/s; stream/c-gather; speed-up vs 1 thread)")
    print(f"{'threads':>7} {'stream Mrows/s':>15} {'c-gather Mrows/s':>17} "
          f"{'ratio':>6} {'speed-up':>8}")
    base = None
    for t in threads:
        s, _ = best(stream(t))
        g, _ = best(gather(t))
        base = base or s
        print(f"{t:>7} {n / s / 1e6:>15.2f} {n / g / 1e6:>17.2f} {g / s:>6.2f} {base / s:>8.2f}")


def dense_table(threads):
    rng = np.random.default_rng(0)
    m, k, nn = 512, 784, 256
    x = rng.random((m, k), dtype=np.float32)
    w = rng.random((k, nn), dtype=np.float32) - 0.5
    b = rng.random(nn, dtype=np.float32)
    out = np.empty((m, nn), np.float32)
    dy = rng.random((m, nn), dtype=np.float32)
    dx = np.empty_like(x)
    dz = np.empty_like(dy)
    dw = np.empty_like(w)
    db = np.empty_like(b)
    relu = _kernels.ACT_RELU

    def fwd():
        for _ in range(20):
            _kernels.dense_forward(x, w, b, out, relu)

    def bwd():
        for _ in range(20):
            _kernels.dense_backward(x, w, out, dy, dw, db, dx_out=dx, dz_out=dz, act=relu)

    print("\n## fused dense 512x784->256 (ms per call; speed-up vs 1 thread)")
    print(f"{'threads':>7} {'fwd ms':>8} {'fwd x':>6} {'bwd ms':>8} {'bwd x':>6}")
    base = None
    for t in threads:
        _kernels.set_num_threads(t)
        f, _ = best(fwd)
        g, _ = best(bwd)
        base = base or (f, g)
        print(f"{t:>7} {f / 20 * 1e3:>8.3f} {base[0] / f:>6.2f} "
              f"{g / 20 * 1e3:>8.3f} {base[1] / g:>6.2f}")


def train_step_table(threads, batch):
    rng = np.random.default_rng(0)
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(0)
        xph = ec.placeholder(ec.float32, [None, 784])
        yph = ec.placeholder(ec.int32, [None])
        h = ec.layers.dense(xph, 256, activation=ec.nn.relu)
        h = ec.layers.dense(h, 256, activation=ec.nn.relu)
        logits = ec.layers.dense(h, 10)
        loss = ec.losses.sparse_softmax_cross_entropy(labels=yph, logits=logits)
        train_op = ec.train.AdamOptimizer(1e-3).minimize(
            loss, global_step=ec.train.get_or_create_global_step())
        sess = ec.Session()
        sess.run(ec.global_variables_initializer())
    xb = rng.random((batch, 784), dtype=np.float32)
    yb = rng.integers(0, 10, batch, dtype=np.int32)
    feed = {xph: xb, yph: yb}

    def steps():
        for _ in range(50):
            sess.run(train_op, feed)

    print(f"\n## MLP train step 784-256-256-10, batch {batch}, Adam (examples/s; speed-up)")
    print(f"{'threads':>7} {'ms/step':>8} {'examples/s':>11} {'speed-up':>8}")
    base = None
    for t in threads:
        _kernels.set_num_threads(t)
        steps()  # warm the plan
        s, _ = best(steps)
        base = base or s
        print(f"{t:>7} {s / 50 * 1e3:>8.3f} {50 * batch / s:>11.0f} {base / s:>8.2f}")


def main():
    max_threads = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
    threads = [t for t in (1, 2, 4, 8, 16) if t <= max_threads]
    print(f"cores: {os.cpu_count()}, threads tried: {threads}, gemm: {_kernels.gemm_info()}")
    pipeline_table(threads)
    dense_table(threads)
    train_step_table(threads, 128)
    train_step_table(threads, 512)


if __name__ == "__main__":
    main()
