"""Transformation nodes: batch, padded_batch, unbatch, take, skip, repeat, filter,
shard, enumerate, flat_map, interleave, cache, prefetch.

Each works on chunks and keeps TF's element-level semantics: ``batch`` cuts batches at
element counts (a batch never depends on chunk boundaries; the last one is short unless
``drop_remainder``), ``repeat`` restarts its input (so a shuffle upstream reshuffles),
``take``/``skip``/``shard`` count elements. Full batches taken from one large chunk are
views (``reshape``), not copies.

Count and size arguments may be :class:`~estcore.data.fed.FedArg` s (graph tensors bound
when an iterator's initializer runs): a node reads them when a pass starts, its
cardinality is unknown until they are bound, and a fed ``batch_size`` or
``drop_remainder`` leaves the static batch dimension unknown (as TF).

Must not: trace or run user functions (``mapping.py`` does: these nodes get runners);
start threads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore.data.fed import FedArg, describe_arg, fed_args, fed_property, is_bound
from estcore.data.node import INFINITE, UNKNOWN, Node
from estcore.data.structure import (
    Chunk,
    TensorSpec,
    chunk_len,
    cut,
    join,
    stack_elements,
)
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.shapes import TensorShape
from estcore.nest import map_structure

__all__ = ["BatchNode", "PaddedBatchNode", "UnbatchNode", "TakeNode", "SkipNode", "RepeatNode",
           "FilterNode", "ShardNode", "EnumerateNode", "FlatMapNode", "InterleaveNode",
           "CacheNode", "PrefetchNode", "IgnoreErrorsNode"]


def _prepend(size: int | None, shape: TensorShape) -> TensorShape:
    return TensorShape(None if shape.rank is None else [size, *shape.as_list()])


def _batched(structure: Any, size: int | None) -> Any:
    return map_structure(lambda s: TensorSpec(_prepend(size, s.shape), s.dtype), structure)


def _uniform(specs: list[TensorSpec]) -> bool:
    return all(s.shape.is_fully_defined() for s in specs)


def _static_batch(batch_size: int | FedArg, drop_remainder: bool | FedArg) -> int | None:
    """The static batch dimension: ``batch_size`` when every batch has it (as TF 2.15,
    also when endless), None when a last batch may be short or a value is fed."""
    if drop_remainder is True and type(batch_size) is not FedArg:
        return batch_size
    return None


def _batches(count: int, batch_size: int, drop_remainder: bool) -> int:
    if count < 0:
        return count
    return count // batch_size if drop_remainder else -(-count // batch_size)


class BatchNode(Node):
    batch_size = fed_property("_batch_size")
    drop_remainder = fed_property("_drop_remainder")

    def __init__(self, up: Node, batch_size: int | FedArg, drop_remainder: bool | FedArg):
        self.inputs = (up,)
        self._batch_size = batch_size
        self._drop_remainder = drop_remainder
        self.fed_args = fed_args(batch_size, drop_remainder)
        super().__init__(_batched(up.structure, _static_batch(batch_size, drop_remainder)))

    def chunks(self) -> Iterator[Chunk]:
        b = self.batch_size
        drop = self.drop_remainder
        pending: list[Chunk] = []
        have = 0
        for chunk in self.inputs[0].chunks():
            n = chunk_len(chunk)
            pos = 0
            if have:
                take = min(b - have, n)
                pending.append(cut(chunk, 0, take))
                have += take
                pos = take
                if have < b:
                    continue
                yield self._one(pending)
                pending, have = [], 0
            m = (n - pos) // b
            if m:
                part = cut(chunk, pos, pos + m * b)
                yield [a.reshape((m, b) + a.shape[1:]) for a in part]
                pos += m * b
            if pos < n:
                pending.append(cut(chunk, pos))
                have = n - pos
        if have and not drop:
            yield self._one(pending)

    def _one(self, pending: list[Chunk]) -> Chunk:
        try:
            rows = join(pending)
        except ValueError:
            rows = stack_elements([[a[i] for a in c] for c in pending
                                   for i in range(chunk_len(c))], "batch")
        return [a[None] for a in rows]

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        return _batches(self.inputs[0].cardinality(), self.batch_size, self.drop_remainder)

    def describe(self) -> list:
        return ["batch", describe_arg(self._batch_size), describe_arg(self._drop_remainder),
                self.inputs[0].describe()]


class PaddedBatchNode(Node):
    """Batches elements of varying shapes, padding each leaf to ``padded_shapes``."""

    batch_size = fed_property("_batch_size")
    drop_remainder = fed_property("_drop_remainder")

    def __init__(self, up: Node, batch_size: int | FedArg, padded: list[TensorShape],
                 values: list[Any], drop_remainder: bool | FedArg):
        self.inputs = (up,)
        self._batch_size = batch_size
        self.padded = padded
        self.values = values
        self._drop_remainder = drop_remainder
        self.fed_args = fed_args(batch_size, drop_remainder)
        static = _static_batch(batch_size, drop_remainder)
        leaves = [TensorSpec(_prepend(static, p), s.dtype)
                  for p, s in zip(padded, up.flat_specs, strict=True)]
        it = iter(leaves)
        super().__init__(map_structure(lambda _s: next(it), up.structure))

    def chunks(self) -> Iterator[Chunk]:
        size = self.batch_size
        drop = self.drop_remainder
        batch: list[list[np.ndarray]] = []
        for chunk in self.inputs[0].chunks():
            for i in range(chunk_len(chunk)):
                batch.append([a[i] for a in chunk])
                if len(batch) == size:
                    yield self._pad(batch)
                    batch = []
        if batch and not drop:
            yield self._pad(batch)

    def _pad(self, batch: list[list[np.ndarray]]) -> Chunk:
        out = []
        for j, (target, value, spec) in enumerate(zip(self.padded, self.values,
                                                      self.flat_specs, strict=True)):
            parts = [np.asarray(e[j]) for e in batch]
            rank = parts[0].ndim
            if target.rank is not None and target.rank != rank:
                raise ValueError(f"padded_batch: component {j} has rank {rank} but "
                                 f"padded_shapes gives rank {target.rank}")
            dims = []
            for d in range(rank):
                longest = max(p.shape[d] for p in parts)
                want = None if target.rank is None else target.as_list()[d]
                if want is not None and longest > want:
                    raise ValueError(f"padded_batch: component {j} has dimension {d} of size "
                                     f"{longest}, larger than the padded shape {want}")
                dims.append(longest if want is None else want)
            fill = value if value is not None else (b"" if spec.dtype.is_string else 0)
            dtype = object if spec.dtype.is_string else parts[0].dtype
            arr = np.full([len(parts)] + dims, fill, dtype=dtype)
            for i, p in enumerate(parts):
                arr[(i,) + tuple(slice(0, s) for s in p.shape)] = p
            out.append(arr[None])
        return out

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        return _batches(self.inputs[0].cardinality(), self.batch_size, self.drop_remainder)


class UnbatchNode(Node):
    def __init__(self, up: Node):
        for s in up.flat_specs:
            if s.shape.rank == 0:
                raise ValueError("unbatch: every component needs a leading (batch) dimension; "
                                 "got a scalar component")
        self.inputs = (up,)
        super().__init__(map_structure(
            lambda s: TensorSpec(s.shape.as_list()[1:] if s.shape.rank is not None else None,
                                 s.dtype),
            up.structure))

    def chunks(self) -> Iterator[Chunk]:
        for chunk in self.inputs[0].chunks():
            inner = {a.shape[1] for a in chunk}
            if len(inner) != 1:
                raise ValueError("unbatch: the components of an element have different "
                                 f"batch sizes: {sorted(inner)}")
            (b,) = inner
            if b:
                yield [a.reshape((-1,) + a.shape[2:]) for a in chunk]


class TakeNode(Node):
    """The first ``count`` elements (negative: all)."""

    count = fed_property("_count")

    def __init__(self, up: Node, count: int | FedArg):
        self.inputs = (up,)
        self._count = count
        self.fed_args = fed_args(count)
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        left = self.count
        if left == 0:
            return
        for chunk in self.inputs[0].chunks():
            n = chunk_len(chunk)
            if left < 0 or n < left:
                yield chunk
                left -= n if left > 0 else 0
                continue
            yield cut(chunk, 0, left)
            return

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        c = self.inputs[0].cardinality()
        if self.count < 0:
            return c
        if c == INFINITE:
            return self.count
        return UNKNOWN if c == UNKNOWN else min(c, self.count)

    def describe(self) -> list:
        return ["take", describe_arg(self._count), self.inputs[0].describe()]


class SkipNode(Node):
    """All but the first ``count`` elements (negative: skips them all)."""

    count = fed_property("_count")

    def __init__(self, up: Node, count: int | FedArg):
        self.inputs = (up,)
        self._count = count
        self.fed_args = fed_args(count)
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        left = self.count
        for chunk in self.inputs[0].chunks():
            if left < 0:
                continue  # skip(-1) skips everything (TF)
            n = chunk_len(chunk)
            if left >= n:
                left -= n
                continue
            yield cut(chunk, left) if left else chunk
            left = 0

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        c = self.inputs[0].cardinality()
        if self.count < 0:
            return 0 if c >= 0 else c
        return max(c - self.count, 0) if c >= 0 else c

    def describe(self) -> list:
        return ["skip", describe_arg(self._count), self.inputs[0].describe()]


class RepeatNode(Node):
    """``count`` passes over the input (negative: endless); each pass restarts it."""

    count = fed_property("_count")

    def __init__(self, up: Node, count: int | FedArg):
        self.inputs = (up,)
        self._count = count
        self.fed_args = fed_args(count)
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        count = self.count
        epoch = 0
        while count < 0 or epoch < count:
            empty = True
            for chunk in self.inputs[0].chunks():
                empty = False
                yield chunk
            if empty:
                return  # an empty input repeated forever is empty (as in TF)
            epoch += 1

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        c = self.inputs[0].cardinality()
        if self.count < 0:
            return 0 if c == 0 else INFINITE
        return c * self.count if c >= 0 else c

    def describe(self) -> list:
        return ["repeat", describe_arg(self._count), self.inputs[0].describe()]


class FilterNode(Node):
    """Keeps the elements whose predicate is True; ``keep(chunk)`` returns the mask
    (``keep.skipping``: the same, leaving out elements whose predicate raises)."""

    tolerant = False

    def __init__(self, up: Node, keep: Callable[[Chunk], np.ndarray]):
        self.inputs = (up,)
        self.keep = keep
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        keep = getattr(self.keep, "skipping", self.keep) if self.tolerant else self.keep
        for chunk in self.inputs[0].chunks():
            mask = keep(chunk)
            if mask.all():
                yield chunk
            elif mask.any():
                yield [a[mask] for a in chunk]


class ShardNode(Node):
    num_shards = fed_property("_num_shards")
    index = fed_property("_index")

    def __init__(self, up: Node, num_shards: int | FedArg, index: int | FedArg):
        self.inputs = (up,)
        self._num_shards = num_shards
        self._index = index
        self.fed_args = fed_args(num_shards, index)
        super().__init__(up.structure)

    def check_args(self) -> None:
        n, i = self.num_shards, self.index
        if not 0 <= i < n:  # n alone was checked when bound (or when the Dataset was built)
            raise InvalidArgumentError(f"Index must be between 0 and {n - 1} (currently "
                                       f"index = {i}).")

    def chunks(self) -> Iterator[Chunk]:
        pos = 0
        n, i = self.num_shards, self.index
        for chunk in self.inputs[0].chunks():
            k = chunk_len(chunk)
            first = (i - pos) % n
            if first < k:
                yield [a[first::n] for a in chunk]
            pos += k

    def describe(self) -> list:
        return ["shard", describe_arg(self._num_shards), describe_arg(self._index),
                self.inputs[0].describe()]


class EnumerateNode(Node):
    start = fed_property("_start")

    def __init__(self, up: Node, start: int | FedArg):
        self.inputs = (up,)
        self._start = start
        self.fed_args = fed_args(start)
        super().__init__((TensorSpec([], dt.int64), up.structure))

    def chunks(self) -> Iterator[Chunk]:
        pos = self.start
        for chunk in self.inputs[0].chunks():
            k = chunk_len(chunk)
            yield [np.arange(pos, pos + k, dtype=np.int64), *chunk]
            pos += k

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()


class FlatMapNode(Node):
    """``make(element) -> Node`` per input element; the outputs' elements in order."""

    def __init__(self, up: Node, make: Callable[[list], Node], structure: Any):
        self.inputs = (up,)
        self.make = make
        super().__init__(structure)

    def chunks(self) -> Iterator[Chunk]:
        for chunk in self.inputs[0].chunks():
            for i in range(chunk_len(chunk)):
                yield from self.make([a[i] for a in chunk]).chunks()


class InterleaveNode(Node):
    """TF's interleave: ``cycle_length`` open inputs, ``block_length`` elements from each
    in turn; an input found exhausted (at its turn or inside its block) is replaced by
    the next element's dataset, which is first read at the slot's next turn."""

    def __init__(self, up: Node, make: Callable[[list], Node], structure: Any,
                 cycle_length: int, block_length: int):
        self.inputs = (up,)
        self.make = make
        self.cycle_length = cycle_length
        self.block_length = block_length
        super().__init__(structure)

    def _elements(self) -> Iterator[list]:
        for chunk in self.inputs[0].chunks():
            for i in range(chunk_len(chunk)):
                yield [a[i] for a in chunk]

    def chunks(self) -> Iterator[Chunk]:
        source = self._elements()
        slots: list[Any] = []
        exhausted = False

        def open_next() -> Any:
            nonlocal exhausted
            if exhausted:
                return None
            element = next(source, None)
            if element is None:
                exhausted = True
                return None
            return _Rows(self.make(element).chunks())

        while len(slots) < self.cycle_length:
            r = open_next()
            if r is None:
                break
            slots.append(r)
        i = 0
        while slots:
            got = slots[i].take(self.block_length)
            if got is not None:
                yield got
            if got is None or slots[i].done:
                r = open_next()
                if r is None:
                    slots.pop(i)
                    if not slots:
                        return
                    i %= len(slots)
                    continue
                slots[i] = r  # read at its next turn, as TF's interleave
            i = (i + 1) % len(slots)


class _Rows:
    """Cursor over a chunk iterator: ``take(n)`` returns up to n rows (None at the end)."""

    def __init__(self, it: Iterator[Chunk]):
        self.it = it
        self.buf: Chunk | None = None
        self.done = False

    def take(self, n: int) -> Chunk | None:
        parts: list[Chunk] = []
        need = n
        while need:
            if self.buf is None or chunk_len(self.buf) == 0:
                self.buf = next(self.it, None)
                if self.buf is None:
                    self.done = True
                    break
                continue
            k = min(need, chunk_len(self.buf))
            parts.append(cut(self.buf, 0, k))
            self.buf = cut(self.buf, k)
            need -= k
        if not parts:
            return None
        try:
            return join(parts)
        except ValueError:  # rows of different shapes: one per chunk is still valid
            return parts[0]


class CacheNode(Node):
    """Keeps the chunks of the first complete pass in memory and replays them."""

    def __init__(self, up: Node):
        self.inputs = (up,)
        self.cached: list[Chunk] | None = None
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        if self.cached is not None:
            yield from self.cached
            return
        seen: list[Chunk] = []
        for chunk in self.inputs[0].chunks():
            seen.append(chunk)
            yield chunk
        self.cached = seen  # only a complete pass is cached (as TF's cache)

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()

    def describe(self) -> list:
        return ["cache", self.inputs[0].describe()]


class PrefetchNode(Node):
    """Pass-through: estcore's producers are synchronous or already prefetch (C stream)."""

    buffer_size = fed_property("_buffer_size")

    def __init__(self, up: Node, buffer_size: int | FedArg):
        self.inputs = (up,)
        self._buffer_size = buffer_size
        self.fed_args = fed_args(buffer_size)  # checked when bound, then unused
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        return self.inputs[0].chunks()

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()

    def describe(self) -> list:
        return self.inputs[0].describe()


def _tolerant_copy(node: Node, mode: str) -> Node:
    """A copy of ``node``'s pipeline whose map / filter / file nodes leave out failing
    elements (the original nodes, which other Datasets may share, are not changed).
    ``mode``: ``"log"`` (each leaving-out logged as a warning) or ``"quiet"``."""
    new = copy.copy(node)
    new.inputs = tuple(_tolerant_copy(n, mode) for n in node.inputs)
    if hasattr(type(new), "tolerant"):
        new.tolerant = mode
    return new


class IgnoreErrorsNode(Node):
    """TF's ``ignore_errors``: elements whose production raises are left out (a map or
    filter function failing on an element; a file reader's error ends that file, the
    next file is read). Errors elsewhere (e.g. batching elements of different shapes)
    still raise."""

    def __init__(self, up: Node, log_warning: bool):
        self.inputs = (_tolerant_copy(up, "log" if log_warning else "quiet"),)
        self.log_warning = log_warning
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        return self.inputs[0].chunks()

    def cardinality(self) -> int:
        return UNKNOWN

    def describe(self) -> list:
        return ["ignore_errors", self.inputs[0].describe()]

