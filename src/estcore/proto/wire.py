"""A tiny protobuf wire-format encoder / decoder (what event files and tf.Example need).

Owns the bytes of the protobuf wire format only; message layouts live with their users
(:mod:`estcore.summary.summary_pb`, :mod:`estcore.graph.example_proto`). Must not import
anything from estcore: it sits below the graph.

Encoding: varints, 64-bit doubles (fixed64), 32-bit floats (fixed32) and
length-delimited fields. Decoding: :func:`iter_fields` yields
``(field_number, wire_type, value)`` with value an int (varint / fixed) or
bytes (length-delimited); callers convert fixed fields with :func:`as_double`
and :func:`as_float`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["varint", "read_varint", "tag", "field_varint", "field_double", "field_float",
           "field_bytes", "field_packed_doubles", "iter_fields", "as_double", "as_float",
           "as_signed64", "ProtoDecodeError", "VARINT", "FIXED64", "LENGTH", "FIXED32"]

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtoDecodeError(ValueError):
    """Bytes that are not a valid protobuf message."""


_ONE_BYTE = [bytes((i,)) for i in range(128)]  # the varints below 128 (most tags, lengths)


def varint(value: int) -> bytes:
    """Encode a non-negative int (negative int64 as two's complement, 10 bytes)."""
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def field_varint(field: int, value: int) -> bytes:
    return tag(field, VARINT) + varint(int(value))


def field_double(field: int, value: float) -> bytes:
    return tag(field, FIXED64) + struct.pack("<d", float(value))


def field_float(field: int, value: float) -> bytes:
    return tag(field, FIXED32) + struct.pack("<f", float(value))


def field_bytes(field: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return tag(field, LENGTH) + varint(len(value)) + value


def field_packed_doubles(field: int, values) -> bytes:
    payload = b"".join(struct.pack("<d", float(v)) for v in values)
    return field_bytes(field, payload)


def read_varint(data: bytes | memoryview, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode the varint at ``data[pos]``, reading no further than ``end`` (default: the
    end of ``data``); returns ``(value, position after it)``. Raises ProtoDecodeError
    ("truncated varint" / "varint too long")."""
    if end is None:
        end = len(data)
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtoDecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoDecodeError("varint too long")


def iter_fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | bytes | memoryview]]:
    """Yield ``(field_number, wire_type, raw value)`` for each field of a message.

    A length-delimited value is ``bytes`` when ``data`` is bytes, and a zero-copy
    ``memoryview`` slice when ``data`` is a memoryview (so nested messages are not
    copied once per level)."""
    pos = 0
    n = len(data)
    while pos < n:
        key, pos = read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ProtoDecodeError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(data, pos)
            yield field, wire, value
        elif wire == FIXED64:
            if pos + 8 > n:
                raise ProtoDecodeError("truncated fixed64")
            yield field, wire, struct.unpack_from("<Q", data, pos)[0]
            pos += 8
        elif wire == LENGTH:
            length, pos = read_varint(data, pos)
            if pos + length > n:
                raise ProtoDecodeError("truncated length-delimited field")
            value = data[pos:pos + length]
            yield field, wire, value if isinstance(data, memoryview) else bytes(value)
            pos += length
        elif wire == FIXED32:
            if pos + 4 > n:
                raise ProtoDecodeError("truncated fixed32")
            yield field, wire, struct.unpack_from("<I", data, pos)[0]
            pos += 4
        else:
            raise ProtoDecodeError(f"unsupported wire type {wire}")


def as_double(raw: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", raw))[0]


def as_float(raw: int) -> float:
    return struct.unpack("<f", struct.pack("<I", raw))[0]


def as_signed64(raw: int) -> int:
    return raw - (1 << 64) if raw >= 1 << 63 else raw
