"""Exact resume of Dataset input through the Estimator: an interrupted train() called
again continues with the very next batch, on the C stream and on the chunk path."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.format import read_checkpoint
from estcore.checkpoint.state import CheckpointReader
from estcore.data import Dataset
from estcore.estimator import (
    Estimator,
    EstimatorSpec,
    ModeKeys,
    RunConfig,
    SessionRunArgs,
    SessionRunHook,
)

ROWS, BATCH, STEPS = 120, 10, 36
_rng = np.random.default_rng(7)
X = _rng.normal(size=(ROWS, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int32)

INPUTS = {
    # from_tensor_slices -> shuffle(all rows) -> repeat -> batch: the C stream
    "c_stream": lambda: Dataset.from_tensor_slices(({"x": X}, Y)).shuffle(ROWS).repeat(3)
    .batch(BATCH),
    # a buffer smaller than the data and a map: the chunk path
    "chunks": lambda: Dataset.from_tensor_slices(({"x": X}, Y)).shuffle(16).repeat(3)
    .batch(BATCH).map(lambda f, y: ({"x": f["x"] * 2.0}, y)),
}


def model_fn(features, labels, mode):
    logits = ec.layers.dense(ec.layers.dense(features["x"], 8, activation=ec.nn.relu), 2)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(0.05).minimize(loss, global_step=ec.train.get_global_step())
    assert mode == ModeKeys.TRAIN
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def estimator(model_dir):
    return Estimator(model_fn, model_dir=str(model_dir), config=RunConfig(
        tf_random_seed=3, save_checkpoints_steps=4, log_step_count_steps=None,
        save_summary_steps=None))


class Interrupt(Exception):
    pass


class InterruptAfter(SessionRunHook):
    def __init__(self, step):
        self.step = step

    def begin(self):
        self.gs = ec.train.get_global_step()

    def before_run(self, run_context):
        return SessionRunArgs(self.gs)

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self.step:
            raise Interrupt


def variables(est):
    return read_checkpoint(est.latest_checkpoint())[0]


@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("interrupt_at", [[7], [8, 21]])
def test_interrupted_train_resumes_bit_identically(tmp_path, kind, interrupt_at):
    ref = estimator(tmp_path / "ref")
    ref.train(INPUTS[kind])
    assert ref.get_variable_value("global_step") == STEPS
    est = estimator(tmp_path / "run")
    for step in interrupt_at:
        with pytest.raises(Interrupt):
            est.train(INPUTS[kind], hooks=[InterruptAfter(step)])
        meta = CheckpointReader(est.latest_checkpoint()).meta
        assert meta["train_call"]["complete"] is False
        assert meta["input_state"]["kind"] == "estcore.data.Dataset"
    est.train(INPUTS[kind])
    a, b = variables(ref), variables(est)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name, strict=True)
