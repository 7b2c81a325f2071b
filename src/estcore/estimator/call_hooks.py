"""The hooks an Estimator call runs: the user's, checked, plus TF's standard set in TF's order.

Owns the type checks of ``hooks`` / ``saving_listeners`` arguments and the
training hook list (NaN check, checkpoint saver with its listeners, step
counter, summaries, loss logging, the model_fn's own hooks), including what a
non-chief process leaves out. Must not run anything: it builds lists of hook
objects; the loop that calls them is :mod:`estcore.estimator.monitored_session`.
"""

from __future__ import annotations

from typing import Any

from estcore.checkpoint.saver import Saver
from estcore.graph.variables import global_variables
from estcore.hooks.basic_hooks import LoggingTensorHook, NanTensorHook, StepCounterHook
from estcore.hooks.checkpoint_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    SummarySaverHook,
)
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["check_hooks_type", "check_listeners_type", "train_hooks"]


def check_hooks_type(hooks: Any) -> list:
    """``hooks`` as a list; TypeError naming the first one that is not a SessionRunHook."""
    hooks = list(hooks or [])
    for h in hooks:
        if not isinstance(h, SessionRunHook):
            raise TypeError(f"Hooks must be a SessionRunHook, given: {h}")
    return hooks


def check_listeners_type(listeners: Any) -> list:
    """``listeners`` as a list; TypeError unless each is a CheckpointSaverListener."""
    listeners = list(listeners or [])
    for listener in listeners:
        if not isinstance(listener, CheckpointSaverListener):
            raise TypeError("saving_listeners must be a list of CheckpointSaverListener, "
                            f"given: {listener}")
    return listeners


def train_hooks(config: Any, spec: Any, global_step: Any, user_hooks: list,
                stop_hooks: list, listeners: list, meta_fn: Any = None,
                is_chief: bool = True, resumed_from: str | None = None) -> tuple[list, list]:
    """``(chief hooks, worker hooks)`` of a training call, each list in TF's order.

    Args:
        config: the Estimator's RunConfig (``model_dir`` set).
        spec: the TRAIN EstimatorSpec.
        global_step: the graph's global step variable.
        user_hooks: the ``hooks`` argument of ``train()``.
        stop_hooks: the StopAtStepHook of ``steps`` / ``max_steps`` (or nothing).
        listeners: the ``saving_listeners`` argument (need a CheckpointSaverHook).
        meta_fn: ``(final) -> dict`` stored in each checkpoint's header (the train
            call's record and input position, :mod:`estcore.estimator._resume`).
        is_chief: False on a non-chief process: no checkpoints, no summaries.
        resumed_from: the checkpoint the call restored: rotation never deletes a
            newer one.
    """
    model_dir = config.model_dir
    chief_hooks: list = []
    if not is_chief:  # only the chief writes checkpoints and summaries
        worker_hooks = list(user_hooks) + list(stop_hooks)
        if config.log_step_count_steps:
            worker_hooks.append(LoggingTensorHook({"loss": spec.loss, "step": global_step},
                                                  every_n_iter=config.log_step_count_steps))
        return [NanTensorHook(spec.loss)], worker_hooks + list(spec.training_hooks)
    all_user = user_hooks + list(spec.training_chief_hooks) + list(spec.training_hooks)
    saver_hooks = [h for h in all_user if isinstance(h, CheckpointSaverHook)]
    if (config.save_checkpoints_secs or config.save_checkpoints_steps) and not saver_hooks:
        saver = getattr(spec.scaffold, "saver", None)
        if saver is None:
            saver = Saver(max_to_keep=config.keep_checkpoint_max,
                          keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours,
                          checkpoint_format=config.checkpoint_format)
            saver.recover_last_checkpoints(model_dir, resumed_from)
        hook = CheckpointSaverHook(
            model_dir, save_secs=config.save_checkpoints_secs,
            save_steps=config.save_checkpoints_steps, saver=saver,
            var_list=global_variables(),
            save_graph_def=config.checkpoint_save_graph_def,
            meta_fn=meta_fn)
        chief_hooks.append(hook)
        saver_hooks = [hook]
    if listeners:
        if not saver_hooks:
            raise ValueError(
                "There should be a CheckpointSaverHook to use saving_listeners. Please set "
                "one of the RunConfig.save_checkpoints_steps or "
                "RunConfig.save_checkpoints_secs.")
        saver_hooks[0].add_listeners(listeners)
    chief_hooks += list(spec.training_chief_hooks)
    if config.log_step_count_steps:
        chief_hooks.append(StepCounterHook(every_n_steps=config.log_step_count_steps,
                                           output_dir=model_dir))
    if config.save_summary_steps:
        chief_hooks.append(SummarySaverHook(save_steps=config.save_summary_steps,
                                            output_dir=model_dir, scaffold=spec.scaffold))
    worker_hooks = list(user_hooks) + list(stop_hooks)
    if config.log_step_count_steps:
        worker_hooks.append(LoggingTensorHook({"loss": spec.loss, "step": global_step},
                                              every_n_iter=config.log_step_count_steps))
    worker_hooks += list(spec.training_hooks)
    # NaN check first: a NaN step must never reach a checkpoint save.
    return [NanTensorHook(spec.loss)] + chief_hooks, worker_hooks
