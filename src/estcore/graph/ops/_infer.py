"""Shared shape/dtype rules and small IR helpers used by several op modules.

Owns the shape and dtype rules several rows share (same-as-input, float/numeric unary,
numpy broadcasting, axis normalization). Must not: register rows, build nodes or run
kernels; raise anything but the row context's errors (``ctx.fail``), so messages name
the node.
"""

from __future__ import annotations

from estcore.graph import dtypes as dt
from estcore.graph.shapes import TensorShape, broadcast_static


def same_as_input(i: int = 0):
    """Rule: one output with the dtype and shape of input ``i``."""
    def infer(ctx):
        return [(ctx.dtypes[i], ctx.shapes[i])]
    return infer


def float_unary(ctx):
    if not ctx.dtypes[0].is_floating:
        raise ctx.fail(f"expects a floating-point input, got {ctx.dtypes[0].name}", TypeError)
    return [(ctx.dtypes[0], ctx.shapes[0])]


def numeric_unary(ctx):
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"expects a numeric input, got {ctx.dtypes[0].name}", TypeError)
    return [(ctx.dtypes[0], ctx.shapes[0])]


def check_same_dtype(ctx, names=("x", "y")):
    a, b = ctx.dtypes[0], ctx.dtypes[1]
    if a is not b:
        raise ctx.fail(f"inputs must have the same dtype: {names[0]} is {a.name}, "
                       f"{names[1]} is {b.name}", TypeError)


def broadcast_shape(ctx, i: int = 0, j: int = 1, names=("x", "y")) -> TensorShape:
    out = broadcast_static(ctx.shapes[i], ctx.shapes[j])
    if out is None:
        raise ctx.fail(f"incompatible shapes for broadcasting: {names[0]} has shape "
                       f"{ctx.fmt(i)}, {names[1]} has shape {ctx.fmt(j)}")
    return out


def binary(out_dtype=None, kinds=None):
    """Rule for a broadcasting binary op (``out_dtype`` None: the input dtype)."""
    def infer(ctx):
        check_same_dtype(ctx)
        d = ctx.dtypes[0]
        if kinds == "numeric" and not d.is_numeric:
            raise ctx.fail(f"expects numeric inputs, got {d.name}", TypeError)
        if kinds == "bool" and not d.is_bool:
            raise ctx.fail(f"expects bool inputs, got {d.name}", TypeError)
        return [(out_dtype or d, broadcast_shape(ctx))]
    return infer


def norm_axis(ctx, axis: int, rank: int | None, what: str = "axis") -> int:
    if rank is None:
        return axis
    if not -rank <= axis < rank:
        raise ctx.fail(f"`{what}` must be in [{-rank}, {rank}) for an input of rank {rank}. "
                       f"Received: {what}={axis}")
    return axis % rank


def int_list(ctx, value, what: str) -> list[int]:
    try:
        return [int(v) for v in value.reshape(-1)]
    except (TypeError, ValueError) as exc:
        raise ctx.fail(f"`{what}` must be integers. Received: {value!r}") from exc


INT_TYPES = (dt.int32, dt.int64)
