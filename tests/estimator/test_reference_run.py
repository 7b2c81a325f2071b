# ruff: noqa: E501  (the TF log below is quoted verbatim)
"""Re-run of the TF 2.15 reference job; files, state file, names, logs and errors
compared with /work/shared/spec/tf_reference_run (copied facts in REFERENCE below)."""

import logging
import os
import pathlib
import re

import numpy as np
import pytest

from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.summary import FileWriterCache, iter_events, read_scalars

from .reference_model import data, model_fn, reference_config, reference_input_fn

# Facts from tf_reference_run/results.json and train_log.txt (TF 2.15.1).
TF_STATE_FILE = ('model_checkpoint_path: "model.ckpt-23"\n'
                 'all_model_checkpoint_paths: "model.ckpt-20"\n'
                 'all_model_checkpoint_paths: "model.ckpt-23"\n')
TF_VARIABLE_NAMES = [
    "beta1_power", "beta2_power", "dense/bias", "dense/bias/Adam", "dense/bias/Adam_1",
    "dense/kernel", "dense/kernel/Adam", "dense/kernel/Adam_1", "dense_1/bias",
    "dense_1/bias/Adam", "dense_1/bias/Adam_1", "dense_1/kernel", "dense_1/kernel/Adam",
    "dense_1/kernel/Adam_1", "global_step"]
TF_LOG = """\
INFO:Using config: {'_model_dir': '<model_dir>', '_tf_random_seed': 1, '_save_summary_steps': 5, '_save_checkpoints_steps': 7, '_save_checkpoints_secs': None, '_session_config': allow_soft_placement: true
graph_options {
  rewrite_options {
    meta_optimizer_iterations: ONE
  }
}
, '_keep_checkpoint_max': 2, '_keep_checkpoint_every_n_hours': 10000, '_log_step_count_steps': 5, '_train_distribute': None, '_device_fn': None, '_protocol': None, '_eval_distribute': None, '_experimental_distribute': None, '_experimental_max_worker_delay_secs': None, '_session_creation_timeout_secs': 7200, '_checkpoint_save_graph_def': True, '_service': None, '_cluster_spec': ClusterSpec({}), '_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0, '_master': '', '_evaluation_master': '', '_is_chief': True, '_num_ps_replicas': 0, '_num_worker_replicas': 1}
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Create CheckpointSaverHook.
INFO:Graph was finalized.
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Calling checkpoint listeners before saving checkpoint 0...
INFO:Saving checkpoints for 0 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 0...
INFO:loss = 1.62668, step = 0
INFO:global_step/sec: 88.96
INFO:loss = 1.3484868, step = 5 (0.057 sec)
INFO:Calling checkpoint listeners before saving checkpoint 7...
INFO:Saving checkpoints for 7 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 7...
INFO:global_step/sec: 97.9465
INFO:loss = 1.0413936, step = 10 (0.051 sec)
INFO:Calling checkpoint listeners before saving checkpoint 14...
INFO:Saving checkpoints for 14 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 14...
INFO:global_step/sec: 146.338
INFO:loss = 0.98011243, step = 15 (0.034 sec)
INFO:Calling checkpoint listeners before saving checkpoint 20...
INFO:Saving checkpoints for 20 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 20...
INFO:Loss for final step: 0.8696967.
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Create CheckpointSaverHook.
INFO:Graph was finalized.
INFO:Restoring parameters from <model_dir>/model.ckpt-20
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Calling checkpoint listeners before saving checkpoint 20...
INFO:Saving checkpoints for 20 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 20...
INFO:loss = 0.8346061, step = 20
INFO:Calling checkpoint listeners before saving checkpoint 23...
INFO:Saving checkpoints for 23 into <model_dir>/model.ckpt.
INFO:Calling checkpoint listeners after saving checkpoint 23...
INFO:Loss for final step: 0.84211236.
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Starting evaluation at 2026-11-26T14:09:56
INFO:Graph was finalized.
INFO:Restoring parameters from <model_dir>/model.ckpt-23
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Inference Time : 0.22618s
INFO:Finished evaluation at 2026-11-26-14:09:56
INFO:Saving dict for global step 23: accuracy = 0.794, global_step = 23, loss = 0.77008444, mean_per_class_accuracy = 0.5688142
INFO:Saving 'checkpoint_path' summary for global step 23: <model_dir>/model.ckpt-23
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Starting evaluation at 2026-11-26T14:09:56
INFO:Graph was finalized.
INFO:Restoring parameters from <model_dir>/model.ckpt-23
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Inference Time : 0.19381s
INFO:Finished evaluation at 2026-11-26-14:09:56
INFO:Saving dict for global step 23: accuracy = 0.794, global_step = 23, loss = 0.77008444, mean_per_class_accuracy = 0.5688142
INFO:Saving 'checkpoint_path' summary for global step 23: <model_dir>/model.ckpt-23
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Graph was finalized.
INFO:Restoring parameters from <model_dir>/model.ckpt-23
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Using default config.
INFO:Using config: {'_model_dir': '<model_dir2>', '_tf_random_seed': None, '_save_summary_steps': 100, '_save_checkpoints_steps': None, '_save_checkpoints_secs': 600, '_session_config': allow_soft_placement: true
graph_options {
  rewrite_options {
    meta_optimizer_iterations: ONE
  }
}
, '_keep_checkpoint_max': 5, '_keep_checkpoint_every_n_hours': 10000, '_log_step_count_steps': 100, '_train_distribute': None, '_device_fn': None, '_protocol': None, '_eval_distribute': None, '_experimental_distribute': None, '_experimental_max_worker_delay_secs': None, '_session_creation_timeout_secs': 7200, '_checkpoint_save_graph_def': True, '_service': None, '_cluster_spec': ClusterSpec({}), '_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0, '_master': '', '_evaluation_master': '', '_is_chief': True, '_num_ps_replicas': 0, '_num_worker_replicas': 1}
INFO:Could not find trained model in model_dir: <model_dir2>, running initialization to evaluate.
INFO:Calling model_fn.
INFO:Done calling model_fn.
INFO:Starting evaluation at 2026-11-26T14:09:57
INFO:Graph was finalized.
INFO:Running local_init_op.
INFO:Done running local_init_op.
INFO:Inference Time : 0.18010s
INFO:Finished evaluation at 2026-11-26-14:09:57
INFO:Saving dict for global step 0: accuracy = 0.269, global_step = 0, loss = 1.4731976, mean_per_class_accuracy = 0.4306723
"""

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


_KEEP = re.compile(r"(checkpoint |checkpoints for |model\.ckpt-|global step )(\d+)")


def normalise(text: str) -> str:
    """Mask numbers (losses, rates, times, dates) but keep checkpoint step numbers
    (encoded as letters so the masking does not touch them)."""
    kept = _KEEP.sub(lambda m: m.group(1) + "#" + "".join("abcdefghij"[int(d)]
                                                          for d in m.group(2)), text)
    return _NUMBER.sub("N", kept)


@pytest.fixture
def capture():
    records = []

    class H(logging.Handler):
        def emit(self, record):
            records.append(f"{record.levelname}:{record.getMessage()}")

    handler = H(level=logging.INFO)
    logger = logging.getLogger("estcore")
    old = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_reference_job(tmp_path, capture):
    model_dir = str(tmp_path / "model")
    other_dir = str(tmp_path / "fresh")
    x, y = data()
    est = Estimator(model_fn, config=reference_config(model_dir))
    est.train(reference_input_fn(x, y))
    est.train(reference_input_fn(x, y), steps=3)

    files = sorted(os.listdir(model_dir))
    assert files[0] == "checkpoint" and files[1].startswith("events.out.tfevents.")
    assert files[2:] == ["model.ckpt-20.data", "model.ckpt-23.data"]
    state = pathlib.Path(model_dir, "checkpoint").read_text()
    assert "".join(state.splitlines(keepends=True)[:3]) == TF_STATE_FILE
    assert est.get_variable_names() == TF_VARIABLE_NAMES
    assert os.path.basename(est.latest_checkpoint()) == "model.ckpt-23"

    result = est.evaluate(reference_input_fn(x, y, num_epochs=1, shuffle=False))
    assert sorted(result) == ["accuracy", "global_step", "loss", "mean_per_class_accuracy"]
    assert result["global_step"] == 23 and isinstance(result["global_step"], np.int64)
    assert 0.0 <= result["accuracy"] <= 1.0 and np.isfinite(result["loss"])
    holdout = est.evaluate(reference_input_fn(x, y, num_epochs=1, shuffle=False),
                           name="holdout")
    assert holdout == result
    first = next(iter(est.predict(reference_input_fn(x, None, num_epochs=1, shuffle=False))))
    assert sorted(first) == ["classes", "probabilities"]
    assert first["probabilities"].shape == (3,)
    assert np.isclose(first["probabilities"].sum(), 1.0, atol=1e-5)
    assert first["classes"] == np.argmax(first["probabilities"])

    fresh = Estimator(model_fn, model_dir=other_dir)  # "Using default config."
    fresh_result = fresh.evaluate(reference_input_fn(x, y, num_epochs=1, shuffle=False))
    assert fresh_result["global_step"] == 0
    FileWriterCache.clear()

    files = sorted(os.listdir(model_dir))
    assert files[:2] == ["checkpoint", "eval"] and files[2] == "eval_holdout"
    for sub in ("eval", "eval_holdout"):
        events = os.listdir(os.path.join(model_dir, sub))
        assert len(events) == 1 and events[0].startswith("events.out.tfevents.")
        scalars = read_scalars(os.path.join(model_dir, sub))
        assert sorted(scalars[23]) == ["accuracy", "loss", "mean_per_class_accuracy"]
        tags = [v.tag for e in iter_events(os.path.join(model_dir, sub, events[0]))
                if e.summary for v in e.summary]
        assert "checkpoint_path" in tags
    train_scalars = read_scalars(model_dir)
    assert "loss" in train_scalars[1] and "global_step/sec" in train_scalars[6]

    ours = "\n".join(capture).replace(model_dir, "<model_dir>").replace(other_dir, "<model_dir2>")
    assert normalise(ours) == normalise(TF_LOG.rstrip("\n"))


def test_reference_errors(tmp_path):
    x, y = data()
    est = Estimator(model_fn, config=reference_config(str(tmp_path)))
    with pytest.raises(ValueError) as info:
        est.train(reference_input_fn(x, y), steps=1, max_steps=2)
    assert str(info.value) == "Can not provide both steps and max_steps."
    with pytest.raises(ValueError) as info:
        est.train(reference_input_fn(x, y), steps=0)
    assert str(info.value) == "Must specify steps > 0, given: 0"
    with pytest.raises(ValueError) as info:
        RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=1)
    assert str(info.value) == ("`save_checkpoints_steps` and `save_checkpoints_secs` cannot be "
                               "both set.")
    with pytest.raises(ValueError) as info:
        EstimatorSpec(ModeKeys.TRAIN)
    assert str(info.value) == "Missing train_op."
