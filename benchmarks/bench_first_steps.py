"""The first training steps of a fresh process: contention guard on vs off (a script).

Each round starts two fresh Python processes, one with the thread pool's contention guard
(the default) and one with ``ESTCORE_CONTENTION_GUARD=0``, interleaved, each building the
tutorial CNN step (``tutorial_steps.build_step``) on 2 threads and timing its first
``steps`` steps. Printed per mode: the median over rounds of the mean of steps 2..steps
(ms; step 1 compiles the plan), and the ratio guard on / guard off. On a quiet machine
the guard must not engage, so the ratio is about 1. When the guard read a worker's first
touch of its fresh scratch as contention, steps 2 to 16-18 of the CNN ran on one thread
(56-60 ms against 29-31; ``est_threadpool.h``): a ratio of about 1.7-1.85 by those step
times (that behaviour came and went with the machine's state; the benchmark was written
after it).

Run: ``python benchmarks/bench_first_steps.py [rounds] [steps]`` (defaults 3, 20).
Under pytest one short round of the MLP step runs, so the script cannot rot.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

_CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
from tutorial_steps import build_step
from estcore._lib import _kernels
_kernels.set_num_threads(2)
step, x, y = build_step({kind!r})
times = []
for _ in range({steps}):
    t = time.perf_counter()
    step(x, y)
    times.append(time.perf_counter() - t)
print(json.dumps(times))
"""


def first_steps(kind: str, steps: int, guard: bool) -> list[float]:
    """Seconds of each of the first ``steps`` steps of a fresh process."""
    env = dict(os.environ)
    env.pop("ESTCORE_CONTENTION_GUARD", None)
    if not guard:
        env["ESTCORE_CONTENTION_GUARD"] = "0"
    code = _CHILD.format(here=HERE, kind=kind, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(rounds: int = 3, steps: int = 20, kind: str = "cnn") -> float:
    """Print and return the ratio guard on / guard off of the steps after the first."""
    means: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for guard in (True, False):
            t = first_steps(kind, steps, guard)
            means[guard].append(statistics.fmean(t[1:]) * 1e3)
    on, off = statistics.median(means[True]), statistics.median(means[False])
    print(f"{kind}, 2 threads, steps 2..{steps} of a fresh process, median of {rounds} rounds:")
    for name, guard, med in (("on ", True, on), ("off", False, off)):
        each = ", ".join(f"{m:.2f}" for m in means[guard])
        print(f"  guard {name} {med:8.2f} ms/step   (rounds: {each})")
    print(f"  ratio on/off {on / off:.2f}")
    return on / off


def test_first_steps_runs(capsys):
    """One short round of the MLP (the script must not rot)."""
    ratio = main(1, 4, "mlp")
    assert ratio > 0
    assert "ratio on/off" in capsys.readouterr().out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3,
         int(sys.argv[2]) if len(sys.argv) > 2 else 20)
