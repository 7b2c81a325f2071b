"""TF1's @k metrics: ``precision_at_k``, ``recall_at_k``, ``precision_at_top_k``,
``recall_at_top_k`` and the deprecated ``sparse_precision_at_k`` / ``sparse_recall_at_k``
aliases (``tf.compat.v1.metrics``, TF 1.15 / 2.15 semantics).

Per example (a row of ``labels`` / of the top-``k`` class ids), as TF's set operations on
dense tensors: the label set is every value of the row (duplicates count once; ``-1`` or an
id >= the class count is a label no prediction can match), the prediction set the row's
top-``k`` ids; ``TP = |pred & labels|``, ``FP = |pred - labels|``, ``FN = |labels - pred|``.
With ``class_id`` only that class counts (``TP = [c in pred and c in labels]``, ...).
Weights multiply the per-example counts; the sums accumulate in float64 local variables
``<scope>/true_positive_at_<k>`` and ``<scope>/false_positive_at_<k>`` (precision) or
``.../false_negative_at_<k>`` (recall), under the scope ``precision_at_<k>``
(``_class<id>`` appended with ``class_id``). The value is ``TP / (TP + FP)`` (or ``FN``),
float64, NaN when nothing was counted, as TF (not the 0 of estcore's other ratios).

Must not: write metric state from ``value`` (only ``update_op`` does); create trainable or
global variables; run a session.
"""

from __future__ import annotations

import numpy as np

from estcore._validation import check_positive_int, invalid
from estcore.graph.dtypes import float64, int64
from estcore.graph.ops.array_ops import expand_dims, ones_like
from estcore.graph.ops.core import constant, make_op, row
from estcore.graph.ops.math_ops import greater, greater_equal, truediv, where
from estcore.graph.ops.nn_ops import top_k
from estcore.graph.ops.reduce_ops import reduce_sum
from estcore.graph.ops.state_ops import assign_add
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import is_sparse
from estcore.losses import util
from estcore.metrics._base import _cast, _publish, _scope, _tensor
from estcore.metrics.metrics_extra import metric_variable

__all__ = [
    "precision_at_k",
    "recall_at_k",
    "precision_at_top_k",
    "recall_at_top_k",
    "sparse_precision_at_k",
    "sparse_recall_at_k",
]


# ----------------------------------------------------------------------------
# The per-example set counts (one numpy kernel)
# ----------------------------------------------------------------------------

def _counts_infer(ctx):
    labels, idx = ctx.shapes[:2]
    if labels.rank is None or idx.rank is None:
        out = TensorShape(None)
    else:
        if labels.rank != idx.rank or labels.rank < 1:
            raise ctx.fail(f"labels {ctx.fmt(0)} and the top-k ids {ctx.fmt(1)} must have the "
                           "same rank (>= 1)")
        if not TensorShape(labels.dims[:-1]).is_compatible_with(TensorShape(idx.dims[:-1])):
            raise ctx.fail(f"labels {ctx.fmt(0)} and the top-k ids {ctx.fmt(1)} must agree in "
                           "every dimension but the last")
        out = TensorShape(labels.dims[:-1])
    return [(float64, out)] * 3


def _first_occurrence(ids: np.ndarray) -> np.ndarray:
    """``[R, n]`` bool: True where the id does not appear earlier in its row."""
    same = ids[:, :, None] == ids[:, None, :]
    earlier = np.tril(np.ones((ids.shape[1], ids.shape[1]), dtype=bool), k=-1)
    return ~(same & earlier).any(axis=2)


_NO_LABEL = np.iinfo(np.int64).min   # a padding slot of sparse labels: matches no id


def _counts_build(k):
    labels, idx = k.ins[:2]
    present = k.ins[2] if len(k.ins) > 2 else None   # sparse labels: slot holds a value
    tp, fp, fn = k.outs
    class_id = k.attrs["class_id"]

    def run():
        rows = int(np.prod(labels.shape[:-1]))
        lab = labels.reshape(rows, labels.shape[-1])
        pred = idx.reshape(rows, idx.shape[-1])
        valid = (np.ones(lab.shape, dtype=bool) if present is None
                 else present.reshape(lab.shape))
        if present is not None:
            lab = np.where(valid, lab, _NO_LABEL)
        if class_id is None:
            in_labels = (pred[:, :, None] == lab[:, None, :]).any(axis=2)
            first_pred = _first_occurrence(pred)
            n_pred = first_pred.sum(axis=1)
            n_lab = (_first_occurrence(lab) & valid).sum(axis=1)
            hits = (in_labels & first_pred).sum(axis=1)
            values = (hits, n_pred - hits, n_lab - hits)
        else:
            c_pred = (pred == class_id).any(axis=1)
            c_lab = ((lab == class_id) & valid).any(axis=1)
            values = (c_pred & c_lab, c_pred & ~c_lab, c_lab & ~c_pred)
        for out, v in zip((tp, fp, fn), values, strict=True):
            np.copyto(out, v.reshape(out.shape), casting="unsafe")
    return run


# labels int64 [..., L], top-k ids int64 [..., k] (, present bool [..., L] for sparse
# labels) -> TP, FP, FN float64 [...]
row("MetricTopKSetCounts", _counts_infer, _counts_build, None)
not_differentiable("MetricTopKSetCounts")


# ----------------------------------------------------------------------------
# The metrics
# ----------------------------------------------------------------------------

def _at_k_name(base: str, k, class_id) -> str:
    name = f"{base}_at_{k}" if k is not None else f"{base}_at_k"
    return f"{name}_class{class_id}" if class_id is not None else name


def _expand_labels(labels, predictions_idx):
    lr, pr = labels.shape.rank, predictions_idx.shape.rank
    if lr is None or pr is None:
        raise invalid("labels", "a tensor of known rank (the rank of the top-k ids, or one "
                      "less)", util.format_shape(labels))
    if pr == lr + 1:
        return expand_dims(labels, -1)
    if pr != lr:
        raise ValueError(f"Unexpected labels shape {util.format_shape(labels)} for "
                         f"predictions shape {util.format_shape(predictions_idx)}: the "
                         "predictions' rank must be the labels' rank or one more.")
    return labels


def _check_class_id(class_id):
    if class_id is not None and (isinstance(class_id, bool)
                                 or not isinstance(class_id, (int, np.integer))):
        raise invalid("class_id", "None or an int class id", class_id, TypeError)
    return None if class_id is None else int(class_id)


def _at_top_k(other: str, base: str, labels, predictions_idx, k, class_id, weights,
              metrics_collections, updates_collections, name):
    class_id = _check_class_id(class_id)
    if k is not None:
        check_positive_int("k", k)
    with _scope(name, _at_k_name(base, k, class_id)):
        present = None
        if is_sparse(labels):   # [batch, num_labels] SparseTensor: its padding slots excluded
            present = greater_equal(labels.cols, constant(np.int64(0)))
            labels = labels.padded_values
        labels = _tensor(labels, "labels")
        idx = _tensor(predictions_idx, "predictions_idx")
        for what, t in (("labels", labels), ("predictions_idx", idx)):
            if not t.dtype.is_integer:
                raise invalid(what, "integer class ids", t.dtype.name, TypeError)
        if present is not None and idx.shape.rank != 2:
            raise invalid("labels", "a dense tensor (a SparseTensor needs [batch, k] "
                          "predictions)", util.format_shape(idx))
        labels = _cast(_expand_labels(labels, idx), int64)
        idx = _cast(idx, int64)
        ins = [labels, idx] if present is None else [labels, idx, present]
        op = make_op("MetricTopKSetCounts", ins, {"class_id": class_id}, name="set_counts")
        tp, fp, fn = op.outputs
        counted = {"true_positive": tp, "false_positive": fp, "false_negative": fn}
        if weights is not None:
            w = _cast(_tensor(weights, "weights"), float64)
            util.check_broadcastable(w, tp, "the per-example counts")
            counted = {key: c * w for key, c in counted.items()}
        totals, updates = {}, {}
        for key in ("true_positive", other):
            var = metric_variable([], float64, _at_k_name(key, k, class_id))
            totals[key] = var
            updates[key] = assign_add(var, reduce_sum(counted[key]), name=f"{key}_update")
        value = _nan_ratio(totals["true_positive"], totals[other], "value")
        update_op = _nan_ratio(updates["true_positive"], updates[other], "update")
        return _publish(value, update_op, metrics_collections, updates_collections)


def _nan_ratio(tp, other, name: str):
    """``tp / (tp + other)``, NaN when the sum is 0 (TF's plain division), without numpy's
    0/0 warning."""
    den = tp + other
    positive = greater(den, 0.0)
    ratio = truediv(tp, where(positive, den, ones_like(den)))
    return where(positive, ratio, constant(np.float64(np.nan)), name=name)


def precision_at_top_k(labels, predictions_idx, k=None, class_id=None, weights=None,
                       metrics_collections=None, updates_collections=None, name=None):
    """Streaming precision@k of given top-k class ids (TF1 ``tf.metrics.precision_at_top_k``).

    Args:
        labels: int class ids ``[D1, ..., DN, num_labels]`` or ``[D1, ..., DN]`` (one label
            per example), or a ``[batch, num_labels]`` SparseTensor of ids (only its present
            values are labels).
        predictions_idx: int class ids ``[D1, ..., DN, k]`` (the top ``k`` predictions).
        k: the k of the name (``precision_at_<k>``); not used otherwise.
        class_id: None, or the one class to count.
        weights: None, a scalar or broadcastable to ``[D1, ..., DN]``.

    Returns:
        ``(precision, update_op)``: float64 scalars, ``TP / (TP + FP)`` (NaN when nothing
        was counted, as TF).
    """
    return _at_top_k("false_positive", "precision", labels, predictions_idx, k, class_id,
                     weights, metrics_collections, updates_collections, name)


def recall_at_top_k(labels, predictions_idx, k=None, class_id=None, weights=None,
                    metrics_collections=None, updates_collections=None, name=None):
    """Streaming recall@k of given top-k class ids (TF1 ``tf.metrics.recall_at_top_k``):
    ``TP / (TP + FN)``; arguments as :func:`precision_at_top_k`."""
    return _at_top_k("false_negative", "recall", labels, predictions_idx, k, class_id,
                     weights, metrics_collections, updates_collections, name)


def _top_k_ids(predictions, k):
    check_positive_int("k", k)
    predictions = _tensor(predictions, "predictions")
    if not predictions.dtype.is_floating and not predictions.dtype.is_integer:
        raise invalid("predictions", "a numeric tensor of scores [..., num_classes]",
                      predictions.dtype.name, TypeError)
    return top_k(predictions, int(k))[1]


def precision_at_k(labels, predictions, k, class_id=None, weights=None,
                   metrics_collections=None, updates_collections=None, name=None):
    """Streaming precision@k (TF1 ``tf.metrics.precision_at_k``): the fraction of the top
    ``k`` predicted classes of each example that are among its labels.

    Args:
        labels: int class ids ``[D1, ..., DN, num_labels]`` or ``[D1, ..., DN]``; an id
            outside ``[0, num_classes)`` is never predicted (it only counts as missed).
        predictions: scores ``[D1, ..., DN, num_classes]``; their top ``k`` (ties: the lower
            class first, as TF's ``top_k``) are the predictions.
        k: a positive int (at most ``num_classes``).
        class_id: None, or the one class to count (binary precision of that class).
        weights: None, a scalar or broadcastable to ``[D1, ..., DN]``.
        metrics_collections / updates_collections: collections for the value / update op.
        name: the scope name (default ``precision_at_<k>[_class<id>]``).

    Returns:
        ``(precision, update_op)``: float64 scalars; NaN when nothing was counted (TF).
        Variables ``precision_at_<k>/true_positive_at_<k>`` and
        ``precision_at_<k>/false_positive_at_<k>``.
    """
    idx = _top_k_ids(predictions, k)
    return precision_at_top_k(labels, idx, k, class_id, weights, metrics_collections,
                              updates_collections, name)


def recall_at_k(labels, predictions, k, class_id=None, weights=None,
                metrics_collections=None, updates_collections=None, name=None):
    """Streaming recall@k (TF1 ``tf.metrics.recall_at_k``): the fraction of each example's
    labels found among its top ``k`` predicted classes; ``TP / (TP + FN)``. Arguments as
    :func:`precision_at_k`; variables ``recall_at_<k>/true_positive_at_<k>`` and
    ``recall_at_<k>/false_negative_at_<k>``."""
    idx = _top_k_ids(predictions, k)
    return recall_at_top_k(labels, idx, k, class_id, weights, metrics_collections,
                           updates_collections, name)


def sparse_precision_at_k(labels, predictions, k, class_id=None, weights=None,
                          metrics_collections=None, updates_collections=None, name=None):
    """TF1's deprecated name of :func:`precision_at_k` (same arguments and result)."""
    return precision_at_k(labels, predictions, k, class_id, weights, metrics_collections,
                          updates_collections, name)


def sparse_recall_at_k(labels, predictions, k, class_id=None, weights=None,
                       metrics_collections=None, updates_collections=None, name=None):
    """The deprecated name of :func:`recall_at_k` in TF 1.x contrib-era code (same
    arguments and result)."""
    return recall_at_k(labels, predictions, k, class_id, weights, metrics_collections,
                       updates_collections, name)
