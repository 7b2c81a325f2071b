"""Exact resume works with ``checkpoint_format="tf"``: estcore's meta (the interrupted
call's seed and input position) rides in the TF bundle's header."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.format import read_checkpoint
from estcore.checkpoint.state import CheckpointReader
from estcore.estimator import Estimator, RunConfig, SessionRunArgs, SessionRunHook
from estcore.estimator.inputs import numpy_input_fn

from . import tf_models as tm


class _Interrupt(Exception):
    pass


class _InterruptAfter(SessionRunHook):
    def __init__(self, step: int):
        self.step = step

    def begin(self):
        self.gs = ec.train.get_global_step()

    def before_run(self, run_context):
        return SessionRunArgs(self.gs)

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self.step:
            raise _Interrupt(self.step)


def _estimator(model_dir) -> Estimator:
    return Estimator(tm.mlp_model_fn, model_dir=str(model_dir), config=RunConfig(
        tf_random_seed=3, save_checkpoints_steps=2, keep_checkpoint_max=2,
        checkpoint_format="tf", save_summary_steps=None, log_step_count_steps=None))


def _epoch(arrays):
    return numpy_input_fn({"x": arrays["x"]}, arrays["y"], batch_size=8, num_epochs=1,
                          shuffle=True)


@pytest.mark.parametrize("interrupt_at", [3, 4])
def test_interrupted_call_resumes_bit_identically_in_tf_format(tmp_path, interrupt_at):
    _, arrays = tm.load_record("mlp_adam")
    ref = _estimator(tmp_path / "ref")
    ref.train(_epoch(arrays))
    est = _estimator(tmp_path / "cut")
    with pytest.raises(_Interrupt):
        est.train(_epoch(arrays), hooks=[_InterruptAfter(interrupt_at)])
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["train_call"]["complete"] is False
    assert meta["input_state"]["batches_consumed"] == interrupt_at // 2 * 2
    est.train(_epoch(arrays))
    assert est.get_variable_value("global_step") == 8
    got, _ = read_checkpoint(est.latest_checkpoint())
    want, _ = read_checkpoint(ref.latest_checkpoint())
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name, strict=True)
