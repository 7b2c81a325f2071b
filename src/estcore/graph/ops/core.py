"""Node construction (:func:`make_op`), tensor conversion and constants.

Every op builder in this package ends in :func:`make_op`, which converts inputs,
picks the graph, names the node, runs the row's shape rule and adds the node.

Must not: know any particular op beyond ``Const`` (each family module registers its
rows through :func:`row`); run kernels or touch a session; add a node that skipped the
row's shape rule.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ir import Graph, Operation, get_default_graph
from estcore.graph.ops.shape_tensors import static_value
from estcore.graph.registry import InferCtx, OpRow, get_row, register
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["make_op", "make", "convert_to_tensor", "constant", "constant_value", "is_tensor",
           "row", "simple_kernel"]


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) or hasattr(x, "_as_tensor")


def constant_value(t: Tensor) -> np.ndarray | None:
    """The value of ``t`` when it is known while tracing (constants, static shapes)."""
    op = t.op
    if op.type == "Const":
        return op.attrs["value"]
    if op.type == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.dims, dtype=t.dtype.np)
    if op.type == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(), dtype=t.dtype.np)
    if op.type == "Rank" and op.inputs[0].shape.rank is not None:
        return np.array(op.inputs[0].shape.rank, dtype=np.int32)
    if op.type == "Pack":
        vals = [constant_value(i) for i in op.inputs]
        if all(v is not None for v in vals):
            return np.stack(vals, axis=op.attrs["axis"]).astype(t.dtype.np)
    return None


def _static(x: Tensor) -> np.ndarray | None:
    """``x``'s value for shape rules: :func:`constant_value`, else what the graph alone
    determines (:func:`~estcore.graph.ops.shape_tensors.static_value`)."""
    v = constant_value(x)
    return v if v is not None else static_value(x)


def make_op(op_type: str, inputs: list, attrs: dict | None = None, name: str | None = None,
            graph: Graph | None = None) -> Operation:
    """Create a node of type ``op_type`` (inputs must already be tensors or tensor-likes)."""
    row = get_row(op_type)
    tins = []
    for x in inputs:
        if not isinstance(x, Tensor):
            x = convert_to_tensor(x)
        tins.append(x)
    if graph is None:
        graph = tins[0].op.graph if tins else get_default_graph()
    for x in tins:
        if x.op.graph is not graph:
            raise ValueError(f"{op_type}: input '{x.name}' is from a different Graph than the "
                             "other inputs (tensors must be from the same graph).")
    attrs = {} if attrs is None else attrs
    graph._check_not_finalized()
    node_name = graph.unique_name(name or op_type)
    ctx = InferCtx(op_type, node_name, [x.dtype for x in tins], [x.shape for x in tins],
                   [_static(x) for x in tins], attrs, tins)
    outs = row.infer(ctx)
    op = Operation(graph, op_type, node_name, tuple(tins), attrs,
                   graph._current_control_inputs(tins))
    op.outputs = tuple(Tensor(op, i, d, as_shape(s)) for i, (d, s) in enumerate(outs))
    graph._add_node(op)
    return op


def make(op_type: str, inputs: list, attrs: dict | None = None, name: str | None = None):
    """:func:`make_op` returning the single output tensor."""
    return make_op(op_type, inputs, attrs, name).outputs[0]


def _lossless(value: np.ndarray, target: np.dtype) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            conv = value.astype(target)
    except (ValueError, TypeError, OverflowError):
        return None
    if value.dtype.kind in "fc" and target.kind in "iub":
        ok = np.array_equal(conv.astype(value.dtype), value)
        return conv if ok else None
    if value.dtype.kind in "iu" and target.kind in "iu":
        info = np.iinfo(target)
        if value.size and (int(value.max()) > info.max or int(value.min()) < info.min):
            return None  # astype wraps around (2**63 -> -2**63) and back again
        return conv if np.array_equal(conv.astype(value.dtype), value) else None
    if target.kind == "b" and value.dtype.kind != "b":
        return None
    return conv


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Return ``value`` as a Tensor (TF1 ``tf.convert_to_tensor``).

    Tensors pass through (their dtype must match ``dtype`` if given); Variables give
    their value tensor; lists holding tensors are stacked; Python and numpy values
    become constants (Python floats default to float32, ints to int32).

    Raises:
        TypeError: a value cannot be represented in ``dtype`` without loss, or a
            Tensor has another dtype.
    """
    want = None if dtype is None else dt.as_dtype(dtype)
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        t = value._as_tensor()
        if want is not None and t.dtype is not want:
            raise TypeError(f"Tensor conversion requested dtype {want.name} for Tensor "
                            f"'{t.name}' with dtype {t.dtype.name}")
        return t
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        from estcore.graph.ops.array_ops import stack  # local: import cycle with array_ops
        items = [convert_to_tensor(v, want) if _contains_tensor_or_leaf(v) else v for v in value]
        return stack(items, axis=0, name=name or "packed")
    return constant(value, dtype=want, name=name)


def _contains_tensor(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_contains_tensor(x) for x in v)
    return is_tensor(v)


def _contains_tensor_or_leaf(v: Any) -> bool:
    return True


def _unconvertible(value: Any, arr: np.ndarray, why: str) -> TypeError:
    return TypeError(f"Cannot convert {value!r} to a tensor: {why} (numpy made dtype "
                     f"{arr.dtype}); pass a numpy array of the intended dtype or `dtype=`.")


def _typed_objects(value: Any, arr: np.ndarray) -> np.ndarray:
    """An object array numpy fell back to: strings stay (a string tensor), numbers get a
    numeric dtype, anything else is refused (TF's rule; never a tensor of Python objects)."""
    flat = arr.reshape(-1)
    if all(isinstance(v, (str, bytes)) for v in flat):
        return arr
    if all(isinstance(v, numbers.Real) for v in flat):
        if any(isinstance(v, numbers.Integral) and not -(2 ** 63) <= v < 2 ** 63
               for v in flat):
            raise _unconvertible(value, arr, "an int does not fit in int64")
        return np.array(arr.tolist())
    raise _unconvertible(value, arr, "the values are neither all numbers nor all strings")


def _default_np(value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object:
        arr = _typed_objects(value, arr)
    elif arr.dtype == np.uint64 and not isinstance(value, (np.ndarray, np.generic)):
        # Python ints in [2**63, 2**64), or a list of numpy uint64 scalars
        if arr.size and int(arr.max()) >= 2 ** 63:
            raise _unconvertible(value, arr, "an int does not fit in int64")
        arr = arr.astype(np.int64)  # there is no uint64 dtype here
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype.kind == "i":
        if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
            return arr.astype(np.int64)
        return arr.astype(np.int32)
    return arr


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """A constant tensor (TF1 ``tf.constant``).

    Args:
        value: a Python scalar/list or numpy array.
        dtype: element type; inferred when None (Python floats -> float32, ints -> int32).
        shape: optional shape; a scalar (or single element) value is broadcast to it.
        name: node name (default "Const").
    """
    want = None if dtype is None else dt.as_dtype(dtype)
    if want is None:
        arr = _default_np(value)
        want = dt.as_dtype(arr.dtype)
    elif want is dt.string:
        arr = np.asarray(value, dtype=object)
    else:
        raw = np.asarray(value)
        if raw.dtype == want.np:
            arr = raw
        else:
            arr = _lossless(raw, want.np)
            if arr is None:
                raise TypeError(f"Expected {want.name}, got {value!r} of type "
                                f"'{type(value).__name__}' instead (the conversion would lose "
                                "information).")
    if want is dt.string:  # TF's strings are bytes: a str is its UTF-8 encoding
        arr = dt.as_string_array(arr, "constant")
    if shape is not None:
        target = as_shape(shape)
        if not target.is_fully_defined():
            raise ValueError(f"`shape` of a constant must be fully defined. Received: "
                             f"shape={fmt_shape(target)}")
        if arr.size == 1:
            arr = np.full(target.dims, arr.reshape(()), dtype=arr.dtype)
        elif arr.size == target.num_elements():
            arr = arr.reshape(target.dims)
        else:
            raise TypeError(f"Expected a value with {target.num_elements()} elements for shape "
                            f"{fmt_shape(target)}, got {arr.size} elements")
    arr = np.array(arr, dtype=want.np, copy=True)
    arr.flags.writeable = False
    return make("Const", [], {"value": arr, "dtype": want}, name=name or "Const")


# ------------------------------------------------------------------ row helpers
def row(op_type: str, infer, build, grad=None, **kw) -> OpRow:
    """Register and return an :class:`OpRow`."""
    return register(OpRow(op_type, infer, build, grad, **kw))


def simple_kernel(fn):
    """Wrap ``fn(ins, outs, attrs)`` as a kernel factory (buffers bound once)."""
    def build(k):
        ins, outs, attrs = k.ins, k.outs, k.attrs
        return lambda: fn(ins, outs, attrs)
    return build


def _const_infer(ctx):
    v = ctx.attrs["value"]
    return [(ctx.attrs["dtype"], TensorShape(v.shape))]


def _const_build(k):
    return None  # the plan binds the constant's array as the output buffer


row("Const", _const_infer, _const_build, None)
