"""Hooks asleep under the idle protocol (see :mod:`estcore.hooks.session_run_hook`).

:class:`Sleepers` is the step runner's record of which hooks it skips, until when,
and what they asked for while asleep. It belongs to one
:class:`~estcore.estimator.monitored_session.HookedSession` and is used only by the
thread that runs its loop (a hooked session is not shared between threads, as in
TF), so it has no lock.

Step numbering: ``done`` counts the steps the runner has finished. A hook that falls
asleep after its ``after_run`` of step ``done + 1`` records that step as ``start``;
whenever it wakes, the steps it missed entirely are ``done - start`` (during a step,
``done`` is still the previous step's number). A hook woken during a step (the guard,
or its time bound, after the session run) also missed that step's ``before_run``,
which ``_wake(skipped, mid_step=True)`` accounts for; its ``after_run`` is then
called for real.

Time bounds are checked where the hook itself would read its clock: a sleeping hook
with a time bound keeps its place in the step's list of before_run / after_run calls
as a check, so a clock moved by a hook called earlier in the same step (a slow
synchronous save, a fake clock in a test) is seen as the hook would see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from estcore.hooks.session_run_hook import Idle, owns_idle_protocol

__all__ = ["Sleepers"]

_NEVER = float("inf")
# A promise to skip fewer steps than this is refused: falling asleep and waking costs
# about as much as calling a hook on that many steps.
_MIN_SKIP = 4


class Sleepers:
    """Which hooks sleep, and the bounds that wake them.

    Args:
        hooks: the session's hooks, in order.
        befores: their bound ``before_run`` methods.
        varying: indices of the hooks whose ``before_run`` is called every step
            (the others' requests are constant); ``asked`` lists follow this order.
    """

    def __init__(self, hooks: list, befores: list[Callable], varying: list[int]):
        self._hooks = hooks
        self._befores = befores
        self._slot = {i: j for j, i in enumerate(varying)}  # hook index -> slot in `asked`
        self._varying = varying
        listed: dict[int, int] = {}
        for h in hooks:
            listed[id(h)] = listed.get(id(h), 0) + 1
        # a hook's _idle, if it takes part: its class's own protocol methods (no override
        # in a subclass or on the instance) and listed once (a hook listed twice is
        # called twice per step, which its promise does not describe)
        self.idles: list[Callable[[Any], Idle | None] | None] = [
            h._idle if (getattr(h, "_idle_owner", None) is not None
                        and owns_idle_protocol(h, h._idle_owner) and listed[id(h)] == 1)
            else None
            for h in hooks]
        self.done = 0
        self.in_step = False  # between the start of a step and the end of its after_runs
        self.asleep: dict[int, tuple[int, Idle]] = {}  # hook index -> (start, promise)
        # the global step the guarded sleepers expect to be fetched at the next step
        self.next_step: int | None = None
        self.cache: tuple[Any, int, list] = (None, 0, [])  # (layout, generation, calls)
        self.generation = 0
        self.dirty = False
        self.update()

    # ------------------------------------------------------------------ bookkeeping

    def update(self) -> None:
        """Recompute the derived bounds and lists after hooks fell asleep or woke."""
        self.dirty = False
        self.generation += 1
        asleep = self.asleep
        self.wake_done = min((start + p.steps for start, p in asleep.values()
                              if p.steps is not None), default=_NEVER)
        self.guard = next((i for i, (_, p) in asleep.items() if p.guard), None)
        sleeping_slots = [i for i in asleep if i in self._slot]
        self.varying_asleep = bool(sleeping_slots)
        template: list = [None] * len(self._varying)
        for i in sleeping_slots:
            template[self._slot[i]] = asleep[i][1].request
        self.asked_template = template
        # (slot, before_run) of the awake varying hooks, and (slot, hook index) checks
        # for the sleeping ones with a time bound, in call order
        self.awake_varying = [
            (j, self._befores[i]) if i not in asleep else (j, i)
            for j, i in enumerate(self._varying)
            if i not in asleep or asleep[i][1].until is not None]

    def fall_asleep(self, i: int, promise: Idle) -> None:
        """Hook ``i`` (just called for this step) may be skipped as ``promise`` says
        (:meth:`update` is due before the next step)."""
        if promise.steps is not None and promise.steps < _MIN_SKIP:
            return
        if promise.until is not None:
            clocks = [p.clock for _, p in self.asleep.values() if p.until is not None]
            if clocks and promise.clock is not clocks[0]:
                return  # one clock for all time bounds: this hook stays awake
        if promise.guard:
            if self.guard is None:
                self.next_step = promise.step + 1
            elif promise.step + 1 != self.next_step:
                return  # its prediction starts from another step than the others': awake
            self.guard = i
        self.asleep[i] = (self.done + 1, promise)
        self.dirty = True

    def _wake(self, which: list[int], mid_step: bool) -> None:
        for i in which:
            start, _ = self.asleep.pop(i)
            self._hooks[i]._wake(self.done - start, mid_step)
        if which:
            self.update()

    def wake(self, i: int, mid_step: bool) -> None:
        self._wake([i], mid_step)

    def wake_all(self) -> None:
        """Wake every hook: before a ``run()`` outside the step runner, or at the end
        (also after an error outside the after_run calls: then a step that began
        counts as begun)."""
        self._wake(list(self.asleep), self.in_step)
        self.in_step = False

    def abort_step(self, failed: int, calls: list) -> None:
        """An after_run raised during this step (at ``calls[failed]``): wake every hook
        with the calls the every-step loop would have made (the hooks placed before
        the failing one had their quiet after_run of this step, the others not)."""
        position = {c[0]: n for n, c in enumerate(calls)}
        done = self.done
        for i in list(self.asleep):
            start, _ = self.asleep.pop(i)
            if start == done + 1:  # fell asleep during this step: nothing was skipped
                self._hooks[i]._wake(0, False)
            elif position.get(i, len(calls)) < failed:
                self._hooks[i]._wake(done + 1 - start, False)
            else:
                self._hooks[i]._wake(done - start, True)
        self.in_step = False
        self.update()

    # ------------------------------------------------------------------ per step

    def before_step(self) -> None:
        """Wake the hooks whose step count is reached (before a step)."""
        done = self.done
        self._wake([i for i, (start, p) in self.asleep.items()
                    if p.steps is not None and done >= start + p.steps], False)

    def wake_guarded(self) -> None:
        """After the session run: the global step fetched is not the one the guarded
        hooks expect; they are called for this step."""
        self._wake([i for i, (_, p) in self.asleep.items() if p.guard], True)

    def due(self, i: int) -> bool:
        """Whether sleeping hook ``i``'s time bound is reached (read where the hook
        would read its clock)."""
        p = self.asleep[i][1]
        return p.clock() >= p.until

    def calls_for(self, layout: Any) -> list:
        """``layout.after_calls`` without the sleeping hooks, except those with a time
        bound, which stay in place as checks (cached per layout)."""
        cache = self.cache
        if cache[0] is layout and cache[1] == self.generation:
            return cache[2]
        asleep = self.asleep
        calls = [c for c in layout.after_calls
                 if c[0] not in asleep or asleep[c[0]][1].until is not None]
        self.cache = (layout, self.generation, calls)
        return calls
