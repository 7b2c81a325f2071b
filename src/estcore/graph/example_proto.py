"""``tf.train.Example`` in protobuf wire format, without protobuf.

The schema (TF's ``example.proto`` / ``feature.proto``)::

    message Example   { Features features = 1; }
    message Features  { map<string, Feature> feature = 1; }   // entries: key = 1, value = 2
    message Feature   { oneof kind { BytesList bytes_list = 1;
                                     FloatList float_list = 2;
                                     Int64List int64_list = 3; } }
    message BytesList { repeated bytes value = 1; }
    message FloatList { repeated float value = 1 [packed = true]; }
    message Int64List { repeated int64 value = 1 [packed = true]; }

:func:`decode_example` reads what any protobuf library writes (packed or unpacked
repeated fields, fields in any order, unknown fields skipped); :func:`encode_example`
writes what ``tf.train.Example(...).SerializeToString()`` writes, so serving clients
without TensorFlow can build requests.

Must not: import protobuf or TensorFlow; build graph ops (the ``ParseExample`` op in
:mod:`estcore.graph.ops.parsing_ops` calls :func:`decode_example`); parse the generic
wire format itself (:mod:`estcore.proto.wire` does).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from estcore.proto.wire import (
    FIXED32,
    LENGTH,
    VARINT,
    ProtoDecodeError,
    field_bytes,
    iter_fields,
    varint,
)

__all__ = ["BYTES", "FLOAT", "INT64", "KIND_NAMES", "decode_example", "encode_example",
           "ProtoDecodeError"]

BYTES, FLOAT, INT64 = 1, 2, 3  # the Feature oneof field numbers
KIND_NAMES = {BYTES: "string", FLOAT: "float", INT64: "int64"}  # TF's names in messages


_VARINT_CHUNK = 1 << 12
_U64 = (1 << 64) - 1


def _varints(payload: bytes | memoryview) -> np.ndarray:
    """The uint64 values of a packed varint list (bits above 64 dropped, as protobuf
    does), decoded with numpy in chunks: 8 bytes of output and 4 of index per value and
    a bounded scratch, whatever the count (a Python list of ints took up to 40 bytes per
    byte of input)."""
    raw = np.frombuffer(payload, dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, np.uint64)
    if raw[-1] & 0x80:
        raise ProtoDecodeError("truncated varint in a packed int64 list")
    ends = np.flatnonzero(raw < 0x80).astype(np.int32 if raw.size < 2**31 else np.int64)
    out = np.zeros(ends.size, np.uint64)
    for lo in range(0, ends.size, _VARINT_CHUNK):
        stop = ends[lo:lo + _VARINT_CHUNK]
        start = np.empty_like(stop)
        start[0] = ends[lo - 1] + 1 if lo else 0
        start[1:] = stop[:-1] + 1
        length = stop - start + 1
        longest = int(length.max())
        if longest > 10:
            raise ProtoDecodeError("varint too long")
        vals = out[lo:lo + _VARINT_CHUNK]
        for k in range(longest):
            sel = length > k
            part = (raw[start[sel] + k] & 0x7F).astype(np.uint64)
            vals[sel] |= part << np.uint64(7 * k)
    return out


def _decode_list(kind: int, data: bytes) -> Any:
    """The values of a BytesList / FloatList / Int64List message."""
    if kind == BYTES:
        return [bytes(v) for f, w, v in iter_fields(data) if f == 1 and w == LENGTH]
    floats: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    for f, w, v in iter_fields(data):
        if f != 1:
            continue
        if kind == FLOAT:
            if w == LENGTH:  # packed
                if len(v) % 4:
                    raise ProtoDecodeError("packed float list of a length not divisible by 4")
                floats.append(np.frombuffer(v, dtype="<f4"))
            elif w == FIXED32:
                floats.append(np.frombuffer(struct.pack("<I", v), dtype="<f4"))
            else:
                raise ProtoDecodeError(f"float list value of wire type {w}")
        else:
            if w == LENGTH:  # packed
                ints.append(_varints(v))
            elif w == VARINT:
                ints.append(np.array([v & _U64], np.uint64))
            else:
                raise ProtoDecodeError(f"int64 list value of wire type {w}")
    if kind == FLOAT:
        return (np.concatenate(floats) if floats else np.zeros(0, "<f4")).astype(np.float32)
    if not ints:
        return np.zeros(0, np.int64)
    return (ints[0] if len(ints) == 1 else np.concatenate(ints)).view(np.int64)


def decode_example(data: bytes, keys: Any = None) -> dict[str, tuple[int, Any]]:
    """Features of one serialized Example: ``key -> (kind, values)``.

    Args:
        data: the serialized Example.
        keys: decode only these feature names (others are skipped unread, as TF
            ignores features nobody asked for); None decodes every feature.

    ``kind`` is :data:`BYTES` (values: list of bytes), :data:`FLOAT` (float32 array)
    or :data:`INT64` (int64 array). A Feature with no kind set counts as missing,
    and does not replace an earlier valid entry of the same key (TF's rule); of two
    valid entries the last wins (protobuf maps).

    Raises:
        ProtoDecodeError: the bytes are not a valid Example.
    """
    wanted = None if keys is None else {k.encode("utf-8"): k for k in keys}
    out: dict[str, tuple[int, Any]] = {}
    for f, w, features in iter_fields(memoryview(bytes(data))):  # views below: no copies
        if f != 1 or w != LENGTH:
            continue
        for f2, w2, entry in iter_fields(features):  # type: ignore[arg-type]
            if f2 != 1 or w2 != LENGTH:
                continue
            key = b""
            feature: bytes | None = None
            for f3, w3, v in iter_fields(entry):  # type: ignore[arg-type]
                if f3 == 1 and w3 == LENGTH:
                    key = bytes(v)  # type: ignore[arg-type]
                elif f3 == 2 and w3 == LENGTH:
                    feature = v  # type: ignore[assignment]
            if wanted is not None:
                if key not in wanted:
                    continue
                name = wanted[key]
            else:
                try:
                    name = key.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtoDecodeError("feature key is not UTF-8") from None
            if feature is None:
                continue
            kind_value = None
            for f4, w4, v in iter_fields(feature):
                if f4 in (BYTES, FLOAT, INT64) and w4 == LENGTH:
                    kind_value = (f4, v)  # oneof: the last one set wins
            if kind_value is not None:
                out[name] = (kind_value[0], _decode_list(kind_value[0], kind_value[1]))
    return out


def _encode_feature(name: str, value: Any) -> bytes:
    if isinstance(value, (bytes, str)):
        value = [value]
    if isinstance(value, (list, tuple)) and any(isinstance(v, (bytes, str)) for v in value):
        if not all(isinstance(v, (bytes, str)) for v in value):
            raise TypeError(f"encode_example: feature {name!r} mixes bytes/str with other "
                            f"values: {value!r}")
        return field_bytes(BYTES, b"".join(field_bytes(1, v) for v in value))
    if value is None:
        raise TypeError(f"encode_example: feature {name!r} is None; expected floats, ints, "
                        "bools or bytes/str")
    arr = np.asarray(value)
    if arr.dtype.kind in "SU" or arr.dtype == object:
        items = list(arr.reshape(-1))
        if not all(isinstance(v, (bytes, str)) for v in items):
            raise TypeError(f"encode_example: feature {name!r} holds {arr.dtype} values that "
                            "are not all bytes/str")
        return field_bytes(BYTES, b"".join(field_bytes(1, v) for v in items))
    if arr.dtype.kind == "f":
        payload = arr.astype("<f4").reshape(-1).tobytes()
        return field_bytes(FLOAT, field_bytes(1, payload) if payload else b"")
    if arr.dtype.kind in "biu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2 ** 63:
            raise ValueError(f"encode_example: feature {name!r}: value out of range for an "
                             f"Int64List: {int(arr.max())}")
        ints = arr.astype(np.int64).reshape(-1)
        payload = b"".join(varint(int(v)) for v in ints)
        return field_bytes(INT64, field_bytes(1, payload) if payload else b"")
    raise TypeError(f"encode_example: feature {name!r} has values of dtype {arr.dtype}; "
                    "expected floats, ints, bools or bytes/str")


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialize a ``tf.train.Example`` from ``name -> values``.

    Args:
        features: per feature a scalar, list or array of floats (a FloatList),
            ints or bools (an Int64List), or bytes / str (a BytesList, str as UTF-8).
            Arrays are flattened in C order, as ``FixedLenFeature`` parsing expects.

    Returns:
        The serialized Example (bytes), readable by ``tf.io.parse_example``.

    Raises:
        TypeError: a feature name is not a str or its values have another type.
    """
    entries = []
    for name in sorted(features):
        if not isinstance(name, str):
            raise TypeError(f"encode_example: feature names must be str, got {name!r}")
        entry = field_bytes(1, name) + field_bytes(2, _encode_feature(name, features[name]))
        entries.append(field_bytes(1, entry))
    return field_bytes(1, b"".join(entries))
