"""The standard hooks: stop at a step, log tensors, NaN check, step counter,
final ops, feed functions, the evaluation's step limit (TF's
``basic_session_run_hooks`` and ``_StopAfterNEvalsHook``).

Log texts are TF's, through the ``estcore`` logger. Every timer takes a
``clock`` (``time.time`` by default) so tests can drive time. Each hook declares
when it is next due (``next_due``, see :mod:`estcore.hooks.schedule`) so that a
loop need not call it on the runs where it would only count; its counters come
from the global step it fetches or from ``run_context.iteration``, so they are
right whichever runs it was called on.

Must not: import the loop (``estcore.estimator``) or run anything at import time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from math import isnan
from typing import Any

import numpy as np

from estcore.errors import OutOfRangeError
from estcore.graph.global_step import get_global_step
from estcore.graph.ir import get_default_graph
from estcore.hooks.schedule import Due, NeverTriggerTimer, SecondOrStepTimer
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook
from estcore.summary import FileWriterCache, scalar_value

__all__ = [
    "SecondOrStepTimer",
    "NeverTriggerTimer",
    "StopAtStepHook",
    "LoggingTensorHook",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "StepCounterHook",
    "FinalOpsHook",
    "FeedFnHook",
    "StopAfterNEvalsHook",
    "global_step_summary_tag",
    "require_global_step",
]

logger = logging.getLogger("estcore")

_FLOAT_SCALARS = (float, np.float32, np.float64, np.float16)


def require_global_step(hook_name: str) -> Any:
    """The default graph's global step; RuntimeError (TF's text) when it has none."""
    gs = get_global_step()
    if gs is None:
        raise RuntimeError(f"Global step should be created to use {hook_name}.")
    return gs


def global_step_summary_tag(global_step: Any) -> str:
    """``global_step/sec`` (from the global step variable's op name, as TF)."""
    op = getattr(global_step, "op", None)
    name = getattr(op, "name", None) or str(getattr(global_step, "name", "global_step"))
    return name.split(":")[0] + "/sec"


def _as_graph_element(obj: Any) -> Any:
    """``obj``, or the default graph's tensor named ``obj`` (TF's rule: a name without
    ``:`` means its op's output 0, and is ambiguous when the op has an output 1)."""
    if not isinstance(obj, str):
        return obj
    graph = get_default_graph()
    if ":" in obj:
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj + ":0")
    try:
        graph.as_graph_element(obj + ":1")
    except (KeyError, ValueError):
        return element
    raise ValueError(f"Name {obj} is ambiguous, as this `Operation` has multiple outputs "
                     "(at least 2).")


class StopAtStepHook(SessionRunHook):
    """Requests stop at a global step.

    Args:
        num_steps: steps to run from the global step at session creation.
        last_step: absolute global step to stop at. Exactly one is required.
    """

    def __init__(self, num_steps: int | None = None, last_step: int | None = None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    @property
    def last_step(self) -> int | None:
        return self._last_step

    def begin(self) -> None:
        self._global_step_tensor = require_global_step("StopAtStepHook")
        self._step_args = SessionRunArgs(self._global_step_tensor)  # same every step

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._last_step is None:
            global_step = int(session.run(self._global_step_tensor))
            self._last_step = global_step + self._num_steps

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return self._step_args

    def after_run(self, run_context: Any, run_values: Any) -> None:
        global_step = run_values.results + 1
        if global_step >= self._last_step:
            step = run_context.session.run(self._global_step_tensor)
            if step >= self._last_step:
                run_context.request_stop()

    def next_due(self) -> Due | None:
        # after_run acts once the global step fetched (before the run) + 1 reaches it
        return None if self._last_step is None else Due(step=self._last_step - 1)


def _format_value(value: Any) -> str:
    with np.printoptions(suppress=True):
        return str(value)


class LoggingTensorHook(SessionRunHook):
    """Logs tensors every N local iterations or N seconds, and/or at the end.

    Text: ``tag1 = v1, tag2 = v2 (0.123 sec)`` with tags sorted when ``tensors``
    is a dict (given order for a list), the elapsed time omitted on the first
    line; or ``formatter(values_dict)``. Tensors may be given by name (``"x:0"``;
    ``"x"`` means ``"x:0"``, as in TF).
    """

    def __init__(self, tensors: dict | list | tuple, every_n_iter: int | None = None,
                 every_n_secs: float | None = None, at_end: bool = False,
                 formatter: Callable[[dict], str] | None = None,
                 clock: Callable[[], float] = time.time):
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and "
                             "every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(tensors, dict):
            self._tag_order = list(tensors)
            tensors = {item: item for item in tensors}
        else:
            self._tag_order = sorted(tensors)
        self._tensors = tensors
        self._formatter = formatter
        self._timer = (NeverTriggerTimer(clock) if only_log_at_end else
                       SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter,
                                         clock=clock))
        self._log_at_end = at_end

    def begin(self) -> None:
        self._timer.reset()
        self._iter_count = 0  # the iteration of the next run
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def before_run(self, run_context: Any) -> SessionRunArgs | None:
        if run_context.iteration is not None:
            self._iter_count = run_context.iteration
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        if self._should_trigger:
            return SessionRunArgs(self._current_tensors)
        return None

    def _log_tensors(self, values: dict) -> None:
        elapsed, _ = self._timer.update_last_triggered_step(self._iter_count)
        if self._formatter:
            logger.info(self._formatter(values))  # always called: it may have side effects
            return
        if not logger.isEnabledFor(logging.INFO):
            return  # nothing would be printed: skip the formatting (~100 us per line)
        stats = ", ".join(f"{tag} = {_format_value(values[tag])}" for tag in self._tag_order)
        if elapsed is not None:
            logger.info("%s (%.3f sec)", stats, elapsed)
        else:
            logger.info("%s", stats)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def next_due(self) -> Due | None:
        return self._timer.next_due(by="iteration")

    def end(self, session: Any) -> None:
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class NanLossDuringTrainingError(RuntimeError):
    """Training produced a NaN loss (``str()`` is ``NaN loss during training.``)."""

    def __str__(self) -> str:
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Stops (raising by default) when the loss is NaN; runs every step.

    Args:
        loss_tensor: the loss.
        fail_on_nan_loss: raise :class:`NanLossDuringTrainingError` (True) or only
            log a warning and request stop (False).
    """

    def __init__(self, loss_tensor: Any, fail_on_nan_loss: bool = True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss
        self._args = SessionRunArgs(loss_tensor)  # the same request every step

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return self._args

    def after_run(self, run_context: Any, run_values: Any) -> None:
        value = run_values.results
        if type(value) in _FLOAT_SCALARS:
            is_nan = isnan(value)  # a C call: no numpy dispatch on the per-step path
        else:
            is_nan = bool(np.any(np.isnan(value)))
        if is_nan:
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                logger.error(message)
                raise NanLossDuringTrainingError
            logger.warning(message)
            run_context.request_stop()


class StepCounterHook(SessionRunHook):
    """Logs ``global_step/sec: %g`` and writes it as a summary.

    Args:
        every_n_steps / every_n_secs: exactly one.
        output_dir: where the ``global_step/sec`` summary goes (cached writer).
        summary_writer: a writer to use instead.
    """

    def __init__(self, every_n_steps: int | None = 100, every_n_secs: float | None = None,
                 output_dir: str | None = None, summary_writer: Any = None,
                 clock: Callable[[], float] = time.time):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs,
                                        clock=clock)
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._last_global_step: int | None = None
        self._step_moved = False
        self._last_iteration: int | None = None
        self._steps_per_run = 1
        self._warned = 0

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._global_step_tensor = require_global_step("StepCounterHook")
        self._step_args = SessionRunArgs(self._global_step_tensor)  # same every step
        self._summary_tag = global_step_summary_tag(self._global_step_tensor)

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return self._step_args

    def _log_and_record(self, elapsed_steps: int, elapsed_time: float, global_step: int) -> None:
        steps_per_sec = elapsed_steps / elapsed_time if elapsed_time > 0 else float("inf")
        if self._summary_writer is not None:
            self._summary_writer.add_summary(scalar_value(self._summary_tag, steps_per_sec),
                                             int(global_step))
        logger.info("%s: %g", self._summary_tag, steps_per_sec)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(global_step)
                if elapsed_time is not None:
                    self._log_and_record(elapsed_steps, elapsed_time, global_step)
        if stale_global_step == self._last_global_step and self._warned < 5:
            self._warned += 1
            logger.warning(
                "It seems that global step (tf.train.get_global_step) has not been "
                "increased. Current value (could be stable): %s vs previous value: %s. You "
                "could increase the global step by passing tf.train.get_global_step() to "
                "Optimizer.apply_gradients or Optimizer.minimize.",
                stale_global_step, self._last_global_step)
        self._step_moved = (self._last_global_step is not None
                            and stale_global_step != self._last_global_step)
        self._last_global_step = stale_global_step
        self._last_iteration = run_context.iteration

    def next_due(self) -> Due | None:
        # The warning compares the step fetched with the one of the previous call: the
        # hook runs every step until it has seen the global step move between two calls.
        if not self._step_moved:
            return None
        # after_run acts when the timer triggers for the fetched step + steps_per_run
        due = self._timer.next_due(lead=self._steps_per_run)
        if due is not None and due.step is not None and self._last_iteration is not None:
            # also on the run where a step growing by one per run would get there, so
            # that a global step that stops moving later is still noticed (and warned
            # about, from then on every step) within one period
            due = due._replace(iteration=self._last_iteration + due.step
                               - self._last_global_step)
        return due

    def end(self, session: Any) -> None:
        if self._summary_writer is not None:
            self._summary_writer.flush()


class FinalOpsHook(SessionRunHook):
    """Runs ``final_ops`` once at the end; the values are in ``final_ops_values``."""

    def __init__(self, final_ops: Any, final_ops_feed_dict: dict | None = None):
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self) -> Any:
        return self._final_ops_values

    def end(self, session: Any) -> None:
        if self._final_ops is None:
            return
        try:
            self._final_ops_values = session.run(self._final_ops,
                                                 feed_dict=self._final_ops_feed_dict)
        except (OutOfRangeError, StopIteration):
            logger.warning(
                "An OutOfRangeError or StopIteration exception is raised by the code in "
                "FinalOpsHook. This typically means the Ops running by the FinalOpsHook have "
                "a dependency back to some input source, which should not happen. For "
                "example, for metrics in tf.estimator.Estimator, all metrics functions return "
                "two Ops: `value_op` and  `update_op`. Estimator.evaluate calls the "
                "`update_op` for each batch of the data in input source and, once it is "
                "exhausted, it call the `value_op` to get the metric values. The `value_op` "
                "here should have dependency back to variables reading only, rather than "
                "reading another batch from input. Otherwise, the `value_op`, executed by "
                "`FinalOpsHook`, triggers another data reading, which ends "
                "OutOfRangeError/StopIteration. Please fix that.")
            raise


class FeedFnHook(SessionRunHook):
    """Adds ``feed_fn()`` (a feed dict) to every step."""

    def __init__(self, feed_fn: Callable[[], dict]):
        if not callable(feed_fn):
            raise TypeError(f"`feed_fn` must be callable. Received: feed_fn={feed_fn!r}")
        self.feed_fn = feed_fn

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())


class StopAfterNEvalsHook(SessionRunHook):
    """Stops evaluation after ``num_evals`` steps, logging ``Evaluation [k/N]``.

    Logs every step when N < 20, else every ``floor(N / 10)`` steps and at N;
    ``Evaluation [k]`` every step without N. ``k`` is the run's iteration + 1.
    """

    def __init__(self, num_evals: int | None, log_progress: bool = True):
        self._num_evals = num_evals
        self._log_progress = log_progress
        self._log_frequency = (1 if (num_evals is None or num_evals < 20)
                               else math.floor(num_evals / 10.0))
        self._evals_completed = 0

    def begin(self) -> None:
        self._evals_completed = 0

    def after_run(self, run_context: Any, run_values: Any) -> None:
        iteration = run_context.iteration
        done = self._evals_completed + 1 if iteration is None else iteration + 1
        self._evals_completed = done
        if self._log_progress:
            if self._num_evals is None:
                logger.info("Evaluation [%d]", done)
            elif done % self._log_frequency == 0 or done == self._num_evals:
                logger.info("Evaluation [%d/%d]", done, self._num_evals)
        if self._num_evals is not None and done >= self._num_evals:
            run_context.request_stop()

    def next_due(self) -> Due | None:
        n, done = self._num_evals, self._evals_completed
        if n is None:
            return None if self._log_progress else Due()
        last = n  # the run that completes evaluation ``n`` (iteration n - 1)
        if self._log_progress:  # or the next multiple of the log frequency
            last = min(last, (done // self._log_frequency + 1) * self._log_frequency)
        return Due(iteration=max(last, done + 1) - 1)
