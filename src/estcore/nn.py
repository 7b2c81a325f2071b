"""``estcore.nn``: activations, softmax, cross-entropies, dropout, conv/pool (TF1 names).

Thin TF1-named wrappers over the graph's ``nn_ops``, ``conv_ops``, ``math_ops`` and
``reduce_ops`` (plus compositions such as ``moments``, ``l2_normalize``,
``embedding_lookup``). Must not: register op rows or kernels (the graph's op modules
do); create variables; import the layers, losses or metrics (they import this
module).
"""

# ruff: noqa: F401 - this module re-exports names

from __future__ import annotations

from typing import TYPE_CHECKING

from estcore.graph import dtypes as _dt
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import nn_ops as _nn
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops import sparse_ops as _sp
from estcore.graph.ops.candidate_sampling_ops import (
    all_candidate_sampler,
    compute_accidental_hits,
    fixed_unigram_candidate_sampler,
    learned_unigram_candidate_sampler,
    log_uniform_candidate_sampler,
    uniform_candidate_sampler,
)
from estcore.graph.ops.clip_ops import clip_by_norm
from estcore.graph.ops.conv_extra_ops import conv2d_transpose, depthwise_conv2d, separable_conv2d
from estcore.graph.ops.conv_ops import avg_pool2d, conv2d, max_pool2d
from estcore.graph.ops.core import constant_value as _constant_value
from estcore.graph.ops.core import convert_to_tensor as _t
from estcore.graph.ops.nn_extra_ops import (
    fused_batch_norm,
    local_response_normalization,
    swish,
    weighted_cross_entropy_with_logits,
    zero_fraction,
)
from estcore.graph.ops.nn_ops import (
    bias_add,
    in_top_k,
    log_softmax,
    sigmoid_cross_entropy_with_logits,
    softmax,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
    top_k,
)
from estcore.graph.ops.sampled_loss_ops import nce_loss, sampled_softmax_loss
from estcore.graph.variables import name_scope as _name_scope

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "softplus", "softsign",
    "softmax", "log_softmax", "dropout", "sparse_softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
    "sigmoid_cross_entropy_with_logits", "l2_loss", "moments", "batch_normalization",
    "conv2d", "max_pool2d", "avg_pool2d", "max_pool", "avg_pool", "bias_add", "in_top_k",
    "l2_normalize", "embedding_lookup", "top_k", "embedding_lookup_sparse",
    "safe_embedding_lookup_sparse",
    "swish", "lrn", "local_response_normalization", "fused_batch_norm", "zero_fraction",
    "weighted_cross_entropy_with_logits", "conv2d_transpose", "depthwise_conv2d",
    "separable_conv2d", "nce_loss", "sampled_softmax_loss", "log_uniform_candidate_sampler",
    "uniform_candidate_sampler", "learned_unigram_candidate_sampler",
    "fixed_unigram_candidate_sampler", "all_candidate_sampler", "compute_accidental_hits",
]
lrn = local_response_normalization

softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits
max_pool = max_pool2d
avg_pool = avg_pool2d


def _act(name, doc):
    def f(features, name=None):
        return _nn.activation(act_name, features, op_name=name)
    act_name = name
    f.__name__ = name
    f.__doc__ = doc
    f._estcore_activation = name
    return f


relu = _act("relu", "``max(x, 0)``.")
relu6 = _act("relu6", "``min(max(x, 0), 6)``.")
elu = _act("elu", "``x`` if ``x > 0`` else ``exp(x) - 1``.")
selu = _act("selu", "Scaled ELU (Klambauer et al.).")


def sigmoid(x, name=None) -> Tensor:
    """``1 / (1 + exp(-x))`` (TF1's parameter name ``x``)."""
    return _nn.activation("sigmoid", x, op_name=name)


def tanh(x, name=None) -> Tensor:
    """Hyperbolic tangent (TF1's parameter name ``x``)."""
    return _nn.activation("tanh", x, op_name=name)


sigmoid._estcore_activation = "sigmoid"
tanh._estcore_activation = "tanh"
softplus = _act("softplus", "``log(1 + exp(x))``.")
softsign = _act("softsign", "``x / (1 + |x|)``.")


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """``x`` if ``x > 0`` else ``alpha * x``."""
    return _nn.activation("leaky_relu", features, alpha=alpha, op_name=name)


leaky_relu._estcore_activation = "leaky_relu"


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None,
            training=True) -> Tensor:
    """Zero elements with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    TF1's ``keep_prob`` (= 1 - rate) is accepted too. ``training`` (a Python bool or a
    bool scalar tensor) switches dropout off at run time; masks come from the op's
    seed pair and advance every run.

    Args:
        x: float tensor.
        rate: drop probability in ``[0, 1)`` (Python number).
        noise_shape: shape of the random mask, broadcast against ``x`` (None entries
            take ``x``'s dimension).
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("Pass exactly one of `rate` and `keep_prob` to dropout. Received: "
                         f"rate={rate!r}, keep_prob={keep_prob!r}")
    if rate is None:
        rate = 1.0 - float(keep_prob)
    if hasattr(rate, "_as_tensor"):
        raise TypeError("`rate` must be a Python float in estcore's dropout. "
                        f"Received: rate={rate!r}")
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate}")
    x = _t(x)
    if training is False or rate == 0.0:
        return _a.identity(x, name=name)
    if noise_shape is not None:
        if hasattr(noise_shape, "_as_tensor"):
            val = _constant_value(noise_shape._as_tensor())
            if val is None:
                raise TypeError("`noise_shape` must be a list or a constant tensor.")
            noise_shape = val.tolist()
        noise_shape = [None if d is None else int(d) for d in noise_shape]
    return _nn.dropout_op(x, rate, noise_shape, seed, True if training is True else training,
                          name=name)


def l2_loss(t, name=None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    t = _t(t)
    return _m.multiply(_r.reduce_sum(_m.square(t)), 0.5, name=name or "L2Loss")


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None) -> tuple[Tensor, Tensor]:
    """Mean and variance of ``x`` over ``axes`` (returns a ``(mean, variance)`` pair).

    As TF1's, under the name scope ``name`` (default ``moments``): the outputs are
    ``moments/Squeeze`` and ``moments/Squeeze_1`` (``moments/mean`` and
    ``moments/variance`` with ``keep_dims``), the names an ``ExponentialMovingAverage``
    of them (and so a TF checkpoint) is keyed by. float16 is computed in float32.
    ``shift`` is accepted and unused, as in TF1.
    """
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with _name_scope(name or "moments"):
        x = _t(x)
        half = x.dtype == _dt.float16
        y = _m.cast(x, _dt.float32) if half else x
        mean = _r.reduce_mean(y, axes, keepdims=True, name="mean")
        var = _r.reduce_mean(_m.squared_difference(y, _a.stop_gradient(mean)), axes,
                             keepdims=True, name="variance")
        if not keep:
            ax = [axes] if isinstance(axes, int) else list(axes)
            mean = _a.squeeze(mean, ax)
            var = _a.squeeze(var, ax)
        if half:
            return _m.cast(mean, _dt.float16), _m.cast(var, _dt.float16)
        return mean, var


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None) -> Tensor:
    """``(x - mean) * scale / sqrt(variance + eps) + offset`` (offset/scale may be None),
    under the name scope ``name`` (default ``batchnorm``, as TF1)."""
    with _name_scope(name or "batchnorm"):
        x = _t(x)
        inv = _m.rsqrt(_m.add(variance, variance_epsilon))
        if scale is not None:
            inv = inv * scale
        shift = (offset - mean * inv) if offset is not None else -(_t(mean) * inv)
        return _m.add(x * inv, shift)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None) -> Tensor:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``."""
    axis = dim if axis is None else axis
    x = _t(x)
    sq = _r.reduce_sum(_m.square(x), axis, keepdims=True)
    return _m.multiply(x, _m.rsqrt(_m.maximum(sq, epsilon)), name=name)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, max_norm=None) -> Tensor:
    """Rows of ``params`` at integer ``ids`` (a single params tensor, or a list of one)."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError("embedding_lookup with several sharded params is not supported. "
                             f"Received: {len(params)} params")
        params = params[0]
    out = _a.gather(params, ids, name=name or "embedding_lookup")
    if max_norm is not None:
        out = clip_by_norm(out, max_norm, axes=[-1])
    return out




def embedding_lookup_sparse(params, sp_ids, sp_weights, partition_strategy="mod", name=None,
                            combiner=None, max_norm=None) -> Tensor:
    """Combined embeddings of each row of the SparseTensor ``sp_ids`` (TF1's
    ``tf.nn.embedding_lookup_sparse``; ``combiner`` ``"mean"`` (default), ``"sqrtn"`` or
    ``"sum"``; ``sp_weights`` None or a float SparseTensor of the same layout).

    Difference from TF: a row without ids gives zeros (TF drops it from the output, a
    data-dependent shape), as ``safe_embedding_lookup_sparse`` does. The gradient for
    ``params`` is an IndexedSlices of the rows looked up (never a dense ``[V, d]``).
    """
    return _sp.embedding_lookup_sparse(params, sp_ids, sp_weights, name=name,
                                       combiner=combiner, max_norm=max_norm)


def safe_embedding_lookup_sparse(embedding_weights, sparse_ids, sparse_weights=None,
                                 combiner="mean", default_id=None, name=None,
                                 partition_strategy="div", max_norm=None) -> Tensor:
    """TF1's ``tf.nn.safe_embedding_lookup_sparse``: ids < 0 and weights <= 0 are
    dropped, a row left without ids gives zeros (or ``embedding_weights[default_id]``).

    Args:
        embedding_weights: ``[V, d...]`` variable or tensor (or a list of one).
        sparse_ids: int SparseTensor ``[B, L]``.
        sparse_weights: None or float SparseTensor with ``sparse_ids``' layout.
        combiner: ``"mean"`` (default), ``"sqrtn"`` or ``"sum"``.
        default_id: optional id whose embedding fills the rows without valid ids.
        max_norm: clip each embedding to this L2 norm before combining.

    Returns:
        ``[B, d...]``.
    """
    out = _sp.embedding_lookup_sparse(embedding_weights, sparse_ids, sparse_weights,
                                      name=name or "embedding_lookup_sparse",
                                      combiner=combiner, max_norm=max_norm)
    if default_id is None:
        return out
    params = embedding_weights[0] if isinstance(embedding_weights, (list, tuple)) \
        else embedding_weights
    ids = sparse_ids.padded_values
    valid = _m.logical_and(_m.greater_equal(sparse_ids.cols, _a.zeros_like(sparse_ids.cols)),
                           _m.greater_equal(ids, _a.zeros_like(ids)))
    if sparse_weights is not None:
        w = sparse_weights.padded_values
        valid = _m.logical_and(valid, _m.greater(w, _a.zeros_like(w)))
    empty = _m.subtract(1.0, _m.cast(_r.reduce_any(valid, axis=1, keepdims=True), out.dtype))
    fill = _a.gather(_t(params), [int(default_id)])        # [1, d...]
    if out.shape.rank is not None and out.shape.rank > 2:
        empty = _a.reshape(empty, [-1] + [1] * (out.shape.rank - 1))
    # a row without valid ids is zeros in ``out``: add the default embedding there
    return _m.add(out, _m.multiply(empty, fill))
