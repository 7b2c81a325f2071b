"""Write the estcore checkpoints in TF's format that TF 2.15 then reads (run with estcore).

Run with estcore's venv, before ``check_estcore_checkpoints.py`` (which runs under TF)::

    python tools/tf_fixtures/make_estcore_checkpoints.py tests/checkpoint/fixtures/tf

Writes, under ``<out>/estcore_written/``:

* ``dtypes/``: ``Saver(checkpoint_format="tf")`` of
  ``tests/checkpoint/tf_models.deterministic_tensors()`` at step 3 (the test writes
  it again and compares the bytes of the index and data files).
* ``mlp_adam/``: an estcore Estimator with ``RunConfig(checkpoint_format="tf")``
  trained 6 steps on the data of ``<out>/mlp_adam.npz`` (the MLP of
  ``tests/checkpoint/tf_models.py``); event files removed.
"""

from __future__ import annotations

import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "checkpoint"))

import tf_models as tm  # noqa: E402

from estcore.checkpoint.saver import Saver  # noqa: E402
from estcore.estimator import Estimator, RunConfig  # noqa: E402


def main(out: str) -> None:
    base = os.path.join(out, "estcore_written")
    shutil.rmtree(base, ignore_errors=True)
    Saver(checkpoint_format="tf").save(tm.deterministic_tensors(),
                                       os.path.join(base, "dtypes", "model.ckpt"), 3)
    record, arrays = tm.load_record("mlp_adam")
    model_dir = os.path.join(base, "mlp_adam")
    config = RunConfig(tf_random_seed=5, keep_checkpoint_max=1, save_summary_steps=None,
                       log_step_count_steps=None, checkpoint_format="tf",
                       checkpoint_save_graph_def=False)
    Estimator(tm.mlp_model_fn, model_dir=model_dir, config=config).train(
        tm.ordered_input_fn(arrays, record["batch_size"]), steps=6)
    for name in os.listdir(model_dir):
        if name.startswith("events.out"):
            os.remove(os.path.join(model_dir, name))
    print("wrote", sorted(os.listdir(model_dir)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/checkpoint/fixtures/tf")
