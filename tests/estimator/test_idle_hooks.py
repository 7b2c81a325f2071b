"""The idle protocol: the step runner skips the standard hooks on their quiet steps,
and everything they do is the same as when every hook is called at every step
(``MonitoredSession.run``): log lines, summaries, checkpoints, the stop step, and the
hooks' own state at ``end()``."""

from __future__ import annotations

import os

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.state import get_checkpoint_state
from estcore.errors import OutOfRangeError
from estcore.estimator._session_setup import Feeder
from estcore.estimator.monitored_session import MonitoredSession
from estcore.hooks.basic_hooks import (
    LoggingTensorHook,
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
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook, owns_idle_protocol
from estcore.summary import FileWriterCache, event_files, iter_events

from .tiny_model import linear_model


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
        self.jump = ec.train.get_global_step().assign_add(ec.constant(self.by, ec.int64))

    def after_run(self, run_context, run_values):
        self.n += 1
        if self.n in self.at:
            run_context.session.run(self.jump)


class Raise(SessionRunHook):
    """Raises ``error`` from its after_run at the given call."""

    def __init__(self, at, error):
        self.at, self.error, self.n = at, error, 0

    def after_run(self, run_context, run_values):
        self.n += 1
        if self.n == self.at:
            raise self.error


class Spy(SessionRunHook):
    """Records the global step it is given at every step (it never sleeps) and how
    many hooks were asleep meanwhile."""

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


class State(SessionRunHook):
    """At end(): the counters and flags of the given hooks."""

    def __init__(self, hooks):
        self.hooks, self.state = hooks, None

    def end(self, session):
        keys = ("_iter_count", "_should_trigger", "_next_step", "_request_summary",
                "_last_global_step", "_last_step")
        self.state = [{k: getattr(h, k) for k in keys if hasattr(h, k)} | (
            {"timer": (h._timer._last_triggered_step, h._timer._last_triggered_time)}
            if hasattr(h, "_timer") else {}) for h in self.hooks]


def _standard(m, secs, jumps, extra=()):
    clock, d = m["clock"], m["model_dir"]
    if secs:
        timing = [dict(every_n_secs=5.0), dict(save_secs=6.0),
                  dict(every_n_steps=None, every_n_secs=7.0), dict(save_secs=9.0)]
    else:
        timing = [dict(every_n_iter=5), dict(save_steps=6), dict(every_n_steps=7),
                  dict(save_steps=9)]
    hooks = [NanTensorHook(m["loss"]),
             LoggingTensorHook({"loss": m["loss"], "step": m["gs"]}, clock=clock, **timing[0]),
             SummarySaverHook(output_dir=d, summary_op=m["summary"], clock=clock, **timing[1]),
             StepCounterHook(output_dir=d, clock=clock, **timing[2]),
             CheckpointSaverHook(d, clock=clock, **timing[3]),
             StopAtStepHook(last_step=40),
             LoggingTensorHook({"w": m["w"]}, at_end=True, clock=clock),
             Jump(jumps, 6), *extra]
    return hooks


def _train(path, model_dir, make_hooks, log, run_at=17):
    """Trains 50 batches (or until stopped) calling every hook every step (``run``)
    or through the step runner (``step``); returns everything observable."""
    m = linear_model()
    graph, sess, gs, x, y, loss, train = m.graph, m.sess, m.gs, m.x, m.y, m.loss, m.train
    with graph.as_default():
        summary = ec.summary.scalar("loss", loss)
    clock = Clock()
    hooks = make_hooks(dict(gs=gs, loss=loss, w=m.w, summary=summary, clock=clock,
                            model_dir=model_dir))
    spy, state = Spy(), State(list(hooks))
    hooks = hooks + [spy, state]
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 2)).astype(np.float32),
                rng.normal(size=4).astype(np.float32)) for _ in range(50)]
    steps, error, sleepers = 0, None, None
    try:
        with graph.as_default(), MonitoredSession(lambda: sess, hooks) as mon:
            step = mon.step_runner([train, loss], Feeder(x, y))
            sleepers = mon._hooked._sleepers
            spy.sleepers = sleepers if path == "step" else None
            for xb, yb in batches:
                if mon.should_stop():
                    break
                clock.t += 1.0
                if path == "run":
                    mon.run([train, loss], {x: xb, y: yb})
                else:
                    step(xb, yb)
                steps += 1
                if steps == run_at:  # a run() in between: the step path wakes its sleepers
                    mon.run(loss, {x: xb, y: yb})
    except Exception as e:  # noqa: BLE001 - compared between the two paths
        error = repr(e)
    FileWriterCache.clear()
    events = [(e.step, e.summary[0].tag if e.summary else e.session_log.status)
              for f in event_files(model_dir) for e in iter_events(f) if e.file_version is None]
    st = get_checkpoint_state(model_dir)
    ckpts = [os.path.basename(p) for p in st.all_model_checkpoint_paths] if st else []
    lines = [m for m in log() if not m.startswith(("Saving", "Calling", "Restoring"))]
    hook_state = state.state if state.state is not None else [
        {k: v for k, v in vars(h).items() if k in ("_iter_count", "_next_step",
                                                    "_last_global_step")}
        for h in hooks]
    return dict(steps=steps, events=events, ckpts=ckpts, lines=lines, seen=spy.seen,
                error=error, state=hook_state, asleep=spy.asleep), sleepers


def _compare(tmp_path, estcore_log, make_hooks, **kw):
    got = {}
    for path in ("run", "step"):
        n_before = len(estcore_log())
        got[path], sleepers = _train(path, str(tmp_path / path), make_hooks,
                                     lambda n=n_before: estcore_log()[n:], **kw)
    run, step = got["run"], got["step"]
    for key in ("steps", "events", "ckpts", "lines", "seen", "error", "state"):
        assert step[key] == run[key], key
    assert not sleepers.asleep  # all woken by the end (or the error)
    return run, step


@pytest.mark.parametrize("secs", [False, True], ids=["steps", "secs"])
@pytest.mark.parametrize("jumps", [(), (9, 22)], ids=["steady", "jumps"])
def test_skipping_idle_hooks_changes_nothing(tmp_path, estcore_log, secs, jumps):
    run, step = _compare(tmp_path, estcore_log, lambda m: _standard(m, secs, jumps))
    assert run["lines"] and run["events"] and len(run["ckpts"]) > 2 and run["steps"] >= 20
    assert max(step["asleep"]) >= 5  # the hooks did sleep


def test_the_standard_hooks_sleep_on_quiet_steps(tmp_path, estcore_log):
    run, step = _compare(tmp_path, estcore_log, lambda m: _standard(m, False, ()))
    asleep = step["asleep"]  # hooks asleep at each spy call (40 steps and one run())
    assert len(asleep) == 41 and max(asleep) >= 5  # of the 6 (not NanTensorHook, Jump)
    assert sum(n >= 4 for n in asleep) > 20


def test_a_clock_moved_by_an_earlier_hook_is_seen_where_the_hook_reads_it(tmp_path,
                                                                         estcore_log):
    """A listener's slow save (here: a fake clock moved by 10 s) comes before a
    seconds-timed hook in the same step: that hook must fire in that same step."""

    class Slow(CheckpointSaverListener):
        def __init__(self, clock):
            self.clock = clock

        def after_save(self, session, global_step_value):
            self.clock.t += 10.0

    def hooks(m):
        clock = m["clock"]
        return [CheckpointSaverHook(m["model_dir"], save_steps=7, clock=clock,
                                    listeners=[Slow(clock)]),
                StepCounterHook(every_n_steps=None, every_n_secs=5.0, clock=clock,
                                output_dir=m["model_dir"]),
                LoggingTensorHook({"step": m["gs"]}, every_n_secs=8.0, clock=clock),
                # logs at step 6, asleep at 7 until the save's 10 s pass: woken for its
                # after_run of step 7, which must not log again
                LoggingTensorHook({"loss": m["loss"]}, every_n_secs=5.0, clock=clock),
                SummarySaverHook(save_secs=9.0, output_dir=m["model_dir"],
                                 summary_op=m["summary"], clock=clock),
                StopAtStepHook(last_step=30)]

    _compare(tmp_path, estcore_log, hooks)


def test_a_hook_listed_twice_is_called_every_step(tmp_path, estcore_log):
    def hooks(m):
        logging = LoggingTensorHook({"step": m["gs"]}, every_n_iter=5, clock=m["clock"])
        counter = StepCounterHook(every_n_steps=5, clock=m["clock"])
        return [logging, counter, logging, counter, StopAtStepHook(last_step=25)]

    _compare(tmp_path, estcore_log, hooks)


@pytest.mark.parametrize("error", [OutOfRangeError(None, None, "end of input"),
                                   RuntimeError("boom")], ids=["end-of-input", "error"])
def test_an_error_in_an_after_run_leaves_every_hook_as_the_every_step_loop(
        tmp_path, estcore_log, error):
    """Hooks placed before and after the failing one, asleep or just fallen asleep:
    their counters are exact at end() (end of input) or afterwards (an error)."""
    def hooks(m):
        return [LoggingTensorHook({"step": m["gs"]}, every_n_iter=5, at_end=True,
                                  clock=m["clock"]),
                StepCounterHook(every_n_steps=6, clock=m["clock"]),
                Raise(13, error),
                SummarySaverHook(save_steps=5, output_dir=m["model_dir"],
                                 summary_op=m["summary"], clock=m["clock"]),
                StepCounterHook(every_n_steps=9, clock=m["clock"])]

    run, _ = _compare(tmp_path, estcore_log, hooks)
    assert run["steps"] == 12 and (run["error"] is None) == isinstance(error, OutOfRangeError)


def test_flags_at_end_are_as_left_by_the_last_call(tmp_path, estcore_log):
    """A hook that triggered on the last step and fell asleep keeps its flags."""
    def hooks(m):
        return [LoggingTensorHook({"step": m["gs"]}, every_n_iter=7, at_end=True,
                                  clock=m["clock"]),
                SummarySaverHook(save_steps=7, output_dir=m["model_dir"],
                                 summary_op=m["summary"], clock=m["clock"]),
                StopAtStepHook(last_step=15)]

    run, _ = _compare(tmp_path, estcore_log, hooks, run_at=None)
    assert run["state"][0]["_should_trigger"] is True


def test_a_hook_changed_by_the_user_is_called_every_step():
    """Subclasses overriding a per-step method, methods set on the instance and timers
    of another kind opt out of the protocol."""

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
