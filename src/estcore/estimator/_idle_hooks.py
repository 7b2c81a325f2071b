"""Hooks asleep under the idle protocol (see :mod:`estcore.estimator.session_run_hook`).

:class:`Sleepers` is the step runner's record of which hooks it skips, until when,
and what they asked for while asleep. It belongs to one
:class:`~estcore.estimator.monitored_session.HookedSession` and is used only by the
thread that runs its loop (a hooked session is not shared between threads, as in
TF), so it has no lock.

Step numbering: ``done`` counts the steps the runner has finished. A hook that falls
asleep after its ``after_run`` of step ``done + 1`` records that step as ``start``;
whenever it wakes, the steps it missed entirely are ``done - start`` (during a step,
``done`` is still the previous step's number: that step's quiet ``before_run`` is
part of what ``_wake`` restores, and its ``after_run`` is then called for real).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from estcore.estimator.session_run_hook import Idle

__all__ = ["Sleepers"]

_NEVER = float("inf")


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
        # a hook's _idle, if it takes part in the protocol (it must also have _wake)
        self.idles: list[Callable[[Any], Idle | None] | None] = [
            getattr(h, "_idle", None) if callable(getattr(h, "_wake", None)) else None
            for h in hooks]
        self.done = 0
        self.asleep: dict[int, tuple[int, Idle]] = {}  # hook index -> (start, promise)
        # the global step the guarded sleepers expect to be fetched at the next step
        self.next_step: int | None = None
        self.cache: tuple[Any, int, list] = (None, 0, [])  # (layout, generation, its calls)
        self.generation = 0
        self._update()

    # ------------------------------------------------------------------ bookkeeping

    def _update(self) -> None:
        """Recompute the derived bounds and lists after a hook fell asleep or woke."""
        self.generation += 1
        asleep = self.asleep
        self.wake_done = min((start + p.steps for start, p in asleep.values()
                              if p.steps is not None), default=_NEVER)
        timed = [(i, p) for i, (_, p) in asleep.items() if p.until is not None]
        self.clock = timed[0][1].clock if timed else None
        self.after_until = min((p.until for _, p in timed), default=_NEVER)
        # a hook whose before_run may trigger on time is checked before the step too
        self.before_until = min((p.until for i, p in timed if i in self._slot), default=_NEVER)
        self.guard = next((i for i, (_, p) in asleep.items() if p.guard), None)
        sleeping_slots = [i for i in asleep if i in self._slot]
        self.varying_asleep = bool(sleeping_slots)
        template: list = [None] * len(self._varying)
        for i in sleeping_slots:
            template[self._slot[i]] = asleep[i][1].request
        self.asked_template = template
        self.awake_varying = [(j, self._befores[i]) for j, i in enumerate(self._varying)
                              if i not in asleep]

    def fall_asleep(self, i: int, promise: Idle) -> None:
        """Hook ``i`` (just called for this step) may be skipped as ``promise`` says."""
        if promise.steps is not None and promise.steps <= 0:
            return
        if promise.until is not None and self.clock is not None and promise.clock is not self.clock:
            return  # one clock for all time bounds: this hook stays awake
        if promise.guard:
            if self.guard is None:
                self.next_step = promise.step + 1
            elif promise.step + 1 != self.next_step:
                return  # its prediction starts from another step than the others': awake
        self.asleep[i] = (self.done + 1, promise)
        self._update()

    def _wake(self, which: list[int]) -> None:
        for i in which:
            start, _ = self.asleep.pop(i)
            self._hooks[i]._wake(self.done - start)
        if which:
            self._update()

    def wake_all(self) -> None:
        """Wake every hook (before a ``run()`` outside the step runner, or the end)."""
        self._wake(list(self.asleep))

    # ------------------------------------------------------------------ per step

    def before_step(self) -> None:
        """Wake the hooks whose step count or time bound is reached (before a step)."""
        done = self.done
        now = self.clock() if self.clock is not None else _NEVER
        self._wake([i for i, (start, p) in self.asleep.items()
                    if (p.steps is not None and done >= start + p.steps)
                    or (p.until is not None and now >= p.until)])

    # After a step's session run, before its after_run calls (the tests are inlined in
    # HookedSession._after_step): the guarded hooks wake if the global step fetched is
    # not the one they expect (``next_step``, which then advances by one), the timed
    # ones when their time bound is reached.

    def wake_guarded(self) -> None:
        self._wake([i for i, (_, p) in self.asleep.items() if p.guard])

    def wake_timed(self) -> None:
        now = self.clock()  # type: ignore[misc]
        self._wake([i for i, (_, p) in self.asleep.items()
                    if p.until is not None and now >= p.until])

    def calls_for(self, layout: Any) -> list:
        """``layout.after_calls`` without the sleeping hooks (cached per layout)."""
        cache = self.cache
        if cache[0] is layout and cache[1] == self.generation:
            return cache[2]
        asleep = self.asleep
        calls = [c for c in layout.after_calls if c[0] not in asleep]
        self.cache = (layout, self.generation, calls)
        return calls
