"""The checkpoint reader checks every size in a file against the file's real size before
it allocates: a tiny or sparse file cannot make it allocate much; every failure is a
CheckpointCorruptError naming the file."""

from __future__ import annotations

import json
import struct
import tracemalloc

import numpy as np
import pytest

from estcore.checkpoint.format import (
    CheckpointCorruptError,
    read_checkpoint,
    read_header,
    read_tensor_unverified,
    write_checkpoint,
)

_MAGIC = b"ESTCKPT\0"


def _file(path, header: bytes, size: int | None = None, version: int = 1,
          hlen: int | None = None):
    """magic + version + header length + header, then zeros (sparse) up to ``size``."""
    head = _MAGIC + struct.pack("<IQ", version, len(header) if hlen is None else hlen) + header
    with open(path, "wb") as f:
        f.write(head)
        if size is not None and size > len(head):
            f.truncate(size)
    return str(path)


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointCorruptError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def _header(nbytes: int, shape: list, offset: int = 0) -> bytes:
    return json.dumps({"tensors": [{"name": "w", "dtype": "<f4", "shape": shape,
                                    "offset": offset, "nbytes": nbytes}]}).encode()


@pytest.mark.parametrize("reader", [read_checkpoint, read_header,
                                    lambda p: read_tensor_unverified(p, "w")])
@pytest.mark.parametrize("case", ["huge-tensor", "huge-header-length", "shape-mismatch",
                                  "negative-offset", "offset-past-end"])
def test_declared_sizes_beyond_the_file_fail_before_allocating(tmp_path, reader, case):
    size = 64 << 20  # a sparse 64 MiB file: a few KB on disk
    header = {
        "huge-tensor": _header(1 << 40, [1 << 38]),
        "huge-header-length": _header(4, [1]),
        "shape-mismatch": _header(8, [1000]),
        "negative-offset": _header(4, [1], offset=-64),
        "offset-past-end": _header(4, [1], offset=size),
    }[case]
    hlen = (1 << 50) if case == "huge-header-length" else None
    path = _file(tmp_path / "model.ckpt-1.data", header, size=size, hlen=hlen)
    peak, err = _peak(lambda: reader(path))
    assert peak < 1 << 20, f"{case}: allocated {peak} bytes"
    assert path in str(err)


def test_deeply_nested_header_is_a_corrupt_error(tmp_path):
    header = b"[" * 50_000 + b"]" * 50_000
    path = _file(tmp_path / "m.data", header, size=len(header) + 64)
    with pytest.raises(CheckpointCorruptError, match="bad header"):
        read_header(path)


@pytest.mark.parametrize("header", [b"[1, 2]", b'{"tensors": 5}', b'{"tensors": [7]}',
                                    b'{"tensors": [{"name": "w"}]}',
                                    b'{"tensors": [{"name": 1, "dtype": "<f4", "shape": [1],'
                                    b' "offset": 0, "nbytes": 4}]}',
                                    b'{"tensors": [{"name": "w", "dtype": "|O", "shape": [1],'
                                    b' "offset": 0, "nbytes": 8}]}',
                                    b'{"tensors": [{"name": "w", "dtype": "<f4", "shape": [1.5],'
                                    b' "offset": 0, "nbytes": 4}]}'])
def test_malformed_tensor_tables_are_corrupt_errors(tmp_path, header):
    path = _file(tmp_path / "m.data", header, size=len(header) + 256)
    with pytest.raises(CheckpointCorruptError):
        read_checkpoint(path)


def test_valid_checkpoint_round_trips(tmp_path):
    values = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.int64(7),
              "e": np.zeros((0, 4), np.float64)}
    write_checkpoint(str(tmp_path / "model.ckpt-3"), values, {"global_step": 3})
    out, meta = read_checkpoint(str(tmp_path / "model.ckpt-3"))
    assert meta == {"global_step": 3}
    for k, v in values.items():
        np.testing.assert_array_equal(out[k], v)
        assert out[k].shape == np.shape(v)
    assert read_tensor_unverified(str(tmp_path / "model.ckpt-3"), "b") == 7
