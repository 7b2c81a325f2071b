"""Read estcore's TF-format checkpoints with TF 2.15 and record what TF sees (run under TF).

Run after ``make_estcore_checkpoints.py``, with the reference venv::

    /work/tf-venv/bin/python tools/tf_fixtures/check_estcore_checkpoints.py \
        tests/checkpoint/fixtures/tf

Reads ``<out>/estcore_written/`` and writes ``<out>/estcore_written.json``:

* ``dtypes``: for every variable ``tf.train.load_checkpoint`` lists, its dtype, shape
  and the SHA-256 of its little-endian bytes as TF returns them;
* ``mlp_adam``: the loss of each of ``CONTINUE_STEPS`` steps of a TF Estimator (the
  MLP of make_tf_checkpoints.py) continuing from estcore's model_dir with the data of
  ``<out>/mlp_adam.npz`` in order, and the global step it ends at; plus
  ``<out>/estcore_written.npz`` with every trainable variable after those steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_tf_checkpoints as mk  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def describe(path):
    reader = tf.train.load_checkpoint(path)
    dtypes = reader.get_variable_to_dtype_map()
    out = {}
    for name, shape in tf.train.list_variables(path):
        value = np.asarray(reader.get_tensor(name))
        raw = value.astype(value.dtype.newbyteorder("<")).tobytes()
        out[name] = {"dtype": dtypes[name].name, "shape": shape,
                     "sha256": hashlib.sha256(raw).hexdigest()}
    return out


def main(out):
    tf.compat.v1.disable_eager_execution()
    base = os.path.join(out, "estcore_written")
    record = {"dtypes": describe(os.path.join(base, "dtypes"))}
    with np.load(os.path.join(out, "mlp_adam.npz")) as data:
        x, y = data["x"], data["y"]
    work = os.path.join(base, "mlp_adam.continue")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(os.path.join(base, "mlp_adam"), work)
    mk.LOSSES.clear()
    config = tf.estimator.RunConfig(keep_checkpoint_max=1, save_summary_steps=None,
                                    log_step_count_steps=None)
    tf.estimator.Estimator(mk.mlp_model_fn, model_dir=work, config=config).train(
        mk._input_fn(x, y), steps=mk.CONTINUE_STEPS)
    record["mlp_adam"] = {"start_step": 6, "losses": list(mk.LOSSES),
                          "final_step": int(tf.train.load_variable(work, "global_step"))}
    np.savez(os.path.join(out, "estcore_written.npz"), **mk._trainables(work))
    shutil.rmtree(work)
    with open(os.path.join(out, "estcore_written.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
    print(json.dumps(record["mlp_adam"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/checkpoint/fixtures/tf")
