"""Image summaries: a batch of images to PNG-encoded ``Summary.Image`` values.

Owns TF1's image-summary rules (which images, their tags, how float pixels become
bytes) and a minimal PNG encoder (8-bit gray / RGB / RGBA, zlib, no filtering).

Must not: build graph ops (``ops.py`` does), do file I/O, or import an imaging
library (numpy and zlib only).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from estcore.summary.summary_pb import ImageValue, SummaryValue

__all__ = ["encode_png", "to_uint8", "image_values", "CHANNELS"]

CHANNELS = (1, 3, 4)  # grayscale, RGB, RGBA
_PNG_COLOR_TYPE = {1: 0, 3: 2, 4: 6}
_BAD_COLOR = (255, 0, 0, 255)  # non-finite float pixels (TF's default bad_color: red)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of one image.

    Args:
        image: uint8 array of shape ``(height, width, channels)``, channels 1, 3 or 4.

    Returns:
        A complete PNG file (8 bits per channel).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in CHANNELS:
        raise ValueError("encode_png needs a uint8 array of shape (height, width, 1|3|4), got "
                         f"{image.dtype} of shape {image.shape}")
    height, width, channels = image.shape
    rows = np.ascontiguousarray(image).reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()  # filter 0
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b""))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One image's pixels as bytes, by TF1's rule for float images.

    uint8 pixels are kept. Float pixels are scaled per image: when none is negative,
    so that the largest becomes 255; otherwise 0.0 goes to 128 and the largest
    magnitude to 128 +- 127. Non-finite pixels become red (``(255, 0, 0)``, opaque).

    Args:
        image: ``(height, width, channels)``, uint8 or floating.
    """
    if image.dtype == np.uint8:
        return image
    pixels = image.astype(np.float64)
    finite = np.isfinite(pixels)
    values = pixels[finite]
    lo = float(values.min()) if values.size else 0.0
    hi = float(values.max()) if values.size else 0.0
    if lo >= 0:
        scale, offset = (255.0 / hi if hi > 0 else 1.0), 0.0
    else:
        largest = max(-lo, hi)
        scale, offset = 127.0 / largest, 128.0
    out = np.clip(np.rint(np.where(finite, pixels, 0.0) * scale + offset), 0, 255)
    out = out.astype(np.uint8)
    bad = ~finite.all(axis=2)
    if bad.any():
        out[bad] = _BAD_COLOR[:image.shape[2]] if image.shape[2] != 1 else _BAD_COLOR[0]
    return out


def image_values(tag: str, images: Any, max_outputs: int = 3) -> list[SummaryValue]:
    """Summary values of the first ``max_outputs`` images of a batch.

    Tags are TF1's: ``<tag>/image`` when ``max_outputs`` is 1, else
    ``<tag>/image/0``, ``<tag>/image/1``, ...

    Args:
        tag: the summary's tag.
        images: ``(batch, height, width, channels)``, uint8 or floating, channels 1,
            3 or 4.
        max_outputs: the most images written.

    Raises:
        ValueError: a shape or channel count other than those.
        TypeError: another dtype.
    """
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[3] not in CHANNELS:
        raise ValueError(f"Image summary {tag!r} needs a 4-D tensor of shape "
                         f"(batch, height, width, channels) with 1, 3 or 4 channels, got shape "
                         f"{arr.shape}")
    if not (arr.dtype == np.uint8 or arr.dtype.kind == "f"):
        raise TypeError(f"Image summary {tag!r} needs uint8 or float pixels, got {arr.dtype}")
    out = []
    for i in range(min(len(arr), max_outputs)):
        pixels = to_uint8(arr[i])
        name = f"{tag}/image" if max_outputs == 1 else f"{tag}/image/{i}"
        out.append(SummaryValue(tag=name, image=ImageValue(
            height=pixels.shape[0], width=pixels.shape[1], colorspace=pixels.shape[2],
            encoded=encode_png(pixels))))
    return out
