"""Helpers shared by the metric modules: metric variables, scopes, TF1 rank rules.

Private to ``estcore.metrics``. Must not: be imported from another package; create
a trainable or global variable (metric state is local, non-trainable, in
``METRIC_VARIABLES``, so it is never checkpointed or optimized); create metric state
with ``get_variable`` (TF1 names it by the name scope, as ``tf.Variable``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes
from estcore.graph.dtypes import float32
from estcore.graph.initializers import zeros_initializer
from estcore.graph.ir import GraphKeys, add_to_collection
from estcore.graph.ops.array_ops import expand_dims, ones_like, squeeze, zeros_like
from estcore.graph.ops.core import convert_to_tensor, make, row
from estcore.graph.ops.math_ops import cast, not_equal
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import as_shape
from estcore.graph.variables import Variable, variable_scope
from estcore.losses import util

_METRIC_COLLECTIONS = [GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES]


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------

def _metric_variable(shape: list, name: str, dtype=float32):
    """A zero-initialised local metric variable of ``shape`` / ``dtype``, named like
    TF1's ``metric_variable``: a ``tf.Variable`` (not ``get_variable``), so its name
    follows the current NAME scope (``metrics/accuracy/total`` under
    ``tf.name_scope("metrics")``), is made unique there, and ignores the variable
    scope's reuse, initializer and regularizer."""
    return Variable(None, trainable=False, collections=list(_METRIC_COLLECTIONS),
                    name=name, _init_fn=(zeros_initializer(), as_shape(shape),
                                         dtypes.as_dtype(dtype), (0, 0)))


def _scope(name: str | None, default: str):
    """TF1's ``variable_scope(name, default_name)`` around a metric: the name scope
    ``name`` (or ``default``), made unique in the current name scope."""
    return variable_scope(name, default_name=default)


def _add_to(collections, value) -> None:
    for key in collections or ():
        add_to_collection(key, value)


def _publish(value, update_op, metrics_collections, updates_collections) -> tuple:
    """Add ``value`` / ``update_op`` to their collections; the metric's return pair."""
    _add_to(metrics_collections, value)
    _add_to(updates_collections, update_op)
    return value, update_op


def _tensor(x: Any, name: str):
    if x is None:
        raise invalid(name, "a tensor or array, not None", x)
    return convert_to_tensor(x)


def _cast(t, dtype):
    return t if t.dtype == dtype else cast(t, dtype)


def _as_bool(t):
    if t.dtype == dtypes.bool:
        return t
    return not_equal(t, zeros_like(t))


def _squeeze_for_metric(predictions, labels, weights):
    """TF1 ``metrics_impl.remove_squeezable_dimensions`` on static ranks."""
    if labels is not None:
        labels, predictions = util.remove_squeezable_dimensions(labels, predictions)
        util.check_compatible(predictions, labels, "predictions", "labels")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    wr, pr = weights.shape.rank, predictions.shape.rank
    if wr in (0, None) or pr is None:
        return predictions, labels, weights
    if wr - pr == 1 and weights.shape[-1] in (1, None):
        weights = squeeze(weights, [-1])
    elif pr - wr == 1:
        weights = expand_dims(weights, -1)
    return predictions, labels, weights


def _broadcast_weights(weights, values):
    """``weights`` (float32) broadcast to the shape of ``values`` (TF1 rule, checked)."""
    weights = _cast(weights, float32)
    util.check_broadcastable(weights, values)
    if (weights.shape.is_fully_defined() and values.shape.is_fully_defined()
            and weights.shape.as_list() == values.shape.as_list()):
        return weights
    return weights * ones_like(values)


def _check_unit_interval(predictions):
    """``predictions`` with TF1's run-time check: InvalidArgumentError
    ``predictions must be in [0, 1]`` when a value is outside [0, 1] (or NaN)."""
    return make("AssertInUnitInterval", [predictions], {}, name="assert_unit_interval")


def _unit_interval_infer(ctx):
    return [(ctx.dtypes[0], ctx.shapes[0])]


def _unit_interval_build(k):
    x, out = k.ins[0], k.outs[0]

    def run():
        ok = (x >= 0) & (x <= 1)
        if not bool(ok.all()):
            bad = x[~ok].ravel()[0].item()
            raise InvalidArgumentError(f"predictions must be in [0, 1]; got {bad!r} in "
                                       f"'{k.node.name}'")
        np.copyto(out, x)
    return run


# A check node (output = input, checked); stateful so it is never constant-folded
# away; not differentiable (AUC has no gradient).
row("AssertInUnitInterval", _unit_interval_infer, _unit_interval_build, None, stateful=True)


def _check_class_ids(ids, num_classes, what):
    """``ids`` (integer) with a run-time check that every value is in
    ``[0, num_classes)``: InvalidArgumentError naming ``what`` and the bad value
    otherwise (TF1's confusion-matrix assertion, instead of a silently ignored row)."""
    return make("AssertClassIdsInRange", [ids], {"num_classes": int(num_classes), "what": what},
                name=f"assert_{what}_in_range")


def _class_ids_build(k):
    x, out = k.ins[0], k.outs[0]
    num_classes, what = k.node.attrs["num_classes"], k.node.attrs["what"]

    def run():
        ok = (x >= 0) & (x < num_classes)
        if not bool(ok.all()):
            bad = x[~ok].ravel()[0].item()
            raise InvalidArgumentError(
                f"`{what}` must be class ids in [0, {num_classes}); got {bad!r} in "
                f"'{k.node.name}'")
        np.copyto(out, x)
    return run


row("AssertClassIdsInRange", _unit_interval_infer, _class_ids_build, None, stateful=True)
not_differentiable("AssertInUnitInterval", "AssertClassIdsInRange")  # checks, not math
