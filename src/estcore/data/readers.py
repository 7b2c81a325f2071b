"""File sources: the records of text, fixed-length and TFRecord files, read in C.

Each ``iter_*`` function is a generator of *chunks*: 1-D numpy object arrays of
``bytes``, consecutive records in file order, up to ``chunk_records`` (4096) of them
and about 4 MiB at a time. The C reader (``csrc/pipeline/est_records.c``) reads and
frames with the GIL released, in a buffer of ``buffer_size`` bytes (256 KiB by
default) that grows only to hold one larger record: memory is bounded by the largest
record, not the file. Compressed input (``'GZIP'``, ``'ZLIB'``) is inflated by
Python's :mod:`zlib` (which releases the GIL too) and pushed to the same framing.

Semantics are TF 2.15's (``TextLineDataset``, ``FixedLengthRecordDataset``,
``TFRecordDataset``), except where estcore reports what TF drops silently:

* lines end at ``'\\n'``; every ``'\\r'`` in a line is dropped, as TF's ReadLine does
  (not only a trailing one); a last line without ``'\\n'`` is a record when it is
  not empty after that;
* fixed-length: ``header_bytes`` skipped, ``footer_bytes`` left, and a body that is
  not a multiple of ``record_bytes`` raises InvalidArgumentError before any record
  (uncompressed, TF's message) or DataLossError after the whole records (compressed,
  where the length is known only at the end);
* TFRecord: both masked CRC-32C checksums are checked (DataLossError "corrupted
  record at <offset> (record <k>)"); a file cut inside a record raises DataLossError
  "truncated record at <offset>" -- also when the cut is inside the 12-byte header,
  where TF stops without an error (lost data is reported here).

Every error names the file and the record (or line) number; a missing file raises
:class:`~estcore.errors.NotFoundError` (``"<file>; No such file or directory"``, as
TF). ``start`` skips that many records first (exact resume: a consumer that took
``k`` records restarts with ``start=k``).

:func:`iter_csv` is the bulk CSV form: lines framed and parsed into columns by the
``DecodeCSV`` kernel inside the reader's buffer, no Python object per line.

Must not: know Datasets (``estcore.data``'s sources call these functions); parse
record contents other than through the decode kernels (``decode_csv`` /
``parse_example`` are graph ops); hold a file open after its generator is closed or
exhausted.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from estcore import errors
from estcore._lib import _pipeline
from estcore.graph.ops.decode_ops import CSV_CODES, check_csv_args, parse_threads

__all__ = ["iter_text_lines", "iter_fixed_length_records", "iter_fixed_length_matrices",
           "iter_tfrecords", "iter_csv", "iter_csv_checked", "tf_record_iterator",
           "compression_wbits", "CHUNK_RECORDS"]

CHUNK_RECORDS = 4096          # records per chunk at most
_CHUNK_BYTES = 4 << 20        # and about this many bytes
_COMPRESSED_READ = 1 << 18    # compressed bytes read per inflate step

_WBITS = {"GZIP": 16 + zlib.MAX_WBITS, "ZLIB": zlib.MAX_WBITS}


def compression_wbits(compression_type: Any) -> int | None:
    """zlib's ``wbits`` for a TF compression type, None for uncompressed.

    Args:
        compression_type: None, ``''``, ``'GZIP'`` or ``'ZLIB'`` (str or bytes).

    Raises:
        ValueError: any other value (TF accepts unknown names and reads the file
            uncompressed; estcore names the mistake instead).
    """
    if compression_type is None:
        return None
    ct = compression_type.decode() if isinstance(compression_type, bytes) else compression_type
    if not isinstance(ct, str) or (ct and ct not in _WBITS):
        raise ValueError(f"compression_type must be None, '', 'GZIP' or 'ZLIB'. Received: "
                         f"{compression_type!r}")
    return _WBITS[ct] if ct else None


def _path(filename: Any) -> str:
    if isinstance(filename, np.ndarray) and filename.ndim == 0:
        filename = filename.item()
    if isinstance(filename, (bytes, np.bytes_)):
        return os.fsdecode(bytes(filename))
    if isinstance(filename, (str, os.PathLike)):
        return os.fspath(filename)
    raise TypeError(f"filename must be a str, bytes or os.PathLike. Received: {filename!r} "
                    f"({type(filename).__name__})")


def _positive(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or int(value) < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}. Received: {value!r}")
    return int(value)


def _buffer(buffer_size: Any) -> int:
    if buffer_size is None:
        return 0
    # TF reads buffer_size 0 as "the default"; negative sizes are refused
    return _positive("buffer_size", buffer_size, 0)


def _open(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise errors.NotFoundError(f"{path}; No such file or directory") from None
    if os.path.isdir(path):
        os.close(fd)
        raise errors.InvalidArgumentError(f"{path}: is a directory, not a file")
    return fd


def _records(path: str, fmt: int, compression_type: Any, buffer_size: Any, start: Any,
             matrix: bool = False, record_bytes: int = 0, header_bytes: int = 0,
             footer_bytes: int = 0, csv: tuple | None = None) -> Iterator[Any]:
    """Check the arguments now (as TF does when the dataset is built), then return the
    generator, which opens the file at its first ``next()``."""
    wbits = compression_wbits(compression_type)
    size = _buffer(buffer_size)
    skip = _positive("start", start, 0)
    return _chunks(path, fmt, wbits, size, skip, matrix, record_bytes, header_bytes,
                   footer_bytes, csv)


def _chunks(path: str, fmt: int, wbits: int | None, size: int, skip: int, matrix: bool,
            record_bytes: int, header_bytes: int, footer_bytes: int,
            csv: tuple | None) -> Iterator[Any]:
    fd = _open(path)
    try:
        if wbits is None:
            st = os.fstat(fd)
            hint = st.st_size if _is_regular(st.st_mode) else -1
            reader = _pipeline._RecordReader(path, fmt, fd, hint, record_bytes, header_bytes,
                                             footer_bytes, size)
            feed = None
        else:
            reader = _pipeline._RecordReader(path, fmt, -1, -1, record_bytes, header_bytes,
                                             footer_bytes, size)
            feed = _inflater(path, fd, wbits, reader)
        while skip:
            skip -= reader.skip(skip)
            if skip and not (feed is not None and next(feed, False)):
                break  # the stream ended before `start` records
        if csv is not None:
            rows, limit = csv[0], csv[1]

            def take(n, b):  # (count, columns) chunks, parsed in the reader's buffer
                return _pipeline.csv_chunk(reader, n, b, *csv[2:])
        else:
            rows, limit = CHUNK_RECORDS, _CHUNK_BYTES
            take = reader.next_matrix if matrix else reader.next_records
        while True:
            chunk = take(rows, limit)
            if chunk is None:
                return
            if csv is not None:
                count, chunk = chunk
            else:
                count = len(chunk)
            if count:
                yield chunk
            elif feed is None or not next(feed, False):
                raise errors.InternalError(f"{path}: the record reader asked for input "
                                           "after the end of its stream")
    finally:
        os.close(fd)


def _is_regular(mode: int) -> bool:
    return (mode & 0o170000) == 0o100000


def _inflater(path: str, fd: int, wbits: int, reader: Any) -> Iterator[bool]:
    """Push the next piece of inflated bytes into ``reader`` at each ``next()``
    (True), the end of stream marked once; False after that."""
    d = zlib.decompressobj(wbits)
    done = False
    while not done:
        if d.unconsumed_tail:
            data = d.unconsumed_tail
        else:
            data = os.read(fd, _COMPRESSED_READ)
        try:
            if data:
                out = d.decompress(data, _COMPRESSED_READ * 4)
                while d.eof and d.unused_data:   # concatenated gzip members
                    rest = d.unused_data
                    d = zlib.decompressobj(wbits)
                    out += d.decompress(rest, _COMPRESSED_READ * 4)
            else:
                out = d.flush()
                done = True
        except zlib.error as e:
            raise errors.DataLossError(f"{path}: the compressed stream is corrupted "
                                       f"(inflate failed: {e})") from None
        reader.feed(out, done)
        yield True
    while True:
        yield False


def iter_text_lines(filename: Any, *, compression_type: Any = None, buffer_size: Any = None,
                    start: int = 0) -> Iterator[np.ndarray]:
    """The lines of a text file, as TF's ``TextLineDataset`` gives them.

    Args:
        filename: str, bytes or os.PathLike.
        compression_type: None / ``''``, ``'GZIP'`` or ``'ZLIB'``.
        buffer_size: bytes read at a time (None: 256 KiB).
        start: lines to skip first (for exact resume).

    Yields:
        1-D object arrays of ``bytes`` (chunks of consecutive lines, newline and every
        ``'\\r'`` removed).

    Raises:
        NotFoundError: no such file. DataLossError: a corrupted compressed stream.
        ValueError: a bad argument.
    """
    return _records(_path(filename), _pipeline.LINES, compression_type, buffer_size, start)


def _fixed_args(record_bytes: Any, header_bytes: Any, footer_bytes: Any) -> tuple:
    return (_positive("record_bytes", record_bytes, 1),
            _positive("header_bytes", header_bytes, 0),
            _positive("footer_bytes", footer_bytes, 0))


def iter_fixed_length_records(filename: Any, record_bytes: int, header_bytes: int = 0,
                              footer_bytes: int = 0, buffer_size: Any = None,
                              compression_type: Any = None,
                              start: int = 0) -> Iterator[np.ndarray]:
    """Fixed-length records, as TF's ``FixedLengthRecordDataset`` gives them.

    Args:
        filename: str, bytes or os.PathLike.
        record_bytes: bytes per record (>= 1).
        header_bytes: bytes skipped at the start of the file.
        footer_bytes: bytes ignored at its end.
        buffer_size: bytes read at a time (None: 256 KiB).
        compression_type: None / ``''``, ``'GZIP'`` or ``'ZLIB'``.
        start: records to skip first.

    Yields:
        1-D object arrays of ``bytes`` objects of ``record_bytes`` each.

    Raises:
        InvalidArgumentError: the body (file minus header and footer) is not a multiple
            of ``record_bytes`` (before any record; compressed input: DataLossError
            after the whole records).
        NotFoundError, DataLossError, ValueError: as :func:`iter_text_lines`.
    """
    rb, hb, fb = _fixed_args(record_bytes, header_bytes, footer_bytes)
    return _records(_path(filename), _pipeline.FIXED, compression_type, buffer_size, start,
                    False, rb, hb, fb)


def iter_fixed_length_matrices(filename: Any, record_bytes: int, header_bytes: int = 0,
                               footer_bytes: int = 0, buffer_size: Any = None,
                               compression_type: Any = None,
                               start: int = 0) -> Iterator[np.ndarray]:
    """:func:`iter_fixed_length_records` as 2-D uint8 chunks ``[k, record_bytes]``
    (one copy per chunk, no ``bytes`` object per record): the fast form for
    ``decode_raw`` of fixed records. Same arguments, order and errors."""
    rb, hb, fb = _fixed_args(record_bytes, header_bytes, footer_bytes)
    return _records(_path(filename), _pipeline.FIXED, compression_type, buffer_size, start,
                    True, rb, hb, fb)


def iter_csv(filename: Any, record_defaults: Any, *, field_delim: str = ",",
             use_quote_delim: bool = True, na_value: str = "", select_cols: Any = None,
             header_lines: int = 0, compression_type: Any = None, buffer_size: Any = None,
             chunk_records: int = 65536, num_threads: int | None = None
             ) -> Iterator[list[np.ndarray]]:
    """The lines of a CSV file parsed into columns in C, chunk by chunk: the bulk form of
    ``TextLineDataset(f).skip(header_lines).map(decode_csv)`` (same line and field
    rules), with no Python object per line.

    Args:
        filename: str, bytes or os.PathLike.
        record_defaults, field_delim, use_quote_delim, na_value, select_cols: as
            :func:`~estcore.graph.ops.decode_ops.decode_csv`.
        header_lines: lines skipped first.
        compression_type, buffer_size: as :func:`iter_text_lines`.
        chunk_records: lines per chunk at most (about 64 MiB of text at most).
        num_threads: parse threads per chunk (None: ``set_parse_threads``' count).

    Yields:
        Per chunk a list of 1-D arrays, one per column (int32 / int64 / float32 /
        float64, or object arrays of bytes).

    Raises:
        InvalidArgumentError: a line that is not valid for the defaults, named by file
            and line number (1-based) with TF's DecodeCSV text. Argument errors as
            decode_csv's and :func:`iter_text_lines`'.
    """
    checked = check_csv_args(record_defaults, field_delim, na_value, select_cols)
    return iter_csv_checked(filename, checked, use_quote_delim, header_lines=header_lines,
                            compression_type=compression_type, buffer_size=buffer_size,
                            chunk_records=chunk_records, num_threads=num_threads)


def iter_csv_checked(filename: Any, checked: tuple, use_quote_delim: bool, *,
                     header_lines: int = 0, compression_type: Any = None,
                     buffer_size: Any = None, chunk_records: int = 65536,
                     num_threads: int | None = None) -> Iterator[list[np.ndarray]]:
    """:func:`iter_csv` with the CSV arguments already checked: ``checked`` is
    ``check_csv_args``' result (a traced DecodeCSV op's attributes)."""
    dtypes, defaults, delim, na, sel = checked
    rows = _positive("chunk_records", chunk_records, 1)
    threads = parse_threads() if num_threads is None else \
        _positive("num_threads", num_threads, 1)
    csv = (rows, 64 << 20, [CSV_CODES[d.name] for d in dtypes], list(defaults), delim,
           bool(use_quote_delim), na, sel, threads)
    skip = _positive("header_lines", header_lines, 0)
    return _records(_path(filename), _pipeline.LINES, compression_type, buffer_size, skip,
                    csv=csv)


def iter_tfrecords(filename: Any, compression_type: Any = None, buffer_size: Any = None,
                   start: int = 0) -> Iterator[np.ndarray]:
    """The records of a TFRecord file (TF's ``TFRecordDataset``), checksums checked.

    Args:
        filename: str, bytes or os.PathLike.
        compression_type: None / ``''``, ``'GZIP'`` or ``'ZLIB'``.
        buffer_size: bytes read at a time (None: 256 KiB).
        start: records to skip first (their checksums are checked too).

    Yields:
        1-D object arrays of ``bytes`` (the records' data).

    Raises:
        DataLossError: a checksum does not match, or the file ends inside a record
            (offset and record number in the message).
        NotFoundError, ValueError: as :func:`iter_text_lines`.
    """
    return _records(_path(filename), _pipeline.TFRECORD, compression_type, buffer_size,
                    start)


def tf_record_iterator(path: Any, options: Any = None) -> Iterator[bytes]:
    """TF1's ``tf.python_io.tf_record_iterator``: the records of a TFRecord file, one
    ``bytes`` at a time.

    Args:
        path: the file.
        options: None, a compression type string, or an object with a
            ``compression_type`` attribute (``tf.io.TFRecordOptions``).
    """
    ct = getattr(options, "compression_type", options)
    for chunk in iter_tfrecords(path, compression_type=ct):
        yield from chunk.tolist()
