"""``TensorArray`` (TF1 ``tf.TensorArray``): a list of same-shaped tensors, written one
element at a time, typically inside a ``while_loop`` body.

Design:
    a TensorArray is an immutable Python object holding two tensors, its state: the
    ``buffer`` (its elements stacked, ``[size, *element_shape]``; zero rows where nothing
    was written) and the ``written`` mask (bool ``[size]``, which also gives the size).
    ``write`` / ``scatter`` / ``unstack`` return a new TensorArray whose state comes from
    one ``TensorArrayScatter`` node; ``read`` / ``gather`` / ``stack`` are one
    ``TensorArrayGather`` node; ``concat`` / ``split`` reshape (elements of one shape).
    Each row's kernel checks the indices and raises TF's InvalidArgumentError naming the
    array; gradients are rows too (a read scatters its gradient into the buffer's; a
    write passes the buffer's gradient on with the written rows cleared, and gives the
    value those rows).

    Element shape: ``element_shape=`` if given, else the first write's (TF's
    ``infer_shape=True``, checked while building). While it is unknown, the buffer is
    an empty placeholder (shape ``(0,)``, unknown static shape) that the first write
    replaces by zeros of the right shape; reading then is TF's error, as is stacking
    an empty array.

    ``while_loop``: a TensorArray among the loop variables enters the loop as its two
    state tensors (:func:`while_loop_with_arrays`), the body sees a TensorArray rebuilt
    on them, and the results are rebuilt as TensorArrays. The buffer's shape invariant is
    ``[None, ...]`` with ``dynamic_size`` (the buffer grows) and unknown while the
    element shape is.

Differences from TF: reads never clear an element (``clear_after_read`` is accepted; TF
would refuse a second read of an element), and all elements have one shape
(``infer_shape=False`` with elements of different shapes, as ``concat`` / ``split`` of
ragged pieces, is refused).

Must not: mutate a TensorArray (every update returns a new one); hold per-run state
outside the two tensors.
"""

from __future__ import annotations

import numpy as np

from estcore import errors, nest
from estcore.graph import dtypes as dt
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import index_ops as I
from estcore.graph.ops.core import constant_value, convert_to_tensor, make, make_op
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.ops.state_ops import no_op
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["TensorArray", "while_loop_with_arrays"]


# --------------------------------------------------------------------------- kernels

def _buffer_shape(size, elem: TensorShape) -> TensorShape:
    if elem.dims is None:
        return TensorShape(None)
    return TensorShape([size, *elem.dims])


def _new_infer(ctx):
    a = ctx.attrs
    size = ctx.values[0]
    n = None if a["dynamic"] or size is None else int(size)
    return [(a["dtype"], _buffer_shape(n, a["elem"])), (dt.bool, TensorShape([n]))]


def _new_eager(k):
    a = k.attrs
    n = int(np.asarray(k.ins[0]))
    if n < 0:
        raise errors.InvalidArgumentError(f"TensorArray {a['ta']}: size must be >= 0. "
                                          f"Received: size={n}")
    elem = a["elem"]
    shape = (n, *elem.dims) if elem.is_fully_defined() else (0,)
    return [np.zeros(shape, a["dtype"].np), np.zeros(n, bool)]


dynamic_row("TensorArrayV3", _new_infer, _new_eager, NO_GRADIENT)   # from its size only


def _initialized(buf: np.ndarray, written: np.ndarray) -> bool:
    """Whether ``buf`` holds the elements (else it is the empty placeholder of an array
    whose element shape is not known yet, and nothing was written)."""
    n = written.shape[0]
    return bool(written.any()) or buf.ndim >= 1 and buf.shape[0] == n and n > 0


def _scatter_infer(ctx):
    a = ctx.attrs
    n = ctx.shapes[1].dims[0] if ctx.shapes[1].dims else None
    if a["dynamic"]:
        n = None
    return [(ctx.dtypes[0], _buffer_shape(n, a["elem"])), (dt.bool, TensorShape([n]))]


def _scatter_eager(k):
    a = k.attrs
    buf, written = np.asarray(k.ins[0]), np.asarray(k.ins[1])
    idx = np.asarray(k.ins[2]).astype(np.int64)
    value = np.asarray(k.ins[3])
    if idx.ndim == 0:
        idx, value = idx[None], value[None]
    if value.shape[:1] != idx.shape:
        raise errors.InvalidArgumentError(
            f"TensorArray {a['ta']}: expected {idx.shape[0]} elements in the value, got "
            f"shape {fmt_shape(value.shape)}")
    elem = value.shape[1:]
    if not _initialized(buf, written):
        buf = np.zeros((written.shape[0], *elem), buf.dtype)
    elif buf.shape[1:] != elem:
        raise errors.InvalidArgumentError(
            f"TensorArray {a['ta']}: Could not write to TensorArray index {int(idx[0])} "
            f"because the value shape is {fmt_shape(elem)} which is incompatible with the "
            f"TensorArray's inferred element shape: {fmt_shape(buf.shape[1:])}")
    n = written.shape[0]
    for i in idx:
        if i < 0:
            raise errors.InvalidArgumentError(
                f"TensorArray {a['ta']}: Tried to write to index {i} but it is negative")
        if i >= n and not a["dynamic"]:
            raise errors.InvalidArgumentError(
                f"TensorArray {a['ta']}: Tried to write to index {i} but array is not "
                f"resizeable and size is: {n}")
    top = int(idx.max()) + 1 if idx.size else 0
    if top > n:   # dynamic_size: grow to the highest index written
        buf = np.concatenate([buf, np.zeros((top - n, *elem), buf.dtype)])
        written = np.concatenate([written, np.zeros(top - n, bool)])
    else:
        buf, written = buf.copy(), written.copy()
    for j, i in enumerate(idx):
        if written[i]:
            raise errors.InvalidArgumentError(
                f"TensorArray {a['ta']}: Could not write to TensorArray index {i} because "
                "it has already been written to.")
        written[i] = True
        buf[i] = value[j]
    return [buf, written]


def _scatter_grad(op, grads):
    g = grads[0]
    if g is None:
        return [None] * 4
    buf, _, idx, value = op.inputs
    gop = make_op("TensorArrayScatterGrad", [g, buf, idx, value], {})
    return [gop.outputs[0], None, None, gop.outputs[1]]


dynamic_row("TensorArrayScatter", _scatter_infer, _scatter_eager, _scatter_grad)


def _scatter_grad_infer(ctx):
    return [(ctx.dtypes[0], ctx.shapes[1]), (ctx.dtypes[0], ctx.shapes[3])]


def _scatter_grad_eager(k):
    g, buf = np.asarray(k.ins[0]), np.asarray(k.ins[1])
    idx = np.asarray(k.ins[2]).astype(np.int64)
    value = np.asarray(k.ins[3])
    g_value = g[idx].reshape(value.shape)
    if buf.shape[1:] != g.shape[1:] or buf.ndim != g.ndim:
        return [np.zeros(buf.shape, g.dtype), g_value]   # the empty placeholder
    g_buf = g[:buf.shape[0]].copy()
    keep = idx.reshape(-1)
    g_buf[keep[keep < buf.shape[0]]] = 0
    return [g_buf, g_value]


dynamic_row("TensorArrayScatterGrad", _scatter_grad_infer, _scatter_grad_eager, None,
            grad_op=True)


def _gather_infer(ctx):
    a = ctx.attrs
    elem = a["elem"]
    idx = ctx.shapes[2]
    if elem.dims is None or idx.dims is None:
        return [(ctx.dtypes[0], TensorShape(None))]
    return [(ctx.dtypes[0], TensorShape([*idx.dims, *elem.dims]))]


def _gather_eager(k):
    a = k.attrs
    buf, written = np.asarray(k.ins[0]), np.asarray(k.ins[1])
    idx = np.asarray(k.ins[2]).astype(np.int64)
    n = written.shape[0]
    what = "read from" if idx.ndim == 0 else "gather from"
    for i in idx.reshape(-1):
        if i < 0 or i >= n:
            raise errors.InvalidArgumentError(
                f"TensorArray {a['ta']}: Tried to {what} index {i} but array size is: {n}")
    if not _initialized(buf, written):
        if a["elem"].is_fully_defined():   # TF: the proper all-zeros tensor
            return [np.zeros((*idx.shape, *a["elem"].dims), buf.dtype)]
        if idx.size:
            raise errors.InvalidArgumentError(
                f"TensorArray {a['ta']}: Could not read from TensorArray index "
                f"{int(idx.reshape(-1)[0])}.  Furthermore, the element shape is not fully "
                "defined: <unknown>.  If you set the full element_shape property on the "
                "TensorArray, the proper all-zeros tensor will be returned instead of "
                "incurring this error.")
        raise errors.UnimplementedError(
            f"TensorArray {a['ta']}: TensorArray has size zero, but element shape <unknown> "
            "is not fully defined. Currently only static shapes are supported when packing "
            "zero-size TensorArrays.")
    return [buf[idx]]


def _gather_grad(op, grads):
    g = grads[0]
    if g is None:
        return [None] * 3
    buf, _, idx = op.inputs
    return [make("TensorArrayGatherGrad", [g, buf, idx], {}), None, None]


dynamic_row("TensorArrayGather", _gather_infer, _gather_eager, _gather_grad)


def _gather_grad_eager(k):
    g, buf = np.asarray(k.ins[0]), np.asarray(k.ins[1])
    idx = np.asarray(k.ins[2]).astype(np.int64)
    out = np.zeros(buf.shape, g.dtype)
    if buf.shape[1:] != g.shape[idx.ndim:] or idx.size and int(idx.max()) >= buf.shape[0]:
        return [out]   # read zeros from the empty placeholder: nothing to pass on
    np.add.at(out, idx, g)   # an element read twice gets both gradients
    return [out]


dynamic_row("TensorArrayGatherGrad", lambda ctx: [(ctx.dtypes[0], ctx.shapes[1])],
            _gather_grad_eager, None, grad_op=True)


# --------------------------------------------------------------------------- the class

def _merge(known: TensorShape | None, new: TensorShape) -> TensorShape:
    if known is None or known.dims is None:
        return new
    if not known.is_compatible_with(new):
        raise ValueError(f"Inconsistent shapes: saw {fmt_shape(new)} but expected "
                         f"{fmt_shape(known)}")
    return known.merge_with(new)


class TensorArray:
    """A list of tensors of one dtype and shape, written and read by index (TF1's
    ``tf.TensorArray``); every update returns a new TensorArray.

    Args:
        dtype: the elements' dtype.
        size: int or int32 scalar tensor: the number of elements (the initial number
            with ``dynamic_size``).
        dynamic_size: True: writes past the end grow the array.
        clear_after_read: accepted; reads never clear an element here.
        tensor_array_name, name: the array's name (in error messages).
        handle, flow: not supported (TF's low-level construction); must be None.
        infer_shape: True (TF's default): the first write fixes the element shape and
            later writes must agree (ValueError while building).
        element_shape: the elements' shape, if known; needed to stack an empty array.
        colocate_with_first_write_call: accepted, no effect.

    Raises:
        ValueError: ``handle`` or ``flow`` given.
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None,
                 _state=None):
        self._dtype = dt.as_dtype(dtype)
        self._dynamic = bool(dynamic_size)
        self._infer = bool(infer_shape)
        elem = None if element_shape is None else as_shape(element_shape)
        self._elem = None if elem is not None and elem.dims is None else elem
        if _state is not None:
            self._buf, self._written, self._name = _state
            return
        if handle is not None or flow is not None:
            raise ValueError("TensorArray: `handle` and `flow` are not supported; build the "
                             "array from `size`. Received: handle or flow")
        if size is None:
            raise ValueError("TensorArray: `size` must be given. Received: size=None")
        size = convert_to_tensor(size, dtype=dt.int32)
        elem = self._elem if self._elem is not None and self._elem.is_fully_defined() \
            else TensorShape(None)
        op = make_op("TensorArrayV3", [size], {"dtype": self._dtype, "elem": elem,
                                              "dynamic": self._dynamic, "ta": None},
                     name=tensor_array_name or name or "TensorArray")
        self._name = op.attrs["ta"] = op.name   # TF names the array after its op
        self._buf, self._written = op.outputs

    def _like(self, buf: Tensor, written: Tensor, elem=None) -> TensorArray:
        return TensorArray(self._dtype, dynamic_size=self._dynamic, infer_shape=self._infer,
                           element_shape=self._elem if elem is None else elem,
                           _state=(buf, written, self._name))

    @property
    def dtype(self):
        return self._dtype

    @property
    def flow(self) -> Tensor:
        """The buffer tensor (``[size, *element_shape]``) that carries the array's
        values."""
        return self._buf

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic

    @property
    def element_shape(self) -> TensorShape:
        return TensorShape(None) if self._elem is None else self._elem

    def __repr__(self) -> str:
        return (f"<TensorArray '{self._name}' dtype={self._dtype.name} "
                f"element_shape={fmt_shape(self.element_shape)}>")

    def _attrs(self, elem=None) -> dict:
        elem = self.element_shape if elem is None else elem
        return {"ta": self._name, "dynamic": self._dynamic, "elem": elem}

    def _scatter(self, index, value, op_name: str, many: bool) -> TensorArray:
        index = convert_to_tensor(index, dtype=dt.int32)
        value = convert_to_tensor(value, dtype=self._dtype)
        if value.dtype is not self._dtype:
            raise TypeError(f"TensorArray: {op_name} of a {value.dtype.name} value into a "
                            f"{self._dtype.name} array")
        elem = self._elem
        v = value.shape
        new = TensorShape(None) if v.dims is None else \
            (TensorShape(v.dims[1:]) if many else v)
        if self._infer and new.dims is not None:
            elem = _merge(elem, new)
        with self._buf.graph.name_scope(op_name):
            op = make_op("TensorArrayScatter", [self._buf, self._written, index, value],
                         self._attrs(elem if elem is not None else TensorShape(None)),
                         name="TensorArrayScatter")
        return self._like(*op.outputs, elem=elem)

    def write(self, index, value, name=None) -> TensorArray:
        """A new TensorArray with element ``index`` set to ``value`` (each element can be
        written once)."""
        return self._scatter(index, value, name or "TensorArrayWrite", many=False)

    def scatter(self, indices, value, name=None) -> TensorArray:
        """A new TensorArray with element ``indices[j]`` set to ``value[j]``."""
        return self._scatter(indices, value, name or "TensorArrayScatter", many=True)

    def unstack(self, value, name=None) -> TensorArray:
        """A new TensorArray whose elements are ``value``'s rows."""
        value = convert_to_tensor(value, dtype=self._dtype)
        with self._buf.graph.name_scope(name or "TensorArrayUnstack"):
            n = A.shape(value)[0]
            return self._scatter(I.range(0, n), value, "TensorArrayScatter", many=True)

    def _gather(self, indices, op_name: str) -> Tensor:
        indices = convert_to_tensor(indices, dtype=dt.int32)
        with self._buf.graph.name_scope(op_name):
            return make("TensorArrayGather", [self._buf, self._written, indices],
                        self._attrs(), name="TensorArrayGatherV3")

    def read(self, index, name=None) -> Tensor:
        """Element ``index`` (zeros where it was never written but the element shape is
        known, as TF)."""
        return self._gather(index, name or "TensorArrayRead")

    def gather(self, indices, name=None) -> Tensor:
        """Elements ``indices``, stacked."""
        return self._gather(indices, name or "TensorArrayGather")

    def stack(self, name=None) -> Tensor:
        """All elements stacked: ``[size, *element_shape]``."""
        with self._buf.graph.name_scope(name or "TensorArrayStack"):
            return self._gather(I.range(0, self.size()), "TensorArrayGather")

    def size(self, name=None) -> Tensor:
        """The number of elements (int32 scalar)."""
        return A.size(self._written, name=name)

    def concat(self, name=None) -> Tensor:
        """All elements concatenated along their first axis (elements of one shape)."""
        with self._buf.graph.name_scope(name or "TensorArrayConcat"):
            s = self.stack()
            elem = self.element_shape
            if elem.dims is None or len(elem.dims) == 0:
                raise ValueError("TensorArray.concat: the element shape must be known and "
                                 f"of rank >= 1. Received: {fmt_shape(elem)}")
            if not TensorShape(elem.dims[1:]).is_fully_defined():
                raise ValueError("TensorArray.concat: the element shape after the first "
                                 f"axis must be known. Received: {fmt_shape(elem)}")
            return A.reshape(s, [-1, *elem.dims[1:]])

    def split(self, value, lengths, name=None) -> TensorArray:
        """A new TensorArray whose element ``j`` is the next ``lengths[j]`` rows of
        ``value``; the lengths must be known while building and equal (one element
        shape)."""
        value = convert_to_tensor(value, dtype=self._dtype)
        lengths = convert_to_tensor(lengths, dtype=dt.int32)
        got = constant_value(lengths)
        if got is None or got.ndim != 1 or (got.size and np.any(got != got[0])):
            raise NotImplementedError(
                "TensorArray.split: `lengths` must be known while building the graph and "
                "all equal (estcore's TensorArray elements share one shape). Received: "
                f"{lengths!r}")
        if value.shape.rank == 0:
            raise ValueError("TensorArray.split: `value` must have rank >= 1")
        with self._buf.graph.name_scope(name or "TensorArraySplit"):
            rest = list(value.shape.dims[1:]) if value.shape.dims is not None else None
            if rest is None or any(d is None for d in rest):
                rest_t = A.shape(value)[1:]
                parts = A.reshape(value, A.concat([[got.size, -1], rest_t], 0)) \
                    if got.size else value
            else:
                parts = A.reshape(value, [got.size, int(got[0]) if got.size else 0, *rest])
            return self._scatter(np.arange(got.size, dtype=np.int32), parts,
                                 "TensorArrayScatter", many=True)

    def identity(self) -> TensorArray:
        """A new TensorArray on identities of this one's state."""
        return self._like(A.identity(self._buf), A.identity(self._written))

    def close(self, name=None):
        """A no-op (TF frees the array's resources)."""
        return no_op(name=name or "TensorArrayClose")

    # -- while_loop state
    def _state_tensors(self) -> list[Tensor]:
        return [self._buf, self._written]

    def _invariants(self) -> list[TensorShape]:
        n = None if self._dynamic else self._written.shape.dims[0]
        dims = self._buf.shape.dims   # unknown while it may be the empty placeholder
        buf = TensorShape(None) if dims is None else TensorShape([n, *dims[1:]])
        return [buf, TensorShape([n])]


# --------------------------------------------------------------------------- while_loop

def has_arrays(loop_vars) -> bool:
    return any(isinstance(x, TensorArray) for x in nest.flatten(loop_vars))


def while_loop_with_arrays(while_loop, cond, body, loop_vars, shape_invariants,
                           return_same_structure: bool, **kw):
    """``while_loop`` over loop variables that include TensorArrays: each enters as its
    two state tensors; ``cond`` and ``body`` see TensorArrays rebuilt on them."""
    single = not isinstance(loop_vars, (list, tuple))
    leaves = nest.flatten(loop_vars)
    if shape_invariants is not None:
        inv = [shape_invariants] if single else nest.flatten(shape_invariants)
        if len(inv) != len(leaves):
            raise ValueError(f"while_loop: `shape_invariants` must give one shape per loop "
                             f"variable ({len(leaves)}). Received {len(inv)}: "
                             f"{shape_invariants!r}")
    flat, invariants = [], []
    for j, x in enumerate(leaves):
        if isinstance(x, TensorArray):
            flat += x._state_tensors()
            invariants += x._invariants()
        else:
            t = convert_to_tensor(x)
            flat.append(t)
            invariants.append(t.shape if shape_invariants is None else as_shape(inv[j]))
    out_arrays = {}

    def user(flat_vals):
        got, k = [], 0
        for j, x in enumerate(leaves):
            if isinstance(x, TensorArray):
                ta = out_arrays.get(j, x)   # the element shape the body found, if any
                got.append(x._like(flat_vals[k], flat_vals[k + 1], elem=ta._elem))
                k += 2
            else:
                got.append(flat_vals[k])
                k += 1
        return got[0] if single else nest.pack_sequence_as(loop_vars, got)

    def call(fn, flat_vals):
        args = user(list(flat_vals))
        return fn(args) if single else fn(*args)

    def body_flat(*flat_vals):
        res = call(body, flat_vals)
        if not single and len(leaves) == 1 and not isinstance(res, (list, tuple)):
            res = [res]
        try:
            nest.assert_same_structure(loop_vars, res, check_types=False)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"while_loop: `body` must return the structure of "
                             f"`loop_vars`: {exc}") from None
        out = []
        for j, (x, r) in enumerate(zip(leaves, nest.flatten(res), strict=True)):
            if isinstance(x, TensorArray) != isinstance(r, TensorArray):
                raise TypeError(f"while_loop: loop variable {j} is "
                                f"{'a' if isinstance(x, TensorArray) else 'not a'} "
                                f"TensorArray, but `body` returns {r!r} for it")
            if isinstance(r, TensorArray):
                out_arrays[j] = r
                out += r._state_tensors()
            else:
                out.append(r)
        return out

    flat_out = while_loop(lambda *v: call(cond, v), body_flat, flat,
                          shape_invariants=invariants, return_same_structure=True, **kw)
    res = user(list(flat_out))
    if single or len(leaves) > 1 or return_same_structure:
        return res
    return res[0]
