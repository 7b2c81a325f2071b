"""The standard hooks of basic_hooks.py: TF's texts, cadences and stop steps, run
through the hooked session (and so through their declared schedule)."""

import importlib.util
import itertools
import logging
import pathlib

import numpy as np
import pytest

import estcore as ec
from estcore.errors import OutOfRangeError
from estcore.estimator import Estimator, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.estimator.monitored_session import MonitoredSession
from estcore.hooks import basic_hooks
from estcore.hooks.basic_hooks import (
    FeedFnHook,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    StepCounterHook,
    StopAfterNEvalsHook,
    StopAtStepHook,
)
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook
from estcore.summary import FileWriterCache, read_scalars

from ..estimator.reference_model import data, reference_config, reference_input_fn
from ..estimator.reference_model import model_fn as reference_model_fn
from .fakes import Clock, FakeSession, train_loop

pytestmark = pytest.mark.smoke


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
    with pytest.raises(ValueError, match="One of num_steps or last_step must be specified."):
        StopAtStepHook()
    with pytest.raises(ValueError, match="Only one of num_steps or last_step can be specified."):
        StopAtStepHook(1, 2)
    session = FakeSession(model, start_step=20)
    assert train_loop(session, [StopAtStepHook(num_steps=3)]) == 3
    assert session.step == 23
    session = FakeSession(model, start_step=20)
    assert train_loop(session, [StopAtStepHook(last_step=25)]) == 5


def test_stop_at_step_needs_global_step():
    with ec.Graph().as_default():
        with pytest.raises(RuntimeError,
                           match="Global step should be created to use StopAtStepHook"):
            StopAtStepHook(num_steps=1).begin()


def test_logging_tensor_hook_format(model, estcore_log):
    clock = Clock()
    session = FakeSession(model, losses=[1.62668, 1.5, 1.4, 1.3, 1.2, 1.3484868, 1.1])
    hook = LoggingTensorHook({"loss": model.loss, "step": model.gs}, every_n_iter=5,
                             clock=clock)

    def tick(n):
        clock.t += 0.0114

    train_loop(session, [hook, StopAtStepHook(num_steps=7)], per_step=tick)
    lines = [m for m in estcore_log() if m.startswith("loss")]
    assert lines == ["loss = 1.62668, step = 0", "loss = 1.3484868, step = 5 (0.057 sec)"]


def test_logging_tensor_hook_skips_formatting_when_info_is_off(model, monkeypatch):
    """Nothing is formatted for a disabled INFO level, but the trigger timing is kept
    (the elapsed time of the next line counts from the skipped one) and a user's
    formatter is still called."""
    formatted, called = [], []
    monkeypatch.setattr(basic_hooks, "_format_value", lambda v: formatted.append(v) or str(v))
    level = logging.getLogger("estcore").level
    logging.getLogger("estcore").setLevel(logging.WARNING)
    try:
        clock = Clock()
        hook = LoggingTensorHook({"loss": model.loss}, every_n_iter=2, clock=clock)
        user = LoggingTensorHook({"loss": model.loss}, every_n_iter=2, clock=clock,
                                 formatter=lambda v: called.append(v["loss"]) or "x")
        train_loop(FakeSession(model), [hook, user, StopAtStepHook(num_steps=5)])
    finally:
        logging.getLogger("estcore").setLevel(level)
    assert formatted == [] and len(called) == 3
    assert hook._timer.last_triggered_step() == user._timer.last_triggered_step() == 4


def test_logging_tensor_hook_list_order_at_end_formatter(model, estcore_log):
    session = FakeSession(model)
    vec = ec.placeholder(ec.float32, [3], name="v")
    session.extra[vec] = np.array([1e-9, 2.0, 3.0])
    hook = LoggingTensorHook([vec, model.loss], at_end=True)
    train_loop(session, [hook, StopAtStepHook(num_steps=2)])
    msgs = estcore_log()
    # list order is kept; at_end logs once with the final values
    assert msgs[-1] == f"{vec} = [0. 2. 3.], {model.loss} = 0.3333333333333333"
    hook2 = LoggingTensorHook({"a": model.loss}, every_n_iter=1,
                              formatter=lambda v: f"A={v['a']:.2f}")
    train_loop(FakeSession(model), [hook2, StopAtStepHook(num_steps=1)])
    assert "A=1.00" in estcore_log()
    with pytest.raises(ValueError, match="either at_end and/or exactly one of every_n_iter"):
        LoggingTensorHook({"a": model.loss})
    with pytest.raises(ValueError, match="invalid every_n_iter=0."):
        LoggingTensorHook({"a": model.loss}, every_n_iter=0)


def test_logging_numpy_suppressed(model, estcore_log):
    session = FakeSession(model)
    vec = ec.placeholder(ec.float32, [3], name="v")
    session.extra[vec] = np.array([1e-9, 2.0, 3.0])
    train_loop(session, [LoggingTensorHook({"v": vec}, every_n_iter=1),
                         StopAtStepHook(num_steps=1)])
    assert "v = [0. 2. 3.]" in estcore_log()


def test_logging_tensor_hook_resolves_names_as_tf(model):
    """A bare name means the op's output 0 (TF appends ":0"); it is ambiguous when the
    op has a second output. (Bug: the bare name resolved to the Operation, so the
    value logged was None.)"""
    probs = ec.nn.softmax(ec.placeholder(ec.float32, [None, 3]), name="softmax_tensor")
    hook = LoggingTensorHook({"p": "softmax_tensor"}, every_n_iter=1)
    hook.begin()
    assert hook._current_tensors == {"p": probs}
    hook = LoggingTensorHook({"p": "softmax_tensor:0"}, every_n_iter=1)
    hook.begin()
    assert hook._current_tensors == {"p": probs}
    values, indices = ec.nn.top_k(probs, k=2, name="top")
    assert indices.name == "top:1"
    with pytest.raises(ValueError, match="Name top is ambiguous, as this `Operation` has "
                                         r"multiple outputs \(at least 2\)."):
        LoggingTensorHook(["top"], every_n_iter=1).begin()


def test_nan_tensor_hook(model, estcore_log):
    session = FakeSession(model, losses=[1.0, 0.5, float("nan")])
    ends = []

    class End(SessionRunHook):
        def end(self, session):
            ends.append(True)

    with pytest.raises(NanLossDuringTrainingError) as info:
        train_loop(session, [NanTensorHook(model.loss), End()])
    assert str(info.value) == "NaN loss during training."
    assert "Model diverged with loss = NaN." in estcore_log()
    assert ends == []  # no end() (no final checkpoint) after an exception
    session = FakeSession(model, losses=[1.0, float("nan")])
    assert train_loop(session, [NanTensorHook(model.loss, fail_on_nan_loss=False)]) == 2


def test_step_counter_hook(model, estcore_log, tmp_path):
    clock = Clock()
    session = FakeSession(model)
    hook = StepCounterHook(every_n_steps=5, output_dir=str(tmp_path), clock=clock)

    def tick(n):
        clock.t += 0.01

    train_loop(session, [hook, StopAtStepHook(num_steps=20)], per_step=tick)
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
    stuck_op = ec.no_op(name="noop")
    session = FakeSession(model)
    session.extra[stuck_op] = None
    with MonitoredSession(lambda: session, [StepCounterHook(every_n_steps=5)]) as sess:
        for _ in range(10):
            sess.run(stuck_op)
    warnings = [m for m in estcore_log() if m.startswith("It seems that global step")]
    assert len(warnings) == 5


def test_step_counter_warns_when_the_step_stops_moving_later(model, estcore_log):
    """Once the step moved, the hook is due on its timer's step or on the run where a
    step growing by one per run would reach it: a step that stops moving later is
    noticed within one period (TF: from the first stuck run) and then warned about
    every step."""
    stuck_op = ec.no_op(name="noop")
    session = FakeSession(model)
    session.extra[stuck_op] = None
    with MonitoredSession(lambda: session, [StepCounterHook(every_n_steps=3)]) as sess:
        for n in range(12):
            sess.run(model.train if n < 4 else stuck_op)
    warnings = [m for m in estcore_log() if m.startswith("It seems that global step")]
    # step 4 from run 4 on; the hook last triggered at step 4 (run 3): called again at
    # run 6 (would have reached 6), then run 8 sees no move: runs 8-11 warn
    assert len(warnings) == 4
    assert "Current value (could be stable): 4 vs previous value: 4" in warnings[0]


def test_final_ops_and_feed_fn(model):
    session = FakeSession(model)
    final = FinalOpsHook({"l": model.loss})
    feeds = []
    x = ec.placeholder(ec.float32, [], name="x")
    feed = FeedFnHook(lambda: {x: len(feeds)})
    train_loop(session, [final, feed, StopAtStepHook(num_steps=2)])
    assert final.final_ops_values == {"l": pytest.approx(1 / 3)}
    assert all(call[1] == {x: 0} for call in session.calls if call[1])
    assert sum(1 for call in session.calls if call[1]) == 2  # every step

    class Feeder(SessionRunHook):
        def before_run(self, ctx):
            return SessionRunArgs(None, {x: 1})

    with pytest.raises(RuntimeError, match="Same tensor is fed by two hooks."):
        train_loop(FakeSession(model), [Feeder(), Feeder()])
    with pytest.raises(RuntimeError, match="Same tensor is fed by a SessionRunHook and user."):
        with MonitoredSession(lambda: FakeSession(model), [Feeder()]) as sess:
            sess.run(model.train, feed_dict={x: 2})
    with pytest.raises(TypeError, match="feed_fn"):
        FeedFnHook(3)


def test_final_ops_out_of_range_warns(model, estcore_log):
    session = FakeSession(model)
    bad = ec.placeholder(ec.float32, [], name="bad")

    def raise_oor():
        raise OutOfRangeError("again")

    session.extra[bad] = raise_oor
    with pytest.raises(OutOfRangeError):
        FinalOpsHook(bad).end(session)
    assert any(m.startswith("An OutOfRangeError or StopIteration exception is raised")
               for m in estcore_log())


@pytest.mark.parametrize("num_evals, logged", [
    (5, [1, 2, 3, 4, 5]),
    (25, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]),
    (None, list(range(1, 8))),
])
def test_stop_after_n_evals(model, estcore_log, num_evals, logged):
    hook = StopAfterNEvalsHook(num_evals)
    ran = train_loop(FakeSession(model), [hook], max_iters=7 if num_evals is None else 100)
    assert ran == (num_evals or 7)
    total = "" if num_evals is None else f"/{num_evals}"
    assert [m for m in estcore_log() if m.startswith("Evaluation")] == [
        f"Evaluation [{k}{total}]" for k in logged]
    quiet = StopAfterNEvalsHook(30, log_progress=False)
    assert train_loop(FakeSession(model), [quiet]) == 30


EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "cnn_digits_estimator.py"


def _tutorial_model_fn():
    spec = importlib.util.spec_from_file_location("cnn_digits_estimator", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cnn_model_fn


def test_logging_tensor_hook_by_name_on_the_tutorial_cnn(tmp_path, estcore_log):
    """TF's tutorial logs ``{"probabilities": "softmax_tensor"}`` every N iterations:
    the line shows the softmax rows (it showed ``probabilities = None``, and a
    formatter raised TypeError on the None)."""
    rng = np.random.default_rng(0)
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 8).astype(np.int32)
    est = Estimator(_tutorial_model_fn(), model_dir=str(tmp_path),
                    config=RunConfig(tf_random_seed=0, log_step_count_steps=None))
    formatted = []
    hooks = [LoggingTensorHook({"probabilities": "softmax_tensor"}, every_n_iter=2),
             LoggingTensorHook({"p": "softmax_tensor"}, every_n_iter=2,
                               formatter=lambda v: formatted.append(v["p"]) or "formatted")]
    est.train(numpy_input_fn({"x": x}, y, batch_size=4, num_epochs=None, shuffle=False),
              hooks=hooks, steps=3)
    lines = [m for m in estcore_log() if m.startswith("probabilities = ")]
    assert len(lines) == 2  # iterations 0 and 2
    rows = lines[0][len("probabilities = "):].replace("[", " ").replace("]", " ").split()
    probs = np.array(rows, dtype=np.float64).reshape(4, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert len(formatted) == 2 and formatted[0].shape == (4, 10)
    np.testing.assert_allclose(formatted[0].sum(axis=1), 1.0, rtol=1e-5)


def test_logged_steps_of_the_tf_reference_run(tmp_path, estcore_log):
    """TF's reference job logs ``loss = ..., step = N`` at steps 0, 5, 10, 15, then
    20 in the second train() call: the global step a training run fetches is the one
    before the run (it logged 1, 6, 11, 16 and 21)."""
    x, y = data()
    est = Estimator(reference_model_fn, config=reference_config(str(tmp_path)))
    est.train(reference_input_fn(x, y))
    est.train(reference_input_fn(x, y), steps=3)
    steps = [int(m.rsplit("step = ", 1)[1].split()[0]) for m in estcore_log()
             if m.startswith("loss = ")]
    assert steps == [0, 5, 10, 15, 20]


@pytest.mark.parametrize("n, logged", [(3, [1, 2, 3]), (25, [2, 4, 6, 8, 10, 12, 14, 16, 18,
                                                             20, 22, 24, 25])])
def test_stop_after_n_evals_called_by_hand(n, logged, estcore_log):
    hook = StopAfterNEvalsHook(n)
    hook.begin()
    runs = 0
    for runs in itertools.count(1):  # noqa: B007  (runs is read after the loop)
        ctx = SessionRunContext(None, None)  # no iteration: the hook counts its calls
        hook.after_run(ctx, None)
        if ctx.stop_requested:
            break
    assert runs == n
    assert estcore_log() == [f"Evaluation [{k}/{n}]" for k in logged]
