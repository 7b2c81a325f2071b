"""File sources against their baselines, timed in the same run (interleaved rounds).

1. CSV: 300,000 rows of 6 float columns, 2 int columns and a string column, with a
   header (about 20 MB), parsed into one array per column:

   * ``pandas``: ``pandas.read_csv(path)`` (its C parser, one thread);
   * ``estcore-T``: ``iter_text_lines(path, start=1)`` (C line framing) and the
     ``DecodeCSV`` kernel (``_pipeline.decode_csv_columns``) over each chunk of lines
     with ``T`` threads, the columns concatenated at the end;
   * ``estcore-op-2``: the same through the graph op (``decode_csv`` on a string
     placeholder, one ``Session.run`` per chunk, 2 threads): the TextLine + decode_csv
     path of a TF1 input pipeline.

   Target: estcore-2 at least as fast as pandas.

2. TFRecord: 50,000 serialized ``tf.train.Example``s (4 float features + an int64 label):

   * ``tfrecord-estcore``: ``iter_tfrecords`` (C framing, both CRCs) and
     ``parse_example`` (graph op, one ``Session.run`` per chunk of records);
   * ``tfrecord-python-loop``: a plain Python loop over the same bytes: ``struct``
     framing, the same C CRC-32C, ``decode_example`` per record, arrays stacked at the
     end.

Run with ``--benchmark-only`` (rates and ratios in extra_info, printed) or as a script
(``python benchmarks/bench_readers.py [rounds]``), under the shared lock.
"""

from __future__ import annotations

import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import estcore as ec
from estcore._lib import _pipeline
from estcore.data.readers import iter_text_lines, iter_tfrecords
from estcore.graph.ops.parsing_ops import decode_csv, set_parse_threads
from estcore.io import FixedLenFeature, decode_example, encode_example, parse_example
from estcore.io.tf_record import TFRecordWriter

N_ROWS = 300_000
N_RECORDS = 50_000
KEYS = ("a", "b", "c", "d")
TYPES = [_pipeline.CSV_FLOAT] * 6 + [_pipeline.CSV_INT32] * 2 + [_pipeline.CSV_STRING]
DEFAULTS = [0.0] * 6 + [0, 0] + [b""]
WORDS = ("setosa", "versicolor", "virginica", "unknown")


def make_csv(path: Path, rows: int = N_ROWS) -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=(rows, 6)) * 100
    i = rng.integers(-100000, 100000, size=(rows, 2))
    w = rng.integers(0, len(WORDS), rows)
    with open(path, "w") as out:
        out.write(",".join([f"f{k}" for k in range(6)] + ["i0", "i1", "label"]) + "\n")
        for r in range(rows):
            out.write(",".join([f"{v:.6f}" for v in f[r]] + [str(v) for v in i[r]]
                               + [WORDS[w[r]]]) + "\n")


def run_pandas(path: Path):
    import pandas as pd  # noqa: PLC0415 - optional dependency of the benchmark only

    return pd.read_csv(path)


def run_estcore(path: Path, threads: int):
    cols: list[list[np.ndarray]] = [[] for _ in TYPES]
    for chunk in iter_text_lines(path, start=1):
        for acc, col in zip(cols, _pipeline.decode_csv_columns(
                chunk, TYPES, DEFAULTS, ",", True, b"", None, threads), strict=True):
            acc.append(col)
    return [np.concatenate(c) for c in cols]


class _OpPath:
    """decode_csv as a graph op, one Session.run per chunk of lines."""

    def __init__(self) -> None:
        self.graph = ec.Graph()
        with self.graph.as_default():
            self.lines = ec.placeholder(ec.string, [None])
            self.cols = decode_csv(self.lines, [[0.0]] * 6 + [[0]] * 2 + [[""]])
            self.sess = ec.Session()

    def __call__(self, path: Path):
        previous = set_parse_threads(2)
        try:
            cols: list[list[np.ndarray]] = [[] for _ in TYPES]
            for chunk in iter_text_lines(path, start=1):
                for acc, col in zip(cols, self.sess.run(self.cols, {self.lines: chunk}),
                                    strict=True):
                    acc.append(col)
        finally:
            set_parse_threads(previous)
        return [np.concatenate(c) for c in cols]


def make_records(path: Path, records: int = N_RECORDS) -> None:
    rng = np.random.default_rng(1)
    with TFRecordWriter(str(path)) as w:
        for i in range(records):
            feats = {k: np.float32([rng.random()]) for k in KEYS}
            feats["label"] = np.int64([i % 10])
            w.write(encode_example(feats))


SPEC = {**{k: FixedLenFeature([], ec.float32) for k in KEYS},
        "label": FixedLenFeature([], ec.int64)}


class _TFRecordPath:
    def __init__(self) -> None:
        self.graph = ec.Graph()
        with self.graph.as_default():
            self.serialized = ec.placeholder(ec.string, [None])
            self.parsed = parse_example(self.serialized, SPEC)
            self.sess = ec.Session()

    def __call__(self, path: Path) -> dict:
        parts: dict[str, list[np.ndarray]] = {k: [] for k in SPEC}
        for chunk in iter_tfrecords(path):
            for k, v in self.sess.run(self.parsed, {self.serialized: chunk}).items():
                parts[k].append(v)
        return {k: np.concatenate(v) for k, v in parts.items()}


def run_python_loop(path: Path) -> dict:
    data = path.read_bytes()
    pos = 0
    rows: dict[str, list] = {k: [] for k in SPEC}
    masked = _pipeline.masked_crc32c
    while pos < len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        if masked(data[pos:pos + 8]) != len_crc:
            raise ValueError(f"corrupted length at {pos}")
        record = data[pos + 12:pos + 12 + n]
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + n)
        if masked(record) != data_crc:
            raise ValueError(f"corrupted record at {pos}")
        parsed = decode_example(record)
        for k in SPEC:
            rows[k].append(parsed[k][1][0])
        pos += 16 + n
    return {k: np.array(v, np.int64 if k == "label" else np.float32) for k, v in rows.items()}


def make_files(rows: int = N_ROWS, records: int = N_RECORDS) -> tuple[Path, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    csv, tfrecord = tmp / "bench.csv", tmp / "bench.tfrecord"
    make_csv(csv, rows)
    make_records(tfrecord, records)
    return csv, tfrecord


def measure(rounds: int = 5, rows: int = N_ROWS, records: int = N_RECORDS) -> dict[str, float]:
    """Median rates (rows per second) and the ratios, interleaved round by round."""
    csv, tfrecords = make_files(rows, records)
    op_path, tfr_path = _OpPath(), _TFRecordPath()
    fns = {
        "pandas": lambda: run_pandas(csv),
        "estcore-1": lambda: run_estcore(csv, 1),
        "estcore-2": lambda: run_estcore(csv, 2),
        "estcore-op-2": lambda: op_path(csv),
        "tfrecord-estcore": lambda: tfr_path(tfrecords),
        "tfrecord-python-loop": lambda: run_python_loop(tfrecords),
    }
    sizes = {k: (records if k.startswith("tfrecord") else rows) for k in fns}
    ref = run_pandas(csv)
    got = run_estcore(csv, 2)
    assert len(ref) == rows and got[0].shape[0] == rows
    for j, name in enumerate(ref.columns[:8]):   # same numbers as pandas' parse
        np.testing.assert_allclose(got[j], ref[name].to_numpy(), rtol=1e-6)
    fast, slow = tfr_path(tfrecords), run_python_loop(tfrecords)
    for k in SPEC:                               # same values as the Python loop
        np.testing.assert_array_equal(fast[k], slow[k])
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    rate = {k: sizes[k] / statistics.median(ts) for k, ts in times.items()}
    out = {f"per_s[{k}]": v for k, v in rate.items()}
    out["MB/s[estcore-2]"] = csv.stat().st_size / 1e6 / statistics.median(times["estcore-2"])
    out["MB/s[pandas]"] = csv.stat().st_size / 1e6 / statistics.median(times["pandas"])
    out["ratio estcore-1 / pandas"] = rate["estcore-1"] / rate["pandas"]
    out["ratio estcore-2 / pandas"] = rate["estcore-2"] / rate["pandas"]
    out["ratio estcore-op-2 / pandas"] = rate["estcore-op-2"] / rate["pandas"]
    out["ratio tfrecord-estcore / python-loop"] = (rate["tfrecord-estcore"]
                                                   / rate["tfrecord-python-loop"])
    return out


def report(results: dict[str, float]) -> str:
    return "\n".join(f"  {k:40s} {v:14,.2f}" if not k.startswith("per_s") else
                     f"  {k:40s} {v:14,.0f}" for k, v in results.items())


@pytest.fixture(scope="module")
def ratios(request):
    pytest.importorskip("pandas")
    if request.config.getoption("benchmark_disable", False):  # CI: small files, one round
        return measure(rounds=1, rows=20_000, records=5_000)
    return measure(rounds=5)


@pytest.fixture(scope="module")
def csv_file(request):
    disabled = request.config.getoption("benchmark_disable", False)
    return make_files(20_000 if disabled else N_ROWS, 10)[0]


@pytest.mark.parametrize("name", ["estcore-2", "pandas"])
def test_csv(benchmark, ratios, name, csv_file):
    """One parse of the CSV file per round; extra_info holds every variant's rate."""
    fn = {"estcore-2": lambda: run_estcore(csv_file, 2),
          "pandas": lambda: run_pandas(csv_file)}[name]
    benchmark.extra_info.update(ratios)
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    print(f"\n{name}: interleaved medians\n{report(ratios)}")


if __name__ == "__main__":
    print(report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
