import os

import numpy as np
import pytest

import estcore
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import get_checkpoint_state, latest_checkpoint
from estcore.errors import OutOfRangeError
from estcore.estimator.monitored_session import MonitoredSession
from estcore.hooks.basic_hooks import (
    FeedFnHook,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    StepCounterHook,
    StopAtStepHook,
)
from estcore.hooks.checkpoint_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    SummarySaverHook,
)
from estcore.hooks.early_stopping import (
    stop_if_higher_hook,
    stop_if_lower_hook,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook
from estcore.summary import FileWriter, FileWriterCache, iter_events, read_scalars, scalar_value
from estcore.summary.ops import SummaryOp

from .fakes import FakeSession

pytestmark = pytest.mark.smoke


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def T(name, shape=()):
    """A float32 placeholder of the default graph (FakeSession gives its values)."""
    return estcore.placeholder(estcore.float32, list(shape), name=name.split(":")[0])


@pytest.fixture
def model():
    """The global step, a loss and a train op in the test's default graph; a FakeSession
    runs them against a tiny mutable model."""
    gs = estcore.train.get_or_create_global_step()
    loss = T("loss:0")
    train = estcore.no_op(name="train")
    yield gs, loss, train
    FileWriterCache.clear()


def train_loop(session, hooks, train, loss, max_iters=1000, per_step=None):
    with MonitoredSession(lambda: session, hooks) as sess:
        n = 0
        while not sess.should_stop() and n < max_iters:
            if per_step:
                per_step(n)
            sess.run([train, loss])
            n += 1
    return n


def test_timer_rules():
    clock = Clock()
    with pytest.raises(ValueError, match="Either every_secs or every_steps should be provided."):
        SecondOrStepTimer()
    with pytest.raises(ValueError, match="Can not provide both every_secs and every_steps."):
        SecondOrStepTimer(1, 1)
    t = SecondOrStepTimer(every_steps=5, clock=clock)
    assert t.should_trigger_for_step(0)
    assert t.update_last_triggered_step(0) == (None, None)
    assert not t.should_trigger_for_step(0) and not t.should_trigger_for_step(4)
    assert t.should_trigger_for_step(5)
    clock.t += 2
    assert t.update_last_triggered_step(5) == (2.0, 5)
    s = SecondOrStepTimer(every_secs=10, clock=clock)
    s.update_last_triggered_step(0)
    assert not s.should_trigger_for_step(100)
    clock.t += 10
    assert s.should_trigger_for_step(1)


def test_stop_at_step(model):
    gs, loss, train = model
    with pytest.raises(ValueError, match="One of num_steps or last_step must be specified."):
        StopAtStepHook()
    with pytest.raises(ValueError, match="Only one of num_steps or last_step can be specified."):
        StopAtStepHook(1, 2)
    session = FakeSession(gs, loss, train, start_step=20)
    assert train_loop(session, [StopAtStepHook(num_steps=3)], train, loss) == 3
    assert session.step == 23
    session = FakeSession(gs, loss, train, start_step=20)
    assert train_loop(session, [StopAtStepHook(last_step=25)], train, loss) == 5


def test_stop_at_step_needs_global_step():
    with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook"):
        StopAtStepHook(num_steps=1).begin()


def test_logging_tensor_hook_format(model, estcore_log):
    gs, loss, train = model
    clock = Clock()
    session = FakeSession(gs, loss, train, losses=[1.62668, 1.5, 1.4, 1.3, 1.2, 1.3484868, 1.1])
    hook = LoggingTensorHook({"loss": loss, "step": gs}, every_n_iter=5, clock=clock)

    def tick(n):
        clock.t += 0.0114

    train_loop(session, [hook, StopAtStepHook(num_steps=7)], train, loss, per_step=tick)
    lines = [m for m in estcore_log() if m.startswith("loss")]
    assert lines == ["loss = 1.62668, step = 0", "loss = 1.3484868, step = 5 (0.057 sec)"]


def test_logging_tensor_hook_skips_formatting_when_info_is_off(model, monkeypatch):
    """Nothing is formatted for a disabled INFO level, but the trigger timing is kept
    (the elapsed time of the next line counts from the skipped one) and a user's
    formatter is still called."""
    import logging

    from estcore.hooks import basic_hooks

    gs, loss, train = model
    formatted, called = [], []
    monkeypatch.setattr(basic_hooks, "_format_value", lambda v: formatted.append(v) or str(v))
    level = logging.getLogger("estcore").level
    logging.getLogger("estcore").setLevel(logging.WARNING)
    try:
        clock = Clock()
        hook = LoggingTensorHook({"loss": loss}, every_n_iter=2, clock=clock)
        user = LoggingTensorHook({"loss": loss}, every_n_iter=2, clock=clock,
                                 formatter=lambda v: called.append(v["loss"]) or "x")
        train_loop(FakeSession(gs, loss, train), [hook, user, StopAtStepHook(num_steps=5)],
                   train, loss)
    finally:
        logging.getLogger("estcore").setLevel(level)
    assert formatted == [] and len(called) == 3
    assert hook._timer.last_triggered_step() == user._timer.last_triggered_step() == 4


def test_logging_tensor_hook_list_order_at_end_formatter(model, estcore_log):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    vec = T("v:0", (3,))
    session.extra[vec] = np.array([1e-9, 2.0, 3.0])
    hook = LoggingTensorHook([vec, loss], at_end=True)
    train_loop(session, [hook, StopAtStepHook(num_steps=2)], train, loss)
    msgs = estcore_log()
    # list order is kept; at_end logs once with the final values
    assert msgs[-1] == ("<estcore.Tensor 'v:0' shape=(3,) dtype=float32> = [0. 2. 3.], "
                        "<estcore.Tensor 'loss:0' shape=() dtype=float32> = 0.3333333333333333")
    hook2 = LoggingTensorHook({"a": loss}, every_n_iter=1, formatter=lambda v: f"A={v['a']:.2f}")
    train_loop(FakeSession(gs, loss, train), [hook2, StopAtStepHook(num_steps=1)], train, loss)
    assert "A=1.00" in estcore_log()
    with pytest.raises(ValueError, match="either at_end and/or exactly one of every_n_iter"):
        LoggingTensorHook({"a": loss})
    with pytest.raises(ValueError, match="invalid every_n_iter=0."):
        LoggingTensorHook({"a": loss}, every_n_iter=0)


def test_logging_numpy_suppressed(model, estcore_log):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    vec = T("v:0", (3,))
    session.extra[vec] = np.array([1e-9, 2.0, 3.0])
    train_loop(session, [LoggingTensorHook({"v": vec}, every_n_iter=1),
                         StopAtStepHook(num_steps=1)], train, loss)
    assert "v = [0. 2. 3.]" in estcore_log()


def test_nan_tensor_hook(model, estcore_log):
    gs, loss, train = model
    session = FakeSession(gs, loss, train, losses=[1.0, 0.5, float("nan")])
    ends = []

    class End(SessionRunHook):
        def end(self, session):
            ends.append(True)

    with pytest.raises(NanLossDuringTrainingError) as info:
        train_loop(session, [NanTensorHook(loss), End()], train, loss)
    assert str(info.value) == "NaN loss during training."
    assert "Model diverged with loss = NaN." in estcore_log()
    assert ends == []  # no end() (no final checkpoint) after an exception
    session = FakeSession(gs, loss, train, losses=[1.0, float("nan")])
    assert train_loop(session, [NanTensorHook(loss, fail_on_nan_loss=False)], train, loss) == 2


def test_step_counter_hook(model, estcore_log, tmp_path):
    gs, loss, train = model
    clock = Clock()
    session = FakeSession(gs, loss, train)
    hook = StepCounterHook(every_n_steps=5, output_dir=str(tmp_path), clock=clock)

    def tick(n):
        clock.t += 0.01

    train_loop(session, [hook, StopAtStepHook(num_steps=20)], train, loss, per_step=tick)
    FileWriterCache.clear()
    lines = [m for m in estcore_log() if m.startswith("global_step/sec")]
    assert len(lines) == 3 and all(line == "global_step/sec: 100" for line in lines)
    scalars = read_scalars(str(tmp_path))
    # first trigger at global step 1 (no rate yet), then every 5 steps
    assert sorted(scalars) == [6, 11, 16]
    assert scalars[6] == {"global_step/sec": pytest.approx(100.0)}
    with pytest.raises(ValueError, match="exactly one of every_n_steps and every_n_secs"):
        StepCounterHook(every_n_steps=None)


def test_step_counter_warns_when_step_stuck(model, estcore_log):
    gs, loss, _ = model
    stuck_op = estcore.no_op(name="noop")
    session = FakeSession(gs, loss, estcore.no_op(name="other"))
    session.extra[stuck_op] = None
    with MonitoredSession(lambda: session, [StepCounterHook(every_n_steps=5)]) as sess:
        for _ in range(10):
            sess.run(stuck_op)
    warnings = [m for m in estcore_log() if m.startswith("It seems that global step")]
    assert len(warnings) == 5


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
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    listener = RecordingListener()
    saver = Saver(max_to_keep=2)
    hook = CheckpointSaverHook(str(tmp_path), save_steps=7, saver=saver, listeners=[listener])

    def exhaust(n):
        if n == 20:
            raise OutOfRangeError("end of input")

    train_loop(session, [hook], train, loss, per_step=exhaust)
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
    gs, loss, train = model
    clock = Clock()
    session = FakeSession(gs, loss, train, start_step=20)
    hook = CheckpointSaverHook(str(tmp_path), save_secs=10, clock=clock)

    def tick(n):
        clock.t += 4

    train_loop(session, [hook, StopAtStepHook(num_steps=6)], train, loss, per_step=tick)
    saves = [m for m in estcore_log() if m.startswith("Saving checkpoints for")]
    # start (20), after 10 s (step 23: t=12 at the 3rd step), end (26)
    assert [int(m.split()[3]) for m in saves] == [20, 23, 26]
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-26")
    with pytest.raises(ValueError, match="You cannot provide both saver and scaffold."):
        CheckpointSaverHook(str(tmp_path), save_steps=1, saver=Saver(), scaffold=object())
    with pytest.raises(TypeError, match="saving_listeners must be a list"):
        CheckpointSaverHook(str(tmp_path), save_steps=1, listeners=[1])


def test_listener_requests_stop(model, tmp_path, estcore_log):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    hook = CheckpointSaverHook(str(tmp_path), save_steps=2, listeners=[RecordingListener(4)])
    n = train_loop(session, [hook], train, loss)
    assert n == 4 and session.step == 4
    assert any(m.startswith("A CheckpointSaverListener requested that training be stopped.")
               for m in estcore_log())


def test_no_final_save_after_exception(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train, losses=[1.0, 1.0, 1.0, float("nan")])
    hook = CheckpointSaverHook(str(tmp_path), save_steps=100)
    with pytest.raises(NanLossDuringTrainingError):
        train_loop(session, [hook, NanTensorHook(loss)], train, loss)
    state = get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["model.ckpt-0"]


def test_summary_saver_hook(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    op = SummaryOp("scalar", "loss", loss)
    hook = SummarySaverHook(save_steps=5, output_dir=str(tmp_path), summary_op=[op])
    train_loop(session, [hook, StopAtStepHook(num_steps=12)], train, loss)
    FileWriterCache.clear()
    scalars = read_scalars(str(tmp_path))
    # first step, then every 5 global steps; value fetched with the step, logged at the
    # post-step global step
    assert sorted(scalars) == [1, 6, 11]
    assert scalars[1]["loss"] == pytest.approx(1.0)
    assert scalars[6]["loss"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        SummarySaverHook(save_steps=1)


def test_final_ops_and_feed_fn(model):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    final = FinalOpsHook({"l": loss})
    feeds = []
    x = T("x:0")
    feed = FeedFnHook(lambda: {x: len(feeds)})
    train_loop(session, [final, feed, StopAtStepHook(num_steps=2)], train, loss)
    assert final.final_ops_values == {"l": pytest.approx(1 / 3)}
    assert all(call[1] == {x: 0} for call in session.calls if call[1])

    class Feeder(SessionRunHook):
        def before_run(self, ctx):
            return SessionRunArgs(None, {x: 1})

    with pytest.raises(RuntimeError, match="Same tensor is fed by two hooks."):
        train_loop(FakeSession(gs, loss, train), [Feeder(), Feeder()], train, loss)
    with pytest.raises(RuntimeError, match="Same tensor is fed by a SessionRunHook and user."):
        with MonitoredSession(lambda: FakeSession(gs, loss, train), [Feeder()]) as sess:
            sess.run(train, feed_dict={x: 2})
    with pytest.raises(TypeError, match="feed_fn"):
        FeedFnHook(3)


def test_final_ops_out_of_range_warns(model, estcore_log):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    bad = T("bad:0")

    def raise_oor():
        raise OutOfRangeError("again")

    session.extra[bad] = raise_oor
    with pytest.raises(OutOfRangeError):
        FinalOpsHook(bad).end(session)
    assert any(m.startswith("An OutOfRangeError or StopIteration exception is raised")
               for m in estcore_log())


def test_monitored_session_end_semantics(model):
    gs, loss, train = model
    calls = []

    class H(SessionRunHook):
        def begin(self):
            calls.append("begin")

        def after_create_session(self, session, coord):
            calls.append("create")

        def end(self, session):
            calls.append("end")

    with MonitoredSession(lambda: FakeSession(gs, loss, train), [H()]) as sess:
        sess.run(train)
        raise StopIteration
    assert calls == ["begin", "create", "end"]
    calls.clear()
    with pytest.raises(KeyError):
        with MonitoredSession(lambda: FakeSession(gs, loss, train), [H()]) as sess:
            raise KeyError("boom")
    assert calls == ["begin", "create"]
    with pytest.raises(TypeError, match="Hooks must be a SessionRunHook, given: 1"):
        MonitoredSession(lambda: None, [1])


class FakeEstimator:
    def __init__(self, eval_dir):
        self._eval_dir = eval_dir

    def eval_dir(self, name=None):
        return self._eval_dir


def write_evals(d, results):
    w = FileWriter(str(d))
    for step, metrics in results.items():
        w.add_summary([scalar_value(k, v) for k, v in metrics.items()], step)
    w.close()


@pytest.mark.parametrize("factory, arg, stop_step", [
    (stop_if_higher_hook, dict(metric_name="accuracy", threshold=0.8), 30),
    (stop_if_lower_hook, dict(metric_name="loss", threshold=0.45), 40),
    (stop_if_no_decrease_hook, dict(metric_name="loss", max_steps_without_decrease=20), 60),
    (stop_if_no_increase_hook, dict(metric_name="accuracy", max_steps_without_increase=15), 50),
])
def test_early_stopping(model, tmp_path, estcore_log, factory, arg, stop_step):
    gs, loss, train = model
    evals = {10: {"loss": 0.9, "accuracy": 0.5}, 20: {"loss": 0.6, "accuracy": 0.7},
             30: {"loss": 0.5, "accuracy": 0.85}, 40: {"loss": 0.4, "accuracy": 0.84},
             50: {"loss": 0.7, "accuracy": 0.83}, 60: {"loss": 0.7, "accuracy": 0.83}}
    eval_dir = tmp_path / "eval"
    session = FakeSession(gs, loss, train)
    hook = factory(FakeEstimator(str(eval_dir)), **arg, run_every_secs=None, run_every_steps=1)

    def write(n):  # an evaluation every 10 steps, as train_and_evaluate would
        if n in evals:
            write_evals(eval_dir, {n: evals[n]})

    train_loop(session, [hook], train, loss, max_iters=100, per_step=write)
    assert f"Requesting early stopping at global step {stop_step}" in estcore_log()


def test_early_stopping_min_steps_and_args(model, tmp_path):
    write_evals(tmp_path, {10: {"loss": 0.1}})
    hook = stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5, min_steps=20)
    assert hook._should_stop_fn() is False
    hook = stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5)
    assert hook._should_stop_fn() is True
    with pytest.raises(ValueError, match="Only one of run_every_secs and run_every_steps"):
        stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5, run_every_steps=5)
    with pytest.raises(ValueError, match='Metric "acc" not found'):
        stop_if_higher_hook(FakeEstimator(str(tmp_path)), "acc", 0.5)._should_stop_fn()


class _ClosingSession:
    def __init__(self):
        self.closed = False

    def run(self, fetches, feed_dict=None):
        if self.closed:
            raise RuntimeError("run on a closed session")
        return fetches

    def close(self):
        self.closed = True


class _EndSeesOpenSession(SessionRunHook):
    def __init__(self):
        self.open_at_end = None

    def end(self, session):
        self.open_at_end = not session.closed


@pytest.mark.parametrize("exc", [None, OutOfRangeError, ValueError])
def test_monitored_session_closes_its_session_after_the_hooks_end(exc):
    sess, hook = _ClosingSession(), _EndSeesOpenSession()
    try:
        with MonitoredSession(lambda: sess, [hook]) as mon:
            mon.run(1)
            if exc is not None:
                raise exc("stop")
    except ValueError:
        assert exc is ValueError
    assert sess.closed
    assert hook.open_at_end is (None if exc is ValueError else True)


class _GatedSaver(Saver):
    """A Saver whose writes wait for a gate (or fail), to watch the background writer."""

    def __init__(self, fail_at=None):
        super().__init__()
        import threading

        self.gate = threading.Event()
        self.writer_threads = []
        self.fail_at = fail_at

    def save(self, values, save_path, global_step=None, meta=None):
        import threading

        self.writer_threads.append(threading.current_thread().name)
        if global_step == self.fail_at:
            raise OSError(28, "No space left on device")
        if threading.current_thread() is not threading.main_thread():
            assert self.gate.wait(10)
        return super().save(values, save_path, global_step=global_step, meta=meta)


def test_saves_during_training_are_written_in_the_background(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    saver = _GatedSaver()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=3, saver=saver)
    seen = []

    def per_step(n):
        seen.append(latest_checkpoint(str(tmp_path)))
        if n == 2:
            saver.gate.set()  # the step-0 save was held back until now

    train_loop(session, [hook, StopAtStepHook(num_steps=5)], train, loss, per_step=per_step)
    # training went on while the first save waited; the final save is synchronous
    assert seen[:2] == [None, None]
    assert saver.writer_threads[:2] == ["estcore-checkpoint-writer"] * 2
    assert saver.writer_threads[-1] == "MainThread"
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-5")
    assert [os.path.basename(p) for p in
            get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths][-1] == "model.ckpt-5"


def test_a_failed_background_save_is_raised_at_the_next_save(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    saver = _GatedSaver(fail_at=3)
    saver.gate.set()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=3, saver=saver)
    with pytest.raises(OSError, match="No space left on device"):
        train_loop(session, [hook, StopAtStepHook(num_steps=10)], train, loss)
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")


def test_with_listeners_every_save_is_on_disk_before_after_save(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    found = []

    class Check(CheckpointSaverListener):
        def after_save(self, session, step):
            found.append(latest_checkpoint(str(tmp_path)).endswith(f"model.ckpt-{step}"))

    hook = CheckpointSaverHook(str(tmp_path), save_steps=2, listeners=[Check()])
    train_loop(session, [hook, StopAtStepHook(num_steps=5)], train, loss)
    assert found == [True] * 4  # steps 0, 2, 4 and the final 5


def test_an_error_waits_for_the_save_in_flight(model, tmp_path):
    gs, loss, train = model
    session = FakeSession(gs, loss, train)
    saver = _GatedSaver()
    hook = CheckpointSaverHook(str(tmp_path), save_steps=100, saver=saver)

    def boom(n):
        if n == 1:
            import threading

            threading.Timer(0.2, saver.gate.set).start()
            raise RuntimeError("input broke")

    with pytest.raises(RuntimeError, match="input broke"):
        train_loop(session, [hook], train, loss, per_step=boom)
    # the step-0 save was released 0.2 s after the error and is complete on return
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")
