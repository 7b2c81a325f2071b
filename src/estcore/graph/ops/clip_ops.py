"""Norm clipping (clip_by_norm, global_norm, clip_by_global_norm), built from other ops.

Must not: register op rows or kernels of its own: the functions compose math and
reduce ops, so their gradients and C kernels come from those rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from estcore.graph.ops.array_ops import ones_like
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import add_n, cast, greater, maximum, minimum, sqrt, where
from estcore.graph.ops.reduce_ops import reduce_sum

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["clip_by_norm", "global_norm", "clip_by_global_norm"]


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """Rescale ``t`` so its L2 norm (over ``axes``) is at most ``clip_norm``."""
    t = convert_to_tensor(t)
    l2sum = reduce_sum(t * t, axes, keepdims=True)
    pred = greater(l2sum, 0.0)
    safe = where(pred, l2sum, ones_like(l2sum))
    l2norm = where(pred, sqrt(safe), l2sum)
    clip = convert_to_tensor(clip_norm, t.dtype)
    return t * clip / maximum(l2norm, clip)


def global_norm(t_list, name=None) -> Tensor:
    """``sqrt(sum(l2norm(t)**2 for t in t_list))`` (None entries are ignored)."""
    ts = [convert_to_tensor(t) for t in t_list if t is not None]
    if not ts:
        raise ValueError("`t_list` must contain at least one tensor. Received: all None")
    dtype = ts[0].dtype
    sums = [cast(reduce_sum(t * t), dtype) for t in ts]
    return sqrt(add_n(sums), name=name or "global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None) -> tuple[list, Tensor]:
    """Scale every tensor by ``clip_norm / max(global_norm, clip_norm)``.

    Returns:
        ``(list_clipped, global_norm)``; None entries stay None.
    """
    t_list = list(t_list)
    norm = global_norm(t_list) if use_norm is None else convert_to_tensor(use_norm)
    clip = convert_to_tensor(clip_norm, norm.dtype)
    scale = clip * minimum(1.0 / norm, 1.0 / clip)
    out = [None if t is None else convert_to_tensor(t) * cast(scale, convert_to_tensor(t).dtype)
           for t in t_list]
    return out, norm
