"""Dataset throughput against its baselines, timed in the same run (interleaved rounds).

1. In-memory: x float32 [60000, 784], y int32 [60000], batch 128, one shuffled epoch
   consumed by a Python ``for`` loop:

   * ``dataset-T``: ``Dataset.from_tensor_slices((x, y)).shuffle(60000).batch(128)``
     with ``T`` C worker threads (``Options.threading.private_threadpool_size``);
   * ``numpy_input_fn-T``: ``numpy_input_fn(x, y, 128, shuffle=True, num_threads=T)``;
   * ``dataset-buffer``: the same with ``shuffle(10000)`` (TF's buffer order: a table
     computed in C per pass, gathered by the C workers; informational).

   Target: dataset-1 >= 0.9 x numpy_input_fn-1.

2. TFRecord: 20000 serialized ``tf.train.Example``s (4 float features + an int64 label)
   in one file, read by ``TFRecordDataset(f).batch(256).map(parse_example)`` against a
   plain Python loop over the same records (``tf_record_iterator`` +
   ``estcore.io.decode_example`` per record).

3. CSV: 100,000 rows of 6 float columns and an int label with a header, read by
   ``TextLineDataset(f).skip(1).batch(1024).map(decode_csv)`` (one vectorised
   ``decode_csv`` run per batch) against ``pandas.read_csv(f)`` (informational; the
   reader-level comparison is benchmarks/bench_readers.py).

Run with ``--benchmark-only`` (ratios in extra_info, printed) or as a script
(``python benchmarks/bench_data.py [rounds]``), under the shared lock.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import estcore as ec
from estcore.data import Dataset, Options, TextLineDataset, TFRecordDataset
from estcore.data.readers import tf_record_iterator
from estcore.inputs import numpy_input_fn
from estcore.io import FixedLenFeature, decode_csv, decode_example, encode_example, parse_example
from estcore.io.tf_record import TFRecordWriter

N, D, BATCH = 60000, 784, 128
N_RECORDS, RECORD_BATCH = 20000, 256
CSV_ROWS, CSV_BATCH = 100000, 1024
KEYS = ("a", "b", "c", "d")


def make_data():
    rng = np.random.default_rng(0)
    x = rng.random((N, D), dtype=np.float32)
    y = rng.integers(0, 10, N, dtype=np.int32)
    return x, y


def threads(ds: Dataset, n: int) -> Dataset:
    opts = Options()
    opts.threading.private_threadpool_size = n
    return ds.with_options(opts)


def run_dataset(x, y, num_threads, seed, buffer=N):
    ds = threads(Dataset.from_tensor_slices((x, y)).shuffle(buffer, seed=seed).batch(BATCH),
                 num_threads)
    rows = 0
    for feats, _labels in ds:
        rows += feats.shape[0]
    assert rows == N
    return rows


def run_numpy_input_fn(x, y, num_threads, seed):
    rows = 0
    for feats, _labels in numpy_input_fn(x, y, batch_size=BATCH, shuffle=True,
                                         num_threads=num_threads, seed=seed)():
        rows += feats.shape[0]
    assert rows == N
    return rows


def make_records(path: Path) -> None:
    rng = np.random.default_rng(1)
    with TFRecordWriter(str(path)) as w:
        for i in range(N_RECORDS):
            feats = {k: np.float32([rng.random()]) for k in KEYS}
            feats["label"] = np.int64([i % 10])
            w.write(encode_example(feats))


SPEC = {**{k: FixedLenFeature([], ec.float32) for k in KEYS},
        "label": FixedLenFeature([], ec.int64)}


def run_tfrecord_dataset(path: Path) -> int:
    ds = TFRecordDataset(str(path)).batch(RECORD_BATCH).map(lambda s: parse_example(s, SPEC))
    rows = 0
    for batch in ds:
        rows += batch["label"].shape[0]
    assert rows == N_RECORDS
    return rows


def run_python_loop(path: Path) -> int:
    rows = 0
    for record in tf_record_iterator(str(path)):
        decode_example(record)
        rows += 1
    assert rows == N_RECORDS
    return rows


def make_csv(path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(CSV_ROWS, 6))
    y = rng.integers(0, 10, CSV_ROWS)
    lines = ["a,b,c,d,e,f,label"] + [",".join(f"{v:.6f}" for v in row) + f",{lab}"
                                      for row, lab in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def run_csv_dataset(path: Path) -> int:
    defaults = [[0.0]] * 6 + [[0]]
    ds = TextLineDataset(str(path)).skip(1).batch(CSV_BATCH).map(
        lambda lines: decode_csv(lines, defaults))
    rows = 0
    for cols in ds:
        rows += cols[0].shape[0]
    assert rows == CSV_ROWS
    return rows


def run_pandas_csv(path: Path) -> int:
    import pandas  # local: optional dependency, only this baseline needs it

    frame = pandas.read_csv(path)
    assert len(frame) == CSV_ROWS
    return len(frame)


def measure(rounds: int = 7) -> dict[str, float]:
    """Median rates (rows or records per second) and the ratios, interleaved."""
    x, y = make_data()
    tmp = Path(tempfile.mkdtemp())
    records = tmp / "bench.tfrecord"
    make_records(records)
    csv = tmp / "bench.csv"
    make_csv(csv)
    fns = {
        "dataset-1": lambda s: run_dataset(x, y, 1, s),
        "numpy_input_fn-1": lambda s: run_numpy_input_fn(x, y, 1, s),
        "dataset-2": lambda s: run_dataset(x, y, 2, s),
        "numpy_input_fn-2": lambda s: run_numpy_input_fn(x, y, 2, s),
        "dataset-buffer": lambda s: run_dataset(x, y, 1, s, buffer=10000),
        "tfrecord-dataset": lambda s: run_tfrecord_dataset(records),
        "tfrecord-python-loop": lambda s: run_python_loop(records),
        "csv-dataset": lambda s: run_csv_dataset(csv),
        "csv-pandas": lambda s: run_pandas_csv(csv),
    }
    sizes = {k: (N_RECORDS if k.startswith("tfrecord") else CSV_ROWS if k.startswith("csv")
                 else N) for k in fns}
    for fn in fns.values():
        fn(99)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(r)
            times[name].append(time.perf_counter() - t0)
    rate = {k: sizes[k] / statistics.median(ts) for k, ts in times.items()}
    out = {f"per_s[{k}]": v for k, v in rate.items()}
    out["ratio dataset-1 / numpy_input_fn-1"] = rate["dataset-1"] / rate["numpy_input_fn-1"]
    out["ratio dataset-2 / numpy_input_fn-2"] = rate["dataset-2"] / rate["numpy_input_fn-2"]
    out["ratio dataset-buffer / dataset-1"] = rate["dataset-buffer"] / rate["dataset-1"]
    out["ratio tfrecord-dataset / python-loop"] = (rate["tfrecord-dataset"]
                                                   / rate["tfrecord-python-loop"])
    out["ratio csv-dataset / pandas"] = rate["csv-dataset"] / rate["csv-pandas"]
    return out


def report(results: dict[str, float]) -> str:
    return "\n".join(f"  {k:40s} {v:14,.2f}" if k.startswith("ratio") else
                     f"  {k:40s} {v:14,.0f}" for k, v in results.items())


@pytest.fixture(scope="module")
def ratios(request):
    disabled = request.config.getoption("benchmark_disable", False)
    return measure(rounds=1 if disabled else 7)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.mark.parametrize("name", ["dataset-1", "numpy_input_fn-1"])
def test_epoch(benchmark, data, ratios, name):
    """One shuffled epoch per round; extra_info holds every variant's rate and the ratios."""
    x, y = data
    fn = {"dataset-1": lambda: run_dataset(x, y, 1, 0),
          "numpy_input_fn-1": lambda: run_numpy_input_fn(x, y, 1, 0)}[name]
    benchmark.extra_info.update(ratios)
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    print(f"\n{name}: interleaved medians\n{report(ratios)}")


if __name__ == "__main__":
    print(report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
