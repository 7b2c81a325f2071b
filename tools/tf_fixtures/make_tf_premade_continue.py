"""Record TF 2.15 continuing the training of its own premade model_dirs (run under TF).

Run with the reference venv (never from the test suite)::

    /work/tf-venv/bin/python tools/tf_fixtures/make_tf_premade_continue.py \
        tests/checkpoint/fixtures/tf/premade_continue.json

For each model_dir under ``tests/estimator/canned/fixtures/tf_model_dirs/`` (TF's
``DNNClassifier`` and ``LinearClassifier`` after 5 steps; their optimizer slots are
named ``<var>/t_0/Adagrad`` and ``<var>/part_0/Ftrl``), it copies the directory, builds
the same ``tf.compat.v1.estimator`` class with the configuration of
``tests/estimator/canned/fixtures/make_tf_premade.py``, trains ``CONTINUE_STEPS`` more
steps on the same data from its first batch (``numpy_input_fn(shuffle=False)``) and
writes every variable of the final checkpoint (slots and ``global_step`` included) to
the JSON, with the loss of each step.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[2]
CANNED = ROOT / "tests" / "estimator" / "canned" / "fixtures"
sys.path.insert(0, str(CANNED))

import make_tf_premade as base  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
CONTINUE_STEPS = 2


class _Losses(tf1.train.SessionRunHook):
    def __init__(self, sink: list):
        self._sink = sink

    def before_run(self, run_context):
        loss = tf1.get_collection(tf1.GraphKeys.LOSSES)[0]
        return tf1.train.SessionRunArgs(loss)

    def after_run(self, run_context, run_values):
        self._sink.append(float(run_values.results))


def continue_dir(name: str, d: dict) -> dict:
    cls, kwargs, label = base.CONFIGS[name]
    model_dir = tempfile.mkdtemp(prefix=f"tf_continue_{name}_")
    shutil.rmtree(model_dir)
    shutil.copytree(CANNED / "tf_model_dirs" / name, model_dir)
    kw = {k: ([base.column(c) for c in v] if k in base.COLUMN_KEYS else v)
          for k, v in kwargs.items()}
    config = tf1.estimator.RunConfig(tf_random_seed=7)
    est = getattr(tf1.estimator, cls)(model_dir=model_dir, config=config, **kw)
    feats = {k: d[k] for k in ("x", "z", "w", "c", "h")}
    losses: list[float] = []
    est.train(tf1.estimator.inputs.numpy_input_fn(feats, d[label], batch_size=base.BATCH,
                                                  num_epochs=None, shuffle=False),
              steps=CONTINUE_STEPS, hooks=[_Losses(losses)])
    values = {n: np.asarray(est.get_variable_value(n)).tolist()
              for n in est.get_variable_names()}
    return {"losses": losses, "variables": values}


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    d = base.data()
    result = {"tf_version": tf.__version__, "continue_steps": CONTINUE_STEPS,
              "start_step": base.STEPS,
              "configs": {name: continue_dir(name, d) for name in base.KEEP_MODEL_DIRS}}
    out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
