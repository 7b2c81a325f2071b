"""Early stopping hooks (TF's ``tf.estimator.experimental.stop_if_*``).

Each hook re-reads the evaluation event files (``estimator.eval_dir()`` unless
``eval_dir`` is given) every ``run_every_secs`` seconds or ``run_every_steps``
global steps and requests stop when the predicate holds. estcore trains in one
process, so the stop is not broadcast through a ``signal_early_stopping/STOP``
variable as TF does for other workers.

Must not: import the loop (``estcore.estimator``); it reads evaluation results
only through the event files.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable
from typing import Any

from estcore.hooks.basic_hooks import require_global_step
from estcore.hooks.schedule import Due, SecondOrStepTimer
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook
from estcore.summary.reader import read_eval_metrics

__all__ = ["make_early_stopping_hook", "stop_if_higher_hook", "stop_if_lower_hook",
           "stop_if_no_increase_hook", "stop_if_no_decrease_hook", "read_eval_metrics"]

logger = logging.getLogger("estcore")


class _StopOnPredicateHook(SessionRunHook):
    def __init__(self, should_stop_fn: Callable[[], bool], run_every_secs: float | None = 60,
                 run_every_steps: int | None = None, clock: Callable[[], float] = time.time):
        if not callable(should_stop_fn):
            raise TypeError("`should_stop_fn` must be callable.")
        self._should_stop_fn = should_stop_fn
        self._timer = SecondOrStepTimer(every_secs=run_every_secs, every_steps=run_every_steps,
                                        clock=clock)

    def begin(self) -> None:
        self._global_step_tensor = require_global_step("early stopping hooks")
        self._step_args = SessionRunArgs(self._global_step_tensor)  # same every step

    def before_run(self, run_context: Any) -> SessionRunArgs:
        return self._step_args

    def after_run(self, run_context: Any, run_values: Any) -> None:
        global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(global_step):
            self._timer.update_last_triggered_step(global_step)
            if self._should_stop_fn():
                logger.info("Requesting early stopping at global step %d", global_step)
                run_context.request_stop()

    def next_due(self) -> Due | None:
        # after_run acts when the timer triggers for the global step fetched
        return self._timer.next_due()


def make_early_stopping_hook(estimator: Any, should_stop_fn: Callable[[], bool],
                             run_every_secs: float | None = 60,
                             run_every_steps: int | None = None) -> SessionRunHook:
    """A hook that stops training when ``should_stop_fn()`` returns True.

    Args:
        estimator: the Estimator being trained.
        should_stop_fn: no-argument predicate.
        run_every_secs / run_every_steps: how often to call it (not both).
    """
    if run_every_secs is not None and run_every_steps is not None:
        raise ValueError("Only one of run_every_secs and run_every_steps can be set.")
    return _StopOnPredicateHook(should_stop_fn, run_every_secs, run_every_steps)


def _metric_by_step(eval_dir: str, metric_name: str, min_steps: int):
    """``(step, value of metric_name)`` of every evaluation at step >= ``min_steps``,
    ascending; ValueError when an evaluation lacks the metric."""
    for step, metrics in read_eval_metrics(eval_dir).items():
        if step < min_steps:
            continue
        if metric_name not in metrics:
            raise ValueError(f'Metric "{metric_name}" not found in eval results at step '
                             f"{step}: {sorted(metrics)}")
        yield step, metrics[metric_name]


def _threshold_hook(estimator: Any, metric_name: str, threshold: float, higher: bool,
                    eval_dir: str | None, min_steps: int, run_every_secs: float | None,
                    run_every_steps: int | None) -> SessionRunHook:
    eval_dir = eval_dir or estimator.eval_dir()
    better = operator.gt if higher else operator.lt
    words = "greater than" if higher else "less than"

    def should_stop() -> bool:
        for step, value in _metric_by_step(eval_dir, metric_name, min_steps):
            if better(value, threshold):
                logger.info('At step %s, metric "%s" has value %s which is %s the configured '
                            "threshold (%s) for early stopping.", step, metric_name, value,
                            words, threshold)
                return True
        return False

    return make_early_stopping_hook(estimator, should_stop, run_every_secs, run_every_steps)


def _no_improvement_hook(estimator: Any, metric_name: str, max_steps: int, higher: bool,
                         eval_dir: str | None, min_steps: int, run_every_secs: float | None,
                         run_every_steps: int | None) -> SessionRunHook:
    eval_dir = eval_dir or estimator.eval_dir()
    better = operator.gt if higher else operator.lt
    word = "increase" if higher else "decrease"

    def should_stop() -> bool:
        best_value = None
        best_step = None
        for step, value in _metric_by_step(eval_dir, metric_name, min_steps):
            if best_value is None or better(value, best_value):
                best_value, best_step = value, step
            if step - best_step >= max_steps:
                logger.info('No %s in metric "%s" for %s steps, which is greater than or equal '
                            "to max steps (%s) configured for early stopping.", word,
                            metric_name, step - best_step, max_steps)
                return True
        return False

    return make_early_stopping_hook(estimator, should_stop, run_every_secs, run_every_steps)


def stop_if_higher_hook(estimator: Any, metric_name: str, threshold: float,
                        eval_dir: str | None = None, min_steps: int = 0,
                        run_every_secs: float | None = 60,
                        run_every_steps: int | None = None) -> SessionRunHook:
    """Stop once ``metric_name`` > ``threshold`` in an evaluation at step >= min_steps."""
    return _threshold_hook(estimator, metric_name, threshold, True, eval_dir, min_steps,
                           run_every_secs, run_every_steps)


def stop_if_lower_hook(estimator: Any, metric_name: str, threshold: float,
                       eval_dir: str | None = None, min_steps: int = 0,
                       run_every_secs: float | None = 60,
                       run_every_steps: int | None = None) -> SessionRunHook:
    """Stop once ``metric_name`` < ``threshold``."""
    return _threshold_hook(estimator, metric_name, threshold, False, eval_dir, min_steps,
                           run_every_secs, run_every_steps)


def stop_if_no_increase_hook(estimator: Any, metric_name: str,
                             max_steps_without_increase: int, eval_dir: str | None = None,
                             min_steps: int = 0, run_every_secs: float | None = 60,
                             run_every_steps: int | None = None) -> SessionRunHook:
    """Stop when the best ``metric_name`` is ``max_steps_without_increase`` steps old."""
    return _no_improvement_hook(estimator, metric_name, max_steps_without_increase, True,
                                eval_dir, min_steps, run_every_secs, run_every_steps)


def stop_if_no_decrease_hook(estimator: Any, metric_name: str,
                             max_steps_without_decrease: int, eval_dir: str | None = None,
                             min_steps: int = 0, run_every_secs: float | None = 60,
                             run_every_steps: int | None = None) -> SessionRunHook:
    """Stop when the lowest ``metric_name`` is ``max_steps_without_decrease`` steps old."""
    return _no_improvement_hook(estimator, metric_name, max_steps_without_decrease, False,
                                eval_dir, min_steps, run_every_secs, run_every_steps)
