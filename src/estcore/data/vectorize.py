"""Batching rules: rewrite a per-element graph into one that runs on a chunk at once.

A map function is traced once on per-element placeholders. :func:`vectorize` copies
that graph node by node into a new graph whose placeholders have an extra leading
(element) axis. Nodes that do not depend on an input are copied unchanged; every node
that does needs a rule here, else :class:`NotVectorizable` is raised and the map runs
element by element. The rules (the one list of them; docs/input_pipeline.md
repeats it):

* elementwise ops (:data:`ELEMENTWISE`): unchanged; an input of lower per-element rank
  than the output gets size-1 axes after the element axis, so numpy broadcasting pairs
  the same dimensions as in the per-element graph;
* ops elementwise over leading dimensions (:data:`LEADING`, e.g. decoders that map
  each record of any-shaped input to values): unchanged;
* axis ops (reductions, ArgMax/ArgMin, ExpandDims, Squeeze, ConcatV2, Pack, Unpack,
  Transpose, OneHot): the axis attribute shifted by one (negative axes unchanged; "all
  axes" made explicit);
* Reshape: ``[-1] + per-element target`` (the target must be known when tracing);
* StridedSlice (``x[key]``): ``x[:, key]``; GatherV2 with indices that do not depend on
  the element: the axis shifted;
* ParseExample: the element and record axes are merged before and split after;
* Shape / Size / Rank of an input with a fully known per-element shape: a constant.

Anything else (MatMul, random ops, py_func, image ops, ...) is not vectorised.

Must not: run graphs (``mapping.py`` does); change the per-element graph.
"""

from __future__ import annotations

import numpy as np

from estcore.graph.ir import Graph, Operation
from estcore.graph.ops.array_ops import expand_dims, placeholder, reshape
from estcore.graph.ops.core import constant, constant_value, make_op
from estcore.graph.tensor import Tensor

__all__ = ["vectorize", "NotVectorizable", "ELEMENTWISE", "LEADING", "AXIS_OPS"]

ELEMENTWISE = frozenset({
    "Abs", "Cast", "Ceil", "Cos", "Exp", "Floor", "Identity", "IsFinite", "IsInf", "IsNan",
    "Log", "Log1p", "LogicalNot", "Neg", "Reciprocal", "Round", "Rsqrt", "Sigmoid", "Sign",
    "Sin", "Sqrt", "Square", "Tanh", "Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign",
    "LeakyRelu", "StopGradient", "ZerosLike", "OnesLike",
    "Add", "Sub", "Mul", "RealDiv", "FloorDiv", "FloorMod", "Pow", "Maximum", "Minimum",
    "SquaredDifference", "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual",
    "LogicalAnd", "LogicalOr", "LogicalXor", "SelectV2", "AddN",
    "StringJoin", "Substr",  # string ops that broadcast their inputs elementwise
})

# Elementwise over any leading dimensions, one element-dependent input (the first): the
# decoders (one record -> its values; FILES' parsing_ops) and the unary string ops of
# string_ops.py, bucketize and vocabulary lookup (values -> ids).
LEADING = frozenset({
    "DecodeCSV", "DecodeRaw", "StringToNumber", "StringStrip", "StringLower", "StringUpper",
    "StringLength", "RegexReplace", "RegexFullMatch", "AsString", "StringToHashBucketFast",
    "Bucketize", "VocabularyLookup", "LookupTableFind",
})

AXIS_OPS = frozenset({"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "ArgMax", "ArgMin",
                      "ExpandDims", "Squeeze", "ConcatV2", "Pack", "Unpack", "Transpose",
                      "OneHot"})

_REDUCE = frozenset({"Sum", "Mean", "Max", "Min", "Prod", "All", "Any"})
_CONSTANT_PER_ELEMENT = frozenset({"Shape", "Size", "Rank"})  # rewritten to constants


class NotVectorizable(Exception):
    """The traced function holds an op without a batching rule (named in the message)."""


def _shift(axis: int) -> int:
    return axis + 1 if axis >= 0 else axis


def _rank(t: Tensor) -> int:
    r = t.shape.rank
    if r is None:
        raise NotVectorizable(f"'{t.name}' has unknown rank")
    return r


class _Rewriter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.map: dict[int, tuple[Tensor, bool]] = {}  # id(old tensor) -> (new, batched)

    def get(self, t: Tensor) -> tuple[Tensor, bool]:
        return self.map[id(t)]

    def copy(self, op: Operation, inputs: list[Tensor], attrs: dict | None = None) -> list:
        new = make_op(op.type, inputs, dict(op.attrs) if attrs is None else attrs,
                      name=op.name, graph=self.graph)
        return list(new.outputs)

    def batched_node(self, op: Operation, ins: list[tuple[Tensor, bool]]) -> list[Tensor]:
        t = op.type
        xs = [x for x, _ in ins]
        if t in ELEMENTWISE:
            r_out = max(_rank(o) for o in op.outputs)
            fixed = []
            for (x, b), old in zip(ins, op.inputs, strict=True):
                if b:
                    for _ in range(r_out - _rank(old)):
                        x = expand_dims(x, 1)
                fixed.append(x)
            return self.copy(op, fixed)
        if t in LEADING:
            if not all(b for _, b in ins[:1]):
                raise NotVectorizable(f"{t}: only its first input may depend on the element")
            if any(b for _, b in ins[1:]):
                raise NotVectorizable(f"{t}: a per-element attribute input")
            return self.copy(op, xs)
        if t in AXIS_OPS:
            return self._axis_op(op, ins)
        if t == "Reshape":
            if ins[1][1]:
                raise NotVectorizable("Reshape with a per-element target shape")
            target = op.outputs[0].shape
            if not target.is_fully_defined():
                raise NotVectorizable("Reshape to a shape not known when tracing")
            return [reshape(xs[0], [-1, *target.as_list()])]
        if t == "ParseExample":
            if any(b for _, b in ins[1:]):
                raise NotVectorizable("ParseExample with per-element defaults")
            r = _rank(op.inputs[0])
            if r == 0:
                return self.copy(op, xs)
            inner = op.inputs[0].shape.as_list()
            if None in inner:
                raise NotVectorizable("ParseExample of a record vector of unknown length")
            flat = reshape(xs[0], [-1])
            outs = self.copy(op, [flat, *xs[1:]])
            return [reshape(o, [-1, *inner, *old.shape.as_list()[len(inner):]])
                    for o, old in zip(outs, op.outputs, strict=True)]
        if t == "StridedSlice":  # x[key] per element is x[:, key] over the chunk
            attrs = dict(op.attrs)
            attrs["key"] = (slice(None), *attrs["key"])
            return self.copy(op, xs, attrs)
        if t == "GatherV2":
            if ins[1][1]:
                raise NotVectorizable("GatherV2 with per-element indices")
            attrs = dict(op.attrs)
            attrs["axis"] = _shift(int(attrs["axis"]))
            return self.copy(op, xs, attrs)
        if t in ("Shape", "Size", "Rank"):
            v = constant_value(op.outputs[0])
            if v is None:
                raise NotVectorizable(f"{t} of an input with unknown per-element shape")
            return [constant(np.asarray(v))]
        raise NotVectorizable(f"op {t} ('{op.name}') has no batching rule")

    def _axis_op(self, op: Operation, ins: list[tuple[Tensor, bool]]) -> list[Tensor]:
        t = op.type
        attrs = dict(op.attrs)
        xs = [x for x, _ in ins]
        if t in ("ConcatV2", "Pack") and not all(b for _, b in ins):
            raise NotVectorizable(f"{t} mixing per-element and constant inputs")
        if t in _REDUCE:
            axis = attrs.get("axis")
            if axis is None:
                axis = tuple(range(_rank(op.inputs[0])))
            attrs["axis"] = tuple(_shift(int(a)) for a in axis)
        elif t == "Squeeze":
            axis = attrs.get("axis")
            if axis is None:
                shape = op.inputs[0].shape
                if not shape.is_fully_defined():
                    raise NotVectorizable("Squeeze of all size-1 axes of an unknown shape")
                axis = [i for i, d in enumerate(shape.as_list()) if d == 1]
            attrs["axis"] = [_shift(int(a)) for a in axis]
        elif t == "Transpose":
            perm = attrs.get("perm")
            if perm is None:
                perm = list(range(_rank(op.inputs[0])))[::-1]
            attrs["perm"] = [0] + [int(p) + 1 for p in perm]
        elif "axis" in attrs:
            attrs["axis"] = _shift(int(attrs["axis"]))
        if t == "OneHot" and any(b for _, b in ins[1:]):
            raise NotVectorizable("OneHot with per-element on/off values")
        return self.copy(op, xs, attrs)


def vectorize(inputs: list[Tensor], outputs: list[Tensor]) -> tuple[Graph, list, list]:
    """A batched copy of the graph between ``inputs`` (per-element placeholders) and
    ``outputs``.

    Returns:
        ``(graph, placeholders, outputs)`` of the batched graph: placeholders of shape
        ``[None] + per-element shape``; an output that does not depend on the inputs is
        returned as ``(tensor, False)`` in ``outputs`` (it must be tiled by the caller).

    Raises:
        NotVectorizable: an op without a rule (see the module docstring), a stateful op,
            or a control dependency.
    """
    old_graph = inputs[0].graph if inputs else outputs[0].graph
    g = Graph()
    rw = _Rewriter(g)
    phs = []
    with g.as_default():
        for x in inputs:
            ph = placeholder(x.dtype, [None, *x.shape.as_list()], name=x.op.name)
            phs.append(ph)
            rw.map[id(x)] = (ph, True)
        for op in old_graph.get_operations():
            if op.type == "Placeholder" and id(op.outputs[0]) in rw.map:
                continue
            if op.control_inputs:
                raise NotVectorizable(f"'{op.name}' has control dependencies")
            if op.type in ("VariableV2", "RandomUniform", "RandomNormal", "Dropout"):
                raise NotVectorizable(f"stateful op {op.type}")
            if op.type == "Placeholder":
                raise NotVectorizable("a placeholder that is not an element input")
            ins = [rw.get(x) for x in op.inputs]
            if any(b for _, b in ins):
                outs = rw.batched_node(op, ins)
                batched = op.type not in _CONSTANT_PER_ELEMENT
            else:
                outs = rw.copy(op, [x for x, _ in ins])
                batched = False
            for old, new in zip(op.outputs, outs, strict=True):
                rw.map[id(old)] = (new, batched)
    return g, phs, [rw.get(t) for t in outputs]
