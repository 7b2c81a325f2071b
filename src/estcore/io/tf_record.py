"""Writing TFRecord files: TF's ``tf.io.TFRecordWriter`` / ``tf.python_io.TFRecordWriter``.

A record is framed as TF frames it: the length as a little-endian uint64, the masked
CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data (both little-endian
uint32). ``TFRecordOptions(compression_type='GZIP' | 'ZLIB')`` compresses the stream
with :mod:`zlib` (gzip or zlib container, as TF). Uncompressed output is byte-identical
to TF's writer; reading is :mod:`estcore.data.readers` (``iter_tfrecords``).

Must not: read records; buffer more than :mod:`zlib` and the file object do.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from estcore._lib import _pipeline

__all__ = ["TFRecordWriter", "TFRecordOptions", "TFRecordCompressionType"]


class TFRecordCompressionType:
    """TF1's compression enum (``tf.python_io.TFRecordCompressionType``)."""

    NONE = 0
    ZLIB = 1
    GZIP = 2


_NAMES = {None: "", "": "", "NONE": "", "ZLIB": "ZLIB", "GZIP": "GZIP",
          TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
          TFRecordCompressionType.GZIP: "GZIP"}


class TFRecordOptions:
    """Options of a TFRecord writer or reader (TF's ``tf.io.TFRecordOptions``).

    Args:
        compression_type: None / ``''``, ``'ZLIB'``, ``'GZIP'`` or a
            :class:`TFRecordCompressionType` value.
        flush_mode, input_buffer_size, output_buffer_size, window_bits,
            compression_method, mem_level, compression_strategy: TF's zlib tuning
            knobs, accepted and ignored.
        compression_level: zlib level 0..9 (None: zlib's default, as TF).

    Raises:
        ValueError: an unknown compression type or level.
    """

    def __init__(self, compression_type: Any = None, flush_mode: Any = None,
                 input_buffer_size: Any = None, output_buffer_size: Any = None,
                 window_bits: Any = None, compression_level: int | None = None,
                 compression_method: Any = None, mem_level: Any = None,
                 compression_strategy: Any = None) -> None:
        del flush_mode, input_buffer_size, output_buffer_size, window_bits
        del compression_method, mem_level, compression_strategy
        try:
            name = _NAMES[compression_type]
        except (KeyError, TypeError):
            raise ValueError(f"compression_type must be None, '', 'ZLIB', 'GZIP' or a "
                             f"TFRecordCompressionType. Received: {compression_type!r}") from None
        if compression_level is not None and (isinstance(compression_level, bool) or
                                              compression_level not in range(-1, 10)):
            raise ValueError(f"compression_level must be an int in 0..9. Received: "
                             f"{compression_level!r}")
        self.compression_type = name
        self.compression_level = compression_level

    @classmethod
    def get_compression_type_string(cls, options: Any) -> str:
        """The compression type of ``options`` (None, a string, an enum value or a
        TFRecordOptions) as ``''``, ``'ZLIB'`` or ``'GZIP'``."""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return TFRecordOptions(options).compression_type


class TFRecordWriter:
    """Write records to a TFRecord file (TF's ``tf.io.TFRecordWriter``).

    Args:
        path: the file to create (truncated if it exists).
        options: None, a compression type string, or :class:`TFRecordOptions`.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Any, options: Any = None) -> None:
        if not isinstance(options, TFRecordOptions):
            options = TFRecordOptions(options)
        self._path = path
        level = -1 if options.compression_level is None else options.compression_level
        wbits = {"": None, "ZLIB": zlib.MAX_WBITS, "GZIP": 16 + zlib.MAX_WBITS}[
            options.compression_type]
        self._zip = None if wbits is None else zlib.compressobj(level, zlib.DEFLATED, wbits)
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, record: Any) -> None:
        """Append one record (bytes-like, or str encoded as UTF-8)."""
        if self._file is None:
            raise ValueError(f"TFRecordWriter for {self._path!r} is closed")
        if isinstance(record, str):
            record = record.encode("utf-8")
        data = bytes(record)
        head = struct.pack("<Q", len(data))
        frame = b"".join((head, struct.pack("<I", _pipeline.masked_crc32c(head)), data,
                          struct.pack("<I", _pipeline.masked_crc32c(data))))
        self._file.write(self._zip.compress(frame) if self._zip is not None else frame)

    def flush(self) -> None:
        """Write what is buffered to the file (a compressed stream stays open)."""
        if self._file is None:
            return
        if self._zip is not None:
            self._file.write(self._zip.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        """Finish the stream and close the file (idempotent)."""
        if self._file is None:
            return
        try:
            if self._zip is not None:
                self._file.write(self._zip.flush())
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # a writer dropped without close() still ends its stream
        if getattr(self, "_file", None) is not None:
            self.close()
