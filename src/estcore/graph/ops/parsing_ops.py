"""Parsing serialized ``tf.train.Example`` protos into dense tensors (TF's ``tf.io``).

``parse_example(serialized, features)`` turns a vector of serialized Examples (a
string tensor ``[batch]``) into one dense tensor per :class:`FixedLenFeature`,
``[batch] + shape``, in the feature's dtype (float32, int64 or string, TF's three).
The ``ParseExample`` kernel decodes with :mod:`estcore.graph.example_proto` and is
exportable (a serving graph may start from serialized Examples). Sparse features
(``VarLenFeature`` and kin) are not supported: estcore has no sparse tensors.

Must not: decode protobuf wire format itself (:mod:`estcore.graph.example_proto`
does); return sparse results (a feature that needs them is refused with an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph import example_proto as ex
from estcore.graph.ops.core import convert_to_tensor, make_op, row
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["FixedLenFeature", "VarLenFeature", "parse_example", "parse_single_example",
           "check_feature_spec"]

_KINDS = {"float32": ex.FLOAT, "int64": ex.INT64, "string": ex.BYTES}


class FixedLenFeature(NamedTuple):
    """A feature with a fixed number of values per example (TF's ``FixedLenFeature``).

    Args:
        shape: the per-example shape (fully defined); the feature must hold exactly
            ``prod(shape)`` values, in C order.
        dtype: float32, int64 or string.
        default_value: used when an example lacks the feature (a scalar, broadcast,
            or ``prod(shape)`` values); None makes the feature required.
    """

    shape: Any
    dtype: Any
    default_value: Any = None


class VarLenFeature(NamedTuple):
    """TF's sparse ``VarLenFeature``: accepted as a spec, refused by ``parse_example``
    (estcore has no sparse tensors)."""

    dtype: Any


def check_feature_spec(key: Any, spec: Any) -> tuple[str, dt.DType, tuple, np.ndarray | None]:
    """Check one ``key -> FixedLenFeature`` entry; (key, dtype, dims, flat default or None).

    Raises:
        ValueError: the key is not a non-empty string, or the spec is not a
            FixedLenFeature of a fully defined shape and a float32/int64/string dtype.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"Feature keys must be non-empty strings. Received: {key!r}")
    if isinstance(spec, VarLenFeature):
        raise ValueError(f"Feature {key!r}: VarLenFeature gives a SparseTensor, which estcore "
                         "does not have. Use FixedLenFeature(shape, dtype, default_value).")
    if not isinstance(spec, FixedLenFeature):
        raise ValueError(f"Feature {key!r}: expected a FixedLenFeature, got "
                         f"{type(spec).__name__} ({spec!r})")
    dtype = dt.as_dtype(spec.dtype)
    if dtype.name not in _KINDS:
        raise ValueError(f"Feature {key!r}: unsupported dtype {dtype.name}; a serialized "
                         "Example holds float32, int64 or string values.")
    shape = as_shape(spec.shape)
    if not shape.is_fully_defined():
        raise ValueError(f"Feature {key!r}: the shape of a FixedLenFeature must be fully "
                         f"defined. Received: shape={fmt_shape(shape)}")
    dims = tuple(int(d) for d in shape.dims)
    default = None
    if spec.default_value is not None:
        size = int(np.prod(dims, dtype=np.int64))
        if dtype.is_string:
            raw = np.asarray(spec.default_value, dtype=object)
            flat = [v.encode("utf-8") if isinstance(v, str) else v for v in raw.reshape(-1)]
            if not all(isinstance(v, bytes) for v in flat):
                raise ValueError(f"Feature {key!r}: a string default_value must hold bytes "
                                 f"or str. Received: {spec.default_value!r}")
            raw = np.empty(len(flat), dtype=object)
            raw[:] = flat
        else:
            raw = np.asarray(spec.default_value)
            ok = raw.dtype.kind in "biuf"
            if ok and dtype.is_integer and raw.size:
                with np.errstate(invalid="ignore"):
                    ok = bool(np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
                              and raw.min() >= -(2.0 ** 63) and raw.max() < 2.0 ** 63)
            if not ok:
                raise ValueError(f"Feature {key!r}: default_value {spec.default_value!r} "
                                 f"cannot be represented as {dtype.name}")
            raw = raw.astype(dtype.np).reshape(-1)
        if raw.size == 1:
            raw = np.repeat(raw, size)
        if raw.size != size:
            raise ValueError(f"Feature {key!r}: default_value has {raw.size} values; shape "
                             f"{list(dims)} needs {size} (or one, broadcast)")
        default = raw.reshape(dims)
        if not dtype.is_string:
            default.flags.writeable = False
    return key, dtype, dims, default


def _parse_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`serialized` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    s = ctx.shapes[0]
    if s.rank is not None and s.rank != 1:
        raise ctx.fail(f"`serialized` must be a vector of serialized Examples, got shape "
                       f"{ctx.fmt(0)}")
    batch = None if s.rank is None else s.dims[0]
    return [(d, TensorShape([batch, *shape]))
            for d, shape in zip(ctx.attrs["dtypes"], ctx.attrs["shapes"], strict=True)]


def _fill(out: np.ndarray, b: int, key: str, dtype: dt.DType, shape: tuple, default: Any,
          found: tuple[int, Any] | None, where: str) -> None:
    if found is None:
        if default is None:
            raise InvalidArgumentError(
                f"{where}Name: <unknown>, Feature: {key} (data type: {_type_name(dtype)}) is "
                "required but could not be found.")
        out[b, ...] = default  # [b, ...]: a 0-d string default lands as its bytes, not an array
        return
    kind, values = found
    want = _KINDS[dtype.name]
    if kind != want:
        raise InvalidArgumentError(
            f"{where}Name: <unknown>, Key: {key}, Index: {b}.  Data types don't match. Data "
            f"type: {ex.KIND_NAMES[kind]} but expected type: {_type_name(dtype)}")
    size = 1
    for d in shape:
        size *= d
    if len(values) != size:
        kind = "bytes" if dtype.is_string else _type_name(dtype)
        raise InvalidArgumentError(
            f"{where}Name: <unknown>, Key: {key}, Index: {b}.  Number of {kind} values != "
            f"expected.  Values size: {len(values)} but output shape: "
            f"[{','.join(map(str, shape))}]")
    if not dtype.is_string:
        out[b] = np.asarray(values).reshape(shape)
    elif not shape:
        out[b] = values[0]
    else:
        out[b].reshape(-1)[:] = values  # out[b] is a C-contiguous view: reshape is too


def _type_name(dtype: dt.DType) -> str:
    return "float" if dtype is dt.float32 else dtype.name


def _parse_build(k):
    serialized = k.ins[0]
    outs = k.outs
    keys, dtypes, shapes = k.attrs["keys"], k.attrs["dtypes"], k.attrs["shapes"]
    defaults = k.attrs["defaults"]
    where = f"ParseExample '{k.node.name}': "
    specs = list(zip(keys, dtypes, shapes, defaults, outs, strict=True))

    def run():
        for b, data in enumerate(serialized.reshape(-1)):
            if isinstance(data, str):
                data = data.encode("utf-8")
            if not isinstance(data, (bytes, bytearray, memoryview, np.bytes_)):
                raise InvalidArgumentError(
                    f"{where}serialized example {b} is a {type(data).__name__}, not bytes")
            try:
                parsed = ex.decode_example(bytes(data), keys)
            except (ValueError, OverflowError) as e:  # ProtoDecodeError is a ValueError
                raise InvalidArgumentError(
                    f"{where}Could not parse example input {b} ({e}), value: "
                    f"{bytes(data)[:40]!r}") from None
            for key, dtype, shape, default, out in specs:
                _fill(out, b, key, dtype, shape, default, parsed.get(key), where)
    return run


row("ParseExample", _parse_infer, _parse_build, None)


def parse_example(serialized: Any, features: Mapping[str, Any], name: str | None = None,
                  example_names: Any = None) -> dict[str, Tensor]:
    """Parse a batch of serialized Examples into dense tensors (TF's ``tf.io.parse_example``).

    Args:
        serialized: string tensor ``[batch]`` (or a list of bytes) of serialized
            ``tf.train.Example`` protos.
        features: dict key -> :class:`FixedLenFeature`.
        name: op name (default ``ParseExample``).
        example_names: accepted for TF compatibility, unused.

    Returns:
        dict key -> Tensor ``[batch] + spec.shape`` of ``spec.dtype``.

    Raises:
        ValueError: a spec is not a FixedLenFeature with a supported dtype and a fully
            defined shape, or its default does not fit. At run time a missing required
            feature, a value of another type or count, or bytes that are not an
            Example raise :class:`estcore.errors.InvalidArgumentError`.
    """
    del example_names
    if not isinstance(features, Mapping) or not features:
        raise ValueError(f"`features` must be a non-empty dict of key -> FixedLenFeature. "
                         f"Received: {features!r}")
    for key in features:
        if not isinstance(key, str) or not key:
            raise ValueError(f"Feature keys must be non-empty strings. Received: {key!r}")
    checked = [check_feature_spec(key, features[key]) for key in sorted(features)]
    t = convert_to_tensor(serialized, dt.string) if not isinstance(serialized, Tensor) \
        else serialized
    op = make_op("ParseExample", [t],
                 {"keys": tuple(c[0] for c in checked), "dtypes": tuple(c[1] for c in checked),
                  "shapes": tuple(c[2] for c in checked),
                  "defaults": tuple(c[3] for c in checked)},
                 name=name or "ParseExample")
    return {c[0]: o for c, o in zip(checked, op.outputs, strict=True)}


def parse_single_example(serialized: Any, features: Mapping[str, Any],
                         name: str | None = None) -> dict[str, Tensor]:
    """One serialized Example (a scalar string tensor) -> dict key -> Tensor ``spec.shape``."""
    from estcore.graph.ops.array_ops import reshape, squeeze  # local: import cycle with array_ops

    t = convert_to_tensor(serialized, dt.string) if not isinstance(serialized, Tensor) \
        else serialized
    if t.shape.rank not in (None, 0):
        raise ValueError(f"parse_single_example: `serialized` must be a scalar (one "
                         f"serialized Example). Received: shape {fmt_shape(t.shape)}; use "
                         "parse_example for a batch.")
    parsed = parse_example(reshape(t, [1]), features, name=name)
    return {k: squeeze(v, [0]) for k, v in parsed.items()}
