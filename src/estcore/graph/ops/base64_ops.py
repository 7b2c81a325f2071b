"""``tf.io.encode_base64`` / ``decode_base64``: web-safe base64 (``-`` and ``_`` for ``+``
and ``/``, TF's alphabet), elementwise over string tensors of any shape.

Encoding pads with ``=`` only when ``pad=True`` (TF's default is no padding); decoding
accepts padded and unpadded input. A character outside the web-safe alphabet (also a
standard ``+`` or ``/``) or an impossible length is an InvalidArgumentError naming the
element.

Owns: the ``EncodeBase64`` / ``DecodeBase64`` rows. Must not: touch other encodings.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import convert_to_tensor, is_tensor, make_op, row
from estcore.graph.tensor import Tensor

__all__ = ["encode_base64", "decode_base64"]

_WEB_SAFE = re.compile(rb"^[A-Za-z0-9\-_]*={0,2}$")


def _bytes(v) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def _infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`input` must be a string tensor, got {ctx.dtypes[0].name}", TypeError)
    return [(dt.string, ctx.shapes[0])]


def _encode(v: bytes, pad: bool) -> bytes:
    out = base64.urlsafe_b64encode(v)
    return out if pad else out.rstrip(b"=")


def _decode(v: bytes, where: str) -> bytes:
    body = v.rstrip(b"=")
    if not _WEB_SAFE.match(v) or len(body) % 4 == 1:
        raise InvalidArgumentError(f"{where}: Invalid character found in base64 (or a "
                                   f"length no base64 string has): {v[:40]!r}")
    try:
        return base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(f"{where}: invalid base64 data: {v[:40]!r}") from None


def _build(decode: bool):
    def build(k):
        x, out = k.ins[0], k.outs[0]
        pad = bool(k.attrs.get("pad", False))

        def run():
            flat = out.reshape(-1)
            src = x.reshape(-1)
            for i in range(src.size):
                v = _bytes(src[i])
                flat[i] = (_decode(v, f"DecodeBase64 '{k.node.name}' element {i}") if decode
                           else _encode(v, pad))
        return run
    return build


row("EncodeBase64", _infer, _build(False), None)
row("DecodeBase64", _infer, _build(True), None)


def _string(x, what: str) -> Tensor:
    t = x if is_tensor(x) else convert_to_tensor(np.asarray(x, dtype=object)
                                                 if isinstance(x, list) else x, dt.string)
    if not t.dtype.is_string:
        raise TypeError(f"{what} must be a string tensor. Received dtype {t.dtype.name}")
    return t


def encode_base64(input, pad: bool = False, name=None) -> Tensor:  # noqa: A002 - TF name
    """TF's ``tf.io.encode_base64``: web-safe base64 of each string (``=`` padding only
    with ``pad``)."""
    op = make_op("EncodeBase64", [_string(input, "encode_base64: `input`")],
                 {"pad": bool(pad)}, name=name or "EncodeBase64")
    return op.outputs[0]


def decode_base64(input, name=None) -> Tensor:  # noqa: A002 - TF name
    """TF's ``tf.io.decode_base64``: the bytes of each web-safe base64 string (padded or
    not)."""
    op = make_op("DecodeBase64", [_string(input, "decode_base64: `input`")], {},
                 name=name or "DecodeBase64")
    return op.outputs[0]
