"""CRC-32C (Castagnoli), the checksum of TFRecord framing, in pure Python.

Table-driven, one table lookup per byte (slicing-by-1). Event records are small
(a few hundred bytes), so this costs microseconds per summary. Used by the event-file
writer and reader; imports nothing from estcore.

Must not: frame or parse records (``writer.py`` / ``reader.py`` do); import anything
(the table is built once, at import).
"""

from __future__ import annotations

__all__ = ["crc32c", "masked_crc32c"]

_POLY = 0x82F63B78  # reversed Castagnoli polynomial


def _make_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data``, continuing from ``crc`` (0 to start)."""
    table = _TABLE
    c = crc ^ 0xFFFFFFFF
    for byte in bytes(data):
        c = table[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2**32)."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
