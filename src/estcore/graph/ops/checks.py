"""TF1's ``assert_*`` family composed from ``Assert`` (``graph/ops/debug_ops.py``).

Each builds the element-wise condition, and an ``Assert`` whose data reads as TF's:
``[message] [Condition x == y did not hold element-wise:] [x (name:0) = ] [...] ...``.
When the condition is known while building (constants), a failure raises
``InvalidArgumentError`` at once and a success returns a no-op, as TF1 does;
``assert_rank`` checks a known rank while building (``ValueError``).

Must not: run anything (only the Assert kernel raises at run time).
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops import reduce_ops as R
from estcore.graph.ops.core import constant_value, convert_to_tensor
from estcore.graph.ops.debug_ops import Assert, summarize
from estcore.graph.ops.state_ops import no_op
from estcore.graph.shapes import fmt_shape

__all__ = ["assert_equal", "assert_none_equal", "assert_greater", "assert_greater_equal",
           "assert_less", "assert_less_equal", "assert_negative", "assert_non_negative",
           "assert_positive", "assert_non_positive", "assert_rank", "assert_type",
           "assert_integer"]


def _binary_check(fn, symbol: str, default_name: str):
    def check(x, y, data=None, summarize=None, message=None, name=None):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype)
        with x.graph.name_scope(name or default_name):
            cond = R.reduce_all(fn(x, y))
            if data is None:
                data = [f"Condition x {symbol} y did not hold element-wise:",
                        f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
            if message is not None:
                data = [message, *data]
            return _assert(cond, data, summarize, [x, y])
    check.__name__ = default_name
    check.__doc__ = (f"Assert ``x {symbol} y`` element-wise (broadcasting) when run "
                     f"(TF1 ``tf.{default_name}``).\n\n"
                     "Args:\n    x, y: tensors of the same dtype.\n    data: tensors printed "
                     "on failure (default: x and y).\n    summarize: elements printed per "
                     "item.\n    message: prefix of the error.\n    name: name scope.\n\n"
                     "Returns:\n    The Assert op (or a no-op when the check passed while "
                     "building).\n\nRaises:\n    InvalidArgumentError: the inputs are "
                     "constants and the check fails.\n")
    return check


def _unary_check(fn, symbol: str, default_name: str):
    def check(x, data=None, summarize=None, message=None, name=None):
        x = convert_to_tensor(x)
        with x.graph.name_scope(name or default_name):
            zero = convert_to_tensor(np.zeros((), x.dtype.np))
            cond = R.reduce_all(fn(x, zero))
            if data is None:
                data = [message or "", f"Condition x {symbol} 0 did not hold element-wise:",
                        f"x ({x.name}) = ", x]
            elif message is not None:
                data = [message, *data]
            return _assert(cond, data, summarize, [x])
    check.__name__ = default_name
    check.__doc__ = (f"Assert ``x {symbol} 0`` element-wise when run (TF1 "
                     f"``tf.{default_name}``); arguments as ``assert_equal``'s.\n")
    return check


def _assert(cond, data, n, inputs):
    if all(constant_value(t) is not None for t in inputs):
        c = constant_value(cond) if cond.op.type == "Const" else _fold(cond)
        if c is not None:
            if bool(np.all(c)):
                return no_op()
            raise errors.InvalidArgumentError("\n".join(
                str(d) if isinstance(d, str) else
                f"[{summarize(constant_value(convert_to_tensor(d)), -1)}]" for d in data))
    return Assert(cond, data, summarize=n)


def _fold(t):
    """Evaluate a small constant expression (``reduce_all(equal(c1, c2))``) by numpy."""
    op = t.op
    if op.type == "All":
        inner = op.inputs[0].op
        vals = [constant_value(i) for i in inner.inputs]
        if any(v is None for v in vals):
            return None
        fns = {"Equal": np.equal, "NotEqual": np.not_equal, "Less": np.less,
               "LessEqual": np.less_equal, "Greater": np.greater,
               "GreaterEqual": np.greater_equal}
        f = fns.get(inner.type)
        return None if f is None else np.all(f(*vals))
    return None


assert_equal = _binary_check(M.equal, "==", "assert_equal")
assert_none_equal = _binary_check(M.not_equal, "!=", "assert_none_equal")
assert_greater = _binary_check(M.greater, ">", "assert_greater")
assert_greater_equal = _binary_check(M.greater_equal, ">=", "assert_greater_equal")
assert_less = _binary_check(M.less, "<", "assert_less")
assert_less_equal = _binary_check(M.less_equal, "<=", "assert_less_equal")
assert_negative = _unary_check(M.less, "<", "assert_negative")
assert_non_negative = _unary_check(M.greater_equal, ">=", "assert_non_negative")
assert_positive = _unary_check(M.greater, ">", "assert_positive")
assert_non_positive = _unary_check(M.less_equal, "<=", "assert_non_positive")


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    """Assert that ``x`` has rank ``rank`` (TF1 ``tf.assert_rank``).

    A known rank is checked while building (``ValueError`` naming the tensor); an
    unknown one at run time (``InvalidArgumentError``). Returns an op to depend on.
    """
    x = convert_to_tensor(x)
    want = int(rank)
    r = x.shape.rank
    if r is not None:
        if r != want:
            prefix = f"{message}  " if message else ""
            raise ValueError(f"{prefix}Tensor {x.name} must have rank {want}.  Received rank "
                             f"{r}, shape {fmt_shape(x.shape)}")
        return no_op(name=name or "assert_rank")
    with x.graph.name_scope(name or "assert_rank"):
        cond = M.equal(A.rank(x), want)
        data = data if data is not None else [
            message or "", f"Tensor {x.name} must have rank", want, "Received shape: ",
            A.shape(x)]
        return Assert(cond, data, summarize=summarize)


def assert_type(tensor, tf_type, message=None, name=None):
    """Raise TypeError while building unless ``tensor`` has dtype ``tf_type``."""
    t = convert_to_tensor(tensor)
    want = dt.as_dtype(tf_type)
    if t.dtype is not want:
        prefix = f"{message} " if message else ""
        raise TypeError(f"{prefix}{t.name} must be of type {want.name}; got {t.dtype.name}")
    return no_op(name=name or "assert_type")


def assert_integer(x, message=None, name=None):
    """Raise TypeError while building unless ``x`` has an integer dtype."""
    t = convert_to_tensor(x)
    if not t.dtype.is_integer:
        prefix = f"{message} " if message else ""
        raise TypeError(f"{prefix}Expected integer type for tensor '{t.name}', got "
                        f"{t.dtype.name}")
    return no_op(name=name or "assert_integer")
