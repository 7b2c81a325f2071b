"""When hooks are due: the declared hook schedule, and TF's timers.

Owns :class:`Due` (what ``SessionRunHook.next_due()`` returns, estcore's one addition
to TF's hook protocol), :func:`declares_schedule` (whether a hook's ``next_due``
speaks for its ``before_run`` / ``after_run``), :class:`HookSchedule` (which of a
loop's hooks are due on each run) and TF's ``SecondOrStepTimer`` /
``NeverTriggerTimer``, which the standard hooks turn into a ``Due``.

The rule a loop follows: a hook's ``next_due()`` is asked right after
``after_create_session`` and after each run that called it. ``None`` means "call me
on the next run" (the base class's answer, so a hook that declares nothing runs every
step, as in TF). A :class:`Due` means "do not call my ``before_run`` / ``after_run``
until the first run where one of its bounds is reached". Nothing is replayed: a hook
that skips runs must derive its counters from the global step it fetches or from
``run_context.iteration``, never from counting its calls.

Must not: run a session, or know about the Estimator or the hooked session's fetch
layout (``estcore.estimator.monitored_session`` uses this module, not the reverse).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

__all__ = ["Due", "declares_schedule", "HookSchedule", "SecondOrStepTimer",
           "NeverTriggerTimer"]


class Due(NamedTuple):
    """When a hook is next due: on the first run where any of its bounds is reached.

    Attributes:
        step: the global step, read before the run, is ``>= step``.
        iteration: the run's ``run_context.iteration`` (0-based index of the run in
            its loop) is ``>= iteration``.
        time: ``clock()``, read before the run, is ``>= time``.
        clock: the clock of ``time`` (``time.time`` by default).

    ``Due()`` (no bound) is never: the hook is not called again before ``end()``.
    """

    step: int | None = None
    iteration: int | None = None
    time: float | None = None
    clock: Callable[[], float] = _time.time

    def reached(self, step: int | None, iteration: int) -> bool:
        """Whether a run at ``step`` (None: the graph has no global step, so a step
        bound counts as reached) and ``iteration`` is due."""
        return ((self.step is not None and (step is None or step >= self.step))
                or (self.iteration is not None and iteration >= self.iteration)
                or (self.time is not None and self.clock() >= self.time))


def _defined_at(hook: Any, name: str) -> int:
    """How far down ``type(hook).__mro__`` method ``name`` is defined (0: the class itself)."""
    return next(i for i, cls in enumerate(type(hook).__mro__) if name in vars(cls))


def declares_schedule(hook: Any) -> bool:
    """True if ``hook.next_due`` speaks for its ``before_run`` and ``after_run``.

    That is when ``next_due`` is defined in the class that defines them, or in a
    subclass of it. A subclass that overrides ``before_run`` or ``after_run`` without
    overriding ``next_due`` (or any of them set on the instance) is called every step.
    """
    if {"before_run", "after_run", "next_due"} & getattr(hook, "__dict__", {}).keys():
        return False
    due = _defined_at(hook, "next_due")
    return due <= _defined_at(hook, "before_run") and due <= _defined_at(hook, "after_run")


def _acts_per_run(hook: Any, base: type) -> bool:
    """False if ``hook``'s before_run and after_run are both ``base``'s no-ops."""
    own = getattr(hook, "__dict__", {})
    return ("before_run" in own or "after_run" in own
            or type(hook).before_run is not base.before_run
            or type(hook).after_run is not base.after_run)


class HookGroup:
    """The hooks due on a run, in the loop's hook order.

    Attributes:
        hooks: the hooks.
        befores / afters: their bound ``before_run`` / ``after_run`` methods.
        scheduled: ``(index, next_due)`` for those that declare a schedule.
    """

    def __init__(self, hooks: Sequence[Any], indices: Sequence[int], scheduled: Sequence[bool]):
        self.hooks = tuple(hooks[i] for i in indices)
        self.befores = tuple(h.before_run for h in self.hooks)
        self.afters = tuple(h.after_run for h in self.hooks)
        self.scheduled = tuple((i, hooks[i].next_due) for i in indices if scheduled[i])


class HookSchedule:
    """Which of a loop's hooks are due on each run.

    Every hook is either due (called on the next run) or waiting for the
    :class:`Due` its ``next_due()`` returned. Before each run the loop asks
    :meth:`hooks_due`; it re-sorts the hooks only when the global step or the
    iteration reaches the smallest bound, a clock passes the earliest time, or a
    hook has just returned a new ``Due`` (otherwise it costs a few comparisons).
    After the run the loop calls :meth:`ran`.

    Args:
        hooks: the loop's hooks, in calling order. Hooks whose ``before_run`` and
            ``after_run`` are both the base class's do nothing per run and are left
            out.
        base: the protocol's base class (``SessionRunHook``).
        has_global_step: False when the graph has no global step: every step bound
            then counts as reached (a hook that waits for a step is called every run).
    """

    def __init__(self, hooks: Sequence[Any], base: type, has_global_step: bool = True):
        self._hooks = [h for h in hooks if _acts_per_run(h, base)]
        self._scheduled = [declares_schedule(h) for h in self._hooks]
        self._has_global_step = has_global_step
        self._waiting: dict[int, Due] = {}  # hook index -> the Due it waits for
        self._groups: dict[tuple[int, ...], HookGroup] = {}
        self._group: HookGroup | None = None
        self._changed = True  # the due hooks are sorted out before the first run
        self._next_step = self._next_iteration = math.inf
        self._next_times: list[tuple[Callable[[], float], float]] = []
        for i, hook in enumerate(self._hooks):
            if self._scheduled[i]:
                self._wait(i, hook.next_due())

    def hooks_due(self, step: int | None, iteration: int) -> HookGroup:
        """The hooks to call on the run numbered ``iteration`` (0-based), the global
        step being ``step`` before it (None without a global step)."""
        if (self._changed or iteration >= self._next_iteration
                or (step is not None and step >= self._next_step) or self._time_reached()):
            self._regroup(step, iteration)
        return self._group  # type: ignore[return-value]

    def _time_reached(self) -> bool:
        """Whether a clock has passed the earliest time a hook waits for on it."""
        for clock, t in self._next_times:
            if clock() >= t:
                return True
        return False

    def ran(self, group: HookGroup) -> None:
        """After a run that called ``group``: ask each of its hooks when it is next due."""
        for i, next_due in group.scheduled:
            self._wait(i, next_due())

    def _wait(self, i: int, due: Due | None) -> None:
        if due is None:
            return  # due on the next run
        if due.step is not None and not self._has_global_step:
            return  # no global step: a step bound counts as reached
        self._waiting[i] = due
        self._changed = True

    def _regroup(self, step: int | None, iteration: int) -> None:
        """Move the waiting hooks whose bound is reached back to the due ones, and
        recompute the smallest bounds."""
        waiting = self._waiting
        for i, due in list(waiting.items()):
            if due.reached(step, iteration):
                del waiting[i]
        self._next_step = min((d.step for d in waiting.values() if d.step is not None),
                              default=math.inf)
        self._next_iteration = min((d.iteration for d in waiting.values()
                                    if d.iteration is not None), default=math.inf)
        earliest: dict[Callable[[], float], float] = {}
        for d in waiting.values():
            if d.time is not None:
                earliest[d.clock] = min(d.time, earliest.get(d.clock, math.inf))
        self._next_times = list(earliest.items())
        key = tuple(i for i in range(len(self._hooks)) if i not in waiting)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = HookGroup(self._hooks, key, self._scheduled)
        self._group = group
        self._changed = False


class SecondOrStepTimer:
    """Triggers every N seconds or every N steps (exactly one of them), as TF's.

    Args:
        every_secs / every_steps: the period (exactly one).
        clock: ``() -> seconds`` (``time.time``; tests pass a fake one).
    """

    def __init__(self, every_secs: float | None = None, every_steps: int | None = None,
                 clock: Callable[[], float] = _time.time):
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        self._clock = clock
        if every_secs is None and every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if every_secs is not None and every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self) -> None:
        self._last_triggered_step: int | None = None
        self._last_triggered_time: float | None = None

    def should_trigger_for_step(self, step: int) -> bool:
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None:
            if self._clock() >= self._last_triggered_time + self._every_secs:  # type: ignore
                return True
        if self._every_steps is not None:
            if step >= self._last_triggered_step + self._every_steps:
                return True
        return False

    def update_last_triggered_step(self, step: int) -> tuple[float | None, int | None]:
        """Record a trigger at ``step``; returns (elapsed secs, elapsed steps) or Nones."""
        now = self._clock()
        if self._last_triggered_time is None:
            elapsed: tuple[float | None, int | None] = (None, None)
        else:
            elapsed = (now - self._last_triggered_time, step - self._last_triggered_step)
        self._last_triggered_time = now
        self._last_triggered_step = step
        return elapsed

    def last_triggered_step(self) -> int | None:
        return self._last_triggered_step

    def next_due(self, by: str = "step", lead: int = 0) -> Due | None:
        """The :class:`Due` of a hook that acts on a run when
        ``should_trigger_for_step(n + lead)`` is True, ``n`` being the run's global
        step (``by="step"``) or iteration (``by="iteration"``). None (the next run)
        until the timer first triggers. (estcore addition.)"""
        last = self._last_triggered_step
        if last is None:
            return None
        if self._every_steps is not None:
            bound = last + self._every_steps - lead
            return Due(step=bound) if by == "step" else Due(iteration=bound)
        return Due(time=self._last_triggered_time + self._every_secs,  # type: ignore[operator]
                   clock=self._clock)


class NeverTriggerTimer(SecondOrStepTimer):
    """A timer that never triggers (for at-end-only logging)."""

    def __init__(self, clock: Callable[[], float] = _time.time):
        super().__init__(every_steps=1, clock=clock)

    def should_trigger_for_step(self, step: int) -> bool:
        return False

    def next_due(self, by: str = "step", lead: int = 0) -> Due:
        return Due()
