"""Image ops (NHWC, or HWC for one image): resizing, random crop, PNG/JPEG decoding.

Rows:

* ``ResizeImage(images)``: bilinear or nearest-neighbour resize with TF1's legacy
  coordinate rule (``src = dst * in / out``, or ``(in - 1) / (out - 1)`` with
  ``align_corners``; no half-pixel centres). Each resize is a pair of interpolation
  matrices (rows, columns), so the forward pass is one ``einsum`` and the gradient
  (``ResizeImageGrad``) the same with the matrices transposed. Bilinear gives float32
  (as TF's ``resize_images``); nearest keeps the dtype.
* ``RandomCrop(value)``: a crop of static ``size`` at a uniformly drawn offset (the
  session's per-node random stream); second output: the offsets, for the gradient
  (``CropGrad``: the gradient placed back at the offsets, zeros elsewhere).
* ``DecodeImage(contents)``: PNG / JPEG bytes to uint8 ``(H, W, C)`` with Pillow (an
  optional dependency: a clear error names it when missing); a data-dependent shape
  (:mod:`estcore.graph.ops.dynamic_ops`).

Must not: import Pillow at module import (only the decode kernel and builder do).
"""

from __future__ import annotations

import io

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["resize", "random_crop", "decode_image", "interp_matrix"]


def interp_matrix(n_in: int, n_out: int, method: str, align_corners: bool) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix taking a row of ``n_in`` samples to ``n_out``."""
    m = np.zeros((n_out, n_in), np.float64)
    if align_corners and n_out > 1:
        scale = (n_in - 1) / (n_out - 1)
    else:
        scale = n_in / n_out
    src = np.arange(n_out) * scale
    if method == "nearest":
        idx = np.floor(src + 0.5) if align_corners else np.floor(src)   # (half away from 0)
        idx = np.minimum(idx.astype(np.int64), n_in - 1)
        m[np.arange(n_out), idx] = 1.0
        return m
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    lo = np.minimum(lo, n_in - 1)
    frac = src - np.floor(src)
    np.add.at(m, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return m


def _resize_infer(ctx):
    s = ctx.shapes[0]
    if s.rank not in (3, 4, None):
        raise ctx.fail(f"`images` must be 3-D (H, W, C) or 4-D (N, H, W, C). Received: "
                       f"shape {ctx.fmt(0)}")
    a = ctx.attrs
    d = ctx.dtypes[0] if a["method"] == "nearest" else dt.float32
    if s.rank is None:
        return [(d, TensorShape(None))]
    dims = list(s.dims)
    dims[-3:-1] = a["size"]
    return [(d, TensorShape(dims))]


def _matrices(in_shape, attrs, dtype):
    h, w = in_shape[-3], in_shape[-2]
    oh, ow = attrs["size"]
    return (interp_matrix(h, oh, attrs["method"], attrs["align_corners"]).astype(dtype),
            interp_matrix(w, ow, attrs["method"], attrs["align_corners"]).astype(dtype))


def _resize_build(k):
    x, o, a = k.ins[0], k.outs[0], k.attrs
    if a["method"] == "nearest":
        ry, rx = _matrices(x.shape, a, np.float64)
        yi, xi = ry.argmax(1), rx.argmax(1)

        def run_nearest():
            np.copyto(o, np.take(np.take(x, yi, axis=-3), xi, axis=-2))
        return run_nearest
    ry, rx = _matrices(x.shape, a, np.float64 if x.dtype == np.float64 else np.float32)

    def run():
        np.copyto(o, np.einsum("iy,...yxc,jx->...ijc", ry, x.astype(ry.dtype, copy=False), rx,
                               optimize=True), casting="unsafe")
    return run


def _resize_grad(op, g):
    x = op.inputs[0]
    if g[0] is None or not x.dtype.is_floating:
        return [None]
    return [make("ResizeImageGrad", [g[0], x], dict(op.attrs))]


def _resize_grad_build(k):
    gy, x = k.ins
    o = k.outs[0]
    ry, rx = _matrices(x.shape, k.attrs, gy.dtype)

    def run():
        np.copyto(o, np.einsum("iy,...ijc,jx->...yxc", ry, gy, rx, optimize=True),
                  casting="unsafe")
    return run


row("ResizeImage", _resize_infer, _resize_build, _resize_grad)
row("ResizeImageGrad", lambda ctx: [(ctx.dtypes[1], ctx.shapes[1])], _resize_grad_build, None,
    grad_op=True, extra={"shape_inputs": (1,)})


def resize(images, size, method: str, align_corners: bool = False, name=None) -> Tensor:
    """Resize ``images`` to ``size = (height, width)`` (static ints).

    Args:
        images: ``(H, W, C)`` or ``(N, H, W, C)``.
        size: two positive ints.
        method: ``"bilinear"`` (float32 result) or ``"nearest"`` (keeps the dtype).
        align_corners: TF1's flag (corner pixels aligned).
    """
    x = convert_to_tensor(images)
    try:
        oh, ow = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"`size` must be two ints (new height, width) known when the graph "
                         f"is built. Received: {size!r}") from None
    if oh <= 0 or ow <= 0:
        raise ValueError(f"`size` must be positive. Received: {size!r}")
    return make("ResizeImage", [x], {"size": (oh, ow), "method": method,
                                     "align_corners": bool(align_corners)},
                name=name or "resize")


# ---------------------------------------------------------------- random crop
def _crop_infer(ctx):
    s = ctx.shapes[0]
    size = ctx.attrs["size"]
    if s.rank is not None:
        if s.rank != len(size):
            raise ctx.fail(f"`size` has {len(size)} entries for a value of rank {s.rank}")
        for i, (d, c) in enumerate(zip(s.dims, size, strict=True)):
            if d is not None and c > d:
                raise ctx.fail(f"`size` {list(size)} is larger than the value's shape "
                               f"{ctx.fmt(0)} in dimension {i}")
    return [(ctx.dtypes[0], TensorShape(list(size))), (dt.int64, TensorShape([len(size)]))]


def _crop_build(k):
    x = k.ins[0]
    o, off = k.outs
    size, state, node = k.attrs["size"], k.state, k.node
    limit = np.array(x.shape) - np.array(size) + 1

    def run():
        if (limit <= 0).any():
            raise errors.InvalidArgumentError(
                f"random_crop: `size` {list(size)} is larger than the value's shape {x.shape}")
        start = state.rng(node).integers(0, limit)
        off[...] = start
        np.copyto(o, x[tuple(slice(int(b), int(b) + c) for b, c in zip(start, size,
                                                                          strict=True))])
    return run


def _crop_grad(op, g):
    if g[0] is None or not op.inputs[0].dtype.is_floating:
        return [None]
    return [make("CropGrad", [g[0], op.outputs[1], op.inputs[0]], {})]


def _crop_grad_build(k):
    gy, off, _ = k.ins
    o = k.outs[0]

    def run():
        o.fill(0)
        o[tuple(slice(int(b), int(b) + c) for b, c in zip(off, gy.shape, strict=True))] = gy
    return run


row("RandomCrop", _crop_infer, _crop_build, _crop_grad, stateful=True)
row("CropGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[2])], _crop_grad_build, None,
    grad_op=True, extra={"shape_inputs": (2,)})


def random_crop(value, size, seed=None, name=None) -> Tensor:
    """A ``size`` crop of ``value`` at a random offset, drawn anew each run (TF1
    ``tf.random_crop``); ``size`` must be known when the graph is built."""
    x = convert_to_tensor(value)
    try:
        sz = tuple(int(v) for v in (size.tolist() if isinstance(size, np.ndarray) else size))
    except (TypeError, ValueError):
        raise ValueError(f"`size` must be a list of ints known when the graph is built. "
                         f"Received: {size!r}") from None
    op = make_op("RandomCrop", [x], {"size": sz, "seed": R.op_seeds(x.graph, seed)},
                 name=name or "random_crop")
    return op.outputs[0]


# ---------------------------------------------------------------- decoding
def _pillow():
    try:
        from PIL import Image  # optional third-party dependency
    except ImportError:
        raise ImportError("decoding PNG/JPEG images needs Pillow, which is not installed: "
                          "pip install pillow") from None
    return Image


def _decode_infer(ctx):
    c = ctx.attrs["channels"]
    return [(dt.uint8, TensorShape([None, None, c if c else None]))]


def _decode_eager(k):
    image = _pillow()
    raw = k.ins[0]
    data = raw[()] if isinstance(raw, np.ndarray) else raw
    if isinstance(data, str):
        data = data.encode("latin-1")
    c = k.attrs["channels"]
    try:
        img = image.open(io.BytesIO(bytes(data)))
        img.load()
    except Exception as e:   # Pillow raises several classes for bad data
        raise errors.InvalidArgumentError(
            f"{k.node.type} '{k.node.name}': could not decode the image "
            f"({type(e).__name__}: {e})") from None
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(c)
    if mode is None:
        mode = img.mode if img.mode in ("L", "RGB", "RGBA") else (
            "RGBA" if "A" in img.mode else "RGB")
        if img.mode == "LA":
            mode = "RGBA"
    arr = np.asarray(img.convert(mode), dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return [arr]


dynamic_row("DecodeImage", _decode_infer, _decode_eager, None)


def decode_image(contents, channels: int = 0, name=None, kind: str = "image") -> Tensor:
    """uint8 ``(H, W, C)`` from PNG/JPEG bytes (a scalar string tensor).

    Args:
        contents: scalar string tensor.
        channels: 0 (as stored), 1 (grayscale), 3 (RGB) or 4 (RGBA).
        kind: ``"png"`` / ``"jpeg"`` / ``"image"`` (the node's name only; Pillow reads
            the format from the bytes, as TF's decoders accept either).

    Raises:
        ImportError: Pillow is not installed (naming it).
    """
    _pillow()
    if channels not in (0, 1, 3, 4):
        raise ValueError(f"`channels` must be 0, 1, 3 or 4. Received: {channels}")
    t = convert_to_tensor(contents, dtype=dt.string)
    if t.shape.rank not in (0, None):
        raise ValueError(f"`contents` must be a scalar string tensor. Received: shape "
                         f"{t.shape}")
    return make("DecodeImage", [t], {"channels": int(channels), "kind": kind},
                name=name or f"Decode{kind.capitalize()}")
