"""Hooks that write files during training: checkpoints and summaries.

``CheckpointSaverHook`` saves right after the session is created (the state at
the current global step), on its steps/secs cadence, and in ``end()`` when the
last step was not saved yet; never after an exception (so a NaN loss cannot
overwrite the last good checkpoint). Log lines are TF's. With a ``meta_fn`` each
save stores ``meta_fn(step, final)`` in the checkpoint's header, ``final`` True for
the save ``end()`` makes (the Estimator records there whether the call is complete);
when the last step was already saved mid-call with other meta than the final one,
``end()`` writes it once more with the final meta (no listener calls, no log of a new
checkpoint).

Saves during training go to disk on a background thread (the writer): the hook
copies the variables (a snapshot, on the training thread) and the writer does
the checksum, the write, the fsyncs, the state file and the rotation while
training goes on. At most one save is in flight; the next save, ``end()`` (whose
final save is synchronous) and :meth:`CheckpointSaverHook.wait_for_pending_save`
wait for it and re-raise its error. With listeners every save is synchronous,
so ``after_save`` always sees the file. A synchronous save writes the variables
from the session's storage directly (no snapshot: nothing runs meanwhile).

Both hooks declare when they are next due (``next_due``): a loop calls them only
on the runs where their timer can trigger.

Sessions passed to these hooks must provide ``run(fetches)`` and
``get_variable_values() -> {name: array}`` (estcore's Session does). Must not:
import the loop (``estcore.estimator``); the checkpoint format and rotation belong
to :mod:`estcore.checkpoint`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from estcore.checkpoint.saver import Saver
from estcore.graph.session import Session
from estcore.hooks.basic_hooks import require_global_step
from estcore.hooks.schedule import Due, SecondOrStepTimer
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook
from estcore.summary import FileWriterCache, SessionLog
from estcore.summary.ops import SummaryOp, fetches_of, merge, merge_all, summary_values

__all__ = ["CheckpointSaverListener", "CheckpointSaverHook", "SummarySaverHook"]

logger = logging.getLogger("estcore")


class CheckpointSaverListener:
    """Callbacks around each checkpoint save. ``after_save`` returning True stops training."""

    def begin(self) -> None:
        pass

    def before_save(self, session: Any, global_step_value: int) -> None:
        pass

    def after_save(self, session: Any, global_step_value: int) -> bool | None:
        return None

    def end(self, session: Any, global_step_value: int) -> None:
        pass


class _BackgroundWriter:
    """Runs one save job at a time on its own (non-daemon) thread.

    Ownership: a job owns the value snapshot it was given and is the only user of
    the hook's Saver while it runs; the hook calls :meth:`wait` before it touches
    the Saver again. ``_thread`` and ``_error`` are only read and written by the
    hook's thread, except ``_error``, which the job sets before its thread ends
    (``join`` orders that write before the read in :meth:`wait`).
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, job: Callable[[], Any]) -> None:
        self.wait()
        thread = threading.Thread(target=self._run, args=(job,),
                                  name="estcore-checkpoint-writer")
        self._thread = thread
        thread.start()

    def _run(self, job: Callable[[], Any]) -> None:
        try:
            job()
        except BaseException as e:  # noqa: BLE001 - handed to the training thread
            self._error = e

    def wait(self) -> None:
        """Block until the job in flight is done; raise its exception, if any."""
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error


def _variable_values(session: Any, var_list: list | None, snapshot: bool) -> dict:
    """The values to save: copies (``snapshot``, training goes on while they are
    written) or, from an estcore Session, views of its storage (a synchronous save:
    nothing runs until the file is written)."""
    if not snapshot and isinstance(session, Session):
        return session.get_variable_values(var_list, copy=False)
    if var_list is None:
        return session.get_variable_values()
    return session.get_variable_values(var_list)


class CheckpointSaverHook(SessionRunHook):
    """Saves checkpoints every N steps or N seconds (TF's ``CheckpointSaverHook``).

    Args:
        checkpoint_dir: directory of the checkpoints, state file and events.
        save_secs / save_steps: exactly one.
        saver: a :class:`Saver` (default: the scaffold's, else a new Saver that
            continues the rotation recorded in ``checkpoint_dir``).
        checkpoint_basename: file prefix, ``model.ckpt``.
        scaffold: a Scaffold whose ``saver`` is used (not together with ``saver``).
        listeners: :class:`CheckpointSaverListener` list.
        save_graph_def: write the graph into the event file of ``checkpoint_dir`` when
            the session is created (TensorBoard's Graphs tab; there is no graph.pbtxt).
        meta_fn: optional ``(step: int, final: bool) -> dict`` stored in each
            checkpoint's header; ``final`` is True for the save ``end()`` makes (the
            call ended normally).
        var_list: variables to save (default: everything the session returns from
            ``get_variable_values()``).
    """

    def __init__(self, checkpoint_dir: str, save_secs: float | None = None,
                 save_steps: int | None = None, saver: Saver | None = None,
                 checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: Sequence[CheckpointSaverListener] | None = None,
                 save_graph_def: bool = True, meta_fn: Callable[[int, bool], dict] | None = None,
                 var_list: Sequence[Any] | None = None, clock: Callable[[], float] = time.time):
        logger.info("Create CheckpointSaverHook.")
        self._var_list = list(var_list) if var_list is not None else None
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = os.fspath(checkpoint_dir)
        self._save_path = os.path.join(self._checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps,
                                        clock=clock)
        self._listeners = list(listeners or [])
        for listener in self._listeners:
            if not isinstance(listener, CheckpointSaverListener):
                raise TypeError("saving_listeners must be a list of CheckpointSaverListener, "
                                f"given: {listener}")
        self._save_graph_def = save_graph_def
        self._meta_fn = meta_fn
        self._steps_per_run = 1
        self._writer = _BackgroundWriter()
        self._saved_meta: dict | None = None  # the meta of the last save

    @property
    def listeners(self) -> list[CheckpointSaverListener]:
        return self._listeners

    def add_listeners(self, listeners: Sequence[CheckpointSaverListener]) -> None:
        self._listeners.extend(listeners)

    def begin(self) -> None:
        self._summary_writer = FileWriterCache.get(self._checkpoint_dir)
        self._global_step_tensor = require_global_step("CheckpointSaverHook")
        self._step_args = SessionRunArgs(self._global_step_tensor)  # same every step
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._save_graph_def:  # as TF, at the start of every train() call
            self._summary_writer.add_graph(session.graph)
        global_step = int(session.run(self._global_step_tensor))
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return self._step_args

    def after_run(self, run_context: Any, run_values: Any) -> None:
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                self._timer.update_last_triggered_step(global_step)
                if self._save(run_context.session, global_step):
                    run_context.request_stop()

    def next_due(self) -> Due | None:
        # after_run acts when the timer triggers for the fetched step + steps_per_run
        return self._timer.next_due(lead=self._steps_per_run)

    def end(self, session: Any) -> None:
        self._writer.wait()
        last_step = int(session.run(self._global_step_tensor))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step, background=False, final=True)
        elif self._meta_fn is not None and self._meta_fn(last_step, True) != self._saved_meta:
            # saved at this step mid-call with other meta: again, with the final meta
            self._save(session, last_step, background=False, final=True, announce=False)
        for listener in self._listeners:
            listener.end(session, last_step)

    def wait_for_pending_save(self) -> None:
        """Wait for a save still being written (after training stopped on an error);
        raises that save's error, if it failed."""
        self._writer.wait()

    def _get_saver(self) -> Saver:
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None and getattr(self._scaffold, "saver", None) is not None:
            return self._scaffold.saver
        saver = Saver()
        saver.recover_last_checkpoints(self._checkpoint_dir)
        self._saver = saver
        return saver

    def _save(self, session: Any, step: int, background: bool = True, final: bool = False,
              announce: bool = True) -> bool:
        """Save at ``step`` (on the writer thread when ``background`` and no listener
        waits for the file); True if a listener asked to stop. ``final``: the save of
        ``end()``; ``announce``: call the listeners and log the save as a new one."""
        meta = self._saved_meta = (self._meta_fn(step, final) if self._meta_fn is not None
                                   else None)
        if not announce:
            values = _variable_values(session, self._var_list, snapshot=False)
            self._writer.wait()
            self._get_saver().save(values, self._save_path, global_step=step, meta=meta)
            return False
        logger.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        logger.info("Saving checkpoints for %d into %s.", step, self._save_path)
        background = background and not self._listeners
        values = _variable_values(session, self._var_list, snapshot=background)
        self._writer.wait()  # the previous save is done with the Saver
        job = functools.partial(self._get_saver().save, values, self._save_path,
                                global_step=step, meta=meta)
        if background:
            self._writer.submit(job)
        else:
            job()
        self._summary_writer.add_session_log(
            SessionLog(SessionLog.CHECKPOINT, self._save_path), step)
        logger.info("Calling checkpoint listeners after saving checkpoint %d...", step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                logger.info("A CheckpointSaverListener requested that training be stopped. "
                            "listener: %s", listener)
                should_stop = True
        return should_stop


class SummarySaverHook(SessionRunHook):
    """Writes the graph's summaries every N steps or seconds (TF's ``SummarySaverHook``).

    Args:
        save_steps / save_secs: exactly one.
        output_dir: event file directory (cached writer), or ``summary_writer``.
        scaffold: summaries from ``scaffold.summary_op`` or, if None, the graph's
            SUMMARIES collection. Exactly one of ``scaffold`` and ``summary_op``.
        summary_op: a summary op or a list of them (``estcore.summary.scalar`` ...).
    """

    def __init__(self, save_steps: int | None = None, save_secs: float | None = None,
                 output_dir: str | None = None, summary_writer: Any = None,
                 scaffold: Any = None, summary_op: Any = None,
                 clock: Callable[[], float] = time.time):
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op = summary_op
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps,
                                        clock=clock)

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._next_step: int | None = None
        self._global_step_tensor = require_global_step("SummarySaverHook")
        self._ops = self._get_summary_op()
        # the two requests, built once (tuples: the hooked session may reuse them)
        self._step_args = SessionRunArgs(self._global_step_tensor)
        self._summary_args = (SessionRunArgs((self._global_step_tensor,
                                              tuple(fetches_of(self._ops))))
                              if self._ops else self._step_args)

    def _get_summary_op(self) -> list | None:
        op = self._summary_op
        if op is None and self._scaffold is not None:
            op = getattr(self._scaffold, "summary_op", None)
            if op is None:
                op = merge_all()
        if op is None:
            return None
        return [op] if isinstance(op, SummaryOp) else merge(list(op))

    def before_run(self, run_context: Any) -> SessionRunArgs:
        self._request_summary = (self._next_step is None
                                 or self._timer.should_trigger_for_step(self._next_step))
        return self._summary_args if self._request_summary else self._step_args

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if not self._summary_writer:
            return
        results = run_values.results
        with_summary = type(results) is tuple
        stale_global_step = int(results[0] if with_summary else results)
        global_step = stale_global_step + 1
        if self._next_step is None or self._request_summary:
            global_step = int(run_context.session.run(self._global_step_tensor))
        if self._next_step is None:
            self._summary_writer.add_session_log(SessionLog(SessionLog.START), global_step)
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            if with_summary:
                values = summary_values(self._ops, results[1])
                self._summary_writer.add_summary(values, global_step)
        self._next_step = global_step + 1

    def next_due(self) -> Due | None:
        if not self._summary_writer:
            return Due()  # nothing is ever written (TF fetches the summaries, unused)
        if self._next_step is None:
            return None
        # before_run asks the timer about _next_step, which after_run sets from the step
        # fetched (+ 2 on a run without summaries): to decide as TF on the run where the
        # timer triggers, the hook must have run on the run before it, hence lead 2.
        return self._timer.next_due(lead=2)

    def end(self, session: Any = None) -> None:
        if self._summary_writer:
            self._summary_writer.flush()

