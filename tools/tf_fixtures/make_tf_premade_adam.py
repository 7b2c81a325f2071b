"""TF 2.15's premade estimators trained with Adam, and TF continuing them (run under TF).

Run with the reference venv (never from the test suite)::

    /work/tf-venv/bin/python tools/tf_fixtures/make_tf_premade_adam.py \
        tests/checkpoint/fixtures/tf/premade_adam

For each configuration of ``CONFIGS`` (``DNNClassifier``, ``LinearClassifier`` and
``DNNLinearCombinedClassifier`` with ``tf.compat.v1.train.AdamOptimizer``; the data and
the columns of ``tests/estimator/canned/fixtures/make_tf_premade.py``) it trains
``STEPS`` steps, keeps the final checkpoint as ``<out>/<name>/`` (no ``.meta``), then
trains ``CONTINUE_STEPS`` more steps in a copy of that model_dir and writes to
``<out>.json`` the configuration, the variable names of the kept checkpoint (Adam's
``dnn/head/beta1_power``, ``linear/head/beta1_power``, ``head/beta1_power`` and
``head/beta1_power_1``), the loss of each continued step and every variable of the final
checkpoint. The two optimizers of the wide-and-deep model have different ``beta1`` so
the values show which accumulator belongs to which. Only dense columns: TF's Adam
decays every row of a sparse gradient's slots, estcore's only the rows seen
(docs/feature_columns.md).
"""

from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "estimator" / "canned" / "fixtures"))

import make_tf_premade as base  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
STEPS, CONTINUE_STEPS = 5, 2
# name: (class, kwargs with columns by name, {optimizer argument: Adam's kwargs}, label)
CONFIGS = {
    "dnn_adam": ("DNNClassifier", {"hidden_units": [4, 3], "feature_columns": ["x", "z"]},
                 {"optimizer": {"learning_rate": 0.05}}, "binary"),
    "linear_adam": ("LinearClassifier", {"feature_columns": ["x", "z"]},
                    {"optimizer": {"learning_rate": 0.05}}, "binary"),
    "combined_adam": ("DNNLinearCombinedClassifier", {
        "linear_feature_columns": ["z"], "dnn_feature_columns": ["x"],
        "dnn_hidden_units": [3]},
        {"dnn_optimizer": {"learning_rate": 0.05, "beta1": 0.9},
         "linear_optimizer": {"learning_rate": 0.02, "beta1": 0.8}}, "binary"),
}


class _Losses(tf1.train.SessionRunHook):
    def __init__(self, sink: list):
        self._sink = sink

    def before_run(self, run_context):
        return tf1.train.SessionRunArgs(tf1.get_collection(tf1.GraphKeys.LOSSES)[0])

    def after_run(self, run_context, run_values):
        self._sink.append(float(run_values.results))


def _estimator(cls: str, kwargs: dict, optimizers: dict, model_dir: str):
    kw = {k: ([base.column(c) for c in v] if k in base.COLUMN_KEYS else v)
          for k, v in kwargs.items()}
    for arg, adam in optimizers.items():
        kw[arg] = tf1.train.AdamOptimizer(**adam)
    config = tf1.estimator.RunConfig(tf_random_seed=7)
    return getattr(tf1.estimator, cls)(model_dir=model_dir, config=config, **kw)


def _input_fn(d: dict, label: str):
    feats = {k: d[k] for k in ("x", "z", "w", "c", "h")}
    return tf1.estimator.inputs.numpy_input_fn(feats, d[label], batch_size=base.BATCH,
                                               num_epochs=None, shuffle=False)


def run(name: str, out: pathlib.Path, d: dict) -> dict:
    cls, kwargs, optimizers, label = CONFIGS[name]
    model_dir = tempfile.mkdtemp(prefix=f"tf_adam_{name}_")
    _estimator(cls, kwargs, optimizers, model_dir).train(_input_fn(d, label), steps=STEPS)
    keep = out / name
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    for path in glob.glob(os.path.join(model_dir, f"model.ckpt-{STEPS}.*")):
        if not path.endswith(".meta"):
            shutil.copy(path, keep)
    (keep / "checkpoint").write_text(f'model_checkpoint_path: "model.ckpt-{STEPS}"\n'
                                     f'all_model_checkpoint_paths: "model.ckpt-{STEPS}"\n')
    names = [n for n, _ in tf1.train.list_variables(str(keep))]

    continued = tempfile.mkdtemp(prefix=f"tf_adam_continue_{name}_")
    shutil.rmtree(continued)
    shutil.copytree(keep, continued)
    est = _estimator(cls, kwargs, optimizers, continued)
    losses: list[float] = []
    est.train(_input_fn(d, label), steps=CONTINUE_STEPS, hooks=[_Losses(losses)])
    values = {n: np.asarray(est.get_variable_value(n)).tolist()
              for n in est.get_variable_names()}
    return {"class": cls, "kwargs": kwargs, "optimizers": optimizers, "label": label,
            "variable_names": names, "losses": losses, "variables": values}


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    d = base.data()
    result = {"tf_version": tf.__version__, "start_step": STEPS,
              "continue_steps": CONTINUE_STEPS,
              "configs": {name: run(name, out, d) for name in CONFIGS}}
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print("wrote", out, out.with_suffix(".json"))


if __name__ == "__main__":
    main()
