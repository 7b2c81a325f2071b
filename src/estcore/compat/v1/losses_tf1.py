"""``tf.losses`` names whose TF1 dtype rule differs from estcore's, and
``mean_pairwise_squared_error``.

estcore's losses keep float64 inputs in float64 (a documented choice of
:mod:`estcore.losses`); TF 1.x computed ``tf.losses.mean_squared_error`` in float32 whatever
the inputs, and TF1 programs add float32 terms to it. The TF1 namespace follows TF1.
``mean_pairwise_squared_error`` (TF 1.15's, in float32 too) is composed here from graph ops.

Must not: re-implement a loss estcore has (it casts, then calls estcore's).
"""

from __future__ import annotations

from typing import Any

from estcore.graph.dtypes import float32
from estcore.graph.ir import GraphKeys
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.variables import name_scope
from estcore.losses import Reduction, add_loss
from estcore.losses import mean_squared_error as _mean_squared_error

__all__ = ["mean_squared_error", "mean_pairwise_squared_error"]


def _to_float32(x: Any, what: str, fn: str = "mean_squared_error") -> Any:
    if x is None:
        raise ValueError(f"{fn}: `{what}` must be given. Received: None")
    t = convert_to_tensor(x)
    return t if t.dtype == float32 else cast(t, float32)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Any = None,
                       loss_collection: Any = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Any:
    """TF1's ``tf.losses.mean_squared_error``: computed in float32 (int64 / float64
    inputs are cast, as TF1 does). Shapes and weights as :func:`estcore.losses.mean_squared_error`.

    Returns:
        float32 weighted loss, a scalar unless ``reduction`` is ``NONE``.
    """
    return _mean_squared_error(_to_float32(labels, "labels"),
                               _to_float32(predictions, "predictions"), weights=weights,
                               scope=scope, loss_collection=loss_collection,
                               reduction=reduction)


def mean_pairwise_squared_error(labels: Any, predictions: Any, weights: Any = 1.0,
                                scope: Any = None,
                                loss_collection: Any = GraphKeys.LOSSES) -> Any:
    """TF 1.15's ``tf.losses.mean_pairwise_squared_error``: per example (the first axis),
    the mean over pairs ``(i, j)`` of its elements of ``((p_i - l_i) - (p_j - l_j))**2``,
    i.e. ``2 * sum(d**2) / (n - 1) - 2 * sum(d)**2 / (n * (n - 1))`` with ``n`` the
    example's elements of non-zero weight; times the example's ``weights`` (a scalar or
    ``[batch, 1, ...]`` of the labels' rank), summed over the batch; 0 when no element is
    present. float32, added to ``loss_collection``.
    """
    fn = "mean_pairwise_squared_error"
    with name_scope(scope, "mean_pairwise_squared_error"):
        p = _to_float32(predictions, "predictions", fn)
        lab = _to_float32(labels, "labels", fn)
        if not p.shape.is_compatible_with(lab.shape):
            raise ValueError(f"{fn}: `predictions` {p.shape} and `labels` {lab.shape} must "
                             "have compatible shapes")
        w = cast(convert_to_tensor(weights), float32)
        if w.shape.rank not in (0, None) and lab.shape.rank is not None \
                and w.shape.rank != lab.shape.rank:
            raise ValueError(f"{fn}: `weights` must be a scalar or have the rank of `labels` "
                             f"({lab.shape.rank}). Received: shape {w.shape}")
        diffs = _m.subtract(p, lab)
        rank = diffs.shape.rank
        if rank is None or rank < 2:
            raise ValueError(f"{fn}: `labels` must have a known rank >= 2 ([batch, ...]). "
                             f"Received: shape {lab.shape}")
        axes = list(range(1, rank))
        present = _m.where(_m.equal(w, 0.0), _a.zeros_like(w), _a.ones_like(w))
        present = _m.add(present, _a.zeros_like(diffs))          # broadcast to the diffs
        n = _r.reduce_sum(present, axis=axes, keepdims=True)
        sum_sq = _r.reduce_sum(_m.square(diffs), axis=axes, keepdims=True)
        term1 = 2.0 * _div_no_nan(sum_sq, n - 1.0)
        sum_diff = _r.reduce_sum(diffs, axis=axes, keepdims=True)
        term2 = 2.0 * _div_no_nan(_m.square(sum_diff), _m.multiply(n, n - 1.0))
        loss = _r.reduce_sum(_m.multiply(term1 - term2, w))
        mean_loss = _m.where(_m.greater(_r.reduce_sum(n), 0.0), loss, _a.zeros_like(loss),
                             name="value")
        add_loss(mean_loss, loss_collection)
        return mean_loss


def _div_no_nan(x: Any, y: Any) -> Any:
    zero = _m.equal(y, 0.0)
    return _m.where(zero, _a.zeros_like(x), x / _m.where(zero, _a.ones_like(y), y))
