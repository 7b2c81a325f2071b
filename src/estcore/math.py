"""``estcore.math``: TF1's ``tf.math`` namespace (aliases of the top-level ops).

A façade: re-exports only. Must not: define ops (they are the graph's
``math_ops`` / ``reduce_ops`` and :mod:`estcore.nn`); be imported by estcore's own
modules.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.graph.ops.math_ops import (
    abs,  # noqa: A004 - TF1 name
    add,
    add_n,
    ceil,
    cos,
    divide,
    equal,
    exp,
    floor,
    floordiv,
    greater,
    greater_equal,
    is_finite,
    is_inf,
    is_nan,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004 - TF1 name
    reciprocal,
    round,  # noqa: A004 - TF1 name
    rsqrt,
    sign,
    sin,
    sqrt,
    square,
    squared_difference,
    subtract,
    truediv,
)
from estcore.graph.ops.math_ops import mod as floormod
from estcore.graph.ops.reduce_ops import (
    argmax,
    argmin,
    count_nonzero,
    reduce_all,
    reduce_any,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
)
from estcore.nn import (
    in_top_k,
    l2_normalize,
    log_softmax,
    sigmoid,
    softmax,
    softplus,
    tanh,
    top_k,
)

mod = floormod

__all__ = [name for name in dir() if not name.startswith("_")]
