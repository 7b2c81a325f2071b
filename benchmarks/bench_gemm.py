"""estcore's own packed GEMM against numpy.matmul, timed in the same run.

Shapes: the MLP 784-256-256-10 at batch 128 (3 forward products, and the backward
dW = x^T dz and dx = dz W^T of each layer) and the tutorial CNN's im2col GEMMs at
batch 100 (conv1 5x5x1->32 and conv2 5x5x32->64 on 28x28 / 14x14, SAME: forward,
filter gradient col^T dz, input-gradient dcol = dz f^T; dense 3136->1024 and
1024->10). float32, C-contiguous operands, transposes as flags (numpy gets the
transposed views; both read the same memory). The conv kernels themselves no longer
build these im2col products (they run implicit GEMMs, ``bench_kernels.py`` times them
against numpy's im2col); the shapes stay as a GEMM benchmark of sizes a CNN has.

Contenders: ``numpy`` (numpy.matmul into a preallocated out, numpy's OpenBLAS limited
to the same thread count with threadpoolctl) and ``estcore`` (``_kernels.gemm``: the
packed micro-kernels of the ISA in use, split over estcore's pool), each at 1 and 2
threads. Target: estcore at least numpy's speed (ratio estcore/numpy <= 1).

Run (on the shared machine, under the heavy-work lock):

    flock /tmp/estcore-heavy.lock python -m pytest benchmarks/bench_gemm.py --benchmark-only -s

pytest-benchmark times each contender per shape (groups ``gemm-<shape>-<threads>t``);
``test_gemm_ratios`` times them interleaved (short alternating blocks, so load from
other processes hits both alike), prints the table of medians and ratios and stores
them in ``extra_info``. ``python benchmarks/bench_gemm.py`` prints the table alone.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from estcore._lib import _kernels as K

# (name, m, k, n, transpose_a, transpose_b): C[m,n] = op(A)[m,k] @ op(B)[k,n]
MLP = [("mlp fwd 784-256", 128, 784, 256, 0, 0), ("mlp fwd 256-256", 128, 256, 256, 0, 0),
       ("mlp fwd 256-10", 128, 256, 10, 0, 0), ("mlp dW 784-256", 784, 128, 256, 1, 0),
       ("mlp dW 256-256", 256, 128, 256, 1, 0), ("mlp dW 256-10", 256, 128, 10, 1, 0),
       ("mlp dx 256-784", 128, 256, 784, 0, 1), ("mlp dx 256-256", 128, 256, 256, 0, 1),
       ("mlp dx 10-256", 128, 10, 256, 0, 1)]
CNN = [("conv1 fwd", 78400, 25, 32, 0, 0), ("conv1 dW", 25, 78400, 32, 1, 0),
       ("conv2 fwd", 19600, 800, 64, 0, 0), ("conv2 dW", 800, 19600, 64, 1, 0),
       ("conv2 dcol", 19600, 64, 800, 0, 1), ("dense fwd 3136-1024", 100, 3136, 1024, 0, 0),
       ("dense dW 3136-1024", 3136, 100, 1024, 1, 0), ("dense dx 1024-3136", 100, 1024, 3136, 0, 1),
       ("dense fwd 1024-10", 100, 1024, 10, 0, 0)]
SHAPES = MLP + CNN
THREADS = (1, 2)


class NumpyThreads:
    """numpy's own BLAS limited to `n` threads while timing it (a context manager; also
    used by bench_cnn_step.py)."""

    def __init__(self, n):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits
        self.n = n

    def __enter__(self):
        self._ctx = self._limits(self.n)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def operands(m, k, n, ta, tb, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    return a, b


def contenders(m, k, n, ta, tb):
    """(numpy_fn, estcore_fn) writing the same product into their own outputs."""
    a, b = operands(m, k, n, ta, tb)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    out_np, out_ec = np.empty((m, n), np.float32), np.empty((m, n), np.float32)

    def numpy_fn():
        np.matmul(opa, opb, out=out_np)

    def estcore_fn():
        K.gemm(a, b, out_ec, transpose_a=bool(ta), transpose_b=bool(tb))

    return numpy_fn, estcore_fn, out_np, out_ec


def _block(fn, seconds):
    """Mean seconds per call over a block of about `seconds`."""
    t0 = time.perf_counter()
    fn()
    per = max(time.perf_counter() - t0, 1e-7)
    reps = max(2, int(seconds / per))
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved(shape, threads, rounds=9, seconds=0.02):
    """Median seconds of numpy and estcore and the median per-round ratio
    estcore / numpy, alternating short blocks (which side goes first alternates too)."""
    _, m, k, n, ta, tb = shape
    numpy_fn, estcore_fn, _, _ = contenders(m, k, n, ta, tb)
    before = K.get_num_threads()
    K.set_num_threads(threads)
    times = {"numpy": [], "estcore": []}
    try:
        with NumpyThreads(threads):
            for r in range(rounds):
                order = ("numpy", "estcore") if r % 2 == 0 else ("estcore", "numpy")
                for side in order:
                    if side == "estcore" and threads > 1:
                        # estcore's load sensing (est_threadpool.h) counts numpy's
                        # OpenBLAS threads while they spin after a numpy block (about
                        # 0.1 s); its average takes ~10 ms to forget them: measure
                        # the kernels, not that hand-over
                        _block(estcore_fn, 0.015)
                    times[side].append(_block(numpy_fn if side == "numpy" else estcore_fn,
                                              seconds))
                    if side == "numpy" and threads > 1:
                        time.sleep(0.15)  # let numpy's OpenBLAS threads stop spinning
    finally:
        K.set_num_threads(before)
    ratio = statistics.median(e / n_ for e, n_ in zip(times["estcore"], times["numpy"],
                                                      strict=True))
    return statistics.median(times["numpy"]), statistics.median(times["estcore"]), ratio


def table(shapes=SHAPES, threads=THREADS, rounds=9, seconds=0.02):
    rows = []
    for t in threads:
        for shape in shapes:
            tn, te, ratio = interleaved(shape, t, rounds, seconds)
            name, m, k, n, ta, tb = shape
            gflops = 2 * m * n * k / te / 1e9
            rows.append(dict(name=name, m=m, k=k, n=n, ta=ta, tb=tb, threads=t,
                             numpy_us=round(tn * 1e6, 1), estcore_us=round(te * 1e6, 1),
                             ratio=round(ratio, 3), estcore_gflops=round(gflops, 1)))
    return rows


def print_table(rows):
    print(f"\nGEMM float32, ISA {K.get_gemm_isa()}; ratio = estcore / numpy time "
          "(median of interleaved rounds; <= 1 means estcore is at least as fast)")
    print(f"{'shape':22} {'m x k x n':>20} {'op':>3} {'thr':>3} {'numpy us':>10} "
          f"{'estcore us':>10} {'ratio':>6} {'GFLOP/s':>8}")
    for r in rows:
        op = ("T" if r["ta"] else "N") + ("T" if r["tb"] else "N")
        print(f"{r['name']:22} {r['m']:>6}x{r['k']:>6}x{r['n']:>6} {op:>3} {r['threads']:>3} "
              f"{r['numpy_us']:10.1f} {r['estcore_us']:10.1f} {r['ratio']:6.3f} "
              f"{r['estcore_gflops']:8.1f}")
    for t in sorted({r["threads"] for r in rows}):
        sel = [r["ratio"] for r in rows if r["threads"] == t]
        geo = float(np.exp(np.mean(np.log(sel))))
        print(f"  {t} thread(s): geometric mean ratio {geo:.3f}, worst {max(sel):.3f}")


def test_gemm_matches_numpy():
    """Sanity check before timing: estcore's result is numpy's within float32 rounding."""
    for _, m, k, n, ta, tb in SHAPES:
        if m * n * k > 2e8:
            continue
        numpy_fn, estcore_fn, out_np, out_ec = contenders(m, k, n, ta, tb)
        numpy_fn()
        estcore_fn()
        np.testing.assert_allclose(out_ec, out_np, rtol=1e-3, atol=1e-3 * np.sqrt(k))


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}t")
@pytest.mark.parametrize("side", ["numpy", "estcore"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s[0].replace(" ", "_"))
def test_gemm(benchmark, shape, side, threads):
    name, m, k, n, ta, tb = shape
    benchmark.group = f"gemm-{name}-{threads}t"
    numpy_fn, estcore_fn, _, _ = contenders(m, k, n, ta, tb)
    before = K.get_num_threads()
    K.set_num_threads(threads)
    try:
        if side == "numpy":
            with NumpyThreads(threads):
                benchmark(numpy_fn)
        else:
            benchmark(estcore_fn)
    finally:
        K.set_num_threads(before)


def test_gemm_ratios(benchmark):
    """The interleaved table (printed with -s; every row in extra_info)."""
    rows = benchmark.pedantic(table, rounds=1, iterations=1)
    benchmark.extra_info["isa"] = K.get_gemm_isa()
    benchmark.extra_info["rows"] = rows
    print_table(rows)


if __name__ == "__main__":  # pragma: no cover - a manual report
    print_table(table())
