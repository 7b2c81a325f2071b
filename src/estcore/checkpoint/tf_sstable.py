"""TF's sorted string table (LevelDB's table format): the ``.index`` file of a TF checkpoint.

Layout of a table of ``N`` bytes (all integers little-endian)::

    data block 0 | trailer | data block 1 | trailer | ... | metaindex block | trailer
    | index block | trailer | footer (48 bytes)

* A block is a run of entries, then ``uint32`` restart offsets, then their count. An
  entry is ``varint shared, varint non_shared, varint value_len, key[shared:] bytes,
  value``: its key is the first ``shared`` bytes of the previous key plus the new
  bytes. At a restart offset ``shared`` is 0 (the key is written whole).
* The 5-byte trailer after each block: the compression byte (0 = none) and the masked
  CRC-32C of the block's bytes followed by that byte.
* The index block maps a key at least as large as every key of a data block (and
  smaller than the next block's first key) to that block's handle (``varint64
  offset, varint64 size``, the size without the trailer). The metaindex block is empty.
* The footer: the metaindex and index handles, zero padding to 40 bytes, then the
  magic ``0xdb4775248b80fb57``.

:func:`read_table` checks the magic, every handle against the file's size, every
block's checksum (the unused metaindex block's too), restart array and entry bounds,
and that keys strictly increase; anything else is :class:`CheckpointCorruptError`
naming the file. Compressed blocks (TF can write Snappy tables; its checkpoints never
do) are refused by name.
:func:`build_table` writes the same layout (restart every 16 entries in data blocks,
every entry in the index block, as TF).

Must not: know what the keys and values mean (:mod:`estcore.checkpoint.tf_bundle`
does); read or write files (callers pass and receive bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from estcore._lib._pipeline import crc32c
from estcore.checkpoint.errors import CheckpointCorruptError
from estcore.proto.wire import ProtoDecodeError, read_varint, varint

__all__ = ["TABLE_MAGIC", "FOOTER_SIZE", "read_table", "build_table", "mask_crc", "unmask_crc"]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two handles padded to 2 * 20 bytes, then the 8-byte magic
_HANDLES_SIZE = 40
_TRAILER_SIZE = 5
_NO_COMPRESSION = 0
_COMPRESSION_NAMES = {1: "snappy", 2: "zlib"}
_MASK_DELTA = 0xA282EAD8
_DEFAULT_BLOCK_SIZE = 256 * 1024  # TF's table::Options default
_DATA_RESTART_INTERVAL = 16


def mask_crc(crc: int) -> int:
    """TF's masked CRC (rotate right by 15 bits, add a constant), as stored in files."""
    crc &= 0xFFFFFFFF
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """The CRC that :func:`mask_crc` turned into ``masked``."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def _varint(data: bytes, pos: int, end: int, path: str, what: str) -> tuple[int, int]:
    try:
        return read_varint(data, pos, end)
    except ProtoDecodeError as e:   # "truncated varint" / "varint too long"
        raise CheckpointCorruptError(f"Checkpoint index {path} is corrupted: {e} in "
                                     f"{what}") from None


def _bad(path: str, why: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"Checkpoint index {path} is corrupted: {why}")


def _handle(data: bytes, pos: int, end: int, path: str, what: str) -> tuple[int, int, int]:
    offset, pos = _varint(data, pos, end, path, what)
    size, pos = _varint(data, pos, end, path, what)
    return offset, size, pos


def _block(data: bytes, offset: int, size: int, limit: int, path: str,
           what: str) -> memoryview:
    """The verified contents of the block at ``offset`` (``size`` bytes, trailer after)."""
    if offset + size + _TRAILER_SIZE > limit:
        raise _bad(path, f"{what} at offset {offset}, size {size} runs past the table's "
                         f"end ({limit} bytes before the footer)")
    contents = memoryview(data)[offset:offset + size]
    kind = data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    actual = mask_crc(crc32c(bytes((kind,)), crc32c(contents)))
    if actual != stored:
        raise _bad(path, f"checksum mismatch in {what} at offset {offset}")
    if kind != _NO_COMPRESSION:
        name = _COMPRESSION_NAMES.get(kind, f"unknown type {kind}")
        raise _bad(path, f"{what} at offset {offset} is compressed ({name}); estcore reads "
                         "uncompressed tables only, as TF writes checkpoints")
    return contents


def _entries(block: memoryview, path: str, what: str) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` entries of one block, with its restart array checked."""
    size = len(block)
    if size < 4:
        raise _bad(path, f"{what} is {size} bytes, shorter than its restart count")
    (count,) = struct.unpack_from("<I", block, size - 4)
    if count > (size - 4) // 4:
        raise _bad(path, f"{what} claims {count} restart points in {size} bytes")
    limit = size - 4 - 4 * count
    restarts = struct.unpack_from(f"<{count}I", block, limit)
    data = block.tobytes()
    out: list[tuple[bytes, bytes]] = []
    starts: dict[int, int] = {}
    key = b""
    pos = 0
    while pos < limit:
        start = pos
        shared, pos = _varint(data, pos, limit, path, what)
        unshared, pos = _varint(data, pos, limit, path, what)
        vlen, pos = _varint(data, pos, limit, path, what)
        if shared > len(key) or pos + unshared + vlen > limit:
            raise _bad(path, f"entry at offset {start} of {what} is out of range")
        key = key[:shared] + data[pos:pos + unshared]
        pos += unshared
        starts[start] = shared
        out.append((key, data[pos:pos + vlen]))
        pos += vlen
    if out and (not restarts or restarts[0] != 0):
        raise _bad(path, f"{what} has no restart point at its first entry")
    for r in restarts:
        if out and starts.get(r) != 0:
            raise _bad(path, f"restart point {r} of {what} is not the start of an entry "
                             "with a whole key")
    return out


def read_table(data: bytes, path: str) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of the table ``data`` (the bytes of file ``path``), in order.

    Raises:
        CheckpointCorruptError: naming ``path``, when any check in the module
            docstring fails.
    """
    n = len(data)
    if n < FOOTER_SIZE:
        raise _bad(path, f"{n} bytes, shorter than the {FOOTER_SIZE}-byte footer")
    (magic,) = struct.unpack_from("<Q", data, n - 8)
    if magic != TABLE_MAGIC:
        raise _bad(path, "bad magic number in the footer (not a TF checkpoint index, or a "
                         "truncated one)")
    foot = n - FOOTER_SIZE
    meta_off, meta_size, pos = _handle(data, foot, foot + _HANDLES_SIZE, path, "the footer")
    index_off, index_size, _ = _handle(data, pos, foot + _HANDLES_SIZE, path, "the footer")
    # the metaindex block is unused (no filters), but a damaged one is damage
    _entries(_block(data, meta_off, meta_size, foot, path, "the metaindex block"), path,
             "the metaindex block")
    index = _entries(_block(data, index_off, index_size, foot, path, "the index block"),
                     path, "the index block")
    out: list[tuple[bytes, bytes]] = []
    previous: bytes | None = None
    for i, (separator, value) in enumerate(index):
        off, size, end = _handle(value, 0, len(value), path, "an index entry")
        if end != len(value):
            raise _bad(path, f"index entry {i} has trailing bytes")
        what = f"data block {i}"
        for key, val in _entries(_block(data, off, size, foot, path, what), path, what):
            if previous is not None and key <= previous:
                raise _bad(path, f"keys out of order in {what} ({key[:80]!r} after "
                                 f"{previous[:80]!r})")
            if key > separator:
                raise _bad(path, f"key {key[:80]!r} of {what} is past its index entry")
            out.append((key, val))
            previous = key
    return out


class _BlockBuilder:
    """Entries of one block with prefix-compressed keys and restart points."""

    def __init__(self, restart_interval: int):
        self._interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._restarts = [0]
        self._since_restart = 0
        self._last = b""
        self.count = 0

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self._since_restart < self._interval:
            limit = min(len(key), len(self._last))
            while shared < limit and key[shared] == self._last[shared]:
                shared += 1
        else:
            self._restarts.append(len(self._buf))
            self._since_restart = 0
        self._buf += (varint(shared) + varint(len(key) - shared)
                      + varint(len(value)) + key[shared:] + value)
        self._last = key
        self._since_restart += 1
        self.count += 1

    def size(self) -> int:
        return len(self._buf) + 4 * len(self._restarts) + 4

    def finish(self) -> bytes:
        return (bytes(self._buf) + struct.pack(f"<{len(self._restarts)}I", *self._restarts)
                + struct.pack("<I", len(self._restarts)))


def _with_trailer(contents: bytes) -> bytes:
    kind = bytes((_NO_COMPRESSION,))
    return contents + kind + struct.pack("<I", mask_crc(crc32c(kind, crc32c(contents))))


def build_table(items: Iterable[tuple[bytes, bytes]],
                block_size: int = _DEFAULT_BLOCK_SIZE) -> bytes:
    """The bytes of a table holding ``items`` (keys strictly increasing).

    Args:
        items: ``(key, value)`` byte strings in strictly increasing key order.
        block_size: a data block is closed once it reaches this many bytes.

    Raises:
        ValueError: keys not strictly increasing.
    """
    out = bytearray()
    block = _BlockBuilder(_DATA_RESTART_INTERVAL)
    index = _BlockBuilder(1)
    last: bytes | None = None

    def flush() -> None:
        contents = block.finish()
        handle = varint(len(out)) + varint(len(contents))
        out.extend(_with_trailer(contents))
        index.add(last, handle)  # the block's last key: >= its keys, < the next block's
        block.reset()

    for key, value in items:
        if last is not None and key <= last:
            raise ValueError(f"table keys must strictly increase: {key!r} after {last!r}")
        block.add(key, value)
        last = key
        if block.size() >= block_size:
            flush()
    if block.count:
        flush()
    meta_handle = varint(len(out)) + varint(len(_BlockBuilder(1).finish()))
    out.extend(_with_trailer(_BlockBuilder(1).finish()))
    index_contents = index.finish()
    index_handle = varint(len(out)) + varint(len(index_contents))
    out.extend(_with_trailer(index_contents))
    handles = meta_handle + index_handle
    out.extend(handles + b"\0" * (_HANDLES_SIZE - len(handles)))
    out.extend(struct.pack("<Q", TABLE_MAGIC))
    return bytes(out)
