"""TF1 ``tf.nn`` functions composed from existing rows: ``swish``, ``lrn``,
``fused_batch_norm``, ``zero_fraction``, ``weighted_cross_entropy_with_logits``.

Compositions only (their gradients come from the rows they use): the channel window of
``lrn`` is a matmul with a constant band matrix; ``fused_batch_norm`` is the moments,
rsqrt and affine ops. Must not: register rows; create variables.
"""

from __future__ import annotations

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops import nn_ops as N
from estcore.graph.ops import reduce_ops as R
from estcore.graph.ops.core import convert_to_tensor, make
from estcore.graph.tensor import Tensor

__all__ = ["swish", "local_response_normalization", "fused_batch_norm", "zero_fraction",
           "weighted_cross_entropy_with_logits"]


def swish(features, beta=1.0, name=None) -> Tensor:
    """``features * sigmoid(beta * features)`` (TF ``tf.nn.swish``)."""
    x = convert_to_tensor(features)
    with x.graph.name_scope(name or "swish"):
        return x * N.activation("sigmoid", x * beta if beta != 1.0 else x)


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5,  # noqa: A002
                                 name=None) -> Tensor:
    """TF1 ``tf.nn.lrn``: ``input / (bias + alpha * sqr_sum) ** beta``, where
    ``sqr_sum[..., d]`` sums ``input[..., d - r : d + r + 1] ** 2`` over the last
    (channel) axis, ``r = depth_radius``.

    Args:
        input: 4-D float tensor (NHWC); the channel count must be known.
        depth_radius, bias, alpha, beta: as TF's.
        name: name scope.
    """
    x = convert_to_tensor(input)
    if not x.dtype.is_floating:
        raise TypeError(f"`input` must be a float tensor. Received: dtype {x.dtype.name}")
    if x.shape.rank != 4:
        raise ValueError(f"`input` must be a 4-D tensor (NHWC). Received: shape {x.shape}")
    c = x.shape.dims[-1]
    if c is None:
        raise ValueError("lrn needs the channel count (last dimension) known when the graph "
                         "is built")
    r = int(depth_radius)
    i = np.arange(c)
    band = (np.abs(i[:, None] - i[None, :]) <= r).astype(x.dtype.np)
    with x.graph.name_scope(name or "LRN"):
        sq = A.reshape(M.square(x), [-1, c])
        s = make("ReshapeLike", [M.matmul(sq, convert_to_tensor(band)), x])
        denom = M.pow(M.add(M.multiply(s, float(alpha)), float(bias)), float(beta))
        return M.truediv(x, denom)


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001,
                     data_format="NHWC", is_training=True, name=None,
                     exponential_avg_factor=1.0) -> tuple[Tensor, Tensor, Tensor]:
    """TF1 ``tf.nn.fused_batch_norm`` (a composition, same results).

    Args:
        x: 4-D float tensor, NHWC (or NCHW with ``data_format``).
        scale, offset: 1-D tensors of the channel count.
        mean, variance: 1-D population statistics; required when
            ``is_training=False``, ignored when training.
        epsilon: added to the variance.
        data_format: ``"NHWC"`` or ``"NCHW"``.
        is_training: True: normalize by the batch's statistics.
        name: name scope.
        exponential_avg_factor: accepted (TF 2 argument); 1.0 only.

    Returns:
        ``(y, batch_mean, batch_variance)``: training returns the batch mean and the
        variance with Bessel's correction (``n / (n - 1)``), as TF does; inference
        returns ``mean`` and ``variance`` as given.
    """
    x = convert_to_tensor(x)
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"`data_format` must be 'NHWC' or 'NCHW'. Received: {data_format!r}")
    if x.shape.rank not in (4, None):
        raise ValueError(f"`x` must be a 4-D tensor. Received: shape {x.shape}")
    if exponential_avg_factor != 1.0:
        raise ValueError("`exponential_avg_factor` other than 1.0 is not supported")
    axes = [0, 1, 2] if data_format == "NHWC" else [0, 2, 3]
    shape = [1, 1, 1, -1] if data_format == "NHWC" else [1, -1, 1, 1]
    with x.graph.name_scope(name or "FusedBatchNorm"):
        scale = convert_to_tensor(scale, dtype=x.dtype)
        offset = convert_to_tensor(offset, dtype=x.dtype)
        if is_training:
            m = R.reduce_mean(x, axis=axes)
            v = R.reduce_mean(M.squared_difference(x, A.stop_gradient(A.reshape(m, shape))),
                              axis=axes)
            n = M.cast(M.truediv(A.size(x), A.size(m)), x.dtype)
            out_v = v * (n / M.maximum(n - 1.0, 1.0))
            out_m = m
        else:
            if mean is None or variance is None:
                raise ValueError("`mean` and `variance` are required when "
                                 "is_training=False")
            m = convert_to_tensor(mean, dtype=x.dtype)
            v = convert_to_tensor(variance, dtype=x.dtype)
            out_m, out_v = m, v
        inv = M.rsqrt(v + float(epsilon)) * scale
        y = x * A.reshape(inv, shape) + A.reshape(offset - m * inv, shape)
        return y, out_m, out_v


def zero_fraction(value, name=None) -> Tensor:
    """The fraction of zeros in ``value`` (float32 scalar; TF ``tf.nn.zero_fraction``)."""
    v = convert_to_tensor(value)
    with v.graph.name_scope(name or "zero_fraction"):
        zero = convert_to_tensor(np.zeros((), v.dtype.np))
        return R.reduce_mean(M.cast(M.equal(v, zero), dt.float32))


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None,
                                       targets=None) -> Tensor:
    """Sigmoid cross-entropy with positives weighted by ``pos_weight`` (TF1
    ``tf.nn.weighted_cross_entropy_with_logits``), in TF's stable form
    ``(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + max(-x, 0))``.

    Args:
        labels: float tensor of the logits' shape (``targets``: TF1's older name).
        logits: float tensor.
        pos_weight: coefficient of the positive examples (scalar or broadcastable).
        name: name scope.
    """
    if labels is None:
        labels = targets
    elif targets is not None:
        raise ValueError("Only one of `labels` and `targets` may be given")
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("`labels`, `logits` and `pos_weight` are required")
    x = convert_to_tensor(logits)
    with x.graph.name_scope(name or "logistic_loss"):
        z = M.cast(convert_to_tensor(labels), x.dtype) if not hasattr(labels, "_as_tensor") \
            else convert_to_tensor(labels)
        if z.dtype is not x.dtype:
            z = M.cast(z, x.dtype)
        if not z.shape.is_compatible_with(x.shape):
            raise ValueError(f"`logits` and `labels` must have the same shape. Received: "
                             f"{x.shape} vs {z.shape}")
        q = convert_to_tensor(pos_weight)
        if q.dtype is not x.dtype:
            q = M.cast(q, x.dtype)
        log_weight = 1.0 + (q - 1.0) * z
        soft = M.log1p(M.exp(-M.abs(x))) + M.maximum(-x, convert_to_tensor(
            np.zeros((), x.dtype.np)))
        return (1.0 - z) * x + log_weight * soft
