"""C-kernel emitters: attach ``emit(program, k) -> bool`` to the op rows.

Each emitter appends one (or a few) instructions to an
``estcore._lib._kernels.Program`` for the node described by ``k`` (a
:class:`~estcore.graph.registry.KernelCtx` with ``k.consts``: the known constant
value of each input, or None) and returns True, or returns False without
appending anything when the C kernels cannot run this node (unsupported
activation, broadcasting, dtype, non-contiguous buffers). The plan compiler
then keeps the numpy kernel for that node. Scratch buffers are allocated here,
once per plan.

Must not: run a program (the executor does) or change what a node computes: an
emitter that cannot match the row's numpy kernel for these dtypes and layouts returns
False. Must not be imported by the op family modules (``estcore.graph.ops`` calls
:func:`attach` once every family module has registered its rows).
"""

from __future__ import annotations

import numpy as np

from estcore._lib import _kernels
from estcore.graph.ops.reduce_ops import build_axes
from estcore.graph.registry import get_row

__all__ = ["C_ACTS", "attach"]

# activations the C kernels implement (names accepted by _kernels.activation_code)
C_ACTS = {"linear": None, "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid",
          "tanh": "tanh", "elu": "elu", "selu": "selu", "softplus": "softplus",
          "leaky_relu": "leaky_relu"}


def _ok(*arrays) -> bool:
    for a in arrays:
        if a is None:
            continue
        if not a.flags.c_contiguous or a.dtype.kind != "f" or a.dtype.itemsize < 4:
            return False
    return True


def _act(attrs, key="activation"):
    name = attrs.get(key, "linear")
    if name not in C_ACTS:
        return False, None, None
    alpha = attrs.get("alpha") if name == "leaky_relu" else None
    return True, C_ACTS[name], alpha


def _dense(prog, k):
    x, w = k.ins[0], k.ins[1]
    b = k.ins[2] if len(k.ins) == 3 else None
    ok, act, alpha = _act(k.attrs)
    if not ok or x.ndim != 2 or not _ok(x, w, b, k.outs[0]):
        return False
    prog.dense_forward(x, w, b, k.outs[0], act, alpha)
    return True


def _dense_grad(prog, k):
    gy, x, w, y = k.ins
    dx, dw = k.outs[0], k.outs[1]
    db = k.outs[2] if len(k.outs) == 3 else None
    ok, act, alpha = _act(k.attrs)
    if not ok or x.ndim != 2 or not _ok(gy, x, w, y, dx, dw, db):
        return False
    dz = None if act is None else np.empty_like(gy)
    prog.dense_backward(x if k.needed[1] else None, w if k.needed[0] else None,
                        y if act is not None else None, gy, dw if k.needed[1] else None, db,
                        dx if k.needed[0] else None, dz, act, alpha)
    return True


def _matmul(prog, k):
    a, b = k.ins
    if a.ndim != 2 or not _ok(a, b, k.outs[0]):
        return False
    prog.gemm(a, b, k.outs[0], k.attrs["transpose_a"], k.attrs["transpose_b"])
    return True


def _activation(name):
    def emit(prog, k):
        if name not in C_ACTS or not _ok(k.ins[0], k.outs[0]):
            return False
        alpha = k.attrs.get("alpha") if name == "leaky_relu" else None
        prog.activation_forward(k.ins[0], k.outs[0], C_ACTS[name], alpha)
        return True
    return emit


def _activation_grad(prog, k):
    g, y = k.ins
    name = k.attrs["act"]
    if name not in C_ACTS or not _ok(g, y, k.outs[0]):
        return False
    alpha = k.attrs.get("alpha") if name == "leaky_relu" else None
    prog.activation_backward(y, g, k.outs[0], C_ACTS[name], alpha)
    return True


def _xent(sparse):
    def emit(prog, k):
        labels, logits = k.ins
        loss, back = k.outs
        if logits.ndim != 2 or not _ok(logits, loss, back) or not labels.flags.c_contiguous:
            return False
        if sparse and labels.dtype not in (np.int32, np.int64):
            return False
        if not sparse and not _ok(labels):
            return False
        scale = k.attrs.get("scale", 1.0)
        f = prog.sparse_softmax_xent if sparse else prog.softmax_xent
        f(logits, labels, loss, back, None if scale == 1.0 else float(scale))
        return True
    return emit


def _elementwise(kind):
    def emit(prog, k):
        a, b = k.ins
        o = k.outs[0]
        if not _ok(a, b, o):
            return False
        if a.shape == b.shape == o.shape:
            getattr(prog, kind)(a, b, o)
            return True
        if kind == "add" and a.shape == o.shape and b.ndim == 1 and o.ndim >= 1 \
                and b.shape[0] == o.shape[-1]:
            prog.bias_add(a, b, o)
            return True
        return False
    return emit


def _bias_add(prog, k):
    x, b = k.ins
    if not _ok(x, b, k.outs[0]):
        return False
    prog.bias_add(x, b, k.outs[0])
    return True


def _scale(prog, k):
    if not _ok(k.ins[0], k.outs[0]):
        return False
    prog.scale(k.ins[0], k.outs[0], float(k.attrs["alpha"]))
    return True


def _square(prog, k):
    x, o = k.ins[0], k.outs[0]
    if not _ok(x, o):
        return False
    prog.mul(x, x, o)
    return True


def _neg(prog, k):
    if not _ok(k.ins[0], k.outs[0]):
        return False
    prog.scale(k.ins[0], k.outs[0], -1.0)
    return True


def _reduce(kind):
    def emit(prog, k):
        x, o = k.ins[0], k.outs[0]
        axes = build_axes(k.attrs, x.ndim)
        if not _ok(x, o) or x.ndim == 0:
            return False
        if axes == tuple(range(x.ndim)):
            axis = None
        elif axes == (0,):
            axis = 0
        elif axes == (x.ndim - 1,):
            axis = -1
        else:
            return False
        getattr(prog, kind)(x, o.reshape(-1) if axis is None else
                            o.reshape(x.shape[1:] if axis == 0 else x.shape[:-1]), axis)
        return True
    return emit


def _copy_like(prog, k):
    x, o = k.ins[0], k.outs[0]
    if x.shape != o.shape or not _ok(x, o):
        return False
    prog.copy(x, o)
    return True


def _assign(prog, k):
    ref, v = k.ins
    if ref.shape != v.shape or not _ok(ref, v):
        return False
    prog.copy(v, ref)
    return True


def _assign_add(sign):
    def emit(prog, k):
        ref, v = k.ins
        c = k.consts[1]
        if ref.dtype == np.int64 and ref.size == 1 and c is not None and c.size == 1:
            prog.increment(ref, int(c.reshape(())) * sign)
            return True
        if ref.shape != v.shape or not _ok(ref, v):
            return False
        prog.axpy(v, ref, float(sign))
        return True
    return emit


def _scalar_or_array(k, i):
    """A Python number for a known constant scalar input, else its 0-d buffer."""
    c = k.consts[i]
    if c is not None and c.size == 1:
        return float(c.reshape(()))
    return k.ins[i]


def _const_number(k, i):
    c = k.consts[i]
    return float(c.reshape(())) if c is not None and c.size == 1 else None


def _apply_sgd(prog, k):
    var, lr, g = k.ins
    if not _ok(var, g):
        return False
    prog.apply_sgd(var, g, _scalar_or_array(k, 1))
    return True


def _apply_momentum(prog, k):
    var, accum, lr, g, mom = k.ins
    m = _const_number(k, 4)
    if m is None or not _ok(var, accum, g):
        return False
    prog.apply_momentum(var, accum, g, _scalar_or_array(k, 2), m, k.attrs["use_nesterov"])
    return True


def _apply_adagrad(prog, k):
    var, accum, lr, g = k.ins
    if not _ok(var, accum, g):
        return False
    prog.apply_adagrad(var, accum, g, _scalar_or_array(k, 2))
    return True


def _apply_rmsprop(centered):
    def emit(prog, k):
        if centered:
            var, mg, ms, mom, lr, rho, momentum, eps, g = k.ins
            base = 4
        else:
            var, ms, mom, lr, rho, momentum, eps, g = k.ins
            mg, base = None, 3
        consts = [_const_number(k, base + i) for i in (1, 2, 3)]
        if None in consts or not _ok(var, ms, mom, g, mg):
            return False
        prog.apply_rmsprop(var, ms, mom, g, _scalar_or_array(k, base), *consts, mg=mg)
        return True
    return emit


def _apply_adam(prog, k):
    var, m, v, b1p, b2p, lr, b1, b2, eps, g = k.ins
    consts = [_const_number(k, i) for i in (6, 7, 8)]
    if None in consts or not _ok(var, m, v, g):
        return False
    prog.apply_adam(var, m, v, g, _scalar_or_array(k, 3), _scalar_or_array(k, 4),
                    _scalar_or_array(k, 5), *consts, k.attrs["use_nesterov"])
    return True


def _conv_col(x, w, attrs):
    n = _kernels.conv2d_col_size(x.shape, w.shape, attrs["strides"], attrs["padding"])
    return np.empty(max(int(n), 1), x.dtype) if n else None


def _conv(fused):
    def emit(prog, k):
        x, w = k.ins[0], k.ins[1]
        b = k.ins[2] if fused else None
        ok, act, alpha = _act(k.attrs) if fused else (True, None, None)
        if not ok or tuple(k.attrs.get("dilations", (1, 1))) != (1, 1) or \
                not _ok(x, w, b, k.outs[0]):
            return False
        prog.conv2d_forward(x, w, b, k.outs[0], _conv_col(x, w, k.attrs),
                            k.attrs["strides"], k.attrs["padding"], act, alpha)
        return True
    return emit


def _conv_grad(fused):
    def emit(prog, k):
        if fused:
            gy, x, w, y = k.ins
            dx, dw, db = k.outs
            ok, act, alpha = _act(k.attrs)
        else:
            gy, x, w = k.ins
            dx, dw = k.outs
            y, db, ok, act, alpha = None, None, True, None, None
        if not ok or tuple(k.attrs.get("dilations", (1, 1))) != (1, 1) or \
                not _ok(gy, x, w, y, dx, dw, db):
            return False
        dz = None if act is None else np.empty_like(gy)
        prog.conv2d_backward(x, w, y, gy, _conv_col(x, w, k.attrs),
                             dx if k.needed[0] else None, dw if k.needed[1] else None, db,
                             dz, k.attrs["strides"], k.attrs["padding"], act, alpha)
        return True
    return emit


def _pool(kind, backward):
    def emit(prog, k):
        ks, st, pad = k.attrs["ksize"], k.attrs["strides"], k.attrs["padding"]
        if not _ok(*k.ins, *k.outs):
            return False
        if not backward:
            getattr(prog, f"{kind}_pool2d_forward")(k.ins[0], k.outs[0], ks, st, pad)
        elif kind == "max":
            gy, x = k.ins
            prog.max_pool2d_backward(x, gy, k.outs[0], ks, st, pad)
        else:
            prog.avg_pool2d_backward(k.ins[0], k.outs[0], ks, st, pad)
        return True
    return emit


_EMITTERS = {
    "Dense": _dense, "DenseGrad": _dense_grad, "MatMul": _matmul,
    "ActivationGrad": _activation_grad,
    "SparseSoftmaxCrossEntropyWithLogits": _xent(True),
    # SoftmaxCrossEntropyWithLogits stays on numpy: its gradient is exact for labels that
    # do not sum to 1, where the C kernel (like TF) returns softmax - labels.
    "Add": _elementwise("add"), "Sub": _elementwise("sub"), "Mul": _elementwise("mul"),
    "BiasAdd": _bias_add, "Scale": _scale, "Square": _square, "Neg": _neg,
    "Sum": _reduce("reduce_sum"),
    "Mean": _reduce("reduce_mean"), "Identity": _copy_like, "Assign": _assign,
    "AssignAdd": _assign_add(1), "AssignSub": _assign_add(-1),
    "ApplyGradientDescent": _apply_sgd, "ApplyMomentum": _apply_momentum,
    "ApplyAdagrad": _apply_adagrad, "ApplyRMSProp": _apply_rmsprop(False),
    "ApplyCenteredRMSProp": _apply_rmsprop(True), "ApplyAdam": _apply_adam,
    "Conv2D": _conv(False), "FusedConv2D": _conv(True), "Conv2DGrad": _conv_grad(False),
    "FusedConv2DGrad": _conv_grad(True), "MaxPool": _pool("max", False),
    "AvgPool": _pool("avg", False), "MaxPoolGrad": _pool("max", True),
    "AvgPoolGrad": _pool("avg", True),
}
for _op, _name in (("Relu", "relu"), ("Relu6", "relu6"), ("LeakyRelu", "leaky_relu"),
                   ("Elu", "elu"), ("Selu", "selu"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"),
                   ("Softplus", "softplus")):
    _EMITTERS[_op] = _activation(_name)


def attach() -> None:
    """Set ``emit`` on every row that has a C emitter (idempotent)."""
    for op_type, fn in _EMITTERS.items():
        get_row(op_type).emit = fn

