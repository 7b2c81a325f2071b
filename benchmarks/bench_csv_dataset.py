"""The CSV tutorials' Dataset pipeline against ``pandas.read_csv``, timed in the same run.

``TextLineDataset(path).skip(1).map(parse_line).batch(4096)`` where ``parse_line`` is
``decode_csv`` + ``dict(zip(names, fields))`` + popping the label (the "Premade
Estimators" guide's shape), on bench_readers' file (300,000 rows: 6 float, 2 int and a
string column), 2 parse threads, interleaved rounds, medians:

* ``bulk_csv``: the map path that parses the files in the C CSV reader's buffer
  (``estcore/data/csv_map.py``; what such a pipeline runs by default);
* ``vectorized``: the same pipeline with that path off (lines, then one traced
  ``decode_csv`` run per chunk);
* ``pandas``: ``pandas.read_csv(path)``.

Target (issue 17): at least pandas' rate with 2 threads. Run as a script
(``python benchmarks/bench_csv_dataset.py [rounds]``) or with ``--benchmark-only``;
under ``--benchmark-disable`` (CI) a small file and one round.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_readers as readers  # noqa: E402 - the shared CSV file and pandas baseline
import estcore.compat.v1 as tf  # noqa: E402
from estcore.data import csv_map, map_mode  # noqa: E402
from estcore.graph.ops.decode_ops import set_parse_threads  # noqa: E402

NAMES = [f"f{k}" for k in range(6)] + ["i0", "i1", "label"]
DEFAULTS = [[0.0]] * 6 + [[0]] * 2 + [[""]]


def _parse(line):
    fields = tf.decode_csv(line, record_defaults=DEFAULTS)
    features = dict(zip(NAMES, fields, strict=True))
    label = features.pop("label")
    return features, label


def run_dataset(path: Path, bulk: bool, rows: int) -> tuple[str, float]:
    """(map path, rows/s) of one pass over the file."""
    saved, csv_map.ENABLED = csv_map.ENABLED, bulk
    try:
        ds = tf.data.TextLineDataset(str(path)).skip(1).map(_parse).batch(4096)
        mode = map_mode(ds)
        t0 = time.perf_counter()
        n = sum(labels.shape[0] for _, labels in ds)
        dt = time.perf_counter() - t0
    finally:
        csv_map.ENABLED = saved
    assert n == rows, (n, rows)
    return mode, n / dt


def measure(rounds: int = 5, rows: int = readers.N_ROWS) -> dict[str, float]:
    path = Path(tempfile.mkdtemp()) / "data.csv"
    readers.make_csv(path, rows)
    prev = set_parse_threads(2)
    rates: dict[str, list[float]] = {"bulk_csv": [], "vectorized": [], "pandas": []}
    try:
        for _ in range(rounds):
            for bulk, key in ((True, "bulk_csv"), (False, "vectorized")):
                mode, rate = run_dataset(path, bulk, rows)
                assert mode == key, (mode, key)
                rates[key].append(rate)
            t0 = time.perf_counter()
            readers.run_pandas(path)
            rates["pandas"].append(rows / (time.perf_counter() - t0))
    finally:
        set_parse_threads(prev)
    med = {f"per_s_{k}": statistics.median(v) for k, v in rates.items()}
    med["bulk_csv_over_pandas"] = med["per_s_bulk_csv"] / med["per_s_pandas"]
    med["vectorized_over_pandas"] = med["per_s_vectorized"] / med["per_s_pandas"]
    return med


def test_csv_dataset_vs_pandas(benchmark, request):
    """extra_info holds the interleaved medians; the timed call is one bulk_csv pass."""
    pytest.importorskip("pandas")
    disabled = request.config.getoption("benchmark_disable", False)
    rows = 20_000 if disabled else readers.N_ROWS
    results = measure(1 if disabled else 5, rows)
    benchmark.extra_info.update(results)
    path = Path(tempfile.mkdtemp()) / "data.csv"
    readers.make_csv(path, rows)
    benchmark.pedantic(lambda: run_dataset(path, True, rows), rounds=3, iterations=1)
    print("\n" + readers.report(results))


if __name__ == "__main__":
    print(readers.report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
