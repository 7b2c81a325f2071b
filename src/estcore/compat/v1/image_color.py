"""``tf.image`` colour-space names for TF1 input pipelines: ``rgb_to_hsv``, ``hsv_to_rgb``,
``adjust_saturation`` / ``random_saturation`` and ``adjust_hue`` / ``random_hue``, composed
from graph ops (so they run in a ``Dataset.map`` and have gradients).

HSV as TF: hue in ``[0, 1)`` (a sixth per primary), saturation ``(max - min) / max`` (0 for
black), value ``max``; back with TF's piecewise-linear ``hsv_to_rgb``. Integer images are
converted to float32 and back (``convert_image_dtype``, saturating), as TF's kernels do.

Must not: add ops or kernels (those belong in :mod:`estcore.graph`).
"""

from __future__ import annotations

from typing import Any

from estcore.compat.v1.image_tf1 import convert_image_dtype
from estcore.graph import dtypes as _dt
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops import random_ops as _rand
from estcore.graph.ops import reduce_ops as _r
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.core import is_tensor as _is_tensor
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["rgb_to_hsv", "hsv_to_rgb", "adjust_saturation", "random_saturation",
           "adjust_hue", "random_hue"]


def _channels3(x: Any, fn: str) -> Any:
    t = _convert(x)
    if t.shape.rank is None or t.shape.rank < 1 or t.shape.dims[-1] not in (None, 3):
        raise ValueError(f"{fn}: the last dimension must be 3 (RGB / HSV). Received: shape "
                         f"{t.shape}")
    return t


def _split3(x: Any) -> list:
    return [x[..., i] for i in range(3)]


def rgb_to_hsv(images: Any, name: str | None = None) -> Any:
    """TF's ``tf.image.rgb_to_hsv`` for float images ``[..., 3]`` in ``[0, 1]``."""
    with _name_scope(name or "rgb_to_hsv"):
        x = _channels3(images, "rgb_to_hsv")
        if not x.dtype.is_floating:
            raise TypeError(f"rgb_to_hsv: `images` must be float. Received: {x.dtype.name}")
        r, g, b = _split3(x)
        v = _r.reduce_max(x, axis=-1)
        c = v - _r.reduce_min(x, axis=-1)
        zero = _a.zeros_like(v)
        one = _a.ones_like(v)
        safe_c = _m.where(_m.equal(c, zero), one, c)
        safe_v = _m.where(_m.equal(v, zero), one, v)
        s = _m.where(_m.greater(v, zero), c / safe_v, zero)
        h = _m.where(_m.equal(v, r), (g - b) / safe_c,
                     _m.where(_m.equal(v, g), (b - r) / safe_c + 2.0, (r - g) / safe_c + 4.0))
        h = _m.where(_m.greater(c, zero), h / 6.0, zero)
        h = _m.where(_m.less(h, zero), h + 1.0, h)
        return _a.stack([h, s, v], axis=-1)


def hsv_to_rgb(images: Any, name: str | None = None) -> Any:
    """TF's ``tf.image.hsv_to_rgb``: ``((clip(f(6h)) - 1) * s + 1) * v`` per channel with
    TF's piecewise-linear ``f``."""
    with _name_scope(name or "hsv_to_rgb"):
        x = _channels3(images, "hsv_to_rgb")
        h, s, v = _split3(x)
        dh = h * 6.0

        def ramp(t: Any) -> Any:
            return _m.minimum(_m.maximum(t, 0.0), 1.0)

        rgb = [ramp(_m.abs(dh - 3.0) - 1.0), ramp(2.0 - _m.abs(dh - 2.0)),
               ramp(2.0 - _m.abs(dh - 4.0))]
        return _a.stack([((c - 1.0) * s + 1.0) * v for c in rgb], axis=-1)


def _as(value: Any, dtype: Any) -> Any:
    """``value`` in ``dtype``: a Python number directly (no float32 rounding on the way)."""
    return _m.cast(value, dtype) if _is_tensor(value) else _convert(value, dtype)


def _in_float(image: Any, fn: str, body: Any) -> Any:
    x = _channels3(image, fn)
    f = x if x.dtype.is_floating else convert_image_dtype(x, _dt.float32)
    out = body(f)
    return out if x.dtype.is_floating else convert_image_dtype(out, x.dtype, saturate=True)


def adjust_saturation(image: Any, saturation_factor: Any, name: str | None = None) -> Any:
    """TF's ``tf.image.adjust_saturation``: HSV saturation times ``saturation_factor``,
    clipped to ``[0, 1]``."""
    with _name_scope(name or "adjust_saturation"):
        def body(f: Any) -> Any:
            h, s, v = _split3(rgb_to_hsv(f))
            factor = _as(saturation_factor, f.dtype)
            s = _m.minimum(_m.maximum(s * factor, 0.0), 1.0)
            return hsv_to_rgb(_a.stack([h, s, v], axis=-1))
        return _in_float(image, "adjust_saturation", body)


def adjust_hue(image: Any, delta: Any, name: str | None = None) -> Any:
    """TF's ``tf.image.adjust_hue``: HSV hue shifted by ``delta`` (in ``[-1, 1]``),
    wrapped to ``[0, 1)``."""
    with _name_scope(name or "adjust_hue"):
        def body(f: Any) -> Any:
            h, s, v = _split3(rgb_to_hsv(f))
            h = _m.mod(h + _as(delta, f.dtype), 1.0)
            return hsv_to_rgb(_a.stack([h, s, v], axis=-1))
        return _in_float(image, "adjust_hue", body)


def random_saturation(image: Any, lower: float, upper: float, seed: Any = None) -> Any:
    """:func:`adjust_saturation` by a factor uniform in ``[lower, upper)``."""
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_saturation(image, _rand.random_uniform([], lower, upper, seed=seed))


def random_hue(image: Any, max_delta: float, seed: Any = None) -> Any:
    """:func:`adjust_hue` by a delta uniform in ``[-max_delta, max_delta)`` (``max_delta``
    in ``[0, 0.5]``)."""
    if max_delta > 0.5:
        raise ValueError("max_delta must be <= 0.5.")
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_hue(image, _rand.random_uniform([], -max_delta, max_delta, seed=seed))
