"""Parsing serialized ``tf.train.Example`` protos (TF's ``tf.io.parse_example``).

``parse_example(serialized, features)`` turns a vector of serialized Examples (a
string tensor ``[batch]``) into one dense tensor per :class:`FixedLenFeature`,
``[batch] + shape``, in the feature's dtype (float32, int64 or string, TF's three);
a :class:`VarLenFeature` gives a row-padded SparseTensor
(:mod:`estcore.graph.ops.sparse_parse`). The ``ParseExample`` kernel parses the whole
vector in C (``csrc/pipeline/est_example.c``, threads for large inputs, the count of
:func:`set_parse_threads`); a record the C parser stops at (not an Example, or a
feature of another kind or count) is decoded again by
:mod:`estcore.graph.example_proto`, which words TF's error. The op is exportable (a
serving graph may start from serialized Examples).

``decode_csv`` / ``decode_raw`` / ``string_to_number`` live in
:mod:`estcore.graph.ops.decode_ops` and are re-exported here (TF's ``tf.io`` names).

Must not: decode protobuf wire format in Python itself (:mod:`estcore.graph.example_proto`
does); build sparse results (:mod:`estcore.graph.ops.sparse_parse` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from estcore._lib import _pipeline
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph import example_proto as ex
from estcore.graph.ops import sparse_parse
from estcore.graph.ops.core import convert_to_tensor, make_op, row
from estcore.graph.ops.decode_ops import (  # noqa: F401 - re-exported: TF's tf.io names
    decode_csv,
    decode_raw,
    parse_threads,
    set_parse_threads,
    string_to_number,
    strings_1d,
)
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["FixedLenFeature", "VarLenFeature", "parse_example", "parse_single_example",
           "check_feature_spec", "decode_csv", "decode_raw", "string_to_number",
           "set_parse_threads"]

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
    """TF's sparse ``VarLenFeature``: ``parse_example`` gives a row-padded SparseTensor
    (``graph/ops/sparse_parse.py``)."""

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
        raise ValueError(f"Feature {key!r}: VarLenFeature gives a SparseTensor, which this "
                         "caller does not take. Use FixedLenFeature(shape, dtype, "
                         "default_value).")
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

    names = [key.encode("utf-8") for key in keys]
    kinds = [_C_KINDS[d.name] for d in dtypes]
    counts = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]

    def run():
        flat = strings_1d(serialized)
        start = _parse_in_c(flat, specs, names, kinds, counts, where)
        _parse_in_python(flat, start, specs, keys, where)
    return run


_C_KINDS = {"float32": _pipeline.EXAMPLE_FLOAT, "int64": _pipeline.EXAMPLE_INT64,
            "string": _pipeline.EXAMPLE_BYTES}


def _parse_in_c(flat: np.ndarray, specs: list, names: list, kinds: list, counts: list,
                where: str) -> int:
    """Parse with the C kernel (csrc/pipeline/est_example.c); the index of the first
    record left to the Python decoder (a bad record, whose error it words; n when all
    are done; 0 when the C kernel does not serve this host or input)."""
    n = flat.shape[0]
    targets = []
    for _, dtype, _, _, out in specs:
        if dtype.is_string:
            targets.append(None)
        else:
            targets.append(out if out.flags.c_contiguous else np.empty(out.shape, out.dtype))
    try:
        res = _pipeline.parse_example_columns(flat, names, kinds, counts, targets,
                                              parse_threads())
    except TypeError:   # an element that is not bytes: the Python loop words the error
        return 0
    if res is None:
        return 0
    found, bad, strings = res
    done = n if bad < 0 else bad
    for k, ((key, dtype, shape, default, out), count) in enumerate(zip(specs, counts,
                                                                        strict=True)):
        if dtype.is_string:
            out.reshape(-1)[:done * count] = strings[k][:done * count]
        elif targets[k] is not out:
            out[:done] = targets[k][:done]
        miss = np.flatnonzero(found[:done, k] == 0)
        if miss.size:
            if default is None:
                _fill(out, int(miss[0]), key, dtype, shape, None, None, where)  # raises
            out[miss] = default
    return done


def _parse_in_python(flat: np.ndarray, start: int, specs: list, keys: tuple,
                     where: str) -> None:
    """The reference decoder for records [start, n): words every error."""
    for b in range(start, flat.shape[0]):
        data = flat[b]
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


row("ParseExample", _parse_infer, _parse_build, None)


def parse_example(serialized: Any, features: Mapping[str, Any], name: str | None = None,
                  example_names: Any = None) -> dict[str, Tensor]:
    """Parse a batch of serialized Examples into dense tensors (TF's ``tf.io.parse_example``).

    Args:
        serialized: string tensor ``[batch]`` (or a list of bytes) of serialized
            ``tf.train.Example`` protos.
        features: dict key -> :class:`FixedLenFeature` or :class:`VarLenFeature`.
        name: op name (default ``ParseExample``).
        example_names: accepted for TF compatibility, unused.

    Returns:
        dict key -> Tensor ``[batch] + spec.shape`` of ``spec.dtype`` (a VarLenFeature:
        a row-padded SparseTensor, dense_shape ``[batch, longest list]``).

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
    t = convert_to_tensor(serialized, dt.string) if not isinstance(serialized, Tensor) \
        else serialized
    varlen = {k: v for k, v in features.items() if isinstance(v, VarLenFeature)}
    out = sparse_parse.parse_varlen(t, varlen, name) if varlen else {}
    checked = [check_feature_spec(key, features[key]) for key in sorted(features)
               if key not in varlen]
    if not checked:
        return out
    op = make_op("ParseExample", [t],
                 {"keys": tuple(c[0] for c in checked), "dtypes": tuple(c[1] for c in checked),
                  "shapes": tuple(c[2] for c in checked),
                  "defaults": tuple(c[3] for c in checked)},
                 name=name or "ParseExample")
    out.update({c[0]: o for c, o in zip(checked, op.outputs, strict=True)})
    return out


def parse_single_example(serialized: Any, features: Mapping[str, Any],
                         name: str | None = None,
                         example_names: Any = None) -> dict[str, Tensor]:
    """One serialized Example (a scalar string tensor) -> dict key -> Tensor ``spec.shape``
    (TF's ``tf.io.parse_single_example``; ``example_names`` accepted, unused)."""
    del example_names
    from estcore.graph.ops.array_ops import reshape, squeeze  # local: import cycle with array_ops

    t = convert_to_tensor(serialized, dt.string) if not isinstance(serialized, Tensor) \
        else serialized
    if t.shape.rank not in (None, 0):
        raise ValueError(f"parse_single_example: `serialized` must be a scalar (one "
                         f"serialized Example). Received: shape {fmt_shape(t.shape)}; use "
                         "parse_example for a batch.")
    parsed = parse_example(reshape(t, [1]), features, name=name)
    return {k: squeeze(v, [0]) for k, v in parsed.items()}
