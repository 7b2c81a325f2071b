"""More random ops: ``random_shuffle`` (TF's ``RandomShuffle``) and ``multinomial`` /
``categorical`` (TF's ``Multinomial``).

As in :mod:`estcore.graph.ops.random_ops`, each node holds its seed pair and draws from
the session's generator for the node on every run. Neither op has a gradient (TF marks
both not differentiable).

Must not: draw values when the node is built; use numpy's global random state.
"""

from __future__ import annotations

import numbers

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.ops.core import convert_to_tensor, make, row
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape

__all__ = ["random_shuffle", "multinomial", "categorical"]


# ---------------------------------------------------------------- RandomShuffle
def _shuffle_infer(ctx):
    if ctx.shapes[0].rank == 0:
        raise ctx.fail("`value` must have rank >= 1 (it is shuffled along dimension 0). "
                       "Received: shape ()")
    return [(ctx.dtypes[0], ctx.shapes[0])]


def _shuffle_build(k):
    x, o = k.ins[0], k.outs[0]
    state, node = k.state, k.node

    def run():
        order = state.rng(node).permutation(x.shape[0])
        np.take(x, order, axis=0, out=o)
    return run


row("RandomShuffle", _shuffle_infer, _shuffle_build, NO_GRADIENT, stateful=True)


def random_shuffle(value, seed=None, name=None):
    """``value`` with its rows (dimension 0) in a new random order on every run (TF
    ``tf.random.shuffle`` / TF1 ``tf.random_shuffle``).

    Args:
        value: a tensor of rank >= 1, any dtype.
        seed: op seed (with the graph seed, as for every random op).
        name: node name.

    Returns:
        A tensor of ``value``'s dtype and shape.
    """
    x = convert_to_tensor(value)
    return make("RandomShuffle", [x], {"seed": R.op_seeds(x.graph, seed)},
                name=name or "random_shuffle")


# ---------------------------------------------------------------- Multinomial
def _multinomial_infer(ctx):
    s = ctx.shapes[0]
    if not ctx.dtypes[0].is_floating:
        raise ctx.fail(f"`logits` must be a float tensor. Received: {ctx.dtypes[0].name}",
                       TypeError)
    if s.rank not in (2, None):
        raise ctx.fail(f"`logits` must be 2-D [batch_size, num_classes]. Received: shape "
                       f"{ctx.fmt(0)}")
    batch = None if s.rank is None else s.dims[0]
    return [(ctx.attrs["dtype"], TensorShape([batch, ctx.attrs["num_samples"]]))]


def _multinomial_build(k):
    logits, o = k.ins[0], k.outs[0]
    n = k.attrs["num_samples"]
    state, node = k.state, k.node

    def run():
        rng = state.rng(node)
        lg = logits.astype(np.float64, copy=False)
        if lg.shape[1] == 0:
            if lg.shape[0] and n:
                raise ValueError("`logits` has no classes to draw from (num_classes is 0)")
            return
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits)
        u = rng.random((lg.shape[0], n, lg.shape[1]))
        noise = -np.log(-np.log1p(-u))
        o[...] = np.argmax(lg[:, None, :] + noise, axis=2)
    return run


row("Multinomial", _multinomial_infer, _multinomial_build, NO_GRADIENT, stateful=True)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """Class indices drawn from ``softmax(logits)`` per row, a new draw every run (TF
    ``tf.random.categorical``).

    Args:
        logits: float tensor ``[batch_size, num_classes]`` of unnormalized log
            probabilities (``-inf``: never drawn).
        num_samples: a Python int >= 0, draws per row.
        dtype: int32 or int64 (default) result.
        seed: op seed.
        name: node name.

    Returns:
        An int tensor ``[batch_size, num_samples]``.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"`num_samples` must be a Python int in estcore. Received: "
                        f"num_samples={num_samples!r}")
    if num_samples < 0:
        raise ValueError(f"`num_samples` must be >= 0. Received: num_samples={num_samples}")
    out = dt.int64 if dtype is None else dt.as_dtype(dtype)
    if out not in (dt.int32, dt.int64):
        raise TypeError(f"`dtype` must be int32 or int64. Received: dtype={out.name}")
    x = convert_to_tensor(logits)
    return make("Multinomial", [x], {"num_samples": int(num_samples), "dtype": out,
                                     "seed": R.op_seeds(x.graph, seed)},
                name=name or "categorical")


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """TF1's ``tf.multinomial``: :func:`categorical` with ``output_dtype`` for ``dtype``."""
    return categorical(logits, num_samples, dtype=output_dtype, seed=seed,
                       name=name or "multinomial")
