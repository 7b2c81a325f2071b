"""In-memory pipelines on the C input stream (the numpy_input_fn machinery).

Recognised shape (``prefetch`` is transparent)::

    from_tensor_slices(arrays) [.shuffle(b)] [.repeat(n)] .batch(B[, drop_remainder])
        [.repeat(m)] [.take(t)]

with numeric/bool leaves. Such a pipeline runs on ``_pipeline._Stream``: ``num_threads``
C workers gather rows into pooled batch buffers without the GIL; batches cross epoch
boundaries exactly as ``repeat`` before ``batch`` does; ``repeat`` after ``batch`` starts
one stream per pass. The order of each pass comes from one of two places:

* the C sampler (no shuffle; or a buffer that holds every row, whose order is then a
  uniform permutation per pass, repeated passes reshuffling): nothing is precomputed,
  and an endless ``repeat()`` is one endless stream;
* an order table (a buffer smaller than the data, or ``reshuffle_each_iteration=False``
  over repeated passes): TF's buffer order of each pass computed in C
  (``shuffle_buffer_order``, ~10 ns per row) and handed to the stream, which gathers by
  it. An endless ``repeat()`` before ``batch`` runs as streams of ``E`` passes, ``E``
  the fewest passes whose rows fill whole batches (so batch boundaries are the same as
  one endless stream's); a table above :data:`MAX_TABLE` rows falls back to chunks.

The seed of a pass is derived from the shuffle node's seed and the pass index, as the
chunk path does (the two paths draw different numbers: the path is fixed by the
pipeline's shape). Anything else returns None from :func:`plan` and runs on chunks.

Views: an unshuffled pipeline planned with ``views=True`` (an iterator started inside
:func:`estcore.inputs.views.views_scope`, whose consumer only reads its batches) starts no
stream: each batch is a run of consecutive rows of the source arrays, handed out as
read-only views of them (a batch across the end of a pass, or longer than it, is
gathered by one ``take``, also read-only). Same elements, batch boundaries and resume
positions as the stream; no copy and no worker thread.

Must not: loop over rows in Python; decide element semantics differently from the chunk
path (tests compare the two).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from estcore._lib import _pipeline
from estcore.data.node import Node
from estcore.data.options import Options
from estcore.data.shuffle import ShuffleNode
from estcore.data.sources import SlicesNode
from estcore.data.structure import pack
from estcore.data.transforms import BatchNode, PrefetchNode, RepeatNode, TakeNode

__all__ = ["FastPlan", "plan", "MAX_TABLE"]

_QUEUE_ROWS = 1000  # rows buffered ahead, numpy_input_fn's default queue_capacity
MAX_TABLE = 1 << 23  # order-table rows per stream (64 MiB of uint64)


def _leaf_keys(part: Any) -> tuple[str, ...] | None:
    """Sorted keys of a flat dict of arrays (the seam builds it), else None."""
    if type(part) is dict and all(isinstance(k, str) for k in part) and \
            all(isinstance(v, np.ndarray) for v in part.values()):
        return tuple(sorted(part))
    return None


def seam_layout(tree: Any, num_leaves: int) -> tuple[Any, Any, Callable | None]:
    """``(x_keys, y_keys, repack)`` for ``_pipeline._Stream``: the seam itself builds an
    element that is one array, a flat dict of arrays, or a pair of those (repack None);
    any other structure comes back as a dict of numbered columns that ``repack`` turns
    into the element."""
    if tree is None:
        return None, None, None
    x_keys = _leaf_keys(tree)
    if x_keys is not None:
        return x_keys, None, None
    if type(tree) is tuple and len(tree) == 2:
        sides = []
        for part in tree:
            if isinstance(part, np.ndarray):
                sides.append((None, ""))
            else:
                keys = _leaf_keys(part)
                if keys is None:
                    break
                sides.append((keys, keys))
        else:
            return sides[0][0], sides[1][1], None
    keys = tuple(f"{i:04d}" for i in range(num_leaves))

    def repack(batch: dict) -> Any:
        return pack(tree, [batch[k] for k in keys])

    return keys, None, repack


def element_packer(tree: Any, num_leaves: int) -> Callable[[list], Any]:
    """``leaves -> element`` building what ``_pipeline._Stream`` builds for ``tree``
    (same containers and key order; see :func:`seam_layout`)."""
    x_keys, y_keys, repack = seam_layout(tree, num_leaves)
    if repack is not None:
        return lambda leaves: pack(tree, leaves)
    nx = 1 if x_keys is None else len(x_keys)

    def build(leaves: list) -> Any:
        features = leaves[0] if x_keys is None else dict(zip(x_keys, leaves[:nx], strict=True))
        if y_keys is None:
            return features
        if y_keys == "":
            return (features, leaves[nx])
        return (features, dict(zip(y_keys, leaves[nx:], strict=True)))

    return build


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _rows(batch: Any) -> int:
    while not isinstance(batch, np.ndarray):
        batch = batch[0] if isinstance(batch, tuple) else next(iter(batch.values()))
    return int(batch.shape[0])


def _pass_seed(seed: int, pass_index: int, salt: int) -> int:
    ss = np.random.SeedSequence([seed & (2**64 - 1), pass_index, salt])
    return int(ss.generate_state(1, np.uint64)[0])


@dataclass
class FastPlan:
    """A matched pipeline. Counts are in batches (the elements of the pipeline).

    Attributes:
        passes_per_stream: passes of the data one stream covers (-1: one endless
            sampler stream).
        table: True when streams gather by an order table (see the module docstring).
        streams: streams in all (-1: endless).
        views: batches are read-only views of the source arrays (unshuffled only; see
            the module docstring) instead of a stream's.
    """

    slices: SlicesNode
    shuffle: ShuffleNode | None
    passes_per_stream: int
    table: bool
    streams: int
    batch_size: int
    drop_remainder: bool
    limit: int  # take after everything (-1: none)
    num_threads: int
    views: bool = False

    def batches_per_stream(self) -> int:
        """Batches of one stream (-1: endless)."""
        if self.passes_per_stream < 0:
            return -1
        rows = self.slices.num_rows * self.passes_per_stream
        return rows // self.batch_size if self.drop_remainder else -(-rows // self.batch_size)

    def batches(self, start: int) -> Iterator[Any]:
        """Each batch (the element, in the pipeline's structure) from ``start`` on."""
        per = self.batches_per_stream()
        if per == 0 or self.streams == 0:
            return
        remaining = -1 if self.limit < 0 else self.limit - start
        if remaining <= 0 and self.limit >= 0:
            return
        index = 0 if per < 0 else start // per
        first = start if per < 0 else start % per
        if self.shuffle is not None and per > 0:
            for _ in range(index * self.passes_per_stream):
                self.shuffle.next_pass()  # the passes a resumed iterator skips
        stream = self._views if self.views else self._stream
        if self.limit < 0 and self.streams == 1 and index == 0:
            yield from stream(first)  # the common case, one generator less
            return
        while self.streams < 0 or index < self.streams:
            for leaves in stream(first):
                yield leaves
                if remaining > 0:
                    remaining -= 1
                    if remaining == 0:
                        return
            first = 0
            index += 1

    def _order(self) -> np.ndarray:
        n = self.slices.num_rows
        sh = self.shuffle
        parts = [_pipeline.shuffle_buffer_order(n, sh.buffer_size,
                                                _pass_seed(sh.seed, sh.next_pass(), 0xB0FF))
                 for _ in range(self.passes_per_stream)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _views(self, start: int) -> Iterator[Any]:
        """The batches of one unshuffled stream from batch ``start`` on, as views."""
        s = self.slices
        n, size = s.num_rows, self.batch_size
        if n == 0:
            return
        total = n * self.passes_per_stream if self.passes_per_stream >= 0 else -1
        arrays = [_read_only(a) for a in s.arrays]
        build = element_packer(s.tree, len(arrays))
        row = start * size  # position in the stream's rows (pass after pass)
        while total < 0 or row < total:
            end = row + size if total < 0 else min(row + size, total)
            if end - row < size and self.drop_remainder:
                return
            first = row % n
            if first + (end - row) <= n:  # inside one pass: consecutive rows
                leaves = [a[first:first + end - row] for a in arrays]
            else:  # across the end of a pass
                rows = np.arange(row, end, dtype=np.int64) % n
                leaves = [_read_only(a.take(rows, axis=0)) for a in arrays]
            yield build(leaves)
            row = end

    def _stream(self, start: int) -> Iterator[Any]:
        s = self.slices
        epochs = max(self.passes_per_stream, 0)  # 0: endless
        order = None
        seed = 0
        shuffle = False
        if self.table:
            order = self._order()
        elif self.shuffle is not None:
            shuffle = True
            seed = _pass_seed(self.shuffle.seed, self.shuffle.next_pass(), 0xFA57)
        rows = self.batch_size if epochs == 0 else min(self.batch_size, s.num_rows * epochs)
        x_keys, y_keys, repack = seam_layout(s.tree, len(s.arrays))
        core = _pipeline._Stream(list(s.arrays), x_keys, y_keys, rows, epochs, seed, shuffle,
                                 self.num_threads, max(_QUEUE_ROWS, rows), start, order=order)
        drop = self.drop_remainder
        try:
            while True:
                batch = core.next()
                if batch is None:
                    return
                if drop and _rows(batch) < self.batch_size:
                    return
                yield batch if repack is None else repack(batch)
        finally:
            core.close()


def _skip_prefetch(node: Node) -> Node:
    while isinstance(node, PrefetchNode):
        node = node.inputs[0]
    return node


def plan(node: Node, options: Options, views: bool = False) -> FastPlan | None:
    """The C-stream plan of ``node``'s pipeline, or None when it has another shape.

    ``views``: an unshuffled pipeline's batches may be read-only views of its source
    arrays (the consumer only reads them); a shuffled one runs on the stream anyway."""
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
    threads = options.num_threads()
    if threads > _pipeline.MAX_THREADS:
        return None
    n, b = node.num_rows, batch.batch_size
    table = shuffle is not None and (shuffle.buffer_size < n
                                     or (inner != 1 and not shuffle.reshuffle))
    if inner == 0 or outer == 0 or n == 0:  # nothing to yield (repeat of nothing included)
        passes, streams = 1, 0
    elif inner > 0:
        passes, streams = inner, outer
    elif table:  # endless, table: streams of the fewest passes that fill whole batches
        passes, streams = b // math.gcd(n, b), -1
    else:
        passes, streams = -1, 1
    if passes > 0 and n * passes >= 1 << 62:
        return None
    if table and n * passes > MAX_TABLE:
        return None
    return FastPlan(node, shuffle, passes, table, streams, b, batch.drop_remainder, limit,
                    threads, views and shuffle is None)
