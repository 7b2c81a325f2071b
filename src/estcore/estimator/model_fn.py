"""``EstimatorSpec``: what a model_fn returns, validated per mode as TF's.

Owns ``EstimatorSpec`` (per-mode checks of ``loss``, ``train_op``, ``predictions``,
``eval_metric_ops``, ``export_outputs``, hooks) and ``Scaffold``. Must not: run a
session or the hooks; know how the Estimator uses a spec (``estimator.py`` and
``exporting.py`` do); build ops beyond reshaping a one-element loss to a scalar.
"""

from __future__ import annotations

import collections
from typing import Any

from estcore.estimator.mode_keys import ModeKeys
from estcore.export.export_output import (
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    ExportOutput,
    PredictOutput,
)
from estcore.graph.ir import Operation, get_default_graph
from estcore.graph.ops.array_ops import reshape
from estcore.graph.ops.core import is_tensor
from estcore.graph.variables import Variable
from estcore.hooks.session_run_hook import SessionRunHook
from estcore.nest import flatten

__all__ = ["EstimatorSpec", "Scaffold"]

_GRAPH_ERROR = (
    '{0} with "{1}" must be from the default graph. Possible causes of this error '
    "include: \n\n1) {0} was created outside the context of the default graph.\n\n"
    "2) The object passed through to EstimatorSpec was not created in the most recent "
    'call to "model_fn".')


class Scaffold:
    """How a session is prepared (TF's ``tf.train.Scaffold``).

    All fields are optional. estcore's loop uses ``init_fn(scaffold, session)``
    (called after variables are initialised from scratch, not on restore),
    ``init_feed_dict`` and ``saver``; ``summary_op`` replaces the merged
    SUMMARIES collection. The other fields are kept for TF compatibility.
    """

    def __init__(self, init_op: Any = None, init_feed_dict: dict | None = None,
                 init_fn: Any = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None,
                 summary_op: Any = None, saver: Any = None,
                 copy_from_scaffold: Scaffold | None = None,
                 local_init_feed_dict: dict | None = None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")

            def pick(value: Any, name: str) -> Any:
                return value if value is not None else getattr(copy_from_scaffold, name)

            init_op = pick(init_op, "init_op")
            init_feed_dict = pick(init_feed_dict, "init_feed_dict")
            init_fn = pick(init_fn, "init_fn")
            ready_op = pick(ready_op, "ready_op")
            ready_for_local_init_op = pick(ready_for_local_init_op, "ready_for_local_init_op")
            local_init_op = pick(local_init_op, "local_init_op")
            local_init_feed_dict = pick(local_init_feed_dict, "local_init_feed_dict")
            summary_op = pick(summary_op, "summary_op")
            saver = pick(saver, "saver")
        if init_fn is not None and not callable(init_fn):
            raise TypeError(f"`init_fn` must be callable. Received: init_fn={init_fn!r}")
        self.init_op = init_op
        self.init_feed_dict = init_feed_dict
        self.init_fn = init_fn
        self.ready_op = ready_op
        self.ready_for_local_init_op = ready_for_local_init_op
        self.local_init_op = local_init_op
        self.local_init_feed_dict = local_init_feed_dict
        self.summary_op = summary_op
        self.saver = saver

    def finalize(self) -> Scaffold:
        """Kept for TF compatibility; estcore's loop needs no finalisation."""
        return self


def _check_is_tensor_or_operation(x: Any, name: str) -> None:
    if not (isinstance(x, Operation) or is_tensor(x)):
        raise TypeError(f"{name} must be Operation or Tensor, given: {x}")


def _check_is_tensor(x: Any, name: str) -> Any:
    if not is_tensor(x):
        raise TypeError(f"{name} must be Tensor, given: {x}")
    return x


def _check_graph(x: Any, field: str, graph: Any) -> None:
    if graph is None:
        return
    xg = getattr(x, "graph", None)
    if xg is not graph:
        raise ValueError(_GRAPH_ERROR.format(field, getattr(x, "name", x)))


def _shape_list(t: Any) -> list | None:
    shape = t.get_shape() if hasattr(t, "get_shape") else getattr(t, "shape", None)
    if shape is None:
        return None
    if hasattr(shape, "as_list"):
        if getattr(shape, "rank", 0) is None:
            return None
        try:
            return list(shape.as_list())
        except ValueError:
            return None
    return list(shape)


def _validate_train_op(train_op: Any, mode: str, graph: Any) -> Any:
    if train_op is None:
        if mode == ModeKeys.TRAIN:
            raise ValueError("Missing train_op.")
        return None
    _check_is_tensor_or_operation(train_op, "train_op")
    if isinstance(train_op, Variable):
        train_op = train_op.op
    _check_graph(train_op, "train_op", graph)
    return train_op


def _validate_loss(loss: Any, mode: str, graph: Any) -> Any:
    if loss is None:
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
            raise ValueError("Missing loss.")
        return None
    loss = _check_is_tensor(loss, "loss")
    dims = _shape_list(loss)
    if dims is not None:
        if None in dims:
            # TF accepts an unknown size here and fails in the first run's Reshape; a loss
            # of shape [None] is nearly always the per-example losses of the batch.
            raise ValueError(f"Loss must be scalar, given: {loss} (a dimension of unknown "
                             "size, usually the batch: reduce the per-example losses, e.g. "
                             "with reduce_mean)")
        n = 1
        for d in dims:
            n *= d
        if n != 1:
            raise ValueError(f"Loss must be scalar, given: {loss}")
        if dims:  # e.g. [1] or [1, 1]: make it a scalar, as TF does
            loss = reshape(loss, [])
    _check_graph(loss, "loss", graph)
    return loss


def _validate_predictions(predictions: Any, mode: str, graph: Any) -> Any:
    if predictions is None:
        if mode == ModeKeys.PREDICT:
            raise ValueError("Missing predictions.")
        return {}
    if isinstance(predictions, dict):
        predictions = {k: _check_is_tensor(v, f"predictions[{k}]")
                       for k, v in predictions.items()}
        for v in predictions.values():
            _check_graph(v, "prediction values", graph)
    else:
        predictions = _check_is_tensor(predictions, "predictions")
        _check_graph(predictions, "prediction values", graph)
    return predictions


def _validate_eval_metric_ops(eval_metric_ops: Any, graph: Any) -> dict:
    if eval_metric_ops is None:
        return {}
    if not isinstance(eval_metric_ops, dict):
        raise TypeError(f"eval_metric_ops must be a dict, given: {eval_metric_ops}")
    for key, value in eval_metric_ops.items():
        if not isinstance(value, tuple) or len(value) != 2:
            raise TypeError(
                "Values of eval_metric_ops must be (metric_value, update_op) tuples, "
                f"given: {value} for key: {key}")
    for value in eval_metric_ops.values():
        for part in value:
            for leaf in flatten(part):
                if is_tensor(leaf) or isinstance(leaf, Operation):
                    _check_graph(leaf, "eval_metric_ops", graph)
    return dict(eval_metric_ops)


def _validate_export_outputs(export_outputs: Any, predictions: Any, mode: str) -> Any:
    if mode != ModeKeys.PREDICT:
        return export_outputs
    if export_outputs is None:
        export_outputs = {DEFAULT_SERVING_SIGNATURE_DEF_KEY: PredictOutput(predictions)}
    if not isinstance(export_outputs, dict):
        raise TypeError(f"export_outputs must be dict, given: {export_outputs}")
    for value in export_outputs.values():
        if not isinstance(value, ExportOutput):
            raise TypeError("Values in export_outputs must be ExportOutput objects. "
                            f"Given: {export_outputs}")
    export_outputs = dict(export_outputs)
    if len(export_outputs) == 1:
        ((key, value),) = export_outputs.items()
        if key != DEFAULT_SERVING_SIGNATURE_DEF_KEY:
            export_outputs[DEFAULT_SERVING_SIGNATURE_DEF_KEY] = value
    if len(export_outputs) > 1 and DEFAULT_SERVING_SIGNATURE_DEF_KEY not in export_outputs:
        raise ValueError(
            "Multiple export_outputs were provided, but none of them is specified as the "
            "default.  Do this by naming one of them with "
            "signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY.")
    return export_outputs


def _validate_hooks(hooks: Any) -> tuple:
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"All hooks must be SessionRunHook instances, given: {hook}")
    return hooks


def _validate_scaffold(scaffold: Any) -> Scaffold:
    scaffold = scaffold or Scaffold()
    if not isinstance(scaffold, Scaffold):
        raise TypeError(f"scaffold must be tf.train.Scaffold. Given: {scaffold}")
    return scaffold


_FIELDS = ["mode", "predictions", "loss", "train_op", "eval_metric_ops", "export_outputs",
           "training_chief_hooks", "training_hooks", "scaffold", "evaluation_hooks",
           "prediction_hooks"]


class EstimatorSpec(collections.namedtuple("EstimatorSpec", _FIELDS)):
    """Ops and objects a ``model_fn`` returns (TF's ``tf.estimator.EstimatorSpec``).

    Args:
        mode: a :class:`ModeKeys` value (not validated, as TF).
        predictions: Tensor or dict of Tensors; required in PREDICT.
        loss: scalar Tensor (or one element); required in TRAIN and EVAL. Shape
            ``[1]`` is reshaped to a scalar. A shape with a dimension of unknown size
            (e.g. ``[None]``, the per-example losses) is a ValueError here; TF accepted
            it and failed in the first run's Reshape.
        train_op: Operation or Tensor; required in TRAIN, ignored otherwise.
        eval_metric_ops: dict name -> ``(value, update_op)``.
        export_outputs: dict name -> :class:`ExportOutput` (PREDICT only).
        training_chief_hooks, training_hooks, evaluation_hooks, prediction_hooks:
            iterables of SessionRunHook, stored as tuples.
        scaffold: a :class:`Scaffold` (default: an empty one).

    Raises:
        ValueError / TypeError with TF's messages (spec 4.2).
    """

    def __new__(cls, mode: str, predictions: Any = None, loss: Any = None,
                train_op: Any = None, eval_metric_ops: Any = None, export_outputs: Any = None,
                training_chief_hooks: Any = None, training_hooks: Any = None,
                scaffold: Any = None, evaluation_hooks: Any = None,
                prediction_hooks: Any = None):
        graph = get_default_graph()
        train_op = _validate_train_op(train_op, mode, graph)
        loss = _validate_loss(loss, mode, graph)
        predictions = _validate_predictions(predictions, mode, graph)
        export_outputs = _validate_export_outputs(export_outputs, predictions, mode)
        training_hooks = _validate_hooks(training_hooks)
        training_chief_hooks = _validate_hooks(training_chief_hooks)
        evaluation_hooks = _validate_hooks(evaluation_hooks)
        prediction_hooks = _validate_hooks(prediction_hooks)
        eval_metric_ops = _validate_eval_metric_ops(eval_metric_ops, graph)
        scaffold = _validate_scaffold(scaffold)
        return super().__new__(
            cls, mode=mode, predictions=predictions, loss=loss, train_op=train_op,
            eval_metric_ops=eval_metric_ops, export_outputs=export_outputs,
            training_chief_hooks=training_chief_hooks, training_hooks=training_hooks,
            scaffold=scaffold, evaluation_hooks=evaluation_hooks,
            prediction_hooks=prediction_hooks)

    def _replace(self, **kwds: Any) -> EstimatorSpec:
        """A copy with fields replaced and re-validated; ``mode`` cannot change."""
        if "mode" in kwds and self.mode != kwds["mode"]:
            raise ValueError("mode of EstimatorSpec cannot be changed.")
        unknown = set(kwds) - set(self._fields)
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        values = [kwds.get(f, getattr(self, f)) for f in self._fields]
        return EstimatorSpec(*values)
