"""``shuffle(buffer_size, seed, reshuffle_each_iteration)`` with TF's buffer semantics.

The order (documented in docs/input_pipeline.md):

* the buffer is filled with the first ``buffer_size`` elements;
* then, for each further input element, a uniformly random buffer slot is emitted and
  the input element takes its place;
* at the end of the input the remaining buffer is emitted in uniformly random order.

With ``buffer_size >=`` the number of elements this is a uniform permutation of the pass.
The random numbers come from numpy's PCG64 seeded with ``(seed, pass)``: ``pass``
counts the passes over this node (each ``repeat`` epoch, each new iterator) when
``reshuffle_each_iteration`` is True and stays 0 otherwise. So a seeded pipeline gives
the same order in every run; the numbers differ from TF's Philox stream (an order
cannot be bit-compatible with TF's).

Fixed-shape elements are handled in *slot space*: for a chunk of ``k`` inputs a short
integer loop decides which slot each output comes from and which input ends in which
slot; rows are then moved with one gather and one scatter per leaf. Elements of varying
shapes are buffered one by one.

Must not: draw randomness outside ``(seed, pass)``; copy the whole buffer per chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from estcore.data.fed import FedArg, describe_arg, fed_args, fed_property
from estcore.data.node import Node
from estcore.data.structure import Chunk, chunk_len, cut, join

__all__ = ["ShuffleNode", "pass_rng"]


def pass_rng(seed: int, pass_index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence([seed & (2**64 - 1), pass_index, 0x5EED])))


class ShuffleNode(Node):
    """Buffer shuffle of its input (see the module docstring).

    Attributes:
        seed: the 64-bit seed of this node (fixed when a seed was given or the
            Estimator's seed scope was active at construction).
        buffer_size: an int (a FedArg bound by an initializer is read per pass).
    """

    buffer_size = fed_property("_buffer_size")

    def __init__(self, up: Node, buffer_size: int | FedArg, seed: int,
                 reshuffle_each_iteration: bool):
        self.inputs = (up,)
        self._buffer_size = buffer_size
        self.fed_args = fed_args(buffer_size)
        self.seed = seed
        self.reshuffle = reshuffle_each_iteration
        self.passes = 0
        super().__init__(up.structure)

    def next_pass(self) -> int:
        """The pass index the next ``chunks()`` uses (advances the counter)."""
        p = self.passes if self.reshuffle else 0
        self.passes += 1
        return p

    def chunks(self) -> Iterator[Chunk]:
        rng = pass_rng(self.seed, self.next_pass())
        if all(s.shape.is_fully_defined() for s in self.flat_specs):
            return self._slots(rng)
        return self._elements(rng)

    def _slots(self, rng: np.random.Generator) -> Iterator[Chunk]:
        b = self.buffer_size
        filling: list[Chunk] = []
        have = 0
        it = self.inputs[0].chunks()
        buf: Chunk | None = None
        for chunk in it:
            n = chunk_len(chunk)
            if have + n <= b:
                filling.append(chunk)
                have += n
                if have == b:
                    buf = [np.array(a) for a in join(filling)]  # owned: slots are written
                    break
                continue
            filling.append(cut(chunk, 0, b - have))
            buf = [np.array(a) for a in join(filling)]
            rest = cut(chunk, b - have)
            yield self._step(buf, rest, rng)
            break
        else:
            if filling:
                rows = join(filling)
                order = rng.permutation(chunk_len(rows))
                yield [a[order] for a in rows]
            return
        for chunk in it:
            yield self._step(buf, chunk, rng)
        order = rng.permutation(b)
        yield [a[order] for a in buf]

    @staticmethod
    def _step(buf: Chunk, chunk: Chunk, rng: np.random.Generator) -> Chunk:
        """Emit one slot per input row of ``chunk``, replacing it with that row."""
        k = chunk_len(chunk)
        b = chunk_len(buf)
        picks = rng.integers(0, b, size=k).tolist()
        src = [0] * k  # >= 0: row of chunk; < 0: -(slot + 1) of the old buffer
        now: dict[int, int] = {}
        for j, r in enumerate(picks):
            s = now.get(r)
            src[j] = -(r + 1) if s is None else s
            now[r] = j
        src_a = np.asarray(src, dtype=np.int64)
        old = src_a < 0
        old_slots = -src_a[old] - 1
        new_rows = src_a[~old]
        out = []
        for a, c in zip(buf, chunk, strict=True):
            o = np.empty((k,) + a.shape[1:], dtype=a.dtype)
            o[old] = a[old_slots]
            o[~old] = c[new_rows]
            out.append(o)
        slots = np.fromiter(now.keys(), dtype=np.int64, count=len(now))
        rows = np.fromiter(now.values(), dtype=np.int64, count=len(now))
        for a, c in zip(buf, chunk, strict=True):
            a[slots] = c[rows]
        return out

    def _elements(self, rng: np.random.Generator) -> Iterator[Chunk]:
        b = self.buffer_size
        buf: list[list[np.ndarray]] = []
        for chunk in self.inputs[0].chunks():
            for i in range(chunk_len(chunk)):
                row = [a[i:i + 1] for a in chunk]
                if len(buf) < b:
                    buf.append(row)
                    continue
                r = int(rng.integers(0, b))
                yield buf[r]
                buf[r] = row
        for r in rng.permutation(len(buf)).tolist():
            yield buf[r]

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()

    def describe(self) -> list:
        return ["shuffle", describe_arg(self._buffer_size), self.reshuffle,
                self.inputs[0].describe()]
