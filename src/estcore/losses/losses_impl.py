"""TF1 losses (``tf.compat.v1.losses``): per-example losses, weights and reductions.

Every loss computes a per-element loss tensor, then hands it to
:func:`compute_weighted_loss`, which multiplies by ``weights`` (a scalar or a
tensor broadcastable to the losses, TF1's rule), reduces it as ``reduction``
says and adds the result to ``loss_collection`` (``LOSSES`` by default).

Differences from TF1 (documented, deliberate): TF1 casts every loss to float32
before weighting; estcore keeps float64 inputs in float64 (float16 is computed
in float32 and cast back, as TF1 does). For float32 inputs the results are the
same.

Must not: create variables or run anything (a loss is graph ops on its inputs); import
the layers, metrics or optimizers (they sit beside it and use ``LOSSES``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.graph.ir import GraphKeys
from estcore.graph.ops import math_ops
from estcore.graph.ops.array_ops import ones_like, shape, size, squeeze, stop_gradient, zeros_like
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast, log, minimum, multiply, not_equal, square
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.tensor import Tensor
from estcore.graph.variables import Variable, name_scope
from estcore.losses import util
from estcore.nn import (
    relu,
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits,
)

__all__ = [
    "Reduction",
    "compute_weighted_loss",
    "absolute_difference",
    "mean_squared_error",
    "huber_loss",
    "log_loss",
    "hinge_loss",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]

_LOSSES = GraphKeys.LOSSES


class Reduction:
    """How :func:`compute_weighted_loss` reduces the weighted losses (TF1 names and values).

    * ``NONE``: no reduction; the weighted losses keep their shape.
    * ``SUM``: the sum of the weighted losses.
    * ``MEAN``: the sum divided by the sum of the (broadcast) weights.
    * ``SUM_OVER_BATCH_SIZE``: the sum divided by the number of loss elements.
    * ``SUM_BY_NONZERO_WEIGHTS`` (default): the sum divided by the number of
      elements whose weight is not zero. ``SUM_OVER_NONZERO_WEIGHTS`` is an alias.

    Every division returns 0 when its denominator is 0.
    """

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: Any) -> None:
        if key not in cls.all():
            raise invalid("reduction", "one of " + ", ".join(repr(k) for k in cls.all())
                          + " (estcore.losses.Reduction.*)", key)


def _as_float(x: Any, dtype, name: str):
    """``x`` as a tensor of floating ``dtype`` (Python / numpy values converted exactly)."""
    if x is None:
        raise invalid(name, "a tensor or array, not None", x)
    if isinstance(x, (Tensor, Variable)):
        t = convert_to_tensor(x)
        return t if t.dtype == dtype else cast(t, dtype)
    return constant(np.asarray(x, dtype=dtype.as_numpy_dtype))


def _num_elements(losses, dtype):
    n = losses.shape.num_elements()
    if n is not None:
        return constant(float(n), dtype=dtype)
    return cast(size(losses), dtype)


def _num_present(losses, weights, weights_arg: Any, dtype):
    """The number of loss elements with a non-zero (broadcast) weight."""
    if (isinstance(weights_arg, (float, int, np.floating, np.integer))
            and not isinstance(weights_arg, bool) and weights_arg != 0):
        return _num_elements(losses, dtype)
    present = cast(not_equal(weights, zeros_like(weights)), dtype)
    return reduce_sum(present * ones_like(losses))


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: str | None = None,
                          loss_collection: str | None = _LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weight and reduce per-element ``losses`` (TF1 ``tf.losses.compute_weighted_loss``).

    Args:
        losses: a floating tensor of shape ``[batch, d1, ... dN]``.
        weights: a scalar, or a tensor of the rank of ``losses`` whose every
            dimension is 1 or equal to the matching dimension of ``losses``.
        scope: name scope of the ops.
        loss_collection: where the result is added (None: nowhere).
        reduction: a :class:`Reduction` value.

    Returns:
        The weighted loss, of the dtype of ``losses``: a scalar, or (``NONE``)
        a tensor of the broadcast shape of ``losses`` and ``weights``.

    Raises:
        InvalidArgumentError: ``reduction`` is not a :class:`Reduction` value.
        ValueError: ``weights`` can not be broadcast to ``losses``.
    """
    Reduction.validate(reduction)
    with name_scope(scope or "weighted_loss"):
        losses = convert_to_tensor(losses)
        input_dtype = losses.dtype
        dtype = util.float_dtype(losses)
        if losses.dtype != dtype:
            losses = cast(losses, dtype)
        w = _as_float(weights, dtype, "weights")
        util.check_broadcastable(w, losses, "losses")
        weighted = multiply(losses, w)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            total = reduce_sum(weighted)
            if reduction == Reduction.SUM:
                loss = total
            elif reduction == Reduction.MEAN:
                loss = util.div_no_nan(total, reduce_sum(ones_like(losses) * w))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = util.div_no_nan(total, _num_present(losses, w, weights, dtype))
            else:  # SUM_OVER_BATCH_SIZE
                loss = util.div_no_nan(total, _num_elements(losses, dtype))
        if input_dtype.is_floating and loss.dtype != input_dtype:
            loss = cast(loss, input_dtype)
        util.add_loss(loss, loss_collection)
        return loss


def _required(value: Any, name: str):
    if value is None:
        raise invalid(name, "a tensor or array, not None", value)
    return convert_to_tensor(value)


def _pair(labels: Any, predictions: Any, lname: str = "labels", pname: str = "predictions"):
    """Convert, cast both to the predictions' floating dtype and check shapes."""
    predictions = _required(predictions, pname)
    labels = _required(labels, lname)
    dtype = util.float_dtype(predictions)
    if predictions.dtype != dtype:
        predictions = cast(predictions, dtype)
    if labels.dtype != dtype:
        labels = cast(labels, dtype)
    util.check_compatible(predictions, labels, pname, lname)
    return labels, predictions


def absolute_difference(labels, predictions, weights=1.0, scope=None,
                        loss_collection=_LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted ``|predictions - labels|`` (TF1 ``tf.losses.absolute_difference``).

    Args:
        labels, predictions: tensors of the same shape ``[batch, ...]``.
        weights, loss_collection, reduction: see :func:`compute_weighted_loss`.
    """
    with name_scope(scope or "absolute_difference"):
        labels, predictions = _pair(labels, predictions)
        losses = math_ops.abs(predictions - labels)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def mean_squared_error(labels, predictions, weights=1.0, scope=None,
                       loss_collection=_LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted ``(predictions - labels)**2`` (TF1 ``tf.losses.mean_squared_error``)."""
    with name_scope(scope or "mean_squared_error"):
        labels, predictions = _pair(labels, predictions)
        losses = square(predictions - labels)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=_LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted Huber loss (TF1 ``tf.losses.huber_loss``).

    Per element, with ``e = |predictions - labels|``: ``0.5 * e**2`` when
    ``e <= delta``, else ``0.5 * delta**2 + delta * (e - delta)``.
    """
    if not isinstance(delta, (int, float, np.floating, np.integer)) or isinstance(delta, bool) \
            or not delta > 0:
        raise invalid("delta", "a positive number", delta)
    with name_scope(scope or "huber_loss"):
        labels, predictions = _pair(labels, predictions)
        abs_error = math_ops.abs(predictions - labels)
        quadratic = minimum(abs_error, float(delta))
        linear = abs_error - quadratic
        losses = 0.5 * square(quadratic) + float(delta) * linear
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=_LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted log loss (TF1 ``tf.losses.log_loss``).

    ``-labels * log(predictions + epsilon) - (1 - labels) * log(1 - predictions + epsilon)``.
    ``predictions`` are probabilities in [0, 1].
    """
    with name_scope(scope or "log_loss"):
        labels, predictions = _pair(labels, predictions)
        eps = float(epsilon)
        losses = (-labels * log(predictions + eps)
                  - (1.0 - labels) * log(1.0 - predictions + eps))
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def hinge_loss(labels, logits, weights=1.0, scope=None, loss_collection=_LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted hinge loss (TF1 ``tf.losses.hinge_loss``).

    ``labels`` are 0/1 and are mapped to -1/+1; the loss is
    ``max(0, 1 - (2 * labels - 1) * logits)``.
    """
    with name_scope(scope or "hinge_loss"):
        labels, logits = _pair(labels, logits, "labels", "logits")
        signed = 2.0 * labels - 1.0
        losses = relu(1.0 - signed * logits)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def _check_smoothing(label_smoothing: Any) -> float:
    if (not isinstance(label_smoothing, (int, float, np.floating, np.integer))
            or isinstance(label_smoothing, bool) or not 0 <= label_smoothing <= 1):
        raise invalid("label_smoothing", "a number in [0, 1]", label_smoothing)
    return float(label_smoothing)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0,
                          scope=None, loss_collection=_LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted sigmoid cross-entropy (TF1 ``tf.losses.sigmoid_cross_entropy``).

    Args:
        multi_class_labels: 0/1 (or soft) labels of the shape of ``logits``.
        logits: floating tensor ``[batch, num_classes]`` (any shape).
        label_smoothing: when > 0, labels become ``labels * (1 - s) + 0.5 * s``.
    """
    smoothing = _check_smoothing(label_smoothing)
    with name_scope(scope or "sigmoid_cross_entropy_loss"):
        labels, logits = _pair(multi_class_labels, logits, "multi_class_labels", "logits")
        if smoothing > 0:
            labels = labels * (1.0 - smoothing) + 0.5 * smoothing
        losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=_LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted softmax cross-entropy (TF1 ``tf.losses.softmax_cross_entropy``).

    Args:
        onehot_labels: ``[batch, num_classes]`` one-hot (or probability) labels.
        logits: ``[batch, num_classes]`` floating logits.
        weights: a scalar or a ``[batch]`` tensor.
        label_smoothing: when > 0, labels become
            ``labels * (1 - s) + s / num_classes``.

    Returns:
        The weighted loss (a scalar unless ``reduction`` is ``NONE``: ``[batch]``).
    """
    smoothing = _check_smoothing(label_smoothing)
    with name_scope(scope or "softmax_cross_entropy_loss"):
        labels, logits = _pair(onehot_labels, logits, "onehot_labels", "logits")
        if smoothing > 0:
            n = logits.shape[-1] if logits.shape.rank else None
            if n is None:
                n = cast(shape(labels)[-1], labels.dtype)
            labels = labels * (1.0 - smoothing) + smoothing / n
        labels = stop_gradient(labels)
        losses = softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=_LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted sparse softmax cross-entropy (TF1 ``tf.losses.sparse_softmax_cross_entropy``).

    Uses the graph's fused softmax + cross-entropy op.

    Args:
        labels: int32/int64 class ids, ``[batch]`` or ``[batch, 1]``, each in
            ``[0, num_classes)``.
        logits: floating ``[batch, num_classes]``.
        weights: a scalar, ``[batch]`` or ``[batch, 1]``.

    Returns:
        The weighted loss (a scalar unless ``reduction`` is ``NONE``: ``[batch]``).
    """
    with name_scope(scope or "sparse_softmax_cross_entropy_loss"):
        logits = _required(logits, "logits")
        labels = _required(labels, "labels")
        if not labels.dtype.is_integer:
            raise invalid("labels", "an integer tensor of class ids (int32 or int64)",
                          labels, TypeError)
        labels, logits = util.remove_squeezable_dimensions(labels, logits,
                                                            expected_rank_diff=1)
        w = weights
        if not isinstance(w, (int, float)) or isinstance(w, bool):
            w = convert_to_tensor(w)
            lr, wr = labels.shape.rank, w.shape.rank
            if lr is not None and wr is not None and wr - lr == 1 and w.shape[-1] in (1, None):
                w = squeeze(w, [-1])
        losses = sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, w, None, loss_collection, reduction)
