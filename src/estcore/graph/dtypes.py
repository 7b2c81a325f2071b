"""Tensor element types (``estcore.float32`` ...), named as TF1's ``tf.DType``.

A :class:`DType` wraps one numpy dtype. The module-level constants are the only
instances, so ``is`` comparisons are valid, and :func:`as_dtype` maps a DType, a
numpy dtype (or type) or a name (``"float32"``) to one of them.

Must not: import any other estcore module (every layer imports this one); create
DType instances other than the module-level constants (``is`` comparisons rely on it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "DType", "as_dtype", "float16", "float32", "float64", "int8", "int16", "int32",
    "int64", "uint8", "bool", "string",
]


class DType:
    """An element type of a :class:`~estcore.Tensor`.

    Attributes:
        name: the TF name (``"float32"``, ``"int64"``, ``"bool"``, ``"string"``).
        as_numpy_dtype: the numpy scalar type (``np.float32``; ``object`` for strings).
        is_floating: True for float16/32/64.
        is_integer: True for the signed and unsigned integer types.
        is_bool: True for ``bool``.
    """

    __slots__ = ("name", "as_numpy_dtype", "np", "is_floating", "is_integer", "is_bool",
                 "is_string")

    def __init__(self, name: str, np_type: Any):
        self.name = name
        self.as_numpy_dtype = np_type
        self.np = np.dtype(np_type)
        self.is_floating = self.np.kind == "f"
        self.is_integer = self.np.kind in "iu"
        self.is_bool = self.np.kind == "b"
        self.is_string = name == "string"

    @property
    def is_numeric(self) -> bool:
        return self.is_floating or self.is_integer

    @property
    def min(self):
        return np.finfo(self.np).min if self.is_floating else np.iinfo(self.np).min

    @property
    def max(self):
        return np.finfo(self.np).max if self.is_floating else np.iinfo(self.np).max

    def __repr__(self) -> str:
        return f"estcore.{self.name}"

    def __reduce__(self):
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool = DType("bool", np.bool_)  # noqa: A001 - TF1 name
string = DType("string", object)

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool, string)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "str": string})
_BY_NP = {d.np: d for d in _ALL if d is not string}


def as_dtype(value: Any) -> DType:
    """Convert ``value`` to a :class:`DType`.

    Args:
        value: a DType, a numpy dtype or scalar type, or a name such as ``"float32"``.

    Raises:
        TypeError: when ``value`` names no supported type.
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        found = _BY_NAME.get(value)
        if found is not None:
            return found
    else:
        if value is str or value is bytes:
            return string
        try:
            npd = np.dtype(value)
        except TypeError:
            npd = None
        if npd is not None:
            if npd.kind in "USO":
                return string
            found = _BY_NP.get(npd.newbyteorder("=")) if npd.byteorder == ">" else _BY_NP.get(npd)
            if found is not None:
                return found
    raise TypeError(
        "`dtype` must be an estcore DType, a numpy dtype or a dtype name such as "
        f"'float32'. Received: dtype={value!r} ({type(value).__name__})")


def as_string_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a string tensor's array: numpy ``object`` dtype holding ``bytes``.

    TF's string tensors hold bytes: a Python ``str`` (or a numpy unicode array) becomes
    its UTF-8 encoding, as TF1 encodes a ``str`` constant or feed, so a ``str`` and the
    same ``bytes`` compare equal inside the graph.

    Args:
        value: a str / bytes, or a (nested) list or array of them.
        what: names the value in error messages ("constant", "feed 'x'").

    Raises:
        TypeError: an element is neither str nor bytes (a number, None).
    """
    arr = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if arr.dtype.kind == "U":
        try:  # ASCII (the common case) converts in C
            return arr.astype("S").astype(object)
        except UnicodeEncodeError:
            return np.char.encode(arr, "utf-8").astype(object)
    if arr.dtype.kind == "S":
        return arr.astype(object)
    if arr.dtype != object:
        raise TypeError(f"{what}: expected strings (str or bytes), got values of dtype "
                        f"{arr.dtype}")
    flat = arr.reshape(-1)
    if set(map(type, flat.tolist())) <= {bytes}:  # already TF's form (every step's feed)
        return arr
    out = np.empty(arr.shape, dtype=object)
    flat_out = out.reshape(-1)
    for i, v in enumerate(flat.tolist()):
        if isinstance(v, bytes):
            flat_out[i] = v
        elif isinstance(v, str):
            flat_out[i] = v.encode("utf-8")
        elif isinstance(v, (bytearray, memoryview)):
            flat_out[i] = bytes(v)
        else:
            raise TypeError(f"{what}: expected strings (str or bytes), got {v!r} of type "
                            f"{type(v).__name__}")
    return out
