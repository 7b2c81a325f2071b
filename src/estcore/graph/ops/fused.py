"""Fused ops: ``Dense`` (act(x @ W + b)) and its one-node gradient ``DenseGrad``.

These are the internal entry points the layers library builds on:

* :func:`dense` (x, kernel, bias, activation) -> Tensor
* :func:`conv2d` (x, kernel, bias, strides, padding, activation, dilations) -> Tensor

The plan compiler also rewrites hand-written ``MatMul -> Add/BiasAdd -> act``
chains into ``Dense`` when the intermediates have no other consumers.

Must not: rewrite graphs itself (the ``MatMul -> BiasAdd -> act`` rewrite is the plan
compiler's, in ``graph/plan.py``); define activations (``activations.py`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estcore.graph.ops import _infer as I
from estcore.graph.ops import activations as A
from estcore.graph.ops.conv_ops import fused_conv2d
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.shapes import TensorShape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["dense", "conv2d", "activation_name"]


def activation_name(activation) -> str | None:
    """Map ``None``/a name/an ``estcore.nn`` function to an activation name, else None."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        name = activation.lower()
        return name if name in A.ACTIVATIONS else None
    return getattr(activation, "_estcore_activation", None)


def _dense_infer(ctx):
    I.check_same_dtype(ctx, ("x", "kernel"))
    I.float_unary(ctx)
    xs, ws = ctx.shapes[0], ctx.shapes[1]
    if ws.rank is not None and ws.rank != 2:
        raise ctx.fail(f"`kernel` must have rank 2, got shape {ctx.fmt(1)}")
    if xs.rank is not None and xs.rank < 2:
        raise ctx.fail(f"`x` must have rank >= 2, got shape {ctx.fmt(0)}")
    if xs.rank and ws.rank and xs[-1] is not None and ws[0] is not None and xs[-1] != ws[0]:
        raise ValueError(f"dense '{ctx.name}': inner dimensions must match: x has shape "
                         f"{ctx.fmt(0)}, kernel has shape {ctx.fmt(1)}")
    if len(ctx.shapes) == 3:
        if ctx.dtypes[2] is not ctx.dtypes[0]:
            raise ctx.fail(f"`bias` dtype {ctx.dtypes[2].name} differs from x's "
                           f"{ctx.dtypes[0].name}", TypeError)
        bs = ctx.shapes[2]
        if bs.rank is not None and (bs.rank != 1 or (ws.rank and None not in (bs[0], ws[1])
                                                     and bs[0] != ws[1])):
            raise ctx.fail(f"`bias` must have shape (units,): bias has shape {ctx.fmt(2)}, "
                           f"kernel has shape {ctx.fmt(1)}")
    if xs.rank is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    return [(ctx.dtypes[0], TensorShape(list(xs.dims[:-1]) + [ws[1] if ws.rank else None]))]


def _dense_build(k):
    x, w = k.ins[0], k.ins[1]
    b = k.ins[2] if len(k.ins) == 3 else None
    o = k.outs[0]
    act, alpha = k.attrs["activation"], k.attrs.get("alpha", 0.2)
    if act == "linear":
        if b is None:
            return lambda: np.matmul(x, w, out=o)

        def run_lin():
            np.matmul(x, w, out=o)
            np.add(o, b, out=o)
        return run_lin

    def run():
        np.matmul(x, w, out=o)
        if b is not None:
            np.add(o, b, out=o)
        A.forward(act, o, o, alpha)
    return run





def _dense_grad(op, grads):
    if grads[0] is None:
        return [None] * len(op.inputs)
    outs = make_op("DenseGrad", [grads[0], op.inputs[0], op.inputs[1], op.outputs[0]],
                   {"activation": op.attrs["activation"], "alpha": op.attrs.get("alpha", 0.2),
                    "has_bias": len(op.inputs) == 3}).outputs
    return list(outs)


def _dense_grad_infer(ctx):
    out = [(ctx.dtypes[1], ctx.shapes[1]), (ctx.dtypes[2], ctx.shapes[2])]
    if ctx.attrs["has_bias"]:
        ws = ctx.shapes[2]
        out.append((ctx.dtypes[2], TensorShape([ws[1] if ws.rank else None])))
    return out


def _as_2d(a):
    v = a.reshape(-1, a.shape[-1])
    return v if np.shares_memory(v, a) or a.size == 0 else None


def _dense_grad_build(k):
    gy, x, w, y = k.ins
    dx, dw = k.outs[0], k.outs[1]
    db = k.outs[2] if k.attrs["has_bias"] else None
    need_dx, need_dw = k.needed[0], k.needed[1]
    act = k.attrs["activation"]
    dz = gy if act == "linear" else np.empty_like(gy)
    act_bwd = A.backward_builder(act, gy, None, y, dz, k.attrs.get("alpha", 0.2))
    x2, dz2 = _as_2d(x), _as_2d(dz)
    sum_axes = tuple(range(gy.ndim - 1))

    def run():
        act_bwd()
        if db is not None:
            np.sum(dz, axis=sum_axes, out=db)
        if need_dw:
            if x2 is not None and dz2 is not None:
                np.matmul(x2.T, dz2, out=dw)
            else:
                np.copyto(dw, np.tensordot(x, dz, axes=(sum_axes, sum_axes)))
        if need_dx:
            np.matmul(dz, w.T, out=dx)
    return run





row("Dense", _dense_infer, _dense_build, _dense_grad)
row("DenseGrad", _dense_grad_infer, _dense_grad_build, None, grad_op=True)

# Activations whose fused gradient works from the output alone.
FUSABLE_ACTIVATIONS = A.ACTIVATIONS


def dense(x, kernel, bias=None, activation=None, name=None) -> Tensor:
    """``activation(x @ kernel + bias)`` as one node (and one fused gradient node).

    Args:
        x: float tensor ``(..., in)``.
        kernel: ``(in, units)``, same dtype.
        bias: ``(units,)`` or None.
        activation: None, a name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"elu"``,
            ``"selu"``) or an ``estcore.nn`` activation function; any other callable
            is applied after a linear fused dense.
    Returns:
        ``(..., units)`` tensor.
    """
    x = convert_to_tensor(x)
    ins = [x, convert_to_tensor(kernel, x.dtype)]
    if bias is not None:
        ins.append(convert_to_tensor(bias, x.dtype))
    act = activation_name(activation)
    fusable = act in FUSABLE_ACTIVATIONS
    out = make("Dense", ins, {"activation": act if fusable else "linear"},
               name=name or "Dense")
    return out if fusable else _apply_activation(activation, out)


def conv2d(x, kernel, bias=None, strides=1, padding="VALID", activation=None, dilations=1,
           name=None) -> Tensor:
    """Fused ``activation(conv2d(x, kernel) + bias)`` (NHWC); see :func:`dense`."""
    x = convert_to_tensor(x)
    act = activation_name(activation)
    fusable = act in FUSABLE_ACTIVATIONS
    if bias is None:
        from estcore.graph.ops.array_ops import zeros  # local: import cycle with array_ops
        bias = zeros([kernel.shape[-1]], dtype=x.dtype)
    out = fused_conv2d(x, kernel, bias, strides, padding, act if fusable else "linear",
                       dilations, name=name)
    return out if fusable else _apply_activation(activation, out)


def _apply_activation(activation, out) -> Tensor:
    """An activation the fused op does not take, applied after it: a name or a callable."""
    if isinstance(activation, str):
        from estcore.graph.ops.nn_ops import activation as act_op  # local: import cycle with nn_ops
        return act_op(activation.lower(), out)
    return activation(out)
