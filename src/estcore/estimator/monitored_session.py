"""The hooked session loop (TF's ``MonitoredSession`` / ``_HookedSession``).

Usage (what ``Estimator.train`` does)::

    with MonitoredSession(create_session, hooks) as sess:
        step = sess.step_runner([train_op, loss], feeder)
        while not sess.should_stop():
            step(features, labels)             # or sess.run(fetches, feed_dict)

* ``begin()`` of every hook runs first, then ``create_session()``, then every
  hook's ``after_create_session(session, coord)``.
* Each run, through :meth:`HookedSession.run` or a step runner, does five things:

  1. read the global step and ask the hook schedule which hooks are due (see
     :mod:`estcore.hooks.schedule`: a hook that declares nothing is due every run),
  2. call their ``before_run``, in order,
  3. make ONE ``session.run`` with the caller's fetches and every due hook's
     (each distinct tensor fetched once),
  4. call the same hooks' ``after_run`` with their results,
  5. ask each of them when it is next due (``next_due``).

  The global step fetched in a run (by a hook or the caller) is its value before
  the run, as in TF's Estimator, whose training ops run after the global step is
  read (estcore's session reads variables after the run's updates).

  A hook's ``run_context.request_stop()`` makes ``should_stop()`` true after the run.
* Leaving the ``with`` block normally, or through ``OutOfRangeError`` /
  ``StopIteration`` (end of input, swallowed as in TF), runs every hook's
  ``end(session)``; any other exception skips ``end()``, waits for a checkpoint
  still being written, and propagates. Either way the session is closed last.

Owns the loop and the layout of one run's fetches. Must not: know about the
Estimator, distribution strategies, or what any particular hook does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from operator import is_, itemgetter
from typing import Any

import numpy as np

from estcore.errors import OutOfRangeError
from estcore.graph.global_step import get_global_step
from estcore.hooks.schedule import HookGroup, HookSchedule
from estcore.hooks.session_run_hook import (
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)
from estcore.nest import flatten, is_nested, packer

__all__ = ["MonitoredSession", "HookedSession"]

logger = logging.getLogger("estcore")


class HookedSession:
    """Wraps a session so every run goes through the hooks that are due.

    Args:
        session: the session the runs go to.
        hooks: hooks in calling order, their ``after_create_session`` done.
        global_step: the graph's global step variable, read straight from the
            session's storage (``session.variable_storage``) before each run; None
            when there is none (every hook waiting for a step is then called every run).
    """

    def __init__(self, session: Any, hooks: Sequence[SessionRunHook],
                 global_step: Any = None):
        self._sess = session
        self._schedule = HookSchedule(hooks, SessionRunHook, global_step is not None)
        self._read_step = (None if global_step is None
                           else session.variable_storage(global_step).item)
        # what a run may fetch as the global step: the variable and the tensor it reads as
        self._step_fetches = (set() if global_step is None
                              else {id(global_step), id(global_step.value())})
        self._iteration = 0  # the index of the next run
        self._should_stop = False

    @property
    def session(self) -> Any:
        return self._sess

    def should_stop(self) -> bool:
        return self._should_stop

    def request_stop(self) -> None:
        self._should_stop = True

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        """Run ``fetches`` with ``feed_dict`` and the due hooks' requests; returns the
        values of ``fetches`` (same structure)."""
        global_step = self._read_step() if self._read_step is not None else None
        group = self._schedule.hooks_due(global_step, self._iteration)
        run_context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._sess,
                                        self._iteration)
        requests = [before(run_context) for before in group.befores]
        layout = _Layout(fetches, requests, self._step_fetches)
        feed = _merge_feeds(feed_dict, requests) if layout.hook_feeds else feed_dict
        values = self._sess.run(layout.leaves, feed_dict=feed or None)
        return self._finish(run_context, group, layout, values, global_step)

    def step_runner(self, fetches: Any, feeder: Any) -> Callable[[Any, Any], Any]:
        """``step(features, labels)``: ``run(fetches, feeder(features, labels))`` for a
        loop that runs the same fetches on batches of the same structure every step.

        ``feeder`` has ``tensors`` (the placeholders, in order), ``values(features,
        labels)`` (their values in that order, or None for a batch of another form)
        and ``__call__(features, labels)`` (the feed dict); see
        :class:`estcore.estimator._session_setup.Feeder`. Same hooks, same schedule
        as :meth:`run`, and two shortcuts for a steady loop: the step's feed dict is
        only built if a hook reads ``run_context.original_args`` (a step where one
        does runs that dict, as ``run`` would), and while the due hooks return the
        same request objects (the standard hooks do), the run's layout is reused and
        runs through ``session.make_callable``. ``fetches`` must not change while the
        runner is in use.
        """
        feed_tensors = tuple(feeder.tensors)
        sess, schedule, values_of = self._sess, self._schedule, feeder.values
        read_step, step_fetches = self._read_step, self._step_fetches
        make_callable = getattr(sess, "make_callable", None)
        layouts: dict[HookGroup, _Layout] = {}  # the last reusable layout of each group

        def step(features: Any, labels: Any) -> Any:
            values = values_of(features, labels)
            if values is None:  # a batch of another form: through a feed dict
                return self.run(fetches, feeder(features, labels))
            global_step = read_step() if read_step is not None else None
            group = schedule.hooks_due(global_step, self._iteration)
            run_context = _StepContext(fetches, feed_tensors, values, sess, self._iteration)
            requests = [before(run_context) for before in group.befores]
            layout = layouts.get(group)
            if layout is None or not layout.same_requests(requests):
                layout = _Layout(fetches, requests, step_fetches)
                if layout.reusable:
                    layouts[group] = layout
            elif layout.runner is None and make_callable is not None:  # used twice: compile
                layout.runner = make_callable(layout.leaves, feed_tensors, accept_options=True)
            if layout.runner is None or run_context.built_args is not None:
                feed = run_context.original_args.feed_dict
                if layout.hook_feeds:
                    feed = _merge_feeds(feed, requests)
                out = sess.run(layout.leaves, feed_dict=feed or None)
            else:
                out = layout.runner(*values)
            return self._finish(run_context, group, layout, out, global_step)

        return step

    def _finish(self, run_context: SessionRunContext, group: HookGroup, layout: _Layout,
                values: Sequence, global_step: int | None) -> Any:
        """Hand the hooks their results, ask when they are next due, record a stop
        request; return the caller's values (``global_step``: its value before the run,
        which hooks get; the caller gets the value after it)."""
        if layout.step_fetched:  # the global step: after the run at -2, before it at -1
            after = np.int64(self._read_step()) if layout.caller_step else None
            values = [*values, after, np.int64(global_step)]
        for after, plan in zip(group.afters, layout.hook_plans, strict=True):
            if plan is _no_results:  # the hook fetched nothing
                after(run_context, _NO_VALUES)
            else:
                after(run_context, SessionRunValues(values[plan] if type(plan) is int
                                                    else plan(values)))
        if group.scheduled:
            self._schedule.ran(group)
        self._iteration += 1
        if run_context.stop_requested:
            self._should_stop = True
        caller = layout.caller
        return values[caller] if type(caller) is int else caller(values)


class _StepContext(SessionRunContext):
    """A run context whose ``original_args`` (with the step's feed dict) is built
    only when a hook reads it (then ``built_args`` is set)."""

    def __init__(self, fetches: Any, feed_tensors: tuple, values: list, session: Any,
                 iteration: int):
        super().__init__(None, session, iteration)  # type: ignore[arg-type]
        self._fetches = fetches
        self._feed = (feed_tensors, values)
        self.built_args: SessionRunArgs | None = None

    @property
    def original_args(self) -> SessionRunArgs:
        if self.built_args is None:
            tensors, values = self._feed
            self.built_args = SessionRunArgs(self._fetches,
                                             dict(zip(tensors, values, strict=True)))
        return self.built_args


def _no_results(values: Sequence) -> None:
    return None


_NO_VALUES = SessionRunValues(None)  # what a hook that fetched nothing gets (immutable)


class _Layout:
    """One run's fetches as a single flat tuple for the session (``leaves``: the
    caller's first, then each hook's; each distinct tensor or op once), and how each
    gets its values back (``caller``, ``hook_plans``: an int position for a single
    tensor, else a function of the flat values).

    A layout is reusable for later runs of the same fetches when the hooks return
    the same request objects; the layout keeps those objects, so the identity test
    is safe. Only requests that cannot change in place qualify (tensors and tuples
    of them, no feeds): a hook may return the same request holding a dict it edits.
    """

    __slots__ = ("requests", "leaves", "caller", "hook_plans", "hook_feeds", "reusable",
                 "runner", "step_fetched", "caller_step")

    def __init__(self, fetches: Any, requests: list, step_fetches: set[int]):
        leaves: list = []
        # id(leaf) -> its position in the run's values. The global step (the variable or
        # its tensor) is never sent to the session: the loop read it before the run, and
        # _finish appends that value, so it is at position -1. Hook groups that ask only
        # for the step and the loss then run the same compiled plan as the plain step.
        # The caller's own fetch of it gets its value after the run instead (position
        # -2, read after the run), as a fetch of TF's global step variable returns.
        index: dict[int, int] = dict.fromkeys(step_fetches, -2)
        self.caller = _plan(fetches, leaves, index)
        self.caller_step = bool(step_fetches) and any(
            id(x) in step_fetches for x in flatten([fetches]))
        index.update(dict.fromkeys(step_fetches, -1))
        self.requests = requests
        self.hook_plans = [_no_results if r is None else _plan(r.fetches, leaves, index)
                           for r in requests]
        self.hook_feeds = any(r is not None and r.feed_dict for r in requests)
        self.reusable = not self.hook_feeds and all(r is None or _immutable(r.fetches)
                                                    for r in requests)
        self.leaves = tuple(leaves)
        self.runner: Callable[..., Sequence] | None = None  # set once the layout is reused
        self.step_fetched = bool(step_fetches) and any(
            id(x) in step_fetches for x in flatten([fetches] + [r and r.fetches
                                                                 for r in requests]))

    def same_requests(self, requests: list) -> bool:
        """Every hook returned the same request object as when this was built."""
        return all(map(is_, requests, self.requests))


def _plan(structure: Any, leaves: list, index: dict[int, int]) -> Any:
    """How to take ``structure``'s values from a run's flat values: the position of a
    single leaf, or a function of the flat values. Adds its leaves to ``leaves``
    (each distinct one once); None is not fetched (its value is None)."""
    if structure is None:
        return _no_results
    if not is_nested(structure):
        return _position(structure, leaves, index)
    flat, rebuild = packer(structure, sort_keys=False)
    positions = [None if x is None else _position(x, leaves, index) for x in flat]
    if len(positions) >= 2 and None not in positions:
        pick = itemgetter(*positions)
        return lambda values: rebuild(pick(values))
    return lambda values: rebuild([None if j is None else values[j] for j in positions])


def _position(leaf: Any, leaves: list, index: dict[int, int]) -> int:
    position = index.get(id(leaf))
    if position is None:
        position = index[id(leaf)] = len(leaves)
        leaves.append(leaf)
    return position


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


def _global_step_of(session: Any) -> Any:
    """The global step of the session's graph, for a session that can read it from its
    storage without a run (one with ``graph`` and ``variable_storage``, as estcore's);
    None for another session or a graph without a global step."""
    graph = getattr(session, "graph", None)
    if graph is None or not hasattr(session, "variable_storage"):
        return None
    return get_global_step(graph)


def _close_session(session: Any) -> None:
    close = getattr(session, "close", None)
    if close is not None:
        close()


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
        try:
            for hook in self._hooks:
                hook.after_create_session(self._raw, None)
            self._hooked = HookedSession(self._raw, self._hooks, _global_step_of(self._raw))
        except BaseException:
            # no loop will run: finish a save a hook started (e.g. the start step's
            # checkpoint, written in the background) and close the session, as close() does
            _finish_pending_saves(self._hooks)
            _close_session(self._raw)
            raise
        self._closed = False

    @property
    def raw_session(self) -> Any:
        return self._raw

    def should_stop(self) -> bool:
        return self._closed or self._hooked.should_stop()

    def request_stop(self) -> None:
        self._hooked.request_stop()

    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        """See :meth:`HookedSession.run`."""
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
            if exception is None:
                try:
                    for hook in self._hooks:
                        hook.end(self._raw)
                except BaseException:
                    _finish_pending_saves(self._hooks)  # the hooks after it did not end
                    raise
            else:
                _finish_pending_saves(self._hooks)
        finally:
            _close_session(self._raw)

    def __enter__(self) -> MonitoredSession:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc_type is not None and issubclass(exc_type, (OutOfRangeError, StopIteration)):
            self.close()
            return True  # end of input: a normal end
        self.close(exc)
        return False
