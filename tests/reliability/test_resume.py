"""Exact resume: an interrupted train() called again continues with the very next batch.

The interruption here is an exception raised by a hook after a given step (in the same
process); tests/reliability/test_crash.py does the same with SIGKILL. Either way the
checkpoint a call restores says the call that wrote it did not complete, and the next
call continues its input at the stored position with the same order.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.state import CheckpointReader
from estcore.estimator import SessionRunArgs, SessionRunHook
from estcore.inputs import numpy_input_fn

from .model import (
    BATCH,
    STEPS_PER_EPOCH,
    X,
    Y,
    assert_identical,
    final_variables,
    make_estimator,
)


class Interrupt(Exception):
    pass


class InterruptAfter(SessionRunHook):
    """Raises once the global step reaches ``step`` (after that step's run and saves)."""

    def __init__(self, step: int):
        self.step = step

    def begin(self):
        self.gs = ec.train.get_global_step()

    def before_run(self, run_context):
        return SessionRunArgs(self.gs)

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self.step:
            raise Interrupt(f"interrupted at step {self.step}")


def epoch_fn():
    return numpy_input_fn({"x": X}, Y, batch_size=BATCH, num_epochs=1, shuffle=True)


def train_epochs(est, epochs, interrupt_at=()):
    """The epoch-per-call workflow; an interrupted call is called again (as a restarted
    script would: the same call until its epoch is done)."""
    pending = list(interrupt_at)
    for epoch in range(epochs):
        target = (epoch + 1) * STEPS_PER_EPOCH
        while _step(est) < target:
            hooks = []
            if pending and pending[0] <= target:
                hooks = [InterruptAfter(pending.pop(0))]
            try:
                est.train(epoch_fn(), hooks=hooks)
            except Interrupt:
                pass
    return final_variables(est)


def _step(est):
    ckpt = est.latest_checkpoint()
    return 0 if ckpt is None else int(CheckpointReader(ckpt).get_tensor("global_step"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    est = make_estimator(tmp_path_factory.mktemp("reference"))
    return train_epochs(est, 3)


@pytest.mark.smoke
@pytest.mark.parametrize("interrupt_at", [
    [19],        # mid-epoch, between saves (last save at 16): steps 17-19 replayed
    [20],        # right after a save: resumes exactly there
    [13, 14],    # twice in the same epoch
    [1, 30, 35],  # at the first step, and in the last epoch twice
])
def test_epoch_per_call_resume_is_bit_identical(tmp_path, uninterrupted, interrupt_at):
    est = make_estimator(tmp_path)
    assert_identical(train_epochs(est, 3, interrupt_at), uninterrupted)


def test_resumed_call_continues_the_stored_position(tmp_path, estcore_log):
    est = make_estimator(tmp_path)
    with pytest.raises(Interrupt):
        est.train(epoch_fn(), hooks=[InterruptAfter(6)])
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["train_call"]["complete"] is False
    assert meta["input_state"]["batches_consumed"] == 4  # saved at step 4
    seed = meta["train_call"]["input_seed"]
    est.train(epoch_fn())
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["global_step"] == STEPS_PER_EPOCH  # the rest of the epoch, not a new one
    assert meta["train_call"] == {"input_seed": seed, "complete": True}
    assert any("continues at batch 4" in m for m in estcore_log())


def test_completed_call_starts_a_new_order(tmp_path):
    est = make_estimator(tmp_path)
    est.train(epoch_fn())
    first = CheckpointReader(est.latest_checkpoint()).meta["train_call"]
    est.train(epoch_fn())
    second = CheckpointReader(est.latest_checkpoint()).meta
    assert second["global_step"] == 2 * STEPS_PER_EPOCH
    assert second["train_call"]["complete"] is True
    assert second["train_call"]["input_seed"] != first["input_seed"]


def test_final_step_on_a_save_step_is_marked_complete(tmp_path):
    # 8 steps, saves every 4: the last step was saved mid-call; end() marks it final
    est = make_estimator(tmp_path)
    fn = numpy_input_fn({"x": X}, Y, batch_size=BATCH, num_epochs=None, shuffle=True)
    est.train(fn, steps=8)
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["global_step"] == 8 and meta["train_call"]["complete"] is True
    assert meta["input_state"]["batches_consumed"] == 8


def test_max_steps_call_resumes_exactly(tmp_path_factory):
    fn = numpy_input_fn({"x": X}, Y, batch_size=BATCH, num_epochs=None, shuffle=True)
    ref = make_estimator(tmp_path_factory.mktemp("ref"))
    ref.train(fn, max_steps=30)
    ref.train(fn, max_steps=45)
    est = make_estimator(tmp_path_factory.mktemp("cut"))
    with pytest.raises(Interrupt):
        est.train(fn, max_steps=30, hooks=[InterruptAfter(18)])
    est.train(fn, max_steps=30)
    est.train(fn, max_steps=45)
    assert_identical(final_variables(est), final_variables(ref))


def test_generator_input_restarts_from_its_beginning_with_one_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="estcore")
    seen = []

    def input_fn():
        for i in range(0, len(X), BATCH):
            seen.append(i)
            yield {"x": X[i:i + BATCH]}, Y[i:i + BATCH]

    est = make_estimator(tmp_path)
    with pytest.raises(Interrupt):
        est.train(input_fn, hooks=[InterruptAfter(6)])
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert "input_state" not in meta and meta["train_call"]["complete"] is False
    seen.clear()
    with pytest.raises(Interrupt):
        est.train(input_fn, hooks=[InterruptAfter(7)])
    assert seen[:2] == [0, BATCH]  # from its beginning
    est.train(input_fn)
    warnings = [r for r in caplog.records
                if r.levelno == logging.WARNING and "cannot continue" in r.getMessage()]
    assert len(warnings) == 1
    assert "generator" in warnings[0].getMessage()


def test_changed_input_is_not_resumed(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="estcore")
    est = make_estimator(tmp_path)
    with pytest.raises(Interrupt):
        est.train(epoch_fn(), hooks=[InterruptAfter(6)])
    other = numpy_input_fn({"x": X}, Y, batch_size=BATCH // 2, num_epochs=1, shuffle=True)
    est.train(other)
    assert any("cannot continue" in r.getMessage() for r in caplog.records)
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["global_step"] == 4 + 2 * len(X) // BATCH  # a whole epoch of the new input
    assert np.isfinite(final_variables(est)["dense/kernel"]).all()


def test_a_call_ending_on_a_save_step_is_saved_once_and_complete(tmp_path, monkeypatch):
    """steps / max_steps ending on the save cadence: the save at that step already says
    the call is complete, so end() does not write the same checkpoint again."""
    import numpy as np

    import estcore as ec
    from estcore.checkpoint.saver import Saver
    from estcore.checkpoint.state import CheckpointReader
    from estcore.estimator import Estimator, EstimatorSpec, RunConfig
    from estcore.estimator.inputs import numpy_input_fn

    saves = []
    real = Saver.save

    def counting(self, values, save_path, global_step=None, meta=None):
        saves.append((global_step, (meta or {}).get("train_call", {}).get("complete")))
        return real(self, values, save_path, global_step, meta)

    monkeypatch.setattr(Saver, "save", counting)

    def model_fn(features, labels, mode):
        pred = ec.reshape(ec.layers.dense(features["x"], 1), [-1])
        loss = ec.reduce_mean(ec.square(pred - labels))
        train_op = ec.train.GradientDescentOptimizer(0.01).minimize(
            loss, global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    x = np.random.default_rng(0).random((40, 3)).astype(np.float32)
    est = Estimator(model_fn, str(tmp_path), RunConfig(save_checkpoints_steps=5))
    est.train(numpy_input_fn({"x": x}, x.sum(1), batch_size=4, num_epochs=None,
                                   shuffle=True), steps=10)
    assert saves == [(0, False), (5, False), (10, True)]
    assert CheckpointReader(est.latest_checkpoint()).meta["train_call"]["complete"] is True
    saves.clear()
    est.train(numpy_input_fn({"x": x}, x.sum(1), batch_size=4, num_epochs=None,
                                   shuffle=True), max_steps=17)
    assert saves == [(10, False), (15, False), (17, True)]
