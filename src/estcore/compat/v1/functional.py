"""TF1's higher-order functions ``tf.foldl``, ``tf.foldr`` and ``tf.scan``, built on
:func:`estcore.graph.ops.while_ops.while_loop` (so they run as one loop node, with
gradients, as TF builds them on ``while_loop``).

``elems`` is a tensor or a nested structure of tensors with the same first dimension;
``fn`` is traced once. ``scan``'s stacked result grows one row per iteration (a loop
variable with an unknown first dimension).

Must not: add ops (the loop is ``while_loop``'s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from estcore import nest
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import index_ops as _i
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops.core import convert_to_tensor as _convert
from estcore.graph.ops.while_ops import while_loop
from estcore.graph.shapes import TensorShape
from estcore.graph.variables import name_scope as _name_scope

__all__ = ["foldl", "foldr", "scan"]


def _elems(elems: Any, fn_name: str) -> list:
    flat = [_convert(e) for e in nest.flatten(elems)]
    if not flat:
        raise ValueError(f"{fn_name}: `elems` must hold at least one tensor")
    for t in flat:
        if t.shape.rank == 0:
            raise ValueError(f"{fn_name}: `elems` must be tensors of rank >= 1. Received: "
                             f"'{t.name}' of shape ()")
    return flat


def _fold(fn: Callable, elems: Any, initializer: Any, reverse: bool, name: str,
          back_prop: bool) -> Any:
    flat = _elems(elems, name)
    n = _a.shape(flat[0])[0]

    def elem(i: Any) -> Any:
        got = [_i.gather(t, i) for t in flat]
        return nest.pack_sequence_as(elems, got) if nest.is_nested(elems) else got[0]

    with _name_scope(name):
        if initializer is None:
            first = n - 1 if reverse else 0
            acc0, i0 = elem(first), (n - 2 if reverse else 1)
        else:
            acc0, i0 = initializer, (n - 1 if reverse else 0)
        acc_flat = [_convert(a) for a in nest.flatten(acc0)]
        step = -1 if reverse else 1

        def cond(i, *acc):
            return _m.greater_equal(i, 0) if reverse else _m.less(i, n)

        def body(i, *acc):
            packed = nest.pack_sequence_as(acc0, list(acc)) if nest.is_nested(acc0) \
                else acc[0]
            new = nest.flatten(fn(packed, elem(i)))
            return (i + step, *new)

        out = while_loop(cond, body, [_convert(i0), *acc_flat], back_prop=back_prop,
                         return_same_structure=True)
    res = list(out[1:])
    return nest.pack_sequence_as(acc0, res) if nest.is_nested(acc0) else res[0]


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """``fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1])`` (TF1's
    ``tf.foldl``); without ``initializer`` the first element is the start.

    Args:
        fn: ``fn(accumulator, element)`` returning the next accumulator (the
            accumulator's structure and dtypes).
        elems: a tensor or nested structure of tensors, unpacked along dimension 0.
        initializer: the first accumulator (optional).
        parallel_iterations, swap_memory: accepted, no effect.
        back_prop: False stops gradients at the result.
        name: name scope.
    """
    return _fold(fn, elems, initializer, False, name or "foldl", back_prop)


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """:func:`foldl` from the last element to the first (TF1's ``tf.foldr``)."""
    return _fold(fn, elems, initializer, True, name or "foldr", back_prop)


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
         back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
         reverse: bool = False, name: str | None = None) -> Any:
    """Every intermediate accumulator of :func:`foldl`, stacked (TF1's ``tf.scan``):
    ``out[i] = fn(out[i-1], elems[i])``, ``out[-1]`` being ``initializer`` (or, without
    it, ``out[0] = elems[0]``); ``reverse`` runs from the last element.

    Returns:
        The accumulators' structure with each tensor stacked along a new dimension 0 of
        the number of elements.
    """
    flat = _elems(elems, "scan")
    n = _a.shape(flat[0])[0]

    def elem(i: Any) -> Any:
        got = [_i.gather(t, i) for t in flat]
        return nest.pack_sequence_as(elems, got) if nest.is_nested(elems) else got[0]

    with _name_scope(name or "scan"):
        if initializer is None:
            start = n - 1 if reverse else 0
            acc0 = elem(start)
            i0 = start - 1 if reverse else 1
            seed = [_a.expand_dims(_convert(a), 0) for a in nest.flatten(acc0)]
        else:
            acc0 = initializer
            i0 = n - 1 if reverse else 0
            seed = [_a.zeros_like(_a.expand_dims(_convert(a), 0))[:0]
                    for a in nest.flatten(acc0)]
        acc_flat = [_convert(a) for a in nest.flatten(acc0)]
        k = len(acc_flat)
        step = -1 if reverse else 1

        def cond(i, *state):
            return _m.greater_equal(i, 0) if reverse else _m.less(i, n)

        def body(i, *state):
            acc, stacks = list(state[:k]), list(state[k:])
            packed = nest.pack_sequence_as(acc0, acc) if nest.is_nested(acc0) else acc[0]
            new = [_convert(t) for t in nest.flatten(fn(packed, elem(i)))]
            row = [_a.expand_dims(t, 0) for t in new]
            grown = [_a.concat([r, s], 0) if reverse else _a.concat([s, r], 0)
                     for s, r in zip(stacks, row, strict=True)]
            return (i + step, *new, *grown)

        invariants = [TensorShape([]), *[t.shape for t in acc_flat],
                      *[TensorShape([None, *t.shape.dims]) if t.shape.rank is not None
                        else TensorShape(None) for t in acc_flat]]
        out = while_loop(cond, body, [_convert(i0), *acc_flat, *seed],
                         shape_invariants=invariants, back_prop=back_prop,
                         return_same_structure=True)
    stacked = list(out[1 + k:])
    count = flat[0].shape.dims[0] if flat[0].shape.rank else None
    if count is not None:  # as TF's: the stacks have the elements' static length
        for t in stacked:
            if t.shape.rank is not None:
                t.set_shape(TensorShape([count, *t.shape.dims[1:]]))
    return nest.pack_sequence_as(acc0, stacked) if nest.is_nested(acc0) else stacked[0]
