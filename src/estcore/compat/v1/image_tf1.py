"""More of TF 1.15's ``tf.image`` for ``estcore.compat.v1``, composed from estcore ops.

``flip_up_down``, ``random_flip_up_down``, ``rgb_to_grayscale``, ``grayscale_to_rgb``,
``adjust_brightness``, ``random_brightness``, ``adjust_contrast``, ``random_contrast``,
``convert_image_dtype``, ``central_crop``, ``crop_to_bounding_box``,
``pad_to_bounding_box`` and ``resize_image_with_crop_or_pad`` (``resize_with_crop_or_pad``).
Images are ``[height, width, channels]`` or ``[batch, height, width, channels]``; the
crop/pad sizes and offsets are Python ints and the image's height and width must be known
when the graph is built (a clear error otherwise).

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore.compat.v1.array_tf1 import pad as _pad
from estcore.graph import dtypes as _dt
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import random_ops as _rand
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.index_ops import slice_helper as _slice
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["flip_up_down", "random_flip_up_down", "rgb_to_grayscale", "grayscale_to_rgb",
           "adjust_brightness", "random_brightness", "adjust_contrast", "random_contrast",
           "convert_image_dtype", "central_crop", "crop_to_bounding_box",
           "pad_to_bounding_box", "resize_image_with_crop_or_pad", "resize_with_crop_or_pad"]

_GRAY = (0.2989, 0.5870, 0.1140)   # TF's rgb_to_grayscale weights


def _image(image: Any, fn: str) -> Any:
    x = _convert(image)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"{fn}: `image` must be 3-D [height, width, channels] or 4-D "
                         f"[batch, height, width, channels]. Received: shape {x.shape}")
    return x


def _hw(x: Any, fn: str) -> tuple[int, int]:
    h, w = x.shape.dims[-3], x.shape.dims[-2]
    if h is None or w is None:
        raise ValueError(f"{fn}: the image's height and width must be known when the graph "
                         f"is built in estcore. Received: shape {x.shape}")
    return h, w


def flip_up_down(image: Any) -> Any:
    """Reverse the height dimension."""
    x = _image(image, "flip_up_down")
    return _slice(x, (Ellipsis, slice(None, None, -1), slice(None), slice(None)))


def random_flip_up_down(image: Any, seed: Any = None) -> Any:
    """Flip vertically with probability 1/2, each image of a batch on its own."""
    x = _image(image, "random_flip_up_down")
    with _name_scope("random_flip_up_down"):
        if x.shape.rank == 3:
            coin = _m.less(_rand.random_uniform([], seed=seed), 0.5)
        else:
            u = _rand.random_uniform(_slice(_a.shape(x), slice(None, 1)), seed=seed)
            coin = _a.reshape(_m.less(u, 0.5), [-1, 1, 1, 1])
        return _m.where(coin, flip_up_down(x), x)


def rgb_to_grayscale(images: Any, name: str | None = None) -> Any:
    """``0.2989 R + 0.5870 G + 0.1140 B`` over the last dimension (kept, size 1), in
    float32 for integer images and converted back, as TF."""
    x = _convert(images)
    with _name_scope(name or "rgb_to_grayscale"):
        f = convert_image_dtype(x, _dt.float32) if not x.dtype.is_floating else x
        gray = _r.reduce_sum(f * _convert(np.array(_GRAY, f.dtype.np)), axis=-1,
                             keepdims=True)
        return gray if x.dtype.is_floating else convert_image_dtype(gray, x.dtype)


def grayscale_to_rgb(images: Any, name: str | None = None) -> Any:
    """The single channel repeated three times."""
    x = _convert(images)
    with _name_scope(name or "grayscale_to_rgb"):
        return _a.concat([x, x, x], -1)


def adjust_brightness(image: Any, delta: Any) -> Any:
    """``image + delta`` (in float, converted back for integer images, as TF)."""
    x = _convert(image)
    f = convert_image_dtype(x, _dt.float32) if not x.dtype.is_floating else x
    out = _m.add(f, _m.cast(_convert(delta), f.dtype))
    return out if x.dtype.is_floating else convert_image_dtype(out, x.dtype, saturate=True)


def random_brightness(image: Any, max_delta: float, seed: Any = None) -> Any:
    """:func:`adjust_brightness` by a delta uniform in ``[-max_delta, max_delta)``."""
    if max_delta < 0:
        raise ValueError(f"random_brightness: `max_delta` must be non-negative. Received: "
                         f"{max_delta}")
    delta = _rand.random_uniform([], -max_delta, max_delta, seed=seed)
    return adjust_brightness(image, delta)


def adjust_contrast(images: Any, contrast_factor: Any) -> Any:
    """``(x - mean) * contrast_factor + mean`` with the mean of each channel over the
    image's height and width (in float, converted back for integer images)."""
    x = _image(images, "adjust_contrast")
    f = convert_image_dtype(x, _dt.float32) if not x.dtype.is_floating else x
    mean = _r.reduce_mean(f, axis=[-3, -2], keepdims=True)
    out = (f - mean) * _m.cast(_convert(contrast_factor), f.dtype) + mean
    return out if x.dtype.is_floating else convert_image_dtype(out, x.dtype, saturate=True)


def random_contrast(image: Any, lower: float, upper: float, seed: Any = None) -> Any:
    """:func:`adjust_contrast` by a factor uniform in ``[lower, upper)``."""
    if upper <= lower:
        raise ValueError(f"random_contrast: `upper` must be > `lower`. Received: "
                         f"lower={lower}, upper={upper}")
    if lower < 0:
        raise ValueError(f"random_contrast: `lower` must be non-negative. Received: {lower}")
    factor = _rand.random_uniform([], lower, upper, seed=seed)
    return adjust_contrast(image, factor)


def convert_image_dtype(image: Any, dtype: Any, saturate: bool = False,
                        name: str | None = None) -> Any:
    """Convert between image dtypes, rescaling as TF does: integers span ``[0, MAX]``,
    floats ``[0, 1)``. int -> float divides by the int type's maximum; float -> int
    multiplies by ``MAX + 0.5`` and truncates (``saturate``: clipped to the int range
    first); float -> float and same dtype are casts.

    Raises:
        NotImplementedError: int -> int of different types.
    """
    x = _convert(image)
    d = _dt.as_dtype(dtype)
    with _name_scope(name or "convert_image"):
        if d is x.dtype:
            return _a.identity(x)
        if x.dtype.is_floating and d.is_floating:
            return _m.cast(x, d)
        if x.dtype.is_integer and d.is_floating:
            top = float(np.iinfo(x.dtype.np).max)
            return _m.multiply(_m.cast(x, d), 1.0 / top)
        if x.dtype.is_floating and d.is_integer:
            info = np.iinfo(d.np)
            scaled = _m.multiply(x, float(info.max) + 0.5)
            if saturate:
                scaled = _m.minimum(_m.maximum(scaled, float(info.min)), float(info.max))
            return _m.cast(scaled, d)
        raise NotImplementedError(f"convert_image_dtype: {x.dtype.name} -> {d.name} is not "
                                  "available in estcore (int -> float -> int is)")


def crop_to_bounding_box(image: Any, offset_height: int, offset_width: int,
                         target_height: int, target_width: int) -> Any:
    """The ``target_height x target_width`` window at ``(offset_height, offset_width)``."""
    x = _image(image, "crop_to_bounding_box")
    h, w = _hw(x, "crop_to_bounding_box")
    if offset_height < 0 or offset_width < 0 or target_height <= 0 or target_width <= 0:
        raise ValueError("crop_to_bounding_box: offsets must be >= 0 and target sizes > 0")
    if offset_height + target_height > h or offset_width + target_width > w:
        raise ValueError(f"crop_to_bounding_box: the box ({offset_height}, {offset_width}, "
                         f"{target_height}, {target_width}) exceeds the {h}x{w} image")
    return _slice(x, (Ellipsis, slice(offset_height, offset_height + target_height),
                      slice(offset_width, offset_width + target_width), slice(None)))


def pad_to_bounding_box(image: Any, offset_height: int, offset_width: int,
                        target_height: int, target_width: int) -> Any:
    """The image placed at ``(offset_height, offset_width)`` in a zero image of
    ``target_height x target_width``."""
    x = _image(image, "pad_to_bounding_box")
    h, w = _hw(x, "pad_to_bounding_box")
    after_h, after_w = target_height - offset_height - h, target_width - offset_width - w
    if offset_height < 0 or offset_width < 0 or after_h < 0 or after_w < 0:
        raise ValueError(f"pad_to_bounding_box: a {h}x{w} image at ({offset_height}, "
                         f"{offset_width}) does not fit {target_height}x{target_width}")
    pads = [[offset_height, after_h], [offset_width, after_w], [0, 0]]
    if x.shape.rank == 4:
        pads = [[0, 0], *pads]
    return _pad(x, pads)


def resize_image_with_crop_or_pad(image: Any, target_height: int, target_width: int) -> Any:
    """Centre-crop or zero-pad (evenly, the odd pixel after) to the target size."""
    x = _image(image, "resize_image_with_crop_or_pad")
    h, w = _hw(x, "resize_image_with_crop_or_pad")
    if target_height <= 0 or target_width <= 0:
        raise ValueError("resize_image_with_crop_or_pad: target sizes must be > 0")
    off_h, off_w = max((h - target_height) // 2, 0), max((w - target_width) // 2, 0)
    x = crop_to_bounding_box(x, off_h, off_w, min(h, target_height), min(w, target_width))
    pad_h, pad_w = max((target_height - h) // 2, 0), max((target_width - w) // 2, 0)
    return pad_to_bounding_box(x, pad_h, pad_w, target_height, target_width)


resize_with_crop_or_pad = resize_image_with_crop_or_pad


def central_crop(image: Any, central_fraction: float) -> Any:
    """The central ``central_fraction`` of the height and width (TF's rounding: the
    offset is ``int((size - size * fraction) / 2)``)."""
    if not 0.0 < central_fraction <= 1.0:
        raise ValueError(f"central_crop: `central_fraction` must be in (0, 1]. Received: "
                         f"{central_fraction}")
    x = _image(image, "central_crop")
    if central_fraction == 1.0:
        return x
    h, w = _hw(x, "central_crop")
    start_h = int((h - h * central_fraction) / 2)
    start_w = int((w - w * central_fraction) / 2)
    return crop_to_bounding_box(x, start_h, start_w, h - 2 * start_h, w - 2 * start_w)
