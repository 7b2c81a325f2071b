"""Premade estimators: examples/s per ``train()`` call, estcore vs TF 2.15, same session.

Two models, the same configuration in both frameworks, each framework in a fresh process
(``python bench_premade.py --worker FRAMEWORK MODEL``) written as a TF1 program
(``tf.compat.v1.estimator`` / ``import estcore.compat.v1 as tf``):

* ``dnn``: the "Premade Estimators" guide's iris DNNClassifier (four numeric columns,
  ``hidden_units=[30, 10]``, 3 classes, default Adagrad), batch 256 from
  ``Dataset.from_tensor_slices(dict(df)).shuffle(1000).repeat().batch(256)``.
* ``wide_deep``: DNNLinearCombinedClassifier on generated census-like data
  (tests/estimator/canned/census_like.py: 20,000 rows; wide: bucketized age, vocabulary
  and hashed categories, two crossed columns; deep: numbers, indicators, two 8-d
  embeddings, ``dnn_hidden_units=[100, 50]``), batch 256 from a shuffled Dataset.

Each worker makes the estimator, runs one warm-up ``train()`` call (graph, plan compile,
first checkpoint), then ``--calls`` timed calls of ``--steps`` steps each; a call's
examples/s is ``steps * batch / wall time of the call`` (graph building, the input
pipeline, checkpoint restore and save included: what a user's train() call costs). The
report gives the median per framework and the ratio estcore / TF (target: at least 5).

TensorFlow is never a dependency: give its Python with ``ESTCORE_TF_PYTHON`` (or
``--tf-python``), e.g. ``/work/tf-venv/bin/python``; without it only estcore runs. Run
under the shared lock on a shared machine::

    ESTCORE_TF_PYTHON=/work/tf-venv/bin/python python benchmarks/bench_premade.py
    python -m pytest benchmarks/bench_premade.py          # the same, as a test
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "estimator" / "canned"))

BATCH = 256
DEFAULTS = {"dnn": {"steps": 1000, "calls": 3}, "wide_deep": {"steps": 300, "calls": 3}}


def _framework(name: str):
    """``(tf, Dataset)`` of the framework (TF's imported only in its own worker)."""
    if name == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow  # noqa: PLC0415 - the TF worker only (never an estcore dependency)

        return tensorflow.compat.v1, tensorflow.data.Dataset
    import estcore.compat.v1 as tf  # noqa: PLC0415 - imported by its own worker process
    from estcore.data.dataset import Dataset  # noqa: PLC0415

    return tf, Dataset


def _iris():
    import numpy as np  # noqa: PLC0415 - worker-side data

    rng = np.random.default_rng(0)   # iris-sized numbers; the speed does not depend on them
    centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    labels = rng.integers(0, 3, 120)
    x = centers[labels] + rng.normal(0, 0.3, (120, 4))
    names = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
    return {n: x[:, i] for i, n in enumerate(names)}, labels.astype(np.int64)


def _build(framework: str, model: str, model_dir: str):
    tf, Dataset = _framework(framework)
    config = tf.estimator.RunConfig(tf_random_seed=0, save_summary_steps=100,
                                    log_step_count_steps=100000)
    if model == "dnn":
        features, labels = _iris()
        est = tf.estimator.DNNClassifier(
            hidden_units=[30, 10], n_classes=3, model_dir=model_dir, config=config,
            feature_columns=[tf.feature_column.numeric_column(k) for k in features])
        buffer = 1000
    else:
        import census_like  # noqa: PLC0415 - the benchmark's data module (tests/)

        features, labels = census_like.generate(20000, 0)
        wide, deep = census_like.wide_and_deep_columns(tf.feature_column)
        est = tf.estimator.DNNLinearCombinedClassifier(
            linear_feature_columns=wide, dnn_feature_columns=deep, dnn_hidden_units=[100, 50],
            model_dir=model_dir, config=config)
        buffer = 10000

    def input_fn():
        return Dataset.from_tensor_slices((features, labels)).shuffle(buffer).repeat() \
            .batch(BATCH)

    return est, input_fn


def worker(framework: str, model: str, steps: int, calls: int) -> dict:
    """Time ``calls`` train() calls of ``steps`` steps after a warm-up call."""
    with tempfile.TemporaryDirectory() as model_dir:
        est, input_fn = _build(framework, model, model_dir)
        est.train(input_fn, steps=steps)
        rates = []
        for _ in range(calls):
            t0 = time.perf_counter()
            est.train(input_fn, steps=steps)
            rates.append(steps * BATCH / (time.perf_counter() - t0))
    return {"framework": framework, "model": model, "steps": steps, "batch": BATCH,
            "examples_per_s": rates}


def run_worker(python: str, framework: str, model: str, steps: int, calls: int) -> dict:
    cmd = [python, str(pathlib.Path(__file__).resolve()), "--worker", framework, model,
           "--steps", str(steps), "--calls", str(calls)]
    env = dict(os.environ, ESTCORE_PROGRESS="0")   # the estcore worker: this Python's estcore
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{framework} {model} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(tf_python: str | None, models: list[str], steps: int | None = None,
            calls: int | None = None) -> list[dict]:
    rows = []
    for model in models:
        s = steps or DEFAULTS[model]["steps"]
        c = calls or DEFAULTS[model]["calls"]
        row = {"model": model, "steps": s, "calls": c}
        ours = run_worker(sys.executable, "estcore", model, s, c)
        row["estcore"] = statistics.median(ours["examples_per_s"])
        if tf_python:
            theirs = run_worker(tf_python, "tf", model, s, c)
            row["tf"] = statistics.median(theirs["examples_per_s"])
            row["ratio"] = row["estcore"] / row["tf"]
        rows.append(row)
        print(f"{model:10s} steps/call {s:5d}  estcore {row['estcore']:10.0f} ex/s"
              + (f"  TF {row['tf']:9.0f} ex/s  ratio {row['ratio']:.1f}x" if tf_python
                 else "  (no TF Python given)"), flush=True)
    return rows


def test_premade_train_calls_against_tf():
    """One short round (not a timing assertion: the figures are printed)."""
    import pytest  # noqa: PLC0415 - the TF worker's Python need not have pytest

    python = os.environ.get("ESTCORE_TF_PYTHON")
    rows = compare(python, ["dnn", "wide_deep"], steps=50, calls=1)
    assert all(r["estcore"] > 0 for r in rows)
    if not python:
        pytest.skip("TF part skipped: set ESTCORE_TF_PYTHON to a Python with TF 2.15")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "MODEL"))
    p.add_argument("--tf-python", default=os.environ.get("ESTCORE_TF_PYTHON"))
    p.add_argument("--models", nargs="+", default=["dnn", "wide_deep"])
    p.add_argument("--steps", type=int)
    p.add_argument("--calls", type=int)
    args = p.parse_args()
    if args.worker:
        framework, model = args.worker
        print(json.dumps(worker(framework, model, args.steps or DEFAULTS[model]["steps"],
                                args.calls or DEFAULTS[model]["calls"])))
        return
    compare(args.tf_python, args.models, args.steps, args.calls)


if __name__ == "__main__":
    main()
