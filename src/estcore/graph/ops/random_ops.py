"""Random tensors: random_normal, random_uniform, truncated_normal.

Each node holds its seed pair; the session owns one generator per node
(see :mod:`estcore.graph.random`), so every run draws new values.

Must not: draw values when the node is built (each run draws from the session's
generator for the node); use numpy's global random state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.ops.array_ops import shape_tensor
from estcore.graph.ops.core import make
from estcore.graph.ops.shape_tensors import shape_arg, value_shaped_row

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["random_normal", "random_uniform", "truncated_normal"]


def _random_infer(ctx):
    if ctx.dtypes[0] not in (dt.int32, dt.int64) or ctx.shapes[0].rank not in (None, 0, 1):
        raise ctx.fail(f"`shape` must be a 1-D int32 or int64 tensor. Received: a "
                       f"{ctx.dtypes[0].name} tensor of shape {ctx.fmt(0)}", TypeError)
    return [(ctx.attrs["dtype"], shape_arg(ctx, 0, "shape"))]


def _normal_build(k):
    o = k.outs[0]
    mean, std, trunc = k.attrs["mean"], k.attrs["stddev"], k.attrs.get("truncated", False)
    state, node = k.state, k.node
    tmp = o if o.dtype in (np.float32, np.float64) else np.empty(o.shape, np.float32)

    def run():
        rng = state.rng(node)
        rng.standard_normal(out=tmp, dtype=tmp.dtype.type)
        if trunc:
            bad = np.abs(tmp) > 2
            while bad.any():
                tmp[bad] = rng.standard_normal(int(bad.sum()), dtype=tmp.dtype.type)
                bad = np.abs(tmp) > 2
        if tmp is not o:
            np.copyto(o, tmp, casting="unsafe")
        np.multiply(o, std, out=o)
        np.add(o, mean, out=o)
    return run


def _uniform_build(k):
    o = k.outs[0]
    lo, hi = k.attrs["minval"], k.attrs["maxval"]
    state, node = k.state, k.node
    if o.dtype.kind in "iu":
        def run_int():
            np.copyto(o, state.rng(node).integers(lo, hi, size=o.shape, dtype=o.dtype))
        return run_int
    tmp = o if o.dtype in (np.float32, np.float64) else np.empty(o.shape, np.float32)

    def run():
        state.rng(node).random(out=tmp, dtype=tmp.dtype.type)
        if tmp is not o:
            np.copyto(o, tmp, casting="unsafe")
        np.multiply(o, hi - lo, out=o)
        np.add(o, lo, out=o)
    return run


value_shaped_row("RandomNormal", _random_infer, _normal_build, None, stateful=True)
value_shaped_row("RandomUniform", _random_infer, _uniform_build, None, stateful=True)


def _float_attr(v, name):
    if hasattr(v, "_as_tensor"):
        raise TypeError(f"`{name}` must be a Python number in estcore's random ops. "
                        f"Received: {name}={v!r}")
    return float(v)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None) -> Tensor:
    """Samples from N(mean, stddev^2) (a new draw every run)."""
    dtype = dt.as_dtype(dtype)
    s = shape_tensor(shape)
    return make("RandomNormal", [s], {"dtype": dtype, "mean": _float_attr(mean, "mean"),
                                      "stddev": _float_attr(stddev, "stddev"),
                                      "seed": R.op_seeds(s.graph, seed)},
                name=name or "random_normal")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None) -> Tensor:
    """Normal samples re-drawn until within two standard deviations of the mean."""
    dtype = dt.as_dtype(dtype)
    s = shape_tensor(shape)
    return make("RandomNormal", [s], {"dtype": dtype, "mean": _float_attr(mean, "mean"),
                                      "stddev": _float_attr(stddev, "stddev"),
                                      "truncated": True, "seed": R.op_seeds(s.graph, seed)},
                name=name or "truncated_normal")


def random_uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None) -> Tensor:
    """Uniform samples in ``[minval, maxval)`` (``maxval`` required for int dtypes)."""
    dtype = dt.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"`maxval` must be given for dtype {dtype.name}. "
                             "Received: maxval=None")
        maxval = 1.0
    s = shape_tensor(shape)
    cast = int if dtype.is_integer else float
    return make("RandomUniform", [s], {"dtype": dtype, "minval": cast(minval),
                                       "maxval": cast(maxval),
                                       "seed": R.op_seeds(s.graph, seed)},
                name=name or "random_uniform")


