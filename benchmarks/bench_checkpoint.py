"""Checkpoint write cost: the 784-256-256-10 MLP's variables with Adam slots (3.2 MB).

Timed in the same run, interleaved round by round:

* ``write_checkpoint``: estcore's atomic checkpoint write (header, CRC-32, temp
  file, fsync, rename, directory fsync);
* ``raw``: the I/O floor, the same bytes written to a new file with one
  ``os.write`` per tensor and an ``fsync`` (no checksum, no rename).

The ratio write_checkpoint / raw is the price of the format and of atomicity.
Run as a benchmark (``--benchmark-only``) or as a script
(``python benchmarks/bench_checkpoint.py [rounds]``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import pytest

from estcore.checkpoint.format import write_checkpoint

_SHAPES = {"dense/kernel": (784, 256), "dense/bias": (256,), "dense_1/kernel": (256, 256),
           "dense_1/bias": (256,), "dense_2/kernel": (256, 10), "dense_2/bias": (10,)}


def make_values() -> dict:
    rng = np.random.default_rng(0)
    values = {"global_step": np.int64(300), "beta1_power": np.float32(0.9),
              "beta2_power": np.float32(0.999)}
    for name, shape in _SHAPES.items():
        for suffix in ("", "/Adam", "/Adam_1"):
            values[name + suffix] = rng.normal(size=shape).astype(np.float32)
    return values


class _Dir:
    """A scratch directory where each write gets a new name; old files are removed
    so the page cache and the disk see a steady state."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="bench-ckpt-")
        self.n = 0
        self.written: list[str] = []

    def next(self) -> str:
        self.n += 1
        while len(self.written) > 4:
            os.remove(self.written.pop(0))
        return os.path.join(self.path, f"f{self.n}")

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _estcore(d: _Dir, values: dict) -> None:
    d.written.append(write_checkpoint(d.next(), values))


def _raw(d: _Dir, values: dict) -> None:
    path = d.next()
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        for name in sorted(values):
            os.write(fd, np.ascontiguousarray(values[name]).tobytes())
        os.fsync(fd)
    finally:
        os.close(fd)
    d.written.append(path)


@pytest.mark.parametrize("variant", ["write_checkpoint", "raw"])
def test_checkpoint_write(benchmark, variant):
    benchmark.group = "checkpoint-write-3.2MB"
    values, d = make_values(), _Dir()
    fn = _estcore if variant == "write_checkpoint" else _raw
    try:
        benchmark.pedantic(fn, args=(d, values), rounds=30, iterations=1, warmup_rounds=3)
    finally:
        d.close()


def main(rounds: int) -> None:
    values, d = make_values(), _Dir()
    times: dict[str, list[float]] = {"write_checkpoint": [], "raw": []}
    for r in range(rounds + 3):
        for name, fn in (("write_checkpoint", _estcore), ("raw", _raw)):
            t = time.perf_counter()
            fn(d, values)
            if r >= 3:
                times[name].append(time.perf_counter() - t)
    d.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = statistics.median(a / b for a, b in zip(times["write_checkpoint"], times["raw"],
                                                    strict=True))
    print(f"{rounds} rounds: write_checkpoint {med['write_checkpoint'] * 1e3:.2f} ms, "
          f"raw write+fsync {med['raw'] * 1e3:.2f} ms, ratio {ratio:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
