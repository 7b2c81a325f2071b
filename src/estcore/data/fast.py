"""In-memory pipelines on the C input stream (the numpy_input_fn machinery).

Recognised shape (``prefetch`` is transparent)::

    from_tensor_slices(arrays) [.shuffle(b)] [.repeat(n)] .batch(B[, drop_remainder])
        [.repeat(m)] [.take(t)]

with numeric/bool leaves, and a shuffle whose buffer holds every row (``b >= rows``:
TF's order is then a uniform permutation per pass, which is what the C sampler draws)
and, when repeated before batching, ``reshuffle_each_iteration=True``. Such a pipeline
runs on ``_pipeline._Stream``: ``num_threads`` C workers gather rows into pooled batch
buffers without the GIL; batches cross epoch boundaries exactly as ``repeat`` before
``batch`` does; ``repeat`` after ``batch`` starts one stream per pass. The sampler's seed
for a pass is derived from the shuffle node's seed and the pass index, as the numpy path
does. Anything else returns None from :func:`plan` and runs on chunks.

Must not: loop over rows in Python; decide element semantics differently from the chunk
path (tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from estcore._lib import _pipeline
from estcore.data.node import Node
from estcore.data.options import Options
from estcore.data.shuffle import ShuffleNode
from estcore.data.sources import SlicesNode
from estcore.data.transforms import BatchNode, PrefetchNode, RepeatNode, TakeNode

__all__ = ["FastPlan", "plan"]

_QUEUE_ROWS = 1000  # rows buffered ahead, numpy_input_fn's default queue_capacity


@dataclass
class FastPlan:
    """A matched pipeline. Counts are in batches (the elements of the pipeline)."""

    slices: SlicesNode
    shuffle: ShuffleNode | None
    inner_epochs: int  # repeat before batch: passes per stream (-1 endless)
    batch_size: int
    drop_remainder: bool
    outer_epochs: int  # repeat after batch (-1 endless)
    limit: int  # take after everything (-1: none)
    num_threads: int

    def batches_per_stream(self) -> int:
        """Batches of one stream (-1: endless)."""
        if self.inner_epochs < 0:
            return -1
        rows = self.slices.num_rows * self.inner_epochs
        return rows // self.batch_size if self.drop_remainder else -(-rows // self.batch_size)

    def batches(self, start: int) -> Iterator[list[np.ndarray]]:
        """Flat leaves of each batch from element (batch) ``start`` on."""
        per = self.batches_per_stream()
        if per == 0:
            return
        remaining = -1 if self.limit < 0 else self.limit - start
        if remaining == 0:
            return
        outer = 0 if per < 0 else start // per
        first = start if per < 0 else start % per
        if self.shuffle is not None:
            for _ in range(outer):
                self.shuffle.next_pass()  # the passes a resumed iterator skips
        while self.outer_epochs < 0 or outer < self.outer_epochs:
            for leaves in self._stream(first, per):
                yield leaves
                if remaining > 0:
                    remaining -= 1
                    if remaining == 0:
                        return
            first = 0
            outer += 1

    def _stream(self, start: int, per: int) -> Iterator[list[np.ndarray]]:
        s = self.slices
        shuffle = self.shuffle is not None
        seed = 0
        if self.shuffle is not None:
            p = self.shuffle.next_pass()
            seed = int(np.random.SeedSequence([self.shuffle.seed, p, 0xFA57])
                       .generate_state(1, np.uint64)[0])
        epochs = 0 if self.inner_epochs < 0 else self.inner_epochs
        rows = self.batch_size if epochs == 0 else min(self.batch_size, s.num_rows * epochs)
        if per >= 0 and start >= per:
            return
        n = len(s.arrays)
        keys = tuple(f"{i:04d}" for i in range(n))
        core = _pipeline._Stream(list(s.arrays), keys, None, rows, epochs, seed, shuffle,
                                 self.num_threads, max(_QUEUE_ROWS, rows), start)
        try:
            while True:
                batch = core.next()
                if batch is None:
                    return
                leaves = [batch[k] for k in keys]
                if self.drop_remainder and leaves[0].shape[0] < self.batch_size:
                    return
                yield leaves
        finally:
            core.close()


def _skip_prefetch(node: Node) -> Node:
    while isinstance(node, PrefetchNode):
        node = node.inputs[0]
    return node


def plan(node: Node, options: Options) -> FastPlan | None:
    """The C-stream plan of ``node``'s pipeline, or None when it has another shape."""
    node = _skip_prefetch(node)
    limit = -1
    if isinstance(node, TakeNode):
        limit = node.count
        node = _skip_prefetch(node.inputs[0])
    outer = 1
    if isinstance(node, RepeatNode):
        outer = node.count
        node = _skip_prefetch(node.inputs[0])
    if not isinstance(node, BatchNode):
        return None
    batch = node
    node = _skip_prefetch(node.inputs[0])
    inner = 1
    if isinstance(node, RepeatNode):
        inner = node.count
        node = _skip_prefetch(node.inputs[0])
    shuffle = None
    if isinstance(node, ShuffleNode):
        shuffle = node
        node = _skip_prefetch(node.inputs[0])
    if not isinstance(node, SlicesNode):
        return None
    if any(a.dtype.hasobject or a.dtype.itemsize == 0 for a in node.arrays):
        return None
    if any(a.ndim - 1 > _pipeline.MAX_DIMS for a in node.arrays):
        return None
    if shuffle is not None:
        if shuffle.buffer_size < node.num_rows:
            return None
        if inner != 1 and not shuffle.reshuffle:
            return None
    if inner == 0 or outer == 0:
        inner = 0
    if inner > 0 and node.num_rows * inner >= 1 << 62:
        return None
    threads = options.num_threads()
    if threads > _pipeline.MAX_THREADS:
        return None
    return FastPlan(node, shuffle, inner, batch.batch_size, batch.drop_remainder, outer,
                    limit, threads)
