"""One MLP train step (784-256-256-10, batch 128, Adam, float32) through ``Session.run``.

Baselines, timed in the same run:

(a) the same step in plain numpy (forward, softmax cross-entropy, backward,
    Adam with in-place updates). Target: estcore >= 2x faster.
(b) only the 8 GEMMs the step needs (3 forward, 5 backward: dW3, dh2, dW2,
    dh1, dW1) into preallocated outputs, recorded in one ``estcore._lib._kernels``
    ``Program`` (estcore's own GEMM path and worker threads, one C call).
    Target: the whole estcore step <= 1.35x this. For reference the same 8 GEMMs
    are also timed as ``numpy.matmul(..., out=)`` calls (numpy's OpenBLAS).

Thread counts: estcore uses ``_kernels.get_num_threads()`` workers (its own GEMM,
no BLAS); the numpy baselines run with numpy's OpenBLAS limited to the same number
of threads (threadpoolctl), so every contender uses the same number of cores.

Run: ``flock /tmp/estcore-heavy.lock python -m pytest benchmarks/bench_train_step.py
--benchmark-only -s`` (``-s`` shows the ratio table).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import estcore as ec
from estcore._lib import _kernels

BATCH = 128
SIZES = (784, 256, 256, 10)
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def _init_params(seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def _batch(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return x, y


# ----------------------------------------------------------------------------
# estcore
# ----------------------------------------------------------------------------

class EstcoreStep:
    def __init__(self, params):
        self.graph = ec.Graph()
        with self.graph.as_default():
            self.x = ec.placeholder(ec.float32, [None, SIZES[0]])
            self.y = ec.placeholder(ec.int64, [None])
            inits = iter(params)
            h = self.x
            for i, units in enumerate(SIZES[1:]):
                act = ec.nn.relu if i < len(SIZES) - 2 else None
                h = ec.layers.dense(h, units, activation=act,
                                    kernel_initializer=ec.constant_initializer(next(inits)),
                                    bias_initializer=ec.constant_initializer(next(inits)))
            self.loss = ec.losses.sparse_softmax_cross_entropy(self.y, h)
            gs = ec.train.get_or_create_global_step()
            self.train_op = ec.train.AdamOptimizer(LR, B1, B2, EPS).minimize(
                self.loss, global_step=gs)
            self.variables = [v for v in ec.trainable_variables()]
            self.sess = ec.Session()
            self.sess.run(ec.global_variables_initializer())

    def __call__(self, x, y):
        return self.sess.run(self.train_op, {self.x: x, self.y: y})

    def params(self):
        return self.sess.run(self.variables)


# ----------------------------------------------------------------------------
# (a) numpy
# ----------------------------------------------------------------------------

class NumpyStep:
    """Forward + backward + Adam in numpy, in place where numpy allows it."""

    def __init__(self, params):
        self.p = [p.copy() for p in params]
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def __call__(self, x, y):
        w1, b1, w2, b2, w3, b3 = self.p
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        d3 = z
        d3[np.arange(len(y)), y] -= 1.0
        d3 /= len(y)
        g_w3 = h2.T @ d3
        g_b3 = d3.sum(axis=0)
        d2 = d3 @ w3.T
        d2 *= h2 > 0
        g_w2 = h1.T @ d2
        g_b2 = d2.sum(axis=0)
        d1 = d2 @ w2.T
        d1 *= h1 > 0
        g_w1 = x.T @ d1
        g_b1 = d1.sum(axis=0)
        self.t += 1
        lr_t = LR * np.sqrt(1 - B2**self.t) / (1 - B1**self.t)
        for p, m, v, g in zip(self.p, self.m, self.v, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3),
                              strict=True):
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * (g * g)
            p -= (lr_t * m) / (np.sqrt(v) + EPS)


# ----------------------------------------------------------------------------
# (b) GEMMs only
# ----------------------------------------------------------------------------

def _gemm(a, b, c, ta=False, tb=False):
    """``c = op(a) @ op(b)`` in place, by numpy's BLAS."""
    np.matmul(a.T if ta else a, b.T if tb else b, out=c)


class GemmOnly:
    def __init__(self, params):
        self.w1, _, self.w2, _, self.w3, _ = [p.copy() for p in params]
        n0, n1, n2, n3 = SIZES
        e = np.empty
        self.h1, self.h2, self.z = e((BATCH, n1), np.float32), e((BATCH, n2), np.float32), \
            e((BATCH, n3), np.float32)
        self.d2, self.d1 = e((BATCH, n2), np.float32), e((BATCH, n1), np.float32)
        self.gw1, self.gw2, self.gw3 = e((n0, n1), np.float32), e((n1, n2), np.float32), \
            e((n2, n3), np.float32)

    def __call__(self, x, y):
        _gemm(x, self.w1, self.h1)
        _gemm(self.h1, self.w2, self.h2)
        _gemm(self.h2, self.w3, self.z)
        _gemm(self.h2, self.z, self.gw3, ta=True)
        _gemm(self.z, self.w3, self.d2, tb=True)
        _gemm(self.h1, self.d2, self.gw2, ta=True)
        _gemm(self.d2, self.w2, self.d1, tb=True)
        _gemm(x, self.d1, self.gw1, ta=True)


class GemmProgram(GemmOnly):
    """The same 8 GEMMs as one estcore kernels Program (estcore's threads)."""

    def __init__(self, params):
        super().__init__(params)
        self.x = np.empty((BATCH, SIZES[0]), np.float32)
        p = _kernels.Program()
        p.gemm(self.x, self.w1, self.h1)
        p.gemm(self.h1, self.w2, self.h2)
        p.gemm(self.h2, self.w3, self.z)
        p.gemm(self.h2, self.z, self.gw3, transpose_a=True)
        p.gemm(self.z, self.w3, self.d2, transpose_b=True)
        p.gemm(self.h1, self.d2, self.gw2, transpose_a=True)
        p.gemm(self.d2, self.w2, self.d1, transpose_b=True)
        p.gemm(self.x, self.d1, self.gw1, transpose_a=True)
        self.program = p

    def __call__(self, x, y):
        self.program.run()


class _NumpyThreads:
    """Limit numpy's own BLAS to estcore's thread count while timing it."""

    def __init__(self):
        from threadpoolctl import ThreadpoolController

        ctl = ThreadpoolController()
        self._libs = [lc for lc in ctl.lib_controllers if "numpy" in lc.filepath]
        self.threads = _kernels.get_num_threads()

    def __enter__(self):
        self._old = [lc.num_threads for lc in self._libs]
        for lc in self._libs:
            lc.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc):
        for lc, n in zip(self._libs, self._old, strict=True):
            lc.set_num_threads(n)
        return False


def test_gemm_helper_is_right():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 7)).astype(np.float32), rng.normal(size=(7, 3)).astype(np.float32)
    c = np.empty((5, 3), np.float32)
    _gemm(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    ct = np.empty((7, 3), np.float32)
    _gemm(a, c, ct, ta=True)
    np.testing.assert_allclose(ct, a.T @ c, rtol=1e-4)
    cb = np.empty((5, 7), np.float32)
    _gemm(c, b, cb, tb=True)
    np.testing.assert_allclose(cb, c @ b.T, rtol=1e-4)


def test_numpy_baseline_matches_estcore():
    """Both implementations compute the same step (so the comparison is fair)."""
    params = _init_params()
    x, y = _batch()
    est, ref = EstcoreStep(params), NumpyStep(params)
    for _ in range(3):
        est(x, y)
        ref(x, y)
    for got, want in zip(est.params(), ref.p, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=2e-5)


def test_gemm_program_matches_numpy_gemms():
    params = _init_params()
    x, y = _batch()
    a, b = GemmProgram(params), GemmOnly(params)
    a.x[...] = x
    a(x, y)
    b(x, y)
    for name in ("h1", "h2", "z", "gw3", "d2", "gw2", "d1", "gw1"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------
# Benchmarks
# ----------------------------------------------------------------------------

class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _min_time(fn, args, reps=20, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


@pytest.mark.benchmark(group="mlp_train_step")
def test_step_estcore(benchmark):
    step = EstcoreStep(_init_params())
    benchmark(step, *_batch())


@pytest.mark.benchmark(group="mlp_train_step")
def test_step_numpy(benchmark):
    step = NumpyStep(_init_params())
    with _NumpyThreads():
        benchmark(step, *_batch())


@pytest.mark.benchmark(group="mlp_train_step")
def test_step_gemm_only(benchmark):
    step = GemmProgram(_init_params())
    benchmark(step, *_batch())


@pytest.mark.benchmark(group="mlp_train_step")
def test_step_gemm_only_numpy(benchmark):
    step = GemmOnly(_init_params())
    with _NumpyThreads():
        benchmark(step, *_batch())


@pytest.mark.benchmark(group="mlp_train_step_ratios")
def test_step_ratios(benchmark):
    """Interleaved min-of-rounds timing of the three; ratios in ``extra_info``."""
    params = _init_params()
    batch = _batch()
    steps = {"estcore": EstcoreStep(params), "numpy": NumpyStep(params),
             "gemm_only": GemmProgram(params), "gemm_numpy": GemmOnly(params)}
    numpy_threads = _NumpyThreads()
    for fn in steps.values():
        fn(*batch)
    times = {k: float("inf") for k in steps}
    # Short blocks (~40 ms) per implementation, rotated 15 times: this VM's speed
    # drifts by 10-30% over seconds, so each ratio is the median of the per-rotation
    # ratios (neighbouring blocks see the same machine); best block means are shown.
    rounds: list[dict] = []
    for _ in range(15):
        block = {}
        for k, fn in steps.items():
            with numpy_threads if k in ("numpy", "gemm_numpy") else _Nothing():
                per_call = _min_time(fn, batch, reps=3, rounds=1)
                reps = max(3, int(0.04 / per_call))
                block[k] = _min_time(fn, batch, reps=reps, rounds=1)
                times[k] = min(times[k], block[k])
            if k in ("numpy", "gemm_numpy"):  # numpy's OpenBLAS threads spin on after a
                time.sleep(0.3)  # call: let them sleep, or they slow the next contender
        rounds.append(block)

    def median_ratio(a: str, b: str) -> float:
        return float(np.median([r[a] / r[b] for r in rounds]))

    speedup = median_ratio("numpy", "estcore")
    over_gemm = median_ratio("estcore", "gemm_only")
    over_numpy_gemm = median_ratio("estcore", "gemm_numpy")
    info = {f"{k}_ms": round(v * 1e3, 4) for k, v in times.items()}
    info.update(numpy_over_estcore=round(speedup, 3), estcore_over_gemm=round(over_gemm, 3),
                estcore_over_numpy_gemm=round(over_numpy_gemm, 3), cpu_count=os.cpu_count(),
                threads=numpy_threads.threads)
    benchmark.extra_info.update(info)
    print(f"\nMLP 784-256-256-10 train step, batch 128, Adam, float32, "
          f"{numpy_threads.threads} threads:")
    for k, v in times.items():
        print(f"  {k:10s} {v * 1e3:8.3f} ms")
    print("  (best block means; ratios: median over 15 interleaved rotations)")
    print(f"  numpy / estcore                = {speedup:.2f}x  (target >= 2)")
    print(f"  estcore / GEMM-only (Program)  = {over_gemm:.2f}x  (target <= 1.35)")
    print(f"  estcore / GEMM-only (numpy)    = {over_numpy_gemm:.2f}x")
    benchmark(steps["estcore"], *batch)
