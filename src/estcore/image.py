"""``estcore.image``: TF1's ``tf.image`` functions that Estimator input and model code use.

``resize_images`` (bilinear, nearest), ``per_image_standardization``,
``random_flip_left_right``, ``flip_left_right``, ``random_crop``, ``decode_png`` /
``decode_jpeg`` / ``decode_image`` (Pillow, an optional dependency). Compositions and thin
wrappers over :mod:`estcore.graph.ops.image_ops`. Must not: register rows; read files.
"""

from __future__ import annotations

from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import image_ops as _img
from estcore.graph.ops import math_ops as M
from estcore.graph.ops import random_ops as _rand
from estcore.graph.ops import reduce_ops as R
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.index_ops import slice_helper
from estcore.graph.tensor import Tensor

__all__ = ["ResizeMethod", "resize_images", "resize_bilinear", "resize_nearest_neighbor",
           "per_image_standardization", "flip_left_right", "random_flip_left_right",
           "random_crop", "decode_png", "decode_jpeg", "decode_image"]


class ResizeMethod:
    """TF1's ``tf.image.ResizeMethod`` values."""

    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


_METHODS = {0: "bilinear", 1: "nearest", "bilinear": "bilinear", "nearest": "nearest"}


def resize_images(images, size, method=ResizeMethod.BILINEAR, align_corners=False,
                  preserve_aspect_ratio=False, name=None) -> Tensor:
    """Resize to ``size = [new_height, new_width]`` (TF1 ``tf.image.resize_images``).

    Args:
        images: ``(H, W, C)`` or ``(N, H, W, C)``, any real dtype.
        size: two ints, known when the graph is built.
        method: ``ResizeMethod.BILINEAR`` (float32 result, TF1's legacy coordinates) or
            ``NEAREST_NEIGHBOR`` (keeps the dtype); BICUBIC and AREA are not supported.
        align_corners: TF1's flag.
        preserve_aspect_ratio: scale to fit within ``size`` keeping the aspect ratio
            (needs the input's height and width known).
        name: node name.

    Raises:
        ValueError: an unsupported method, a bad size.
    """
    m = _METHODS.get(method)
    if m is None:
        raise ValueError(f"`method` must be ResizeMethod.BILINEAR or NEAREST_NEIGHBOR in "
                         f"estcore (BICUBIC and AREA are not supported). Received: {method!r}")
    x = convert_to_tensor(images)
    if preserve_aspect_ratio:
        h, w = (x.shape.dims[-3], x.shape.dims[-2]) if x.shape.rank else (None, None)
        if h is None or w is None:
            raise ValueError("preserve_aspect_ratio needs the images' height and width known "
                             "when the graph is built")
        scale = min(int(size[0]) / h, int(size[1]) / w)
        size = (int(h * scale), int(w * scale))
    return _img.resize(x, size, m, align_corners, name=name or "resize_images")


def resize_bilinear(images, size, align_corners=False, name=None,
                    half_pixel_centers=False) -> Tensor:
    """TF1 ``tf.image.resize_bilinear`` (4-D images, float32 result)."""
    if half_pixel_centers:
        raise ValueError("half_pixel_centers=True is not supported")
    return _img.resize(images, size, "bilinear", align_corners, name=name)


def resize_nearest_neighbor(images, size, align_corners=False, name=None,
                            half_pixel_centers=False) -> Tensor:
    """TF1 ``tf.image.resize_nearest_neighbor`` (keeps the dtype)."""
    if half_pixel_centers:
        raise ValueError("half_pixel_centers=True is not supported")
    return _img.resize(images, size, "nearest", align_corners, name=name)


def per_image_standardization(image) -> Tensor:
    """``(x - mean) / max(stddev, 1 / sqrt(N))`` per image over its ``N = H * W * C``
    values (TF1 ``tf.image.per_image_standardization``); float32 result."""
    x = convert_to_tensor(image)
    if x.shape.rank not in (3, 4, None):
        raise ValueError(f"`image` must be 3-D or 4-D. Received: shape {x.shape}")
    with x.graph.name_scope("per_image_standardization"):
        if x.dtype is not dt.float32:
            x = M.cast(x, dt.float32)
        axes = [-1, -2, -3]
        mean = R.reduce_mean(x, axis=axes, keepdims=True)
        var = R.reduce_mean(M.square(x - mean), axis=axes, keepdims=True)
        n = M.cast(R.reduce_prod(slice_helper(A.shape(x), slice(-3, None))), dt.float32)
        adjusted = M.maximum(M.sqrt(var), M.rsqrt(n))
        return (x - mean) / adjusted


def flip_left_right(image) -> Tensor:
    """Reverse the width dimension (``(H, W, C)`` or ``(N, H, W, C)``)."""
    x = convert_to_tensor(image)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"`image` must be 3-D or 4-D with a known rank. Received: shape "
                         f"{x.shape}")
    return slice_helper(x, (Ellipsis, slice(None, None, -1), slice(None)))


def random_flip_left_right(image, seed=None) -> Tensor:
    """Flip horizontally with probability 1/2, each image of a batch on its own (TF1
    ``tf.image.random_flip_left_right``); gradients flow through the taken choice."""
    x = convert_to_tensor(image)
    flipped = flip_left_right(x)
    with x.graph.name_scope("random_flip_left_right"):
        if x.shape.rank == 3:
            coin = M.less(_rand.random_uniform([], seed=seed), 0.5)
        else:
            u = _rand.random_uniform(A.shape(x)[:1], seed=seed)
            coin = A.reshape(M.less(u, 0.5), [-1, 1, 1, 1])
        return M.where(coin, flipped, x)


def random_crop(value, size, seed=None, name=None) -> Tensor:
    """A ``size`` crop at a random offset, anew each run (TF1 ``tf.random_crop``)."""
    return _img.random_crop(value, size, seed=seed, name=name)


def decode_png(contents, channels=0, dtype=dt.uint8, name=None) -> Tensor:
    """uint8 ``(H, W, C)`` from PNG bytes (TF1 ``tf.image.decode_png``; needs Pillow)."""
    if dt.as_dtype(dtype) is not dt.uint8:
        raise ValueError(f"decode_png supports dtype uint8 only. Received: {dtype}")
    return _img.decode_image(contents, channels, name=name, kind="png")


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True,
                try_recover_truncated=False, acceptable_fraction=1, dct_method="",
                name=None) -> Tensor:
    """uint8 ``(H, W, C)`` from JPEG bytes (TF1 ``tf.image.decode_jpeg``; needs Pillow).
    ``ratio`` 1 only; the other decoder options are accepted and have no effect."""
    if ratio != 1:
        raise ValueError(f"`ratio` other than 1 is not supported. Received: {ratio}")
    return _img.decode_image(contents, channels, name=name, kind="jpeg")


def decode_image(contents, channels=None, dtype=dt.uint8, name=None,
                 expand_animations=True) -> Tensor:
    """uint8 ``(H, W, C)`` from PNG or JPEG bytes (needs Pillow)."""
    if dt.as_dtype(dtype) is not dt.uint8:
        raise ValueError(f"decode_image supports dtype uint8 only. Received: {dtype}")
    return _img.decode_image(contents, channels or 0, name=name, kind="image")

