"""The op table: one :class:`OpRow` per op type.

A row holds everything the engine knows about an op:

* ``infer(ctx) -> [(DType, TensorShape), ...]``: the shape and dtype rule. It runs
  at trace time with static shapes (``None`` dims) and again in the plan compiler
  with concrete shapes and constant-folded input values. Errors go through
  ``ctx.fail`` so they name the op and node.
* ``build(k) -> callable | None``: the forward kernel factory. ``k`` is a
  :class:`KernelCtx` with the planned input/output numpy buffers; the returned
  zero-argument closure computes the outputs in place (``out=``). ``None`` means
  nothing to run (e.g. an alias whose output is a view of its input).
* ``grad(op, grads) -> [Tensor | None per input]``: the gradient rule, building
  IR (the backward pass is a program too). ``None`` marks a non-differentiable op.
* ``emit(program, ins, outs, attrs) -> bool``: optional C-kernel emitter; returns
  False when it cannot handle these buffers (the numpy kernel is used instead).

``extra["shape_inputs"]``: input indices used only for their shape (a tuple, or
``f(attrs, n_inputs) -> tuple``); they create no data dependency, so they neither
block fusion nor keep buffers alive, and the kernel gets a zero-stride dummy.

Flags: ``stateful`` (never constant-folded, never deduplicated), ``writes``
(input indices updated in place, e.g. a variable), ``alias`` (output 0 is a view
of that input), ``grad_op`` (an internal op that only appears in backward graphs).

Must not: hold any op's row (the ``graph/ops/`` modules register them); import the
IR, the session or the plan compiler (they read rows from here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from estcore.graph.shapes import TensorShape, fmt_shape

__all__ = ["OpRow", "register", "get_row", "all_rows", "InferCtx", "KernelCtx", "NO_GRADIENT",
           "not_differentiable"]


def _no_gradient(op, grads):  # pragma: no cover - marker only
    raise AssertionError


NO_GRADIENT = _no_gradient


@dataclass
class OpRow:
    type: str
    infer: Callable
    build: Callable | None
    grad: Callable | None = None
    emit: Callable | None = None
    stateful: bool = False
    writes: tuple = ()
    alias: int | None = None
    grad_op: bool = False
    doc: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def differentiable(self) -> bool:
        return self.grad is not None and self.grad is not NO_GRADIENT


_ROWS: dict[str, OpRow] = {}


def register(row: OpRow) -> OpRow:
    if row.type in _ROWS:
        raise ValueError(f"op type {row.type!r} is already registered")
    _ROWS[row.type] = row
    return row


def get_row(op_type: str) -> OpRow:
    try:
        return _ROWS[op_type]
    except KeyError:
        raise KeyError(f"no op registered with type {op_type!r}") from None


def shape_inputs(row: OpRow, attrs: dict, n_inputs: int) -> tuple:
    """Indices of inputs that ``row`` reads only for their shape."""
    s = row.extra.get("shape_inputs", ())
    return s(attrs, n_inputs) if callable(s) else s


def all_rows() -> dict[str, OpRow]:
    return dict(_ROWS)


def not_differentiable(*op_types: str) -> None:
    """Mark op types as having no gradient by nature (TF's ``ops.NotDifferentiable``):
    gradients stop there (None) instead of raising LookupError."""
    for op_type in op_types:
        row = get_row(op_type)
        if row.grad is not None and row.grad is not NO_GRADIENT:
            raise ValueError(f"op type {op_type!r} has a gradient rule")
        row.grad = NO_GRADIENT


class InferCtx:
    """What a shape rule sees: input dtypes/shapes/constant values and attrs.

    ``tensors``: the input tensors while the graph is traced (``make_op``), so that a rule
    can evaluate a shape tensor partially (:mod:`estcore.graph.ops.shape_tensors`);
    None when the plan compiler or the checker reruns the rule. ``tracing`` says which.
    """

    __slots__ = ("op_type", "name", "dtypes", "shapes", "values", "attrs", "tensors")

    def __init__(self, op_type: str, name: str, dtypes: list, shapes: list[TensorShape],
                 values: list[np.ndarray | None], attrs: dict, tensors: list | None = None):
        self.op_type = op_type
        self.name = name
        self.dtypes = dtypes
        self.shapes = shapes
        self.values = values
        self.attrs = attrs
        self.tensors = tensors

    @property
    def tracing(self) -> bool:
        """True while the graph is built; False when the rule runs for a plan (concrete
        shapes, folded values) or for the graph checker."""
        return self.tensors is not None

    def fail(self, message: str, cls: type[Exception] = ValueError) -> Exception:
        """Build the error for this node: ``"<op> '<name>': <message>"``."""
        return cls(f"{self.op_type} '{self.name}': {message}")

    def fmt(self, i: int) -> str:
        return fmt_shape(self.shapes[i])


class KernelCtx:
    """What a kernel factory sees: buffers, attrs, node, the session state, and which
    outputs are consumed (``needed``; a kernel may skip the others)."""

    __slots__ = ("node", "ins", "outs", "attrs", "state", "needed", "consts")

    def __init__(self, node, ins: list[np.ndarray], outs: list[np.ndarray], attrs: dict,
                 state: Any, needed: list[bool] | None = None):
        self.node = node
        self.needed = needed if needed is not None else [True] * len(outs)
        self.consts: list = [None] * len(ins)
        self.ins = ins
        self.outs = outs
        self.attrs = attrs
        self.state = state
