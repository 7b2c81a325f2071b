"""estcore against TensorFlow 2.15 tf.estimator on the two reference programs (issue 15).

The same tf.estimator program runs under both frameworks, each in its own fresh process
(``import estcore.compat.v1 as tf`` or ``import tensorflow.compat.v1 as tf``), with the
same data and default RunConfig (checkpoints, summaries and step logging as a user gets
them):

* ``mlp``: 784-256-256-10 ReLU, Adam, batch 128;
* ``cnn``: the TF "CNN with Estimators" tutorial model (conv 5x5 32 ReLU, max-pool,
  conv 5x5 64 ReLU, max-pool, dense 1024 ReLU, dense 10), SGD 0.001, batch 100.

Input: fixed random numpy arrays (4,096 examples), fed by ``--input``:
``dataset`` (default): ``Dataset.from_tensor_slices``, repeated and batched;
``numpy_input_fn``: ``tf.estimator.inputs.numpy_input_fn(..., shuffle=True)``, the TF1
queue-based input most Estimator programs of the TF1 era use (evaluate:
``shuffle=False, num_epochs=1``). Both frameworks are always fed the same way. Measured
in each process:

* ``train``: steady-state examples/s of ``Estimator.train``: a hook stamps the wall time
  after every step; the rate is taken from step ``warmup`` to the last step (graph
  building, session start and the first steps are left out);
* ``evaluate``: examples/s of one ``Estimator.evaluate`` call over 10,000 examples
  (batch 1,000, loss + accuracy), the whole call (graph building and checkpoint restore
  included: what a user waits for), median of a few calls.

Rounds alternate estcore and TF so drifting load on a shared machine hits both alike;
medians over rounds are printed with the ratio estcore / TF (above 1: estcore faster) and,
for training, the share of the machine's FMA ceiling (``fma_ceiling.ceiling`` at the
thread count in use) that the step's matrix products reach
(``tutorial_steps.gemm_flops``).

TensorFlow is never a dependency: give its Python with ``ESTCORE_TF_PYTHON`` (or
``--tf-python``), e.g. ``/work/tf-venv/bin/python`` (tensorflow-cpu 2.15.1 +
tensorflow-estimator 2.15.0). Without it only estcore runs and the TF side says why it
was skipped. Run (under the heavy-work lock on a shared machine)::

    ESTCORE_TF_PYTHON=/work/tf-venv/bin/python python benchmarks/bench_vs_tf.py [--rounds 3]
    python benchmarks/bench_vs_tf.py --kinds mlp --rounds 1

Under pytest (``pytest benchmarks/bench_vs_tf.py``) one very short estcore-only round
runs, so the script cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("mlp", "cnn")
FRAMEWORKS = ("estcore", "tf")
FEEDS = ("dataset", "numpy_input_fn")
N_DATA = 4096
N_EVAL = 10_000
EVAL_BATCH = 1000
TIMEOUT_S = 1200


# ---- the program (runs inside a worker process, under either framework) -------------

def model_fn_for(tf, kind):
    """The model_fn of program ``kind`` written against ``tf`` (either framework's v1 API;
    also used by ``bench_input_feeds.py``)."""
    sys.path.insert(0, HERE)
    from tutorial_steps import tutorial_model

    def model_fn(features, labels, mode):
        logits, opt = tutorial_model(tf, kind, features["x"])
        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        if mode == tf.estimator.ModeKeys.TRAIN:
            train_op = opt.minimize(loss, global_step=tf.train.get_global_step())
            return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
        acc = tf.metrics.accuracy(labels=labels, predictions=tf.argmax(logits, 1))
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": acc})
    return model_fn


def make_data(kind, n, seed):
    """``n`` random examples of program ``kind``: float32 features, int32 labels in 0..9."""
    import numpy as np
    rng = np.random.default_rng(seed)
    shape = (n, 784) if kind == "mlp" else (n, 28, 28, 1)
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    return x, y


def make_input_fns(tf, feed, batch, train, evaluation, shuffle_buffer=0):
    """(train input_fn, evaluate input_fn) over ``train`` and ``evaluation`` (each an
    ``(x, y)`` pair of arrays) fed the ``feed`` way (see the module doc): training
    endless in batches of ``batch`` (shuffled by numpy_input_fn; by a Dataset only with
    ``shuffle_buffer``), evaluation one pass in batches of ``EVAL_BATCH``."""
    (x, y), (xe, ye) = train, evaluation
    if feed == "numpy_input_fn":
        return (tf.estimator.inputs.numpy_input_fn(
                    {"x": x}, y, batch_size=batch, num_epochs=None, shuffle=True),
                tf.estimator.inputs.numpy_input_fn(
                    {"x": xe}, ye, batch_size=EVAL_BATCH, num_epochs=1, shuffle=False))

    def train_input():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        if shuffle_buffer:
            ds = ds.shuffle(shuffle_buffer)
        return ds.repeat().batch(batch, drop_remainder=True)

    def eval_input():
        return tf.data.Dataset.from_tensor_slices(({"x": xe}, ye)).batch(EVAL_BATCH)
    return train_input, eval_input


def _worker(framework, kind, steps, warmup, evals, feed="dataset"):
    """Run one framework's program; print one JSON line of results."""
    t_import = time.perf_counter()
    if framework == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow.compat.v1 as tf  # as TF 2.15 estimator programs do: v2 behaviour on
        tf.logging.set_verbosity(tf.logging.ERROR)
    else:
        import estcore.compat.v1 as tf
    t_import = time.perf_counter() - t_import
    batch = 128 if kind == "mlp" else 100
    x, y = make_data(kind, N_DATA, 0)
    xe, ye = make_data(kind, N_EVAL, 1)

    train_input, eval_input = make_input_fns(tf, feed, batch, (x, y), (xe, ye))

    stamps = []

    class Stamp(tf.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as model_dir:
        est = tf.estimator.Estimator(model_fn_for(tf, kind), model_dir=model_dir)
        est.train(train_input, steps=steps, hooks=[Stamp()])
        span = stamps[-1] - stamps[warmup - 1]
        train_rate = (len(stamps) - warmup) * batch / span
        eval_times = []
        for _ in range(evals):
            t0 = time.perf_counter()
            metrics = est.evaluate(eval_input)
            eval_times.append(time.perf_counter() - t0)
    print(json.dumps({"framework": framework, "kind": kind, "feed": feed, "import_s": t_import,
                      "train_ex_s": train_rate, "step_ms": 1000 * batch / train_rate,
                      "eval_ex_s": N_EVAL / statistics.median(eval_times),
                      "eval_s": eval_times, "accuracy": float(metrics["accuracy"])}))


# ---- the driver ----------------------------------------------------------------------

def tf_python(explicit=None):
    """The TensorFlow Python to compare with: ``explicit``, else ``$ESTCORE_TF_PYTHON``."""
    return explicit or os.environ.get("ESTCORE_TF_PYTHON") or None


def run_worker(python, framework, kind, steps, warmup, evals, feed="dataset"):
    """One worker process; its JSON result (raises with its stderr when it fails)."""
    cmd = [python, os.path.abspath(__file__), "--worker", framework, "--kinds", kind,
           "--steps", str(steps), "--warmup", str(warmup), "--evals", str(evals),
           "--input", feed]
    env = dict(os.environ)
    if framework == "tf":  # TF's venv must not see estcore's editable install paths
        env.pop("PYTHONPATH", None)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"{framework} {kind} worker failed (rc {res.returncode}):\n"
                           f"{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def default_steps(kind):
    """(steps, warmup) of a measured training run."""
    return (600, 100) if kind == "mlp" else (60, 10)


def ceiling_gflops():
    """The FMA ceiling (GFLOP/s) at estcore's thread count, or None if unavailable."""
    sys.path.insert(0, HERE)
    from estcore._lib import _kernels  # benchmark helper import, estcore side only
    from fma_ceiling import ceiling
    return ceiling(_kernels.get_num_threads())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=0, help="training steps (0: per kind)")
    ap.add_argument("--warmup", type=int, default=0, help="steps left out (0: per kind)")
    ap.add_argument("--evals", type=int, default=3, help="evaluate calls per round")
    ap.add_argument("--tf-python", default=None)
    ap.add_argument("--input", choices=FEEDS, default=FEEDS[0],
                    help="how both frameworks are fed (default: dataset)")
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            ap.error(f"--kinds must name some of {KINDS}. Received: {k!r}")
    if args.worker:
        steps, warmup = default_steps(kinds[0])
        _worker(args.worker, kinds[0], args.steps or steps, args.warmup or warmup, args.evals,
                args.input)
        return None
    tfpy = tf_python(args.tf_python)
    print(f"input: {args.input}")
    if tfpy is None:
        print("TF: skipped (no ESTCORE_TF_PYTHON / --tf-python: TensorFlow is never a "
              "dependency; give a Python with tensorflow-cpu 2.15 + tensorflow-estimator)")
    elif not os.path.exists(tfpy):
        print(f"TF: skipped ({tfpy} does not exist)")
        tfpy = None
    gflops = None
    try:
        gflops = ceiling_gflops()
    except Exception as e:  # the ceiling is a side figure; report why it is missing
        print(f"FMA ceiling: unavailable ({e})")
    sys.path.insert(0, HERE)
    from tutorial_steps import gemm_flops
    results = {}
    for kind in kinds:
        steps, warmup = default_steps(kind)
        steps, warmup = args.steps or steps, args.warmup or warmup
        runs = {f: [] for f in FRAMEWORKS}
        for r in range(args.rounds):
            order = FRAMEWORKS if r % 2 == 0 else FRAMEWORKS[::-1]
            for fw in order:
                if fw == "tf" and tfpy is None:
                    continue
                py = sys.executable if fw == "estcore" else tfpy
                res = run_worker(py, fw, kind, steps, warmup, args.evals, args.input)
                runs[fw].append(res)
                print(f"  round {r} {kind} {fw:7s}: train {res['train_ex_s']:9.0f} ex/s "
                      f"({res['step_ms']:.2f} ms/step)  evaluate {res['eval_ex_s']:9.0f} ex/s",
                      flush=True)
        med = {fw: {key: statistics.median(x[key] for x in rs)
                    for key in ("train_ex_s", "eval_ex_s", "step_ms")}
               for fw, rs in runs.items() if rs}
        results[kind] = med
        e = med["estcore"]
        line = (f"{kind}: estcore train {e['train_ex_s']:.0f} ex/s ({e['step_ms']:.2f} ms/step), "
                f"evaluate {e['eval_ex_s']:.0f} ex/s")
        if gflops:
            share = gemm_flops(kind) / (e["step_ms"] / 1000) / 1e9 / gflops
            line += f"; train at {100 * share:.0f}% of the FMA ceiling ({gflops:.0f} GFLOP/s)"
        print(line)
        if "tf" in med:
            t = med["tf"]
            print(f"{kind}: TF      train {t['train_ex_s']:.0f} ex/s ({t['step_ms']:.2f} ms/step), "
                  f"evaluate {t['eval_ex_s']:.0f} ex/s")
            print(f"{kind}: RATIO estcore/TF  train {e['train_ex_s'] / t['train_ex_s']:.2f}x  "
                  f"evaluate {e['eval_ex_s'] / t['eval_ex_s']:.2f}x", flush=True)
    return results


def test_bench_vs_tf_runs():
    """One very short estcore-only round per feed (the script must not rot). No pytest
    import here: the TF side runs this file in TF's own venv."""
    for feed in FEEDS:
        res = run_worker(sys.executable, "estcore", "mlp", 12, 4, 1, feed)
        assert res["feed"] == feed
        assert res["train_ex_s"] > 0 and res["eval_ex_s"] > 0
        assert 0.0 <= res["accuracy"] <= 1.0


if __name__ == "__main__":
    main()
