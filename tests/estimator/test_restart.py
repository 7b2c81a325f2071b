"""A training process killed mid-training resumes from its last checkpoint."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import estcore
from estcore.checkpoint.state import get_checkpoint_state
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import estcore
    from estcore.estimator import Estimator, EstimatorSpec, RunConfig, SessionRunHook, \\
        SessionRunArgs

    def model_fn(features, labels, mode):
        logits = estcore.layers.dense(features["x"], 3, name="linear")
        loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        train_op = estcore.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=estcore.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    class Kill(SessionRunHook):
        def begin(self):
            self.gs = estcore.train.get_global_step()
        def before_run(self, ctx):
            return SessionRunArgs(self.gs)
        def after_run(self, ctx, values):
            if values.results >= 12:
                os.kill(os.getpid(), signal.SIGKILL)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=40).astype(np.int32)
    def input_fn():
        while True:
            yield {"x": x}, y
    est = Estimator(model_fn, model_dir=sys.argv[1],
                    config=RunConfig(save_checkpoints_steps=5, log_step_count_steps=None))
    est.train(input_fn, hooks=[Kill()])
""")


def model_fn(features, labels, mode):
    logits = estcore.layers.dense(features["x"], 3, name="linear")
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=logits)
    loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = estcore.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=estcore.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_resume_after_kill(tmp_path, estcore_log):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    state = get_checkpoint_state(str(tmp_path))
    # Checkpoints are written by a background thread while training goes on: the
    # save at step 10 may still have been in flight when the kill came at step 12,
    # and then the last complete checkpoint is the one of step 5.
    saved = os.path.basename(state.model_checkpoint_path)
    assert saved in ("model.ckpt-10", "model.ckpt-5")
    saved_step = int(saved.split("-")[1])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=40).astype(np.int32)
    est = Estimator(model_fn, model_dir=str(tmp_path),
                    config=RunConfig(save_checkpoints_steps=5, log_step_count_steps=None))
    before = est.get_variable_value("linear/kernel")
    est.train(lambda: ({"x": x}, y), steps=3)
    assert f"Restoring parameters from {tmp_path}/{saved}" in estcore_log()
    assert est.get_variable_value("global_step") == saved_step + 3
    assert not np.array_equal(before, est.get_variable_value("linear/kernel"))
    # no torn files left that a reader would pick up
    assert all(not f.startswith("model.ckpt-1") or f.endswith(".data")
               for f in os.listdir(tmp_path))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_spec_tensors_must_come_from_the_model_fn_graph(tmp_path, mode):
    outside = estcore.Graph()
    with outside.as_default():
        stray = estcore.constant(1.0, name="stray")

    def bad_model_fn(features, labels, mode):
        logits = estcore.layers.dense(features["x"], 3)
        loss = estcore.reduce_mean(logits)
        if mode == ModeKeys.TRAIN:
            return EstimatorSpec(mode, loss=stray, train_op=estcore.no_op())
        return EstimatorSpec(mode, loss=loss, eval_metric_ops={"m": (stray, estcore.no_op())})

    est = Estimator(bad_model_fn, model_dir=str(tmp_path))
    x = np.zeros((4, 4), np.float32)
    y = np.zeros(4, np.int32)
    field = "loss" if mode == "train" else "eval_metric_ops"
    with pytest.raises(ValueError, match=f'^{field} with "stray:0" must be from the default '
                                         "graph"):
        if mode == "train":
            est.train(lambda: ({"x": x}, y), steps=1)
        else:
            est.evaluate(lambda: ({"x": x}, y), steps=1)


def test_spec_real_tensor_rules():
    g = estcore.Graph()
    with g.as_default():
        x = estcore.placeholder(estcore.float32, [None, 2])
        vec = estcore.reduce_sum(x, axis=1)
        with pytest.raises(ValueError, match="^Loss must be scalar, given: "):
            EstimatorSpec(ModeKeys.EVAL, loss=estcore.zeros([2, 2]))
        spec = EstimatorSpec(ModeKeys.EVAL, loss=estcore.reshape(vec[:1], [1]))
        assert spec.loss.shape.as_list() == []
        spec = EstimatorSpec(ModeKeys.EVAL, loss=estcore.reduce_mean(vec))
        assert spec.loss.shape.rank == 0
        w = estcore.get_variable("w", shape=[2], initializer=estcore.zeros_initializer())
        spec = EstimatorSpec(ModeKeys.TRAIN, loss=estcore.reduce_mean(vec),
                             train_op=estcore.assign_add(w, [1.0, 1.0]))
        assert spec.train_op is not None
        spec = EstimatorSpec(ModeKeys.PREDICT, predictions=vec)
        assert set(spec.export_outputs) == {"serving_default"}
        with pytest.raises(TypeError, match="^predictions\\[a\\] must be Tensor, given: 1$"):
            EstimatorSpec(ModeKeys.PREDICT, predictions={"a": 1})
