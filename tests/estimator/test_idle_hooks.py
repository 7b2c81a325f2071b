"""The idle protocol: the step runner skips the standard hooks on their quiet steps,
and everything they do is the same as when every hook is called at every step
(``MonitoredSession.run``): log lines, summaries, checkpoints, the stop step."""

from __future__ import annotations

import os

import numpy as np
import pytest

import estcore as ec
from estcore.estimator._session_setup import Feeder
from estcore.estimator.basic_hooks import (
    LoggingTensorHook,
    NanTensorHook,
    StepCounterHook,
    StopAtStepHook,
)
from estcore.estimator.checkpoint_hooks import CheckpointSaverHook, SummarySaverHook
from estcore.estimator.checkpoint_state import get_checkpoint_state
from estcore.estimator.monitored_session import MonitoredSession
from estcore.estimator.session_run_hook import SessionRunArgs, SessionRunHook
from estcore.summary import FileWriterCache, event_files, iter_events


class Clock:
    """A clock the test moves: time-bound sleeps become deterministic."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Jump(SessionRunHook):
    """At the given calls, adds to the global step from inside after_run (as another
    worker would), which breaks the hooks' one-per-step prediction."""

    def __init__(self, at, by):
        self.at, self.by, self.n = set(at), by, 0

    def begin(self):
        gs = ec.train.get_global_step()
        self.jump = gs.assign_add(ec.constant(self.by, ec.int64))

    def after_run(self, run_context, run_values):
        self.n += 1
        if self.n in self.at:
            run_context.session.run(self.jump)


class Spy(SessionRunHook):
    """Records the global step it is given at every step (it never sleeps)."""

    def __init__(self):
        self.seen, self.asleep, self.sleepers = [], [], None

    def begin(self):
        self.args = SessionRunArgs(ec.train.get_global_step())

    def before_run(self, run_context):
        return self.args

    def after_run(self, run_context, run_values):
        self.seen.append(int(run_values.results))
        if self.sleepers is not None:
            self.asleep.append(len(self.sleepers.asleep))


def _train(path, model_dir, secs, jumps, steps_per_batch_clock, log):
    graph = ec.Graph()
    with graph.as_default():
        gs = ec.train.get_or_create_global_step()
        x = ec.placeholder(ec.float32, [None, 2], name="x")
        y = ec.placeholder(ec.float32, [None], name="y")
        w = ec.get_variable("w", [2, 1], initializer=ec.ones_initializer())
        loss = ec.reduce_mean(ec.square(ec.reshape(x @ w, [-1]) - y))
        train = ec.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=gs)
        summary = ec.summary.scalar("loss", loss)
        init = [v.initializer for v in ec.global_variables()]
        clock = Clock()
        if secs:
            timing = [dict(every_n_secs=3.0), dict(save_secs=4.0),
                      dict(every_n_steps=None, every_n_secs=5.0),
                      dict(save_secs=7.0)]
        else:
            timing = [dict(every_n_iter=3), dict(save_steps=4), dict(every_n_steps=5),
                      dict(save_steps=7)]
        spy = Spy()
        hooks = [NanTensorHook(loss),
                 LoggingTensorHook({"loss": loss, "step": gs}, clock=clock, **timing[0]),
                 SummarySaverHook(output_dir=model_dir, summary_op=summary, clock=clock,
                                  **timing[1]),
                 StepCounterHook(output_dir=model_dir, clock=clock, **timing[2]),
                 CheckpointSaverHook(model_dir, clock=clock, **timing[3]),
                 StopAtStepHook(last_step=40),
                 LoggingTensorHook({"w": w}, at_end=True),
                 Jump(jumps, 6), spy]
    sess = ec.Session(graph=graph)
    sess.run(init)
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 2)).astype(np.float32),
                rng.normal(size=4).astype(np.float32)) for _ in range(50)]
    steps = 0
    with graph.as_default(), MonitoredSession(lambda: sess, hooks) as mon:
        step = mon.step_runner([train, loss], Feeder(x, y))
        spy.sleepers = mon._hooked._sleepers if path == "step" else None
        for xb, yb in batches:
            if mon.should_stop():
                break
            clock.t += steps_per_batch_clock
            if path == "run":
                mon.run([train, loss], {x: xb, y: yb})
            else:
                step(xb, yb)
            steps += 1
            if steps == 17:  # a run() in between (the step path wakes its sleepers first)
                mon.run(loss, {x: xb, y: yb})
        sleepers = mon._hooked._sleepers
    FileWriterCache.clear()
    events = [(e.step, e.summary[0].tag if e.summary else e.session_log.status)
              for f in event_files(model_dir) for e in iter_events(f) if e.file_version is None]
    ckpts = [os.path.basename(p) for p in
             get_checkpoint_state(model_dir).all_model_checkpoint_paths]
    lines = [m for m in log() if not m.startswith(("Saving", "Calling", "Restoring"))]
    return dict(steps=steps, events=events, ckpts=ckpts, lines=lines, seen=spy.seen,
                asleep=spy.asleep), sleepers


@pytest.mark.parametrize("secs", [False, True], ids=["steps", "secs"])
@pytest.mark.parametrize("jumps", [(), (9, 22)], ids=["steady", "jumps"])
def test_skipping_idle_hooks_changes_nothing(tmp_path, estcore_log, secs, jumps):
    got = {}
    for path in ("run", "step"):
        n_before = len(estcore_log())

        def log(n_before=n_before):
            return estcore_log()[n_before:]

        got[path], sleepers = _train(path, str(tmp_path / path), secs, jumps, 1.0, log)
        if path == "step":
            assert sleepers is not None and sleepers.done >= 20
    run, step = got["run"], got["step"]
    assert run["lines"] and run["events"] and len(run["ckpts"]) > 2
    assert max(step["asleep"]) >= 4  # the hooks did sleep
    for key in ("steps", "events", "ckpts", "lines", "seen"):
        assert step[key] == run[key], key


def test_the_standard_hooks_sleep_on_quiet_steps(tmp_path, estcore_log):
    got, sleepers = _train("step", str(tmp_path / "a"), False, (), 1.0, estcore_log)
    asleep = got["asleep"]  # hooks asleep at each spy call (40 steps and one run())
    assert len(asleep) == 41 and max(asleep) == 6  # all but NanTensorHook, Jump and the spy
    assert sum(n >= 4 for n in asleep) > 20
    assert not sleepers.asleep  # all woken before end()


def test_a_hook_changed_by_the_user_is_called_every_step(tmp_path, estcore_log):
    """Subclasses overriding a per-step method, methods set on the instance and timers
    of another kind opt out of the protocol."""
    from estcore.estimator.basic_hooks import SecondOrStepTimer
    from estcore.estimator.session_run_hook import owns_idle_protocol

    class Counting(StepCounterHook):
        def after_run(self, run_context, run_values):
            super().after_run(run_context, run_values)

    class Quiet(StepCounterHook):  # only _log_and_record (a trigger-step method) changed
        def _log_and_record(self, elapsed_steps, elapsed_time, global_step):
            pass

    class OddTimer(SecondOrStepTimer):
        def should_trigger_for_step(self, step):
            return step % 2 == 1

    assert not owns_idle_protocol(Counting(), StepCounterHook)
    assert owns_idle_protocol(Quiet(), StepCounterHook)
    hook = StepCounterHook()
    hook.after_run = lambda run_context, run_values: None
    assert not owns_idle_protocol(hook, StepCounterHook)
    logging_hook = LoggingTensorHook({"a": "a"}, every_n_iter=5)
    logging_hook._timer = OddTimer(every_steps=5)
    logging_hook._timer.update_last_triggered_step(0)
    logging_hook._iter_count = 2
    assert logging_hook._idle(None) is None
    logging_hook._timer = SecondOrStepTimer(every_steps=5)
    logging_hook._timer.update_last_triggered_step(0)
    assert logging_hook._idle(None).steps == 3  # iterations 2, 3, 4 are quiet
