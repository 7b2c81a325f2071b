"""Data-parallel training throughput: 2 processes (MPI allreduce) vs 1 process.

The 784-256-256-10 MLP (relu, softmax cross-entropy, SGD) on random MNIST-shaped
data, global batch 256, trained through ``Estimator.train`` with checkpoints and
summaries off. Three configurations, timed in the same run:

* ``1proc_1thread``: one process, 1 kernel thread, batch 256 (the baseline);
* ``2proc_1thread``: ``mpiexec -n 2``, 1 kernel thread each, batch 128 each;
* ``1proc_2threads``: one process, 2 kernel threads, batch 256.

Each configuration runs this file as a script (``--worker``); the script times
the steady-state steps itself (after warm-up) and prints one JSON line: examples
per second, step time and, under MPI, the gradient allreduce time per step.
extra_info holds every rate and the ratios to the baseline. BLAS threads are
pinned to 1 (OPENBLAS_NUM_THREADS etc.): estcore's kernel threads are the knob.

Run: ``flock /tmp/estcore-heavy.lock python -m pytest benchmarks/bench_distribute.py
--benchmark-only`` (needs the ``mpi`` extra).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GLOBAL_BATCH = 256
CONFIGS = {  # name -> (processes, kernel threads)
    "1proc_1thread": (1, 1),
    "2proc_1thread": (2, 1),
    "1proc_2threads": (1, 2),
}


def _worker(steps: int, warmup: int, threads: int) -> None:
    import numpy as np

    import estcore as ec
    from estcore import estimator as est
    from estcore.distribute import MPIStrategy

    size = int(os.environ.get("PMI_SIZE", "1"))
    strategy = MPIStrategy() if size > 1 else None

    def model_fn(features, labels, mode):
        h = ec.layers.dense(features, 256, activation=ec.nn.relu)
        h = ec.layers.dense(h, 256, activation=ec.nn.relu)
        logits = ec.layers.dense(h, 10)
        loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
        op = ec.train.GradientDescentOptimizer(0.01).minimize(
            loss, global_step=ec.train.get_global_step())
        return est.EstimatorSpec(mode, loss=loss, train_op=op)

    times: list[float] = []
    reduce_marks: list[tuple[float, int]] = []

    class Clock(est.SessionRunHook):
        def after_run(self, run_context, run_values):
            times.append(time.perf_counter())
            if len(times) == warmup and strategy is not None:
                reduce_marks.append((strategy.allreduce_seconds, strategy.allreduce_calls))

    rng = np.random.default_rng(0)
    x = rng.random((8192, 784), dtype=np.float32)
    y = rng.integers(0, 10, 8192).astype(np.int32)
    cfg = est.RunConfig(model_dir=os.environ["BENCH_MODEL_DIR"] + f"/{os.getpid()}",
                        tf_random_seed=1, save_checkpoints_steps=None, save_summary_steps=0,
                        log_step_count_steps=10**9, train_distribute=strategy,
                        session_config=est.SessionConfig(intra_op_parallelism_threads=threads))
    e = est.Estimator(model_fn, config=cfg)
    fn = est.inputs.numpy_input_fn(x, y, batch_size=GLOBAL_BATCH // size, num_epochs=None,
                                   shuffle=True)
    e.train(fn, max_steps=warmup + steps, hooks=[Clock()])
    step_s = (times[-1] - times[warmup - 1]) / steps
    out = {"examples_per_sec": GLOBAL_BATCH / step_s, "step_ms": step_s * 1e3}
    if strategy is not None:
        s0, c0 = reduce_marks[0]
        out["allreduce_ms"] = (strategy.allreduce_seconds - s0) / \
            (strategy.allreduce_calls - c0) * 1e3
        out["allreduce_share"] = out["allreduce_ms"] / out["step_ms"]
    if strategy is None or strategy.is_chief:
        print("RESULT " + json.dumps(out), flush=True)


def _mpiexec() -> str:
    import shutil

    here = Path(sys.executable).with_name("mpiexec")
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("mpiexec not found: pip install 'estcore[mpi]'")
    return found


def run_config(name: str, steps: int, warmup: int, model_dir: str) -> dict:
    """Run one configuration in fresh processes; its RESULT dict."""
    procs, threads = CONFIGS[name]
    env = {k: v for k, v in os.environ.items()
           if k != "TF_CONFIG" and not k.startswith(("PMI_", "PMIX_", "HYDRA_"))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               BENCH_MODEL_DIR=model_dir)
    cmd = [sys.executable, __file__, "--worker", str(steps), str(warmup), str(threads)]
    if procs > 1:
        cmd = [_mpiexec(), "-n", str(procs), *cmd]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"{name} failed ({res.returncode}):\n{res.stderr[-4000:]}")
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--worker":
    _worker(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    sys.exit(0)

import pytest  # noqa: E402  (not needed by the worker processes)


@pytest.fixture(scope="module")
def measured(request, tmp_path_factory) -> dict:
    """Every configuration, interleaved, medians of ``rounds`` runs; plus ratios."""
    disabled = request.config.getoption("benchmark_disable", False)
    rounds, steps, warmup = (1, 10, 5) if disabled else (3, 300, 30)
    model_dir = str(tmp_path_factory.mktemp("bench_distribute"))
    runs: dict[str, list[dict]] = {n: [] for n in CONFIGS}
    for _ in range(rounds):
        for name in CONFIGS:
            runs[name].append(run_config(name, steps, warmup, model_dir))
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in runs.items()}
    base = med["1proc_1thread"]["examples_per_sec"]
    ratios = {f"{n}_vs_1proc_1thread": m["examples_per_sec"] / base for n, m in med.items()}
    return {"medians": med, "ratios": ratios, "steps": steps}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_mlp_throughput(benchmark, measured, name, tmp_path):
    """Times one short run of ``name`` (incl. start-up); the steady-state figures and
    the ratios measured by the fixture are in extra_info."""
    benchmark.extra_info.update({"global_batch": GLOBAL_BATCH, **measured["medians"][name],
                                 **measured["ratios"]})
    m = measured["medians"][name]
    assert m["examples_per_sec"] > 0 and m["step_ms"] > 0
    if CONFIGS[name][0] > 1:
        assert 0 < m["allreduce_share"] < 1
    benchmark.pedantic(run_config, args=(name, 5, 2, str(tmp_path)), rounds=1, iterations=1)
