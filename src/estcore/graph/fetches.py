"""Fetch structures: flatten nested list/tuple/namedtuple/dict fetches and rebuild them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_fetches", "structure_key"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten_fetches(fetches: Any, leaf) -> tuple[list, Any]:
    """Return ``(leaves, rebuild)`` where ``rebuild(values)`` restores the structure.

    ``leaf(x)`` converts one leaf (Tensor, Operation, Variable or name) to a graph
    element and raises TypeError for anything else.
    """
    leaves: list = []
    t = type(fetches)
    if (t is tuple or t is list) and not any(
            isinstance(x, (Mapping, list, tuple)) for x in fetches):
        # A flat list/tuple of leaves (the hooked session's form): no closures.
        leaves.extend(leaf(x) for x in fetches)
        return leaves, t

    def walk(x):
        if isinstance(x, Mapping):
            keys = list(x.keys())
            subs = [walk(x[k]) for k in keys]
            cls = type(x)

            def build_map(vals, keys=keys, subs=subs, cls=cls):
                items = [(k, s(vals)) for k, s in zip(keys, subs, strict=False)]
                try:
                    return cls(items)
                except TypeError:
                    return dict(items)
            return build_map
        if _is_namedtuple(x):
            subs = [walk(v) for v in x]
            cls = type(x)
            return lambda vals, subs=subs, cls=cls: cls(*[s(vals) for s in subs])
        if isinstance(x, (list, tuple)):
            subs = [walk(v) for v in x]
            cls = type(x)
            if cls in (list, tuple):
                return lambda vals, subs=subs, cls=cls: cls(s(vals) for s in subs)
            return lambda vals, subs=subs, cls=cls: cls([s(vals) for s in subs])
        i = len(leaves)
        leaves.append(leaf(x))
        return lambda vals, i=i: vals[i]

    return leaves, walk(fetches)


def structure_key(fetches: Any):
    """A hashable key describing the structure and leaves of ``fetches``."""
    if isinstance(fetches, Mapping):
        return (type(fetches), tuple((k, structure_key(v)) for k, v in fetches.items()))
    if isinstance(fetches, (list, tuple)):
        return (type(fetches), tuple(structure_key(v) for v in fetches))
    return fetches
