"""A traced graph as a TensorFlow ``GraphDef`` for TensorBoard's Graphs tab.

Owns the encoding of an :class:`estcore.graph.ir.Graph` as the ``GraphDef`` protocol
buffer an event file carries (``Event.graph_def``): one ``NodeDef`` per operation,
named as in the user's code (``dense/MatMul``: TensorBoard groups nodes by name scope),
its inputs (``op``, ``op:1``, ``^op`` for control inputs), its op type, and as
attributes the dtype and static shapes of its outputs (``dtype``, ``_output_shapes``,
shown on the edges) and the op's plain attributes (numbers, strings, lists of them).
Constant values and other array attributes are left out (TensorBoard draws the graph
without them). Field numbers are those of ``tensorflow/core/framework/graph.proto``::

    GraphDef        node=1 (NodeDef), versions=4 (VersionDef: producer=1)
    NodeDef         name=1, op=2, input=3, device=4, attr=5 (map<string, AttrValue>)
    AttrValue       list=1 (ListValue), s=2, i=3, f=4, b=5, type=6, shape=7
    ListValue       s=2, i=3 (packed), f=4 (packed), b=5, type=6, shape=7
    TensorShapeProto  dim=2 {size=1}, unknown_rank=3

Must not: change or run the graph; import protobuf (bytes through
:mod:`estcore.proto.wire`).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from estcore.proto import wire as p

__all__ = ["graph_def_bytes", "DT_ENUM", "PRODUCER_VERSION"]

# TF's DataType enum (types.proto) for the dtypes estcore has.
DT_ENUM = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6,
           "string": 7, "int64": 9, "bool": 10, "uint16": 17, "float16": 19, "uint32": 22,
           "uint64": 23}
PRODUCER_VERSION = 1087  # TF 2.15's GraphDef version; TensorBoard only displays it


def _shape(dims: list | None) -> bytes:
    if dims is None:
        return p.field_varint(3, 1)  # unknown_rank
    return b"".join(p.field_bytes(2, p.field_varint(1, -1 if d is None else int(d)))
                    for d in dims)


def _list(values: list) -> bytes | None:
    """A ListValue of ints, floats, strings or bools (None for anything else)."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return b"".join(p.field_varint(5, int(v)) for v in values)
    if all(isinstance(v, (int, np.integer)) for v in values):
        return p.field_bytes(3, b"".join(p.varint(int(v)) for v in values))
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        return p.field_bytes(4, b"".join(struct.pack("<f", float(v)) for v in values))
    if all(isinstance(v, (str, bytes)) for v in values):
        return b"".join(p.field_bytes(2, v) for v in values)
    return None


def _attr(value: Any) -> bytes | None:
    """The AttrValue of a plain op attribute; None when it has no simple encoding."""
    if isinstance(value, (bool, np.bool_)):
        return p.field_varint(5, int(value))
    if isinstance(value, (int, np.integer)):
        return p.field_varint(3, int(value))
    if isinstance(value, (float, np.floating)):
        return p.field_float(4, float(value))
    if isinstance(value, (str, bytes)):
        return p.field_bytes(2, value)
    name = getattr(value, "name", None)
    if isinstance(name, str) and name in DT_ENUM and hasattr(value, "as_numpy_dtype"):
        return p.field_varint(6, DT_ENUM[name])  # a DType
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        body = _list(list(value))
        return None if body is None else p.field_bytes(1, body)
    return None


def _input_name(tensor: Any) -> str:
    index = getattr(tensor, "value_index", 0)
    return tensor.op.name if not index else f"{tensor.op.name}:{index}"


def _node(op: Any) -> bytes:
    out = p.field_bytes(1, op.name) + p.field_bytes(2, op.type)
    for t in op.inputs:
        out += p.field_bytes(3, _input_name(t))
    for c in op.control_inputs:
        out += p.field_bytes(3, "^" + c.name)
    attrs: dict[str, bytes] = {}
    for key, value in sorted(op.attrs.items()):
        encoded = _attr(value)
        if encoded is not None and isinstance(key, str):
            attrs[key] = encoded
    if op.outputs:
        dtype = op.outputs[0].dtype.name
        if "dtype" not in attrs and dtype in DT_ENUM:
            attrs["dtype"] = p.field_varint(6, DT_ENUM[dtype])
        shapes = b"".join(
            p.field_bytes(7, _shape(t.shape.as_list() if t.shape.rank is not None else None))
            for t in op.outputs)
        attrs["_output_shapes"] = p.field_bytes(1, shapes)
    for key in sorted(attrs):
        out += p.field_bytes(5, p.field_bytes(1, key) + p.field_bytes(2, attrs[key]))
    return out


def graph_def_bytes(graph: Any) -> bytes:
    """The serialized ``GraphDef`` of every operation of ``graph``, in creation order.

    Args:
        graph: an :class:`estcore.graph.ir.Graph` (finalized or not).

    Returns:
        Protocol-buffer bytes for ``Event.graph_def``.
    """
    nodes = b"".join(p.field_bytes(1, _node(op)) for op in graph.get_operations())
    return nodes + p.field_bytes(4, p.field_varint(1, PRODUCER_VERSION))
