"""The hooked session loop (TF's ``MonitoredSession`` / ``_HookedSession``).

Usage (what ``Estimator.train`` does)::

    with MonitoredSession(create_session, hooks) as sess:
        while not sess.should_stop():
            sess.run(train_op, feed_dict=next_batch_feed())

* ``begin()`` of every hook runs first, then ``create_session()``, then every
  hook's ``after_create_session(session, coord)``.
* Each ``run`` asks every hook's ``before_run`` for extra fetches / feeds,
  makes ONE ``session.run`` with all of them, and hands each hook its results
  in ``after_run``. A hook's ``run_context.request_stop()`` makes
  ``should_stop()`` true after the step.
* Leaving the ``with`` block normally, or through ``OutOfRangeError`` /
  ``StopIteration`` (end of input, swallowed as in TF), runs every hook's
  ``end(session)``; any other exception skips ``end()`` and propagates.
  Either way the session is closed last (its variable storage and plans freed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from estcore.errors import OutOfRangeError
from estcore.estimator.session_run_hook import (
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)

__all__ = ["MonitoredSession", "HookedSession"]


def _flatten(x: Any, leaves: list) -> Any:
    """A plan to rebuild ``x`` from ``leaves`` (its tensors/ops, appended in order)."""
    if x is None:
        return None
    t = type(x)
    if t is dict or isinstance(x, Mapping):
        return (t, True, [(k, _flatten(v, leaves)) for k, v in x.items()])
    if t is list or isinstance(x, tuple):  # tuples, namedtuples
        return (t, False, [_flatten(v, leaves) for v in x])
    if isinstance(x, list):
        return (t, False, [_flatten(v, leaves) for v in x])
    leaves.append(x)
    return len(leaves) - 1


def _rebuild(plan: Any, values: Any) -> Any:
    if plan is None:
        return None
    if type(plan) is int:
        return values[plan]
    t, is_map, items = plan
    if is_map:
        out = {k: _rebuild(v, values) for k, v in items}
        return out if t is dict else t(out)
    if t is list:
        return [_rebuild(v, values) for v in items]
    if t is tuple:
        return tuple(_rebuild(v, values) for v in items)
    if hasattr(t, "_fields"):  # namedtuple
        return t(*(_rebuild(v, values) for v in items))
    return t(_rebuild(v, values) for v in items)


class HookedSession:
    """Wraps a session so every ``run`` goes through the hooks."""

    def __init__(self, session: Any, hooks: Sequence[SessionRunHook]):
        self._sess = session
        self._hooks = list(hooks)
        self._should_stop = False

    @property
    def session(self) -> Any:
        return self._sess

    def should_stop(self) -> bool:
        return self._should_stop

    def request_stop(self) -> None:
        self._should_stop = True

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        run_context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._sess)
        # One flat tuple of fetches (the session's cheapest, hashable fetch form): the
        # caller's leaves first, then each hook's. A hook asking for a single tensor
        # (the common case) gets an int index instead of a structure to rebuild.
        leaves: list = []
        caller = _flatten(fetches, leaves)
        merged_feed = feed_dict
        hook_plans: list = []
        hook_keys: dict[int, SessionRunHook] | None = None
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is None:
                hook_plans.append(None)
                continue
            f = request.fetches
            t = type(f)
            if f is None or t is dict or t is list or isinstance(f, (tuple, list, Mapping)):
                hook_plans.append(_flatten(f, leaves))
            else:
                hook_plans.append(len(leaves))
                leaves.append(f)
            if request.feed_dict:
                if hook_keys is None:
                    hook_keys = {}
                    merged_feed = dict(feed_dict) if feed_dict else {}
                for key, value in request.feed_dict.items():
                    if feed_dict and key in feed_dict:
                        raise RuntimeError("Same tensor is fed by a SessionRunHook and user.")
                    if id(key) in hook_keys:
                        raise RuntimeError("Same tensor is fed by two hooks.")
                    hook_keys[id(key)] = hook
                    merged_feed[key] = value
        values = self._sess.run(tuple(leaves), feed_dict=merged_feed or None)
        new_values = tuple.__new__  # SessionRunValues without its Python-level __new__
        for hook, plan in zip(self._hooks, hook_plans, strict=True):
            results = values[plan] if type(plan) is int else _rebuild(plan, values)
            hook.after_run(run_context, new_values(SessionRunValues, (results, None, None)))
        self._should_stop = self._should_stop or run_context.stop_requested
        return values[caller] if type(caller) is int else _rebuild(caller, values)


class MonitoredSession:
    """Creates a session, runs hooks around it, ends them on a normal exit.

    Args:
        create_session: ``() -> session`` (called after every hook's ``begin``).
        hooks: hooks in calling order.
        after_begin: optional callback run after ``begin()`` of all hooks and
            before the session is created (the Estimator finalizes the graph here).
    """

    def __init__(self, create_session: Callable[[], Any], hooks: Sequence[SessionRunHook] = (),
                 after_begin: Callable[[], None] | None = None):
        self._hooks = list(hooks)
        for hook in self._hooks:
            if not isinstance(hook, SessionRunHook):
                raise TypeError(f"Hooks must be a SessionRunHook, given: {hook}")
        for hook in self._hooks:
            hook.begin()
        if after_begin is not None:
            after_begin()
        self._raw = create_session()
        for hook in self._hooks:
            hook.after_create_session(self._raw, None)
        self._hooked = HookedSession(self._raw, self._hooks)
        self._closed = False

    @property
    def raw_session(self) -> Any:
        return self._raw

    def should_stop(self) -> bool:
        return self._closed or self._hooked.should_stop()

    def request_stop(self) -> None:
        self._hooked.request_stop()

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        return self._hooked.run(fetches, feed_dict)

    def close(self, exception: BaseException | None = None) -> None:
        """Run hooks' ``end()`` unless ``exception`` is given, then close the
        session (always, as TF's ``MonitoredSession``); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if exception is None:
                for hook in self._hooks:
                    hook.end(self._raw)
        finally:
            close = getattr(self._raw, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> MonitoredSession:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc_type is not None and issubclass(exc_type, (OutOfRangeError, StopIteration)):
            self.close()
            return True  # end of input: a normal end
        self.close(exc)
        return False
