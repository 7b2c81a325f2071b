"""String ops (TF's ``tf.strings``): length, substr, strip, lower / upper, join, regex
match and replace, as_string, and the splits that give a SparseTensor.

Strings in the graph are numpy object arrays of ``bytes`` (``dtypes.string``); a kernel
also accepts ``str`` elements (encoded as UTF-8). Every op here but the splits is
*elementwise over leading dimensions*: element ``i`` of the output depends only on
element ``i`` of the (broadcast) inputs, so a function mapped over one element runs
unchanged over a whole chunk of them (the Dataset vectoriser relies on this).

``string_split`` (TF1) and ``strings.split`` (TF 1.15, ``result_type='SparseTensor'``)
take a vector of strings and give a rank-2 :class:`~estcore.graph.sparse_tensor.SparseTensor`
of tokens; the token count is data-dependent, so ``StringSplit`` is a
data-dependent-shape row (:func:`~estcore.graph.ops.dynamic_ops.dynamic_row`): its plan is
completed when the step runs, once per padded width. There is no RaggedTensor in estcore:
``result_type='RaggedTensor'`` is refused.

Patterns of ``regex_full_match`` / ``regex_replace`` are TF's RE2 syntax run by Python's
:mod:`re` (the same for the common subset: classes, groups, ``\\d``, anchors,
``\\1`` in the rewrite; RE2-only constructs raise an error naming the pattern).

Must not: parse numbers or CSV (:mod:`estcore.graph.ops.parsing_ops` does); hold state.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import constant_value, convert_to_tensor, is_tensor, make_op, row
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import SparseTensor, round_slots
from estcore.graph.tensor import Tensor

__all__ = ["length", "substr", "strip", "lower", "upper", "join", "string_join",
           "regex_full_match", "regex_replace", "as_string", "string_split", "split"]

_WS = b" \t\n\r\x0b\x0c"


def _b(v: Any) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def _string(x: Any, what: str) -> Tensor:
    t = x._as_tensor() if is_tensor(x) else convert_to_tensor(x, dt.string)
    if not t.dtype.is_string:
        raise TypeError(f"{what} must be a string tensor. Received dtype {t.dtype.name} "
                        f"('{t.name}')")
    return t


def _map(fn, x: np.ndarray, out: np.ndarray) -> None:
    """out[...] = fn(bytes) for each element of x (same shape)."""
    flat = out.reshape(-1)
    flat[...] = [fn(_b(v)) for v in x.reshape(-1)] if x.size else flat


def _unary_infer(out_dtype):
    def infer(ctx):
        if not ctx.dtypes[0].is_string:
            raise ctx.fail(f"`input` must be a string tensor, got {ctx.dtypes[0].name}",
                           TypeError)
        return [(out_dtype or ctx.dtypes[0], ctx.shapes[0])]
    return infer


def _unary_kernel(make_fn):
    def build(k):
        x, out = k.ins[0], k.outs[0]
        fn = make_fn(k.attrs)
        return lambda: _map(fn, x, out)
    return build


def _utf8_len(v: bytes) -> int:
    return sum(1 for c in v if c & 0xC0 != 0x80)


row("StringLength", _unary_infer(dt.int32),
    _unary_kernel(lambda a: len if a["unit"] == "BYTE" else _utf8_len), None)
row("StringStrip", _unary_infer(None), _unary_kernel(lambda a: lambda v: v.strip(_WS)), None)


def _case_fn(upper: bool):
    def make(a):
        if a["encoding"]:
            return lambda v: (v.decode("utf-8").upper() if upper
                              else v.decode("utf-8").lower()).encode("utf-8")
        return bytes.upper if upper else bytes.lower   # ASCII letters only, as TF's ''
    return make


row("StringUpper", _unary_infer(None), _unary_kernel(_case_fn(True)), None)
row("StringLower", _unary_infer(None), _unary_kernel(_case_fn(False)), None)


def _pattern(a) -> re.Pattern:
    try:
        return re.compile(a["pattern"], re.DOTALL if a.get("dotall") else 0)
    except re.error as e:
        raise InvalidArgumentError(f"Invalid pattern: {a['pattern']!r}, error: {e}") from None


row("RegexFullMatch", _unary_infer(dt.bool),
    _unary_kernel(lambda a: (lambda p: lambda v: p.fullmatch(v) is not None)(_pattern(a))),
    None)


def _replace_fn(a):
    p, rewrite = _pattern(a), a["rewrite"]
    count = 0 if a["replace_global"] else 1
    return lambda v: p.sub(rewrite, v, count=count)


row("RegexReplace", _unary_infer(None), _unary_kernel(_replace_fn), None)


def _unary(op_type: str, x: Any, attrs: dict, name: str | None, what: str = "input") -> Tensor:
    return make_op(op_type, [_string(x, what)], attrs, name=name or op_type).outputs[0]


def length(input: Any, name: str | None = None, unit: str = "BYTE") -> Tensor:  # noqa: A002
    """Length of each string (TF's ``tf.strings.length``), int32, elementwise over
    leading dimensions.

    Args:
        input: string tensor.
        name: op name.
        unit: ``'BYTE'`` or ``'UTF8_CHAR'`` (code points of valid UTF-8).
    """
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"unit must be 'BYTE' or 'UTF8_CHAR'. Received: {unit!r}")
    return _unary("StringLength", input, {"unit": unit}, name)


def strip(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Strip leading and trailing ASCII whitespace (TF's ``tf.strings.strip``),
    elementwise over leading dimensions."""
    return _unary("StringStrip", input, {}, name)


def _encoding(encoding: str) -> str:
    if encoding not in ("", "utf-8", "UTF-8", "utf8"):
        raise ValueError(f"encoding must be '' (ASCII letters only) or 'utf-8'. Received: "
                         f"{encoding!r}")
    return encoding


def lower(input: Any, encoding: str = "", name: str | None = None) -> Tensor:  # noqa: A002
    """Lower-case each string (TF's ``tf.strings.lower``): ASCII letters with
    ``encoding=''``, Unicode with ``'utf-8'``. Elementwise over leading dimensions."""
    return _unary("StringLower", input, {"encoding": _encoding(encoding)}, name)


def upper(input: Any, encoding: str = "", name: str | None = None) -> Tensor:  # noqa: A002
    """Upper-case each string (TF's ``tf.strings.upper``), as :func:`lower`."""
    return _unary("StringUpper", input, {"encoding": _encoding(encoding)}, name)


def _const_text(value: Any, what: str) -> str:
    if is_tensor(value):
        v = constant_value(value._as_tensor())
        if v is None:
            raise ValueError(f"{what} must be known when the graph is built (a constant)")
        value = v.reshape(()).item() if v.size == 1 else value
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string. Received: {value!r}")
    return value


def regex_full_match(input: Any, pattern: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Whether each whole string matches ``pattern`` (TF's
    ``tf.strings.regex_full_match``), bool, elementwise over leading dimensions."""
    pat = _const_text(pattern, "pattern")
    _pattern({"pattern": pat.encode("utf-8")})
    return _unary("RegexFullMatch", input, {"pattern": pat.encode("utf-8")}, name)


def regex_replace(input: Any, pattern: Any, rewrite: Any, replace_global: bool = True,  # noqa: A002
                  name: str | None = None) -> Tensor:
    """Replace matches of ``pattern`` by ``rewrite`` (``\\1`` for groups; TF's
    ``tf.strings.regex_replace``): all of them, or the first with
    ``replace_global=False``. Elementwise over leading dimensions."""
    pat = _const_text(pattern, "pattern").encode("utf-8")
    _pattern({"pattern": pat})
    rew = _const_text(rewrite, "rewrite").encode("utf-8")
    return _unary("RegexReplace", input, {"pattern": pat, "rewrite": rew,
                                          "replace_global": bool(replace_global)}, name)


# ------------------------------------------------------------------ substr
def _broadcast_infer(ctx):
    shapes = ctx.shapes
    if any(s.rank is None for s in shapes):
        return [(dt.string, TensorShape(None))]
    rank = max(s.rank for s in shapes)
    dims = []
    for i in range(rank):
        size = 1
        for s in shapes:
            d = s.dims[i - rank + s.rank] if i - rank + s.rank >= 0 else 1
            if d is None:
                size = None if size in (1, None) else size
            elif d != 1:
                if size not in (1, None) and size != d:
                    got = " vs. ".join(ctx.fmt(j) for j in range(len(shapes)))
                    raise ctx.fail(f"Input shapes do not match: {got}")
                size = d
        dims.append(size)
    return [(dt.string, TensorShape(dims))]


def _substr_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`input` must be a string tensor, got {ctx.dtypes[0].name}", TypeError)
    for i, what in ((1, "pos"), (2, "len")):
        if not ctx.dtypes[i].is_integer:
            raise ctx.fail(f"`{what}` must be an int32 or int64 tensor, got "
                           f"{ctx.dtypes[i].name}", TypeError)
    return _broadcast_infer(ctx)


def _utf8_starts(v: bytes) -> list[int]:
    return [i for i, c in enumerate(v) if c & 0xC0 != 0x80] + [len(v)]


def _substr_build(k):
    x, pos, ln, out = k.ins[0], k.ins[1], k.ins[2], k.outs[0]
    utf8 = k.attrs["unit"] == "UTF8_CHAR"

    def run():
        xs, ps, ls = np.broadcast_arrays(x, pos, ln)
        flat = out.reshape(-1)
        for i, (v, p, n) in enumerate(zip(xs.reshape(-1), ps.reshape(-1), ls.reshape(-1),
                                          strict=True)):
            v = _b(v)
            starts = _utf8_starts(v) if utf8 else None
            size = len(starts) - 1 if utf8 else len(v)
            p, n = int(p), int(n)
            if p > size or p < -size:
                raise InvalidArgumentError(f"pos {p} out of range for string {v!r} at index {i}")
            if p < 0:
                p += size
            end = size if n < 0 else min(size, p + n)
            flat[i] = v[starts[p]:starts[end]] if utf8 else v[p:end]
    return run


row("Substr", _substr_infer, _substr_build, None)


def substr(input: Any, pos: Any, len: Any, name: str | None = None,  # noqa: A002
           unit: str = "BYTE") -> Tensor:
    """Substrings (TF's ``tf.strings.substr``): ``len`` bytes (or UTF-8 characters)
    from ``pos`` (negative: from the end; a negative ``len``: to the end). ``pos`` and
    ``len`` broadcast against ``input``; elementwise over leading dimensions.

    Raises:
        At run time InvalidArgumentError "pos P out of range for string S at index I"
        when ``pos`` is beyond the string (TF's text).
    """
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"unit must be 'BYTE' or 'UTF8_CHAR'. Received: {unit!r}")
    t = _string(input, "input")
    p = pos._as_tensor() if is_tensor(pos) else convert_to_tensor(pos, dt.int32)
    n = len._as_tensor() if is_tensor(len) else convert_to_tensor(len, p.dtype)
    return make_op("Substr", [t, p, n], {"unit": unit}, name=name or "Substr").outputs[0]


# ------------------------------------------------------------------ join, as_string
def _tf_shape(s: TensorShape) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in s.dims) + "]"


def _join_infer(ctx):
    for i, d in enumerate(ctx.dtypes):
        if not d.is_string:
            raise ctx.fail(f"input {i} must be a string tensor, got {d.name}", TypeError)
    shapes = [s for s in ctx.shapes if s.rank != 0]
    if not shapes:
        return [(dt.string, TensorShape([]))]
    first = shapes[0]
    for s in shapes[1:]:
        if not s.is_compatible_with(first):
            raise ctx.fail(f"Input shapes do not match: {_tf_shape(first)} vs. {_tf_shape(s)}")
        first = first.merge_with(s)
    return [(dt.string, first)]


def _join_build(k):
    ins, out, sep = k.ins, k.outs[0], k.attrs["separator"]

    def run():
        arrays = np.broadcast_arrays(*ins)
        flat = out.reshape(-1)
        cols = [a.reshape(-1) for a in arrays]
        for i in range(flat.shape[0]):
            flat[i] = sep.join(_b(c[i]) for c in cols)
    return run


row("StringJoin", _join_infer, _join_build, None)


def join(inputs: Any, separator: Any = "", name: str | None = None) -> Tensor:
    """Join strings elementwise (TF's ``tf.strings.join`` / ``tf.string_join``): scalars
    broadcast, other inputs must have one shape. Elementwise over leading dimensions.

    Args:
        inputs: a list of string tensors.
        separator: put between the parts.
        name: op name.
    """
    if is_tensor(inputs) or isinstance(inputs, (str, bytes)) or not inputs:
        raise TypeError("join: inputs must be a non-empty list of string tensors")
    ts = [_string(x, f"inputs[{i}]") for i, x in enumerate(inputs)]
    sep = _const_text(separator, "separator").encode("utf-8")
    return make_op("StringJoin", ts, {"separator": sep}, name=name or "StringJoin").outputs[0]


def string_join(inputs: Any, separator: Any = "", name: str | None = None) -> Tensor:
    """TF1's ``tf.string_join`` (= :func:`join`)."""
    return join(inputs, separator, name)


def _as_string_fn(a):
    prec, sci, shortest, width, fill = (a["precision"], a["scientific"], a["shortest"],
                                        a["width"], a["fill"])
    flags = "0" if fill == "0" else ""
    wid = str(width) if width > -1 else ""
    if a["kind"] == "f":
        conv = "g" if shortest else ("e" if sci else "f")
        spec = "%" + flags + wid + (f".{prec}" if prec > -1 else "") + conv
    elif a["kind"] == "b":
        return lambda v: (b"true" if v else b"false")
    else:
        spec = "%" + flags + wid + "d"
    pad = fill if fill not in ("", "0") else ""

    def fmt(v):
        s = spec % v
        if pad and width > len(s):
            s = pad * (width - len(s)) + s
        return s.encode("ascii")
    return fmt


def _as_string_infer(ctx):
    d = ctx.dtypes[0]
    if d.is_string:
        raise ctx.fail("`input` must be a number or bool tensor, got string", TypeError)
    return [(dt.string, ctx.shapes[0])]


def _as_string_build(k):
    x, out = k.ins[0], k.outs[0]
    fn = _as_string_fn(k.attrs)

    def run():
        flat = out.reshape(-1)
        flat[...] = [fn(v) for v in x.reshape(-1).tolist()] if x.size else flat
    return run


row("AsString", _as_string_infer, _as_string_build, None)


def as_string(input: Any, precision: int = -1, scientific: bool = False,  # noqa: A002
              shortest: bool = False, width: int = -1, fill: str = "",
              name: str | None = None) -> Tensor:
    """Numbers and bools as strings (TF's ``tf.strings.as_string``; floats ``%f`` by
    default, ``true`` / ``false``), elementwise over leading dimensions."""
    t = input._as_tensor() if is_tensor(input) else convert_to_tensor(input)
    if len(fill) > 1:
        raise ValueError(f"fill must be at most one character. Received: {fill!r}")
    if scientific and shortest:
        raise ValueError("Cannot select both scientific and shortest notation")
    kind = "f" if t.dtype.is_floating else ("b" if t.dtype.is_bool else "i")
    return make_op("AsString", [t], {"precision": int(precision), "scientific": bool(scientific),
                                     "shortest": bool(shortest), "width": int(width),
                                     "fill": fill, "kind": kind},
                   name=name or "AsString").outputs[0]


# ------------------------------------------------------------------ splits (SparseTensor)
def _split_infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`source` must be a string tensor, got {ctx.dtypes[0].name}", TypeError)
    s = ctx.shapes[0]
    if s.rank is not None and s.rank != 1:
        raise ctx.fail(f"input must be a vector, got shape: {ctx.fmt(0)}")
    b = None if s.rank is None else s.dims[0]
    return [(dt.int64, TensorShape([b, None])), (dt.string, TensorShape([b, None])),
            (dt.int64, TensorShape([2]))]


def _tokens(v: bytes, a) -> list[bytes]:
    if a["mode"] == "chars":          # string_split: any byte of the delimiter
        delim = a["sep"]
        if not delim:
            return [v[i:i + 1] for i in range(len(v))]
        parts = re.split(b"[" + re.escape(delim) + b"]", v) if len(delim) > 1 else v.split(delim)
        return [p for p in parts if p] if a["skip_empty"] else parts
    sep, maxsplit = a["sep"], a["maxsplit"]   # strings.split: Python's str.split rules
    return v.split(sep or None, maxsplit)


def _split_eager(k):
    x, a = k.ins[0], k.attrs
    rows = [_tokens(_b(v), a) for v in x.reshape(-1)]
    longest = max((len(r) for r in rows), default=0)
    width = round_slots(longest)
    cols = np.full((len(rows), width), -1, np.int64)
    vals = np.full((len(rows), width), b"", dtype=object)
    for i, r in enumerate(rows):
        cols[i, :len(r)] = np.arange(len(r))
        if r:
            vals[i, :len(r)] = r
    return [cols, vals, np.array([len(rows), longest], np.int64)]


dynamic_row("StringSplit", _split_infer, _split_eager, None)


def _split_op(source: Any, attrs: dict, name: str | None) -> SparseTensor:
    t = _string(source, "source")
    if t.shape.rank is not None and t.shape.rank != 1:
        raise ValueError(f"input must be a vector, got shape: {t.shape}")
    op = make_op("StringSplit", [t], attrs, name=name or "StringSplit")
    cols, vals, shape = op.outputs
    return SparseTensor.from_parts(cols, vals, shape,
                                   TensorShape([t.shape.dims[0] if t.shape.rank else None,
                                                None]))


def string_split(source: Any, sep: Any = None, skip_empty: bool = True, delimiter: Any = None,
                 result_type: str = "SparseTensor", name: str | None = None) -> SparseTensor:
    """Split each string of a vector (TF1's ``tf.string_split``): every byte of the
    delimiter (``sep``, or its old name ``delimiter``; default ``' '``) is a delimiter
    (``''``: split into single bytes); empty tokens dropped with ``skip_empty``. Token
    ``j`` of string ``i`` is at ``[i, j]`` of the result, whose dense shape is
    ``[len(source), most tokens]``.

    Returns:
        A string SparseTensor (row-padded inside the engine; ``Session.run`` gives a
        SparseTensorValue with TF's indices / values / dense_shape).

    Raises:
        ValueError: both ``sep`` and ``delimiter``, ``result_type='RaggedTensor'``, or a
            source that is not a vector.
    """
    if sep is not None and delimiter is not None:
        raise ValueError("string_split: pass sep or its old name delimiter, not both")
    if result_type != "SparseTensor":
        raise ValueError(f"result_type={result_type!r}: estcore has no RaggedTensor; use "
                         "result_type='SparseTensor' (TF 1.15's default)")
    d = sep if sep is not None else (delimiter if delimiter is not None else " ")
    delim = _const_text(d, "sep").encode("utf-8")
    return _split_op(source, {"mode": "chars", "sep": delim, "skip_empty": bool(skip_empty),
                              "maxsplit": -1}, name)


def split(input: Any = None, sep: Any = None, maxsplit: int = -1,  # noqa: A002
          result_type: str = "SparseTensor", source: Any = None,
          name: str | None = None) -> SparseTensor:
    """TF 1.15's ``tf.strings.split`` with Python's split rules: ``sep=None`` (or
    ``''``) splits at runs of whitespace and drops empty tokens; a ``sep`` string splits
    at each occurrence and keeps empty tokens; at most ``maxsplit`` splits
    (``-1``: no limit). The result is a SparseTensor as :func:`string_split`'s.

    Raises:
        ValueError: ``result_type='RaggedTensor'`` (estcore has no RaggedTensor) or a
            source that is not a vector.
    """
    if source is not None:
        if input is not None:
            raise ValueError("split: pass input or its old name source, not both")
        input = source  # noqa: A001
    if result_type != "SparseTensor":
        raise ValueError(f"result_type={result_type!r}: estcore has no RaggedTensor; use "
                         "result_type='SparseTensor' (TF 1.15's default)")
    s = None if sep is None else _const_text(sep, "sep").encode("utf-8")
    return _split_op(input, {"mode": "python", "sep": s or None, "skip_empty": True,
                             "maxsplit": int(maxsplit)}, name)


not_differentiable("StringLength", "StringStrip", "StringUpper", "StringLower", "RegexFullMatch",
                   "RegexReplace", "Substr", "StringJoin", "AsString", "StringSplit")
