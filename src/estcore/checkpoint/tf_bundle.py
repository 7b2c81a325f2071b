"""TF's tensor bundle: the checkpoint files TF 1.x / 2.x Savers write, read and written.

A checkpoint ``prefix`` (``model_dir/model.ckpt-100``) is::

    prefix.index                      a sorted string table (estcore.checkpoint.tf_sstable)
    prefix.data-00000-of-0000N ...    N shard files of raw tensor bytes

The table's entry ``""`` is a ``BundleHeaderProto`` (``num_shards`` = 1, ``endianness``
= 2, ``version`` = 3 (``VersionDef``: ``producer`` = 1, ``min_consumer`` = 2,
``bad_consumers`` = 3)); every other key is a variable name mapped to a
``BundleEntryProto`` (``dtype`` = 1 (TF's ``DataType`` number), ``shape`` = 2
(``TensorShapeProto``: ``dim`` = 2 with ``size`` = 1; ``unknown_rank`` = 3),
``shard_id`` = 3, ``offset`` = 4, ``size`` = 5, ``crc32c`` = 6 (fixed32, masked
CRC-32C of the bytes), ``slices`` = 7 (set on a partitioned variable, whose pieces are
stored under binary keys that start with a NUL byte)).

Reading is bounded and verified, as estcore's own format: the index is checked block by
block (:func:`~estcore.checkpoint.tf_sstable.read_table`), every entry's shard, offset
and size against that shard file's size and the size its dtype and shape imply, before
anything is read; every tensor's CRC-32C is checked when it is read; nothing is
unpickled. A failed check is :class:`CheckpointCorruptError` (TF's ``DataLossError``)
naming the file and the variable. Dtypes estcore holds (float16/32/64, int8/16/32/64,
uint8/16/32/64, bool) are read; a variable of another dtype (string, complex,
bfloat16, resource, ...) or a partitioned one is listed, and reading it raises an error
naming the variable and why, only when that variable is asked for.

Writing (:func:`write_bundle`): one shard, keys sorted, tensors back to back in the data
file, the data file then the index file each written atomically (the index is what makes
the checkpoint exist). estcore's checkpoint meta (exact resume of an interrupted train
call) rides in field :data:`META_FIELD` of the header, a field TF's parser keeps as
unknown and ignores.

Must not: decide which checkpoint to read or keep (``state.py``, ``saver.py``); know
graphs or sessions; return bytes whose checks failed.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from estcore._lib._pipeline import crc32c
from estcore.checkpoint.errors import CheckpointCorruptError
from estcore.checkpoint.fileio import atomic_write
from estcore.checkpoint.tf_names import alias_hint, partition_aliases
from estcore.checkpoint.tf_sstable import build_table, mask_crc, read_table
from estcore.errors import InvalidArgumentError, NotFoundError
from estcore.proto import wire

__all__ = [
    "INDEX_SUFFIX",
    "META_FIELD",
    "BundleEntry",
    "BundleIndex",
    "BundleValues",
    "index_file",
    "data_file",
    "is_bundle",
    "bundle_files",
    "read_index",
    "read_tensor",
    "read_bundle",
    "write_bundle",
]

INDEX_SUFFIX = ".index"
META_FIELD = 1000
_BUNDLE_VERSION = 1  # TF's kTensorBundleVersion
_MAX_RANK = 254
# From this many bytes on, the CRCs are taken on a second thread while the data file is
# written (below it, starting the thread costs more than the overlap saves).
_PARALLEL_CRC_MIN_BYTES = 1 << 20

# TF DataType number -> (numpy dtype or None, TF's name for it)
_DTYPES: dict[int, tuple[np.dtype | None, str]] = {
    1: (np.dtype("<f4"), "float32"), 2: (np.dtype("<f8"), "float64"),
    3: (np.dtype("<i4"), "int32"), 4: (np.dtype("u1"), "uint8"),
    5: (np.dtype("<i2"), "int16"), 6: (np.dtype("i1"), "int8"),
    7: (None, "string"), 8: (None, "complex64"), 9: (np.dtype("<i8"), "int64"),
    10: (np.dtype("?"), "bool"), 11: (None, "qint8"), 12: (None, "quint8"),
    13: (None, "qint32"), 14: (None, "bfloat16"), 15: (None, "qint16"),
    16: (None, "quint16"), 17: (np.dtype("<u2"), "uint16"), 18: (None, "complex128"),
    19: (np.dtype("<f2"), "float16"), 20: (None, "resource"), 21: (None, "variant"),
    22: (np.dtype("<u4"), "uint32"), 23: (np.dtype("<u8"), "uint64"),
}
_ENUM_OF = {dt.newbyteorder("<").str: num for num, (dt, _) in _DTYPES.items()
            if dt is not None}


def index_file(prefix: str) -> str:
    """``prefix + '.index'``."""
    return os.fspath(prefix) + INDEX_SUFFIX


def data_file(prefix: str, shard: int, num_shards: int) -> str:
    """``prefix.data-0000<shard>-of-0000<num_shards>``."""
    return f"{os.fspath(prefix)}.data-{shard:05d}-of-{num_shards:05d}"


def is_bundle(prefix: str) -> bool:
    """True if ``prefix`` names a TF checkpoint (its ``.index`` file exists)."""
    return os.path.isfile(index_file(prefix))


@dataclass(frozen=True)
class BundleEntry:
    """One variable of a bundle.

    Attributes:
        name: the variable's name (``dense/kernel``).
        dtype: its numpy dtype (byte order of the file), or None for a dtype estcore
            does not hold.
        dtype_name: TF's name of the dtype (``float32``, ``string``).
        shape: the variable's shape.
        shard, offset, size: where its bytes are.
        crc: the stored masked CRC-32C of those bytes.
        sliced: a partitioned variable (its bytes are in pieces under other keys).
    """

    name: str
    dtype: np.dtype | None
    dtype_name: str
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc: int
    sliced: bool

    def unreadable(self) -> str | None:
        """Why estcore cannot read this variable, or None."""
        if self.sliced:
            return ("it is a partitioned (sliced) variable, which estcore does not read; "
                    "save it unpartitioned")
        if self.dtype is None:
            return f"its dtype {self.dtype_name} is not one estcore holds"
        return None


@dataclass(frozen=True)
class BundleIndex:
    """The checked index of a bundle: its entries and where its shards are."""

    prefix: str
    num_shards: int
    entries: dict[str, BundleEntry]
    meta: dict

    def shard_path(self, shard: int) -> str:
        return data_file(self.prefix, shard, self.num_shards)


def bundle_files(prefix: str) -> list[str]:
    """The files of the bundle ``prefix`` that exist: the index, then the data shards
    (the shard count from the index when it reads, else every ``.data-*-of-*`` file)."""
    prefix = os.fspath(prefix)
    out = [index_file(prefix)] if os.path.isfile(index_file(prefix)) else []
    directory = os.path.dirname(os.path.abspath(prefix))
    base = os.path.basename(prefix) + ".data-"
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        rest = name[len(base):] if name.startswith(base) else ""
        parts = rest.split("-of-")
        if len(parts) == 2 and all(len(p) == 5 and p.isdigit() for p in parts):
            out.append(os.path.join(os.path.dirname(prefix), name))
    return out


def _corrupt(path: str, why: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"Checkpoint {path} is corrupted: {why}")


def _ints(message: bytes | memoryview, path: str, what: str) -> list:
    try:
        return list(wire.iter_fields(message))
    except wire.ProtoDecodeError as e:
        raise _corrupt(path, f"{what} is not a valid protobuf message ({e})") from None


def _parse_header(value: bytes, path: str) -> tuple[int, bool, dict]:
    num_shards, big, meta = 1, False, {}
    producer, min_consumer, bad = 0, 0, []
    for field, wt, raw in _ints(value, path, "the bundle header"):
        if field == 1 and wt == wire.VARINT:
            num_shards = wire.as_signed64(raw)
        elif field == 2 and wt == wire.VARINT:
            big = raw == 1
        elif field == 3 and wt == wire.LENGTH:
            for f2, w2, r2 in _ints(raw, path, "the bundle version"):
                if f2 == 1 and w2 == wire.VARINT:
                    producer = r2
                elif f2 == 2 and w2 == wire.VARINT:
                    min_consumer = r2
                elif f2 == 3 and w2 == wire.VARINT:
                    bad.append(r2)
        elif field == META_FIELD and wt == wire.LENGTH:
            try:
                meta = json.loads(bytes(raw).decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                meta = {}
    if not 1 <= num_shards <= 99999:
        raise _corrupt(path, f"the bundle header says {num_shards} shards")
    if min_consumer > _BUNDLE_VERSION or _BUNDLE_VERSION in bad:
        raise _corrupt(path, f"bundle version (producer {producer}, min_consumer "
                             f"{min_consumer}) is newer than the one estcore reads "
                             f"({_BUNDLE_VERSION})")
    return num_shards, big, meta if isinstance(meta, dict) else {}


def _parse_shape(raw: bytes, path: str, name: str) -> tuple[int, ...]:
    dims = []
    for field, wt, value in _ints(raw, path, f"the shape of {name!r}"):
        if field == 3 and wt == wire.VARINT and value:
            raise _corrupt(path, f"variable {name!r} has an unknown rank")
        if field == 2 and wt == wire.LENGTH:
            size = 0
            for f2, w2, r2 in _ints(value, path, f"a dimension of {name!r}"):
                if f2 == 1 and w2 == wire.VARINT:
                    size = wire.as_signed64(r2)
            if size < 0:
                raise _corrupt(path, f"variable {name!r} has a dimension of size {size}")
            dims.append(size)
    if len(dims) > _MAX_RANK:
        raise _corrupt(path, f"variable {name!r} has rank {len(dims)}")
    return tuple(dims)


def _parse_entry(name: str, value: bytes, path: str, big: bool) -> BundleEntry:
    # (proto3 leaves out zero fields: an absent crc32c is a masked CRC of 0)
    dtype_num, shape, shard, offset, size, crc, sliced = 0, (), 0, 0, 0, 0, False
    for field, wt, raw in _ints(value, path, f"the entry of {name!r}"):
        if field == 1 and wt == wire.VARINT:
            dtype_num = raw
        elif field == 2 and wt == wire.LENGTH:
            shape = _parse_shape(raw, path, name)
        elif field == 3 and wt == wire.VARINT:
            shard = wire.as_signed64(raw)
        elif field == 4 and wt == wire.VARINT:
            offset = wire.as_signed64(raw)
        elif field == 5 and wt == wire.VARINT:
            size = wire.as_signed64(raw)
        elif field == 6 and wt == wire.FIXED32:
            crc = raw
        elif field == 7:
            sliced = True
    dtype, dtype_name = _DTYPES.get(dtype_num, (None, f"DataType {dtype_num}"))
    if dtype is not None and big:
        dtype = dtype.newbyteorder(">")
    if shard < 0 or offset < 0 or size < 0:
        raise _corrupt(path, f"variable {name!r} has a negative shard, offset or size")
    return BundleEntry(name, dtype, dtype_name, shape, shard, offset, size, crc, sliced)


def _check_extents(index: BundleIndex) -> None:
    sizes: dict[int, int] = {}
    for entry in index.entries.values():
        if entry.sliced:
            continue
        if entry.shard >= index.num_shards:
            raise _corrupt(index_file(index.prefix), f"variable {entry.name!r} is in shard "
                           f"{entry.shard} of {index.num_shards}")
        if entry.shard not in sizes:
            path = index.shard_path(entry.shard)
            try:
                sizes[entry.shard] = os.path.getsize(path)
            except OSError:
                raise _corrupt(index.prefix, f"data file {path} of variable {entry.name!r} "
                               "is missing") from None
        if entry.dtype is not None:
            count = 1
            for d in entry.shape:
                count *= d
            if count * entry.dtype.itemsize != entry.size:
                raise _corrupt(index_file(index.prefix), f"variable {entry.name!r}: "
                               f"{entry.size} bytes stored for shape {list(entry.shape)} of "
                               f"{entry.dtype_name}")
        if entry.offset + entry.size > sizes[entry.shard]:
            raise _corrupt(index.shard_path(entry.shard), f"variable {entry.name!r} "
                           f"(offset {entry.offset}, {entry.size} bytes) runs past the end "
                           f"of the file ({sizes[entry.shard]} bytes)")


def read_index(prefix: str) -> BundleIndex:
    """The checked index of the bundle ``prefix`` (every entry's extent checked against
    its shard file; no tensor bytes read).

    Raises:
        NotFoundError: no ``prefix.index``.
        CheckpointCorruptError: a check failed (the message names the file).
    """
    prefix = os.fspath(prefix)
    path = index_file(prefix)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise NotFoundError(f"Unsuccessful TensorSliceReader constructor: Failed to find any "
                            f"matching files for {prefix}") from None
    items = read_table(data, path)
    if not items or items[0][0] != b"":
        raise _corrupt(path, "the bundle header (the entry with the empty key) is missing")
    num_shards, big, meta = _parse_header(items[0][1], path)
    entries = {}
    for key, value in items[1:]:
        if key.startswith(b"\0"):
            continue  # a piece of a partitioned variable (TF's binary slice key)
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            raise _corrupt(path, f"variable name {key[:80]!r} is not UTF-8") from None
        entries[name] = _parse_entry(name, value, path, big)
    index = BundleIndex(prefix, num_shards, entries, meta)
    _check_extents(index)
    return index


def _unreadable_error(index: BundleIndex, entry: BundleEntry, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Cannot read variable {entry.name!r} of checkpoint "
                                f"{index.prefix}: {why}")


def _decode(index: BundleIndex, entry: BundleEntry, raw: bytes, copy: bool) -> np.ndarray:
    if mask_crc(crc32c(raw)) != entry.crc:
        raise _corrupt(index.shard_path(entry.shard),
                       f"checksum mismatch for variable {entry.name!r}")
    dtype = entry.dtype
    assert dtype is not None
    if dtype.kind == "b":
        arr = np.frombuffer(raw, dtype=np.uint8) != 0
        return arr.reshape(entry.shape)
    arr = np.frombuffer(raw, dtype=dtype).reshape(entry.shape)
    return arr.astype(dtype.newbyteorder("="), copy=copy)


def read_tensor(index: BundleIndex, name: str, copy: bool = True) -> np.ndarray:
    """The verified value of variable ``name``.

    Raises:
        NotFoundError: ``Key <name> not found in checkpoint`` (TF's message).
        InvalidArgumentError: a dtype estcore does not hold, or a partitioned variable.
        CheckpointCorruptError: the bytes fail their checksum.
    """
    entry = index.entries.get(name)
    if entry is None:
        raise NotFoundError(f"Key {name} not found in checkpoint")
    why = entry.unreadable()
    if why:
        raise _unreadable_error(index, entry, why)
    with open(index.shard_path(entry.shard), "rb") as f:
        f.seek(entry.offset)
        raw = f.read(entry.size)
    if len(raw) != entry.size:
        raise _corrupt(index.shard_path(entry.shard),
                       f"variable {entry.name!r} is truncated")
    return _decode(index, entry, raw, copy)


class BundleValues(dict):
    """The readable variables of a bundle (name -> array). A variable that cannot be
    read (dtype, partitioning) is ``in`` the mapping and raises the error naming it
    when it is looked up, so a restore that does not need it still works.

    estcore's name ``<var>/<slot>`` of a single-partition variable's optimizer slot,
    which TF stores as ``<var>/part_0/<slot>`` or ``<var>/t_0/<slot>``
    (:func:`~estcore.checkpoint.tf_names.partition_aliases`), is ``in`` the mapping too
    and looks up TF's tensor; iterating gives TF's stored names only."""

    def __init__(self, values: dict, unreadable: dict[str, Exception],
                 aliases: dict[str, str] | None = None,
                 ambiguous: dict[str, list[str]] | None = None):
        super().__init__(values)
        self._unreadable = unreadable
        self._aliases = dict(aliases or {})
        self._ambiguous = dict(ambiguous or {})

    def __contains__(self, name: object) -> bool:
        return (super().__contains__(name) or name in self._unreadable
                or name in self._aliases)

    def __missing__(self, name: str) -> Any:
        if name in self._unreadable:
            raise self._unreadable[name]
        stored = self._aliases.get(name)
        if stored is not None:
            return self[stored]
        raise KeyError(name)

    @property
    def unreadable(self) -> list[str]:
        """Names of the variables that cannot be read, sorted."""
        return sorted(self._unreadable)

    def copied(self) -> BundleValues:
        """The same mapping with a writable copy of every array."""
        return BundleValues({n: a.copy() for n, a in dict.items(self)}, self._unreadable,
                            self._aliases, self._ambiguous)

    @property
    def aliases(self) -> dict[str, str]:
        """estcore's slot name -> TF's stored name (single-partition slots)."""
        return dict(self._aliases)

    def missing_hint(self, name: str) -> str:
        """Why ``name`` is not mapped to a TF partition name (empty if unrelated)."""
        return alias_hint(name, self._ambiguous)


def read_bundle(prefix: str, copy: bool = True) -> tuple[BundleValues, dict]:
    """Every variable of the bundle ``prefix``, each verified.

    Returns:
        ``(values, meta)``: a :class:`BundleValues` and estcore's meta (``{}`` for a
        checkpoint TF wrote).
    """
    index = read_index(prefix)
    values: dict[str, np.ndarray] = {}
    unreadable: dict[str, Exception] = {}
    by_shard: dict[int, list[BundleEntry]] = {}
    for entry in index.entries.values():
        why = entry.unreadable()
        if why:
            unreadable[entry.name] = _unreadable_error(index, entry, why)
        else:
            by_shard.setdefault(entry.shard, []).append(entry)
    for shard, entries in sorted(by_shard.items()):
        with open(index.shard_path(shard), "rb") as f:
            for entry in sorted(entries, key=lambda e: e.offset):
                f.seek(entry.offset)
                raw = f.read(entry.size)
                if len(raw) != entry.size:
                    raise _corrupt(index.shard_path(shard),
                                   f"variable {entry.name!r} is truncated")
                values[entry.name] = _decode(index, entry, raw, copy)
    aliases, ambiguous = partition_aliases(index.entries)
    return BundleValues(values, unreadable, aliases, ambiguous), dict(index.meta)


def _entry_bytes(arr: np.ndarray, offset: int, crc: int) -> bytes:
    dims = b"".join(wire.field_bytes(2, wire.field_varint(1, d) if d else b"")
                    for d in arr.shape)
    out = wire.field_varint(1, _ENUM_OF[arr.dtype.str]) + wire.field_bytes(2, dims)
    if offset:
        out += wire.field_varint(4, offset)
    if arr.nbytes:
        out += wire.field_varint(5, arr.nbytes)
    return out + wire.tag(6, wire.FIXED32) + struct.pack("<I", crc)


def _write_data(path: str, views: list[memoryview]) -> list[int]:
    """Write the data file; returns each view's masked CRC-32C, taken on a second
    thread while the file is written when there is enough to overlap (both release the
    GIL). The views stay unchanged until this returns."""
    crcs: list[int] = []

    def checksum() -> None:
        crcs.extend(mask_crc(crc32c(v)) for v in views)

    if sum(v.nbytes for v in views) < _PARALLEL_CRC_MIN_BYTES:
        checksum()
        atomic_write(path, [v for v in views if v.nbytes])
        return crcs
    helper = threading.Thread(target=checksum, name="estcore-bundle-crc")
    helper.start()
    try:
        atomic_write(path, [v for v in views if v.nbytes])
    finally:
        helper.join()
    if len(crcs) != len(views):
        raise RuntimeError("estcore: the checkpoint checksum thread failed")
    return crcs


def write_bundle(prefix: str, tensors: Mapping[str, Any],
                 meta: Mapping[str, Any] | None = None) -> str:
    """Write ``tensors`` as the TF checkpoint ``prefix`` (one shard), atomically per file.

    Args:
        prefix: checkpoint prefix, e.g. ``model_dir/model.ckpt-100``.
        tensors: variable name -> array-like of a dtype a TF bundle and estcore share
            (float16/32/64, int8/16/32/64, uint8/16/32/64, bool), any shape. The
            arrays must not change until this returns.
        meta: small JSON-serialisable dict, kept in the header for estcore.

    Returns:
        The path of the index file.

    Raises:
        InvalidArgumentError: a bad name or dtype (nothing is written).
    """
    prefix = os.fspath(prefix)
    arrays = []
    for name in sorted(tensors):
        if not isinstance(name, str) or not name or name.startswith("\0"):
            raise InvalidArgumentError(
                f"Checkpoint tensor names must be non-empty strings not starting with NUL. "
                f"Received: {name!r}")
        arr = np.asarray(tensors[name])
        key = arr.dtype.newbyteorder("<").str if arr.dtype.kind in "biuf" else None
        if key not in _ENUM_OF:
            raise InvalidArgumentError(
                f"Cannot save variable {name!r} in TF's format: dtype {arr.dtype} is not one "
                "of float16/32/64, int8/16/32/64, uint8/16/32/64, bool.")
        arrays.append((name, np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")))
    header = (wire.field_varint(1, 1)
              + wire.field_bytes(3, wire.field_varint(1, _BUNDLE_VERSION)))
    if meta:
        header += wire.field_bytes(META_FIELD, json.dumps(dict(meta), sort_keys=True))
    views = [memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
             for _, arr in arrays]
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    crcs = _write_data(data_file(prefix, 0, 1), views)
    items = [(b"", header)]
    offset = 0
    for (name, arr), crc in zip(arrays, crcs, strict=True):
        items.append((name.encode("utf-8"), _entry_bytes(arr, offset, crc)))
        offset += arr.nbytes
    atomic_write(index_file(prefix), [build_table(items)])
    return index_file(prefix)
