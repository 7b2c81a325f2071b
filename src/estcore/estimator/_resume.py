"""Exact resume of an interrupted ``train()`` call: what its checkpoints say, what to do.

Every checkpoint a training call writes carries, in its header's meta::

    "train_call": {"input_seed": <the seed input_fn was called with>,
                   "complete": <True only for the save made when the call ended>},
    "input_state": <the input stream's get_state(), when it has one>

A call that restores a checkpoint of a call that did not complete (killed, or
ended by an exception) is that call again: input_fn is called with the same seed
and offered the stored input position (:func:`estcore.inputs.resume.resume_scope`),
so a numpy_input_fn stream continues with the very next batch of the same order.
Any other restore (a completed call, a checkpoint without this meta) starts a new
call: the seed is derived from the global step at its start, as before. A stored
position at the end of a finite stream counts as complete (nothing is left to
resume: the next call starts a new order).

Owns that decision and its log lines. Must not build graphs or call input_fn.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from estcore.checkpoint.format import CheckpointCorruptError, read_header_unverified
from estcore.inputs.source import derive_input_seed

__all__ = ["InputPlan", "plan_input", "report_resume", "train_call_meta"]

logger = logging.getLogger("estcore")


@dataclass(frozen=True)
class InputPlan:
    """How a train call starts its input.

    Attributes:
        seed: the seed ``input_fn`` is called with (None: no seed).
        state: the input position to offer (None: start at the beginning).
        interrupted: the restored checkpoint was written by a call that did not
            complete (so its input should continue, not start over).
    """

    seed: int | None
    state: dict | None
    interrupted: bool


def _checkpoint_meta(checkpoint: str | None) -> dict:
    if not checkpoint:
        return {}
    try:
        meta = read_header_unverified(checkpoint).get("meta", {})
    except (OSError, CheckpointCorruptError):  # the restore itself reports it
        return {}
    return meta if isinstance(meta, dict) else {}


def _exhausted(state: dict) -> bool:
    """True for a numpy_input_fn position at the end of its finite stream."""
    epochs, epoch = state.get("num_epochs"), state.get("epoch")
    return (type(epochs) is int and type(epoch) is int and epochs > 0 and epoch >= epochs)


def plan_input(checkpoint: str | None, tf_random_seed: int | None, start_step: int,
               num_shards: int = 1) -> InputPlan:
    """The input plan of a train call restoring ``checkpoint`` at ``start_step``.

    Args:
        checkpoint: the prefix the call restores (None: a fresh model_dir).
        tf_random_seed: ``RunConfig.tf_random_seed``.
        start_step: the global step the call starts at.
        num_shards: processes sharing each global batch; with more than one the
            position is not offered (only the chief reads the checkpoint, see
            docs/reliability.md) and the input restarts with the interrupted
            call's seed.
    """
    meta = _checkpoint_meta(checkpoint)
    call = meta.get("train_call")
    if not isinstance(call, dict) or call.get("complete") is not False:
        return InputPlan(derive_input_seed(tf_random_seed, start_step), None, False)
    state = meta.get("input_state")
    if not isinstance(state, dict) or not state:
        state = None
    if state is not None and _exhausted(state):
        return InputPlan(derive_input_seed(tf_random_seed, start_step), None, False)
    seed = call.get("input_seed")
    if seed is not None and type(seed) is not int:
        seed = derive_input_seed(tf_random_seed, start_step)
    return InputPlan(seed, state if num_shards == 1 else None, True)


def report_resume(plan: InputPlan, stream: Any, start_step: int, warned: set) -> None:
    """Log how the input of an interrupted call continues (WARNING once per input kind
    in ``warned`` when it cannot continue where it stopped)."""
    if not plan.interrupted:
        return
    if getattr(stream, "resumed", False):
        logger.info("Resuming the interrupted train() call at global step %d: the input "
                    "continues at batch %s of the same order.", start_step,
                    (plan.state or {}).get("batches_consumed"))
        return
    kind = (type(stream).__name__ if stream is not None
            else "batches from a generator, a list or a single batch")
    if kind in warned:
        return
    warned.add(kind)
    logger.warning(
        "Resuming an interrupted train() call at global step %d, but its input (%s) cannot "
        "continue where it stopped: it restarts from its beginning, so some examples are "
        "seen again. numpy_input_fn streams resume exactly (docs/reliability.md).",
        start_step, kind)


def train_call_meta(source: Any, input_seed: int | None, last_step: int | None) -> Any:
    """``meta_fn(step, final) -> dict`` for the CheckpointSaverHook of a train call: the
    ``train_call`` record and the input stream's state (when it has a JSON one). The
    call is complete in the save ``end()`` makes and in any save at ``last_step`` (the
    step ``steps`` / ``max_steps`` stop the call at, when given): nothing is left to run,
    so ``end()`` need not write that step again."""
    get_state = getattr(getattr(source, "stream", None), "get_state", None)

    def meta(step: int, final: bool = False) -> dict:
        complete = final or (last_step is not None and step >= last_step)
        out: dict = {"train_call": {"input_seed": input_seed, "complete": complete}}
        if get_state is not None:
            try:
                state = get_state()
                json.dumps(state)
            except (TypeError, ValueError, RuntimeError):
                return out
            out["input_state"] = state
        return out

    return meta
