"""Stable sorting of integer tensors along the last axis (``tf.sort`` / ``tf.argsort`` of
integers; float tensors sort through TopKV2, which carries the gradient).

Integers are ordered exactly over the whole dtype range, with no negation (``-x`` wraps at
the minimum, and for unsigned types everywhere); equal values keep their order in both
directions, as TF's sort.

Owns: the ``IntSort`` row. Must not: serve float tensors (no gradient here).
"""

from __future__ import annotations

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops.core import convert_to_tensor, make_op, row
from estcore.graph.tensor import Tensor

__all__ = ["int_sort"]


def _infer(ctx):
    if not ctx.dtypes[0].is_integer:
        raise ctx.fail(f"expects an integer input, got {ctx.dtypes[0].name}", TypeError)
    if ctx.shapes[0].rank == 0:
        raise ctx.fail("expects an input of rank >= 1, got a scalar")
    return [(ctx.dtypes[0], ctx.shapes[0]), (dt.int32, ctx.shapes[0])]


def _order(x: np.ndarray, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=-1, kind="stable")
    n = x.shape[-1]
    # stable descending: sort the reversed axis ascending, reverse back
    return (n - 1 - np.argsort(x[..., ::-1], axis=-1, kind="stable"))[..., ::-1]


def _build(k):
    x = k.ins[0]
    vals, idx = k.outs

    def run():
        order = _order(np.asarray(x), k.attrs["descending"])
        np.copyto(idx, order, casting="unsafe")
        np.copyto(vals, np.take_along_axis(x, order, axis=-1))
    return run


row("IntSort", _infer, _build, None)


def int_sort(x, descending: bool = False, name=None) -> tuple[Tensor, Tensor]:
    """``(sorted values, int32 indices)`` of an integer tensor along its last axis."""
    op = make_op("IntSort", [convert_to_tensor(x)], {"descending": bool(descending)},
                 name=name or "IntSort")
    return op.outputs[0], op.outputs[1]
