"""The tutorial CNN's training step against its im2col GEMMs alone in numpy (issue 15).

The step: ``tutorial_steps.build_step("cnn")`` (conv 5x5x1->32 ReLU, max-pool, conv
5x5x32->64 ReLU, max-pool, dense 3136->1024 ReLU, dense 1024->10, SGD, batch 100,
float32) through ``Session.make_callable``. The baseline, timed in the same run: the
eleven matrix products the step cannot avoid, as a framework that lowers convolutions
to im2col would run them, each ``numpy.matmul(..., out=)`` into a preallocated output
with numpy's OpenBLAS limited to the same thread count (threadpoolctl):

* conv1: forward 78400x25x32 and filter gradient 25x78400x32 (no input gradient);
* conv2: forward 19600x800x64, filter gradient 800x19600x64, input gradient
  19600x64x800 (before col2im);
* dense 3136->1024 and 1024->10: forward, weight gradient, input gradient.

Their flops are ``tutorial_steps.gemm_flops("cnn")``. The baseline builds no im2col
matrix, pools nothing and updates no weight: it is a lower bound of what an im2col
framework spends in its BLAS alone. Ratio below 1: estcore's whole step takes less
time than numpy's GEMMs alone.

Run (from the repository root, nothing else heavy running)::

    python benchmarks/bench_cnn_step.py [rounds]

Under pytest (``pytest benchmarks/bench_cnn_step.py --benchmark-only -s``) each side is
timed by pytest-benchmark and the interleaved ratio is printed and stored in
``extra_info``; without ``--benchmark-only`` one short round checks the script runs.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_gemm import NumpyThreads  # noqa: E402
from estcore._lib import _kernels as K  # noqa: E402
from tutorial_steps import build_step, gemm_flops  # noqa: E402

# (name, m, k, n, transpose_a, transpose_b): C[m,n] = op(A)[m,k] @ op(B)[k,n]
GEMMS = [("conv1 fwd", 78400, 25, 32, 0, 0), ("conv1 dW", 25, 78400, 32, 1, 0),
         ("conv2 fwd", 19600, 800, 64, 0, 0), ("conv2 dW", 800, 19600, 64, 1, 0),
         ("conv2 dcol", 19600, 64, 800, 0, 1),
         ("dense1 fwd", 100, 3136, 1024, 0, 0), ("dense1 dW", 3136, 100, 1024, 1, 0),
         ("dense1 dx", 100, 1024, 3136, 0, 1),
         ("dense2 fwd", 100, 1024, 10, 0, 0), ("dense2 dW", 1024, 100, 10, 1, 0),
         ("dense2 dx", 100, 10, 1024, 0, 1)]


def numpy_gemms(seed: int = 0):
    """A callable running the eleven products once with numpy.matmul into fixed outputs."""
    rng = np.random.default_rng(seed)
    calls = []
    for _, m, k, n, ta, tb in GEMMS:
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        calls.append((a.T if ta else a, b.T if tb else b, np.empty((m, n), np.float32)))

    def run():
        for a, b, out in calls:
            np.matmul(a, b, out=out)
    return run


def _mean_of_block(fn, calls):
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def interleaved(threads: int, rounds: int = 7, calls: int = 3) -> dict:
    """Median ms of the estcore step and of numpy's GEMMs at ``threads`` threads, and
    the median per-round ratio step / GEMMs (blocks alternate, the side going first
    alternates too, so drifting load hits both alike)."""
    step, x, y = build_step("cnn")
    gemms = numpy_gemms()
    before = K.get_num_threads()
    K.set_num_threads(threads)
    times = {"estcore": [], "numpy": []}
    try:
        with NumpyThreads(threads):
            step(x, y)
            gemms()
            for r in range(rounds):
                for side in (("estcore", "numpy") if r % 2 == 0 else ("numpy", "estcore")):
                    if side == "estcore":
                        step(x, y)  # after numpy's block: one step to settle the pool
                        times[side].append(_mean_of_block(lambda: step(x, y), calls))
                    else:
                        times[side].append(_mean_of_block(gemms, calls))
                        time.sleep(0.15)  # numpy's OpenBLAS threads stop spinning
    finally:
        K.set_num_threads(before)
    ratio = statistics.median(e / n for e, n in zip(times["estcore"], times["numpy"],
                                                     strict=True))
    est, nmp = statistics.median(times["estcore"]), statistics.median(times["numpy"])
    return {"threads": threads, "estcore_ms": 1e3 * est, "numpy_gemms_ms": 1e3 * nmp,
            "ratio": ratio, "estcore_gflops": gemm_flops("cnn") / est / 1e9,
            "numpy_gflops": gemm_flops("cnn") / nmp / 1e9}


def report(rounds: int = 7) -> list:
    rows = [interleaved(t, rounds) for t in (1, 2)]
    print("\ntutorial CNN step (estcore) vs its im2col GEMMs alone (numpy.matmul), float32, "
          f"GEMM ISA {K.get_gemm_isa()}; ratio = step / GEMMs (median of interleaved rounds)")
    print("threads  estcore step ms  numpy GEMMs ms  ratio  step GFLOP/s  GEMMs GFLOP/s")
    for r in rows:
        print(f"{r['threads']:7d}  {r['estcore_ms']:15.2f}  {r['numpy_gemms_ms']:14.2f}  "
              f"{r['ratio']:5.3f}  {r['estcore_gflops']:12.1f}  {r['numpy_gflops']:13.1f}")
    return rows


def test_cnn_step_runs():
    """One short round of each side, so the script cannot rot (no timing asserted)."""
    row = interleaved(1, rounds=1, calls=1)
    assert row["estcore_ms"] > 0 and row["numpy_gemms_ms"] > 0


@pytest.mark.parametrize("side", ["estcore", "numpy"])
def test_cnn_step(benchmark, side):
    benchmark.group = "cnn-step-vs-gemms"
    if side == "estcore":
        step, x, y = build_step("cnn")
        benchmark.pedantic(step, args=(x, y), rounds=10, warmup_rounds=2)
    else:
        with NumpyThreads(K.get_num_threads()):
            benchmark.pedantic(numpy_gemms(), rounds=10, warmup_rounds=2)


def test_cnn_step_ratio(benchmark):
    rows = benchmark.pedantic(report, args=(5,), rounds=1, iterations=1)
    for r in rows:
        benchmark.extra_info[f"ratio_{r['threads']}t"] = r["ratio"]


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
