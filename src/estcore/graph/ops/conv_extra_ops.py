"""Transposed and depthwise 2-D convolutions (NHWC): ``Conv2DBackpropInput``,
``DepthwiseConv2dNative`` and their gradients (numpy kernels on the conv geometry of
:mod:`estcore.graph.ops.conv_ops`).

* ``Conv2DBackpropInput(value, filter)``: TF's ``conv2d_transpose``: the gradient of a
  ``conv2d`` with ``filter`` ``(kh, kw, out_channels, in_channels)`` with respect to its
  input, applied to ``value``. Its own gradients are a ``conv2d`` (for ``value``) and the
  conv filter gradient (for ``filter``).
* ``DepthwiseConv2dNative(x, filter)``: each input channel convolved with its own
  ``channel_multiplier`` filters, ``filter`` ``(kh, kw, C, M)`` -> ``C * M`` channels
  (channel ``c * M + m``), as TF's.

Must not: handle NCHW (callers transpose); choose C kernels (there are none for these).
"""

from __future__ import annotations

import numpy as np

from estcore.graph.ops import _infer as I
from estcore.graph.ops.conv_ops import (
    _conv_attrs,
    _conv_backward_builder,
    _Geom,
    conv2d,
    conv_out_size,
)
from estcore.graph.ops.core import constant_value, convert_to_tensor, make, make_op, row
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["conv2d_transpose", "depthwise_conv2d", "separable_conv2d"]


# ---------------------------------------------------------------- transposed conv
def _transposed_size(n, k, s, padding):
    if n is None or k is None:
        return None
    return n * s if padding == "SAME" else (n - 1) * s + k


def _tconv_infer(ctx):
    I.check_same_dtype(ctx, ("value", "filter"))
    I.float_unary(ctx)
    xs, ws = ctx.shapes
    a = ctx.attrs
    if xs.rank not in (4, None) or ws.rank not in (4, None):
        raise ctx.fail(f"`value` and `filter` must have rank 4. Received: shapes {ctx.fmt(0)} "
                       f"and {ctx.fmt(1)}")
    if xs.rank is None or ws.rank is None:
        return [(ctx.dtypes[0], TensorShape([None] * 4))]
    if xs[3] is not None and ws[3] is not None and xs[3] != ws[3]:
        raise ctx.fail(f"`value` channels ({xs[3]}) must equal the filter's last dimension "
                       f"(in_channels, {ws[3]}): filter shape {ctx.fmt(1)}")
    out = []
    for i in (0, 1):
        want = a["out_hw"][i]
        n, k, s = xs[1 + i], ws[i], a["strides"][i]
        if want is None:
            want = _transposed_size(n, k, s, a["padding"])
        elif n is not None and k is not None:
            back, _ = conv_out_size(want, k, s, 1, a["padding"])
            if back != n:
                raise ctx.fail(f"output size {want} in dimension {i + 1} does not give back "
                               f"the input size {n} with kernel {k}, stride {s} and padding "
                               f"{a['padding']}")
        out.append(want)
    return [(ctx.dtypes[0], TensorShape([xs[0], out[0], out[1], ws[2]]))]


def _tconv_build(k):
    v, w = k.ins
    o = k.outs[0]
    like = np.empty(o.shape, o.dtype)
    return _conv_backward_builder(v, like, w, o, None, k.attrs, need_dx=True, need_dw=False)


def _tconv_grad(op, g):
    v, w = op.inputs
    if g[0] is None:
        return [None, None]
    a = op.attrs
    dv = make("Conv2D", [g[0], w], {"strides": a["strides"], "padding": a["padding"],
                                    "dilations": (1, 1)})
    dw = make_op("Conv2DGrad", [v, g[0], w], {"strides": a["strides"],
                                              "padding": a["padding"],
                                              "dilations": (1, 1)}).outputs[1]
    return [dv, dw]


row("Conv2DBackpropInput", _tconv_infer, _tconv_build, _tconv_grad)


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                     padding="SAME", data_format="NHWC", name=None, input=None,  # noqa: A002
                     filters=None, dilations=None) -> Tensor:
    """Transposed 2-D convolution (TF1 ``tf.nn.conv2d_transpose``), NHWC.

    Args:
        value: ``(N, H, W, in_channels)`` (``input``: TF2's name).
        filter: ``(kh, kw, out_channels, in_channels)`` (``filters``: TF2's name).
        output_shape: ``[N, OH, OW, out_channels]`` (list or constant; ``N`` may be
            a tensor or None); None: ``H * stride`` (SAME) or ``(H - 1) * stride + kh``
            (VALID).
        strides: int or list of 2 or 4 ints.
        padding: ``"SAME"`` or ``"VALID"``.
        dilations: 1 only.
    """
    value = input if value is None else value
    filter = filters if filter is None else filter  # noqa: A001
    if value is None or filter is None or strides is None:
        raise ValueError("conv2d_transpose needs `value`, `filter` and `strides`")
    if dilations not in (None, 1, [1, 1], (1, 1), [1, 1, 1, 1]):
        raise ValueError(f"`dilations` other than 1 are not supported. Received: {dilations}")
    x = convert_to_tensor(value)
    w = convert_to_tensor(filter, x.dtype)
    attrs = _conv_attrs(strides, padding, data_format, 1)
    hw = [None, None]
    if output_shape is not None:
        dims = list(output_shape) if isinstance(output_shape, (list, tuple)) else None
        if dims is None:
            val = constant_value(convert_to_tensor(output_shape))
            dims = None if val is None else [int(d) for d in val]
        if dims is None or len(dims) != 4:
            raise ValueError("`output_shape` must be a list of 4 sizes (or a constant) known "
                             f"when the graph is built. Received: {output_shape!r}")
        hw = [None if d is None or hasattr(d, "_as_tensor") else int(d) for d in dims[1:3]]
    attrs["out_hw"] = tuple(hw)
    del attrs["dilations"]
    return make("Conv2DBackpropInput", [x, w], attrs, name=name or "conv2d_transpose")


# ---------------------------------------------------------------- depthwise conv
def _dw_infer(ctx):
    I.check_same_dtype(ctx, ("input", "filter"))
    I.float_unary(ctx)
    xs, ws = ctx.shapes
    a = ctx.attrs
    if xs.rank not in (4, None) or ws.rank not in (4, None):
        raise ctx.fail(f"`input` and `filter` must have rank 4. Received: shapes {ctx.fmt(0)} "
                       f"and {ctx.fmt(1)}")
    if xs.rank is None or ws.rank is None:
        return [(ctx.dtypes[0], TensorShape([None] * 4))]
    if xs[3] is not None and ws[2] is not None and xs[3] != ws[2]:
        raise ctx.fail(f"input channels ({xs[3]}) must equal the filter's third dimension "
                       f"({ws[2]}): filter shape {ctx.fmt(1)}")
    dims = []
    for i in (0, 1):
        n, k = xs[1 + i], ws[i]
        if n is None or k is None:
            dims.append(None)
            continue
        if a["padding"] == "VALID" and (k - 1) * a["dilations"][i] + 1 > n:
            raise ctx.fail(f"the filter window ({k}) is larger than the input ({n}) with "
                           "VALID padding")
        dims.append(conv_out_size(n, k, a["strides"][i], a["dilations"][i], a["padding"])[0])
    c = None if ws[2] is None or ws[3] is None else ws[2] * ws[3]
    return [(ctx.dtypes[0], TensorShape([xs[0], *dims, c]))]


def _dw_geom(x, w, attrs):
    g = _Geom(x.shape, w.shape[0], w.shape[1], attrs)
    xp, inner = g.padded_buffer(x.dtype) if g.padded else (x, None)
    return g, xp, inner


def _dw_build(k):
    x, w = k.ins
    o = k.outs[0]
    g, xp, inner = _dw_geom(x, w, k.attrs)
    win = g.windows(xp)
    o5 = o.reshape(g.n, g.oh, g.ow, g.c, w.shape[3])

    def run():
        if inner is not None:
            np.copyto(inner, x)
        np.copyto(o5, np.einsum("nhwijc,ijcm->nhwcm", win, w, optimize=True))
    return run


def _dw_grad(op, g):
    x, w = op.inputs
    if g[0] is None:
        return [None, None]
    dx, dw = make_op("DepthwiseConv2dGrad", [g[0], x, w], dict(op.attrs)).outputs
    return [dx, dw]


def _dw_grad_build(k):
    gz, x, w = k.ins
    dx, dw = k.outs
    g, xp, inner = _dw_geom(x, w, k.attrs)
    win = g.windows(xp)
    gz5 = gz.reshape(g.n, g.oh, g.ow, g.c, w.shape[3])
    dxp, dinner = g.padded_buffer(x.dtype) if g.padded else (dx, None)

    def run():
        if inner is not None:
            np.copyto(inner, x)
        np.copyto(dw, np.einsum("nhwijc,nhwcm->ijcm", win, gz5, optimize=True))
        dwin = np.einsum("nhwcm,ijcm->nhwijc", gz5, w, optimize=True)
        dxp.fill(0)
        for i in range(g.kh):
            for j in range(g.kw):
                t = g.tap(dxp, i, j)
                np.add(t, dwin[:, :, :, i, j, :], out=t)
        if dinner is not None:
            np.copyto(dx, dinner)
    return run


row("DepthwiseConv2dNative", _dw_infer, _dw_build, _dw_grad)
row("DepthwiseConv2dGrad", lambda ctx: [(ctx.dtypes[1], ctx.shapes[1]),
                                        (ctx.dtypes[2], ctx.shapes[2])],
    _dw_grad_build, None, grad_op=True)


def _rate(rate, dilations):
    r = dilations if dilations is not None else rate
    return 1 if r is None else r


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None,  # noqa: A002
                     data_format=None, dilations=None) -> Tensor:
    """Depthwise 2-D convolution (TF1 ``tf.nn.depthwise_conv2d``), NHWC.

    Args:
        input: ``(N, H, W, C)``.
        filter: ``(kh, kw, C, M)``; output channel ``c * M + m`` is channel ``c``
            convolved with ``filter[:, :, c, m]``.
        strides: list of 4 ints ``[1, sh, sw, 1]`` (or 2, or an int).
        padding: ``"SAME"`` or ``"VALID"``.
        rate: dilation (int or 2 ints); strides must be 1 when it exceeds 1.
    """
    x = convert_to_tensor(input)
    w = convert_to_tensor(filter, x.dtype)
    attrs = _conv_attrs(strides, padding, data_format, _rate(rate, dilations))
    if max(attrs["dilations"]) > 1 and max(attrs["strides"]) > 1:
        raise ValueError("strides must be 1 when rate (dilation) exceeds 1")
    return make("DepthwiseConv2dNative", [x, w], attrs, name=name or "depthwise")


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,  # noqa: A002
                     rate=None, name=None, data_format=None, dilations=None) -> Tensor:
    """Depthwise convolution then a 1x1 convolution (TF1 ``tf.nn.separable_conv2d``).

    Args:
        input: ``(N, H, W, C)``.
        depthwise_filter: ``(kh, kw, C, M)``.
        pointwise_filter: ``(1, 1, C * M, out_channels)``.
        strides, padding, rate: as :func:`depthwise_conv2d`'s.
    """
    x = convert_to_tensor(input)
    with x.graph.name_scope(name or "separable_conv2d"):
        d = depthwise_conv2d(x, depthwise_filter, strides, padding, rate=rate,
                             data_format=data_format, dilations=dilations)
        return conv2d(d, convert_to_tensor(pointwise_filter, x.dtype), [1, 1, 1, 1], "VALID")
