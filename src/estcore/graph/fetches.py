"""Session fetch structures: nested list/tuple/namedtuple/dict fetches and their results.

Owns the two things ``Session.run`` needs from a fetch structure: its leaves with a
``rebuild`` for the results (through :func:`estcore.nest.packer`), and a hashable key
for the session's cache of compiled fetch families. It must not run or plan anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from estcore.nest import packer

__all__ = ["flatten_fetches", "structure_key"]


def flatten_fetches(fetches: Any, leaf: Callable[[Any], Any]
                    ) -> tuple[list, Callable[[Sequence], Any]]:
    """Return ``(leaves, rebuild)`` where ``rebuild(values)`` restores the structure.

    Results keep the caller's container types and dict key order (a
    ``defaultdict`` keeps its ``default_factory``, as TF1). Dict keys are walked in
    their own order, so they need not be orderable (TF1's Session accepts any
    hashable key).

    A composite leaf (one with ``_estcore_components()``, a SparseTensor) is fetched as
    its parts and rebuilt by its ``_estcore_rebuild(values)`` (a SparseTensorValue).

    Args:
        fetches: a leaf or a nested list/tuple/namedtuple/dict of leaves.
        leaf: converts one leaf (Tensor, Operation, Variable or name) to a graph
            element and raises TypeError for anything else.

    Returns:
        The converted leaves (a leaf fetched twice appears twice) and
        ``rebuild(values)``, taking one value per leaf.
    """
    leaves, rebuild = packer(fetches, sort_keys=False)
    if not any(hasattr(x, "_estcore_components") for x in leaves):
        return [leaf(x) for x in leaves], rebuild
    # composite leaves (a SparseTensor): fetch their parts, rebuild their value
    flat: list = []
    spans: list = []
    for x in leaves:
        comps = getattr(x, "_estcore_components", None)
        if comps is None:
            spans.append(None)
            flat.append(leaf(x))
        else:
            parts = comps()
            spans.append((len(parts), x._estcore_rebuild))
            flat.extend(leaf(p) for p in parts)

    def rebuild_composites(values: Sequence):
        out, i = [], 0
        for span in spans:
            if span is None:
                out.append(values[i])
                i += 1
            else:
                n, make = span
                out.append(make(values[i:i + n]))
                i += n
        return rebuild(out)
    return flat, rebuild_composites


def structure_key(fetches: Any) -> Any:
    """A hashable key describing the structure and leaves of ``fetches``."""
    if isinstance(fetches, Mapping):
        return (type(fetches), getattr(fetches, "default_factory", None),
                tuple((k, structure_key(v)) for k, v in fetches.items()))
    if isinstance(fetches, (list, tuple)):
        return (type(fetches), tuple(structure_key(v) for v in fetches))
    return fetches
