"""Seed derivation and per-session random streams.

An op's seed pair is ``(graph_seed, op_seed)``: with a graph seed and no op seed,
the op seed is the node's creation index, so the same program with the same
``set_random_seed`` draws the same numbers; with neither, fresh OS entropy is
drawn once when the op is created (TF1 behaviour: not reproducible). Each
session keeps one numpy ``Generator`` per random node, created from the seed
pair on first use and advanced by every run (so dropout masks differ per step
but the sequence is identical across two sessions).

Must not: hold generators or per-session state (the Session keeps its generators,
made with :func:`generator_for`); use numpy's global random state.
"""

from __future__ import annotations

import numpy as np

from estcore.graph.ir import Graph, get_default_graph

__all__ = ["set_random_seed", "get_seed", "op_seeds", "DEFAULT_GRAPH_SEED", "generator_for"]

DEFAULT_GRAPH_SEED = 87654321
_MASK = (1 << 63) - 1


def set_random_seed(seed: int | None) -> None:
    """Set the graph-level seed of the default graph (TF1 ``tf.set_random_seed``)."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"`seed` must be an int or None. Received: seed={seed!r} "
                            f"({type(seed).__name__})")
        seed = int(seed)
    get_default_graph().seed = seed


def op_seeds(graph: Graph, op_seed: int | None) -> tuple[int, int]:
    """The ``(graph_seed, op_seed)`` pair for the next op created in ``graph``."""
    gs = graph.seed
    if gs is None and op_seed is None:
        ent = np.random.SeedSequence().entropy
        return (int(ent) & _MASK, int(ent >> 64) & _MASK)
    if gs is None:
        gs = DEFAULT_GRAPH_SEED
    if op_seed is None:
        op_seed = len(graph._nodes)
    return (int(gs) & _MASK, int(op_seed) & _MASK)


def get_seed(op_seed: int | None) -> tuple[int | None, int | None]:
    """TF1 ``tf.get_seed``: the seed pair for a new op in the default graph."""
    g = get_default_graph()
    if g.seed is None and op_seed is None:
        return (None, None)
    return op_seeds(g, op_seed)


def generator_for(seeds: tuple[int, int]) -> np.random.Generator:
    """A fresh numpy Generator for a seed pair (PCG64 via SeedSequence)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(seeds))))
