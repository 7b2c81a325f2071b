"""2-D convolution and pooling (NHWC), numpy kernels via im2col + GEMM.

``Conv2D`` and the fused ``FusedConv2D`` (conv + bias + activation) share the
geometry helper :class:`_Geom`; scratch buffers (padded input, column matrix)
are allocated once per plan inside the kernel factories.

Must not: emit C instructions (``c_emit.py``) or rewrite the graph (the plan compiler
fuses; ``fused.py`` is the layers' entry point); allocate its scratch buffers per run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from estcore.graph.ops import _infer as I
from estcore.graph.ops import activations as A
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.shapes import TensorShape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["conv2d", "fused_conv2d", "max_pool2d", "avg_pool2d", "conv_out_size"]


def conv_out_size(n, k, s, d, padding):
    """Output size and (pad_before, pad_after) along one spatial dimension."""
    if n is None:
        return None, (0, 0)
    eff = (k - 1) * d + 1
    if padding == "VALID":
        out = (n - eff) // s + 1 if n >= eff else 0
        return out, (0, 0)
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return out, (total // 2, total - total // 2)


def _check_valid_fits(ctx, dims, windows, what):
    """VALID padding with a window larger than the input: TF's graph-time error (the
    output would have a negative size), instead of a silently empty output."""
    if ctx.attrs["padding"] != "VALID":
        return
    for n, eff in zip(dims, windows, strict=True):
        if n is not None and eff is not None and n < eff:
            raise ctx.fail(f"Negative dimension size caused by subtracting {eff} from {n}: "
                           f"with padding='VALID' the {what} must fit in the input "
                           f"(input shape {ctx.fmt(0)})")


def _check_window_attrs(ctx, names, unit_dilations=False):
    """Each attr in ``names`` a pair of positive ints, ``padding`` SAME or VALID (also
    for attrs read from an export: a dilation, stride or window of 0 gave NaN or a
    division by zero in the kernels). Pools take no dilation other than 1."""
    a = ctx.attrs
    for name in names:
        v = a.get(name)
        if not (isinstance(v, (tuple, list)) and len(v) == 2
                and all(type(d) is int and d >= 1 for d in v)):
            raise ctx.fail(f"`{name}` must be positive ints (one per spatial dimension, "
                           f"NHWC). Received: {name}={v!r}")
    if a.get("padding") not in ("SAME", "VALID"):
        raise ctx.fail(f"`padding` must be 'SAME' or 'VALID'. Received: "
                       f"padding={a.get('padding')!r}")
    if unit_dilations and tuple(a.get("dilations", (1, 1))) != (1, 1):
        raise ctx.fail(f"pooling takes no dilation. Received: dilations={a['dilations']!r}")


def _norm_pair(name, v, n_dims=4):
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    if len(v) == 1:
        return (int(v[0]), int(v[0]))
    if len(v) == 2:
        return (int(v[0]), int(v[1]))
    if len(v) == 4:
        if v[0] != 1 or v[3] != 1:
            raise ValueError(f"`{name}` in the batch and channel dimensions must be 1 (NHWC). "
                             f"Received: {name}={v}")
        return (int(v[1]), int(v[2]))
    raise ValueError(f"`{name}` must be an int or a list of 1, 2 or 4 ints. Received: {name}={v}")


def _norm_padding(p):
    if not isinstance(p, str) or p.upper() not in ("SAME", "VALID"):
        raise ValueError(f"`padding` must be 'SAME' or 'VALID'. Received: padding={p!r}")
    return p.upper()


class _Geom:
    """Concrete geometry of one conv/pool node (all sizes known)."""

    def __init__(self, x_shape, kh, kw, attrs):
        self.n, self.h, self.w, self.c = x_shape
        self.kh, self.kw = kh, kw
        self.sh, self.sw = attrs["strides"]
        self.dh, self.dw = attrs.get("dilations", (1, 1))
        self.oh, (self.pt, self.pb) = conv_out_size(self.h, kh, self.sh, self.dh,
                                                    attrs["padding"])
        self.ow, (self.pl, self.pr) = conv_out_size(self.w, kw, self.sw, self.dw,
                                                    attrs["padding"])
        self.padded = self.pt or self.pb or self.pl or self.pr
        self.hp, self.wp = self.h + self.pt + self.pb, self.w + self.pl + self.pr

    def padded_buffer(self, dtype, fill=0.0):
        buf = np.full((self.n, self.hp, self.wp, self.c), fill, dtype)
        inner = buf[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w, :]
        return buf, inner

    def windows(self, xp):
        s = xp.strides
        return as_strided(xp, (self.n, self.oh, self.ow, self.kh, self.kw, self.c),
                          (s[0], s[1] * self.sh, s[2] * self.sw, s[1] * self.dh,
                           s[2] * self.dw, s[3]), writeable=False)

    def tap(self, xp, i, j):
        """The (N, OH, OW, C) view of ``xp`` read by kernel tap (i, j)."""
        hi, wj = i * self.dh, j * self.dw
        return xp[:, hi:hi + self.sh * (self.oh - 1) + 1:self.sh,
                  wj:wj + self.sw * (self.ow - 1) + 1:self.sw, :]


def _conv_infer_common(ctx, xs, ws):
    _check_window_attrs(ctx, ("strides", "dilations"))
    if xs.rank is not None and xs.rank != 4:
        raise ctx.fail(f"`input` must have rank 4 (NHWC), got shape {ctx.fmt(0)}")
    if ws.rank is not None and ws.rank != 4:
        raise ctx.fail(f"`filters` must have rank 4 (height, width, in, out), got shape "
                       f"{ctx.fmt(1)}")
    if xs.rank is None or ws.rank is None:
        return TensorShape([None] * 4)
    if xs[3] is not None and ws[2] is not None and xs[3] != ws[2]:
        raise ctx.fail(f"input channels must match the filters' in-channels: input has shape "
                       f"{ctx.fmt(0)}, filters have shape {ctx.fmt(1)}")
    a = ctx.attrs
    _check_valid_fits(ctx, (xs[1], xs[2]),
                      [None if k is None else (k - 1) * d + 1
                       for k, d in zip((ws[0], ws[1]), a["dilations"], strict=True)],
                      f"filter window (filters shape {ctx.fmt(1)})")
    oh, _ = conv_out_size(xs[1], ws[0], a["strides"][0], a["dilations"][0], a["padding"]) \
        if ws[0] is not None else (None, 0)
    ow, _ = conv_out_size(xs[2], ws[1], a["strides"][1], a["dilations"][1], a["padding"]) \
        if ws[1] is not None else (None, 0)
    return TensorShape([xs[0], oh, ow, ws[3]])


def _conv_infer(ctx):
    I.check_same_dtype(ctx, ("input", "filters"))
    I.float_unary(ctx)
    return [(ctx.dtypes[0], _conv_infer_common(ctx, ctx.shapes[0], ctx.shapes[1]))]


def _fused_conv_infer(ctx):
    out = _conv_infer(ctx)
    bs = ctx.shapes[2]
    if bs.rank is not None and (bs.rank != 1 or (bs[0] is not None and ctx.shapes[1].rank
                                                 and ctx.shapes[1][3] not in (None, bs[0]))):
        raise ctx.fail(f"`bias` must be 1-D with one entry per filter: bias has shape "
                       f"{ctx.fmt(2)}, filters have shape {ctx.fmt(1)}")
    return out


def _im2col_builder(x, w_shape, attrs):
    g = _Geom(x.shape, w_shape[0], w_shape[1], attrs)
    if g.padded:
        xp, inner = g.padded_buffer(x.dtype)
    else:
        xp, inner = x, None
    cols = np.empty((g.n, g.oh, g.ow, g.kh, g.kw, g.c), x.dtype)
    win = g.windows(xp)

    def im2col():
        if inner is not None:
            np.copyto(inner, x)
        np.copyto(cols, win)
    return g, cols.reshape(g.n * g.oh * g.ow, g.kh * g.kw * g.c), im2col


def _conv_forward_builder(x, w, o, attrs, b=None, act="linear"):
    g, cols2, im2col = _im2col_builder(x, w.shape, attrs)
    w2 = w.reshape(-1, w.shape[3])
    o2 = o.reshape(-1, w.shape[3])

    def run():
        im2col()
        np.matmul(cols2, w2, out=o2)
        if b is not None:
            np.add(o2, b, out=o2)
        if act != "linear":
            A.forward(act, o, o)
    return run


def _conv_build(k):
    x, w = k.ins
    return _conv_forward_builder(x, w, k.outs[0], k.attrs)


def _fused_conv_build(k):
    x, w, b = k.ins
    return _conv_forward_builder(x, w, k.outs[0], k.attrs, b, k.attrs["activation"])


def _conv_backward_builder(dz, x, w, dx, dw, attrs, need_dx=True, need_dw=True):
    """Closure computing dx (col2im of dz @ w^T) and dw (cols^T @ dz)."""
    g, cols2, im2col = _im2col_builder(x, w.shape, attrs)
    dz2 = dz.reshape(-1, w.shape[3])
    w2 = w.reshape(-1, w.shape[3])
    dw2 = dw.reshape(-1, w.shape[3]) if dw is not None else None
    dcols = np.empty_like(cols2)
    dcols6 = dcols.reshape(g.n, g.oh, g.ow, g.kh, g.kw, g.c)
    dxp, inner = g.padded_buffer(x.dtype) if g.padded else (dx, None)

    def run():
        if need_dw:
            im2col()
            np.matmul(cols2.T, dz2, out=dw2)
        if need_dx:
            np.matmul(dz2, w2.T, out=dcols)
            dxp.fill(0)
            for i in range(g.kh):
                for j in range(g.kw):
                    t = g.tap(dxp, i, j)
                    np.add(t, dcols6[:, :, :, i, j, :], out=t)
            if inner is not None:
                np.copyto(dx, inner)
    return run


def _conv_grad(op, grads):
    x, w = op.inputs
    gz = grads[0]
    if gz is None:
        return [None, None]
    dx, dw = make_op("Conv2DGrad", [gz, x, w], dict(op.attrs)).outputs
    return [dx, dw]


def _conv_grad_build(k):
    dz, x, w = k.ins
    dx, dw = k.outs
    return _conv_backward_builder(dz, x, w, dx, dw, k.attrs, k.needed[0], k.needed[1])


def _fused_conv_grad(op, grads):
    x, w, b = op.inputs
    if grads[0] is None:
        return [None, None, None]
    return list(make_op("FusedConv2DGrad", [grads[0], x, w, op.outputs[0]],
                        dict(op.attrs)).outputs)


def _fused_conv_grad_build(k):
    gy, x, w, y = k.ins
    dx, dw, db = k.outs
    dz = np.empty_like(gy)
    act = A.backward_builder(k.attrs["activation"], gy, None, y, dz)
    inner = _conv_backward_builder(dz, x, w, dx, dw, k.attrs, k.needed[0], k.needed[1])

    def run():
        act()
        np.sum(dz, axis=(0, 1, 2), out=db)
        inner()
    return run


def _grad_infer(ctx):
    return [(ctx.dtypes[1], ctx.shapes[1]), (ctx.dtypes[2], ctx.shapes[2])]


def _fused_grad_infer(ctx):
    ws = ctx.shapes[2]
    return [(ctx.dtypes[1], ctx.shapes[1]), (ctx.dtypes[2], ws),
            (ctx.dtypes[2], TensorShape([ws[3] if ws.rank else None]))]


row("Conv2D", _conv_infer, _conv_build, _conv_grad)
row("Conv2DGrad", _grad_infer, _conv_grad_build, None, grad_op=True)
row("FusedConv2D", _fused_conv_infer, _fused_conv_build, _fused_conv_grad)
row("FusedConv2DGrad", _fused_grad_infer, _fused_conv_grad_build, None, grad_op=True)


def _conv_attrs(strides, padding, data_format, dilations):
    if data_format not in ("NHWC", "channels_last", None):
        raise ValueError("`data_format` must be 'NHWC' (channels last); NCHW is not supported. "
                         f"Received: data_format={data_format!r}")
    return {"strides": _norm_pair("strides", strides), "padding": _norm_padding(padding),
            "dilations": _norm_pair("dilations", dilations)}


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=1,  # noqa: A002
           name=None) -> Tensor:
    """2-D convolution, NHWC input ``(N, H, W, C)``, filters ``(KH, KW, C, F)``."""
    x = convert_to_tensor(input)
    w = convert_to_tensor(filters, x.dtype)
    return make("Conv2D", [x, w], _conv_attrs(strides, padding, data_format, dilations),
                name=name or "Conv2D")


def fused_conv2d(x, kernel, bias, strides=1, padding="VALID", activation="linear",
                 dilations=1, name=None) -> Tensor:
    """``act(conv2d(x, kernel) + bias)`` as one node (and one fused gradient node)."""
    x = convert_to_tensor(x)
    attrs = _conv_attrs(strides, padding, "NHWC", dilations)
    attrs["activation"] = activation
    return make("FusedConv2D", [x, convert_to_tensor(kernel, x.dtype),
                                convert_to_tensor(bias, x.dtype)], attrs,
                name=name or "Conv2D")


# ---------------------------------------------------------------- pooling
def _pool_infer(ctx):
    I.float_unary(ctx)
    _check_window_attrs(ctx, ("ksize", "strides"), unit_dilations=True)
    xs = ctx.shapes[0]
    if xs.rank is not None and xs.rank != 4:
        raise ctx.fail(f"`input` must have rank 4 (NHWC), got shape {ctx.fmt(0)}")
    if xs.rank is None:
        return [(ctx.dtypes[0], TensorShape([None] * 4))]
    (kh, kw), (sh, sw) = ctx.attrs["ksize"], ctx.attrs["strides"]
    _check_valid_fits(ctx, (xs[1], xs[2]), (kh, kw), f"pooling window {kh}x{kw}")
    oh, _ = conv_out_size(xs[1], kh, sh, 1, ctx.attrs["padding"])
    ow, _ = conv_out_size(xs[2], kw, sw, 1, ctx.attrs["padding"])
    return [(ctx.dtypes[0], TensorShape([xs[0], oh, ow, xs[3]]))]


def _pool_geom(x, attrs):
    return _Geom(x.shape, attrs["ksize"][0], attrs["ksize"][1], attrs)


def _max_pool_build(k):
    x, o = k.ins[0], k.outs[0]
    g = _pool_geom(x, k.attrs)
    xp, inner = g.padded_buffer(x.dtype, -np.inf) if g.padded else (x, None)
    win = g.windows(xp)

    def run():
        if inner is not None:
            np.copyto(inner, x)
        np.max(win, axis=(3, 4), out=o)
    return run


def _count_map(g):
    ones = np.zeros((1, g.hp, g.wp, 1))
    ones[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w, :] = 1
    s = ones.strides
    win = as_strided(ones, (1, g.oh, g.ow, g.kh, g.kw, 1),
                     (s[0], s[1] * g.sh, s[2] * g.sw, s[1], s[2], s[3]))
    return win.sum(axis=(3, 4))


def _avg_pool_build(k):
    x, o = k.ins[0], k.outs[0]
    g = _pool_geom(x, k.attrs)
    xp, inner = g.padded_buffer(x.dtype, 0.0) if g.padded else (x, None)
    win = g.windows(xp)
    counts = _count_map(g).astype(x.dtype)

    def run():
        if inner is not None:
            np.copyto(inner, x)
        np.sum(win, axis=(3, 4), out=o)
        np.divide(o, counts, out=o)
    return run


def _pool_grad(op, grads):
    if grads[0] is None:
        return [None]
    return [make(op.type + "Grad", [grads[0], op.inputs[0]], dict(op.attrs))]


def _max_pool_grad_build(k):
    gy, x = k.ins
    dx = k.outs[0]
    g = _pool_geom(x, k.attrs)
    xp, inner = g.padded_buffer(x.dtype, -np.inf) if g.padded else (x, None)
    win = g.windows(xp)
    flat = np.empty((g.n, g.oh, g.ow, g.kh * g.kw, g.c), x.dtype)
    idx = np.empty((g.n, g.oh, g.ow, g.c), np.intp)
    dxp, dinner = g.padded_buffer(x.dtype) if g.padded else (dx, None)
    tmp = np.empty_like(gy)

    def run():
        if inner is not None:
            np.copyto(inner, x)
        np.copyto(flat.reshape(win.shape), win)
        np.argmax(flat, axis=3, out=idx)
        dxp.fill(0)
        for i in range(g.kh):
            for j in range(g.kw):
                np.multiply(gy, idx == i * g.kw + j, out=tmp)
                t = g.tap(dxp, i, j)
                np.add(t, tmp, out=t)
        if dinner is not None:
            np.copyto(dx, dinner)
    return run


def _avg_pool_grad_build(k):
    gy, x = k.ins
    dx = k.outs[0]
    g = _pool_geom(x, k.attrs)
    counts = _count_map(g).astype(x.dtype)
    dxp, dinner = g.padded_buffer(x.dtype) if g.padded else (dx, None)
    scaled = np.empty_like(gy)

    def run():
        np.divide(gy, counts, out=scaled)
        dxp.fill(0)
        for i in range(g.kh):
            for j in range(g.kw):
                t = g.tap(dxp, i, j)
                np.add(t, scaled, out=t)
        if dinner is not None:
            np.copyto(dx, dinner)
    return run


row("MaxPool", _pool_infer, _max_pool_build, _pool_grad)
row("AvgPool", _pool_infer, _avg_pool_build, _pool_grad)
row("MaxPoolGrad", lambda ctx: [(ctx.dtypes[1], ctx.shapes[1])], _max_pool_grad_build, None,
    grad_op=True)
row("AvgPoolGrad", lambda ctx: [(ctx.dtypes[1], ctx.shapes[1])], _avg_pool_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def _pool(op_type, input, ksize, strides, padding, data_format, name):  # noqa: A002
    if data_format not in ("NHWC", "channels_last", None):
        raise ValueError("`data_format` must be 'NHWC' (channels last); NCHW is not supported. "
                         f"Received: data_format={data_format!r}")
    attrs = {"ksize": _norm_pair("ksize", ksize), "strides": _norm_pair("strides", strides),
             "padding": _norm_padding(padding), "dilations": (1, 1)}
    return make(op_type, [convert_to_tensor(input)], attrs, name=name or op_type)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """Max pooling over ``ksize`` windows (NHWC)."""
    return _pool("MaxPool", input, ksize, strides, padding, data_format, name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """Average pooling (SAME padding averages only the real pixels, as TF)."""
    return _pool("AvgPool", input, ksize, strides, padding, data_format, name)
