"""The declared hook schedule: ``Due``, which hooks declare one, the schedule's
bookkeeping, and, for every standard hook, that being called only when due gives
exactly what calling it every step gives (log lines, events, checkpoints, the stop
step), with a real Session."""

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
    StepCounterHook,
    StopAfterNEvalsHook,
    StopAtStepHook,
)
from estcore.hooks.checkpoint_hooks import CheckpointSaverHook, SummarySaverHook
from estcore.hooks.early_stopping import make_early_stopping_hook
from estcore.hooks.progress import ProgressBarHook
from estcore.hooks.schedule import (
    Due,
    HookSchedule,
    NeverTriggerTimer,
    SecondOrStepTimer,
    declares_schedule,
)
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook
from estcore.summary import FileWriterCache, event_files, iter_events

from ..estimator.tiny_model import linear_model
from .fakes import Clock

pytestmark = pytest.mark.smoke


# ------------------------------------------------------------------ the pieces


def test_due_bounds():
    clock = Clock(10.0)
    assert not Due().reached(5, 5)  # no bound: never
    assert Due(step=5).reached(5, 0) and not Due(step=5).reached(4, 100)
    assert Due(step=5).reached(None, 0)  # no global step: a step bound counts as reached
    assert Due(iteration=3).reached(0, 3) and not Due(iteration=3).reached(100, 2)
    assert not Due(time=11.0, clock=clock).reached(0, 0)
    clock.t = 11.0
    assert Due(time=11.0, clock=clock).reached(0, 0)
    assert Due(step=100, iteration=2).reached(0, 2)  # any bound


def test_timer_next_due():
    clock = Clock()
    steps = SecondOrStepTimer(every_steps=5, clock=clock)
    assert steps.next_due() is None  # not triggered yet: due now
    steps.update_last_triggered_step(7)
    assert steps.next_due() == Due(step=12)
    assert steps.next_due(lead=1) == Due(step=11)
    assert steps.next_due(by="iteration") == Due(iteration=12)
    secs = SecondOrStepTimer(every_secs=30, clock=clock)
    secs.update_last_triggered_step(7)
    assert secs.next_due() == Due(time=130.0, clock=clock)
    assert NeverTriggerTimer().next_due() == Due()


class _Plain(SessionRunHook):
    def before_run(self, run_context):
        return None


class _Declared(_Plain):
    def next_due(self):
        return Due(iteration=3)


class _OverridesAfterRun(_Declared):
    def after_run(self, run_context, run_values):
        pass


class _RedeclaresToo(_OverridesAfterRun):
    def next_due(self):
        return Due()


def test_declares_schedule_by_where_the_methods_are_defined():
    assert declares_schedule(SessionRunHook())  # (its next_due answers None: every step)
    assert not declares_schedule(_Plain())  # a before_run of its own, next_due inherited
    assert declares_schedule(_Declared())
    assert not declares_schedule(_OverridesAfterRun())
    assert declares_schedule(_RedeclaresToo())
    on_instance = _Declared()
    on_instance.before_run = lambda run_context: None
    assert not declares_schedule(on_instance)
    assert declares_schedule(LoggingTensorHook({"a": "a"}, every_n_iter=2))

    class Quiet(StepCounterHook):  # only a helper changed: keeps the schedule
        def _log_and_record(self, elapsed_steps, elapsed_time, global_step):
            pass

    class Counting(StepCounterHook):
        def after_run(self, run_context, run_values):
            super().after_run(run_context, run_values)

    assert declares_schedule(Quiet()) and not declares_schedule(Counting())


class _Due(SessionRunHook):
    """Answers the Dues it is given, in turn, and records the iterations it ran on."""

    def __init__(self, *dues):
        self.dues, self.ran = list(dues), []

    def after_run(self, run_context, run_values):
        self.ran.append(run_context.iteration)

    def next_due(self):
        return self.dues.pop(0) if self.dues else None


def _drive(schedule, steps, names, clock=None):
    """Run the schedule over ``steps`` (the global step before each run; the clock
    shows the run's index); returns the names of the hooks due on each run."""
    seen = []
    for iteration, step in enumerate(steps):
        if clock is not None:
            clock.t = float(iteration)
        group = schedule.hooks_due(step, iteration)
        seen.append([names[id(h)] for h in group.hooks])
        ctx = SessionRunContext(SessionRunArgs(None), None, iteration)
        for after in group.afters:
            after(ctx, None)
        schedule.ran(group)
    return seen


def test_schedule_calls_each_hook_on_the_run_its_due_names():
    clock = Clock(0.0)
    every = _Due()  # None: every run
    by_step = _Due(Due(step=10), Due(step=12))
    by_iteration = _Due(Due(iteration=2), Due(iteration=6), Due())
    by_time = _Due(Due(time=3.0, clock=clock))
    inert = SessionRunHook()  # nothing to do per run: left out
    schedule = HookSchedule([every, by_step, by_iteration, by_time, inert], SessionRunHook)
    names = {id(every): "every", id(by_step): "step", id(by_iteration): "iteration",
             id(by_time): "time"}
    seen = _drive(schedule, [0, 1, 2, 3, 10, 11, 12, 13], names, clock)
    assert every.ran == list(range(8))
    assert by_step.ran == [4, 6, 7]  # steps 10 (then waits for 12), 12, and every run after
    assert by_iteration.ran == [2, 6]  # then never (Due())
    assert by_time.ran == [3, 4, 5, 6, 7]
    assert seen[0] == ["every"] and seen[4] == ["every", "step", "time"]


def test_without_a_global_step_step_bounds_count_as_reached():
    hook = _Due(Due(step=1000), Due(step=1000), Due(iteration=3))
    schedule = HookSchedule([hook], SessionRunHook, has_global_step=False)
    _drive(schedule, [None] * 6, {id(hook): "h"})
    assert hook.ran == [0, 1, 3, 4, 5]


def test_progress_bar_counts_iterations():
    class Bar:
        n = 0

        def update(self, k):
            self.n += k

        def close(self):
            pass

    hook = ProgressBarHook("train", 10)
    assert hook.next_due() == Due()  # no bar (tqdm missing or not a terminal)
    hook._bar = Bar()
    hook.after_run(SessionRunContext(SessionRunArgs(None), None, 6), None)
    assert hook._bar.n == 7
    due = hook.next_due()
    assert due.time is not None and not due.reached(0, 8)
    assert due.reached(0, 9)  # the last of the 10 runs is always shown


# ------------------------------------------------------------------ scheduled == every step


class Jump(SessionRunHook):
    """At the given calls, adds to the global step from inside after_run (as another
    worker would)."""

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


def _counted(hook, scheduled):
    """``hook`` as an instance of a subclass that counts its after_run calls and keeps
    its schedule (``scheduled``) or, defining after_run alone, runs every step."""
    cls = type(hook)

    def after_run(self, run_context, run_values):
        self.calls += 1
        cls.after_run(self, run_context, run_values)

    members = {"after_run": after_run}
    if scheduled:
        members["next_due"] = cls.next_due
    hook.__class__ = type(cls.__name__, (cls,), members)
    hook.calls = 0
    return hook


def _train(scheduled, model_dir, make_hooks, log, run_at=17):
    """Trains 50 batches of the tiny model (or until stopped) through a step runner,
    with a plain run() at step ``run_at``; returns everything observable."""
    m = linear_model()
    with m.graph.as_default():
        summary = ec.summary.scalar("loss", m.loss)
    clock = Clock(1000.0)
    hooks = make_hooks(dict(gs=m.gs, loss=m.loss, w=m.w, summary=summary, clock=clock,
                            model_dir=model_dir))
    standard = (LoggingTensorHook, SummarySaverHook, StepCounterHook, CheckpointSaverHook,
                StopAtStepHook, StopAfterNEvalsHook, type(make_early_stopping_hook(
                    None, lambda: False)))
    hooks = [_counted(h, scheduled) if isinstance(h, standard) else h for h in hooks]
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 2)).astype(np.float32),
                rng.normal(size=4).astype(np.float32)) for _ in range(50)]
    steps, error = 0, None
    global_step = m.sess.variable_storage(m.gs)  # (readable after the session closes)
    try:
        with m.graph.as_default(), MonitoredSession(lambda: m.sess, hooks) as mon:
            step = mon.step_runner([m.train, m.loss], Feeder(m.x, m.y))
            for xb, yb in batches:
                if mon.should_stop():
                    break
                clock.t += 1.0
                step(xb, yb)
                steps += 1
                if steps == run_at:  # a run() in between: same hooks, same schedule
                    mon.run(m.loss, {m.x: xb, m.y: yb})
    except Exception as e:  # noqa: BLE001 - compared between the two ways
        error = repr(e)
    FileWriterCache.clear()
    events = [(e.step, e.summary[0].tag if e.summary else e.session_log.status)
              for f in event_files(model_dir) for e in iter_events(f)
              if e.file_version is None and e.graph_def is None]
    st = get_checkpoint_state(model_dir)
    ckpts = [os.path.basename(p) for p in st.all_model_checkpoint_paths] if st else []
    lines = _without_stuck_warnings([line.replace(model_dir, "<dir>") for line in log()])
    calls = [h.calls for h in hooks if hasattr(h, "calls")]
    return dict(steps=steps, events=events, ckpts=ckpts, lines=lines, error=error,
                final_step=global_step.item(), calls=calls)


def _compare(tmp_path, estcore_log, make_hooks, **kw):
    """The same training with the hooks called every step and on their schedule: all
    that is observable is equal; returns both."""
    got = {}
    for scheduled in (False, True):
        n_before = len(estcore_log())
        got[scheduled] = _train(scheduled, str(tmp_path / str(scheduled)), make_hooks,
                                lambda n=n_before: estcore_log()[n:], **kw)
    every, sched = got[False], got[True]
    for key in ("steps", "events", "ckpts", "lines", "error", "final_step"):
        assert sched[key] == every[key], key
    return every, sched


_STUCK = "It seems that global step"


def _without_stuck_warnings(lines):
    """StepCounterHook warns when the global step did not move between two of its
    calls; once it has seen the step move it is called on its due runs only, so a
    run that does not move the step (the run() at step 17) goes unnoticed there."""
    return [line for line in lines if not line.startswith(_STUCK)]


def _standard(m, secs, jumps):
    clock, d = m["clock"], m["model_dir"]
    if secs:
        timing = [dict(every_n_secs=5.0), dict(save_secs=6.0),
                  dict(every_n_steps=None, every_n_secs=7.0), dict(save_secs=9.0)]
    else:
        timing = [dict(every_n_iter=5), dict(save_steps=6), dict(every_n_steps=7),
                  dict(save_steps=9)]
    return [NanTensorHook(m["loss"]),
            LoggingTensorHook({"loss": m["loss"], "step": m["gs"]}, clock=clock, **timing[0]),
            SummarySaverHook(output_dir=d, summary_op=m["summary"], clock=clock, **timing[1]),
            StepCounterHook(output_dir=d, clock=clock, **timing[2]),
            CheckpointSaverHook(d, clock=clock, **timing[3]),
            StopAtStepHook(last_step=40),
            LoggingTensorHook({"w": m["w"]}, at_end=True, clock=clock),
            Jump(jumps, 6)]


@pytest.mark.parametrize("secs", [False, True], ids=["steps", "secs"])
@pytest.mark.parametrize("jumps", [(), (9, 22)], ids=["steady", "jumps"])
def test_the_schedule_changes_nothing_but_the_calls(tmp_path, estcore_log, secs, jumps):
    every, sched = _compare(tmp_path, estcore_log, lambda m: _standard(m, secs, jumps))
    assert every["lines"] and every["events"] and len(every["ckpts"]) >= 2
    assert every["steps"] >= 20
    # every step: each standard hook once per run; on its schedule: far fewer
    assert all(n == every["steps"] + 1 for n in every["calls"])
    assert sum(sched["calls"]) < sum(every["calls"]) / 2


def test_each_hook_alone(tmp_path, estcore_log):
    """One standard hook at a time, with periods that do not divide each other."""
    makers = [
        lambda m: [LoggingTensorHook({"step": m["gs"]}, every_n_iter=3, at_end=True,
                                     clock=m["clock"])],
        lambda m: [SummarySaverHook(save_steps=4, output_dir=m["model_dir"],
                                    summary_op=m["summary"], clock=m["clock"])],
        lambda m: [SummarySaverHook(save_steps=1, output_dir=m["model_dir"],
                                    summary_op=m["summary"], clock=m["clock"])],
        lambda m: [StepCounterHook(every_n_steps=3, output_dir=m["model_dir"],
                                   clock=m["clock"])],
        lambda m: [CheckpointSaverHook(m["model_dir"], save_steps=4, clock=m["clock"])],
        lambda m: [StopAtStepHook(num_steps=13)],
        lambda m: [StopAfterNEvalsHook(25)],
        lambda m: [make_early_stopping_hook(None, lambda: m["clock"]() > 1030,
                                            run_every_secs=None, run_every_steps=4)],
    ]
    for i, make in enumerate(makers):
        _compare(tmp_path / str(i), estcore_log, make)


def test_a_clock_moved_during_a_run_is_seen_when_the_next_run_starts(tmp_path,
                                                                    estcore_log):
    """Time bounds are checked as a run starts: a seconds timer whose time passes
    during a run (here a listener's 'slow save' moves the clock by 10 s) acts on the
    next run (TF's after_run would read its clock after the save, one run earlier)."""
    from estcore.hooks.checkpoint_hooks import CheckpointSaverListener

    class Slow(CheckpointSaverListener):
        def __init__(self, clock):
            self.clock = clock

        def after_save(self, session, global_step_value):
            self.clock.t += 10.0

    def hooks(m):
        return [CheckpointSaverHook(m["model_dir"], save_steps=7, clock=m["clock"],
                                    listeners=[Slow(m["clock"])]),
                StepCounterHook(every_n_steps=None, every_n_secs=5.0, clock=m["clock"],
                                output_dir=m["model_dir"]),
                StopAtStepHook(last_step=10)]

    for scheduled in (False, True):
        n = len(estcore_log())
        got = _train(scheduled, str(tmp_path / str(scheduled)), hooks,
                     lambda n=n: estcore_log()[n:])
        rates = [e[0] for e in got["events"] if e[1] == "global_step/sec"]
        # 5 s after step 1 at step 6; then the save at step 7 moves the clock past the
        # next bound: every step, the rate is written in that same run's after_run
        assert rates == ([6, 8] if scheduled else [6, 7])


@pytest.mark.parametrize("error", [OutOfRangeError(None, None, "end of input"),
                                   RuntimeError("boom")], ids=["end-of-input", "error"])
def test_an_error_in_an_after_run(tmp_path, estcore_log, error):
    """An end of input raised in an after_run ends the loop normally (end() logs and
    saves as the every-step loop's); another error propagates, nothing at the end."""
    def hooks(m):
        return [LoggingTensorHook({"step": m["gs"]}, every_n_iter=5, at_end=True,
                                  clock=m["clock"]),
                StepCounterHook(every_n_steps=6, clock=m["clock"]),
                Raise(13, error),
                SummarySaverHook(save_steps=5, output_dir=m["model_dir"],
                                 summary_op=m["summary"], clock=m["clock"]),
                CheckpointSaverHook(m["model_dir"], save_steps=5, clock=m["clock"])]

    every, _ = _compare(tmp_path, estcore_log, hooks)
    assert every["steps"] == 12 and (every["error"] is None) == isinstance(error,
                                                                           OutOfRangeError)
