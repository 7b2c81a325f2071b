"""``Dataset.cache(filename)``: the elements of a complete pass kept in files.

The first pass reads the input and writes its elements through to
``<filename>.data`` (a temporary name while the pass runs); when the pass ends, the
temporary data file is renamed and ``<filename>.index`` is written (the index is the
commit mark: a cache without one does not exist). Every later pass (a repeat epoch, a
new iterator, another program building the same pipeline) reads the files and not the
input. A pass that stops early (``take``, an interrupted program, an error) leaves no
cache: its partial file is deleted and the next pass writes a new one, as TF's
"partially cached contents ... will be discarded".

File format (estcore's own; TF's tensor-bundle files are not read or written):

* ``<filename>.index``: JSON ``{"format": "estcore-dataset-cache", "version": 1,
  "specs": [[dtype, shape], ...], "blocks": [[rows, [leaf, ...]], ...]}`` where each
  leaf of a block is ``[element_shape, nbytes]`` for a numeric leaf and
  ``[element_shape, nbytes, lengths_nbytes]`` for a string leaf;
* ``<filename>.data``: the blocks' leaves back to back: a numeric leaf is its C-order
  bytes (``specs``' dtype, little- or big-endian as recorded in the numpy dtype string);
  a string leaf is its values' lengths (int64) then the values' bytes concatenated.

Blocks hold up to :data:`~estcore.data.node.CHUNK_ROWS` consecutive elements of one
shape per leaf. A cache whose specs differ from the dataset's raises
InvalidArgumentError; a data file shorter than its index says raises DataLossError.

Must not: keep elements in memory beyond one block; pickle (strings are stored as
bytes with lengths).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np

from estcore.data.node import CHUNK_ROWS, Node
from estcore.data.structure import Chunk, chunk_len, join
from estcore.errors import DataLossError, InvalidArgumentError, NotFoundError

__all__ = ["FileCacheNode", "FORMAT"]

FORMAT = "estcore-dataset-cache"
VERSION = 1
logger = logging.getLogger("estcore")


def _spec_key(node: Node) -> list:
    return [[s.dtype.name, None if s.shape.rank is None else s.shape.as_list()]
            for s in node.flat_specs]


class _Writer:
    """Writes blocks to a temporary data file; ``commit`` publishes data + index."""

    def __init__(self, base: str, specs: list):
        folder = os.path.dirname(base) or "."
        if not os.path.isdir(folder):
            raise NotFoundError(f"cache: the folder of filename '{base}' does not exist "
                                f"({folder}); create it first")
        self.base = base
        self.specs = specs
        self.tmp = f"{base}.data.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.file = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit / discard
        self.blocks: list = []
        self.pending: list[Chunk] = []
        self.rows = 0

    def add(self, chunk: Chunk) -> None:
        k = chunk_len(chunk)
        if k == 0:
            return
        if self.pending and [a.shape[1:] for a in chunk] != \
                [a.shape[1:] for a in self.pending[0]]:
            self._flush()
        self.pending.append(chunk)
        self.rows += k
        if self.rows >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        block = join(self.pending)
        leaves = []
        for a in block:
            if a.dtype == object:
                values = [bytes(v) for v in a.reshape(-1).tolist()]
                lengths = np.fromiter(map(len, values), np.int64, len(values))
                payload = b"".join(values)
                self.file.write(lengths.tobytes())
                self.file.write(payload)
                leaves.append([list(a.shape[1:]), len(payload), lengths.nbytes])
            else:
                data = np.ascontiguousarray(a)
                self.file.write(data.tobytes())
                leaves.append([list(a.shape[1:]), data.nbytes])
        self.blocks.append([chunk_len(block), leaves])
        self.pending = []
        self.rows = 0

    def commit(self, dtypes: list[str]) -> None:
        self._flush()
        self.file.close()
        index = {"format": FORMAT, "version": VERSION, "specs": self.specs,
                 "dtypes": dtypes, "blocks": self.blocks}
        os.replace(self.tmp, self.base + ".data")
        tmp_index = f"{self.tmp}.index"
        with open(tmp_index, "w") as f:
            json.dump(index, f)
        os.replace(tmp_index, self.base + ".index")

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def _read(base: str, specs: list) -> Iterator[Chunk]:
    with open(base + ".index") as f:
        try:
            index = json.load(f)
        except ValueError as exc:
            raise DataLossError(f"cache: '{base}.index' is not a cache index: {exc}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT \
            or index.get("version") != VERSION:
        raise DataLossError(f"cache: '{base}.index' is not an estcore dataset cache "
                            f"(format {FORMAT!r} version {VERSION})")
    if index["specs"] != specs:
        raise InvalidArgumentError(
            f"cache: the cache at '{base}' holds elements {index['specs']}, but this dataset's "
            f"elements are {specs} (another pipeline wrote it: delete the files or pick "
            "another filename)")
    dtypes = [np.dtype(d) for d in index["dtypes"]]
    with open(base + ".data", "rb") as f:
        for n, (rows, leaves) in enumerate(index["blocks"]):
            chunk = []
            for dtype, leaf in zip(dtypes, leaves, strict=True):
                shape = (rows, *leaf[0])
                if dtype.kind == "O":
                    lengths = np.frombuffer(_exact(f, leaf[2], base, n), np.int64)
                    payload = _exact(f, leaf[1], base, n)
                    ends = np.cumsum(lengths).tolist()
                    starts = [0, *ends[:-1]] if ends else []
                    out = np.empty(len(ends), dtype=object)
                    out[:] = [payload[a:b] for a, b in zip(starts, ends, strict=True)]
                    chunk.append(out.reshape(shape))
                else:
                    raw = _exact(f, leaf[1], base, n)
                    chunk.append(np.frombuffer(raw, dtype).reshape(shape).copy())
            yield chunk


def _exact(f: Any, nbytes: int, base: str, block: int) -> bytes:
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise DataLossError(f"cache: '{base}.data' is truncated (block {block} needs "
                            f"{nbytes} bytes, {len(data)} left)")
    return data


class FileCacheNode(Node):
    """``cache(filename)`` with a non-empty filename (see the module docstring)."""

    def __init__(self, up: Node, filename: str):
        self.inputs = (up,)
        self.filename = filename
        super().__init__(up.structure)

    def chunks(self) -> Iterator[Chunk]:
        base = self.filename
        specs = _spec_key(self)
        if os.path.exists(base + ".index"):
            yield from _read(base, specs)
            return
        writer = _Writer(base, specs)
        dtypes: list[str] | None = None
        done = False
        try:
            for chunk in self.inputs[0].chunks():
                if dtypes is None:
                    dtypes = [a.dtype.str if a.dtype != object else "O" for a in chunk]
                writer.add(chunk)
                yield chunk
            done = True
        finally:
            if done:
                writer.commit(dtypes if dtypes is not None else
                              ["O" if s.dtype.is_string else np.dtype(s.dtype.np).str
                               for s in self.flat_specs])
            else:
                writer.discard()
                logger.warning("The calling iterator did not fully read the dataset being "
                               "cached at '%s': the partially cached contents are "
                               "discarded.", base)

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()

    def describe(self) -> list:
        return ["cache_file", self.filename, self.inputs[0].describe()]
