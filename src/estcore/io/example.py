"""The ``tf.train.Example`` message classes: ``Example``, ``Features``, ``Feature``,
``FloatList``, ``Int64List``, ``BytesList`` (TF's ``example.proto`` / ``feature.proto``).

Owns small Python message objects with the protobuf API TF1 programs use: keyword
constructors, attribute access (``ex.features.feature["x"].float_list.value``), repeated
fields that type-check what goes in (``append`` / ``extend`` / assignment), the
``feature`` map (a missing key reads as a new empty ``Feature``, as protobuf maps do),
``WhichOneof("kind")``, ``HasField``, ``SerializeToString()`` / ``FromString()`` /
``ParseFromString()``, equality. Serialization is protobuf's wire format with map entries
sorted by key (protobuf's deterministic order), so the bytes read back with
``tf.io.parse_example`` and with TensorFlow's own parser.

Must not: import protobuf or TensorFlow; parse or write the wire format by hand beyond
the message layout (:mod:`estcore.proto.wire` writes fields, and
:func:`estcore.graph.example_proto.decode_example` parses Examples).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from estcore.graph.example_proto import BYTES, FLOAT, INT64, decode_example
from estcore.proto.wire import field_bytes, varint

__all__ = ["BytesList", "Example", "Feature", "Features", "FloatList", "Int64List"]

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _type_error(value: Any, expected: str) -> TypeError:
    # protobuf's wording: "<value> has type <type>, but expected one of: <types>"
    return TypeError(f"{value!r} has type {type(value).__name__}, but expected one of: "
                     f"{expected}")


def _as_float(v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating)):
        raise _type_error(v, "int, float")
    return float(np.float32(v))     # a float field holds float32 values


def _as_int64(v: Any) -> int:
    if not isinstance(v, (numbers.Integral, np.integer)):
        raise _type_error(v, "int")
    v = int(v)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError(f"Value out of range: {v} (an Int64List holds -2**63 .. 2**63-1)")
    return v


def _as_bytes(v: Any) -> bytes:
    if not isinstance(v, (bytes, np.bytes_)):
        raise _type_error(v, "bytes")
    return bytes(v)


class _Repeated(list):
    """A repeated scalar field: a list whose items are converted/checked on the way in."""

    def __init__(self, convert, values=()):
        super().__init__(convert(v) for v in _iterable(values))
        self._convert = convert

    def append(self, v):
        super().append(self._convert(v))

    def extend(self, values):
        super().extend(self._convert(v) for v in _iterable(values))

    def insert(self, i, v):
        super().insert(i, self._convert(v))

    def __setitem__(self, i, v):
        if isinstance(i, slice):
            super().__setitem__(i, [self._convert(x) for x in _iterable(v)])
        else:
            super().__setitem__(i, self._convert(v))

    def __iadd__(self, values):
        self.extend(values)
        return self


def _iterable(values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise _type_error(values, "an iterable of values (use value=[...])")
    return np.asarray(values).reshape(-1).tolist() if isinstance(values, np.ndarray) \
        else values


class _Message:
    """Shared message behaviour: equality, ``FromString``, ``ParseFromString``."""

    __slots__ = ()

    def SerializeToString(self, deterministic: bool = True) -> bytes:  # noqa: N802 - TF name
        return self._encode()

    @classmethod
    def FromString(cls, data: bytes):  # noqa: N802 - TF's name
        msg = cls()
        msg.ParseFromString(data)
        return msg

    def ParseFromString(self, data: bytes) -> int:  # noqa: N802 - TF's name
        """Replace this message's content by the one serialized in ``data``.

        Raises:
            TypeError: ``data`` is not bytes.
            ValueError (``ProtoDecodeError``): ``data`` is not a valid message.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise _type_error(data, "bytes")
        self._decode(bytes(data))
        return len(data)

    def __eq__(self, other):
        return type(other) is type(self) and self._encode() == other._encode()

    __hash__ = None  # mutable, as protobuf messages


class _List(_Message):
    __slots__ = ("_value",)
    _convert: Any = None
    _kind = 0

    def __init__(self, value=()):
        self._value = _Repeated(type(self)._convert, value)

    @property
    def value(self) -> list:
        return self._value

    @value.setter
    def value(self, values):
        raise AttributeError("Assignment not allowed to repeated field \"value\" in protocol "
                             "message object; use value.extend(...) or value[:] = ...")

    def _encode(self) -> bytes:
        if self._kind == BYTES:
            return b"".join(field_bytes(1, v) for v in self._value)
        if not self._value:
            return b""
        if self._kind == FLOAT:
            payload = np.asarray(self._value, "<f4").tobytes()
        else:
            payload = b"".join(varint(v) for v in self._value)
        return field_bytes(1, payload)

    def _decode(self, data: bytes) -> None:
        # a list is decoded as the only feature of a one-feature Example
        kind_entry = field_bytes(self._kind, data)
        ex = field_bytes(1, field_bytes(1, field_bytes(1, "v") + field_bytes(2, kind_entry)))
        got = decode_example(ex).get("v")
        vals = [] if got is None else got[1]
        self._value = _Repeated(type(self)._convert,
                                vals if self._kind == BYTES else vals.tolist())

    def __repr__(self):
        return f"{type(self).__name__}(value={list(self._value)!r})"


class FloatList(_List):
    """``repeated float value`` (float32: values are rounded to float32 on the way in)."""

    __slots__ = ()
    _convert = staticmethod(_as_float)
    _kind = FLOAT


class Int64List(_List):
    """``repeated int64 value``."""

    __slots__ = ()
    _convert = staticmethod(_as_int64)
    _kind = INT64


class BytesList(_List):
    """``repeated bytes value`` (bytes only: encode str first, as with protobuf)."""

    __slots__ = ()
    _convert = staticmethod(_as_bytes)
    _kind = BYTES


_KINDS = {"bytes_list": (BYTES, BytesList), "float_list": (FLOAT, FloatList),
          "int64_list": (INT64, Int64List)}


class Feature(_Message):
    """One feature: ``oneof kind { BytesList bytes_list; FloatList float_list;
    Int64List int64_list; }``. Reading an unset list gives an empty one without setting
    the kind; mutating it (``feature.float_list.value.append(1.0)``) needs the kind set,
    so build features with the constructor or ``CopyFrom``-style assignment."""

    __slots__ = ("_kind_name", "_list")

    def __init__(self, bytes_list: BytesList | None = None, float_list: FloatList | None = None,
                 int64_list: Int64List | None = None):
        given = [(n, v) for n, v in (("bytes_list", bytes_list), ("float_list", float_list),
                                     ("int64_list", int64_list)) if v is not None]
        self._kind_name: str | None = None
        self._list: _List | None = None
        for name, value in given:   # protobuf: the last one of a oneof wins
            self._set(name, value)

    def _set(self, name: str, value: Any) -> None:
        cls = _KINDS[name][1]
        if not isinstance(value, cls):
            raise _type_error(value, cls.__name__)
        self._kind_name, self._list = name, value

    def _get(self, name: str):
        if self._kind_name == name:
            return self._list
        return _KINDS[name][1]()

    bytes_list = property(lambda self: self._get("bytes_list"),
                          lambda self, v: self._set("bytes_list", v))
    float_list = property(lambda self: self._get("float_list"),
                          lambda self, v: self._set("float_list", v))
    int64_list = property(lambda self: self._get("int64_list"),
                          lambda self, v: self._set("int64_list", v))

    def WhichOneof(self, oneof_group: str) -> str | None:  # noqa: N802 - TF's name
        if oneof_group != "kind":
            raise ValueError(f"Protocol message has no oneof \"{oneof_group}\" field.")
        return self._kind_name

    def HasField(self, field_name: str) -> bool:  # noqa: N802 - TF's name
        if field_name not in _KINDS and field_name != "kind":
            raise ValueError(f"Protocol message Feature has no field {field_name}.")
        return self._kind_name is not None and field_name in (self._kind_name, "kind")

    def _encode(self) -> bytes:
        if self._kind_name is None:
            return b""
        return field_bytes(_KINDS[self._kind_name][0], self._list._encode())

    def _decode(self, data: bytes) -> None:
        ex = field_bytes(1, field_bytes(1, field_bytes(1, "v") + field_bytes(2, data)))
        got = decode_example(ex).get("v")
        self._kind_name, self._list = None, None
        if got is not None:
            name = next(n for n, (k, _) in _KINDS.items() if k == got[0])
            vals = got[1] if got[0] == BYTES else got[1].tolist()
            self._set(name, _KINDS[name][1](vals))

    def __repr__(self):
        if self._kind_name is None:
            return "Feature()"
        return f"Feature({self._kind_name}={self._list!r})"


class _FeatureMap(dict):
    """``map<string, Feature>``: str keys, Feature values; a missing key reads as a new
    empty Feature stored under it (protobuf's map behaviour)."""

    def __missing__(self, key):
        self[key] = f = Feature()
        return f

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise _type_error(key, "str")
        if not isinstance(value, Feature):
            raise _type_error(value, "Feature")
        super().__setitem__(key, value)


class Features(_Message):
    """``map<string, Feature> feature``."""

    __slots__ = ("_feature",)

    def __init__(self, feature: dict[str, Feature] | None = None):
        self._feature = _FeatureMap()
        for k, v in (feature or {}).items():
            self._feature[k] = v

    @property
    def feature(self) -> dict:
        return self._feature

    def _encode(self) -> bytes:
        return b"".join(
            field_bytes(1, field_bytes(1, k) + field_bytes(2, self._feature[k]._encode()))
            for k in sorted(self._feature))

    def _decode(self, data: bytes) -> None:
        self._feature = _features_from(field_bytes(1, data))

    def __repr__(self):
        return f"Features(feature={dict(self._feature)!r})"


class Example(_Message):
    """``Features features = 1``: one record of a TFRecord file / a serving request."""

    __slots__ = ("_features", "_has")

    def __init__(self, features: Features | None = None):
        if features is not None and not isinstance(features, Features):
            raise _type_error(features, "Features")
        self._has = features is not None
        self._features = features if features is not None else Features()

    @property
    def features(self) -> Features:
        return self._features

    @features.setter
    def features(self, value: Features) -> None:
        if not isinstance(value, Features):
            raise _type_error(value, "Features")
        self._features, self._has = value, True

    def HasField(self, field_name: str) -> bool:  # noqa: N802 - TF's name
        if field_name != "features":
            raise ValueError(f"Protocol message Example has no field {field_name}.")
        return self._has or bool(self._features.feature)

    def _encode(self) -> bytes:
        inner = self._features._encode()
        return field_bytes(1, inner) if inner or self.HasField("features") else b""

    def _decode(self, data: bytes) -> None:
        self._features = Features()
        self._features._feature = _features_from(data)
        self._has = bool(self._features._feature)

    def __repr__(self):
        return f"Example(features={self._features!r})"


def _features_from(example: bytes) -> _FeatureMap:
    """The feature map of a serialized Example (every ``features`` field merged, the last
    entry of a key winning; a Feature with no kind set is dropped, as TF's parser does)."""
    out = _FeatureMap()
    for name, (kind, vals) in decode_example(example).items():
        cls_name = next(n for n, (k, _) in _KINDS.items() if k == kind)
        out[name] = Feature(**{cls_name: _KINDS[cls_name][1](vals if kind == BYTES
                                                              else vals.tolist())})
    return out
