"""The graph checker: rejects malformed IR before it is compiled.

A well-formed graph satisfies, for every node ``op`` (creation index ``i``):

* ``op.type`` is a registered op row;
* its name is unique in the graph and maps back to it;
* every input is an output of a node of the same graph created before ``op``
  (so creation order is a topological order and there are no cycles), and every
  control input is such a node;
* each output tensor points back to ``(op, index)``, and the row's shape rule,
  rerun on the inputs' static shapes, gives the same number of outputs with the
  same dtypes and compatible shapes.

Must not: repair, reorder or otherwise change the graph it checks (it only raises
ValueError naming the first malformed node); compile or run anything (the plan compiler
calls it before compiling).
"""

from __future__ import annotations

from estcore.graph.registry import InferCtx, get_row
from estcore.graph.shapes import fmt_shape

__all__ = ["check_graph", "check_nodes"]


def check_nodes(graph, nodes) -> None:
    """Check ``nodes`` (Operations of ``graph``); raise ValueError naming the first problem."""
    by_name = graph._by_name
    all_nodes = graph._nodes
    for op in nodes:
        where = f"{op.type} '{op.name}'"
        try:
            row = get_row(op.type)
        except KeyError:
            raise ValueError(f"malformed graph: {where} has an unregistered op type") from None
        if op.graph is not graph or by_name.get(op.name) is not op or \
                not 0 <= op._id < len(all_nodes) or all_nodes[op._id] is not op:
            raise ValueError(f"malformed graph: {where} is not registered in this graph "
                             "under its name and index")
        for j, t in enumerate(op.inputs):
            src = getattr(t, "op", None)
            if src is None or src.graph is not graph:
                raise ValueError(f"malformed graph: input {j} of {where} is not a tensor of "
                                 "this graph")
            if src._id >= op._id:
                raise ValueError(f"malformed graph: input {j} of {where} comes from "
                                 f"'{src.name}', created after it (cycle or out-of-order "
                                 "edge)")
            if t.value_index >= len(src.outputs) or src.outputs[t.value_index] is not t:
                raise ValueError(f"malformed graph: input {j} of {where} is not an output "
                                 f"of '{src.name}'")
        for c in op.control_inputs:
            if c.graph is not graph or c._id >= op._id:
                raise ValueError(f"malformed graph: control input '{c.name}' of {where} is "
                                 "from another graph or created after it")
        for i, t in enumerate(op.outputs):
            if t.op is not op or t.value_index != i:
                raise ValueError(f"malformed graph: output {i} of {where} does not point "
                                 "back to it")
        if op.type in ("Const", "Placeholder", "VariableV2", "NoOp", "InitialValue"):
            continue
        ctx = InferCtx(op.type, op.name, [t.dtype for t in op.inputs],
                       [t.shape for t in op.inputs], [None] * len(op.inputs), dict(op.attrs))
        try:
            outs = row.infer(ctx)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"malformed graph: {exc}") from None
        if len(outs) != len(op.outputs):
            raise ValueError(f"malformed graph: {where} has {len(op.outputs)} outputs, its "
                             f"shape rule gives {len(outs)}")
        for i, (t, (d, s)) in enumerate(zip(op.outputs, outs, strict=True)):
            if t.dtype is not d or not t.shape.is_compatible_with(s):
                raise ValueError(f"malformed graph: output {i} of {where} is {t.dtype.name} "
                                 f"{fmt_shape(t.shape)}, its shape rule gives {d.name} "
                                 f"{fmt_shape(s)}")


def check_graph(graph) -> None:
    """Check every node of ``graph`` (see the module docstring)."""
    check_nodes(graph, graph._nodes)
