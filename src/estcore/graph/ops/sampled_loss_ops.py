"""Sampled losses over many classes: ``nce_loss`` and ``sampled_softmax_loss`` (TF1's
``tf.nn`` names and arguments), and the sharded row lookup they use.

Both follow TF 1.15's ``_compute_sampled_logits``:

1. Draw ``num_sampled`` ids (``log_uniform_candidate_sampler`` with ``unique=True``
   unless ``sampled_values`` is given); the sampled ids and expected counts are constants
   for the gradient.
2. Look up the rows of ``weights`` and ``biases`` for the true ids (``labels``, int64
   ``[batch_size, num_true]``) followed by the sampled ids, in one lookup each.
3. ``true_logits = <inputs, w_true> + b_true`` ``[batch_size, num_true]``;
   ``sampled_logits = inputs @ w_sampled^T + b_sampled`` ``[batch_size, num_sampled]``.
4. ``remove_accidental_hits``: a sampled id that is one of the row's true classes gets
   ``-FLT_MAX`` added to its logit (TF adds ``compute_accidental_hits`` through
   ``sparse_to_dense``; here one dense comparison, same values, no data-dependent shape).
5. ``subtract_log_q``: both logits minus ``log(expected_count)``.
6. Logits ``[true | sampled]``, labels ``[1 / num_true ... | 0 ...]``.

``nce_loss`` sums the sigmoid cross-entropies of a row; ``sampled_softmax_loss`` takes the
softmax cross-entropy against the labels. Gradients reach ``weights``, ``biases`` (through
the lookups) and ``inputs``, never the sampled ids.

Must not: register rows (compositions of existing ones); create variables.
"""

from __future__ import annotations

import numpy as np

from estcore._validation import check_positive_int, invalid
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops import nn_ops as N
from estcore.graph.ops import reduce_ops as R
from estcore.graph.ops.candidate_sampling_ops import log_uniform_candidate_sampler
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.index_ops import gather
from estcore.graph.tensor import Tensor

__all__ = ["nce_loss", "sampled_softmax_loss", "compute_sampled_logits", "sharded_lookup"]

_FLOAT_MAX = float(np.finfo(np.float32).max)


def _shards(params) -> list:
    shards = list(params) if isinstance(params, (list, tuple)) else [params]
    if not shards:
        raise ValueError("`params` must be a tensor or a non-empty list of tensors. "
                         "Received: an empty list")
    return [convert_to_tensor(p) for p in shards]


def sharded_lookup(params, ids, partition_strategy: str = "mod", name: str | None = None):
    """Rows of ``params`` at int64 ``ids`` (TF1 ``embedding_lookup``'s partitioning).

    Args:
        params: a tensor ``[V, ...]`` or a list of shards whose rows together are the
            ``V`` rows. ``"mod"``: id ``i`` is row ``i // n`` of shard ``i % n``;
            ``"div"``: the shards hold consecutive id ranges, the first ``V % n`` shards
            one row more (the shards' row counts must be known).
        ids: int ``[N]`` row ids.
        partition_strategy: ``"mod"`` or ``"div"`` (used with several shards only).
        name: node name of a single lookup.

    Returns:
        ``[N, ...]``. An id outside ``[0, V)`` is an IndexError when the graph runs.
        Each shard's gradient is its gather's (dense, as ``embedding_lookup``'s).
    """
    if partition_strategy not in ("mod", "div"):
        raise invalid("partition_strategy", "'mod' or 'div'", partition_strategy)
    shards = _shards(params)
    ids = convert_to_tensor(ids)
    if len(shards) == 1:
        return gather(shards[0], ids, name=name)
    n = len(shards)
    if partition_strategy == "mod":
        owner = M.mod(ids, n)
        local = M.floordiv(ids, n)
    else:
        rows = [s.shape.dims[0] if s.shape.rank else None for s in shards]
        if None in rows:
            raise ValueError("partition_strategy='div' needs the row count of every shard "
                             f"when the graph is built. Received: shards of {rows} rows")
        total = sum(rows)
        per, extras = divmod(total, n)
        owner = M.maximum(M.floordiv(ids, per + 1), M.floordiv(ids - extras, max(per, 1)))
        owner = M.minimum(M.maximum(owner, 0), n - 1)   # an id outside [0, V) fails below
        starts = np.cumsum([0] + rows[:-1]).astype(np.int64)
        local = ids - gather(convert_to_tensor(starts), owner)
    out = None
    for p, shard in enumerate(shards):
        mine = M.equal(owner, p)
        rows_p = gather(shard, M.where(mine, local, A.zeros_like(local)))
        out = rows_p if out is None else M.where(mine, rows_p, out)
    return out


def compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                           num_true=1, sampled_values=None, subtract_log_q=True,
                           remove_accidental_hits=False, partition_strategy="mod",
                           name=None, seed=None) -> tuple[Tensor, Tensor]:
    """TF1's ``_compute_sampled_logits`` (see the module docstring).

    Returns:
        ``(logits, labels)``, both ``[batch_size, num_true + num_sampled]`` of
        ``inputs``' dtype: the true classes' columns first.
    """
    num_true = check_positive_int("num_true", num_true)
    num_sampled = check_positive_int("num_sampled", num_sampled)
    inputs = convert_to_tensor(inputs)
    with inputs.graph.name_scope(name or "compute_sampled_logits"):
        labels = _as(convert_to_tensor(labels), dt.int64)   # TF casts any labels
        if labels.shape.rank not in (None, 2) or (
                labels.shape.rank == 2 and labels.shape.dims[1] not in (None, num_true)):
            raise ValueError(f"`labels` must have shape [batch_size, num_true={num_true}]. "
                             f"Received: shape {labels.shape}")
        labels_flat = A.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(
                labels, num_true, num_sampled, True, num_classes, seed=seed)
        sampled, true_count, sampled_count = (A.stop_gradient(convert_to_tensor(s))
                                              for s in sampled_values)
        sampled = _as(sampled, dt.int64)
        # the true rows first: split where the sampled rows start, counted from the end
        # when their number is known (static bounds: no shape to wait for at run time)
        n_sampled = sampled.shape.dims[0] if sampled.shape.rank == 1 else None
        cut = -n_sampled if n_sampled else A.shape(labels_flat)[0]
        all_ids = A.concat([labels_flat, sampled], 0)

        all_w = _as(sharded_lookup(weights, all_ids, partition_strategy), inputs.dtype)
        true_w, sampled_w = all_w[:cut], all_w[cut:]
        sampled_logits = M.matmul(inputs, sampled_w, transpose_b=True)
        all_b = _as(sharded_lookup(biases, all_ids, partition_strategy), inputs.dtype)
        true_b, sampled_b = all_b[:cut], all_b[cut:]

        dim = inputs.shape.dims[-1] if inputs.shape.rank else None
        dim = dim if dim is not None else A.shape(true_w)[1]
        row_dots = A.expand_dims(inputs, 1) * A.reshape(true_w, [-1, num_true, dim])
        true_logits = R.reduce_sum(row_dots, 2) + A.reshape(true_b, [-1, num_true])
        sampled_logits = sampled_logits + sampled_b

        if remove_accidental_hits:
            hit = R.reduce_any(M.equal(A.expand_dims(labels, 2),
                                       A.reshape(sampled, [1, 1, -1])), 1)
            sampled_logits = sampled_logits + _as(hit, inputs.dtype) * -_FLOAT_MAX
        if subtract_log_q:
            true_logits = true_logits - M.log(_as(true_count, inputs.dtype))
            sampled_logits = sampled_logits - M.log(_as(sampled_count, inputs.dtype))

        out_logits = A.concat([true_logits, sampled_logits], 1)
        out_labels = A.concat([A.ones_like(true_logits) / float(num_true),
                               A.zeros_like(sampled_logits)], 1)
        return out_logits, out_labels


def _as(t: Tensor, dtype) -> Tensor:
    return t if t.dtype == dtype else M.cast(t, dtype)


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
             sampled_values=None, remove_accidental_hits=False, partition_strategy="mod",
             name="nce_loss") -> Tensor:
    """Noise-contrastive estimation loss per example (TF1 ``tf.nn.nce_loss``).

    The sum over ``[true | sampled]`` columns of the sigmoid cross-entropy between the
    sampled logits (log expected counts subtracted) and the labels ``1 / num_true`` for the
    true classes, 0 for the sampled ones. For training only; evaluate with the full
    sigmoid loss (``partition_strategy="div"`` keeps the two consistent).

    Args:
        weights: ``[num_classes, dim]`` class embeddings, or a list of shards.
        biases: ``[num_classes]`` class biases, or a list of shards.
        labels: int64 ``[batch_size, num_true]`` target classes.
        inputs: float ``[batch_size, dim]`` forward activations.
        num_sampled: int, the number of classes drawn per batch.
        num_classes: int, the number of possible classes.
        num_true: int, the number of target classes per example.
        sampled_values: ``(sampled_candidates, true_expected_count,
            sampled_expected_count)`` from a ``*_candidate_sampler``; default: a
            ``log_uniform_candidate_sampler(labels, num_true, num_sampled, True,
            num_classes)``.
        remove_accidental_hits: bool; drop a sampled class that is one of the row's true
            classes (default False for NCE).
        partition_strategy: ``"mod"`` or ``"div"``, for sharded ``weights`` / ``biases``.
        name: name scope.

    Returns:
        ``[batch_size]`` losses of ``inputs``' dtype.
    """
    logits, labels = compute_sampled_logits(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true=num_true,
        sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits,
        partition_strategy=partition_strategy, name=name)
    losses = N.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits,
                                                 name="sampled_losses")
    return R.reduce_sum(losses, 1)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes,
                         num_true=1, sampled_values=None, remove_accidental_hits=True,
                         partition_strategy="mod", name="sampled_softmax_loss",
                         seed=None) -> Tensor:
    """Sampled softmax loss per example (TF1 ``tf.nn.sampled_softmax_loss``).

    The softmax cross-entropy over ``[true | sampled]`` logits (log expected counts
    subtracted) against labels ``1 / num_true`` for the true classes. For training only;
    an underestimate of the full softmax loss. Arguments as :func:`nce_loss`'s, except
    that ``remove_accidental_hits`` defaults to True and ``seed`` seeds the default
    sampler.

    Returns:
        ``[batch_size]`` losses of ``inputs``' dtype.
    """
    logits, labels = compute_sampled_logits(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true=num_true,
        sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits,
        partition_strategy=partition_strategy, name=name, seed=seed)
    labels = A.stop_gradient(labels, name="labels_stop_gradient")
    return N.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
