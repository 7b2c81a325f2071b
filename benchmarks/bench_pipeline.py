"""Input pipeline throughput: one shuffled epoch of MNIST-sized data through a Python loop.

x float32 [60000, 784], y int32 [60000], batch 128, shuffle=True. Timed in the
same run, interleaved round by round so machine noise hits every variant alike:

* ``stream-T``: ``numpy_input_fn(..., num_threads=T)`` consumed by ``for f, l in stream``;
* ``c-gather-T``: the physical limit, a plain C memcpy loop copying the same
  number of shuffled rows into one reused buffer on T threads
  (``_gather_baseline_for_testing``);
* ``numpy``: ``rng.permutation`` + ``np.take(x, idx, axis=0, out=buf)`` per batch.

Ratios use medians over the rounds. Targets: stream-1 >= 0.9 x c-gather-1 and
> numpy; stream-2 >= 0.9 x c-gather-2 and >= 1.6 x stream-1.

Run as a benchmark (``--benchmark-only``; ratios land in extra_info and are
printed) or as a script (``python benchmarks/bench_pipeline.py [rounds]``).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pytest

from estcore._lib._pipeline import _gather_baseline_for_testing
from estcore.inputs import numpy_input_fn

N, D, BATCH = 60000, 784, 128


def make_data():
    rng = np.random.default_rng(0)
    x = rng.random((N, D), dtype=np.float32)
    y = rng.integers(0, 10, N, dtype=np.int32)
    return x, y


def run_stream(x, y, num_threads, seed=0):
    stream = numpy_input_fn(x, y, batch_size=BATCH, num_epochs=1, shuffle=True,
                            num_threads=num_threads, seed=seed)()
    rows = 0
    for feats, _labels in stream:
        rows += feats.shape[0]
    assert rows == N
    return rows


def run_c_gather(x, num_threads, seed=0):
    idx = np.random.default_rng(seed).permutation(N)
    _gather_baseline_for_testing(x, idx, BATCH, num_threads)


def run_numpy(x, y, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(N)
    xb = np.empty((BATCH, D), np.float32)
    yb = np.empty(BATCH, np.int32)
    for lo in range(0, N, BATCH):
        take = idx[lo:lo + BATCH]
        if len(take) < BATCH:
            xb, yb = xb[:len(take)], yb[:len(take)]
        np.take(x, take, axis=0, out=xb)
        np.take(y, take, axis=0, out=yb)


def variants(x, y):
    # The C gather's permutation is drawn inside the timed call as numpy's is;
    # the stream computes its own (Feistel) order inside the timed call too.
    return {
        "stream-1": lambda s: run_stream(x, y, 1, s),
        "stream-2": lambda s: run_stream(x, y, 2, s),
        "c-gather-1": lambda s: run_c_gather(x, 1, s),
        "c-gather-2": lambda s: run_c_gather(x, 2, s),
        "numpy": lambda s: run_numpy(x, y, s),
    }


def measure(rounds: int = 7) -> dict[str, float]:
    """Median rows/s per variant and the target ratios, interleaved over rounds."""
    x, y = make_data()
    fns = variants(x, y)
    for fn in fns.values():  # warm-up: page in x, the pool, numpy's buffers
        fn(99)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(r)
            times[name].append(time.perf_counter() - t0)
    rate = {name: N / statistics.median(ts) for name, ts in times.items()}
    out = {f"rows_per_s[{k}]": v for k, v in rate.items()}
    out["ratio stream-1 / c-gather-1"] = rate["stream-1"] / rate["c-gather-1"]
    out["ratio stream-1 / numpy"] = rate["stream-1"] / rate["numpy"]
    out["ratio stream-2 / c-gather-2"] = rate["stream-2"] / rate["c-gather-2"]
    out["ratio stream-2 / stream-1"] = rate["stream-2"] / rate["stream-1"]
    out["ratio c-gather-2 / c-gather-1"] = rate["c-gather-2"] / rate["c-gather-1"]
    return out


def report(results: dict[str, float]) -> str:
    lines = []
    for k, v in results.items():
        lines.append(f"  {k:34s} {v:14,.2f}" if k.startswith("ratio") else
                     f"  {k:34s} {v:14,.0f}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def ratios(request):
    disabled = request.config.getoption("benchmark_disable", False)
    return measure(rounds=1 if disabled else 7)


@pytest.mark.parametrize("name", ["stream-1", "stream-2", "c-gather-1", "c-gather-2", "numpy"])
def test_epoch(benchmark, data, ratios, name):
    """One shuffled epoch per round; extra_info holds every variant's rate and the ratios."""
    fn = variants(*data)[name]
    benchmark.extra_info.update({"rows": N, "row_bytes": D * 4, "batch_size": BATCH})
    benchmark.extra_info.update(ratios)
    benchmark.pedantic(fn, args=(0,), rounds=5, iterations=1, warmup_rounds=1)
    print(f"\n{name}: interleaved medians\n{report(ratios)}")


if __name__ == "__main__":
    print(report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
