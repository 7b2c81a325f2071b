"""The hook protocol of a training / evaluation / prediction loop (TF's).

A hook sees the loop at five points::

    begin()                                   # graph still open for new ops
    after_create_session(session, coord)      # variables initialised / restored
    loop:  before_run(run_context) -> SessionRunArgs | None
           session.run(...)                   # the step, plus hooks' fetches
           after_run(run_context, run_values)
    end(session)                              # normal end only (not on errors)

``run_context.request_stop()`` ends the loop after the current step.

estcore adds two things, both optional for a hook to use:

* ``SessionRunHook.next_due()`` -> :class:`~estcore.hooks.schedule.Due` or None:
  when the hook next needs its ``before_run`` / ``after_run`` (see
  :mod:`estcore.hooks.schedule`). The base class answers None, "every step", which
  is TF's behaviour for every hook that declares nothing.
* ``SessionRunContext.iteration``: the index of the run in its loop (0-based), so a
  hook that is not called on every run still knows which run it is in.

Owns the protocol's classes only; must not import the loop or any standard hook.
"""

from __future__ import annotations

import collections
from typing import Any

from estcore.hooks.schedule import Due

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues"]


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

    def next_due(self) -> Due | None:
        """When this hook's ``before_run`` / ``after_run`` are next needed (estcore).

        Asked right after ``after_create_session`` and after each run that called the
        hook. None: on the next run (this default: every run, as in TF). A
        :class:`~estcore.hooks.schedule.Due`: not before the first run that reaches
        one of its bounds. Only used when this method is defined at or below the
        class that defines ``before_run`` and ``after_run`` (a subclass overriding
        either of them alone runs every step).
        """
        return None


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
    """What a hook knows about the current step, and how it asks the loop to stop.

    Args:
        original_args: the step's own fetches and feeds.
        session: the session the step runs in.
        iteration: the index of this run in its loop, 0-based (estcore addition;
            None for a context built by hand).
    """

    def __init__(self, original_args: SessionRunArgs, session: Any,
                 iteration: int | None = None):
        self._original_args = original_args
        self._session = session
        self._iteration = iteration
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        """The step's own fetches and feeds (before hooks add theirs)."""
        return self._original_args

    @property
    def session(self) -> Any:
        return self._session

    @property
    def iteration(self) -> int | None:
        """The index of this run in its loop, 0-based; None when the context was
        built by hand (estcore addition)."""
        return self._iteration

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Stop the loop after the current step."""
        self._stop_requested = True
