"""Neural-network ops: activations, softmax/log-softmax, the fused cross-entropy
ops, bias_add, dropout, in_top_k.

Activation ops share one gradient op, ``ActivationGrad`` (attr ``act``), whose
kernel comes from :mod:`estcore.graph.ops.activations`.

Must not: define the activation functions (the table in :mod:`activations` does);
emit C instructions (``c_emit.py``) or decide fusion (the plan compiler does); draw
dropout masks from numpy's global random state (seeds come from :mod:`estcore.graph.random`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.ops import _infer as I
from estcore.graph.ops import activations as A
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.ops.math_ops import cast as _cast
from estcore.graph.ops.math_ops import unbroadcast
from estcore.graph.shapes import TensorShape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["activation", "softmax", "log_softmax", "sparse_softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
           "bias_add", "dropout_op", "in_top_k", "top_k", "ACT_OP_TYPES"]

ACT_OP_TYPES = {"relu": "Relu", "relu6": "Relu6", "leaky_relu": "LeakyRelu", "elu": "Elu",
                "selu": "Selu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
                "softsign": "Softsign"}


def _act_build(name):
    def build(k):
        x, o = k.ins[0], k.outs[0]
        alpha = k.attrs.get("alpha", 0.2)
        return lambda: A.forward(name, x, o, alpha)
    return build


def _act_grad(name):
    def grad(op, g):
        if g[0] is None:
            return [None]
        return [make("ActivationGrad", [g[0], op.outputs[0]],
                     {"act": name, "alpha": op.attrs.get("alpha", 0.2)})]
    return grad





for _name, _t in ACT_OP_TYPES.items():
    row(_t, I.float_unary, _act_build(_name), _act_grad(_name))


def _act_grad_build(k):
    g, y = k.ins
    return A.backward_builder(k.attrs["act"], g, None, y, k.outs[0], k.attrs["alpha"])





row("ActivationGrad", I.same_as_input(), _act_grad_build, None, grad_op=True)


def activation(name: str, features, alpha: float = 0.2, op_name=None) -> Tensor:
    """Apply the activation ``name`` (a key of :data:`ACT_OP_TYPES`) to ``features``."""
    t = ACT_OP_TYPES[name]
    attrs = {"alpha": float(alpha)} if name == "leaky_relu" else {}
    return make(t, [convert_to_tensor(features)], attrs, name=op_name or t)


# ---------------------------------------------------------------- softmax
def _softmax_infer(ctx):
    I.float_unary(ctx)
    s = ctx.shapes[0]
    if s.rank is not None:
        if s.rank == 0:
            raise ctx.fail("expects an input of rank >= 1, got a scalar")
        ctx.attrs["axis"] = I.norm_axis(ctx, ctx.attrs["axis"], s.rank)
    return [(ctx.dtypes[0], s)]


def _kept(shape, axis):
    return tuple(1 if i == axis else d for i, d in enumerate(shape))


def _softmax_build(log):
    def build(k):
        x, o, a = k.ins[0], k.outs[0], k.attrs["axis"]
        m = np.empty(_kept(x.shape, a), x.dtype)
        if log:
            tmp = np.empty_like(x)

            def run():
                np.max(x, axis=a, keepdims=True, out=m)
                np.subtract(x, m, out=o)
                np.exp(o, out=tmp)
                np.sum(tmp, axis=a, keepdims=True, out=m)
                np.log(m, out=m)
                np.subtract(o, m, out=o)
            return run

        def run_sm():
            np.max(x, axis=a, keepdims=True, out=m)
            np.subtract(x, m, out=o)
            np.exp(o, out=o)
            np.sum(o, axis=a, keepdims=True, out=m)
            np.divide(o, m, out=o)
        return run_sm
    return build


def _softmax_grad(op, g):
    return [make("SoftmaxGrad", [g[0], op.outputs[0]], {"axis": op.attrs["axis"],
                                                        "log": op.type == "LogSoftmax"})]


def _softmax_grad_build(k):
    g, y = k.ins
    o, a, log = k.outs[0], k.attrs["axis"], k.attrs["log"]
    s = np.empty(_kept(g.shape, a), g.dtype)
    if log:
        def run_log():
            np.sum(g, axis=a, keepdims=True, out=s)
            np.exp(y, out=o)
            np.multiply(o, s, out=o)
            np.subtract(g, o, out=o)
        return run_log

    def run():
        np.multiply(g, y, out=o)
        np.sum(o, axis=a, keepdims=True, out=s)
        np.subtract(g, s, out=o)
        np.multiply(o, y, out=o)
    return run


row("Softmax", _softmax_infer, _softmax_build(False), _softmax_grad)
row("LogSoftmax", _softmax_infer, _softmax_build(True), _softmax_grad)
row("SoftmaxGrad", I.same_as_input(), _softmax_grad_build, None, grad_op=True)


def softmax(logits, axis=-1, name=None) -> Tensor:
    """``exp(x) / sum(exp(x), axis)`` computed stably."""
    return make("Softmax", [convert_to_tensor(logits)], {"axis": int(axis)},
                name=name or "Softmax")


def log_softmax(logits, axis=-1, name=None) -> Tensor:
    """``x - log(sum(exp(x), axis))`` computed stably."""
    return make("LogSoftmax", [convert_to_tensor(logits)], {"axis": int(axis)},
                name=name or "LogSoftmax")


# ---------------------------------------------------------------- cross-entropies
def _sparse_xent_infer(ctx):
    ls, lg = ctx.shapes
    if not ctx.dtypes[0].is_integer:
        raise ctx.fail(f"`labels` must be an integer tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    if not ctx.dtypes[1].is_floating:
        raise ctx.fail(f"`logits` must be a floating-point tensor, got {ctx.dtypes[1].name}",
                       TypeError)
    if lg.rank is not None and lg.rank != 2:
        raise ctx.fail(f"`logits` must have rank 2 (batch, classes), got shape {ctx.fmt(1)}")
    if ls.rank is not None and ls.rank != 1:
        raise ctx.fail(f"`labels` must have rank 1 (batch,), got shape {ctx.fmt(0)}")
    if (ls.rank and lg.rank and ls[0] is not None and lg[0] is not None and ls[0] != lg[0]):
        raise ctx.fail(f"`labels` and `logits` must have the same batch size: labels have "
                       f"shape {ctx.fmt(0)}, logits have shape {ctx.fmt(1)}")
    n = ls[0] if ls.rank else None
    n = n if n is not None else (lg[0] if lg.rank else None)
    return [(ctx.dtypes[1], TensorShape([n])),
            (ctx.dtypes[1], lg if lg.rank is not None else TensorShape([n, None]))]


def _grad_scale(k, dtype):
    """The ``scale`` attr the backprop output is multiplied by, or None when it is 1."""
    scale = k.attrs.get("scale", 1.0)
    return None if scale == 1.0 else np.asarray(scale, dtype)


def _sparse_xent_build(k):
    labels, logits = k.ins
    loss, back = k.outs
    n, c = logits.shape
    m = np.empty((n, 1), logits.dtype)
    rows = np.arange(n)
    node_name = k.node.name
    scale = _grad_scale(k, back.dtype)

    def run():
        if n and (labels.min() < 0 or labels.max() >= c):
            bad = labels[(labels < 0) | (labels >= c)][0]
            raise errors.InvalidArgumentError(
                f"SparseSoftmaxCrossEntropyWithLogits '{node_name}': received a label value "
                f"of {bad} which is outside the valid range of [0, {c}).")
        np.max(logits, axis=1, keepdims=True, out=m)
        np.subtract(logits, m, out=back)
        np.take(back, rows * c + labels, out=loss, mode="clip")
        np.exp(back, out=back)
        np.sum(back, axis=1, keepdims=True, out=m)
        np.divide(back, m, out=back)
        np.log(m, out=m)
        np.subtract(m[:, 0], loss, out=loss)
        back[rows, labels] -= 1
        if scale is not None:
            np.multiply(back, scale, out=back)
    return run





def _xent_grad(op, g):
    gl = g[0]
    if gl is None:
        return [None, None]
    from estcore.graph.ops.array_ops import expand_dims  # local: import cycle with array_ops
    glogits = expand_dims(gl, -1) * op.outputs[1]
    if op.type == "SparseSoftmaxCrossEntropyWithLogits":
        return [None, glogits]
    glabels = expand_dims(gl, -1) * -log_softmax(op.inputs[1])
    return [glabels, glogits]


row("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent_infer, _sparse_xent_build, _xent_grad)


def _check_dense_labels_logits(ctx) -> None:
    """Dense (soft) labels and floating logits of one dtype and compatible shapes."""
    I.check_same_dtype(ctx, ("labels", "logits"))
    if not ctx.dtypes[1].is_floating:
        raise ctx.fail(f"`logits` must be a floating-point tensor, got {ctx.dtypes[1].name}",
                       TypeError)
    if not ctx.shapes[0].is_compatible_with(ctx.shapes[1]):
        raise ctx.fail(f"`labels` and `logits` must have the same shape: labels have shape "
                       f"{ctx.fmt(0)}, logits have shape {ctx.fmt(1)}")


def _xent_infer(ctx):
    _check_dense_labels_logits(ctx)
    s = ctx.shapes[1].merge_with(ctx.shapes[0])
    if s.rank is not None and s.rank != 2:
        raise ctx.fail(f"`logits` must have rank 2 (batch, classes), got shape {ctx.fmt(1)}")
    return [(ctx.dtypes[1], TensorShape([s[0] if s.rank else None])), (ctx.dtypes[1], s)]


def _xent_build(k):
    labels, logits = k.ins
    loss, back = k.outs
    m = np.empty((logits.shape[0], 1), logits.dtype)
    tot = np.empty((logits.shape[0], 1), logits.dtype)
    scale = _grad_scale(k, back.dtype)

    def run():
        # loss = lse * sum(labels) - sum(labels * shifted); d/dlogits = softmax*sum - labels
        np.sum(labels, axis=1, keepdims=True, out=tot)
        np.max(logits, axis=1, keepdims=True, out=m)
        np.subtract(logits, m, out=back)
        np.multiply(back, labels, out=back)
        np.sum(back, axis=1, out=loss)
        np.subtract(logits, m, out=back)
        np.exp(back, out=back)
        np.sum(back, axis=1, keepdims=True, out=m)
        np.divide(back, m, out=back)
        np.multiply(back, tot, out=back)
        np.subtract(back, labels, out=back)
        np.log(m, out=m)
        np.multiply(m, tot, out=m)
        np.subtract(m[:, 0], loss, out=loss)
        if scale is not None:
            np.multiply(back, scale, out=back)
    return run


row("SoftmaxCrossEntropyWithLogits", _xent_infer, _xent_build, _xent_grad)


def _sig_xent_infer(ctx):
    _check_dense_labels_logits(ctx)
    return [(ctx.dtypes[1], ctx.shapes[1].merge_with(ctx.shapes[0]))]


def _sig_xent_build(k):
    z, x = k.ins
    o = k.outs[0]
    t = np.empty_like(o)

    def run():
        np.abs(x, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        np.maximum(x, 0, out=o)
        np.add(o, t, out=o)
        np.multiply(x, z, out=t)
        np.subtract(o, t, out=o)
    return run


def _sig_xent_grad(op, g):
    z, x = op.inputs
    if g[0] is None:
        return [None, None]
    s = make("Sigmoid", [x])
    return [g[0] * -x, g[0] * (s - z)]


row("SigmoidCrossEntropyWithLogits", _sig_xent_infer, _sig_xent_build, _sig_xent_grad)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                             name=None) -> Tensor:
    """Per-example softmax cross-entropy with integer class labels.

    Args:
        labels: int32/int64 tensor of shape ``(batch,)`` (or ``(d0, ..., dn)``) with values
            in ``[0, classes)``.
        logits: float tensor of shape ``(batch, classes)`` (or ``(d0, ..., dn, classes)``:
            a sequence's per-step logits, flattened to 2-D and the result reshaped back,
            as TF's wrapper does).
    Returns:
        float tensor of ``labels``' shape.
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sparse_softmax_cross_entropy_with_logits` with named "
                         "arguments (labels=..., logits=...).")
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    if labels.dtype.is_floating:
        raise TypeError("`labels` must be an integer tensor (class indices). Received: "
                        f"labels with dtype {labels.dtype.name}")
    rank = logits.shape.rank
    if rank is not None and rank != 2:
        return _sparse_xent_nd(labels, logits, name)
    op = make_op("SparseSoftmaxCrossEntropyWithLogits", [labels, logits],
                 name=name or "SparseSoftmaxCrossEntropyWithLogits")
    return op.outputs[0]


def _sparse_xent_nd(labels: Tensor, logits: Tensor, name: str | None) -> Tensor:
    """Logits of rank other than 2: checked as TF's wrapper, flattened to
    ``(-1, classes)``, and the losses reshaped to ``labels``' shape."""
    from estcore.graph.ops import array_ops as _a  # local: array_ops imports this module

    rank, lrank = logits.shape.rank, labels.shape.rank
    if rank < 1:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: `logits` must have rank "
                         f">= 1 (..., classes). Received: shape {logits.shape}")
    if lrank is not None and lrank != rank - 1:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: the rank of `labels` "
                         f"(received {lrank}) must equal the rank of `logits` minus 1 "
                         f"(received {rank}).")
    if lrank is not None and not labels.shape.is_compatible_with(
            TensorShape(logits.shape.dims[:-1])):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: `labels` shape "
                         f"{labels.shape} must match `logits` shape {logits.shape} except "
                         "the last dimension.")
    if rank == 1:  # TF: one example of `classes` logits, a scalar loss
        flat = _a.expand_dims(logits, 0)
        labels_flat = _a.reshape(labels, [1])
    else:
        classes = logits.shape.dims[-1]
        flat = _a.reshape(logits, [-1, classes if classes is not None
                                   else _a.shape(logits)[rank - 1]])
        labels_flat = _a.reshape(labels, [-1])
    op = make_op("SparseSoftmaxCrossEntropyWithLogits", [labels_flat, flat],
                 name="SparseSoftmaxCrossEntropyWithLogits")
    out = _a.reshape(op.outputs[0], _a.shape(labels), name=name)
    out.set_shape(TensorShape(logits.shape.dims[:-1]).merge_with(labels.shape)
                  if lrank is not None else TensorShape(logits.shape.dims[:-1]))
    return out


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, axis=-1,
                                      name=None, dim=None) -> Tensor:
    """Per-example softmax cross-entropy with a probability distribution ``labels``.

    Gradients flow into ``labels`` too (TF's ``_v2`` behaviour); wrap them in
    ``stop_gradient`` for the v1 behaviour. Labels of another dtype (int32 one-hot,
    float64) are cast to the logits' dtype, as in TF.
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `softmax_cross_entropy_with_logits` with named arguments "
                         "(labels=..., logits=...).")
    if dim is not None:
        axis = dim
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    if labels.dtype != logits.dtype:   # TF1 casts the labels (one-hot ints, float64)
        labels = _cast(labels, logits.dtype)
    r = logits.shape.rank
    from estcore.graph.ops.array_ops import (  # local: import cycle with array_ops
        reshape,
        shape,
        transpose,
    )
    perm = None
    if r is not None and axis not in (-1, r - 1):
        perm = list(range(r))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        logits, labels = transpose(logits, perm), transpose(labels, perm)
    if r is not None and r != 2:
        out_shape = shape(logits)[:-1]
        logits2 = reshape(logits, [-1, logits.shape[-1] if logits.shape[-1] else -1])
        labels2 = reshape(labels, [-1, logits.shape[-1] if logits.shape[-1] else -1])
        loss = make_op("SoftmaxCrossEntropyWithLogits", [labels2, logits2]).outputs[0]
        return reshape(loss, out_shape, name=name)
    return make_op("SoftmaxCrossEntropyWithLogits", [labels, logits],
                   name=name or "SoftmaxCrossEntropyWithLogits").outputs[0]


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                      name=None) -> Tensor:
    """Elementwise ``max(x, 0) - x * z + log(1 + exp(-|x|))`` (stable logistic loss)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named arguments "
                         "(labels=..., logits=...).")
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype)
    return make("SigmoidCrossEntropyWithLogits", [labels, logits], name=name or "logistic_loss")


# ---------------------------------------------------------------- bias_add
def _bias_add_infer(ctx):
    I.check_same_dtype(ctx, ("value", "bias"))
    xs, bs = ctx.shapes
    if bs.rank is not None and bs.rank != 1:
        raise ctx.fail(f"`bias` must be 1-D, got shape {ctx.fmt(1)}")
    if xs.rank is not None and xs.rank < 2:
        raise ctx.fail(f"`value` must have rank >= 2, got shape {ctx.fmt(0)}")
    if xs.rank and bs.rank and xs[-1] is not None and bs[0] is not None and xs[-1] != bs[0]:
        raise ctx.fail(f"the last dimension of `value` must equal the size of `bias`: value "
                       f"has shape {ctx.fmt(0)}, bias has shape {ctx.fmt(1)}")
    return [(ctx.dtypes[0], xs)]


def _bias_add_build(k):
    x, b = k.ins
    o = k.outs[0]
    return lambda: np.add(x, b, out=o)


def _bias_add_grad(op, g):
    if g[0] is None:
        return [None, None]
    return [g[0], unbroadcast(g[0], op.inputs[1])]


row("BiasAdd", _bias_add_infer, _bias_add_build, _bias_add_grad)


def bias_add(value, bias, data_format=None, name=None) -> Tensor:
    """``value + bias`` with a 1-D ``bias`` over the last (channels) dimension."""
    if data_format not in (None, "NHWC", "N...C"):
        raise ValueError(f"`data_format` must be 'NHWC' (channels last). Received: "
                         f"data_format={data_format!r}")
    value = convert_to_tensor(value)
    return make("BiasAdd", [value, convert_to_tensor(bias, value.dtype)], name=name or "BiasAdd")


# ---------------------------------------------------------------- dropout
def _dropout_infer(ctx):
    I.float_unary(ctx)
    if not ctx.dtypes[1].is_bool or ctx.shapes[1].rank not in (None, 0):
        raise ctx.fail("`training` must be a bool scalar", TypeError)
    xs = ctx.shapes[0]
    ns = ctx.attrs["noise_shape"]
    if ns is None:
        mask = xs
    else:
        if xs.rank is not None and len(ns) != xs.rank:
            raise ctx.fail(f"`noise_shape` {ns} must have one entry per dimension of x "
                           f"(shape {ctx.fmt(0)})")
        dims = []
        for i, d in enumerate(ns):
            xd = xs[i] if xs.rank is not None else None
            if d is None:
                dims.append(xd)
            elif d != 1 and xd is not None and d != xd:
                raise ctx.fail(f"`noise_shape` {ns} is not broadcastable to x's shape "
                               f"{ctx.fmt(0)}")
            else:
                dims.append(d)
        mask = TensorShape(dims)
    return [(ctx.dtypes[0], xs), (ctx.dtypes[0], mask)]


def _dropout_build(k):
    x, training = k.ins
    y, mask = k.outs
    rate = k.attrs["rate"]
    keep = 1.0 - rate
    scale = np.asarray(1.0 / keep, dtype=y.dtype)
    u = np.empty(mask.shape, dtype=y.dtype if y.dtype.kind == "f" and y.itemsize >= 4
                 else np.float32)
    keep_mask = np.empty(mask.shape, np.bool_)
    state, node = k.state, k.node

    def run():
        if training:
            rng = state.rng(node)
            rng.random(out=u, dtype=u.dtype.type)
            np.greater_equal(u, rate, out=keep_mask)
            np.multiply(keep_mask, scale, out=mask)
            np.multiply(x, mask, out=y)
        else:
            mask.fill(1)
            np.copyto(y, x)
    return run


def _dropout_grad(op, g):
    if g[0] is None:
        return [None, None]
    return [g[0] * op.outputs[1], None]


row("Dropout", _dropout_infer, _dropout_build, _dropout_grad, stateful=True)


def dropout_op(x, rate: float, noise_shape, seed, training, name=None) -> Tensor:
    """Build the ``Dropout`` node (see :func:`estcore.nn.dropout` for the public API)."""
    x = convert_to_tensor(x)
    training = convert_to_tensor(training, dt.bool)
    seeds = R.op_seeds(x.graph, seed)
    op = make_op("Dropout", [x, training],
                 {"rate": float(rate), "noise_shape": noise_shape, "seed": seeds},
                 name=name or "dropout")
    return op.outputs[0]


# ---------------------------------------------------------------- in_top_k
def _in_top_k_infer(ctx):
    if not ctx.dtypes[0].is_floating:
        raise ctx.fail(f"`predictions` must be floating point, got {ctx.dtypes[0].name}",
                       TypeError)
    if not ctx.dtypes[1].is_integer:
        raise ctx.fail(f"`targets` must be integers, got {ctx.dtypes[1].name}", TypeError)
    p = ctx.shapes[0]
    if p.rank is not None and p.rank != 2:
        raise ctx.fail(f"`predictions` must have rank 2, got shape {ctx.fmt(0)}")
    return [(dt.bool, TensorShape([p[0] if p.rank else None]))]


def _in_top_k_build(k):
    p, t = k.ins
    o = k.outs[0]
    kk = k.attrs["k"]
    n, c = p.shape
    rows = np.arange(n)

    def run():
        valid = (t >= 0) & (t < c)
        tgt = p[rows, np.clip(t, 0, c - 1)]
        greater = (p > tgt[:, None]).sum(axis=1)
        finite = np.isfinite(p).all(axis=1)
        np.copyto(o, valid & finite & (greater < kk))
    return run


row("InTopKV2", _in_top_k_infer, _in_top_k_build, None)


def in_top_k(predictions, targets, k, name=None) -> Tensor:
    """Whether each target is among the top ``k`` predictions (ties count as in)."""
    return make("InTopKV2", [convert_to_tensor(predictions), convert_to_tensor(targets)],
                {"k": int(k)}, name=name or "in_top_k")


# ---------------------------------------------------------------- top_k
def _top_k_infer(ctx):
    s = ctx.shapes[0]
    k = ctx.attrs["k"]
    if not ctx.dtypes[0].is_numeric:
        raise ctx.fail(f"expects a numeric input, got {ctx.dtypes[0].name}", TypeError)
    if s.rank == 0:
        raise ctx.fail("expects an input of rank >= 1, got a scalar")
    if s.rank is not None and s[-1] is not None and s[-1] < k:
        raise ctx.fail(f"`k`={k} is larger than the last dimension of shape {ctx.fmt(0)}")
    out = TensorShape(None) if s.rank is None else TensorShape(list(s.dims[:-1]) + [k])
    return [(ctx.dtypes[0], out), (dt.int32, out)]


def _top_k_build(k):
    x = k.ins[0]
    vals, idx = k.outs
    kk = k.attrs["k"]

    floating = np.issubdtype(x.dtype, np.floating)
    n = x.shape[-1] if x.ndim else 0

    def run():
        if floating:
            order = np.argsort(-x, axis=-1, kind="stable")[..., :kk]  # ties: lower index first
        else:  # -x wraps for integers (uint8 255 -> 1, int32 INT_MIN stays INT_MIN):
            # the reversed axis sorted ascending, stably, then reversed back
            order = (n - 1 - np.argsort(x[..., ::-1], axis=-1, kind="stable"))[..., ::-1]
            order = order[..., :kk]
        np.copyto(idx, order, casting="unsafe")
        np.copyto(vals, np.take_along_axis(x, order, axis=-1))
    return run


def _top_k_grad(op, g):
    if g[0] is None or not op.inputs[0].dtype.is_floating:
        return [None]
    return [make("TopKGrad", [g[0], op.outputs[1], op.inputs[0]])]


def _top_k_grad_build(k):
    g, idx, _ = k.ins
    o = k.outs[0]

    def run():
        o.fill(0)
        np.put_along_axis(o, idx.astype(np.intp), g, axis=-1)
    return run


row("TopKV2", _top_k_infer, _top_k_build, _top_k_grad)
row("TopKGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[2])], _top_k_grad_build, None,
    grad_op=True, extra={"shape_inputs": (2,)})


def top_k(input, k=1, sorted=True, name=None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """The ``k`` largest entries of the last axis and their int32 indices (descending;
    equal values keep the lower index first, as TF)."""
    op = make_op("TopKV2", [convert_to_tensor(input)], {"k": int(k)}, name=name or "TopKV2")
    return op.outputs[0], op.outputs[1]
