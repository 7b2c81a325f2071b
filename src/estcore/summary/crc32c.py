"""CRC-32C (Castagnoli), the checksum of TFRecord framing, for the event-file writer
and reader.

The work is done in C (``csrc/pipeline/est_crc32c.c``: the SSE4.2 instruction where the
CPU has it, else slicing-by-8 tables; ``est_crc32c.h`` states the contract), reached
through the pipeline seam: a graph event of tens of KB costs microseconds instead of
the ~1.6 ms a byte-at-a-time Python loop took.

Must not: frame or parse records (``writer.py`` / ``reader.py`` do); hold state.
"""

from __future__ import annotations

from estcore._lib._pipeline import crc32c as _crc32c
from estcore._lib._pipeline import masked_crc32c as _masked_crc32c

__all__ = ["crc32c", "masked_crc32c"]


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data``, continuing from ``crc`` (0 to start)."""
    return _crc32c(data, crc)


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2**32)."""
    return _masked_crc32c(data)
