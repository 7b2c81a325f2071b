"""Evaluation and prediction helpers of the Estimator (pure Python, TF's texts).

Owns formatting an evaluation's results (``dict_to_str``), writing them and the
checkpoint path as summaries to the eval directory, picking ``predict_keys`` and the
batch length of predictions, and TF's reserved metric names. Must not: run a session
or hooks (``estimator.py`` does); hold TF's evaluation loop.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from estcore.summary.summary_pb import decode_summary, scalar_value, tensor_value, text_value
from estcore.summary.writer import FileWriterCache

__all__ = ["dict_to_str", "write_dict_to_summary", "write_checkpoint_path_to_summary",
           "extract_keys", "extract_batch_length",
           "check_reserved_metric_names"]

logger = logging.getLogger("estcore")


def dict_to_str(dictionary: dict) -> str:
    """``a = 1.0, global_step = 5, loss = 0.3`` (sorted keys, bytes values omitted)."""
    return ", ".join(f"{k} = {v!s}" for k, v in sorted(dictionary.items())
                     if not isinstance(v, bytes))


def write_dict_to_summary(output_dir: str, dictionary: dict, current_global_step: int) -> None:
    """One Summary at ``current_global_step`` with every float/int result (TF's rules)."""
    logger.info("Saving dict for global step %d: %s", current_global_step,
                dict_to_str(dictionary))
    writer = FileWriterCache.get(output_dir)
    values = []
    for key, value in dictionary.items():
        if value is None or key == "global_step":
            continue
        if isinstance(value, (np.floating, float)) or (
                isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "f"):
            values.append(scalar_value(key, float(value)))
        elif isinstance(value, (np.integer, int)) and not isinstance(value, bool):
            values.append(scalar_value(key, int(value)))
        elif isinstance(value, bytes):
            try:
                parsed = decode_summary(value)
            except ValueError:
                logger.warning("Skipping summary for %s, cannot parse string to Summary.", key)
                continue
            for i, v in enumerate(parsed):
                v.tag = f"{key}/{i}"
                values.append(v)
        elif isinstance(value, np.ndarray):
            values.append(tensor_value(key, value))
            logger.info("Summary for np.ndarray is not visible in Tensorboard by default. "
                        "Consider using a Tensorboard plugin for visualization.")
        else:
            logger.warning("Skipping summary for %s, must be a float, np.float32, np.int64, "
                           "np.int32 or int or np.ndarray or a serialized string of Summary.",
                           key)
    writer.add_summary(values, int(current_global_step))
    writer.flush()


def write_checkpoint_path_to_summary(output_dir: str, checkpoint_path: str,
                                     current_global_step: int) -> None:
    """The ``checkpoint_path`` string summary of an evaluation."""
    logger.info("Saving 'checkpoint_path' summary for global step %d: %s",
                current_global_step, checkpoint_path)
    writer = FileWriterCache.get(output_dir)
    writer.add_summary(text_value("checkpoint_path", checkpoint_path), int(current_global_step))
    writer.flush()


def extract_keys(predictions: Any, predict_keys: Any) -> Any:
    """Keep only ``predict_keys`` of dict predictions (TF's rules and messages)."""
    if not predict_keys:
        return predictions
    if not isinstance(predictions, dict):
        raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
    existing = predictions.keys()
    kept = {k: v for k, v in predictions.items() if k in predict_keys}
    if not kept:
        raise ValueError(f"Expected to run at least one output from {existing}, provided "
                         f"{predict_keys}.")
    return kept


def extract_batch_length(preds: dict) -> int:
    """The common first dimension of dict predictions."""
    length = None
    for key, value in preds.items():
        n = np.shape(value)[0] if np.ndim(value) else None
        if n is None:
            raise ValueError(f"Prediction {key} has no batch dimension (shape "
                             f"{np.shape(value)}); use yield_single_examples=False.")
        length = length if length is not None else n
        if n != length:
            raise ValueError("Batch length of predictions should be same. "
                             f"{key} has different batch length than others.")
    return int(length or 0)


def check_reserved_metric_names(eval_metric_ops: dict) -> None:
    if "loss" in eval_metric_ops:
        raise ValueError('Metric with name "loss" is not allowed, because Estimator already '
                         "defines a default metric with the same name.")
    if "global_step" in eval_metric_ops:
        raise ValueError("Metric with name `global_step` is not allowed, because Estimator "
                         "already defines a default metric with the same name.")
