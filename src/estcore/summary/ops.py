"""Summary ops in a graph: ``estcore.summary.scalar`` / ``histogram`` / ``text``.

A summary op is a :class:`SummaryOp` (kind, tag, tensor) registered in the
default graph's ``SUMMARIES`` collection. A hook fetches the tensors of a list
of them in one ``session.run`` and turns the values into event-file summaries
with :func:`summary_values`. Builds on the graph only; must not import the hooks or the
estimator (they sit above and use this module).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from estcore.graph.ir import GraphKeys, add_to_collection, get_collection, get_default_graph
from estcore.graph.ops.core import convert_to_tensor, is_tensor
from estcore.summary.summary_pb import SummaryValue, histogram_value, scalar_value, text_value

__all__ = ["SummaryOp", "scalar", "histogram", "text", "merge_all", "merge", "summary_values",
           "fetches_of"]


class SummaryOp(NamedTuple):
    """One summary in a graph: ``kind`` is 'scalar', 'histogram' or 'text'."""

    kind: str
    tag: str
    tensor: Any


def _register(op: SummaryOp, collections: Iterable[str] | None) -> SummaryOp:
    for key in (collections if collections is not None else [GraphKeys.SUMMARIES]):
        add_to_collection(key, op)
    return op


def _clean(tag: str) -> str:
    """TF1's ``clean_tag``: characters a scope name can not hold become ``_``."""
    return re.sub(r"[^-/\w\.]", "_", tag).lstrip("/")


def _tag(name: str, family: str | None) -> str:
    """TF1's summary tag: the summary's name scope (current scope + ``name``, made
    unique: ``loss``, ``loss_1``, ...), prefixed by ``family/`` when given
    (so ``family/<scope>/family/name``, as TF1)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
    name = _clean(name)
    family = _clean(family) if family else None
    base = f"{family}/{name}" if family else name
    with get_default_graph().name_scope(base) as scope:
        tag = scope.rstrip("/")
    return f"{family}/{tag}" if family else tag


def _as_tensor(value: Any) -> Any:
    return value if is_tensor(value) else convert_to_tensor(value)


def scalar(name: str, tensor: Any, collections: Iterable[str] | None = None,
           family: str | None = None) -> SummaryOp:
    """A scalar summary of ``tensor`` (one element) under tag ``name``."""
    return _register(SummaryOp("scalar", _tag(name, family), _as_tensor(tensor)), collections)


def histogram(name: str, values: Any, collections: Iterable[str] | None = None,
              family: str | None = None) -> SummaryOp:
    """A histogram summary of ``values`` (any shape)."""
    return _register(SummaryOp("histogram", _tag(name, family), _as_tensor(values)),
                     collections)


def text(name: str, tensor: Any, collections: Iterable[str] | None = None) -> SummaryOp:
    """A text summary of a string tensor."""
    return _register(SummaryOp("text", _tag(name, None), _as_tensor(tensor)), collections)


def merge_all(key: str | None = None) -> list[SummaryOp] | None:
    """Every summary op of the default graph's collection, or None if there is none."""
    ops = [op for op in get_collection(key or GraphKeys.SUMMARIES) if isinstance(op, SummaryOp)]
    return ops or None


def merge(inputs: Sequence[Any]) -> list[SummaryOp]:
    """Flatten summary ops / lists of them into one list."""
    out: list[SummaryOp] = []
    for item in inputs:
        if isinstance(item, SummaryOp):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            out.extend(merge(item))
        else:
            raise TypeError(f"merge() takes summary ops, got {item!r}")
    return out


def fetches_of(ops: Sequence[SummaryOp]) -> list[Any]:
    """The tensors to fetch for ``ops`` (same order)."""
    return [op.tensor for op in ops]


def summary_values(ops: Sequence[SummaryOp], values: Sequence[Any]) -> list[SummaryValue]:
    """Turn fetched values of ``ops`` into event-file summary values."""
    out = []
    for op, value in zip(ops, values, strict=True):
        if op.kind == "scalar":
            arr = np.asarray(value)
            if arr.size != 1:
                raise ValueError(f"Scalar summary {op.tag!r} got a value of shape {arr.shape}")
            out.append(scalar_value(op.tag, arr.reshape(())))
        elif op.kind == "histogram":
            out.append(histogram_value(op.tag, value))
        elif op.kind == "text":
            out.append(text_value(op.tag, value))
        else:
            raise ValueError(f"Unknown summary kind {op.kind!r}")
    return out
