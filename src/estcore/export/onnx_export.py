"""Convert an export's serving graph to ONNX (opset 17), using the ``onnx`` package.

One ONNX model per export, for the default signature (``serving_default``, else
the first): graph inputs are the signature's input keys, graph outputs its
output keys, variables and constants become initializers. Every estcore tensor
``"node:0"`` keeps its name as the ONNX value name.

Mapping (NHWC ops get Transposes around the NCHW ONNX op; onnxruntime folds them):

* ``Dense`` -> MatMul + Add + activation; ``FusedConv2D``/``Conv2D`` -> Conv (kernel
  transposed HWIO -> OIHW, SAME -> SAME_UPPER) + activation; ``MaxPool``/``AvgPool``
  (count_include_pad=0, as TF's SAME); batch normalization in inference mode arrives
  decomposed (Rsqrt/Mul/Sub/Add on the moving statistics) and maps op by op;
* elementwise math, comparisons, logical ops, activations, Softmax/LogSoftmax,
  ArgMax/ArgMin, Cast, Reshape, Transpose, ConcatV2, Pack, ExpandDims, Squeeze,
  Tile, Shape, GatherV2, SelectV2, StridedSlice (ints, slices, ``...``, newaxis),
  reductions (Sum/Mean/Max/Min/Prod), Identity/StopGradient, BiasAdd, MatMul (with transposes);
* control flow: ``Cond`` (``tf.cond`` / ``tf.case``) -> If, its branches converted into
  the If's sub-graphs (they read outer values by name); ``MapFn`` (``tf.map_fn``) ->
  Scan over dimension 0 with the body as the Scan body. A branch or body holding an op
  without a mapping (``Assert``, as ``tf.case`` without a default builds, ``PyFunc``, ...)
  makes the whole graph unsupported, as anywhere else.

Any other op type raises :class:`UnsupportedOpsError` naming every unsupported
node; the caller then writes the native format only.

Must not: import ``onnx`` at module level (an optional dependency, ``estcore[onnx]``:
imported where a model is built); change or approximate an op that has no exact ONNX
mapping (it is listed in :class:`UnsupportedOpsError` instead); write the native export
format (``writer.py`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.graph.ops.activations import SELU_ALPHA, SELU_SCALE

__all__ = ["UnsupportedOpsError", "convert", "write_onnx", "OPSET"]

OPSET = 17


class UnsupportedOpsError(ValueError):
    """Some nodes of the graph have no ONNX equivalent here; ``ops`` names every one
    (``"<op type> '<node name>'"``), the message counts them by op type (a parsing
    export of a wide model has dozens of such nodes, of a few types)."""

    MAX_TYPES = 6   # op types named in the message; the rest are counted

    def __init__(self, ops: list[str]):
        self.ops = ops
        counts: dict[str, int] = {}
        for o in ops:
            t = o.split(" ", 1)[0]
            counts[t] = counts.get(t, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{t} ({n})" for t, n in ranked[:self.MAX_TYPES])
        if len(ranked) > self.MAX_TYPES:
            shown += f" and {len(ranked) - self.MAX_TYPES} more op types"
        nodes = f"{len(ops)} node{'s' if len(ops) != 1 else ''}"
        super().__init__(f"ONNX cannot express {nodes} of op type {shown}"
                         if len(ranked) == 1 else
                         f"ONNX cannot express {nodes} of {len(ranked)} op types: {shown}")


class _Builder:
    def __init__(self, onnx_mod: Any):
        self.onnx = onnx_mod
        self.helper = onnx_mod.helper
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def fresh(self, base: str) -> str:
        self._n += 1
        return f"{base}__onnx{self._n}"

    def const(self, value: np.ndarray, base: str = "const") -> str:
        name = self.fresh(base)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def initializer(self, name: str, value: np.ndarray) -> None:
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))

    def node(self, op: str, ins: list[str], out: str | None = None, base: str = "t",
             **attrs: Any) -> str:
        out = out or self.fresh(base)
        self.nodes.append(self.helper.make_node(op, ins, [out], name=self.fresh(op), **attrs))
        return out


def _onnx_dtype(onnx_mod: Any, np_dtype: Any) -> int:
    return int(onnx_mod.helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype)))


def _activation(b: _Builder, act: str, x: str, out: str, alpha: float) -> str:
    if act == "linear":
        return b.node("Identity", [x], out)
    if act == "relu6":
        lo = b.const(np.array(0, np.float32))
        hi = b.const(np.array(6, np.float32))
        return b.node("Clip", [x, lo, hi], out)
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "elu": "Elu"}
    if act in simple:
        return b.node(simple[act], [x], out)
    if act == "leaky_relu":
        return b.node("LeakyRelu", [x], out, alpha=float(alpha))
    if act == "selu":
        return b.node("Selu", [x], out, alpha=float(SELU_ALPHA), gamma=float(SELU_SCALE))
    raise KeyError(act)


def _typed_const(b: _Builder, value: float, op: Any, i: int = 0) -> str:
    return b.const(np.array(value, dtype=op.outputs[i].dtype.np))


_BINARY = {"Add": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div",
           "Maximum": "Max", "Minimum": "Min", "Pow": "Pow", "Equal": "Equal",
           "Less": "Less", "LessEqual": "LessOrEqual", "Greater": "Greater",
           "GreaterEqual": "GreaterOrEqual", "LogicalAnd": "And", "LogicalOr": "Or",
           "LogicalXor": "Xor"}
_UNARY = {"Neg": "Neg", "Abs": "Abs", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt",
          "Reciprocal": "Reciprocal", "Floor": "Floor", "Ceil": "Ceil", "Sign": "Sign",
          "Round": "Round", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Relu": "Relu",
          "Elu": "Elu", "Softplus": "Softplus", "Softsign": "Softsign", "Sin": "Sin",
          "Cos": "Cos", "IsNan": "IsNaN", "IsInf": "IsInf", "LogicalNot": "Not",
          "Identity": "Identity", "StopGradient": "Identity"}
_REDUCE = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax", "Min": "ReduceMin",
           "Prod": "ReduceProd"}


def _nhwc(b: _Builder, x: str) -> str:
    return b.node("Transpose", [x], perm=[0, 3, 1, 2])


def _conv(b: _Builder, op: Any, ins: list[str], out: str) -> str:
    a = op.attrs
    w = b.node("Transpose", [ins[1]], perm=[3, 2, 0, 1])
    conv_in = [_nhwc(b, ins[0]), w] + ([ins[2]] if len(ins) > 2 else [])
    pad = "SAME_UPPER" if str(a["padding"]).upper() == "SAME" else "VALID"
    y = b.node("Conv", conv_in, strides=[int(s) for s in a["strides"]],
               dilations=[int(d) for d in a.get("dilations", (1, 1))], auto_pad=pad)
    y = b.node("Transpose", [y], perm=[0, 2, 3, 1])
    return _activation(b, a.get("activation", "linear") or "linear", y, out,
                       a.get("alpha", 0.2))


def _pool(b: _Builder, op: Any, ins: list[str], out: str) -> str:
    a = op.attrs
    if tuple(a.get("dilations", (1, 1))) != (1, 1):
        raise KeyError("dilations")
    pad = "SAME_UPPER" if str(a["padding"]).upper() == "SAME" else "VALID"
    kw: dict[str, Any] = {"kernel_shape": [int(k) for k in a["ksize"]],
                          "strides": [int(s) for s in a["strides"]], "auto_pad": pad}
    if op.type == "AvgPool":
        kw["count_include_pad"] = 0
    y = b.node("MaxPool" if op.type == "MaxPool" else "AveragePool", [_nhwc(b, ins[0])], **kw)
    return b.node("Transpose", [y], out, perm=[0, 2, 3, 1])


def _dense(b: _Builder, op: Any, ins: list[str], out: str) -> str:
    y = b.node("MatMul", ins[:2])
    if len(ins) > 2:
        y = b.node("Add", [y, ins[2]])
    return _activation(b, op.attrs.get("activation", "linear"), y, out,
                       op.attrs.get("alpha", 0.2))


def _matmul(b: _Builder, op: Any, ins: list[str], out: str) -> str:
    x, y = ins
    for flag, idx in (("transpose_a", 0), ("transpose_b", 1)):
        if op.attrs.get(flag):
            rank = op.inputs[idx].shape.rank
            perm = list(range(rank - 2)) + [rank - 1, rank - 2]
            if idx == 0:
                x = b.node("Transpose", [x], perm=perm)
            else:
                y = b.node("Transpose", [y], perm=perm)
    return b.node("MatMul", [x, y], out)


def _strided_slice(b: _Builder, op: Any, ins: list[str], out: str) -> str:
    key = tuple(op.attrs["key"])
    rank = op.inputs[0].shape.rank
    if rank is None:
        raise KeyError("rank")
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        e = key.index(Ellipsis)
        key = key[:e] + (slice(None),) * (rank - n_real) + key[e + 1:]
    else:
        key = key + (slice(None),) * (rank - n_real)
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = pos = 0
    for k in key:
        if k is None:
            unsqueeze.append(pos)
            pos += 1
            continue
        if isinstance(k, int):
            starts.append(k)
            ends.append(k + 1 if k != -1 else big)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif k != slice(None):
            step = 1 if k.step is None else k.step
            starts.append(k.start if k.start is not None else (0 if step > 0 else big))
            ends.append(k.stop if k.stop is not None else (big if step > 0 else small))
            axes.append(axis)
            steps.append(step)
            pos += 1
        else:
            pos += 1
        axis += 1
    y = ins[0]
    if axes:
        y = b.node("Slice", [y] + [b.const(np.array(v, np.int64))
                                   for v in (starts, ends, axes, steps)])
    if squeeze:
        y = b.node("Squeeze", [y, b.const(np.array(squeeze, np.int64))])
    if unsqueeze:
        y = b.node("Unsqueeze", [y, b.const(np.array(unsqueeze, np.int64))])
    return b.node("Identity", [y], out)


def _int64(b: _Builder, x: str) -> str:
    return b.node("Cast", [x], to=_onnx_dtype(b.onnx, np.int64))


def _same(onnx_op: str) -> Callable:
    def f(b: _Builder, op: Any, ins: list[str], out: str) -> str:
        return b.node(onnx_op, ins, out)
    return f


def _handlers() -> dict[str, Callable]:
    h: dict[str, Callable] = {}
    for t, o in {**_BINARY, **_UNARY}.items():
        h[t] = _same(o)
    h["Dense"] = _dense
    h["FusedConv2D"] = _conv
    h["Conv2D"] = _conv
    h["MaxPool"] = _pool
    h["AvgPool"] = _pool
    h["MatMul"] = _matmul
    h["Rsqrt"] = lambda b, op, ins, out: b.node("Reciprocal", [b.node("Sqrt", ins)], out)
    h["Square"] = lambda b, op, ins, out: b.node("Mul", [ins[0], ins[0]], out)
    h["SquaredDifference"] = lambda b, op, ins, out: b.node(
        "Mul", [b.node("Sub", ins)] * 2, out)
    h["Log1p"] = lambda b, op, ins, out: b.node(
        "Log", [b.node("Add", [ins[0], _typed_const(b, 1, op)])], out)
    h["Relu6"] = lambda b, op, ins, out: b.node(
        "Clip", [ins[0], _typed_const(b, 0, op), _typed_const(b, 6, op)], out)
    h["LeakyRelu"] = lambda b, op, ins, out: b.node(
        "LeakyRelu", ins, out, alpha=float(op.attrs.get("alpha", 0.2)))
    h["Selu"] = lambda b, op, ins, out: _activation(b, "selu", ins[0], out, 0.0)
    h["Softmax"] = lambda b, op, ins, out: b.node("Softmax", ins, out,
                                                  axis=int(op.attrs["axis"]))
    h["LogSoftmax"] = lambda b, op, ins, out: b.node("LogSoftmax", ins, out,
                                                     axis=int(op.attrs["axis"]))

    def arg(kind: str) -> Callable:
        def f(b: _Builder, op: Any, ins: list[str], out: str) -> str:
            y = b.node(kind, ins, axis=int(op.attrs["axis"]), keepdims=0)
            return b.node("Cast", [y], out, to=_onnx_dtype(b.onnx, op.outputs[0].dtype.np))
        return f

    h["ArgMax"] = arg("ArgMax")
    h["ArgMin"] = arg("ArgMin")
    h["Cast"] = lambda b, op, ins, out: b.node(
        "Cast", ins, out, to=_onnx_dtype(b.onnx, op.outputs[0].dtype.np))
    h["Reshape"] = lambda b, op, ins, out: b.node("Reshape", [ins[0], _int64(b, ins[1])], out)
    h["Tile"] = lambda b, op, ins, out: b.node("Tile", [ins[0], _int64(b, ins[1])], out)
    h["Shape"] = lambda b, op, ins, out: b.node(
        "Cast", [b.node("Shape", ins)], out, to=_onnx_dtype(b.onnx, op.outputs[0].dtype.np))

    def transpose(b: _Builder, op: Any, ins: list[str], out: str) -> str:
        perm = op.attrs.get("perm")
        if perm is None:
            perm = list(range(op.inputs[0].shape.rank))[::-1]
        return b.node("Transpose", ins, out, perm=[int(p) for p in perm])

    h["Transpose"] = transpose
    h["ConcatV2"] = lambda b, op, ins, out: b.node("Concat", ins, out,
                                                   axis=int(op.attrs["axis"]))

    def pack(b: _Builder, op: Any, ins: list[str], out: str) -> str:
        axis = b.const(np.array([int(op.attrs["axis"])], np.int64))
        parts = [b.node("Unsqueeze", [x, axis]) for x in ins]
        return b.node("Concat", parts, out, axis=int(op.attrs["axis"]))

    h["Pack"] = pack
    h["ExpandDims"] = lambda b, op, ins, out: b.node(
        "Unsqueeze", [ins[0], b.const(np.array([int(op.attrs["axis"])], np.int64))], out)

    def squeeze(b: _Builder, op: Any, ins: list[str], out: str) -> str:
        axis = op.attrs.get("axis")
        if axis is None:
            return b.node("Squeeze", ins, out)
        return b.node("Squeeze", [ins[0], b.const(np.array(list(axis), np.int64))], out)

    h["Squeeze"] = squeeze
    h["StridedSlice"] = _strided_slice
    h["GatherV2"] = lambda b, op, ins, out: b.node("Gather", ins, out,
                                                   axis=int(op.attrs["axis"]))
    h["SelectV2"] = lambda b, op, ins, out: b.node("Where", ins, out)

    def reduce(kind: str) -> Callable:
        def f(b: _Builder, op: Any, ins: list[str], out: str) -> str:
            axes = [int(a) for a in op.attrs["axes"]]
            keep = int(bool(op.attrs.get("keepdims", False)))
            if not axes:
                return b.node("Identity", ins, out)
            if kind == "ReduceSum":
                return b.node(kind, [ins[0], b.const(np.array(axes, np.int64))], out,
                              keepdims=keep)
            return b.node(kind, ins, out, axes=axes, keepdims=keep)
        return f

    for t, o in _REDUCE.items():
        h[t] = reduce(o)
    return h


_HANDLERS: dict[str, Callable] | None = None


def convert(inputs: dict, outputs: dict, variables: dict) -> Any:
    """Build the ONNX ModelProto for one signature.

    Args:
        inputs: input key -> placeholder Tensor.
        outputs: output key -> Tensor.
        variables: variable name -> value.

    Raises:
        UnsupportedOpsError: naming every node ONNX cannot express.
    """
    import onnx  # optional third-party dependency (estcore[onnx])

    # the writer imports this module: a real cycle
    from estcore.export.writer import bodies_of, prune

    global _HANDLERS
    if _HANDLERS is None:
        _HANDLERS = _handlers()
    fed = {id(t.op): k for k, t in inputs.items()}
    nodes = prune(list(outputs.values()), stop=fed)
    inside = set()   # nodes of cond branches and map_fn bodies: emitted in sub-graphs
    for op in nodes:
        for body in bodies_of(op):
            inside.update(id(o) for o in body.ops)
            inside.update(id(t.op) for t in body.inputs)
    bad = [f"{op.type} '{op.name}'" for op in nodes
           if op.type not in _HANDLERS and op.type not in _STRUCTURAL
           and id(op) not in fed]
    if bad:
        raise UnsupportedOpsError(bad)
    b = _Builder(onnx)
    names: dict[str, str] = {}
    graph_inputs = []
    for key, t in inputs.items():
        names[t.name] = key
        dims = [d if d is not None else "batch" if i == 0 else f"{key}_d{i}"
                for i, d in enumerate(t.shape.as_list())]
        graph_inputs.append(onnx.helper.make_tensor_value_info(
            key, _onnx_dtype(onnx, t.dtype.np), dims))
    for op in nodes:
        if id(op) in fed or id(op) in inside:
            continue
        if op.type == "VariableV2":
            b.initializer(op.outputs[0].name, variables[op.name])
        else:
            _emit(b, op, names, top=True)
    graph_outputs = []
    for key, t in outputs.items():
        src = names.get(t.name, t.name)
        b.node("Identity", [src], key)
        dims = [d if d is not None else "batch" if i == 0 else f"{key}_d{i}"
                for i, d in enumerate(t.shape.as_list())] if t.shape.rank is not None else None
        graph_outputs.append(onnx.helper.make_tensor_value_info(
            key, _onnx_dtype(onnx, t.dtype.np), dims))
    graph = onnx.helper.make_graph(b.nodes, "estcore_serving", graph_inputs, graph_outputs,
                                   initializer=b.inits)
    model = onnx.helper.make_model(graph, producer_name="estcore",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = min(model.ir_version, 8)
    onnx.checker.check_model(model)
    return model


_STRUCTURAL = ("Const", "VariableV2", "Cond", "MapFn", "MapElement")


def _emit(b: _Builder, op: Any, names: dict, top: bool = False) -> None:
    """Add the ONNX nodes of one estcore node (a constant becomes an initializer at the
    top level, a Constant node inside a sub-graph)."""
    t0 = op.outputs[0] if op.outputs else None
    if op.type == "Const":
        value = op.attrs["value"]
        if value.dtype.kind not in "biuf":
            raise UnsupportedOpsError([f"Const '{op.name}' (string constant)"])
        if top:
            b.initializer(t0.name, value)
        else:
            b.nodes.append(b.helper.make_node(
                "Constant", [], [t0.name], name=b.fresh("Constant"),
                value=b.onnx.numpy_helper.from_array(np.ascontiguousarray(value))))
        return
    if op.type == "VariableV2":   # read inside a sub-graph: an outer initializer
        return
    ins = [names.get(t.name, t.name) for t in op.inputs]
    if op.type == "Cond":
        graphs = [_sub_graph(b, body, names, f"{op.name}/branch{i}", [])
                  for i, body in enumerate(op.attrs["branches"])]
        b.nodes.append(b.helper.make_node("If", [ins[0]], [t.name for t in op.outputs],
                                          name=b.fresh("If"), then_branch=graphs[0],
                                          else_branch=graphs[1]))
        return
    if op.type == "MapFn":
        body, n = op.attrs["body"], op.attrs["n_elems"]
        elems = [b.helper.make_tensor_value_info(t.name, _onnx_dtype(b.onnx, t.dtype.np),
                                                 _dims(t))
                 for t in body.inputs]
        graph = _sub_graph(b, body, names, f"{op.name}/body", elems)
        b.nodes.append(b.helper.make_node("Scan", ins[:n], [t.name for t in op.outputs],
                                          name=b.fresh("Scan"), body=graph,
                                          num_scan_inputs=n))
        return
    try:
        _HANDLERS[op.type](b, op, ins, t0.name)
    except KeyError:
        raise UnsupportedOpsError([f"{op.type} '{op.name}' (attributes)"]) from None


def _dims(t: Any) -> list | None:
    return None if t.shape.rank is None else t.shape.as_list()


def _sub_graph(b: _Builder, body: Any, names: dict, label: str, inputs: list) -> Any:
    """An If branch / Scan body: ``body``'s nodes, outer values read by name."""
    sub = _Builder(b.onnx)
    sub._n = b._n
    fed = {id(t.op) for t in body.inputs}
    for op in body.ops:
        if id(op) not in fed:
            _emit(sub, op, names)
    outs = []
    for t in body.outputs:
        out = sub.node("Identity", [names.get(t.name, t.name)], base=f"{label}/out")
        outs.append(b.helper.make_tensor_value_info(out, _onnx_dtype(b.onnx, t.dtype.np),
                                                    _dims(t)))
    b._n = sub._n
    return b.helper.make_graph(sub.nodes, label.replace("/", "_"), inputs, outs,
                               initializer=sub.inits)


def write_onnx(path: str, inputs: dict, outputs: dict, variables: dict) -> None:
    """Convert (see :func:`convert`) and save to ``path``."""
    import onnx  # optional third-party dependency (estcore[onnx])

    model = convert(inputs, outputs, variables)
    onnx.save_model(model, path)
