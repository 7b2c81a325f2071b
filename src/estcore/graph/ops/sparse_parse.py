"""``VarLenFeature`` parsing: serialized Examples -> row-padded SparseTensors.

Owns the row ``ParseExampleVarLen`` (a data-dependent-shape row, ``extra["dynamic"]``:
the padded width ``L`` is the longest value list of the batch, known only once the
Examples are decoded; see ``graph/segments.py``) and :func:`parse_varlen`, which
``parse_example`` calls for its ``VarLenFeature`` keys. Each key gives a SparseTensor
with TF's ``dense_shape`` ``[batch, longest list]`` and TF's values in order; an Example
without the feature contributes an empty row. The C kernel
(``est_example_parse_varlen``, csrc/pipeline/est_example.c) parses the batch; a record
it cannot serve sends the whole batch to the Python decoder here, which words TF's error.

Must not: parse ``FixedLenFeature`` (``parsing_ops.py`` does); hold the SparseTensor class.
"""

from __future__ import annotations

import numpy as np

from estcore._lib import _pipeline
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph import example_proto as ex
from estcore.graph.ops import array_ops
from estcore.graph.ops.core import convert_to_tensor, make_op
from estcore.graph.ops.decode_ops import parse_threads, strings_1d
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import SparseTensor

__all__ = ["parse_varlen"]

_KINDS = {"float32": ex.FLOAT, "int64": ex.INT64, "string": ex.BYTES}


def _infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`serialized` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    s = ctx.shapes[0]
    b = s[0] if s.rank == 1 else None
    out = []
    for d in ctx.attrs["dtypes"]:
        out += [(dt.int64, TensorShape([b, None])), (d, TensorShape([b, None]))]
    return out


_C_KINDS = {"float32": _pipeline.EXAMPLE_FLOAT, "int64": _pipeline.EXAMPLE_INT64,
            "string": _pipeline.EXAMPLE_BYTES}


def _eager(k):
    keys, dtypes = k.attrs["keys"], k.attrs["dtypes"]
    out = _parse_in_c(np.asarray(k.ins[0]), keys, dtypes)
    return out if out is not None else _parse_in_python(k, keys, dtypes)


def _parse_in_c(serialized: np.ndarray, keys: tuple, dtypes: tuple) -> list | None:
    """``[cols, values] * len(keys)`` from the C kernel; None when a record (or an
    element that is not bytes, or the host) needs the Python decoder."""
    flat = strings_1d(serialized)
    try:
        res = _pipeline.parse_example_varlen(flat, [key.encode("utf-8") for key in keys],
                                             [_C_KINDS[d.name] for d in dtypes],
                                             parse_threads())
    except TypeError:  # an element that is not bytes / str
        return None
    if res is None or res[0] >= 0:
        return None
    _, counts, values = res
    out = []
    for j, (vals, d) in enumerate(zip(values, dtypes, strict=True)):
        cols = np.arange(vals.shape[1], dtype=np.int64)[None, :].repeat(vals.shape[0], 0)
        cols[cols >= counts[:, j:j + 1]] = -1
        out += [cols, vals if vals.dtype == (object if d.is_string else d.np)
                else vals.astype(d.np)]
    return out


def _parse_in_python(k, keys: tuple, dtypes: tuple) -> list:
    """The reference decoder: words every error."""
    serialized = np.asarray(k.ins[0]).reshape(-1)
    where = f"ParseExample '{k.node.name}': " if k.node is not None else ""
    rows: list[list] = [[] for _ in keys]
    for b, data in enumerate(serialized):
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            parsed = ex.decode_example(bytes(data), keys)
        except (ValueError, OverflowError, TypeError) as e:
            raise InvalidArgumentError(f"{where}Could not parse example input {b} ({e})") \
                from None
        for j, (key, d) in enumerate(zip(keys, dtypes, strict=True)):
            found = parsed.get(key)
            if found is None:
                rows[j].append([])
                continue
            kind, values = found
            if kind != _KINDS[d.name]:
                raise InvalidArgumentError(
                    f"{where}Name: <unknown>, Key: {key}, Index: {b}.  Data types don't "
                    f"match. Data type: {ex.KIND_NAMES[kind]} but expected type: "
                    f"{'float' if d is dt.float32 else d.name}")
            rows[j].append(list(values))
    out = []
    for r, d in zip(rows, dtypes, strict=True):
        width = max((len(v) for v in r), default=0)
        cols = np.full((len(r), width), -1, np.int64)
        vals = np.full((len(r), width), b"" if d.is_string else 0,
                       object if d.is_string else d.np)
        for i, v in enumerate(r):
            cols[i, :len(v)] = np.arange(len(v))
            if v:
                vals[i, :len(v)] = v
        out += [cols, vals]
    return out


dynamic_row("ParseExampleVarLen", _infer, _eager, NO_GRADIENT)


def parse_varlen(serialized, specs: dict, name: str | None = None) -> dict:
    """``key -> SparseTensor`` for ``specs`` (key -> VarLenFeature) over a ``[batch]``
    string tensor of serialized Examples."""
    keys = tuple(sorted(specs))
    dtypes = []
    for k in keys:
        d = dt.as_dtype(specs[k].dtype)
        if d.name not in _KINDS:
            raise ValueError(f"Feature {k!r}: unsupported dtype {d.name}; a serialized "
                             "Example holds float32, int64 or string values.")
        dtypes.append(d)
    t = convert_to_tensor(serialized, dt.string)
    op = make_op("ParseExampleVarLen", [t], {"keys": keys, "dtypes": tuple(dtypes)},
                 name=(name or "ParseExample") + "_varlen")
    out = {}
    for j, k in enumerate(keys):
        cols, vals = op.outputs[2 * j], op.outputs[2 * j + 1]
        out[k] = SparseTensor.from_parts(cols, vals, array_ops.shape(cols, out_type=dt.int64),
                                         shape=TensorShape([t.shape[0] if t.shape.rank == 1
                                                            else None, None]))
    return out
