"""TF1 losses beyond the common ones: ``cosine_distance`` (``tf.compat.v1.losses``).

Same contract as :mod:`estcore.losses.losses_impl`: the weighted, reduced loss, added to
``loss_collection``; dtypes follow the predictions (float32 unless they are float64, as
estcore's other losses). Must not: create variables; reduce other than through
:func:`estcore.losses.losses_impl.compute_weighted_loss`.
"""

from __future__ import annotations

import numpy as np

from estcore._validation import invalid
from estcore.graph.ir import GraphKeys
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.variables import name_scope
from estcore.losses.losses_impl import Reduction, _pair, compute_weighted_loss

__all__ = ["cosine_distance"]


def cosine_distance(labels, predictions, axis=None, weights=1.0, scope=None,
                    loss_collection=GraphKeys.LOSSES,
                    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, dim=None):
    """Weighted cosine distance ``1 - sum(labels * predictions, axis)`` (TF1
    ``tf.losses.cosine_distance``; both inputs are expected unit-normalised along ``axis``).

    Args:
        labels: a float tensor of any shape.
        predictions: a tensor of the shape of ``labels``.
        axis: the axis of the vectors (an int; required).
        weights: a scalar, or broadcastable to the per-vector losses (the inputs' shape with
            size 1 along ``axis``).
        scope: the name scope (default ``cosine_distance_loss``).
        loss_collection: the collection the loss is added to.
        reduction: a :class:`Reduction` (default ``SUM_BY_NONZERO_WEIGHTS``).
        dim: TF1's deprecated name of ``axis`` (give one of them).

    Returns:
        The loss: a scalar unless ``reduction`` is ``NONE`` (then the shape of ``labels``
        with ``axis`` of size 1).

    Raises:
        ValueError: neither or both of ``axis`` and ``dim`` given, or mismatched shapes.
    """
    if axis is not None and dim is not None and axis != dim:
        raise ValueError(f"cosine_distance: give `axis` or its deprecated name `dim`, not "
                         f"both. Received: axis={axis!r}, dim={dim!r}")
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("cosine_distance: you must specify `axis` (or `dim`), the axis of "
                         "the vectors. Received: axis=None")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise invalid("axis", "an int", axis, TypeError)
    with name_scope(scope or "cosine_distance_loss"):
        labels, predictions = _pair(labels, predictions)
        radial = reduce_sum(predictions * labels, axis=[int(axis)], keepdims=True)
        losses = 1.0 - radial
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)
