"""The node protocol behind every Dataset: a spec and an iterator of chunks.

A :class:`Node` describes one pipeline stage. ``chunks()`` starts a fresh pass and
yields chunks (see :mod:`estcore.data.structure`): lists of arrays, one per leaf of the
element structure, stacked along a leading element axis. Element-level semantics
(order, counts, batch boundaries) are defined on the elements those chunks hold;
chunk boundaries carry no meaning and may differ between passes.

Must not: hold the public Dataset methods (:mod:`estcore.data.dataset` does) or start
threads (the C stream is started by :mod:`estcore.data.fast`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from estcore.data.structure import Chunk, TensorSpec
from estcore.nest import flatten

__all__ = ["Node", "INFINITE", "UNKNOWN", "CHUNK_ROWS"]

INFINITE = -1  # tf.data.experimental.INFINITE_CARDINALITY
UNKNOWN = -2  # tf.data.experimental.UNKNOWN_CARDINALITY
CHUNK_ROWS = 4096  # elements per chunk of an in-memory source


class Node:
    """One stage of a pipeline.

    Attributes:
        structure: the element structure with :class:`TensorSpec` leaves, or one
            TensorSpec (a single-leaf element).
        inputs: upstream nodes (for the C pipeline's pattern match and fingerprints).
        fed_args: this node's arguments given as graph tensors (see
            :mod:`estcore.data.fed`), bound when an iterator's initializer runs.
    """

    inputs: tuple = ()
    fed_args: tuple = ()

    def __init__(self, structure: Any):
        self.structure = structure
        self.flat_specs: list[TensorSpec] = flatten(structure)

    def chunks(self) -> Iterator[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_args(self) -> None:
        """Checks across arguments once an initializer has bound ``fed_args``
        (InvalidArgumentError with TF's message); each alone was checked when bound."""

    def cardinality(self) -> int:
        """Elements per pass: ``INFINITE``, ``UNKNOWN`` or a count."""
        return UNKNOWN

    def describe(self) -> list:
        """A JSON-able fingerprint of this pipeline (kind and arguments, not data)."""
        return [type(self).__name__, [i.describe() for i in self.inputs]]
