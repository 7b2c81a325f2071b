# _pipeline_records.pxi -- record framing for _pipeline.pyx (included after
# _pipeline_stream.pxi, not a module): CRC-32C (TFRecord checksums), _RecordReader over
# est_records.h (LINES / FIXED / TFRECORD), and _string_pointers, the bytes / str ->
# pointer table that _pipeline_csv.pxi and _pipeline_example.pxi share.
#
# Must not: parse record contents (CSV and Example parsing have their own files); read,
# frame or checksum a large input with the GIL held.

# ---------------------------------------------------------------- CRC-32C
# The checksum of TFRecord framing (event files). Takes any contiguous bytes-like
# object; large inputs are checksummed with the GIL released.

def crc32c(data, uint32_t crc=0, bint portable=False):
    """CRC-32C of ``data`` (bytes-like, C-contiguous), continuing from ``crc``.

    ``portable=True`` uses the table path even where the CPU has SSE4.2 (tests).
    """
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef const void *p = &view[0] if n else NULL
    cdef uint32_t out
    if n >= 65536:
        with nogil:
            out = est_crc32c_portable(p, n, crc) if portable else est_crc32c(p, n, crc)
    else:
        out = est_crc32c_portable(p, n, crc) if portable else est_crc32c(p, n, crc)
    return out


def masked_crc32c(data):
    """TFRecord's masked CRC-32C of ``data`` (rotate right 15, add 0xa282ead8)."""
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef const void *p = &view[0] if n else NULL
    return est_crc32c_mask(est_crc32c(p, n, 0))


def crc32c_hardware():
    """True if this CPU's SSE4.2 instruction computes CRC-32C here."""
    return bool(est_crc32c_hardware())


# ---------------------------------------------------------------- file sources (FILES)
# Record framing (est_records.h) and CSV / number parsing (est_csv.h). The C side sees
# only bytes; here records become Python bytes (or one 2-D uint8 array for fixed-length
# records) and C errors become estcore.errors classes naming the file.

LINES = EST_RECORDS_LINES
FIXED = EST_RECORDS_FIXED
TFRECORD = EST_RECORDS_TFRECORD


cdef class _RecordReader:
    """Records of one stream: a file descriptor read in C (``fd >= 0``) or bytes
    pushed with :meth:`feed` (``fd = -1``: decompressed input).

    Args:
        name: the file name errors start with.
        fmt: LINES, FIXED or TFRECORD.
        fd: an open descriptor positioned at the stream's start (owned by the
            caller, who closes it after this reader is gone), or -1.
        size_hint: bytes left in a regular file, else -1.
        record_bytes, header_bytes, footer_bytes: FIXED's layout.
        buffer_size: bytes per read (0: 256 KiB).

    One thread at a time (the caller's generator); the GIL is released while C reads
    and frames.
    """
    cdef est_records *r
    cdef readonly str name
    cdef readonly int fmt
    cdef uint64_t record_bytes

    def __cinit__(self, str name, int fmt, int fd, int64_t size_hint=-1,
                  uint64_t record_bytes=0, uint64_t header_bytes=0,
                  uint64_t footer_bytes=0, size_t buffer_size=0):
        self.r = NULL
        self.name = name
        self.fmt = fmt
        self.record_bytes = record_bytes
        cdef est_records_config cfg
        cfg.format = fmt
        cfg.record_bytes = record_bytes
        cfg.header_bytes = header_bytes
        cfg.footer_bytes = footer_bytes
        cfg.buffer_size = buffer_size
        cdef est_status st
        if fd >= 0:
            st = est_records_open_fd(&cfg, fd, size_hint, &self.r)
        else:
            st = est_records_open_push(&cfg, &self.r)
        check_status(st, f"{name}: could not open a record reader")

    def __dealloc__(self):
        if self.r != NULL:
            est_records_destroy(self.r)
            self.r = NULL

    cdef int _raise(self, est_status st) except -1:
        cdef char msg[EST_RECORDS_ERROR_LEN]
        est_records_error(self.r, msg, EST_RECORDS_ERROR_LEN)
        text = msg.decode("utf-8", "replace")
        kind = est_records_error_kind(self.r)
        from estcore import errors
        if kind == EST_RECORDS_DATA_LOSS:
            raise errors.DataLossError(f"{self.name}: {text}")
        if kind == EST_RECORDS_INVALID and st == EST_ERR_INVALID_ARGUMENT:
            raise errors.InvalidArgumentError(f"{self.name}: {text}")
        if kind == EST_RECORDS_IO:
            raise OSError(est_records_errno(self.r), f"{self.name}: {text}")
        check_status(st, f"{self.name}: {text}" if text else self.name)
        return -1

    def feed(self, data, bint eof=False):
        """Push mode: append ``data`` (bytes-like); ``eof``: the stream ends after it."""
        cdef const unsigned char[::1] view = memoryview(data).cast("B") if len(data) else None
        cdef size_t n = view.shape[0] if view is not None else 0
        cdef const void *p = &view[0] if n else NULL
        cdef est_status st
        with nogil:
            st = est_records_feed(self.r, p, n, 1 if eof else 0)
        if st != EST_OK:
            self._raise(st)

    cdef int _next(self, uint64_t max_records, size_t max_bytes,
                   est_records_chunk *c) except -1:
        cdef est_status st
        with nogil:
            st = est_records_next(self.r, max_records, max_bytes, c)
        if st == EST_ERR_OUT_OF_RANGE:
            return 0
        if st != EST_OK:
            self._raise(st)
        return 1

    def next_records(self, uint64_t max_records=4096, size_t max_bytes=1 << 22):
        """The next chunk as a 1-D object array of bytes; an empty array when a push
        reader needs input; None at the end of the stream."""
        cdef est_records_chunk c
        if not self._next(max_records, max_bytes, &c):
            return None
        out = np.empty(<Py_ssize_t>c.count, dtype=object)
        cdef object[::1] view = out
        cdef Py_ssize_t i
        for i in range(<Py_ssize_t>c.count):
            view[i] = PyBytes_FromStringAndSize(c.base + c.offsets[i],
                                                <Py_ssize_t>c.lengths[i])
        return out

    def next_matrix(self, uint64_t max_records=4096, size_t max_bytes=1 << 22):
        """FIXED readers: the next chunk as a 2-D uint8 array ``[count, record_bytes]``
        (one copy, no per-record object); ``[0, record_bytes]`` when a push reader
        needs input; None at the end."""
        if self.fmt != EST_RECORDS_FIXED:
            raise TypeError("next_matrix is for fixed-length records")
        cdef est_records_chunk c
        if not self._next(max_records, max_bytes, &c):
            return None
        out = np.empty((<Py_ssize_t>c.count, <Py_ssize_t>self.record_bytes), dtype=np.uint8)
        cdef unsigned char[:, ::1] view = out
        if c.count:
            with nogil:  # fixed records are consecutive in the buffer
                memcpy(&view[0, 0], c.base + c.offsets[0], c.count * self.record_bytes)
        return out

    def skip(self, uint64_t n):
        """Skip up to ``n`` records; how many were skipped (fewer at the end, or when a
        push reader needs input)."""
        cdef uint64_t done = 0
        cdef est_status st
        with nogil:
            st = est_records_skip(self.r, n, &done)
        if st != EST_OK:
            self._raise(st)
        return done

    @property
    def position(self):
        """Records framed so far (handed out or skipped)."""
        return est_records_position(self.r)


cdef int _string_pointers(object[::1] view, const char **ptrs, size_t *lens,
                          list keep) except -1:
    """Pointers to the bytes of each element (str elements are encoded to UTF-8 and
    kept alive in ``keep``)."""
    cdef Py_ssize_t i
    for i in range(view.shape[0]):
        s = view[i]
        if type(s) is not bytes:
            if isinstance(s, bytes):
                s = bytes(s)
            elif isinstance(s, str):
                s = (<str>s).encode("utf-8")
            elif isinstance(s, (bytearray, memoryview)):
                s = bytes(s)
            else:
                raise TypeError(f"element {i} is a {type(s).__name__}, not bytes or str")
            keep.append(s)
        ptrs[i] = PyBytes_AS_STRING(s)
        lens[i] = <size_t>PyBytes_GET_SIZE(s)
    return 0
