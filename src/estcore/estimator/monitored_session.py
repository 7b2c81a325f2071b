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

import logging
import operator
from collections.abc import Callable, Mapping, Sequence
from operator import is_
from typing import Any

from estcore.errors import OutOfRangeError
from estcore.estimator._idle_hooks import Sleepers
from estcore.hooks.session_run_hook import (
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    skips_after_run,
    skips_before_run,
)

__all__ = ["MonitoredSession", "HookedSession"]

logger = logging.getLogger("estcore")


def _flatten(x: Any, leaves: list, index: dict[int, int]) -> Any:
    """A plan to rebuild ``x`` from ``leaves``: its tensors/ops are appended in order,
    each distinct one once (``index``: id -> position, shared across calls)."""
    if x is None:
        return None
    t = type(x)
    if isinstance(x, (list, tuple)):  # lists, tuples, namedtuples
        return (t, False, [_flatten(v, leaves, index) for v in x])
    if t is dict or isinstance(x, Mapping):
        return (t, True, [(k, _flatten(v, leaves, index)) for k, v in x.items()])
    i = index.get(id(x))
    if i is None:
        i = index[id(x)] = len(leaves)
        leaves.append(x)
    return i


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


def _finish_pending_saves(hooks: Sequence[SessionRunHook]) -> None:
    """On the error path (no ``end()``): wait for checkpoints still being written, so
    none is left half done when the error reaches the caller; a failed save is only
    logged (the error in flight is the one that propagates)."""
    for hook in hooks:
        wait = getattr(hook, "wait_for_pending_save", None)
        if wait is None:
            continue
        try:
            wait()
        except Exception as e:  # noqa: BLE001 - the original error wins
            logger.error("A checkpoint save failed while the session was closing on "
                         "another error: %s", e)


class HookedSession:
    """Wraps a session so every ``run`` goes through the hooks."""

    def __init__(self, session: Any, hooks: Sequence[SessionRunHook]):
        self._sess = session
        self._hooks = list(hooks)
        self._before = [hook.before_run for hook in self._hooks]  # bound once: per-step path
        self._after = [hook.after_run for hook in self._hooks]
        # The per-step path calls only the after_run methods that do something (not the
        # base class's no-op), and, in step_runner, only the before_run methods whose
        # request may change (see session_run_hook.constant_request).
        self._active_after = [(i, after) for i, (hook, after)
                              in enumerate(zip(self._hooks, self._after, strict=True))
                              if not skips_after_run(hook)]
        self._should_stop = False
        self._layout: _Layout | None = None
        self._sleepers: Sleepers | None = None  # hooks the step runner skips (idle protocol)

    @property
    def session(self) -> Any:
        return self._sess

    def should_stop(self) -> bool:
        return self._should_stop

    def request_stop(self) -> None:
        self._should_stop = True

    def wake_sleepers(self) -> None:
        """Bring hooks the step runner was skipping up to date (before another path
        calls them: ``run()``, ``end()``)."""
        if self._sleepers is not None and self._sleepers.asleep:
            self._sleepers.wake_all()

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        self.wake_sleepers()
        run_context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._sess)
        requests = [before(run_context) for before in self._before]
        layout = self._layout
        if layout is None or not layout.matches(fetches, requests):
            layout = self._layout = self._new_layout(fetches, requests)
        feed = _merge_feeds(feed_dict, requests) if layout.hook_feeds else feed_dict
        return self._after_run(run_context, layout,
                               self._sess.run(layout.leaves, feed_dict=feed or None))

    def step_runner(self, fetches: Any, feeder: Any) -> Callable[[Any, Any], Any]:
        """``step(features, labels)``: ``run(fetches, feeder(features, labels))`` for a
        loop that runs the same fetches on batches of the same structure every step.

        ``feeder`` has ``tensors`` (the placeholders, in order), ``values(features,
        labels)`` (their values in that order, or None for a batch that leaves some
        out) and ``__call__(features, labels)`` (the feed dict); see
        :class:`estcore.estimator._session_setup.Feeder`. Same hook protocol as
        :meth:`run`. While the hooks keep returning the same requests (the standard
        hooks do) and none reads ``run_context.original_args`` (whose feed dict is
        only built if one does; a step where one does runs that dict, as ``run``),
        the step skips the session's per-run lookups. ``fetches`` must not change
        while the runner is in use.

        Hooks that implement the idle protocol (estcore's standard hooks; see
        :mod:`estcore.hooks.session_run_hook`) are not called on the steps where
        they promise to do nothing but count; they are brought up to date before
        they are called again, before :meth:`run` and before ``end()``.
        """
        feed_tensors = tuple(feeder.tensors)
        sess, befores, values_of = self._sess, self._before, feeder.values
        layouts: list[_Layout | None] = [None]
        flat_callable = getattr(sess, "_flat_callable", None)
        # Hooks whose request may change are asked every step; the constant ones only
        # when the layout is rebuilt (their before_run has no side effects).
        varying = [i for i, hook in enumerate(self._hooks) if not skips_before_run(hook)]
        varying_befores = [befores[i] for i in varying]
        if self._sleepers is None:
            self._sleepers = Sleepers(self._hooks, befores, varying)
        sleepers = self._sleepers

        varying_set = set(varying)

        def all_requests(run_context: SessionRunContext, asked: list) -> list:
            requests = [None] * len(befores)
            for i, request in zip(varying, asked, strict=True):
                requests[i] = request
            for i, before in enumerate(befores):
                if i not in varying_set:
                    requests[i] = before(run_context)
            return requests

        def step(features: Any, labels: Any) -> Any:
            values = values_of(features, labels)
            if values is None:
                return self.run(fetches, feeder(features, labels))
            sl = sleepers
            if sl.asleep and sl.done >= sl.wake_done:
                sl.before_step()
            sl.in_step = True
            run_context = _StepContext(fetches, feed_tensors, values, sess)
            if sl.varying_asleep:  # a sleeping hook's slot holds its quiet request
                asked = sl.asked_template.copy()
                for j, before in sl.awake_varying:
                    if type(before) is int:  # asleep with a time bound: its clock, here
                        if not sl.due(before):
                            continue
                        sl.wake(before, mid_step=False)
                        before = befores[before]
                    asked[j] = before(run_context)
            else:
                asked = [before(run_context) for before in varying_befores]
            layout = layouts[0]
            # (the stored layout is always reusable: compare only what may change)
            if layout is None or not all(map(is_, asked, layout.varying_requests)):
                layout = self._new_layout(fetches, all_requests(run_context, asked))
                layout.varying_requests = asked
                if layout.reusable:  # else (per-step feeds, mutable requests): rebuilt per step
                    if flat_callable is not None:
                        layout.runner = flat_callable(layout.leaves, feed_tensors)
                    layouts[0] = layout
            # (a plain attribute test: no property call on the per-step path)
            if layout.runner is None or run_context._original_args is not None:
                # The general path; a hook that read original_args may have changed its
                # feed dict, and that dict is what runs (as in run()).
                feed = run_context.original_args.feed_dict
                if layout.hook_feeds:
                    feed = _merge_feeds(feed, layout.requests)  # (built this step)
                return self._after_step(run_context, layout,
                                        sess.run(layout.leaves, feed_dict=feed or None))
            return self._after_step(run_context, layout, layout.runner(values))

        return step

    def _after_step(self, run_context: SessionRunContext, layout: _Layout, values: Any) -> Any:
        """:meth:`_after_run` for the step runner: sleeping hooks are skipped (those with
        a time bound are checked at their place), and each hook called is asked
        whether it may sleep through the next steps."""
        sl = self._sleepers
        assert sl is not None
        calls = layout.after_calls
        if sl.asleep:
            guard = sl.guard
            if guard is not None:  # (inlined: this runs every step)
                if int(values[layout.hook_plans[guard]]) != sl.next_step:
                    sl.wake_guarded()
                else:
                    sl.next_step += 1
            if sl.asleep:
                cached = sl.cache
                calls = (cached[2] if cached[0] is layout and cached[1] == sl.generation
                         else sl.calls_for(layout))
        new_values = tuple.__new__  # SessionRunValues without its Python-level __new__
        idles, asleep = sl.idles, sl.asleep
        entry = None
        try:
            for entry in calls:
                i, after, plan = entry
                if i in asleep:  # asleep with a time bound: its clock, read here
                    if not sl.due(i):
                        continue
                    sl.wake(i, mid_step=True)
                results = values[plan] if type(plan) is int else _rebuild(plan, values)
                after(run_context, new_values(SessionRunValues, (results, None, None)))
                idle = idles[i]
                if idle is not None:
                    promise = idle(results)
                    if promise is not None:
                        sl.fall_asleep(i, promise)
        except BaseException:
            full = layout.after_calls
            sl.abort_step(next((n for n, c in enumerate(full) if c is entry), len(full)), full)
            raise
        sl.done += 1
        sl.in_step = False
        if sl.dirty:
            sl.update()
        return self._caller_values(run_context, layout, values)

    def _new_layout(self, fetches: Any, requests: list) -> _Layout:
        layout = _Layout(fetches, requests)
        plans = layout.hook_plans
        layout.after_calls = [(i, after, plans[i]) for i, after in self._active_after]
        return layout

    def _after_run(self, run_context: SessionRunContext, layout: _Layout, values: Any) -> Any:
        new_values = tuple.__new__  # SessionRunValues without its Python-level __new__
        for _, after, plan in layout.after_calls:
            results = values[plan] if type(plan) is int else _rebuild(plan, values)
            after(run_context, new_values(SessionRunValues, (results, None, None)))
        return self._caller_values(run_context, layout, values)

    def _caller_values(self, run_context: SessionRunContext, layout: _Layout,
                       values: Any) -> Any:
        """Record a stop request; the caller's fetches from the flat ``values``."""
        self._should_stop = self._should_stop or run_context._stop_requested  # no property call
        flat = layout.flat_caller
        if flat is not None:  # a list/tuple of leaves: no Python-level rebuild
            kind, get = flat
            got = get(values)
            return got if kind is tuple else kind(got)
        caller = layout.caller
        return values[caller] if type(caller) is int else _rebuild(caller, values)


class _StepContext(SessionRunContext):
    """A run context whose ``original_args`` (with the step's feed dict) is built
    only when a hook reads it."""

    def __init__(self, fetches: Any, feed_tensors: tuple, values: list, session: Any):
        self._fetches = fetches
        self._feed = (feed_tensors, values)
        self._original_args = None
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        if self._original_args is None:
            tensors, values = self._feed
            self._original_args = SessionRunArgs(self._fetches,
                                                 dict(zip(tensors, values, strict=True)))
        return self._original_args


class _Layout:
    """How one step's fetches are laid out in a single flat tuple for the session:
    the caller's leaves first, then each hook's. A hook asking for one tensor (the
    common case) gets an int index instead of a structure to rebuild.

    A steady loop (same fetch elements, hooks returning the same request objects,
    which the standard hooks do) reuses the layout instead of rebuilding it; the
    layout keeps references to what it was built from, so identity checks are safe.
    Only immutable requests are reused (a tensor, or tuples of tensors, and no
    feeds): a hook may return the same request holding a dict it changes.
    """

    __slots__ = ("signature", "requests", "leaves", "caller", "flat_caller", "hook_plans",
                 "hook_feeds", "reusable", "runner", "after_calls", "varying_requests")

    def __init__(self, fetches: Any, requests: list):
        # Hooks ask again for what the caller or another hook fetches (the loss, the
        # step): each distinct element goes to the session once.
        leaves: list = []
        index: dict[int, int] = {}
        self.signature = _signature(fetches)  # a snapshot: the caller may reuse a dict
        self.caller = _flatten(fetches, leaves, index)
        c = self.caller
        self.flat_caller = None  # (list or tuple, getter) when the caller fetched a flat list
        if (type(c) is tuple and c[0] in (list, tuple) and len(c[2]) >= 2
                and all(type(i) is int for i in c[2])):
            self.flat_caller = (c[0], operator.itemgetter(*c[2]))
        self.requests = requests
        self.hook_plans = [None if r is None else _flatten(r.fetches, leaves, index)
                           for r in requests]
        self.hook_feeds = any(r is not None and r.feed_dict for r in requests)
        # feeds change per step; a request holding a list or dict may change in place
        self.reusable = not self.hook_feeds and all(r is None or _immutable(r.fetches)
                                                    for r in requests)
        self.leaves = tuple(leaves)
        self.runner: Callable[[list], list] | None = None
        # set by the hooked session: (hook index, after_run, its plan) for each hook that
        # has an after_run
        self.after_calls: list[tuple[int, Callable, Any]] = []
        self.varying_requests: list = requests  # what step_runner compares (a subset)

    def matches(self, fetches: Any, requests: list) -> bool:
        return self.same_requests(requests) and _signature(fetches) == self.signature

    def same_requests(self, requests: list) -> bool:
        """Reusable, and every hook returned the same request object as before."""
        return self.reusable and all(map(is_, requests, self.requests))


_LEAF_TYPES: set[type] = set()  # types seen to be no fetch structure (a cache)


def _signature(x: Any) -> Any:
    """A snapshot of a fetch structure: equal signatures lay out the same (leaves
    compare by identity: tensors and ops have no ``__eq__``)."""
    t = type(x)
    if t in _LEAF_TYPES:
        return x
    if isinstance(x, (list, tuple)):
        return (t, tuple([_signature(v) for v in x]))
    if t is dict or isinstance(x, Mapping):
        return (t, tuple([(k, _signature(v)) for k, v in x.items()]))
    _LEAF_TYPES.add(t)  # set.add is atomic under the GIL
    return x


def _immutable(fetches: Any) -> bool:
    """A leaf, or tuples of leaves (what a request may hold to be reused)."""
    if isinstance(fetches, tuple):
        return all(_immutable(f) for f in fetches)
    return not isinstance(fetches, (list, Mapping))


def _merge_feeds(feed_dict: dict | None, requests: list) -> dict:
    """The caller's feeds plus every hook's; a tensor fed twice is an error (TF's)."""
    merged = dict(feed_dict) if feed_dict else {}
    hook_keys: set[int] = set()
    for request in requests:
        if request is None or not request.feed_dict:
            continue
        for key, value in request.feed_dict.items():
            if feed_dict and key in feed_dict:
                raise RuntimeError("Same tensor is fed by a SessionRunHook and user.")
            if id(key) in hook_keys:
                raise RuntimeError("Same tensor is fed by two hooks.")
            hook_keys.add(id(key))
            merged[key] = value
    return merged


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
        # the per-step path, direct (close() also stops the hooked session)
        self.run = self._hooked.run  # type: ignore[method-assign]
        self.should_stop = self._hooked.should_stop  # type: ignore[method-assign]

    @property
    def raw_session(self) -> Any:
        return self._raw

    def should_stop(self) -> bool:
        return self._closed or self._hooked.should_stop()

    def request_stop(self) -> None:
        self._hooked.request_stop()

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        return self._hooked.run(fetches, feed_dict)

    def step_runner(self, fetches: Any, feeder: Any) -> Callable[[Any, Any], Any]:
        """See :meth:`HookedSession.step_runner`."""
        return self._hooked.step_runner(fetches, feeder)

    def close(self, exception: BaseException | None = None) -> None:
        """Run hooks' ``end()`` unless ``exception`` is given, then close the
        session (always, as TF's ``MonitoredSession``); idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hooked.request_stop()
        try:
            self._hooked.wake_sleepers()  # hooks' state as if each had run every step
            if exception is None:
                for hook in self._hooks:
                    hook.end(self._raw)
            else:
                _finish_pending_saves(self._hooks)
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
