"""``TrainSpec``, ``EvalSpec`` and ``train_and_evaluate`` (local flow), as TF's.

Local flow (no cluster in TF_CONFIG): ``estimator.train`` is called ONCE with an
extra CheckpointSaverListener; every checkpoint save after the first (the save
at session start) triggers an evaluation of the latest checkpoint unless one
happened less than ``throttle_secs`` ago; at the end of training the final
step is evaluated if it was not. After each evaluation every exporter of the
EvalSpec is called with ``model_dir/export/<exporter name>``.

Distributed flow (a cluster in TF_CONFIG, or ``mpiexec -n W``; see
``estcore.distribute``): ``chief`` and ``worker`` tasks train together with the
MPIStrategy (synchronous, so workers start without TF's start delay). The
chief evaluates after checkpoints as in the local flow only under ``mpiexec``
(no evaluator task can exist there); in a TF_CONFIG job the ``evaluator`` task
evaluates each new checkpoint (spec 7.3): after ``start_delay_secs``, then at
most every ``throttle_secs``, until the evaluated global step reaches
``max_steps``. ``ps`` tasks are not supported.

Owns the two specs and the evaluate-after-checkpoint flow. Must not import the
export package (exporters are checked by protocol: a ``name`` and an ``export``
method) and must not run steps itself: training and evaluation are the
Estimator's ``train()`` / ``evaluate()``.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from estcore.distribute.membership import mpi_cluster_view
from estcore.estimator.cluster import TaskType
from estcore.hooks.basic_hooks import SecondOrStepTimer
from estcore.hooks.checkpoint_hooks import CheckpointSaverListener
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["TrainSpec", "EvalSpec", "train_and_evaluate"]

logger = logging.getLogger("estcore")


def _validate_input_fn(input_fn: Any) -> None:
    if not callable(input_fn):
        raise TypeError(f"`input_fn` must be callable, given: {input_fn}")


def _validate_hooks(hooks: Any) -> tuple:
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"All hooks must be `SessionRunHook` instances, given: {hook}")
    return hooks


def _validate_saving_listeners(listeners: Any) -> tuple:
    listeners = tuple(listeners or [])
    for listener in listeners:
        if not isinstance(listener, CheckpointSaverListener):
            raise TypeError("All saving_listeners must be `CheckpointSaverListener` instances, "
                            f"given: {listener}")
    return listeners


def _is_exporter(obj: Any) -> bool:
    """An exporter by protocol: a ``name`` attribute and a callable ``export`` (TF's
    ``tf.estimator.Exporter`` interface; the base class lives in ``estcore.export``)."""
    return hasattr(obj, "name") and callable(getattr(obj, "export", None))


def _validate_exporters(exporters: Any) -> tuple:
    if exporters is None:
        return ()
    if _is_exporter(exporters):
        exporters = [exporters]
    names: list[str] = []
    try:
        exporters = list(exporters)
        for exporter in exporters:
            if not _is_exporter(exporter):
                raise TypeError
            if not exporter.name:
                raise ValueError("An Exporter cannot have a name that is `None` or empty. All "
                                 f"exporter names: {[e.name for e in exporters]}")
            if not isinstance(exporter.name, str):
                raise ValueError(
                    f"An Exporter must have a string name. Given: {type(exporter.name)}")
            if exporter.name in names:
                raise ValueError("`exporters` must have unique names. Such a name cannot be "
                                 f"`None`. All exporter names: {[e.name for e in exporters]}")
            names.append(exporter.name)
    except TypeError:
        raise TypeError("`exporters` must be an Exporter, an iterable of Exporter, or `None`, "
                        f"found {exporters}.") from None
    return tuple(exporters)


class TrainSpec(collections.namedtuple("TrainSpec",
                                       ["input_fn", "max_steps", "hooks", "saving_listeners"])):
    """What ``train_and_evaluate`` trains: input_fn, max_steps (None or > 0), hooks."""

    def __new__(cls, input_fn: Callable, max_steps: int | None = None, hooks: Any = None,
                saving_listeners: Any = None):
        _validate_input_fn(input_fn)
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        return super().__new__(cls, input_fn, max_steps, _validate_hooks(hooks),
                               _validate_saving_listeners(saving_listeners))


class EvalSpec(collections.namedtuple("EvalSpec", [
        "input_fn", "steps", "name", "hooks", "exporters", "start_delay_secs",
        "throttle_secs"])):
    """How ``train_and_evaluate`` evaluates (steps None or > 0, delays >= 0)."""

    def __new__(cls, input_fn: Callable, steps: int | None = 100, name: str | None = None,
                hooks: Any = None, exporters: Any = None, start_delay_secs: float = 120,
                throttle_secs: float = 600):
        _validate_input_fn(input_fn)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be string, given: {name}")
        hooks = _validate_hooks(hooks)
        exporters = _validate_exporters(exporters)
        if start_delay_secs < 0:
            raise ValueError(f"Must specify start_delay_secs >= 0, given: {start_delay_secs}")
        if throttle_secs < 0:
            raise ValueError(f"Must specify throttle_secs >= 0, given: {throttle_secs}")
        return super().__new__(cls, input_fn, steps, name, hooks, exporters, start_delay_secs,
                               throttle_secs)


class _Evaluator:
    def __init__(self, estimator: Any, eval_spec: EvalSpec, max_training_steps: int | None):
        self._estimator = estimator
        self._eval_spec = eval_spec
        self._max_training_steps = max_training_steps
        self._previous_ckpt_path: str | None = None

    def evaluate_and_export(self) -> tuple[dict | None, list]:
        latest = self._estimator.latest_checkpoint()
        if not latest:
            logger.warning("Estimator is not trained yet. Will start an evaluation when a "
                           "checkpoint is ready.")
            return None, []
        if latest == self._previous_ckpt_path:
            logger.warning("No new checkpoint ready for evaluation. Skip the current evaluation "
                           "pass as evaluation results are expected to be same for the same "
                           "checkpoint.")
            return None, []
        metrics = self._estimator.evaluate(
            input_fn=self._eval_spec.input_fn, steps=self._eval_spec.steps,
            name=self._eval_spec.name, checkpoint_path=latest, hooks=self._eval_spec.hooks)
        if not isinstance(metrics, dict) or "global_step" not in metrics:
            raise TypeError("Estimator.evaluate must return a dict with `global_step`, got "
                            f"{metrics!r}")
        final = (metrics["global_step"] >= self._max_training_steps
                 if self._max_training_steps else False)
        base = os.path.join(str(self._estimator.model_dir), "export")
        results = [exporter.export(estimator=self._estimator,
                                   export_path=os.path.join(base, exporter.name),
                                   checkpoint_path=latest, eval_result=metrics,
                                   is_the_final_export=final)
                   for exporter in self._eval_spec.exporters]
        self._previous_ckpt_path = latest
        return metrics, results


class _NewCheckpointListenerForEvaluate(CheckpointSaverListener):
    def __init__(self, evaluator: _Evaluator, throttle_secs: float,
                 clock: Callable[[], float] = time.time):
        self._evaluator = evaluator
        self._throttle_secs = throttle_secs
        self._clock = clock
        self.eval_result: dict | None = None
        self.export_results: list | None = None

    def begin(self) -> None:
        self._timer = SecondOrStepTimer(every_secs=self._throttle_secs, clock=self._clock)
        self._is_first_run = True

    def after_save(self, session: Any, global_step_value: int) -> None:
        if self._is_first_run:
            self._is_first_run = False
            return None
        if self._timer.should_trigger_for_step(global_step_value):
            self._evaluate(global_step_value)
        else:
            logger.info("Skip the current checkpoint eval due to throttle secs (%s secs).",
                        self._throttle_secs)
        return None

    def end(self, session: Any, global_step_value: int) -> None:
        if global_step_value != self._timer.last_triggered_step():
            self._evaluate(global_step_value)

    def _evaluate(self, global_step_value: int) -> None:
        self._timer.update_last_triggered_step(global_step_value)
        metrics, exports = self._evaluator.evaluate_and_export()
        if metrics is None:
            raise RuntimeError("There was no new checkpoint after the training. Eval status: "
                               "missing checkpoint")
        self.eval_result, self.export_results = metrics, exports


def train_and_evaluate(estimator: Any, train_spec: TrainSpec,
                       eval_spec: EvalSpec) -> tuple[dict | None, list | None]:
    """Train, evaluating after checkpoints (local flow of TF's ``train_and_evaluate``).

    Returns:
        ``(last eval metrics dict, last export results)``, or ``(None, None)`` if
        no evaluation happened.
    """
    if not isinstance(eval_spec, EvalSpec):
        raise TypeError(f"`eval_spec` must have type `tf.estimator.EvalSpec`. "
                        f"Got: {type(eval_spec)}")
    if not all(hasattr(estimator, a) for a in ("train", "evaluate", "config", "model_dir",
                                               "latest_checkpoint")):
        raise TypeError("`estimator` must have type `tf.estimator.Estimator`. "
                        f"Got: {type(estimator)}")
    if not isinstance(train_spec, TrainSpec):
        raise TypeError(f"`train_spec` must have type `tf.estimator.TrainSpec`. "
                        f"Got: {type(train_spec)}")
    config = estimator.config
    if config.task_type == TaskType.EVALUATOR and config.task_id > 0:
        raise ValueError("For distributed training, there can only be one `evaluator` task "
                         f"(with task id 0).  Given task id {config.task_id}")
    if config.task_type == TaskType.EVALUATOR:
        return _run_evaluator(estimator, train_spec, eval_spec)
    if config.cluster_spec:
        if config.task_type not in (TaskType.CHIEF, TaskType.WORKER):
            raise ValueError(f"Task type {config.task_type} is not supported by estcore's "
                             "distributed train_and_evaluate. Supported task types are "
                             "['chief', 'worker', 'evaluator'].")
        under_mpiexec = (mpi_cluster_view() is not None
                         and not os.environ.get("TF_CONFIG", "").strip())
        logger.info("Running distributed training (estcore.distribute, task %s:%s).",
                    config.task_type, config.task_id)
        if not (config.is_chief and under_mpiexec):
            estimator.train(input_fn=train_spec.input_fn, max_steps=train_spec.max_steps,
                            hooks=list(train_spec.hooks),
                            saving_listeners=(list(train_spec.saving_listeners)
                                              if config.is_chief else None))
            return None, None
    else:
        logger.info("Running training and evaluation locally (non-distributed).")
    logger.info("Start train and evaluate loop. The evaluate will happen after every "
                "checkpoint. Checkpoint frequency is determined based on RunConfig "
                "arguments: save_checkpoints_steps %s or save_checkpoints_secs %s.",
                config.save_checkpoints_steps, config.save_checkpoints_secs)
    evaluator = _Evaluator(estimator, eval_spec, train_spec.max_steps)
    listener = _NewCheckpointListenerForEvaluate(evaluator, eval_spec.throttle_secs)
    estimator.train(input_fn=train_spec.input_fn, max_steps=train_spec.max_steps,
                    hooks=list(train_spec.hooks),
                    saving_listeners=list(train_spec.saving_listeners) + [listener])
    return listener.eval_result, listener.export_results


def _run_evaluator(estimator: Any, train_spec: TrainSpec, eval_spec: EvalSpec,
                   clock: Callable[[], float] = time.time,
                   sleep: Callable[[float], None] = time.sleep) -> tuple[dict | None, list | None]:
    """The ``evaluator`` task: evaluate every new checkpoint until ``max_steps`` (spec 7.3)."""
    logger.info("Waiting %s secs before starting evaluation.", eval_spec.start_delay_secs)
    sleep(eval_spec.start_delay_secs)
    evaluator = _Evaluator(estimator, eval_spec, train_spec.max_steps)
    last: tuple[dict | None, list | None] = (None, None)
    while True:
        start = clock()
        metrics, exports = evaluator.evaluate_and_export()
        if metrics is not None:
            last = (metrics, exports)
            step = int(metrics["global_step"])
            if train_spec.max_steps and step >= train_spec.max_steps:
                logger.info("Exiting evaluation, global_step=%s >= train max_steps=%s",
                            step, train_spec.max_steps)
                return last
        left = eval_spec.throttle_secs - (clock() - start)
        if left > 0:
            logger.info("Waiting %f secs before starting next eval run.", left)
            sleep(left)
        elif metrics is None:
            sleep(1.0)  # no new checkpoint and no throttle: poll, do not spin
