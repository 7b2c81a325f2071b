"""The hook protocol of a training / evaluation / prediction loop (TF's).

A hook sees the loop at five points::

    begin()                                   # graph still open for new ops
    after_create_session(session, coord)      # variables initialised / restored
    loop:  before_run(run_context) -> SessionRunArgs | None
           session.run(...)                   # the step, plus hooks' fetches
           after_run(run_context, run_values)
    end(session)                              # normal end only (not on errors)

``run_context.request_stop()`` ends the loop after the current step.
"""

from __future__ import annotations

import collections
from typing import Any

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues"]

_CONSTANT = "_estcore_constant_request"


def constant_request(before_run: Any) -> Any:
    """Marks a ``before_run`` that, once ``begin()`` has run, returns the same object
    every step and does nothing else: a hooked session's per-step loop may call it
    once and reuse the request (a subclass that overrides it is called every step)."""
    setattr(before_run, _CONSTANT, True)
    return before_run


def skips_before_run(hook: Any) -> bool:
    """True if ``hook.before_run`` need not be called every step: it is the base
    class's (always None) or marked with :func:`constant_request`."""
    fn = getattr(hook.before_run, "__func__", None)  # None: set on the instance
    return fn is SessionRunHook.before_run or getattr(fn, _CONSTANT, False)


def skips_after_run(hook: Any) -> bool:
    """True if ``hook.after_run`` is the base class's (does nothing)."""
    return getattr(hook.after_run, "__func__", None) is SessionRunHook.after_run


# ----------------------------------------------------------------------------------------
# The idle protocol (private to estcore's own hooks; used by HookedSession.step_runner).
#
# Most steps of a training loop are quiet for the standard hooks: a hook that logs every
# 100 steps only counts the other 99. Calling it anyway costs microseconds per step
# (cache-cold Python right after the step's kernels). A hook class that sets
# ``_idle_owner`` to itself and implements
#
#     hook._idle(results) -> Idle | None          # asked right after its after_run
#     hook._wake(skipped: int, mid_step: bool)
#
# may be skipped entirely (no before_run, no after_run) on the following steps, while
#   * fewer than ``Idle.steps`` steps have been skipped (None: no bound),
#   * ``Idle.clock()`` is below ``Idle.until`` (None: no bound), read where the hook
#     itself would read its clock: a sleeping hook with a time bound keeps its place
#     among the step's before_run / after_run calls as a check,
#   * and, for ``Idle.guard`` (the hook predicts the global step), the global step it
#     fetches grew by exactly one at every step from ``Idle.step`` (the value it saw
#     last; checked after each step's session run, a mismatch wakes it for that step's
#     after_run).
# On those steps its request is ``Idle.request``. Before it is called again the loop
# calls ``_wake(skipped, mid_step)``: ``skipped`` whole steps were skipped, and
# ``mid_step`` says that the current step's before_run was skipped too (the hook is
# woken for its after_run). ``_wake`` brings the hook's state to what those calls would
# have left: counters advanced, per-step flags as after a quiet before_run. Every other
# path wakes sleeping hooks first: ``run()``, the end of the loop, and an error (an
# after_run that raises leaves every hook as the every-step loop would have). ``_idle``
# returns None whenever the hook could act on the next step. The loop does not use the
# protocol for a hook listed twice, or one whose class overrides a method the promise
# is about (:func:`owns_idle_protocol`), and refuses promises of fewer than 4 steps
# (sleeping and waking cost about as much as calling the hook that often).
# ----------------------------------------------------------------------------------------


class Idle(collections.namedtuple("Idle", ["steps", "until", "clock", "request", "guard", "step"],
                                  defaults=(False, None))):
    """What a hook promises for the steps it may sleep through (see above)."""

    __slots__ = ()


def owns_idle_protocol(hook: Any, cls: type) -> bool:
    """True if ``hook``'s before_run, after_run and _wake are ``cls``'s own (a
    subclass overriding any of them, or a method set on the instance, opts out)."""
    t = type(hook)
    return (t.before_run is cls.before_run and t.after_run is cls.after_run
            and t._wake is cls._wake and "before_run" not in vars(hook)
            and "after_run" not in vars(hook))


class SessionRunHook:
    """Base class of every hook; all methods do nothing by default."""

    def begin(self) -> None:
        """Called once before the session is created; may add ops to the graph."""

    def after_create_session(self, session: Any, coord: Any) -> None:
        """Called once the session exists and variables hold their values."""

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        """Called before each step; return extra fetches / feeds or None."""
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        """Called after each step with the values of what ``before_run`` asked for."""

    def end(self, session: Any) -> None:
        """Called at the normal end of the loop (not when it raised)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs",
                                            ["fetches", "feed_dict", "options"],
                                            defaults=(None, None))):
    """What a hook adds to the next ``session.run``: fetches (any nested structure),
    an optional feed dict, and ``options`` (accepted, unused)."""

    __slots__ = ()


class SessionRunValues(collections.namedtuple("SessionRunValues",
                                              ["results", "options", "run_metadata"],
                                              defaults=(None, None))):
    """The values fetched for a hook: ``results`` mirrors its ``fetches``."""

    __slots__ = ()


class SessionRunContext:
    """What a hook knows about the current step, and how it asks the loop to stop."""

    def __init__(self, original_args: SessionRunArgs, session: Any):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        """The step's own fetches and feeds (before hooks add theirs)."""
        return self._original_args

    @property
    def session(self) -> Any:
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Stop the loop after the current step."""
        self._stop_requested = True
