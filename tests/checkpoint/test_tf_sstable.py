"""TF's sorted string table (the ``.index`` file): estcore's reader and writer."""

from __future__ import annotations

import struct

import pytest

from estcore._lib._pipeline import crc32c
from estcore.checkpoint import tf_sstable as ts
from estcore.checkpoint.errors import CheckpointCorruptError
from estcore.checkpoint.tf_sstable import (
    FOOTER_SIZE,
    TABLE_MAGIC,
    build_table,
    mask_crc,
    read_table,
    unmask_crc,
)
from estcore.errors import DataLossError

from .tf_models import FIXTURES


def _bitwise_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_mask_is_tf_rotation_plus_constant_and_inverts():
    for crc in (0, 1, 0xFFFFFFFF, 0x12345678, 0xE3069283):
        rot = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
        assert mask_crc(crc) == (rot + 0xA282EAD8) & 0xFFFFFFFF
        assert unmask_crc(mask_crc(crc)) == crc


def test_chained_crc_equals_crc_of_concatenation():
    a, b = b"block contents", b"\x00"
    assert crc32c(b, crc32c(a)) == crc32c(a + b) == _bitwise_crc32c(a + b)


def test_reads_tf_written_index_header_first_keys_sorted():
    data = (FIXTURES / "dtypes" / "model.ckpt-3.index").read_bytes()
    items = read_table(data, "dtypes.index")
    keys = [k for k, _ in items]
    assert keys[0] == b""
    assert keys == sorted(keys)
    assert {b"f32", b"i64", b"flag", b"global_step"} <= set(keys)


def test_rebuilt_table_of_tf_items_reads_back_the_same():
    data = (FIXTURES / "cnn" / "model.ckpt-4.index").read_bytes()
    items = read_table(data, "cnn.index")
    assert read_table(build_table(items), "rebuilt") == items


@pytest.mark.parametrize("block_size", [1, 40, 300, 1 << 18])
def test_round_trip_many_blocks_and_restart_points(block_size):
    items = [(f"scope{i // 7:02d}/var_{i:04d}".encode(), bytes([i % 256]) * (i % 13))
             for i in range(200)]
    table = build_table(items, block_size=block_size)
    assert read_table(table, "t") == items
    assert struct.unpack_from("<Q", table, len(table) - 8)[0] == TABLE_MAGIC


def test_restart_every_16_entries_in_a_data_block():
    items = [(f"k{i:03d}".encode(), b"v") for i in range(40)]
    table = build_table(items)
    # one data block at offset 0: its size is the first handle of the index block
    (count,) = struct.unpack_from("<I", table, _first_block_size(table) - 4)
    assert count == 3  # entries 0, 16, 32


def _first_block_size(table: bytes) -> int:
    items = read_table(table, "t")
    assert items
    # the index block's only value is the data block's handle: offset 0, then its size
    foot = len(table) - FOOTER_SIZE
    pos = foot
    for _ in range(2):  # skip the metaindex handle
        while table[pos] & 0x80:
            pos += 1
        pos += 1
    index_off = 0
    shift = 0
    while True:
        b = table[pos]
        index_off |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80:
            break
    # index block entry: shared=0, non_shared, value_len, key, value(handle)
    p = index_off + 1
    non_shared = table[p]
    value_len = table[p + 1]
    handle = table[p + 2 + non_shared:p + 2 + non_shared + value_len]
    assert handle[0] == 0
    size = 0
    shift = 0
    for b in handle[1:]:
        size |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return size


def test_empty_table_round_trips():
    assert read_table(build_table([]), "t") == []


def test_build_refuses_unsorted_or_duplicate_keys():
    with pytest.raises(ValueError, match="strictly increase"):
        build_table([(b"b", b""), (b"a", b"")])
    with pytest.raises(ValueError, match="strictly increase"):
        build_table([(b"a", b""), (b"a", b"")])


@pytest.mark.parametrize("damage,match", [
    (lambda t: t[:-1], "magic"),
    (lambda t: t[:20], "footer"),
    (lambda t: b"", "footer"),
    (lambda t: t[:-8] + b"\0" * 8, "magic"),
    (lambda t: bytes([t[0] ^ 1]) + t[1:], "checksum"),
])
def test_damaged_tables_raise_data_loss_naming_the_file(damage, match):
    table = build_table([(b"", b"header"), (b"a/b", b"x" * 10), (b"c", b"y")])
    with pytest.raises(CheckpointCorruptError, match=match) as info:
        read_table(damage(table), "some/model.ckpt-1.index")
    assert "some/model.ckpt-1.index" in str(info.value)
    assert isinstance(info.value, DataLossError)
    assert isinstance(info.value, ValueError)


def test_compressed_block_is_refused_by_name():
    table = bytearray(build_table([(b"a", b"b")]))
    # data block at offset 0: contents then the compression byte; set snappy (1) and
    # recompute the block's CRC so only the compression is wrong
    size = _first_block_size(bytes(table))
    table[size] = 1
    table[size + 1:size + 5] = struct.pack("<I", mask_crc(crc32c(bytes(table[:size + 1]))))
    with pytest.raises(CheckpointCorruptError, match="snappy"):
        read_table(bytes(table), "t")


def _with_block(contents: bytes) -> bytes:
    """A table whose single data block is ``contents`` (trailer and CRC made valid)."""
    def put_varint(v):
        out = bytearray()
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
        return bytes(out)

    out = bytearray(ts._with_trailer(contents))
    handle = put_varint(0) + put_varint(len(contents))
    index = ts._BlockBuilder(1)
    index.add(b"\xff" * 8, handle)
    meta = ts._BlockBuilder(1).finish()
    meta_handle = put_varint(len(out)) + put_varint(len(meta))
    out += ts._with_trailer(meta)
    index_contents = index.finish()
    index_handle = put_varint(len(out)) + put_varint(len(index_contents))
    out += ts._with_trailer(index_contents)
    handles = meta_handle + index_handle
    out += handles + b"\0" * (40 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out)


@pytest.mark.parametrize("contents,match", [
    (b"\x00\x00", "shorter than its restart count"),
    (struct.pack("<I", 1000), "restart points"),
    (b"\x00\x01\x05ab" + struct.pack("<II", 0, 1), "out of range"),        # value past end
    (b"\x05\x01\x00a" + struct.pack("<II", 0, 1), "out of range"),         # shared > key
    (b"\x00\x01\x00a\x00\x01\x00b" + struct.pack("<II", 4, 1), "restart"),  # no restart at 0
    (b"\x00\x01\x00a\x00\x01\x00b" + struct.pack("<III", 0, 2, 2), "restart point 2"),
    (b"\x00\x01\x00b\x00\x01\x00a" + struct.pack("<II", 0, 1), "out of order"),
    (b"\x00\x01\x00a\x01\x00\x00" + struct.pack("<II", 0, 1), "out of order"),  # duplicate
    (b"\x00\x80" + struct.pack("<II", 0, 1), "varint"),
])
def test_malformed_blocks_with_valid_checksums_are_refused(contents, match):
    with pytest.raises(CheckpointCorruptError, match=match):
        read_table(_with_block(contents), "t")
