"""Hooks that write files during training: checkpoints and summaries.

``CheckpointSaverHook`` saves right after the session is created (the state at
the current global step), on its steps/secs cadence, and in ``end()`` when the
last step was not saved yet; never after an exception (so a NaN loss cannot
overwrite the last good checkpoint). Log lines are TF's.

Sessions passed to these hooks must provide ``run(fetches)`` and
``get_variable_values() -> {name: array}`` (estcore's Session does).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from estcore.estimator.basic_hooks import SecondOrStepTimer, _require_global_step
from estcore.estimator.saver import Saver
from estcore.estimator.session_run_hook import SessionRunArgs, SessionRunHook
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
        save_graph_def: kept for TF compatibility (estcore writes no graph file).
        meta_fn: optional ``() -> dict`` stored in each checkpoint's header.
        var_list: variables to save (default: everything the session returns from
            ``get_variable_values()``).
    """

    def __init__(self, checkpoint_dir: str, save_secs: float | None = None,
                 save_steps: int | None = None, saver: Saver | None = None,
                 checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: Sequence[CheckpointSaverListener] | None = None,
                 save_graph_def: bool = True, meta_fn: Callable[[], dict] | None = None,
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

    @property
    def listeners(self) -> list[CheckpointSaverListener]:
        return self._listeners

    def add_listeners(self, listeners: Sequence[CheckpointSaverListener]) -> None:
        self._listeners.extend(listeners)

    def begin(self) -> None:
        self._summary_writer = FileWriterCache.get(self._checkpoint_dir)
        self._global_step_tensor = _require_global_step("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Any, coord: Any) -> None:
        global_step = int(session.run(self._global_step_tensor))
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                self._timer.update_last_triggered_step(global_step)
                if self._save(run_context.session, global_step):
                    run_context.request_stop()

    def end(self, session: Any) -> None:
        last_step = int(session.run(self._global_step_tensor))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _get_saver(self) -> Saver:
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None and getattr(self._scaffold, "saver", None) is not None:
            return self._scaffold.saver
        saver = Saver()
        saver.recover_last_checkpoints(self._checkpoint_dir)
        self._saver = saver
        return saver

    def _save(self, session: Any, step: int) -> bool:
        """Save at ``step``; True if a listener asked to stop."""
        logger.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        logger.info("Saving checkpoints for %d into %s.", step, self._save_path)
        meta = self._meta_fn() if self._meta_fn is not None else None
        values = (session.get_variable_values() if self._var_list is None
                  else session.get_variable_values(self._var_list))
        self._get_saver().save(values, self._save_path,
                               global_step=step, meta=meta)
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
        self._global_step_tensor = _require_global_step("SummarySaverHook")
        self._ops = self._get_summary_op()

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
        requests: dict[str, Any] = {"global_step": self._global_step_tensor}
        if self._request_summary and self._ops:
            requests["summary"] = fetches_of(self._ops)
        return SessionRunArgs(requests)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if not self._summary_writer:
            return
        stale_global_step = int(run_values.results["global_step"])
        global_step = stale_global_step + 1
        if self._next_step is None or self._request_summary:
            global_step = int(run_context.session.run(self._global_step_tensor))
        if self._next_step is None:
            self._summary_writer.add_session_log(SessionLog(SessionLog.START), global_step)
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            if "summary" in run_values.results:
                values = summary_values(self._ops, run_values.results["summary"])
                self._summary_writer.add_summary(values, global_step)
        self._next_step = global_step + 1

    def end(self, session: Any = None) -> None:
        if self._summary_writer:
            self._summary_writer.flush()
