"""The checkpoint file format: named numpy arrays, no pickle.

One checkpoint is one file ``<prefix>.data`` (``prefix`` = ``model_dir/model.ckpt-STEP``)::

    offset 0   b"ESTCKPT\\0"                    8-byte magic
           8   uint32 LE format version (1)
          12   uint64 LE header length H
          20   H bytes UTF-8 JSON header:
                 {"tensors": [{"name", "dtype", "shape", "offset", "nbytes"}, ...],
                  "meta": {...}}            dtype is numpy's ``dtype.str`` ("<f4")
        20+H   zero padding to a multiple of 64, then the raw little-endian data of
               every tensor in header order (offsets relative to the data start,
               each 64-byte aligned)
      end-12   uint32 LE CRC-32 (zlib) of every preceding byte
       end-8   b"ESTCEND\\0"                    8-byte end marker

Loading checks both markers, the version, the length and the CRC, so a torn or
corrupted file is reported as :class:`CheckpointCorruptError` naming the file,
never read silently. Only plain numeric and bool dtypes are stored (object
arrays are refused); nothing is ever unpickled. Files are written atomically
(:func:`estcore.checkpoint.fileio.atomic_write`).

The readers here also read TF's tensor bundle (``<prefix>.index`` + ``.data-*-of-*``,
:mod:`estcore.checkpoint.tf_bundle`), so every caller restores either format: the format
is told by the files present (:func:`stored_format`; when a prefix has both, the one
written last). The writer writes estcore's format; the Saver picks
:func:`~estcore.checkpoint.tf_bundle.write_bundle` for ``checkpoint_format="tf"``.

Must not: decide which checkpoint to read or keep (``state.py`` and ``saver.py`` do);
know variables, graphs or sessions (it stores name -> array mappings); return data from
a file whose checks failed (the ``*_unverified`` readers skip only the CRC, by name).
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from estcore.checkpoint import tf_bundle, verified
from estcore.checkpoint.errors import CheckpointCorruptError
from estcore.checkpoint.fileio import atomic_write
from estcore.errors import InvalidArgumentError, NotFoundError

__all__ = [
    "CHECKPOINT_SUFFIX",
    "FORMAT_VERSION",
    "CheckpointCorruptError",
    "write_checkpoint",
    "read_checkpoint",
    "verify_checkpoint",
    "read_header",
    "read_tensor_unverified",
    "read_header_unverified",
    "checkpoint_file",
    "stored_format",
    "marker_file",
    "checkpoint_files",
    "FORMATS",
]

CHECKPOINT_SUFFIX = ".data"
FORMAT_VERSION = 1
_MAGIC = b"ESTCKPT\0"
_END = b"ESTCEND\0"
_ALIGN = 64
_ALLOWED_KINDS = set("biuf")  # bool, signed, unsigned, float
# From this size on the CRC is taken on a second thread while the file is written
# (below it, the thread's start costs more than the overlap saves).
_PARALLEL_CRC_MIN_BYTES = 1 << 20


FORMATS = ("estcore", "tf")


def checkpoint_file(prefix: str) -> str:
    """The file that holds the checkpoint ``prefix`` in estcore's format (``prefix +
    '.data'``)."""
    return os.fspath(prefix) + CHECKPOINT_SUFFIX


def stored_format(prefix: str) -> str | None:
    """``"estcore"`` if ``prefix + '.data'`` exists, ``"tf"`` if ``prefix + '.index'``
    does (TF's tensor bundle), else None. Both (a model_dir whose ``checkpoint_format``
    changed saves the step it resumed at again): the one written last."""
    prefix = os.fspath(prefix)
    try:
        ours = os.stat(prefix + CHECKPOINT_SUFFIX).st_mtime_ns
    except OSError:
        ours = None
    if not tf_bundle.is_bundle(prefix):
        return None if ours is None else "estcore"
    if ours is None:
        return "tf"
    try:
        theirs = os.stat(tf_bundle.index_file(prefix)).st_mtime_ns
    except OSError:
        return "estcore"
    return "tf" if theirs > ours else "estcore"


def marker_file(prefix: str) -> str | None:
    """The file whose presence makes ``prefix`` a checkpoint (estcore's ``.data``, or
    TF's ``.index``, written last), or None when neither exists."""
    kind = stored_format(prefix)
    if kind is None:
        return None
    return checkpoint_file(prefix) if kind == "estcore" else tf_bundle.index_file(prefix)


def checkpoint_files(prefix: str) -> list[str]:
    """Every existing file of the checkpoint ``prefix``, in both formats, the marker
    file of each first (delete in this order: a crash then leaves no marker without
    its data)."""
    out = [checkpoint_file(prefix)] if os.path.isfile(checkpoint_file(prefix)) else []
    return out + tf_bundle.bundle_files(prefix)


def _tf_prefix(prefix_or_file: str) -> str | None:
    """The bundle prefix when ``prefix_or_file`` names a TF checkpoint (its ``.index``
    file, or a prefix whose :func:`stored_format` is ``"tf"``); else None."""
    path = os.fspath(prefix_or_file)
    if path.endswith(tf_bundle.INDEX_SUFFIX) and os.path.isfile(path):
        return path[:-len(tf_bundle.INDEX_SUFFIX)]
    return path if stored_format(path) == "tf" else None


def _bundle_header(index: tf_bundle.BundleIndex) -> dict:
    tensors = [{"name": e.name, "shape": list(e.shape), "offset": e.offset, "nbytes": e.size,
                "dtype": e.dtype.newbyteorder("=").str if e.dtype is not None else e.dtype_name}
               for e in index.entries.values()]
    return {"tensors": tensors, "meta": dict(index.meta), "format": "tf"}


def _pad(n: int) -> int:
    return (-n) % _ALIGN


def write_checkpoint(prefix: str, tensors: Mapping[str, Any],
                     meta: Mapping[str, Any] | None = None) -> str:
    """Write ``tensors`` (name -> array) to ``prefix + '.data'`` atomically.

    Args:
        prefix: checkpoint prefix, e.g. ``model_dir/model.ckpt-100``.
        tensors: variable name (without ``:0``) -> array-like of a numeric or
            bool dtype, any shape.
        meta: small JSON-serialisable dict stored in the header.

    Returns:
        The path of the written file.
    """
    entries = []
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"Checkpoint tensor names must be non-empty strings. Received: {name!r}")
        arr = np.asarray(tensors[name])
        if arr.dtype.kind not in _ALLOWED_KINDS:
            raise InvalidArgumentError(
                f"Cannot save variable {name!r}: dtype {arr.dtype} is not a numeric or bool "
                "dtype (checkpoints hold plain arrays only).")
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
        nbytes = arr.nbytes
        entries.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape),
                        "offset": offset, "nbytes": nbytes})
        blobs.append(arr)
        offset += nbytes + _pad(nbytes)
    header = json.dumps({"tensors": entries, "meta": dict(meta or {})},
                        sort_keys=True).encode("utf-8")
    head = _MAGIC + struct.pack("<IQ", FORMAT_VERSION, len(header)) + header
    head += b"\0" * _pad(len(head))

    def chunks() -> Iterator[bytes | memoryview]:
        parts = list(_layout(head, blobs))
        if len(head) + offset < _PARALLEL_CRC_MIN_BYTES:
            crc = 0
            for chunk in parts:
                yield chunk
                crc = zlib.crc32(chunk, crc)
        else:
            # A helper thread checksums while this one writes (both release the GIL).
            # The parts are read-only views: the caller keeps the arrays unchanged
            # until write_checkpoint returns.
            result: list[int] = []
            helper = threading.Thread(target=lambda: result.append(_crc32(parts)),
                                      name="estcore-checkpoint-crc")
            helper.start()
            try:
                yield from parts
            finally:
                helper.join()
            if not result:
                raise RuntimeError("estcore: the checkpoint checksum thread failed")
            crc = result[0]
        yield struct.pack("<I", crc & 0xFFFFFFFF) + _END

    path = checkpoint_file(prefix)
    stream = chunks()
    try:
        atomic_write(path, stream)
    finally:
        stream.close()  # on a write error: the checksum thread is joined before we return
    return path


def _crc32(parts: list) -> int:
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return crc


def _layout(head: bytes, blobs: list[np.ndarray]) -> Iterator[bytes | memoryview]:
    """The header, then each tensor's bytes followed by its zero padding."""
    yield head
    for arr in blobs:
        if arr.size:
            yield memoryview(arr.reshape(-1).view(np.uint8))
        pad = _pad(arr.nbytes)
        if pad:
            yield b"\0" * pad


def _corrupt(path: str, why: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"Checkpoint file {path} is corrupted: {why}")


def _read_file(prefix_or_file: str) -> tuple[str, bytes]:
    """The whole file, read only after its head passed :func:`_check_head` (so a
    small or sparse file cannot make the reader allocate more than its size, and a
    declared size beyond the file is an error before anything large is allocated)."""
    path = _resolve_file(prefix_or_file)
    if not os.path.isfile(path) or not path.endswith(CHECKPOINT_SUFFIX):
        given = os.fspath(prefix_or_file)
        hint = (f"; {given} itself is a file: TF's V1 checkpoint format (Saver "
                "write_version=1), which estcore does not read (re-save it with TF's V2 "
                "format, TF's default since 1.x)") if os.path.isfile(given) else ""
        raise NotFoundError(
            f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files "
            f"for {given} (no file {checkpoint_file(given)} or "
            f"{tf_bundle.index_file(given)}{hint})")
    with open(path, "rb") as f:
        _check_head(path, f, os.fstat(f.fileno()).st_size)
        f.seek(0)
        return path, f.read()


def _check_head(path: str, f: Any, size: int) -> tuple[dict, int]:
    """Magic, version, header length and every tensor's extent against ``size``;
    returns the header and the data start."""
    head = f.read(20)
    if size < 20 + 12 or len(head) < 20 or head[:8] != _MAGIC:
        raise _corrupt(path, "not an estcore checkpoint (bad magic or too short)")
    version, hlen = struct.unpack_from("<IQ", head, 8)
    if version != FORMAT_VERSION:
        raise _corrupt(path, f"format version {version}, this estcore reads version "
                             f"{FORMAT_VERSION}")
    if 20 + hlen > size - 12:
        raise _corrupt(path, "header length out of range")
    header = _decode_header(path, f.read(hlen))
    start = 20 + hlen + _pad(20 + hlen)
    _check_entries(path, header, start, size - 12)
    return header, start


def _decode_header(path: str, raw: bytes) -> dict:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _corrupt(path, f"bad header ({type(e).__name__})") from None
    if not isinstance(header, dict) or not isinstance(header.get("tensors", []), list):
        raise _corrupt(path, "bad header (not a checkpoint's tensor table)")
    return header


def _check_entries(path: str, header: dict, start: int, end: int) -> None:
    """Each tensor: a name, an allowed dtype, a shape whose size matches ``nbytes``, and
    bytes inside ``[start, end)`` (Python ints: no overflow)."""
    for entry in header.get("tensors", []):
        try:
            name, dtype = entry["name"], np.dtype(entry["dtype"])
            shape, offset, nbytes = entry["shape"], entry["offset"], entry["nbytes"]
        except (KeyError, TypeError, ValueError):
            raise _corrupt(path, "bad tensor entry in the header") from None
        ints = [offset, nbytes, *shape] if isinstance(shape, list) else None
        if (not isinstance(name, str) or ints is None
                or not all(type(v) is int and v >= 0 for v in ints)):
            raise _corrupt(path, f"bad tensor entry {str(name)[:80]!r} in the header")
        if dtype.kind not in _ALLOWED_KINDS:
            raise _corrupt(path, f"tensor {name!r} has dtype {dtype}")
        count = 1
        for d in shape:
            count *= d
        if count * dtype.itemsize != nbytes or start + offset + nbytes > end:
            raise _corrupt(path, f"tensor {name!r} out of range")


def _parse(path: str, data: bytes) -> tuple[dict, int]:
    if len(data) < 20 + 12 or data[:8] != _MAGIC:
        raise _corrupt(path, "not an estcore checkpoint (bad magic or too short)")
    if data[-8:] != _END:
        raise _corrupt(path, "missing end marker (the file is truncated)")
    version, hlen = struct.unpack_from("<IQ", data, 8)
    if version != FORMAT_VERSION:
        raise _corrupt(path, f"format version {version}, this estcore reads version "
                             f"{FORMAT_VERSION}")
    (stored_crc,) = struct.unpack_from("<I", data, len(data) - 12)
    if zlib.crc32(memoryview(data)[:-12]) & 0xFFFFFFFF != stored_crc:
        raise _corrupt(path, "checksum mismatch")
    if 20 + hlen > len(data) - 12:
        raise _corrupt(path, "header length out of range")
    header = _decode_header(path, data[20:20 + hlen])
    start = 20 + hlen
    start += _pad(start)
    _check_entries(path, header, start, len(data) - 12)
    return header, start


def read_header(prefix_or_file: str) -> dict:
    """The JSON header (``tensors`` list and ``meta``) of a checkpoint, validated (a TF
    checkpoint: its index and every tensor's checksum)."""
    tf_prefix = _tf_prefix(prefix_or_file)
    if tf_prefix is not None:
        tf_bundle.read_bundle(tf_prefix)
        return _bundle_header(tf_bundle.read_index(tf_prefix))
    path, data = _read_file(prefix_or_file)
    header, _ = _parse(path, data)
    return header


def _resolve_file(prefix_or_file: str) -> str:
    path = os.fspath(prefix_or_file)
    if not path.endswith(CHECKPOINT_SUFFIX) or not os.path.isfile(path):
        candidate = checkpoint_file(path)
        if os.path.isfile(candidate):
            path = candidate
    return path


def read_tensor_unverified(prefix_or_file: str, name: str) -> np.ndarray:
    """One tensor read through the header alone, WITHOUT checking the file's CRC.

    For a quick look (the global step of the checkpoint a call is about to restore,
    which then reads and verifies the whole file); anything that trusts the value
    without a later verified read must use :func:`read_checkpoint`.

    Raises:
        OSError, KeyError, ValueError, CheckpointCorruptError: unreadable file,
            missing tensor or a malformed header.
    """
    kept = verified.peek(prefix_or_file, lambda: _fingerprint(prefix_or_file))
    if kept is not None and name in kept:  # verified whole just before
        return np.array(kept[name])
    tf_prefix = _tf_prefix(prefix_or_file)
    if tf_prefix is not None:  # one tensor of a bundle is verified on its own
        return tf_bundle.read_tensor(tf_bundle.read_index(tf_prefix), name)
    path = _resolve_file(prefix_or_file)
    with open(path, "rb") as f:
        header, start = _check_head(path, f, os.fstat(f.fileno()).st_size)
        entry = next(e for e in header.get("tensors", []) if e["name"] == name)
        f.seek(start + entry["offset"])
        raw = f.read(entry["nbytes"])
    dtype = np.dtype(entry["dtype"])
    arr = np.frombuffer(raw, dtype=dtype)
    return arr.reshape(tuple(entry["shape"])).astype(dtype.newbyteorder("="))


def read_header_unverified(prefix_or_file: str) -> dict:
    """The JSON header of a checkpoint read through its head alone, WITHOUT the CRC.

    Magic, version, header length and every tensor's extent are checked against the
    file's size (so the file is an estcore checkpoint with a sane table), but its
    bytes are not read. For a caller that has just verified the file (the meta of
    the checkpoint a train call restores) or that only needs to know the file is a
    checkpoint (rotation, before it deletes one).

    Raises:
        OSError: the file cannot be read.
        CheckpointCorruptError: not a checkpoint, or a malformed head.
    """
    tf_prefix = _tf_prefix(prefix_or_file)
    if tf_prefix is not None:
        return _bundle_header(tf_bundle.read_index(tf_prefix))
    path = _resolve_file(prefix_or_file)
    with open(path, "rb") as f:
        header, _ = _check_head(path, f, os.fstat(f.fileno()).st_size)
    return header


def read_checkpoint(prefix_or_file: str, copy: bool = True
                    ) -> tuple[dict[str, np.ndarray], dict]:
    """Load every tensor of a checkpoint.

    Args:
        prefix_or_file: the prefix (``.../model.ckpt-100``), the ``.data`` file, or a TF
            checkpoint's ``.index`` file.
        copy: True: each tensor is a writable array of its own. False: read-only
            views into the file's bytes where the byte order allows (for a caller
            that copies them somewhere else anyway, e.g. a restore).

    Returns:
        ``(tensors, meta)``: name -> numpy array, and the header's meta. For a TF
        checkpoint, a :class:`~estcore.checkpoint.tf_bundle.BundleValues`: a variable
        of a dtype estcore does not hold raises when it is looked up.

    Raises:
        NotFoundError: no such checkpoint.
        CheckpointCorruptError: truncated or corrupted file.
    """
    kept = verified.take(prefix_or_file, lambda: _fingerprint(prefix_or_file))
    if kept is not None:  # read and checked whole by verify_checkpoint just before
        values, meta = kept
        return (_copied(values) if copy else values), meta
    return _read_checkpoint(prefix_or_file, copy)


def _fingerprint(prefix: str) -> verified.Fingerprint | None:
    return verified.fingerprint(checkpoint_files(prefix))


def _copied(values: Mapping[str, np.ndarray]) -> dict:
    if isinstance(values, tf_bundle.BundleValues):
        return values.copied()
    return {name: arr.copy() for name, arr in values.items()}


def verify_checkpoint(prefix: str) -> None:
    """Read the checkpoint ``prefix`` whole and run every check on it (markers, length,
    every checksum), keeping what was read for the next :func:`read_checkpoint` of the
    same unchanged files (:mod:`estcore.checkpoint.verified`): choosing a checkpoint and
    restoring it read and check its files once.

    Raises:
        NotFoundError, OSError: no such checkpoint, or it cannot be read.
        CheckpointCorruptError: a check failed.
    """
    before = _fingerprint(prefix)
    values, meta = _read_checkpoint(prefix, copy=False)
    if before is not None and _fingerprint(prefix) == before:
        verified.keep(prefix, before, values, meta)


def _read_checkpoint(prefix_or_file: str, copy: bool) -> tuple[dict[str, np.ndarray], dict]:
    tf_prefix = _tf_prefix(prefix_or_file)
    if tf_prefix is not None:
        return tf_bundle.read_bundle(tf_prefix, copy=copy)
    path, data = _read_file(prefix_or_file)
    header, start = _parse(path, data)
    out: dict[str, np.ndarray] = {}
    for entry in header.get("tensors", []):  # (extents checked by _parse)
        dtype = np.dtype(entry["dtype"])
        lo = start + entry["offset"]
        hi = lo + entry["nbytes"]
        shape = tuple(entry["shape"])
        native = dtype.newbyteorder("=")
        if hi == lo:
            out[entry["name"]] = np.zeros(shape, dtype=native)
            continue
        arr = np.frombuffer(data, dtype=dtype, count=(hi - lo) // dtype.itemsize, offset=lo)
        out[entry["name"]] = arr.reshape(shape).astype(native, copy=copy)
    return out, header.get("meta", {})
