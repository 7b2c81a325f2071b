"""Elementwise math, comparisons, logical ops, matmul, cast, add_n, where.

Every op is one row: shape rule, numpy kernel (``out=`` into planned buffers),
gradient rule. Broadcasting follows numpy; gradients are un-broadcast with the
``SumToShape`` op (a view when no axis was broadcast).

Must not: cast silently: inputs of different dtypes are a TypeError naming both, as in
TF (``cast`` is explicit); emit C instructions (``c_emit.py``) or fuse (the plan compiler
does).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import convert_to_tensor, is_tensor, make, row
from estcore.graph.ops.dynamic_ops import where_indices
from estcore.graph.shapes import TensorShape, broadcast_static

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = [
    "add", "subtract", "multiply", "divide", "div", "truediv", "floordiv", "mod", "pow",
    "negative",
    "abs", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "sign", "reciprocal", "maximum",
    "minimum", "squared_difference", "matmul", "cast", "add_n", "where", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "logical_xor", "is_nan", "is_finite", "is_inf", "clip_by_value",
    "unbroadcast", "floor", "ceil", "round", "sin", "cos",
]


def _pair(x, y):
    """Convert a binary op's operands; a Python/numpy operand takes the tensor's dtype."""
    if is_tensor(x):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype) if not is_tensor(y) else convert_to_tensor(y)
    elif is_tensor(y):
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=y.dtype)
    else:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype)
    return x, y


def unbroadcast(g, x) -> Tensor | None:
    """Sum ``g`` over the axes along which ``x`` was broadcast (shape of ``x``)."""
    if g is None:
        return None
    if g.shape.is_fully_defined() and g.shape == x.shape:
        return g
    return make("SumToShape", [g, x])


# ---------------------------------------------------------------- SumToShape
def _sum_axes(src_shape, dst_shape):
    lead = len(src_shape) - len(dst_shape)
    axes = list(range(lead))
    for i, d in enumerate(dst_shape):
        if d == 1 and src_shape[lead + i] != 1:
            axes.append(lead + i)
    return tuple(axes)


def _sum_to_build(k):
    g, out = k.ins[0], k.outs[0]
    if g.shape == out.shape:
        return lambda: np.copyto(out, g)
    axes = _sum_axes(g.shape, out.shape)
    view = out.reshape(tuple(1 if i in axes else d for i, d in enumerate(g.shape)))
    return lambda: np.sum(g, axis=axes, keepdims=True, out=view)


def _sum_to_alias(in_shapes, out_shapes, attrs):
    return 0 if in_shapes[0] == out_shapes[0] else None


row("SumToShape", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _sum_to_build,
    lambda op, g: [make("BroadcastLike", [g[0], op.inputs[0]]), None],
    alias=_sum_to_alias, grad_op=True, extra={"shape_inputs": (1,)},
    doc="Sum input 0 down to the shape of input 1 (inverse of broadcasting).")


def _bcast_like_build(k):
    g, out = k.ins[0], k.outs[0]
    return lambda: np.copyto(out, g)


row("BroadcastLike", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])], _bcast_like_build,
    lambda op, g: [unbroadcast(g[0], op.inputs[0]), None],
    alias=_sum_to_alias, grad_op=True, extra={"shape_inputs": (1,)},
    doc="Broadcast input 0 to the shape of input 1.")


def _scale_build(k):
    x, o = k.ins[0], k.outs[0]
    alpha = np.asarray(k.attrs["alpha"], dtype=o.dtype)
    return lambda: np.multiply(x, alpha, out=o)


row("Scale", I.same_as_input(), _scale_build, None, grad_op=True,
    doc="``alpha * x`` (plan-internal: ``x * c`` with a uniform constant ``c``).")


# ---------------------------------------------------------------- unary
def _unary_kernel(fn):
    def build(k):
        x, o = k.ins[0], k.outs[0]
        return lambda: fn(x, out=o)
    return build


def _rsqrt(x, out):
    np.sqrt(x, out=out)
    np.reciprocal(out, out=out)


_UNARY = {
    # type: (numpy fn, infer, grad(x, y, g) -> dx)
    "Neg": (np.negative, I.numeric_unary, lambda x, y, g: negative(g)),
    "Abs": (np.abs, I.numeric_unary, lambda x, y, g: g * sign(x)),
    "Square": (np.square, I.numeric_unary, lambda x, y, g: g * (x * 2)),
    "Sqrt": (np.sqrt, I.float_unary, lambda x, y, g: g * 0.5 / y),
    "Rsqrt": (_rsqrt, I.float_unary, lambda x, y, g: g * (-0.5) * (y * y * y)),
    "Exp": (np.exp, I.float_unary, lambda x, y, g: g * y),
    "Log": (np.log, I.float_unary, lambda x, y, g: g / x),
    "Log1p": (np.log1p, I.float_unary, lambda x, y, g: g / (x + 1)),
    "Sign": (np.sign, I.numeric_unary, lambda x, y, g: make("ZerosLike", [x])),
    "Reciprocal": (np.reciprocal, I.float_unary, lambda x, y, g: negative(g * y * y)),
    "Floor": (np.floor, I.float_unary, lambda x, y, g: make("ZerosLike", [x])),
    "Ceil": (np.ceil, I.float_unary, lambda x, y, g: make("ZerosLike", [x])),
    "Round": (np.rint, I.float_unary, lambda x, y, g: make("ZerosLike", [x])),
    "Sin": (np.sin, I.float_unary, lambda x, y, g: g * cos(x)),
    "Cos": (np.cos, I.float_unary, lambda x, y, g: negative(g * sin(x))),
}


def _unary_grad(gfn):
    def grad(op, grads):
        x = op.inputs[0]
        if not x.dtype.is_floating or grads[0] is None:
            return [None]
        return [gfn(x, op.outputs[0], grads[0])]
    return grad


for _t, (_fn, _inf, _g) in _UNARY.items():
    row(_t, _inf, _unary_kernel(_fn), _unary_grad(_g))


def _unary(op_type):
    def f(x, name=None):
        return make(op_type, [convert_to_tensor(x)], name=name)
    f.__name__ = op_type.lower()
    f.__doc__ = f"Elementwise ``{op_type}`` (TF1 name), same shape and dtype as ``x``."
    return f


negative = _unary("Neg")
abs = _unary("Abs")  # noqa: A001 - TF1 name
square = _unary("Square")
sqrt = _unary("Sqrt")
rsqrt = _unary("Rsqrt")
exp = _unary("Exp")
log = _unary("Log")
log1p = _unary("Log1p")
sign = _unary("Sign")
reciprocal = _unary("Reciprocal")
floor = _unary("Floor")
ceil = _unary("Ceil")
round = _unary("Round")  # noqa: A001 - TF1 name
sin = _unary("Sin")
cos = _unary("Cos")


# ---------------------------------------------------------------- binary
def _binary_kernel(fn):
    def build(k):
        a, b = k.ins
        o = k.outs[0]
        return lambda: fn(a, b, out=o)
    return build


def _int_checked_kernel(fn):
    """Floor division / modulo: integer division by zero is an error (TF's), not numpy's
    warning and a 0."""
    def build(k):
        a, b = k.ins
        o = k.outs[0]
        if o.dtype.kind not in "iu":
            return lambda: fn(a, b, out=o)

        def run():
            if not b.all():
                raise InvalidArgumentError(
                    f"{k.node.type} '{k.node.name}': Integer division by zero")
            fn(a, b, out=o)
        return run
    return build


def _g_add(op, g):
    x, y = op.inputs
    return [unbroadcast(g[0], x), unbroadcast(g[0], y)]


def _g_sub(op, g):
    x, y = op.inputs
    return [unbroadcast(g[0], x), unbroadcast(negative(g[0]), y)]


def _g_mul(op, g):
    x, y = op.inputs
    return [unbroadcast(g[0] * y, x), unbroadcast(g[0] * x, y)]


def _g_div(op, g):
    x, y = op.inputs
    z = op.outputs[0]
    return [unbroadcast(g[0] / y, x), unbroadcast(negative(g[0] * z / y), y)]


def _g_mod(op, g):
    x, y = op.inputs
    return [unbroadcast(g[0], x), unbroadcast(negative(g[0] * floor(x / y)), y)]


def _g_pow(op, g):
    x, y = op.inputs
    z = op.outputs[0]
    gx = g[0] * y * _pow(x, y - 1)
    safe_log = where(greater(x, 0), log(maximum(x, make("ZerosLike", [x]) + 1e-30)),
                     make("ZerosLike", [x]))
    gy = g[0] * z * safe_log
    return [unbroadcast(gx, x), unbroadcast(gy, y)]


def _g_minmax(is_max):
    def grad(op, g):
        x, y = op.inputs
        mask = greater_equal(x, y) if is_max else less_equal(x, y)
        zeros = make("ZerosLike", [g[0]])
        return [unbroadcast(where(mask, g[0], zeros), x),
                unbroadcast(where(mask, zeros, g[0]), y)]
    return grad


def _float_only(grad):
    def wrapped(op, g):
        if not op.inputs[0].dtype.is_floating or g[0] is None:
            return [None] * len(op.inputs)
        return grad(op, g)
    return wrapped


_BINARY = {
    "Add": (np.add, I.binary(kinds="numeric"), _g_add),
    "Sub": (np.subtract, I.binary(kinds="numeric"), _g_sub),
    "Mul": (np.multiply, I.binary(kinds="numeric"), _g_mul),
    "RealDiv": (np.true_divide, I.binary(kinds="numeric"), _g_div),
    "FloorDiv": (np.floor_divide, I.binary(kinds="numeric"), None),
    "FloorMod": (np.mod, I.binary(kinds="numeric"), _g_mod),
    "Pow": (np.power, I.binary(kinds="numeric"), _g_pow),
    "Maximum": (np.maximum, I.binary(kinds="numeric"), _g_minmax(True)),
    "Minimum": (np.minimum, I.binary(kinds="numeric"), _g_minmax(False)),
    "SquaredDifference": (None, I.binary(kinds="numeric"), None),
    "Equal": (np.equal, I.binary(dt.bool), None),
    "NotEqual": (np.not_equal, I.binary(dt.bool), None),
    "Less": (np.less, I.binary(dt.bool, "numeric"), None),
    "LessEqual": (np.less_equal, I.binary(dt.bool, "numeric"), None),
    "Greater": (np.greater, I.binary(dt.bool, "numeric"), None),
    "GreaterEqual": (np.greater_equal, I.binary(dt.bool, "numeric"), None),
    "LogicalAnd": (np.logical_and, I.binary(kinds="bool"), None),
    "LogicalOr": (np.logical_or, I.binary(kinds="bool"), None),
    "LogicalXor": (np.logical_xor, I.binary(kinds="bool"), None),
}


def _sqdiff_build(k):
    a, b = k.ins
    o = k.outs[0]

    def run():
        np.subtract(a, b, out=o)
        np.square(o, out=o)
    return run


def _g_sqdiff(op, g):
    x, y = op.inputs
    d = g[0] * (x - y) * 2
    return [unbroadcast(d, x), unbroadcast(negative(d), y)]


for _t, (_fn, _inf, _g) in _BINARY.items():
    if _t == "SquaredDifference":
        row(_t, _inf, _sqdiff_build, _float_only(_g_sqdiff))
    elif _t in ("FloorDiv", "FloorMod"):
        row(_t, _inf, _int_checked_kernel(_fn), _float_only(_g) if _g else None)
    else:
        row(_t, _inf, _binary_kernel(_fn), _float_only(_g) if _g else None)


def _binary(op_type, doc):
    def f(x, y, name=None):
        x, y = _pair(x, y)
        return make(op_type, [x, y], name=name)
    f.__doc__ = doc
    return f


add = _binary("Add", "``x + y`` with numpy broadcasting.")
subtract = _binary("Sub", "``x - y`` with numpy broadcasting.")
multiply = _binary("Mul", "``x * y`` with numpy broadcasting.")
_realdiv = _binary("RealDiv", "``x / y``.")
floordiv = _binary("FloorDiv", "``x // y`` (floor division).")
mod = _binary("FloorMod", "``x % y`` (sign of ``y``, as numpy and TF's floormod).")
_pow = _binary("Pow", "``x ** y``.")  # the gradient calls it by this name (no shadowing)
pow = _pow  # noqa: A001 - TF1 name
maximum = _binary("Maximum", "Elementwise maximum.")
minimum = _binary("Minimum", "Elementwise minimum.")
squared_difference = _binary("SquaredDifference", "``(x - y) ** 2``.")
equal = _binary("Equal", "Elementwise ``x == y`` (bool).")
not_equal = _binary("NotEqual", "Elementwise ``x != y`` (bool).")
less = _binary("Less", "Elementwise ``x < y`` (bool).")
less_equal = _binary("LessEqual", "Elementwise ``x <= y`` (bool).")
greater = _binary("Greater", "Elementwise ``x > y`` (bool).")
greater_equal = _binary("GreaterEqual", "Elementwise ``x >= y`` (bool).")
logical_and = _binary("LogicalAnd", "Elementwise logical and of bool tensors.")
logical_or = _binary("LogicalOr", "Elementwise logical or of bool tensors.")
logical_xor = _binary("LogicalXor", "Elementwise logical xor of bool tensors.")


def truediv(x, y, name=None) -> Tensor:
    """``x / y``; integer inputs are cast to float64 (int8/16 -> float32) first, as TF."""
    x, y = _pair(x, y)
    if x.dtype.is_integer:
        target = dt.float32 if x.dtype in (dt.int8, dt.int16, dt.uint8) else dt.float64
        x, y = cast(x, target), cast(y, target)
    return _realdiv(x, y, name=name)


divide = truediv


def div(x, y, name=None) -> Tensor:
    """TF1's ``tf.div``: Python 2 division, i.e. floor division for integer inputs and
    true division for floats (``divide`` / ``truediv`` always divide exactly)."""
    x, y = _pair(x, y)
    if x.dtype.is_integer:
        return floordiv(x, y, name=name)
    return _realdiv(x, y, name=name)


def _logical_not_build(k):
    x, o = k.ins[0], k.outs[0]
    return lambda: np.logical_not(x, out=o)


def _bool_unary(ctx):
    if not ctx.dtypes[0].is_bool:
        raise ctx.fail(f"expects a bool input, got {ctx.dtypes[0].name}", TypeError)
    return [(dt.bool, ctx.shapes[0])]


def _float_pred(ctx):
    if not ctx.dtypes[0].is_floating:
        raise ctx.fail(f"expects a floating-point input, got {ctx.dtypes[0].name}", TypeError)
    return [(dt.bool, ctx.shapes[0])]


row("LogicalNot", _bool_unary, _logical_not_build)
row("IsNan", _float_pred, _unary_kernel(np.isnan))
row("IsFinite", _float_pred, _unary_kernel(np.isfinite))
row("IsInf", _float_pred, _unary_kernel(np.isinf))


def logical_not(x, name=None) -> Tensor:
    """Elementwise not of a bool tensor."""
    return make("LogicalNot", [convert_to_tensor(x)], name=name)


def is_nan(x, name=None) -> Tensor:
    return make("IsNan", [convert_to_tensor(x)], name=name)


def is_finite(x, name=None) -> Tensor:
    return make("IsFinite", [convert_to_tensor(x)], name=name)


def is_inf(x, name=None) -> Tensor:
    return make("IsInf", [convert_to_tensor(x)], name=name)


# ---------------------------------------------------------------- matmul
def _matmul_infer(ctx):
    I.check_same_dtype(ctx, ("a", "b"))
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"expects numeric inputs, got {ctx.dtypes[0].name}", TypeError)
    sa, sb = ctx.shapes
    ta, tb = ctx.attrs["transpose_a"], ctx.attrs["transpose_b"]
    if sa.rank is None or sb.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    if sa.rank < 2 or sb.rank < 2 or sa.rank != sb.rank:
        raise ValueError(f"matmul '{ctx.name}': both inputs must have the same rank >= 2: "
                         f"a has shape {ctx.fmt(0)}, b has shape {ctx.fmt(1)}")
    m, ka = (sa[-1], sa[-2]) if ta else (sa[-2], sa[-1])
    kb, n = (sb[-1], sb[-2]) if tb else (sb[-2], sb[-1])
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"matmul '{ctx.name}': inner dimensions must match: a has shape "
                         f"{ctx.fmt(0)}, b has shape {ctx.fmt(1)}"
                         + (f" (transpose_a={ta}, transpose_b={tb})" if ta or tb else ""))
    batch = []
    for da, db in zip(sa.dims[:-2], sb.dims[:-2], strict=False):
        if da is not None and db is not None and da != db:
            raise ValueError(f"matmul '{ctx.name}': batch dimensions must match: a has shape "
                             f"{ctx.fmt(0)}, b has shape {ctx.fmt(1)}")
        batch.append(da if da is not None else db)
    return [(ctx.dtypes[0], TensorShape([*batch, m, n]))]


def _matmul_build(k):
    a, b = k.ins
    o = k.outs[0]
    if k.attrs["transpose_a"]:
        a = np.swapaxes(a, -1, -2)
    if k.attrs["transpose_b"]:
        b = np.swapaxes(b, -1, -2)
    return lambda: np.matmul(a, b, out=o)


def _matmul_grad(op, g):
    a, b = op.inputs
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    gz = g[0]
    if not a.dtype.is_floating:
        return [None, None]
    if not ta and not tb:
        return [matmul(gz, b, transpose_b=True), matmul(a, gz, transpose_a=True)]
    if not ta and tb:
        return [matmul(gz, b), matmul(gz, a, transpose_a=True)]
    if ta and not tb:
        return [matmul(b, gz, transpose_b=True), matmul(a, gz)]
    return [matmul(b, gz, transpose_a=True, transpose_b=True),
            matmul(gz, a, transpose_a=True, transpose_b=True)]





row("MatMul", _matmul_infer, _matmul_build, _matmul_grad)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None) -> Tensor:
    """Matrix product ``op(a) @ op(b)`` (rank 2, or batched with equal batch dims).

    Args:
        a: ``(m, k)`` tensor (``(k, m)`` with ``transpose_a``).
        b: ``(k, n)`` tensor (``(n, k)`` with ``transpose_b``), same dtype as ``a``.
    Returns:
        ``(m, n)`` tensor.
    """
    a, b = _pair(a, b)
    return make("MatMul", [a, b], {"transpose_a": builtins.bool(transpose_a),
                                   "transpose_b": builtins.bool(transpose_b)},
                name=name or "MatMul")


# ---------------------------------------------------------------- cast, add_n, where
def _cast_build(k):
    x, o = k.ins[0], k.outs[0]
    return lambda: np.copyto(o, x, casting="unsafe")


def _cast_grad(op, g):
    x = op.inputs[0]
    if x.dtype.is_floating and op.outputs[0].dtype.is_floating and g[0] is not None:
        return [cast(g[0], x.dtype)]
    return [None]


row("Cast", lambda ctx: [(ctx.attrs["dtype"], ctx.shapes[0])], _cast_build, _cast_grad,
    alias=lambda i, o, a: 0 if a["dtype"] is a["src"] else None)


def cast(x, dtype, name=None) -> Tensor:
    """Convert ``x`` to ``dtype`` (float -> int truncates toward zero, as TF)."""
    x = convert_to_tensor(x)
    dtype = dt.as_dtype(dtype)
    if x.dtype is dtype and name is None:
        return x
    if x.dtype.is_string != dtype.is_string:
        raise TypeError(f"Cast {x.dtype.name} to {dtype.name} is not supported (TF's "
                        "Unimplemented error): strings and numbers do not convert by casting.")
    return make("Cast", [x], {"dtype": dtype, "src": x.dtype}, name=name or "Cast")


def _add_n_infer(ctx):
    d = ctx.dtypes[0]
    shape = ctx.shapes[0]
    for i in range(1, len(ctx.dtypes)):
        if ctx.dtypes[i] is not d:
            raise ctx.fail(f"all inputs must have the same dtype: input 0 is {d.name}, "
                           f"input {i} is {ctx.dtypes[i].name}", TypeError)
        if not shape.is_compatible_with(ctx.shapes[i]):
            raise ctx.fail(f"all inputs must have the same shape: input 0 has shape "
                           f"{ctx.fmt(0)}, input {i} has shape {ctx.fmt(i)}")
        shape = shape.merge_with(ctx.shapes[i])
    return [(d, shape)]


def _add_n_build(k):
    ins, o = k.ins, k.outs[0]
    first, rest = ins[0], ins[1:]

    def run():
        np.add(first, rest[0], out=o)
        for r in rest[1:]:
            np.add(o, r, out=o)
    if not rest:
        return lambda: np.copyto(o, first)
    return run


row("AddN", _add_n_infer, _add_n_build, lambda op, g: [g[0]] * len(op.inputs))


def add_n(inputs, name=None) -> Tensor:
    """Sum of a list of same-shape, same-dtype tensors."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("`inputs` must be a non-empty list of tensors. "
                         f"Received: inputs={inputs!r}")
    ts = [convert_to_tensor(t) for t in inputs]
    if len(ts) == 1 and name is None:
        return ts[0]
    return make("AddN", ts, name=name or "AddN")


def _where_infer(ctx):
    if not ctx.dtypes[0].is_bool:
        raise ctx.fail(f"`condition` must be bool, got {ctx.dtypes[0].name}", TypeError)
    if ctx.dtypes[1] is not ctx.dtypes[2]:
        raise ctx.fail(f"x and y must have the same dtype: x is {ctx.dtypes[1].name}, "
                       f"y is {ctx.dtypes[2].name}", TypeError)
    s = I.broadcast_shape(ctx, 1, 2)
    out = broadcast_static(ctx.shapes[0], s)
    if out is None:
        raise ctx.fail(f"incompatible shapes for broadcasting: condition has shape "
                       f"{ctx.fmt(0)}, x has shape {ctx.fmt(1)}, y has shape {ctx.fmt(2)}")
    return [(ctx.dtypes[1], out)]


def _where_build(k):
    c, x, y = k.ins
    o = k.outs[0]

    def run():
        np.copyto(o, y)
        np.copyto(o, x, where=c)
    return run


def _where_grad(op, g):
    c, x, y = op.inputs
    if g[0] is None or not x.dtype.is_floating:
        return [None, None, None]
    z = make("ZerosLike", [g[0]])
    return [None, unbroadcast(where(c, g[0], z), x), unbroadcast(where(c, z, g[0]), y)]


row("SelectV2", _where_infer, _where_build, _where_grad)


def where(condition, x=None, y=None, name=None) -> Tensor:
    """Elementwise ``x if condition else y`` with broadcasting (TF ``where_v2``).

    A rank-1 ``condition`` whose length equals the first dimension of ``x`` selects
    whole rows, as TF1's ``tf.where``.
    """
    if x is None and y is None:
        return where_indices(condition, name=name)
    if x is None or y is None:
        raise ValueError("`x` and `y` must both be given, or neither (where(condition) "
                         "returns the coordinates of the true elements).")
    c = convert_to_tensor(condition, dtype=dt.bool)
    x, y = _pair(x, y)
    if (c.shape.rank == 1 and x.shape.rank is not None and x.shape.rank > 1):
        c = make("Reshape", [c, convert_to_tensor(
            np.array([-1] + [1] * (x.shape.rank - 1), np.int32))])
    return make("SelectV2", [c, x, y], name=name or "Select")


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """Clamp ``t`` elementwise to ``[clip_value_min, clip_value_max]``."""
    t = convert_to_tensor(t)
    return minimum(maximum(t, clip_value_min), clip_value_max, name=name)
