"""Kernel benchmarks: estcore's fused kernels against numpy, timed in the same run.

Run (always under the heavy-work lock on the shared machine):

    flock /tmp/estcore-heavy.lock python -m pytest benchmarks/bench_kernels.py --benchmark-only

Each group holds one problem size; pytest-benchmark prints every implementation's
median with its ratio to the fastest in the group. Implementations:

  numpy        the plain numpy expression (``np.maximum(x @ w + b, 0)``, ...), numpy's
               own BLAS with its default threads
  estcore-1t   estcore with 1 compute thread (its own packed GEMM)
  estcore-2t   estcore with 2 compute threads (its own pool splits the GEMMs)

The estcore timings run prepared ``Program``s (validation done once), which is how
the graph executor calls the kernels; ``dense_forward_immediate`` measures the
validated immediate call too. ``python benchmarks/bench_kernels.py`` prints a compact
median/ratio table without pytest.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest

from estcore._lib import _kernels as K

DENSE_SIZES = [(b, i, o) for b in (32, 128, 512) for i, o in ((784, 256), (256, 256), (256, 10))]
IMPLS = ["numpy", "estcore-1t", "estcore-2t"]


def _threads(impl):
    return 1 if impl == "estcore-1t" else 2


def dense_case(batch, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in), dtype=np.float32)
    w = (rng.standard_normal((n_in, n_out), dtype=np.float32) / np.sqrt(n_in)).astype(np.float32)
    b = rng.standard_normal(n_out, dtype=np.float32)
    return x, w, b


def dense_forward_fns(batch, n_in, n_out):
    """(numpy_fn, estcore_program) computing relu(x @ w + b)."""
    x, w, b = dense_case(batch, n_in, n_out)
    y = np.empty((batch, n_out), np.float32)
    prog = K.Program()
    prog.dense_forward(x, w, b, y, "relu")
    return (lambda: np.maximum(x @ w + b, 0)), prog


def dense_backward_fns(batch, n_in, n_out):
    """(numpy_fn, estcore_program) for the relu dense layer's dz, dW, db, dx."""
    x, w, b = dense_case(batch, n_in, n_out)
    y = np.maximum(x @ w + b, 0)
    dy = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)
    dz, dw, db, dx = np.empty_like(y), np.empty_like(w), np.empty_like(b), np.empty_like(x)

    def numpy_backward():
        g = dy * (y > 0)
        return x.T @ g, g.sum(axis=0), g @ w.T

    prog = K.Program()
    prog.dense_backward(x, w, y, dy, dw, db, dx, dz_out=dz, act="relu")
    return numpy_backward, prog


def _im2col(x, k):
    """The SAME-padded stride-1 im2col of x [batch, size, size, c]: [batch*size*size, k*k*c]."""
    batch, size, _, c = x.shape
    pad = (k - 1) // 2, k // 2
    xp = np.pad(x, ((0, 0), pad, pad, (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(batch * size * size, k * k * c)


def conv_fns(batch=64, size=28, c_in=1, c_out=32, k=5):
    """(numpy im2col reference, estcore program): relu(conv2d(x, f, SAME) + b)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, c_in), dtype=np.float32)
    f = (rng.standard_normal((k, k, c_in, c_out), dtype=np.float32) / k).astype(np.float32)
    b = rng.standard_normal(c_out, dtype=np.float32)

    def numpy_conv():
        col = _im2col(x, k)
        return np.maximum(col @ f.reshape(-1, c_out) + b, 0).reshape(batch, size, size, c_out)

    y = np.empty((batch, size, size, c_out), np.float32)
    prog = K.Program()
    prog.conv2d_forward(x, f, b, y, None, strides=1, padding="SAME", act="relu")
    prog.run()
    np.testing.assert_allclose(y, numpy_conv(), rtol=1e-4, atol=1e-4)  # same problem
    return numpy_conv, prog


def conv_backward_fns(batch=100, size=14, c_in=32, c_out=64, k=5):
    """(numpy im2col reference, estcore program): the filter, bias and input gradients of
    a SAME stride-1 conv (default: the tutorial CNN's second conv at batch 100). numpy:
    df = col^T dz, db = column sums, dcol = dz f^T added back window tap by tap."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, c_in), dtype=np.float32)
    f = (rng.standard_normal((k, k, c_in, c_out), dtype=np.float32) / k).astype(np.float32)
    dz = rng.standard_normal((batch, size, size, c_out), dtype=np.float32)
    p0 = (k - 1) // 2

    def numpy_backward():
        dz2 = dz.reshape(-1, c_out)
        df = (_im2col(x, k).T @ dz2).reshape(f.shape)
        db = dz2.sum(axis=0)
        dcol = (dz2 @ f.reshape(-1, c_out).T).reshape(batch, size, size, k, k, c_in)
        dxp = np.zeros((batch, size + k - 1, size + k - 1, c_in), np.float32)
        for ky in range(k):
            for kx in range(k):
                dxp[:, ky:ky + size, kx:kx + size] += dcol[:, :, :, ky, kx]
        return df, db, dxp[:, p0:p0 + size, p0:p0 + size]

    dx, df, db = np.empty_like(x), np.empty_like(f), np.empty(c_out, np.float32)
    prog = K.Program()
    prog.conv2d_backward(x, f, None, dz, None, dx, df, db, strides=1, padding="SAME")
    prog.run()
    for got, want in zip((df, db, dx), numpy_backward(), strict=True):  # same problem
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)
    return numpy_backward, prog


def _run(benchmark, impl, numpy_fn, prog, group):
    benchmark.group = group
    time.sleep(0.3)  # let numpy's spinning OpenBLAS threads (previous test) go to sleep
    benchmark.extra_info.update(impl=impl, cpus=len(os.sched_getaffinity(0)))
    if impl == "numpy":
        benchmark(numpy_fn)
        return
    before = K.get_num_threads()
    K.set_num_threads(_threads(impl))
    try:
        benchmark(prog.run)
    finally:
        K.set_num_threads(before)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", DENSE_SIZES, ids=lambda s: "x".join(map(str, s)))
def test_dense_forward(benchmark, size, impl):
    numpy_fn, prog = dense_forward_fns(*size)
    _run(benchmark, impl, numpy_fn, prog, f"dense_forward relu {size}")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", DENSE_SIZES, ids=lambda s: "x".join(map(str, s)))
def test_dense_backward(benchmark, size, impl):
    numpy_fn, prog = dense_backward_fns(*size)
    _run(benchmark, impl, numpy_fn, prog, f"dense_backward relu {size}")


@pytest.mark.parametrize("impl", ["numpy", "estcore-immediate"])
def test_dense_forward_immediate(benchmark, impl):
    x, w, b = dense_case(32, 256, 10)
    y = np.empty((32, 10), np.float32)
    benchmark.group = "dense_forward immediate call (32, 256, 10)"
    if impl == "numpy":
        benchmark(lambda: np.maximum(x @ w + b, 0))
    else:
        benchmark(K.dense_forward, x, w, b, y, "relu")


@pytest.mark.parametrize("impl", IMPLS)
def test_conv2d_forward(benchmark, impl):
    numpy_fn, prog = conv_fns()
    _run(benchmark, impl, numpy_fn, prog, "conv2d_forward 64x28x28x1 -> 32x5x5 SAME relu")


@pytest.mark.parametrize("impl", IMPLS)
def test_conv2d_forward_cnn_conv2(benchmark, impl):
    numpy_fn, prog = conv_fns(100, 14, 32, 64)
    _run(benchmark, impl, numpy_fn, prog, "conv2d_forward 100x14x14x32 -> 64x5x5 SAME relu")


@pytest.mark.parametrize("impl", IMPLS)
def test_conv2d_backward_cnn_conv2(benchmark, impl):
    numpy_fn, prog = conv_backward_fns()
    _run(benchmark, impl, numpy_fn, prog, "conv2d_backward 100x14x14x32 -> 64x5x5 SAME")


def mlp_step_calls(batch=1, sizes=(4, 4, 4, 2), dtype=np.float32):
    """The 14 kernel calls of a 3-layer MLP Adam train step, as (name, args, kwargs)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], batch)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    w = [rng.standard_normal((a, b)).astype(dtype) for a, b in pairs]
    b = [np.zeros(n, dtype) for n in sizes[1:]]
    h = [np.empty((batch, n), dtype) for n in sizes[1:]]
    dh = [np.empty((batch, n), dtype) for n in sizes[1:]]
    dw, db = [np.empty_like(a) for a in w], [np.empty_like(a) for a in b]
    slots = [(np.zeros_like(v), np.zeros_like(v)) for v in w + b]
    loss = np.empty(batch, dtype)
    b1p, b2p, lr = (np.array(v, dtype) for v in (0.9, 0.999, 1e-3))
    step = np.array(0, np.int64)
    acts = ["relu", "relu", None]
    ins = [x, h[0], h[1]]
    calls = [("dense_forward", (ins[i], w[i], b[i], h[i], acts[i]), {}) for i in range(3)]
    calls.append(("sparse_softmax_xent", (h[2], labels, loss, dh[2]), {"scale": 1.0 / batch}))
    for i in (2, 1, 0):
        calls.append(("dense_backward", (ins[i], w[i], h[i], dh[i], dw[i], db[i],
                                         dh[i - 1] if i else None),
                      {"dz_out": dh[i] if acts[i] else None, "act": acts[i]}))
    for var, grad, (m, v) in zip(w + b, dw + db, slots, strict=True):
        calls.append(("apply_adam", (var, m, v, grad, b1p, b2p, lr, 0.9, 0.999, 1e-8), {}))
    calls.append(("increment", (step,), {}))
    return calls


@pytest.mark.parametrize("impl", ["program", "immediate-calls"])
def test_mlp_step_overhead(benchmark, impl):
    """Framework overhead of a whole tiny train step (kernels do almost no work)."""
    calls = mlp_step_calls()
    benchmark.group = "MLP train step overhead (batch 1, 4-4-4-2, 14 kernel calls)"
    if impl == "program":
        prog = K.Program()
        for name, args, kwargs in calls:
            getattr(prog, name)(*args, **kwargs)
        benchmark(prog.run)
    else:
        fns = [(getattr(K, name), args, kwargs) for name, args, kwargs in calls]

        def run_all():
            for fn, args, kwargs in fns:
                fn(*args, **kwargs)

        benchmark(run_all)


def _interleaved_medians(numpy_fn, prog, rounds=15, block=15):
    """Medians (seconds) of numpy, estcore-1t and estcore-2t, timed in alternating
    blocks so that load from other processes hits all three alike.

    After each numpy block we sleep briefly: numpy's OpenBLAS worker threads keep
    spinning on the other core for a while after every call (about 2^28 cycles), and
    estcore's second thread cannot run there until they stop. (That is the behaviour
    estcore's sleeping pool avoids; it would otherwise be measured against estcore.)
    """
    times = {"numpy": [], 1: [], 2: []}
    for _ in range(rounds):
        for impl in ("numpy", 1, 2):
            fn = numpy_fn
            if impl != "numpy":
                K.set_num_threads(impl)
                fn = prog.run
            fn()  # warm (the pool starts lazily after a thread-count change)
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                times[impl].append(time.perf_counter() - t0)
            if impl == "numpy":
                time.sleep(0.3)
    return {k: statistics.median(v) for k, v in times.items()}


def main():  # pragma: no cover - a manual report
    print(f"{'kernel':16} {'size':>16} {'numpy us':>10} {'est-1t us':>10} {'est-2t us':>10} "
          f"{'np/1t':>6} {'np/2t':>6}")
    cases = [("dense_forward", s, dense_forward_fns(*s)) for s in DENSE_SIZES]
    cases += [("dense_backward", s, dense_backward_fns(*s)) for s in DENSE_SIZES]
    cases += [("conv2d_forward", (64, 28, 32), conv_fns()),
              ("conv2d_forward", (100, 14, 64), conv_fns(100, 14, 32, 64)),
              ("conv2d_backward", (100, 14, 64), conv_backward_fns())]
    before = K.get_num_threads()
    for name, size, (numpy_fn, prog) in cases:
        t = _interleaved_medians(numpy_fn, prog)
        print(f"{name:16} {str(size):>16} {t['numpy'] * 1e6:10.1f} {t[1] * 1e6:10.1f} "
              f"{t[2] * 1e6:10.1f} {t['numpy'] / t[1]:6.2f} {t['numpy'] / t[2]:6.2f}")
    K.set_num_threads(before)


if __name__ == "__main__":
    main()
