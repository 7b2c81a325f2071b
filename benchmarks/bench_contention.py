"""A training step while another process keeps a core busy, against the same step on one
thread (issue 15: a busy machine must never make the 2-thread step slower than 1 thread).

For each step of ``tutorial_steps`` (MLP, CNN) four settings are timed, interleaved round
by round so drifting load hits all alike:

* ``quiet 1t`` / ``quiet 2t``: estcore on 1 / 2 threads, nothing else running;
* ``busy 1t`` / ``busy 2t``: the same while a spinner process (a Python busy loop, one
  core's worth) runs for the whole block.

Printed: the median milliseconds per step of each setting and the ratio ``busy 2t /
busy 1t`` (the contention criterion: at most 1) and ``busy 2t / quiet 2t``.

Run (under the heavy-work lock, nothing else heavy running):

    flock /tmp/estcore-heavy.lock python benchmarks/bench_contention.py [rounds]

Under pytest (``pytest benchmarks/bench_contention.py``) one short round runs, so the
script cannot rot; with ``--benchmark-disable`` that is all it does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from estcore._lib import _kernels  # noqa: E402
from tutorial_steps import KINDS, build_step  # noqa: E402

SETTINGS = ("quiet 1t", "quiet 2t", "busy 1t", "busy 2t")
STEPS_PER_BLOCK = {"mlp": 200, "cnn": 6}


class Spinner:
    """A child process spinning on one core while the ``with`` block runs."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.05)  # let it start spinning
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def _block(step, x, y, n):
    t0 = time.perf_counter()
    for _ in range(n):
        step(x, y)
    return (time.perf_counter() - t0) / n


def measure(kind: str, rounds: int = 7, steps: int | None = None) -> dict[str, float]:
    """Median seconds per step of every setting (see the module doc)."""
    step, x, y = build_step(kind)
    n = steps or STEPS_PER_BLOCK[kind]
    before = _kernels.get_num_threads()
    times: dict[str, list[float]] = {s: [] for s in SETTINGS}
    try:
        for r in range(rounds):
            order = SETTINGS if r % 2 == 0 else SETTINGS[::-1]
            for setting in order:
                _kernels.set_num_threads(1 if setting.endswith("1t") else 2)
                step(x, y)  # warm: workers started, workspaces allocated
                if setting.startswith("busy"):
                    with Spinner():
                        times[setting].append(_block(step, x, y, n))
                else:
                    times[setting].append(_block(step, x, y, n))
    finally:
        _kernels.set_num_threads(before)
    return {s: statistics.median(v) for s, v in times.items()}


def report(kind: str, med: dict[str, float]) -> str:
    cells = "  ".join(f"{s} {med[s] * 1e3:8.3f}" for s in SETTINGS)
    return (f"{kind}: ms/step  {cells}  | busy 2t / busy 1t {med['busy 2t'] / med['busy 1t']:.3f}"
            f"  busy 2t / quiet 2t {med['busy 2t'] / med['quiet 2t']:.3f}")


def test_contention_runs():
    """One short round per step (keeps the script working; timing is not asserted)."""
    for kind in KINDS:
        med = measure(kind, rounds=1, steps=2)
        assert set(med) == set(SETTINGS) and all(v > 0 for v in med.values())


if __name__ == "__main__":  # pragma: no cover - a manual report
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    for kind in KINDS:
        print(report(kind, measure(kind, rounds)), flush=True)
