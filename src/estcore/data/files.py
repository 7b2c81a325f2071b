"""File Datasets: ``TextLineDataset``, ``FixedLengthRecordDataset``, ``TFRecordDataset``.

Each element is one record (a scalar string: a line without its newline, ``record_bytes``
bytes, or one TFRecord's data). Files are read in order, each by
:mod:`estcore.data.readers` (C framing and checksums, errors naming the file and the
record); chunks of records go downstream without a Python object per record beyond the
``bytes`` themselves. ``num_parallel_reads > 1`` interleaves the files record by record
(TF's ``interleave(cycle_length=num_parallel_reads, block_length=1)``, deterministic).

``filenames``: a str / bytes / PathLike, a list or array of them, a constant string
tensor, or a Dataset of scalar strings (TF 2).

Must not: frame records or parse them (``readers.py`` frames; ``decode_csv``,
``decode_raw``, ``parse_example`` are graph ops).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.data import readers
from estcore.data.dataset import Dataset
from estcore.data.node import Node
from estcore.data.structure import Chunk, TensorSpec
from estcore.data.transforms import InterleaveNode
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import constant_value

__all__ = ["TextLineDataset", "FixedLengthRecordDataset", "TFRecordDataset"]

logger = logging.getLogger("estcore")


def _names(filenames: Any) -> list[str] | Node:
    node = getattr(filenames, "_node", None)
    if isinstance(node, Node):
        spec = node.structure
        if not isinstance(spec, TensorSpec) or not spec.dtype.is_string or spec.shape.rank != 0:
            raise invalid("filenames", "a Dataset of scalar strings", filenames, TypeError)
        return node
    if hasattr(filenames, "_as_tensor"):
        value = constant_value(filenames._as_tensor())
        if value is None:
            raise invalid("filenames", "a constant string tensor", filenames, TypeError)
        filenames = value
    if isinstance(filenames, (str, bytes, os.PathLike)):
        filenames = [filenames]
    arr = np.asarray(filenames, dtype=object).reshape(-1) if not isinstance(filenames, list) \
        else filenames
    out = []
    for f in arr:
        if isinstance(f, (bytes, np.bytes_)):
            f = bytes(f).decode("utf-8")
        elif isinstance(f, os.PathLike):
            f = os.fspath(f)
        if not isinstance(f, str):
            raise invalid("filenames", "str, bytes or a list of them", filenames, TypeError)
        out.append(f)
    if not out:
        raise invalid("filenames", "at least one file name", filenames)
    return out


class FileNode(Node):
    """The records of some files in order; ``read(name) -> iterator of 1-D chunks``."""

    def __init__(self, kind: str, names: list[str], read: Callable[[str], Iterator[np.ndarray]],
                 args: list):
        self.kind = kind
        self.names = names
        self.read = read
        self.args = args
        super().__init__(TensorSpec([], dt.string))

    tolerant: bool | str = False  # ignore_errors ("log"/"quiet"): an error ends the file

    def chunks(self) -> Iterator[Chunk]:
        for name in self.names:
            records_of = self.read(name)
            while True:
                try:
                    records = next(records_of, None)
                except Exception:  # noqa: BLE001 - re-raised unless ignore_errors
                    if not self.tolerant:
                        raise
                    if self.tolerant == "log":
                        logger.warning("ignore_errors: the rest of %s is skipped after a "
                                       "read error", name, exc_info=True)
                    break
                if records is None:
                    break
                if records.shape[0]:
                    yield [records]

    def describe(self) -> list:
        return [self.kind, self.names, self.args]


class _NamesNode(Node):
    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(TensorSpec([], dt.string))

    def chunks(self) -> Iterator[Chunk]:
        yield [np.array([n.encode() for n in self.names], dtype=object)]

    def describe(self) -> list:
        return ["names", self.names]


def _node(kind: str, filenames: Any, read: Callable[[str], Iterator[np.ndarray]],
          num_parallel_reads: Any, args: list) -> Node:
    names = _names(filenames)
    parallel = 1 if num_parallel_reads in (None, -1) else num_parallel_reads
    if isinstance(parallel, bool) or not isinstance(parallel, (int, np.integer)) or parallel < 1:
        raise invalid("num_parallel_reads", "a positive int, AUTOTUNE or None",
                      num_parallel_reads)
    if isinstance(names, list) and (parallel == 1 or len(names) == 1):
        return FileNode(kind, names, read, args)
    source = names if isinstance(names, Node) else _NamesNode(names)

    def make(leaves: list) -> Node:
        name = leaves[0]
        return FileNode(kind, [name.decode() if isinstance(name, bytes) else str(name)],
                        read, args)

    return InterleaveNode(source, make, TensorSpec([], dt.string), int(parallel), 1)


class TextLineDataset(Dataset):
    """The lines of text files (TF's ``TextLineDataset``): scalar strings, newline removed.

    Args:
        filenames: see the module docstring.
        compression_type: None, ``''``, ``'GZIP'`` or ``'ZLIB'``.
        buffer_size: bytes read at a time (None: 256 KiB).
        num_parallel_reads: files read in turn, one line each (None: one after another).
    """

    def __init__(self, filenames: Any, compression_type: Any = None, buffer_size: Any = None,
                 num_parallel_reads: Any = None):
        readers.compression_wbits(compression_type)

        def read(name: str) -> Iterator[np.ndarray]:
            return readers.iter_text_lines(name, compression_type=compression_type,
                                           buffer_size=buffer_size)

        super().__init__(_node("text_lines", filenames, read, num_parallel_reads,
                               [compression_type]))


class FixedLengthRecordDataset(Dataset):
    """Fixed-length records of binary files (TF's ``FixedLengthRecordDataset``).

    Args:
        filenames: see the module docstring.
        record_bytes: bytes per record.
        header_bytes / footer_bytes: bytes skipped at the start / end of each file.
        buffer_size, compression_type, num_parallel_reads: as TextLineDataset.
    """

    def __init__(self, filenames: Any, record_bytes: int, header_bytes: Any = None,
                 footer_bytes: Any = None, buffer_size: Any = None,
                 compression_type: Any = None, num_parallel_reads: Any = None):
        readers.compression_wbits(compression_type)
        hb = 0 if header_bytes is None else header_bytes
        fb = 0 if footer_bytes is None else footer_bytes

        def read(name: str) -> Iterator[np.ndarray]:
            return readers.iter_fixed_length_records(
                name, record_bytes, hb, fb, buffer_size=buffer_size,
                compression_type=compression_type)

        super().__init__(_node("fixed_length", filenames, read, num_parallel_reads,
                               [record_bytes, hb, fb, compression_type]))


class TFRecordDataset(Dataset):
    """The records of TFRecord files (TF's ``TFRecordDataset``), checksums checked.

    Args:
        filenames: see the module docstring.
        compression_type, buffer_size, num_parallel_reads: as TextLineDataset.
    """

    def __init__(self, filenames: Any, compression_type: Any = None, buffer_size: Any = None,
                 num_parallel_reads: Any = None):
        readers.compression_wbits(compression_type)

        def read(name: str) -> Iterator[np.ndarray]:
            return readers.iter_tfrecords(name, compression_type=compression_type,
                                          buffer_size=buffer_size)

        super().__init__(_node("tfrecords", filenames, read, num_parallel_reads,
                               [compression_type]))
