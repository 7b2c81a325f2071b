"""The Estimator's MLP step and evaluate call under each way of feeding it (a script).

The program of ``bench_vs_tf.py`` (784-256-256-10 ReLU, Adam, batch 128) under estcore
only, fed four ways, each in a fresh process, settings alternating round by round:

* ``dataset``: ``Dataset.from_tensor_slices(...).repeat().batch(128)`` (batches are
  read-only views of the arrays: nothing is copied);
* ``dataset-shuffle``: the same with ``.shuffle(4096)`` (batches are gathered);
* ``numpy_input_fn``: ``numpy_input_fn(..., shuffle=True)`` (a C worker thread gathers
  each batch while the step runs);
* ``numpy_input_fn, guard off``: the same with ``ESTCORE_CONTENTION_GUARD=0`` (the
  thread pool's load sensing and contention guard off: the reference for what they
  cost when nothing else runs).

Measured in each process: the mean and median step time of ``Estimator.train`` from
step 100 to 600 (a hook stamps each step), and the median time of five
``Estimator.evaluate`` calls over 10,000 examples in batches of 1,000, fed the same
way (``numpy_input_fn(..., shuffle=False, num_epochs=1)`` or a batched Dataset).

What it checks (session 18): an input pipeline's worker thread, busy as each step
starts, must not make the thread pool's load sensing run kernels on one thread: the
``numpy_input_fn`` rows should stay near ``dataset-shuffle`` and the guard-off row.

Run: ``python benchmarks/bench_input_feeds.py [rounds]``. Under pytest
(``pytest benchmarks/bench_input_feeds.py``) one short round runs, so the script
cannot rot.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FEEDS = ("dataset", "dataset-shuffle", "numpy_input_fn", "numpy_input_fn, guard off")
BATCH = 128


def _worker(feed: str, steps: int, warmup: int, evals: int) -> dict:
    sys.path.insert(0, HERE)
    import numpy as np

    import estcore.compat.v1 as tf
    from bench_vs_tf import make_data, make_input_fns, model_fn_for

    train_input, eval_input = make_input_fns(
        tf, "numpy_input_fn" if feed.startswith("numpy_input_fn") else "dataset", BATCH,
        make_data("mlp", 4096, 0), make_data("mlp", 10_000, 1),
        shuffle_buffer=4096 if feed == "dataset-shuffle" else 0)

    stamps: list[float] = []

    class Stamp(tf.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as model_dir:
        est = tf.estimator.Estimator(model_fn_for(tf, "mlp"), model_dir=model_dir)
        est.train(train_input, steps=steps, hooks=[Stamp()])
        gaps = np.diff(stamps[warmup:])
        evals_s = []
        for _ in range(evals):
            t0 = time.perf_counter()
            est.evaluate(eval_input)
            evals_s.append(time.perf_counter() - t0)
    return {"feed": feed, "step_mean_ms": 1e3 * float(np.mean(gaps)),
            "step_median_ms": 1e3 * float(np.median(gaps)),
            "evaluate_ms": 1e3 * statistics.median(evals_s)}


def run_feed(feed: str, steps: int = 600, warmup: int = 100, evals: int = 5) -> dict:
    """One fresh process for one feed; its result."""
    env = dict(os.environ)
    if feed.endswith("guard off"):
        env["ESTCORE_CONTENTION_GUARD"] = "0"
    else:
        env.pop("ESTCORE_CONTENTION_GUARD", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", feed, str(steps),
           str(warmup), str(evals)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if res.returncode != 0:
        raise RuntimeError(f"{feed} worker failed (rc {res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(rounds: int = 3) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict]] = {f: [] for f in FEEDS}
    for r in range(rounds):
        for feed in (FEEDS if r % 2 == 0 else FEEDS[::-1]):
            res = run_feed(feed)
            runs[feed].append(res)
            print(f"  round {r} {feed:27s} step mean {res['step_mean_ms']:.3f} ms  median "
                  f"{res['step_median_ms']:.3f}  evaluate {res['evaluate_ms']:.1f} ms", flush=True)
    med = {f: {k: statistics.median(x[k] for x in rs)
               for k in ("step_mean_ms", "step_median_ms", "evaluate_ms")}
           for f, rs in runs.items()}
    print("medians over rounds:")
    for f, m in med.items():
        print(f"  {f:27s} step mean {m['step_mean_ms']:.3f} ms  median {m['step_median_ms']:.3f}"
              f"  evaluate {m['evaluate_ms']:.1f} ms")
    return med


def test_bench_input_feeds_runs():
    """Each feed once, briefly (the script must not rot; timing is not asserted)."""
    for feed in FEEDS:
        res = run_feed(feed, steps=12, warmup=4, evals=1)
        assert res["feed"] == feed and res["step_mean_ms"] > 0 and res["evaluate_ms"] > 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                 int(sys.argv[5]))))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
