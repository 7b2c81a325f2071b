"""Elementwise special functions TF 1.x has as ops: Tan, Sinh, Cosh, Expm1, Rint, Erf, Erfc,
Lgamma, Digamma (numpy kernels, TF's gradients).

Erf, Erfc and Lgamma evaluate Python's ``math`` functions element by element in float64
(exact to the last bit of float32, but slow: meant for losses and small tensors, not for
hot loops); Digamma is a float64 series (recurrence up to x >= 6, then the asymptotic
expansion; reflection below 0). Digamma has no gradient here (TF's is Polygamma, which
estcore does not have): asking for one is a LookupError, never a zero.

Owns: these ops, their kernels and gradients. Must not: be used by the plan's C paths
(they run as Python kernels).
"""

from __future__ import annotations

import math

import numpy as np

from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import make, row
from estcore.graph.ops.math_ops import (
    _unary,
    _unary_grad,
    _unary_kernel,
    cos,
    exp,
    multiply,
    negative,
    square,
)

__all__ = ["tan", "sinh", "cosh", "expm1", "rint", "erf", "erfc", "lgamma", "digamma"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _elementwise(fn):
    vec = np.frompyfunc(fn, 1, 1)

    def run(x, out):
        out[...] = np.asarray(vec(np.asarray(x, dtype=np.float64)), dtype=np.float64)
    return run


def _lgamma(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:          # a pole (0, -1, -2, ...): TF gives +inf
        return math.inf


def _digamma(x, out):
    x = np.asarray(x, dtype=np.float64)
    res = np.zeros_like(x)
    reflect = x < 0
    pole = (x <= 0) & (x == np.floor(x))
    with np.errstate(all="ignore"):
        v = np.where(reflect, 1.0 - x, x)
        res = np.where(reflect, -np.pi / np.tan(np.pi * x), 0.0)
        while True:
            small = v < 6.0
            if not small.any():
                break
            res = res - np.where(small, 1.0 / v, 0.0)
            v = np.where(small, v + 1.0, v)
        inv2 = 1.0 / (v * v)
        series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
            1.0 / 240 - inv2 * (1.0 / 132)))))
        res = res + np.log(v) - 0.5 / v - series
    out[...] = np.where(pole, np.nan, res)


_OPS = {
    # type: (kernel(x, out=...), gradient(x, y, g) or None)
    "Tan": (np.tan, lambda x, y, g: g / square(cos(x))),
    "Sinh": (np.sinh, lambda x, y, g: g * make("Cosh", [x])),
    "Cosh": (np.cosh, lambda x, y, g: g * make("Sinh", [x])),
    "Expm1": (np.expm1, lambda x, y, g: g * exp(x)),
    "Rint": (np.rint, lambda x, y, g: make("ZerosLike", [x])),
    "Erf": (_elementwise(math.erf),
            lambda x, y, g: g * multiply(_TWO_OVER_SQRT_PI, exp(negative(square(x))))),
    "Erfc": (_elementwise(math.erfc),
             lambda x, y, g: g * multiply(-_TWO_OVER_SQRT_PI, exp(negative(square(x))))),
    "Lgamma": (_elementwise(_lgamma),
               lambda x, y, g: g * make("Digamma", [x])),
    "Digamma": (_digamma, None),
}

for _t, (_fn, _g) in _OPS.items():  # registered as math_ops' unary ops are
    row(_t, I.float_unary, _unary_kernel(_fn), None if _g is None else _unary_grad(_g))


def _op(op_type: str, what: str):
    f = _unary(op_type)
    f.__qualname__ = f.__name__
    f.__doc__ = (f"Elementwise {what} (TF's ``{op_type}``): a float tensor of any shape in, "
                 "the same shape and dtype out.")
    return f


tan = _op("Tan", "tangent")
sinh = _op("Sinh", "hyperbolic sine")
cosh = _op("Cosh", "hyperbolic cosine")
expm1 = _op("Expm1", "``exp(x) - 1``, exact near 0")
rint = _op("Rint", "round half to even")
erf = _op("Erf", "error function")
erfc = _op("Erfc", "complementary error function ``1 - erf(x)``, exact for large x")
lgamma = _op("Lgamma", "``log(|Gamma(x)|)`` (+inf at the poles 0, -1, ...)")
digamma = _op("Digamma", "digamma ``d/dx lgamma(x)`` (NaN at the poles)")
