"""``Estimator.export_saved_model``, the estimator's side: trace PREDICT, name signatures.

Calls the serving input receiver fn and the model_fn (PREDICT) in a fresh graph,
turns the spec's ``export_outputs`` into TF's signatures (classify / regress /
predict, one per receiver alternative too), then hands them to
:func:`estcore.export.writer.write_saved_model`, which writes the directory.
:func:`from_estimator` (TF1's ``tf.contrib.predictor.from_estimator``) traces the same
graph and runs one signature in a session restored from the newest checkpoint.

Package order: ``estcore.export`` (format, receivers, writer, exporters) sits
below the estimator and never imports it; this module is where the two meet.
Must not write files itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from estcore.checkpoint import state as cs
from estcore.estimator._session_setup import create_session
from estcore.estimator.mode_keys import ModeKeys
from estcore.export.export_output import (
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    ClassificationOutput,
    RegressionOutput,
)
from estcore.export.receivers import ServingInputReceiver, TensorServingInputReceiver
from estcore.export.writer import write_saved_model
from estcore.graph.global_step import get_or_create_global_step
from estcore.graph.ir import Graph
from estcore.graph.random import set_random_seed
from estcore.saved_model.contrib_predictor import SessionPredictor

if TYPE_CHECKING:  # annotations only: estimator.py imports this module
    from estcore.estimator.estimator import Estimator

__all__ = ["export_saved_model", "build_signatures", "from_estimator"]

logger = logging.getLogger("estcore")

_FRIENDLY_METHOD_NAMES = (("classify", "Classify"), ("regress", "Regress"),
                          ("predict", "Predict"), ("train", "Train"), ("eval", "Eval"))


def _method_name(output: Any) -> str:
    if isinstance(output, ClassificationOutput):
        return "classify"
    if isinstance(output, RegressionOutput):
        return "regress"
    return "predict"


def _signature_inputs(method: str, receiver_tensors: dict) -> dict:
    """A classify / regress signature fed one serialized-Example string tensor names it
    ``inputs`` (TF Serving's Classify/Regress APIs); otherwise the receiver's keys."""
    if method != "predict" and len(receiver_tensors) == 1:
        (t,) = receiver_tensors.values()
        if t.dtype.is_string:
            return {"inputs": t}
    return dict(receiver_tensors)


def build_signatures(receiver: Any, export_outputs: dict) -> dict:
    """Signature name -> ``(method_name, inputs dict, outputs dict)`` (TF's naming)."""
    sigs = {}
    for key, output in export_outputs.items():
        method = _method_name(output)
        sigs[key] = (method, _signature_inputs(method, receiver.receiver_tensors),
                     dict(output.outputs))
    for alt, tensors in (receiver.receiver_tensors_alternatives or {}).items():
        for key, output in export_outputs.items():
            method = _method_name(output)
            sigs[f"{alt}:{key}"] = (method, _signature_inputs(method, tensors),
                                    dict(output.outputs))
    return sigs


def _log_signature_report(signatures: dict) -> None:
    by_method: dict[str, list[str]] = {m: [] for m, _ in _FRIENDLY_METHOD_NAMES}
    for name, (method, _, _) in signatures.items():
        by_method[method].append(name)
    for method, friendly in _FRIENDLY_METHOD_NAMES:
        names = by_method[method]
        logger.info("Signatures INCLUDED in export for %s: %s", friendly,
                    names if names else "None")
    if DEFAULT_SERVING_SIGNATURE_DEF_KEY not in signatures:
        logger.warning("Export includes no default signature!")


def _resolve_checkpoint(estimator: Estimator, checkpoint_path: Any) -> str:
    """The checkpoint to export: the given one, else the newest of model_dir that loads
    (the choice train / evaluate / predict make: a damaged newest checkpoint is skipped
    with a WARNING, and checkpoint files of which none loads are an error), else the
    warm-start source."""
    if checkpoint_path:
        return os.fspath(checkpoint_path)
    ckpt = cs.restorable_checkpoint(estimator.model_dir)
    if ckpt:
        return ckpt
    warm = estimator._warm_start_settings
    if warm is not None:
        src = os.fspath(warm.ckpt_to_initialize_from)
        ckpt = cs.latest_checkpoint(src) if os.path.isdir(src) else src
        if ckpt:
            return ckpt
    raise ValueError(f"Couldn't find trained model at {estimator.model_dir}.")


def export_saved_model(estimator: Estimator, export_dir_base: Any,
                       serving_input_receiver_fn: Callable | None,
                       assets_extra: dict | None = None, as_text: bool = False,
                       checkpoint_path: Any = None,
                       experimental_mode: str = ModeKeys.PREDICT) -> bytes:
    """Implementation of :meth:`Estimator.export_saved_model` (see its docstring).

    Traces the PREDICT graph from the receiver and the model_fn, builds one
    signature per export output, then writes the directory
    (:func:`estcore.export.writer.write_saved_model`).
    """
    if not serving_input_receiver_fn:
        raise ValueError("An input_receiver_fn must be defined.")
    if experimental_mode != ModeKeys.PREDICT:
        raise ValueError(f"estcore exports the PREDICT graph only; experimental_mode="
                         f"{experimental_mode!r} is not supported.")
    ckpt = _resolve_checkpoint(estimator, checkpoint_path)
    graph = Graph()
    with graph.as_default():
        set_random_seed(estimator.config.tf_random_seed)
        receiver, spec = _trace_serving(estimator, serving_input_receiver_fn)
    export_outputs = spec.export_outputs or {}
    signatures = build_signatures(receiver, export_outputs)
    _log_signature_report(signatures)
    return write_saved_model(export_dir_base, signatures, ckpt, graph.seed,
                             DEFAULT_SERVING_SIGNATURE_DEF_KEY, assets_extra)


def _trace_serving(estimator: Estimator, serving_input_receiver_fn: Callable) -> tuple:
    """``(receiver, spec)``: the receiver fn and the model_fn (PREDICT) traced into the
    default graph, with a global step."""
    get_or_create_global_step()
    receiver = serving_input_receiver_fn()
    if not isinstance(receiver, (ServingInputReceiver, TensorServingInputReceiver)):
        raise TypeError("serving_input_receiver_fn must return a ServingInputReceiver or "
                        f"TensorServingInputReceiver, got {type(receiver).__name__}")
    spec = estimator._call_model_fn(receiver.features, None, ModeKeys.PREDICT,
                                    estimator.config)
    return receiver, spec


class CoreEstimatorPredictor(SessionPredictor):
    """TF's predictor over an Estimator (see :func:`from_estimator`)."""


def from_estimator(estimator: Estimator, serving_input_receiver_fn: Callable,
                   output_key: str | None = None, graph: Graph | None = None,
                   config: Any = None) -> CoreEstimatorPredictor:
    """A predictor running one export output of ``estimator`` (TF1's
    ``tf.contrib.predictor.from_estimator``), without writing an export.

    The receiver fn and the model_fn (PREDICT) are traced into ``graph`` (default a new
    one; the graph-level seed is ``config.tf_random_seed`` for a new graph), the session
    restores the newest checkpoint of ``model_dir`` that loads (without one, the
    variables are initialized, or warm-started, as ``predict`` does) and the graph is
    finalized, as TF's MonitoredSession does.

    Args:
        estimator: the Estimator.
        serving_input_receiver_fn: returns a ServingInputReceiver.
        output_key: the export output to run (default ``serving_default``).
        graph: the graph to build in.
        config: the Session's config (default the estimator's session config).

    Returns:
        A predictor: ``predict_fn({key: array})`` -> dict of numpy arrays, with
        ``feed_tensors`` (the receiver tensors) and ``fetch_tensors``.

    Raises:
        KeyError: ``output_key`` is not one of the spec's export outputs.
    """
    fresh = graph is None
    graph = Graph() if fresh else graph
    with graph.as_default():
        if fresh:
            set_random_seed(estimator.config.tf_random_seed)
        receiver, spec = _trace_serving(estimator, serving_input_receiver_fn)
    key = DEFAULT_SERVING_SIGNATURE_DEF_KEY if output_key is None else output_key
    export_outputs = spec.export_outputs or {}
    if key not in export_outputs:
        raise KeyError(f"output_key must be one of {export_outputs.keys()}; got {key}")
    _, inputs, outputs = build_signatures(receiver, {key: export_outputs[key]})[key]
    ckpt = cs.restorable_checkpoint(estimator.model_dir)
    if ckpt is None:
        logger.info("Could not find trained model in model_dir: %s, running initialization "
                    "to predict.", estimator.model_dir)
    warm = estimator._warm_start_settings if ckpt is None else None
    session_config = estimator._session_config if config is None else config
    with graph.as_default():
        session = create_session(graph, session_config, ckpt, warm, spec.scaffold)
    graph.finalize()
    return CoreEstimatorPredictor(graph, session, inputs, outputs)
