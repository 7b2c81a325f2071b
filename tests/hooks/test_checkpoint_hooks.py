"""CheckpointSaverHook (cadence, listeners, the background writer, no save after an
error) and SummarySaverHook, run through the hooked session."""

import os
import threading

import pytest

from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import get_checkpoint_state, latest_checkpoint
from estcore.errors import OutOfRangeError
from estcore.estimator import Estimator
from estcore.hooks.basic_hooks import NanLossDuringTrainingError, NanTensorHook, StopAtStepHook
from estcore.hooks.checkpoint_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    SummarySaverHook,
)
from estcore.summary import FileWriterCache, iter_events, read_scalars
from estcore.summary.ops import SummaryOp

from ..estimator.reference_model import data, model_fn, reference_config, reference_input_fn
from .fakes import Clock, FakeSession, train_loop

pytestmark = pytest.mark.smoke


class RecordingListener(CheckpointSaverListener):
    def __init__(self, stop_at=None):
        self.events = []
        self.stop_at = stop_at

    def begin(self):
        self.events.append("begin")

    def before_save(self, session, step):
        self.events.append(("before", step))

    def after_save(self, session, step):
        self.events.append(("after", step))
        return self.stop_at is not None and step >= self.stop_at

    def end(self, session, step):
        self.events.append(("end", step))


def test_checkpoint_saver_hook_reference_cadence(model, estcore_log, tmp_path):
    session = FakeSession(model)
    listener = RecordingListener()
    saver = Saver(max_to_keep=2)
    hook = CheckpointSaverHook(str(tmp_path), save_steps=7, saver=saver, listeners=[listener])

    def exhaust(n):
        if n == 20:
            raise OutOfRangeError("end of input")

    train_loop(session, [hook], per_step=exhaust)
    d = str(tmp_path)
    expected = []
    for step in (0, 7, 14, 20):
        expected += [f"Calling checkpoint listeners before saving checkpoint {step}...",
                     f"Saving checkpoints for {step} into {d}/model.ckpt.",
                     f"Calling checkpoint listeners after saving checkpoint {step}..."]
    assert [m for m in estcore_log() if "checkpoint" in m.lower()] == \
        ["Create CheckpointSaverHook."] + expected
    assert listener.events == ["begin", ("before", 0), ("after", 0), ("before", 7), ("after", 7),
                               ("before", 14), ("after", 14), ("before", 20), ("after", 20),
                               ("end", 20)]
    assert (tmp_path / "checkpoint").read_text().splitlines()[:3] == [
        'model_checkpoint_path: "model.ckpt-20"', 'all_model_checkpoint_paths: "model.ckpt-14"',
        'all_model_checkpoint_paths: "model.ckpt-20"']
    FileWriterCache.clear()
    logs = [e.session_log for f in os.listdir(d) if "tfevents" in f
            for e in iter_events(os.path.join(d, f)) if e.session_log]
    assert [log.status for log in logs] == [3, 3, 3, 3]


def test_checkpoint_saver_resume_and_secs(model, tmp_path, estcore_log):
    clock = Clock()
    session = FakeSession(model, start_step=20)
    hook = CheckpointSaverHook(str(tmp_path), save_secs=10, clock=clock)

    def tick(n):
        clock.t += 4

    train_loop(session, [hook, StopAtStepHook(num_steps=6)], per_step=tick)
    saves = [m for m in estcore_log() if m.startswith("Saving checkpoints for")]
    # start (20), after 10 s (step 23: t=12 at the 3rd step), end (26)
    assert [int(m.split()[3]) for m in saves] == [20, 23, 26]
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-26")
    with pytest.raises(ValueError, match="You cannot provide both saver and scaffold."):
        CheckpointSaverHook(str(tmp_path), save_steps=1, saver=Saver(), scaffold=object())
    with pytest.raises(TypeError, match="saving_listeners must be a list"):
        CheckpointSaverHook(str(tmp_path), save_steps=1, listeners=[1])


def test_listener_requests_stop(model, tmp_path, estcore_log):
    session = FakeSession(model)
    hook = CheckpointSaverHook(str(tmp_path), save_steps=2, listeners=[RecordingListener(4)])
    n = train_loop(session, [hook])
    assert n == 4 and session.step == 4
    assert any(m.startswith("A CheckpointSaverListener requested that training be stopped.")
               for m in estcore_log())


def test_no_final_save_after_exception(model, tmp_path):
    session = FakeSession(model, losses=[1.0, 1.0, 1.0, float("nan")])
    hook = CheckpointSaverHook(str(tmp_path), save_steps=100)
    with pytest.raises(NanLossDuringTrainingError):
        train_loop(session, [hook, NanTensorHook(model.loss)])
    state = get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["model.ckpt-0"]


def test_summary_saver_hook(model, tmp_path):
    session = FakeSession(model)
    op = SummaryOp("scalar", "loss", model.loss)
    hook = SummarySaverHook(save_steps=5, output_dir=str(tmp_path), summary_op=[op])
    train_loop(session, [hook, StopAtStepHook(num_steps=12)])
    FileWriterCache.clear()
    scalars = read_scalars(str(tmp_path))
    # first step, then every 5 global steps; value fetched with the step, logged at the
    # post-step global step
    assert sorted(scalars) == [1, 6, 11]
    assert scalars[1]["loss"] == pytest.approx(1.0)
    assert scalars[6]["loss"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        SummarySaverHook(save_steps=1)


class _GatedSaver(Saver):
    """A Saver whose writes wait for a gate (or fail), to watch the background writer."""

    def __init__(self, fail_at=None):
        super().__init__()
        self.gate = threading.Event()
        self.writer_threads = []
        self.fail_at = fail_at

    def save(self, values, save_path, global_step=None, meta=None):
        self.writer_threads.append(threading.current_thread().name)
        if global_step == self.fail_at:
            raise OSError(28, "No space left on device")
        if threading.current_thread() is not threading.main_thread():
            assert self.gate.wait(10)
        return super().save(values, save_path, global_step=global_step, meta=meta)


def test_saves_during_training_are_written_in_the_background(model, tmp_path):
    session = FakeSession(model)
    saver = _GatedSaver()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=3, saver=saver)
    seen = []

    def per_step(n):
        seen.append(latest_checkpoint(str(tmp_path)))
        if n == 2:
            saver.gate.set()  # the step-0 save was held back until now

    train_loop(session, [hook, StopAtStepHook(num_steps=5)], per_step=per_step)
    # training went on while the first save waited; the final save is synchronous
    assert seen[:2] == [None, None]
    assert saver.writer_threads[:2] == ["estcore-checkpoint-writer"] * 2
    assert saver.writer_threads[-1] == "MainThread"
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-5")
    assert [os.path.basename(p) for p in
            get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths][-1] == "model.ckpt-5"


def test_a_failed_background_save_is_raised_at_the_next_save(model, tmp_path):
    session = FakeSession(model)
    saver = _GatedSaver(fail_at=3)
    saver.gate.set()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=3, saver=saver)
    with pytest.raises(OSError, match="No space left on device"):
        train_loop(session, [hook, StopAtStepHook(num_steps=10)])
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")


def test_with_listeners_every_save_is_on_disk_before_after_save(model, tmp_path):
    session = FakeSession(model)
    found = []

    class Check(CheckpointSaverListener):
        def after_save(self, session, step):
            found.append(latest_checkpoint(str(tmp_path)).endswith(f"model.ckpt-{step}"))

    hook = CheckpointSaverHook(str(tmp_path), save_steps=2, listeners=[Check()])
    train_loop(session, [hook, StopAtStepHook(num_steps=5)])
    assert found == [True] * 4  # steps 0, 2, 4 and the final 5


def test_an_error_waits_for_the_save_in_flight(model, tmp_path):
    session = FakeSession(model)
    saver = _GatedSaver()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=100, saver=saver)

    def boom(n):
        if n == 1:
            threading.Timer(0.2, saver.gate.set).start()
            raise RuntimeError("input broke")

    with pytest.raises(RuntimeError, match="input broke"):
        train_loop(session, [hook], per_step=boom)
    # the step-0 save was released 0.2 s after the error and is complete on return
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")


def test_summary_steps_of_the_tf_reference_run(tmp_path):
    """TF's reference job (save_summary_steps=5, log_step_count_steps=5, 20 steps)
    writes the loss at global steps 1, 6, 11, 16 and global_step/sec at 6, 11, 16.
    (Bug: the loss was written at 1, 5, 9, 13, 17: the step was counted twice.)"""
    x, y = data()
    est = Estimator(model_fn, config=reference_config(str(tmp_path)))
    est.train(reference_input_fn(x, y))
    FileWriterCache.clear()
    scalars = read_scalars(str(tmp_path))
    assert sorted(s for s, v in scalars.items() if "loss" in v) == [1, 6, 11, 16]
    assert sorted(s for s, v in scalars.items() if "global_step/sec" in v) == [6, 11, 16]
