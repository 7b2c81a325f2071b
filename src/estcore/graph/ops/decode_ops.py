"""Decoding ops for text and raw records (TF's ``tf.io`` / ``tf.strings``): CSV lines
into typed columns, numbers in strings, raw bytes into numbers.

``decode_csv`` (the ``DecodeCSV`` kernel: one C call over the whole vector of records,
threads for large inputs; ``csrc/pipeline/est_csv.c``), ``string_to_number``
(``StringToNumber``, the same number rules) and ``decode_raw`` (``DecodeRaw``: its last
dimension is known only when the bytes are seen, so it is a data-dependent-shape row
unless ``fixed_length`` is given) are elementwise over the leading dimensions of their
input, the property the Dataset vectoriser relies on. :func:`set_parse_threads` sets
the threads of one kernel call, here and in ``ParseExample``
(:mod:`estcore.graph.ops.parsing_ops`).

Must not: decode protobuf (``parsing_ops`` does); hold state beyond the thread count.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from estcore._lib import _pipeline
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import constant_value, convert_to_tensor, is_tensor, make_op, row
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["decode_csv", "decode_raw", "string_to_number", "set_parse_threads",
           "parse_threads", "strings_1d"]


# ------------------------------------------------------------------ decode_csv
_CSV_CODES = {"int32": _pipeline.CSV_INT32, "int64": _pipeline.CSV_INT64,
              "float32": _pipeline.CSV_FLOAT, "float64": _pipeline.CSV_DOUBLE,
              "string": _pipeline.CSV_STRING}
_CSV_ALLOWED = "float, double, int32, int64, string"
_parse_threads = min(os.cpu_count() or 1, 8)


def set_parse_threads(num_threads: int | None) -> int:
    """Threads one ``DecodeCSV`` kernel call may use over a large vector of records
    (default: the CPU count, at most 8; None restores it). Returns the previous value.

    Small inputs (under ~64 KiB of text) always parse on the calling thread.
    """
    global _parse_threads
    previous = _parse_threads
    if num_threads is None:
        _parse_threads = min(os.cpu_count() or 1, 8)
    elif isinstance(num_threads, bool) or not isinstance(num_threads, int) or \
            not 1 <= num_threads <= _pipeline.CSV_MAX_THREADS:
        raise ValueError(f"num_threads must be an int in 1..{_pipeline.CSV_MAX_THREADS}. "
                         f"Received: {num_threads!r}")
    else:
        _parse_threads = num_threads
    return previous


def parse_threads() -> int:
    """The thread count set by :func:`set_parse_threads`."""
    return _parse_threads


def strings_1d(x: np.ndarray) -> np.ndarray:
    """A writable C-contiguous 1-D object view (or copy) of a string buffer (the C seam
    takes a writable buffer; constants are read-only)."""
    flat = x.reshape(-1)
    if flat.dtype != object:
        flat = flat.astype(object)
    ok = flat.flags.c_contiguous and flat.flags.writeable
    return flat if ok else np.array(flat, dtype=object, order="C")


def _python_numbers(d: Any) -> bool:
    """True when ``d`` holds Python numbers (TF's defaults: int32 / float32), not
    numpy values (which keep their dtype)."""
    if isinstance(d, (list, tuple)):
        return all(_python_numbers(v) for v in d)
    return isinstance(d, (int, float)) and not isinstance(d, (np.generic, bool))


def _csv_default(i: int, d: Any) -> tuple[dt.DType, Any]:
    """(dtype, the default as a Python scalar / bytes, or None for a required field)."""
    if is_tensor(d):
        t = d._as_tensor()
        arr = constant_value(t)
        if arr is None:
            raise ValueError(f"decode_csv: record_defaults[{i}] is the tensor '{t.name}', "
                             "whose value is not known when the graph is built; estcore "
                             "needs constant record defaults")
        dtype = t.dtype
    else:
        arr = np.asarray(d, dtype=object if isinstance(d, (str, bytes)) else None)
        if arr.dtype == object or arr.dtype.kind in "US":
            flat = arr.reshape(-1).tolist()
            if not all(isinstance(v, (str, bytes)) for v in flat):
                raise TypeError(f"decode_csv: record_defaults[{i}] mixes strings with other "
                                f"values: {d!r}")
            arr = np.array([v.encode() if isinstance(v, str) else v for v in flat],
                           dtype=object).reshape(arr.shape)
            dtype = dt.string
        elif arr.dtype == np.float64 and _python_numbers(d):
            arr, dtype = arr.astype(np.float32), dt.float32
        elif arr.dtype.kind == "i" and _python_numbers(d):
            big = arr.size and (arr.max() > 2**31 - 1 or arr.min() < -2**31)
            dtype = dt.int64 if big else dt.int32
        else:
            dtype = dt.as_dtype(arr.dtype)
    if dtype.name not in _CSV_CODES:
        raise TypeError(f"decode_csv: record_defaults[{i}] has dtype {dtype.name}, which is "
                        f"not in the list of allowed values: {_CSV_ALLOWED}")
    if arr.ndim > 1:
        raise InvalidArgumentError("Each record default should be at most rank 1")
    if arr.size > 1:
        raise InvalidArgumentError(f"There should only be 1 default per field but field {i} "
                                   f"has {arr.size}")
    if arr.size == 0:
        return dtype, None
    v = arr.reshape(-1)[0]
    return dtype, (bytes(v) if dtype.is_string else v.item())


def _csv_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`records` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    return [(d, ctx.shapes[0]) for d in ctx.attrs["dtypes"]]


def _csv_build(k):
    records, outs, a = k.ins[0], k.outs, k.attrs
    types = [_CSV_CODES[d.name] for d in a["dtypes"]]
    defaults = list(a["defaults"])

    def run():
        cols = _pipeline.decode_csv_columns(strings_1d(records), types, defaults,
                                            a["field_delim"], a["use_quote_delim"],
                                            a["na_value"], a["select_cols"], _parse_threads)
        for out, col in zip(outs, cols, strict=True):
            out.reshape(-1)[...] = col
    return run


row("DecodeCSV", _csv_infer, _csv_build, None)


def decode_csv(records: Any, record_defaults: Any, field_delim: str = ",",
               use_quote_delim: bool = True, name: str | None = None, na_value: str = "",
               select_cols: Any = None) -> list[Tensor]:
    """Convert CSV records to tensors, one per column (TF's ``tf.io.decode_csv``).

    Elementwise over leading dimensions: every output has the shape of ``records``,
    and record ``i`` only feeds element ``i`` of each output. The whole vector is
    parsed in one C call (threads over large inputs, :func:`set_parse_threads`).

    Args:
        records: string tensor of any shape; each element is one CSV line.
        record_defaults: one entry per output column: a value (or a 1-element list /
            constant tensor) giving the column's dtype (float32, float64, int32, int64
            or string) and its default for an empty or ``na_value`` field, or an empty
            list / tensor for a required column of that dtype (``[]`` is float32).
        field_delim: the one-character delimiter.
        use_quote_delim: RFC 4180 double quotes (``"a,b"``, ``""`` inside); off: '"' is
            an ordinary character.
        name: op name (default ``DecodeCSV``).
        na_value: a field equal to it counts as missing.
        select_cols: increasing column indices to keep (one per record default);
            fields after the last one are not examined.

    Returns:
        A list of tensors, one per record default, each with ``records``' shape.

    Raises:
        ValueError: bad ``select_cols`` (TF's messages), a delimiter that is not one
            character, non-constant defaults; InvalidArgumentError: a default of more
            than one value. At run time :class:`~estcore.errors.InvalidArgumentError`
            with TF's DecodeCSV text ("Expect 3 fields but have 2 in record 0", "Field
            1 in record 0 is not a valid float: x", "Field 0 is required but missing in
            record 0!", quoting errors); the lowest bad record is reported.
    """
    if isinstance(record_defaults, (str, bytes)) or not isinstance(record_defaults,
                                                                    (list, tuple)):
        raise TypeError("decode_csv: record_defaults must be a list with one entry per "
                        f"column. Received: {record_defaults!r}")
    if not record_defaults:
        raise ValueError("decode_csv: record_defaults must name at least one column")
    checked = [_csv_default(i, d) for i, d in enumerate(record_defaults)]
    if isinstance(field_delim, bytes):
        field_delim = field_delim.decode("utf-8")
    if not isinstance(field_delim, str) or len(field_delim.encode("utf-8")) != 1:
        raise ValueError(f"field_delim should be only 1 char. Received: {field_delim!r}")
    na = na_value.encode("utf-8") if isinstance(na_value, str) else bytes(na_value)
    sel = None
    if select_cols is not None:
        sel = tuple(int(c) for c in np.asarray(select_cols).reshape(-1))
        if any(c < 0 for c in sel):
            raise ValueError("select_cols contains negative values.")
        if any(b <= a for a, b in zip(sel, sel[1:], strict=False)):
            raise ValueError("select_cols is not strictly increasing.")
        if len(sel) != len(checked):
            raise ValueError("Length of select_cols and record_defaults do not match.")
    t = records._as_tensor() if is_tensor(records) else convert_to_tensor(records, dt.string)
    op = make_op("DecodeCSV", [t],
                 {"dtypes": tuple(c[0] for c in checked), "defaults": tuple(c[1] for c in checked),
                  "field_delim": field_delim, "use_quote_delim": bool(use_quote_delim),
                  "na_value": na, "select_cols": sel},
                 name=name or "DecodeCSV")
    return list(op.outputs)


# ------------------------------------------------------------------ string_to_number
_NUMBER_TYPES = ("float32", "float64", "int32", "int64")


def _to_number_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`string_tensor` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    return [(ctx.attrs["out_type"], ctx.shapes[0])]


def _to_number_build(k):
    x, out = k.ins[0], k.outs[0]
    code = _CSV_CODES[k.attrs["out_type"].name]

    def run():
        out.reshape(-1)[...] = _pipeline.strings_to_numbers(strings_1d(x), code)
    return run


row("StringToNumber", _to_number_infer, _to_number_build, None)


def string_to_number(string_tensor: Any, out_type: Any = dt.float32,
                     name: str | None = None) -> Tensor:
    """Parse each string as a number (TF's ``tf.strings.to_number``).

    Elementwise over leading dimensions (the output has the input's shape). Rules as
    decode_csv's fields (surrounding whitespace allowed, ``inf`` / ``nan``, hex
    integers for floats), but an empty string is an error.

    Args:
        string_tensor: string tensor of any shape.
        out_type: float32 (default), float64, int32 or int64.
        name: op name.

    Raises:
        TypeError: another ``out_type``. At run time InvalidArgumentError
            "StringToNumberOp could not correctly convert string: <s>".
    """
    out = dt.as_dtype(out_type)
    if out.name not in _NUMBER_TYPES:
        raise TypeError(f"string_to_number: out_type must be one of float32, float64, int32, "
                        f"int64. Received: {out.name}")
    t = string_tensor._as_tensor() if is_tensor(string_tensor) else \
        convert_to_tensor(string_tensor, dt.string)
    return make_op("StringToNumber", [t], {"out_type": out},
                   name=name or "StringToNumber").outputs[0]


# ------------------------------------------------------------------ decode_raw
_RAW_TYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
              "bool")


def _raw_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`input_bytes` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    out, fixed = ctx.attrs["out_type"], ctx.attrs["fixed_length"]
    s = ctx.shapes[0]
    last = None if fixed is None else fixed // out.np.itemsize
    if s.rank is None:
        return [(out, TensorShape(None))]
    return [(out, TensorShape([*s.dims, last]))]


def _raw_eager(k) -> list[np.ndarray]:
    x, a = k.ins[0], k.attrs
    out, fixed = a["out_type"], a["fixed_length"]
    np_type = out.np.newbyteorder("<" if a["little_endian"] else ">")
    size = out.np.itemsize
    flat = [bytes(v.encode("utf-8") if isinstance(v, str) else v) for v in x.reshape(-1)]
    if fixed is not None:
        flat = [v[:fixed].ljust(fixed, b"\0") for v in flat]
        width = fixed
    else:
        width = len(flat[0]) if flat else 0
        for i, v in enumerate(flat):
            if len(v) != width:
                raise InvalidArgumentError(
                    "DecodeRaw requires input strings to all be the same size, but element "
                    f"{i} has size {width} != {len(v)}")  # TF's order of the two
        if width % size:
            raise InvalidArgumentError(
                f"Input to DecodeRaw has length {width} that is not a multiple of {size}, the "
                f"size of {out.name}")
    data = np.frombuffer(b"".join(flat), dtype=np_type) if flat else np.zeros(0, np_type)
    if out is dt.bool:
        data = data.view(np.uint8) != 0
    return [data.astype(out.np, copy=False).reshape(*x.shape, width // size)]


dynamic_row("DecodeRaw", _raw_infer, _raw_eager, None)


def decode_raw(input_bytes: Any = None, out_type: Any = None, little_endian: bool = True,
               name: str | None = None, bytes: Any = None,  # noqa: A002 - TF1's old alias
               fixed_length: int | None = None) -> Tensor:
    """Reinterpret the bytes of each string as numbers (TF's ``tf.io.decode_raw``).

    Elementwise over leading dimensions: output ``input.shape + [n]`` with
    ``n = length / itemsize``. Without ``fixed_length`` every string must have the same
    length (a multiple of the item size) and ``n`` is known when the step runs (the
    plan is completed then, once per length); with ``fixed_length`` each string is cut
    or zero-padded to it and the shape is static.

    Args:
        input_bytes: string tensor of any shape (``bytes``: TF1's old name for it).
        out_type: float16/32/64, int8/16/32/64, uint8 or bool.
        little_endian: the byte order of the data.
        name: op name.
        bytes: TF1's deprecated name for ``input_bytes``.
        fixed_length: bytes per string (a multiple of the item size), or None (TF2's
            argument, after TF1's parameters here).

    Raises:
        TypeError / ValueError: an unsupported ``out_type`` or a bad ``fixed_length``
        (TF's text). At run time InvalidArgumentError for strings of different lengths
        or a length that is not a multiple of the item size (TF's text).
    """
    if bytes is not None:
        if input_bytes is not None:
            raise ValueError("decode_raw: pass input_bytes or its old name bytes, not both")
        input_bytes = bytes
    if input_bytes is None or out_type is None:
        raise TypeError("decode_raw() needs input_bytes and out_type")
    out = dt.as_dtype(out_type)
    if out.name not in _RAW_TYPES:
        raise TypeError(f"Value for attr 'out_type' of {out.name} is not in the list of "
                        "allowed values: half, float, double, int32, uint8, int16, int8, "
                        "int64, bool (estcore has no uint16, complex or bfloat16)")
    if fixed_length is not None:
        if isinstance(fixed_length, bool) or not isinstance(fixed_length, (int, np.integer)) \
                or fixed_length < 0:
            raise ValueError(f"fixed_length must be a non-negative int. Received: "
                             f"{fixed_length!r}")
        fixed_length = int(fixed_length)
        if fixed_length % out.np.itemsize:
            raise ValueError(f"fixed_length ({fixed_length}) must be a multiple of the size "
                             f"of out_type ({out.np.itemsize})")
    t = input_bytes._as_tensor() if is_tensor(input_bytes) else \
        convert_to_tensor(input_bytes, dt.string)
    return make_op("DecodeRaw", [t], {"out_type": out, "little_endian": bool(little_endian),
                                      "fixed_length": fixed_length},
                   name=name or "DecodeRaw").outputs[0]


not_differentiable("DecodeCSV", "StringToNumber", "DecodeRaw")
