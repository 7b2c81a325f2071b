"""CRC-32C through the C seam: equal to a byte-at-a-time reference, on both C paths,
for every length, alignment, buffer type and chaining."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _pipeline
from estcore.summary.crc32c import crc32c, masked_crc32c

pytestmark = pytest.mark.smoke


def _reference(data: bytes, crc: int = 0) -> int:
    c = crc ^ 0xFFFFFFFF
    for byte in data:
        c ^= byte
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


@pytest.mark.parametrize("portable", [False, True])
def test_matches_the_reference_for_every_length_and_offset(portable):
    data = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    for offset in range(8):
        for n in list(range(0, 40)) + [63, 64, 65, 200, 292]:
            chunk = data[offset:offset + n]
            assert _pipeline.crc32c(chunk, 0, portable) == _reference(chunk), (offset, n)


def test_large_input_releases_the_gil_and_agrees():
    data = np.random.default_rng(1).integers(0, 256, 1 << 20, dtype=np.uint8)
    whole = crc32c(data)  # a numpy array: any contiguous buffer
    assert whole == _pipeline.crc32c(data.tobytes(), 0, True)
    assert crc32c(data[1000:], crc32c(data[:1000])) == whole


def test_buffer_types_and_masking():
    for data in (b"abc", bytearray(b"abc"), memoryview(b"xabc")[1:]):
        assert crc32c(data) == _reference(b"abc")
    c = _reference(b"abc")
    assert masked_crc32c(b"abc") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"") == 0xA282EAD8


def test_non_contiguous_input_is_refused():
    with pytest.raises((ValueError, TypeError, BufferError)):
        crc32c(np.arange(10, dtype=np.uint8)[::2])
