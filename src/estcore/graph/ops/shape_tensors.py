"""Shape tensors: integer tensors whose values are shapes, sizes or slice bounds.

An op whose output shape is an input's *value* (``Reshape``'s ``shape``, ``Fill``'s
``dims``, the random ops' ``shape``, ``Tile``'s ``multiples``, ``Range``'s bounds, a
slice's bounds) needs that value twice, and this module owns both:

* **While tracing**, for the static shape. :func:`static_value` evaluates a tensor when the
  graph alone determines it (TF's shape refiner): constants; ``Shape`` / ``Size`` /
  ``Rank`` of statically known shapes; ``Pack``, ``ConcatV2``, ``StridedSlice``,
  ``Unpack``, ``Cast`` and ``Identity`` element by element (``tf.shape(x)[1]`` is known
  when that dimension is); any other pure op on small integer tensors whose inputs are all
  known, by running its kernel once (``tf.shape(x)[1] * tf.shape(x)[2]``).
  :func:`static_elements` keeps what is known of a vector entry by entry
  (``[tf.shape(x)[0], 3]`` is ``[None, 3]``) and :func:`constant_value_as_shape` reads
  that as a TensorShape (TF's ``tensor_util.constant_value_as_shape``). Rows read their
  shape inputs through :func:`shape_arg` / :func:`elements_arg`.
* **In a plan**, such a value may be known only when the graph runs (fed, or computed from
  fed data). :func:`value_shaped_row` registers a row as data-dependent
  (``extra["dynamic"]``) with an ``eager`` that reruns the row's shape rule on the input
  values and then its kernel; :mod:`estcore.graph.segments` runs it between a static head
  and a tail planned for the shape it produced. When the plan compiler can fold the value,
  the row is an ordinary static node.

Must not: build nodes or change a tensor's static shape (it only reads the graph);
evaluate a stateful op, a data-dependent one or one fed by design
(``PlaceholderWithDefault``); hold a row of its own.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from estcore import errors
from estcore.graph.registry import InferCtx, KernelCtx, OpRow, get_row, register, shape_inputs
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape

if TYPE_CHECKING:
    from estcore.graph.tensor import Tensor

__all__ = ["static_value", "static_elements", "constant_value_as_shape", "shape_arg",
           "elements_arg", "value_shaped_row"]

MAX_ELEMENTS = 256   # a larger integer tensor is not evaluated while tracing
_MAX_DEPTH = 150     # producers followed upstream by one evaluation (each once: _memoised)
_FED_BY_DESIGN = frozenset({"Placeholder", "PlaceholderWithDefault"})
# values found so far (read-only arrays; an unknown value is not cached: a later
# ``set_shape`` can make a ``Shape`` known)
_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# One evaluation's results per tensor, known or not (a shape vector assembled from the
# entries of another reaches the same producers many times: without it, a chain of n
# stacks of slices would cost 2**n); per thread, for the length of one top-level call.
_tls = threading.local()


@contextmanager
def _memo_scope():
    if getattr(_tls, "memo", None) is not None:
        yield
        return
    _tls.memo = {}
    try:
        yield
    finally:
        _tls.memo = None


def _memoised(kind: str, fn, t: Tensor, depth: int):
    memo = getattr(_tls, "memo", None)
    if memo is None:
        with _memo_scope():
            return _memoised(kind, fn, t, depth)
    key = (kind, id(t))
    hit = memo.get(key)
    if hit is not None:
        return hit[1]
    out = fn(t, depth)
    memo[key] = (t, out)  # t held: its id cannot be reused during the call
    return out


def _value(t: Tensor, depth: int) -> np.ndarray | None:
    return _memoised("value", _value_of, t, depth)


def _vector(t: Tensor, depth: int) -> list | None:
    return _memoised("vector", _vector_of, t, depth)


# ---------------------------------------------------------------- evaluation while tracing
def static_value(t: Tensor) -> np.ndarray | None:
    """The value of ``t`` when the graph alone determines it, else None.

    Args:
        t: a tensor of the graph being built.

    Returns:
        A read-only array: a constant's value (any dtype), ``Shape`` / ``Size`` / ``Rank``
        of a statically known shape, or an integer tensor of at most
        :data:`MAX_ELEMENTS` elements computed from such values (see the module
        docstring). None when it depends on anything fed, random or stateful.
    """
    with _memo_scope():
        return _value(t, 0)


def static_elements(t: Tensor) -> list | None:
    """What is known of an integer scalar or vector ``t``, entry by entry.

    Returns:
        A list with one int per entry (None where unknown; a scalar gives one entry), or
        None when ``t``'s length is unknown. ``[tf.shape(x)[0], 3]`` for ``x`` of shape
        ``(None, 8)`` gives ``[None, 3]``; ``tf.shape(x)`` gives ``[None, 8]``.
    """
    with _memo_scope():
        return _vector(t, 0)


def constant_value_as_shape(t: Tensor) -> TensorShape:
    """The partial shape that the integer tensor ``t`` describes (TF's
    ``tensor_util.constant_value_as_shape``): unknown and negative entries are unknown
    dimensions; a vector of unknown length is an unknown rank.

    Raises:
        ValueError: ``t`` is a scalar whose value is not statically ``-1`` (TF's rule:
            only ``-1`` describes a shape, an unknown one).
    """
    if t.shape.rank == 0:
        v = static_value(t)
        if v is None or int(v) != -1:
            raise ValueError(f"constant_value_as_shape: `tensor` must be a vector, or a scalar "
                             f"known to be -1 (an unknown shape). Received: the scalar "
                             f"'{t.name}' with value {'unknown' if v is None else int(v)}")
        return TensorShape(None)
    e = static_elements(t) if t.shape.rank == 1 else None
    if e is None:
        return TensorShape(None)
    return TensorShape([None if d is None or d < 0 else d for d in e])


def _shape_fact(t: Tensor) -> np.ndarray | None:
    """``Shape`` / ``Size`` / ``Rank`` of what is statically known."""
    op, x = t.op, t.op.inputs[0].shape
    if op.type == "Rank":
        return None if x.rank is None else np.array(x.rank, t.dtype.np)
    if not x.is_fully_defined():
        return None
    if op.type == "Shape":
        return np.array(x.dims, t.dtype.np)
    return np.array(x.num_elements(), t.dtype.np)


def _value_of(t: Tensor, depth: int) -> np.ndarray | None:
    op = t.op
    if op.type == "Const":
        return op.attrs["value"]
    if op.type in ("Shape", "Size", "Rank"):
        return _shape_fact(t)
    shape = t.shape
    if not t.dtype.is_integer or depth > _MAX_DEPTH or not shape.is_fully_defined() \
            or shape.num_elements() > MAX_ELEMENTS:
        return None
    v = _known.get(t)
    if v is not None:
        return v
    e = _elements(t, depth) if shape.rank <= 1 else None
    if e is None:
        v = _evaluate(t, depth)
    elif None not in e:
        v = np.array(e, t.dtype.np).reshape(shape.dims)
        v.flags.writeable = False
        _known[t] = v
    return v


def _vector_of(t: Tensor, depth: int) -> list | None:
    """The known entries of an integer scalar or vector (see :func:`static_elements`)."""
    s = t.shape
    if s.rank not in (0, 1) or not t.dtype.is_integer:
        return None
    e = _elements(t, depth)
    if e is None:
        v = _value(t, depth)
        if v is not None:
            e = [int(i) for i in v.reshape(-1)]
    if e is None and s.rank == 1 and s[0] is not None:
        e = [None] * s[0]
    return e


def _scalar(t: Tensor, depth: int) -> int | None:
    if t.shape.rank != 0:
        return None
    e = _vector(t, depth)
    return None if e is None else e[0]


def _elements(t: Tensor, depth: int) -> list | None:
    """Entry by entry for the ops that assemble shape vectors; None for any other op."""
    op, s, d = t.op, t.shape, depth + 1
    if s.rank not in (0, 1) or not t.dtype.is_integer or depth > _MAX_DEPTH:
        return None
    typ = op.type
    if typ == "Const":
        return [int(i) for i in op.attrs["value"].reshape(-1)]
    if typ == "Shape":
        x = op.inputs[0].shape
        return None if x.rank is None else list(x.dims)
    if typ in ("Size", "Rank"):
        v = _shape_fact(t)
        return [None] if v is None else [int(v)]
    if typ == "Pack" and s.rank == 1 and op.attrs.get("axis") == 0:
        return [_scalar(x, d) for x in op.inputs]
    if typ == "ConcatV2" and s.rank == 1:
        out: list = []
        for x in op.inputs:
            e = _vector(x, d) if x.shape.rank == 1 else None
            if e is None:
                return None
            out.extend(e)
        return out
    if typ in ("Identity", "StopGradient") or (typ == "Cast" and op.inputs[0].dtype.is_integer):
        e = _vector(op.inputs[0], d)
        if e is None or typ != "Cast":
            return e
        return [None if i is None else int(np.array(i).astype(t.dtype.np)) for i in e]
    if typ == "StridedSlice" and op.inputs[0].shape.rank == 1:
        base = _vector(op.inputs[0], d)
        return None if base is None else _slice_entries(base, op.attrs["key"], s.rank)
    if typ == "Unpack" and s.rank == 0 and op.attrs.get("axis") == 0:
        base = _vector(op.inputs[0], d)
        return None if base is None else [base[t.value_index]]
    return None


def _slice_entries(base: list, key: tuple, out_rank: int) -> list | None:
    """``base[key]`` for a static key on a vector (None: the key changes the rank)."""
    real = [k for k in key if k is not Ellipsis]
    if None in real or len(real) > 1:
        return None
    if not real:
        return list(base)
    k = real[0]
    if isinstance(k, slice):
        return base[k] if out_rank == 1 else None
    n = len(base)
    return [base[k]] if out_rank == 0 and -n <= k < n else None


def _evaluate(t: Tensor, depth: int) -> np.ndarray | None:
    """Run ``t``'s producer once when it is pure and every input it reads is known (the
    plan compiler would fold it the same way); None otherwise."""
    op = t.op
    row = get_row(op.type)
    if row.stateful or row.build is None or row.writes or op.type in _FED_BY_DESIGN \
            or op.control_inputs or (row.extra.get("dynamic")
                                     and not row.extra.get("value_shaped")):
        return None
    for o in op.outputs:
        if not o.shape.is_fully_defined() or o.shape.num_elements() > MAX_ELEMENTS \
                or o.dtype.is_string:
            return None
    so = shape_inputs(row, op.attrs, len(op.inputs))
    shape_only = row.extra.get("shape_only")
    ins = []
    for i, x in enumerate(op.inputs):
        if shape_only or i in so:
            if not x.shape.is_fully_defined():
                return None
            ins.append(np.broadcast_to(np.zeros((), x.dtype.np), x.shape.dims))
            continue
        v = _value(x, depth + 1)
        if v is None:
            return None
        ins.append(v)
    outs = [np.empty(o.shape.dims, o.dtype.np) for o in op.outputs]
    try:
        with np.errstate(all="ignore"):
            fn = row.build(KernelCtx(op, ins, outs, dict(op.attrs), None))
            if fn is None:   # an alias row: its output is its input, reshaped
                a = row.alias if isinstance(row.alias, int) else 0
                outs = [np.array(ins[a]).reshape(outs[0].shape)]
            else:
                fn()
    except Exception:  # noqa: BLE001 - a kernel that fails on these values fails when run
        return None
    for o, v in zip(op.outputs, outs, strict=False):
        if o.dtype.is_integer:
            v.flags.writeable = False
            _known[o] = v
    return outs[t.value_index] if t.value_index < len(outs) else None


# ---------------------------------------------------------------- reading shape inputs in rows
def elements_arg(ctx: InferCtx, i: int, what: str) -> list | None:
    """Input ``i`` of a shape rule, an integer vector: its known entries.

    Returns:
        One int per entry (negative values kept; None where unknown), or None when its
        length is unknown. The folded value when the rule has it; while tracing, what
        :func:`static_elements` finds; in a plan without a value, all entries unknown.
    """
    val = ctx.values[i]
    if val is not None:
        try:
            return [int(v) for v in np.asarray(val).reshape(-1)]
        except (TypeError, ValueError) as exc:
            raise ctx.fail(f"`{what}` must be integers. Received: {what}={val!r}") from exc
    if ctx.tracing:
        return static_elements(ctx.tensors[i])
    s = ctx.shapes[i]
    if s.rank == 0:
        return [None]
    return [None] * s[0] if s.rank == 1 and s[0] is not None else None


def shape_arg(ctx: InferCtx, i: int, what: str) -> TensorShape:
    """Input ``i`` of a shape rule read as an output shape (``Fill``'s ``dims``, the random
    ops' ``shape``).

    While tracing, a ``-1`` or unknown entry is an unknown dimension (TF); in a plan every
    known entry must be ``>= 0``, and an input without a value gives unknown dimensions
    (the row then runs as a data-dependent one: :func:`value_shaped_row`).

    Raises (through ``ctx.fail``):
        ValueError: an entry below -1, or (in a plan) any negative entry.
    """
    e = elements_arg(ctx, i, what)
    if e is None:
        return TensorShape(None)
    lowest = -1 if ctx.tracing else 0
    if any(d is not None and d < lowest for d in e):
        raise ctx.fail(f"`{what}` must be non-negative. Received: {what}={e}")
    return TensorShape([None if d is None or d < 0 else d for d in e])


# ---------------------------------------------------------------- rows shaped by a value
def value_shaped_row(op_type: str, infer, build, grad=None, **kw) -> OpRow:
    """Register a row whose output shape comes from its input values (see the module
    docstring): an ordinary row once the plan compiler knows those values, a
    data-dependent one (run by ``eager``) when they are known only at run time.

    Args:
        op_type, infer, build, grad, **kw: as for :class:`~estcore.graph.registry.OpRow`.
            ``infer`` must give a fully defined shape when it has every input value.
    """
    extra = dict(kw.pop("extra", {}))
    extra["dynamic"] = True
    extra["value_shaped"] = True
    extra["eager"] = _eager
    return register(OpRow(op_type, infer, build, grad, extra=extra, **kw))


def _eager(k: KernelCtx) -> list:
    """The row's shape rule on the input values, then its kernel into new arrays."""
    node = k.node
    row = get_row(node.type)
    ins = [np.asarray(x) for x in k.ins]
    ctx = InferCtx(node.type, node.name, [t.dtype for t in node.inputs],
                   [TensorShape(x.shape) for x in ins], ins, k.attrs)
    try:
        specs = row.infer(ctx)
    except (ValueError, TypeError) as exc:   # bad values: an error of the run, as in TF
        raise errors.InvalidArgumentError(str(exc)) from None
    outs = []
    for t, (d, s) in zip(node.outputs, specs, strict=True):
        s = as_shape(s)
        if not s.is_fully_defined():
            raise errors.InvalidArgumentError(
                f"{node.type} '{node.name}': could not determine the shape of output "
                f"'{t.name}' from its input values (got {fmt_shape(s)})")
        outs.append(np.empty(s.dims, d.np))
    fn = row.build(KernelCtx(node, ins, outs, k.attrs, k.state))
    if fn is not None:
        fn()
    return outs
