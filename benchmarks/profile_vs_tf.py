"""Where a training step's time goes, op by op, under TF 2.15 and under estcore (issue 15).

The two reference steps of ``tutorial_steps`` (``mlp``, ``cnn``) are built in a plain
``tf.compat.v1`` Session in TF's own Python (a worker process) and timed op by op from
``RunMetadata`` step stats (``FULL_TRACE``), and the same steps in estcore are timed
kernel by kernel with ``graph.profiling.trace_next_run`` (C instructions timed inside C
by ``Program.profile()``). Both at the same thread count
(TF: intra- and inter-op threads; estcore: ``set_num_threads``). With one thread the
per-op times add up to the step; with more, TF runs independent ops at once and its
per-op times overlap.

Printed per framework: the step's median wall time and its ops sorted by median time
(microseconds, over a few traced steps). The two lists do not map one to one: estcore
fuses (its ``DenseGrad`` is TF's two MatMul gradients and ReluGrad, and carries the
weight's update; ``FusedConv2DGrad`` is TF's filter and input gradients and
BiasAddGrad), which is the point: it shows which fused groups cost more than the TF
ops they replace.

TensorFlow is never a dependency: give its Python with ``ESTCORE_TF_PYTHON`` or
``--tf-python``. Run (under the heavy-work lock on a shared machine)::

    ESTCORE_TF_PYTHON=/work/tf-venv/bin/python python benchmarks/profile_vs_tf.py cnn 1

Under pytest one short estcore-only profile runs, so the script cannot rot.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("mlp", "cnn")
TIMEOUT_S = 600


def _tf_worker(kind: str, threads: int, steps: int, traced: int) -> None:
    """Runs in TF's Python: prints one JSON line {step_ms, ops: [[name, op, us], ...]}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_eager_execution()
    tf.logging.set_verbosity(tf.logging.ERROR)
    sys.path.insert(0, HERE)
    from tutorial_steps import batch_size, input_shape, tutorial_model

    g = tf.Graph()
    rng = np.random.default_rng(0)
    batch = batch_size(kind)
    with g.as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, input_shape(kind))
        logits, opt = tutorial_model(tf, kind, x)
        xs = rng.normal(size=tuple(input_shape(kind, batch))).astype(np.float32)
        y = tf.placeholder(tf.int32, [None])
        loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
        train = opt.minimize(loss)
        init = tf.global_variables_initializer()
    ys = rng.integers(0, 10, batch).astype(np.int32)
    cfg = tf.ConfigProto(intra_op_parallelism_threads=threads,
                         inter_op_parallelism_threads=threads)
    with tf.Session(graph=g, config=cfg) as sess:
        sess.run(init)
        feed = {x: xs, y: ys}

        def traced_step():
            meta = tf.RunMetadata()
            sess.run(train, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                     run_metadata=meta)
            us = collections.defaultdict(float)
            for dev in meta.step_stats.dev_stats:
                for ns in dev.node_stats:
                    label = ns.timeline_label or ""
                    op = label.split("=")[-1].split("(")[0].strip() if "=" in label else label
                    us[(ns.node_name, op)] += ns.all_end_rel_micros
            return us

        res = _profile(lambda: sess.run(train, feed), traced_step, steps, traced)
    print(json.dumps(res))


def _profile(run_step, traced_step, steps: int, traced: int) -> dict:
    """Either framework's figures: ``run_step()`` runs one step, ``traced_step()`` one
    traced step and returns its {(node name, op): microseconds}. After 5 warm-up steps,
    the median wall time of ``steps`` steps and each op's median over ``traced`` traced
    steps, ops sorted by it: {step_ms, ops: [[name, op, us], ...]}."""
    for _ in range(5):
        run_step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        run_step()
        times.append(time.perf_counter() - t0)
    per_op = collections.defaultdict(list)
    for _ in range(traced):
        for key, us in traced_step().items():
            per_op[key].append(us)
    ops = sorted(([name, op, statistics.median(us)] for (name, op), us in per_op.items()),
                 key=lambda r: -r[2])
    return {"step_ms": 1000 * statistics.median(times), "ops": ops}


def estcore_profile(kind: str, threads: int, steps: int, traced: int) -> dict:
    """The estcore step's median wall time and its kernels' median times (us), from
    ``graph.profiling.trace_next_run`` (C programs: ``Program.profile()`` inside C)."""
    sys.path.insert(0, HERE)
    from estcore._lib import _kernels
    from estcore.graph.profiling import trace_next_run
    from tutorial_steps import build_step

    _kernels.set_num_threads(threads)
    step, x, y, sess = build_step(kind, return_session=True)

    def traced_step():
        trace = trace_next_run(sess)
        step(x, y)
        us = collections.defaultdict(float)
        for ev in trace.events:
            us[(ev.name, ev.op)] += ev.dur_ns / 1e3
        return us

    return _profile(lambda: step(x, y), traced_step, steps, traced)


def tf_profile(python: str, kind: str, threads: int, steps: int, traced: int) -> dict:
    """The TF worker's result (raises with its stderr when it fails)."""
    cmd = [python, os.path.abspath(__file__), kind, str(threads), "--steps", str(steps),
           "--traced", str(traced), "--tf-worker"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # TF's venv must not see estcore's editable install paths
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"TF worker failed (rc {res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def report(framework: str, res: dict, top: int) -> str:
    lines = [f"{framework}: step {res['step_ms']:.2f} ms (median); ops by median time:"]
    total = sum(r[2] for r in res["ops"])
    for name, op, us in res["ops"][:top]:
        lines.append(f"  {us:9.0f} us  {op:36s} {name}")
    lines.append(f"  {total:9.0f} us  (sum of all {len(res['ops'])} ops)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", nargs="?", default="cnn", choices=KINDS)
    ap.add_argument("threads", nargs="?", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--traced", type=int, default=10, help="profiled steps")
    ap.add_argument("--top", type=int, default=20, help="ops printed per framework")
    ap.add_argument("--tf-python", default=None)
    ap.add_argument("--tf-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"threads must be at least 1. Received: {args.threads}")
    if args.tf_worker:
        _tf_worker(args.kind, args.threads, args.steps, args.traced)
        return 0
    print(report("estcore", estcore_profile(args.kind, args.threads, args.steps, args.traced),
                 args.top), flush=True)
    tfpy = args.tf_python or os.environ.get("ESTCORE_TF_PYTHON")
    if not tfpy:
        print("TF: skipped (no ESTCORE_TF_PYTHON / --tf-python: TensorFlow is never a "
              "dependency)")
    elif not os.path.exists(tfpy):
        print(f"TF: skipped ({tfpy} does not exist)")
    else:
        print(report("TF", tf_profile(tfpy, args.kind, args.threads, args.steps, args.traced),
                     args.top))
    return 0


def test_profile_vs_tf_runs():
    """A short estcore-only profile (the script must not rot)."""
    res = estcore_profile("mlp", 1, 3, 2)
    assert res["step_ms"] > 0 and res["ops"]
    assert any(op == "DenseGrad" for _, op, _ in res["ops"])


if __name__ == "__main__":
    sys.exit(main())
