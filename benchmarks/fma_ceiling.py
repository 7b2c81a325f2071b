"""The machine's FMA ceiling, and each reference training step as a share of it.

The ceiling: ``_kernels.fma_probe`` runs independent float32 vector FMA chains of the
GEMM instruction set in use (no memory traffic) on 1 thread, then on one thread per
CPU at once; the best of a few rounds is the peak GFLOP/s a GEMM could reach. The
steps (``tutorial_steps``: the MLP 784-256-256-10 with Adam at batch 128 and the TF
tutorial CNN with SGD at batch 100) are timed through ``Session.make_callable`` at 1
thread and at every CPU; a step's rate is its matrix products' flops
(``tutorial_steps.gemm_flops``, the work it cannot avoid) over its median time, and
its share is that rate over the ceiling at the same thread count.

Run (from the repository root, nothing else heavy running):

    python benchmarks/fma_ceiling.py

Under pytest (``pytest benchmarks/fma_ceiling.py``) one very short measurement runs,
so the script cannot rot.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from estcore._lib import _kernels  # noqa: E402
from tutorial_steps import KINDS, build_step, gemm_flops  # noqa: E402


def ceiling(threads: int, seconds: float = 0.3, rounds: int = 5) -> float:
    """Peak float32 GFLOP/s of `threads` threads running the FMA probe together."""
    iters = 1 << 16
    t0 = time.perf_counter()
    _kernels.fma_probe(iters)
    per_call = max(time.perf_counter() - t0, 1e-6)
    calls = max(1, int(seconds / per_call))
    per_iter = _kernels.fma_probe(1)  # flops of one probe step
    best = 0.0
    for _ in range(rounds):
        barrier = threading.Barrier(threads + 1)

        def work(barrier=barrier):
            barrier.wait()
            for _ in range(calls):
                _kernels.fma_probe(iters)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        flops = threads * calls * per_iter * iters
        best = max(best, flops / elapsed / 1e9)
    return best


def step_ms(kind: str, threads: int, rounds: int = 5) -> float:
    """Median milliseconds of one step of `kind` at `threads` threads."""
    step, x, y = build_step(kind)
    n = 200 if kind == "mlp" else 5
    before = _kernels.get_num_threads()
    _kernels.set_num_threads(threads)
    try:
        for _ in range(3):
            step(x, y)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                step(x, y)
            times.append((time.perf_counter() - t0) / n)
    finally:
        _kernels.set_num_threads(before)
    return statistics.median(times) * 1e3


def report(threads_list=None, seconds: float = 0.3, rounds: int = 5) -> list[dict]:
    threads_list = threads_list or sorted({1, os.cpu_count() or 1})
    rows = []
    for t in threads_list:
        peak = ceiling(t, seconds, rounds)
        for kind in KINDS:
            ms = step_ms(kind, t, rounds)
            rate = gemm_flops(kind) / (ms / 1e3) / 1e9
            rows.append(dict(kind=kind, threads=t, ceiling_gflops=peak, step_ms=ms,
                             step_gflops=rate, share=rate / peak))
    return rows


def print_report(rows: list[dict]) -> None:
    print(f"FMA ceiling of the GEMM ISA in use ({_kernels.get_gemm_isa()}, float32)")
    print(f"{'step':4} {'threads':>7} {'ceiling GF/s':>12} {'step ms':>9} "
          f"{'GEMM GF/s':>9} {'share':>6}")
    for r in rows:
        print(f"{r['kind']:4} {r['threads']:>7} {r['ceiling_gflops']:12.1f} "
              f"{r['step_ms']:9.3f} {r['step_gflops']:9.1f} {r['share']:6.1%}")


def test_fma_ceiling_runs():
    """A very short run (keeps the script working; figures are not asserted)."""
    assert ceiling(1, seconds=0.01, rounds=1) > 0
    assert _kernels.fma_probe(0) == 0


if __name__ == "__main__":  # pragma: no cover - a manual report
    print_report(report())
