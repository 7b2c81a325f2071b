# _pipeline.pyx -- the seam of the input pipeline (internal; estcore.inputs wraps it).
#
# Design:
#   (a) C (csrc/pipeline, est_stream.h) owns worker threads, the slab pool and
#       the in-order window; it never sees a Python object.
#   (b) _Stream keeps the source numpy arrays alive for its whole life (the C
#       columns borrow their memory), passes their pointers, shapes and strides
#       to C, and turns statuses into estcore.errors exceptions.
#   (c) Each batch is one C slab wrapped in a _BatchBuffer (buffer protocol);
#       the numpy arrays of the batch are views on it with the buffer as their
#       base. Ownership of the slab moves to the _BatchBuffer at hand-off; when
#       the last array viewing it dies, __dealloc__ gives the slab back to the
#       pool (est_slab_release), which also works after the stream is gone.
#   (d) Blocking waits run with the GIL released, 100 ms at a time, checking
#       for signals in between so Ctrl-C interrupts a blocked consumer; on any
#       exception there the stream is closed (workers joined) before re-raising.
from cpython.buffer cimport PyBUF_FORMAT
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from estcore._lib._status cimport (
    EST_ERR_CANCELLED,
    EST_ERR_FAILED_PRECONDITION,
    EST_ERR_OUT_OF_RANGE,
    EST_ERR_TIMEOUT,
    EST_OK,
    EST_STATUS__COUNT,
    check_status,
    est_status,
)

import numpy as np

DEF WAIT_MS = 100

cdef object _ndarray = np.ndarray  # looked up once: _pack runs once per batch

MAX_THREADS = EST_STREAM_MAX_THREADS
MAX_DIMS = EST_STREAM_MAX_DIMS


cdef class _BatchBuffer:
    """One batch slab exposed through the buffer protocol (bytes, writable).

    Owns the slab: ``__dealloc__`` releases it to its stream's pool.
    """
    cdef est_slab *slab
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __getbuffer__(self, Py_buffer *buf, int flags):
        buf.buf = est_slab_data(self.slab)
        buf.obj = self
        buf.len = self.shape[0]
        buf.readonly = 0
        buf.itemsize = 1
        if flags & PyBUF_FORMAT:
            buf.format = "B"
        else:
            buf.format = NULL
        buf.ndim = 1
        buf.shape = self.shape
        buf.strides = self.strides
        buf.suboffsets = NULL
        buf.internal = NULL

    def __releasebuffer__(self, Py_buffer *buf):
        pass

    def __dealloc__(self):
        if self.slab != NULL:
            est_slab_release(self.slab)
            self.slab = NULL


cdef class _Stream:
    """A running C stream over a list of numpy columns.

    Args:
        columns: list of numpy arrays with equal ``shape[0]`` (validated by the
            caller; any fixed-size dtype, any strides). Kept alive here.
        x_keys: tuple of feature keys (columns ``0..len-1``) or None when the
            features are the single array ``columns[0]``.
        y_keys: None (no labels), ``""`` (labels are the single array after the
            features) or a tuple of label keys.
        batch_size, num_epochs (0 = endless), seed (0 <= seed < 2**64),
        shuffle, num_threads, queue_capacity, start_batch: see est_stream.h.
        fail_at_batch, delay_us: test hooks (-1, 0 in production).
    """
    cdef est_stream *s
    cdef list columns
    cdef list dtypes
    cdef list tails          # per-example shapes (tuples)
    cdef list offsets
    cdef uint64_t full_rows  # rows of a full batch; its array shapes are cached:
    cdef list full_shapes
    cdef Py_ssize_t full_extent
    cdef int ncols
    cdef object x_keys
    cdef object y_keys
    cdef readonly bint closed
    cdef bint busy           # a thread is inside next() (one consumer at a time)
    cdef object order        # the explicit order table (uint64 array), kept alive, or None

    def __cinit__(self, list columns, x_keys, y_keys, uint64_t batch_size,
                  uint64_t num_epochs, uint64_t seed, bint shuffle, int num_threads,
                  uint64_t queue_capacity, uint64_t start_batch=0,
                  int64_t fail_at_batch=-1, uint32_t delay_us=0,
                  uint32_t shard_index=0, uint32_t num_shards=1, order=None):
        self.s = NULL
        self.closed = True
        cdef const uint64_t[::1] order_view
        if order is not None:
            order = np.ascontiguousarray(order, dtype=np.uint64)
            if order.ndim != 1 or order.shape[0] == 0:
                raise ValueError("order must be a non-empty 1-D array of row indices")
            order_view = order
        self.order = order
        self.columns = list(columns)
        self.ncols = len(self.columns)
        self.x_keys = x_keys
        self.y_keys = y_keys
        self.dtypes = [a.dtype for a in self.columns]
        self.tails = [tuple(a.shape[1:]) for a in self.columns]
        cdef est_stream_config cfg
        est_stream_config_default(&cfg)
        cfg.num_rows = <uint64_t>self.columns[0].shape[0]
        cfg.batch_size = batch_size
        cfg.num_epochs = num_epochs
        cfg.seed = seed
        cfg.shuffle = 1 if shuffle else 0
        cfg.num_threads = num_threads
        cfg.queue_capacity = queue_capacity
        cfg.start_batch = start_batch
        cfg.fail_at_batch = fail_at_batch
        cfg.delay_us = delay_us
        cfg.shard_index = shard_index
        cfg.num_shards = num_shards
        if order is not None:
            if <uint64_t>order.shape[0] != <uint64_t>self.columns[0].shape[0] * num_epochs:
                raise ValueError("order must hold num_rows * num_epochs row indices")
            cfg.order = &order_view[0]
        cdef est_column *cols = <est_column *>malloc(self.ncols * sizeof(est_column))
        cdef int64_t *dims = <int64_t *>malloc(
            2 * sum(max(a.ndim, 1) for a in self.columns) * sizeof(int64_t))
        cdef int64_t *p = dims
        cdef int c, d, nd
        cdef est_status st
        if cols == NULL or dims == NULL:
            free(cols)
            free(dims)
            raise MemoryError("numpy_input_fn: could not allocate column descriptors")
        try:
            for c in range(self.ncols):
                a = self.columns[c]
                cols[c].data = <const char *><size_t>a.__array_interface__["data"][0]
                cols[c].itemsize = a.itemsize
                nd = a.ndim
                cols[c].ndim = nd
                cols[c].shape = p
                for d in range(nd):
                    p[d] = a.shape[d]
                    p[nd + d] = a.strides[d]
                cols[c].strides = p + nd
                p += 2 * nd
            with nogil:
                st = est_stream_create(&cfg, cols, self.ncols, &self.s)
            check_status(st, "numpy_input_fn: could not start the input stream")
        finally:
            free(cols)
            free(dims)
        self.closed = False
        self.offsets = [est_stream_column_offset(self.s, c) for c in range(self.ncols)]
        self.full_rows = batch_size
        self.full_shapes = [(<Py_ssize_t>batch_size,) + t for t in self.tails]
        self.full_extent = self.slab_bytes_for(batch_size)

    def __dealloc__(self):
        if self.s != NULL:
            with nogil:
                est_stream_destroy(self.s)  # joins the workers
            self.s = NULL

    cpdef close(self):
        """Stop and join the workers (idempotent). Batches already handed out stay valid."""
        cdef est_status st
        if self.s == NULL or self.closed:
            return
        self.closed = True
        with nogil:
            st = est_stream_close(self.s)
        if st == EST_ERR_FAILED_PRECONDITION:
            return  # a fork child: the parent's threads are not ours to stop
        check_status(st, "numpy_input_fn: closing the input stream")

    def next(self):
        """The next batch, packed; None at the end of a finite stream.

        Raises:
            CancelledError: the stream was closed.
            KeyboardInterrupt (or whatever a signal handler raises) while waiting;
                the stream is closed first.
            The worker's error class (C status) when a worker failed.
        """
        cdef est_slab *slab = NULL
        cdef uint64_t k = 0, rows = 0
        cdef est_status st
        cdef char msg[EST_STREAM_ERROR_LEN]
        if self.s == NULL:
            raise RuntimeError("numpy_input_fn: the input stream was not started")
        if self.busy:
            raise RuntimeError("numpy_input_fn: another thread is reading this input "
                               "stream; a stream has one consumer at a time")
        self.busy = True
        try:
            # A ready batch is taken without releasing the GIL (the call then
            # only takes the stream's mutex, which no thread holds for long).
            st = est_stream_next(self.s, 0, &slab, &k, &rows)
            while st == EST_ERR_TIMEOUT:
                with nogil:
                    st = est_stream_next(self.s, WAIT_MS, &slab, &k, &rows)
                if st != EST_ERR_TIMEOUT:
                    break
                try:
                    PyErr_CheckSignals()
                except BaseException:
                    self.close()
                    raise
        finally:
            self.busy = False
        if st == EST_OK:
            return self._pack(slab, rows)
        if st == EST_ERR_OUT_OF_RANGE:
            return None
        if st == EST_ERR_CANCELLED:
            check_status(st, "numpy_input_fn: the input stream is closed")
        if st == EST_ERR_FAILED_PRECONDITION:
            check_status(st, "numpy_input_fn: this input stream was created before fork() and "
                             "its threads do not exist in this process; call input_fn() again")
        est_stream_error(self.s, msg, EST_STREAM_ERROR_LEN)
        text = msg.decode("utf-8", "replace")
        self.close()
        check_status(st, f"numpy_input_fn worker failed ({text})")

    cdef object _pack(self, est_slab *slab, uint64_t rows):
        cdef _BatchBuffer buf = _BatchBuffer.__new__(_BatchBuffer)
        buf.slab = slab  # ownership moves to buf here
        cdef bint full = rows == self.full_rows
        buf.shape[0] = self.full_extent if full else self.slab_bytes_for(rows)
        buf.strides[0] = 1
        cdef int c
        cdef list arrays
        if full:
            arrays = [_ndarray(self.full_shapes[c], self.dtypes[c], buf, self.offsets[c])
                      for c in range(self.ncols)]
        else:
            n = <Py_ssize_t>rows
            arrays = [_ndarray((n,) + <tuple>self.tails[c], self.dtypes[c], buf,
                               self.offsets[c]) for c in range(self.ncols)]
        cdef int nx
        if self.x_keys is None:
            features = arrays[0]
            nx = 1
        else:
            nx = len(self.x_keys)
            features = dict(zip(self.x_keys, arrays[:nx]))
        if self.y_keys is None:
            return features
        if self.y_keys == "":
            return (features, arrays[nx])
        return (features, dict(zip(self.y_keys, arrays[nx:])))

    cdef Py_ssize_t slab_bytes_for(self, uint64_t rows):
        # Extent the arrays of a `rows`-row batch may touch: last column's end.
        cdef int c = self.ncols - 1
        return <Py_ssize_t>(self.offsets[c] + rows * est_stream_row_bytes(self.s, c))

    @property
    def position(self):
        """Absolute index of the next batch the consumer receives."""
        return est_stream_position(self.s) if self.s != NULL else 0

    def _live_workers_for_testing(self):
        return est_stream_live_workers(self.s)

    def _slab_count_for_testing(self):
        return est_stream_slab_count(self.s)


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


def _status_for_testing(int code):
    """Raise through check_status for a raw status code (test of the error map)."""
    check_status(<est_status>code, "status test")
    return 0


def _status_count_for_testing():
    """EST_STATUS__COUNT: one past the last status code."""
    return <int>EST_STATUS__COUNT


def shuffle_buffer_order(uint64_t n, uint64_t buffer_size, uint64_t seed, inp=None):
    """tf.data's shuffle-buffer order of one pass (est_shuffle_buffer_order), uint64 [n].

    ``inp``: the input sequence (uint64 [n]; None: 0 .. n-1).
    """
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] ov = out
    cdef const uint64_t[::1] iv
    cdef const uint64_t *ip = NULL
    cdef uint64_t *op = &ov[0] if n else NULL
    cdef est_status st
    if inp is not None:
        arr = np.ascontiguousarray(inp, dtype=np.uint64)
        if arr.ndim != 1 or <uint64_t>arr.shape[0] != n:
            raise ValueError("inp must be a 1-D array of n values")
        if n:
            iv = arr
            ip = &iv[0]
    with nogil:
        st = est_shuffle_buffer_order(ip, n, buffer_size, seed, op)
    check_status(st, "shuffle buffer order")
    return out


def _sampler_rows_for_testing(uint64_t num_rows, uint64_t seed, bint shuffle, uint64_t first,
                              uint64_t count):
    """Rows of global positions [first, first + count) (crossing epochs), as uint64."""
    cdef est_sampler sam
    check_status(est_sampler_init(num_rows, seed, 1 if shuffle else 0, &sam),
                 "sampler test")
    out = np.empty(count, dtype=np.uint64)
    cdef uint64_t[::1] view = out
    if count:
        with nogil:
            est_sampler_fill(&sam, first, count, &view[0])
    return out


def _gather_baseline_for_testing(x, idx, uint64_t batch_size, int num_threads):
    """Benchmark reference: copy rows x[idx] batch by batch into reused buffers in C.

    Args:
        x: C-contiguous array, shape (N, ...); rows are copied as bytes.
        idx: integer array of row indices (each < N), shape (M,).
        batch_size: rows per copy batch.
        num_threads: threads sharing the batches round-robin.
    """
    if not isinstance(x, np.ndarray) or not x.flags.c_contiguous or x.ndim < 1:
        raise TypeError("x must be a C-contiguous numpy array with at least one dimension")
    rows = np.ascontiguousarray(idx, dtype=np.uint64)
    if rows.size and int(rows.max()) >= x.shape[0]:
        raise ValueError("idx holds a row index out of range")
    cdef uint64_t[::1] rv = rows
    cdef const char *src = <const char *><size_t>x.__array_interface__["data"][0]
    cdef size_t row_bytes = x.itemsize * (x.size // x.shape[0] if x.shape[0] else 0)
    cdef uint64_t n = rows.shape[0]
    cdef const uint64_t *ip = &rv[0] if n else NULL
    cdef est_status st
    cdef uint64_t dummy = 0
    if ip == NULL:
        ip = &dummy
    with nogil:
        st = est_gather_baseline(src, row_bytes, ip, n, batch_size, num_threads)
    check_status(st, "gather baseline")
    return 0


# ---------------------------------------------------------------- file sources (FILES)
# Record framing (est_records.h) and CSV / number parsing (est_csv.h). The C side sees
# only bytes; here records become Python bytes (or one 2-D uint8 array for fixed-length
# records) and C errors become estcore.errors classes naming the file.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcmp, memcpy

from estcore._lib._status cimport EST_ERR_INVALID_ARGUMENT

LINES = EST_RECORDS_LINES
FIXED = EST_RECORDS_FIXED
TFRECORD = EST_RECORDS_TFRECORD
CSV_INT32 = EST_CSV_INT32
CSV_INT64 = EST_CSV_INT64
CSV_FLOAT = EST_CSV_FLOAT
CSV_DOUBLE = EST_CSV_DOUBLE
CSV_STRING = EST_CSV_STRING
CSV_MAX_THREADS = EST_CSV_MAX_THREADS


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


DEF _CACHE_SLOTS = 1024   # per string column and call: repeated short values
DEF _CACHE_MAX_LEN = 32   # (categories, labels) share one bytes object


cdef inline object _cached_bytes(list cache, const char *p, size_t n):
    """bytes(p[0:n]), reusing the object of an equal earlier value that hashes to the
    same slot (short values only; bytes are immutable, so sharing is invisible)."""
    if n > _CACHE_MAX_LEN:
        return PyBytes_FromStringAndSize(p, <Py_ssize_t>n)
    cdef uint32_t h = 2166136261u
    cdef size_t k
    for k in range(n):
        h = (h ^ <unsigned char>p[k]) * 16777619u
    cdef Py_ssize_t slot = h & (_CACHE_SLOTS - 1)
    hit = cache[slot]
    if hit is not None and PyBytes_GET_SIZE(hit) == <Py_ssize_t>n and \
            memcmp(PyBytes_AS_STRING(hit), p, n) == 0:
        return hit
    b = PyBytes_FromStringAndSize(p, <Py_ssize_t>n)
    cache[slot] = b
    return b


def decode_csv_columns(records, list types, list defaults, str delim, bint use_quote,
                       bytes na_value, select_cols, int num_threads):
    """Parse a 1-D C-contiguous object array of records (bytes or str) into columns.

    Args:
        types: one CSV_* code per output column.
        defaults: per column, None (required) or the default (a Python number or bytes).
        delim: one character.
        use_quote, na_value (b"" for none), select_cols (None or increasing ints).
        num_threads: threads for a large input (1..CSV_MAX_THREADS).

    Returns:
        A list of 1-D arrays (int32 / int64 / float32 / float64 / object of bytes).

    Raises:
        InvalidArgumentError: TF's DecodeCSV message (a record's field count, a field
            that is not a number, a required field missing, a quoting error).
    """
    return _csv_impl(records, NULL, None, types, defaults, delim, use_quote, na_value,
                     select_cols, num_threads)


def csv_chunk(_RecordReader reader, uint64_t max_records, size_t max_bytes, list types,
              list defaults, str delim, bint use_quote, bytes na_value, select_cols,
              int num_threads):
    """The next chunk of a LINES reader parsed as CSV in place (no bytes object per
    line): ``(count, columns)``; ``(0, None)`` when a push reader needs input; None at
    the end. Errors name the file and the line (1-based, counting skipped lines)."""
    cdef est_records_chunk c
    if not reader._next(max_records, max_bytes, &c):
        return None
    if c.count == 0:
        return (0, None)
    return (c.count, _csv_impl(None, &c, reader.name, types, defaults, delim, use_quote,
                               na_value, select_cols, num_threads))


cdef object _csv_impl(records, est_records_chunk *chunk, str name, list types, list defaults,
                      str delim, bint use_quote, bytes na_value, select_cols,
                      int num_threads):
    """decode_csv_columns over an object array (``records``) or over the spans of a
    reader chunk (``records`` None)."""
    cdef object[::1] view
    cdef Py_ssize_t n
    if records is not None:
        view = records
        n = view.shape[0]
    else:
        n = <Py_ssize_t>chunk.count
    cdef int ncols = len(types)
    cdef est_csv_config cfg
    cdef bytes delim_b = delim.encode("utf-8")
    if len(delim_b) != 1:
        raise ValueError(f"field_delim must be one single-byte character. Received: {delim!r}")
    cfg.delim = (<char *>delim_b)[0]
    cfg.use_quote = 1 if use_quote else 0
    cfg.na_value = PyBytes_AS_STRING(na_value)
    cfg.na_len = <size_t>len(na_value)
    cfg.num_threads = max(1, min(num_threads, EST_CSV_MAX_THREADS))
    cfg.full_path_only = 0
    sel = None
    cdef int64_t[::1] sel_view
    cfg.select_cols = NULL
    if select_cols is not None:
        sel = np.ascontiguousarray(select_cols, dtype=np.int64)
        sel_view = sel
        if sel_view.shape[0] != ncols:
            raise ValueError("select_cols and the columns differ in length")
        if ncols:
            cfg.select_cols = &sel_view[0]
    cdef est_csv_column *cols = <est_csv_column *>malloc(max(ncols, 1) * sizeof(est_csv_column))
    cdef const char **ptrs = <const char **>malloc(max(n, 1) * sizeof(char *))
    cdef size_t *lens = <size_t *>malloc(max(n, 1) * sizeof(size_t))
    cdef est_csv_field *fields = NULL
    cdef est_csv_error err
    cdef est_status st
    cdef list keep = []
    cdef list outs = []
    cdef int c, t
    cdef Py_ssize_t i, s, nstr
    cdef object[::1] ov
    cdef est_csv_field *base
    if cols == NULL or ptrs == NULL or lens == NULL:
        free(cols)
        free(ptrs)
        free(lens)
        raise MemoryError("decode_csv: could not allocate the record table")
    try:
        if records is not None:
            _string_pointers(view, ptrs, lens, keep)
        else:
            for i in range(n):
                ptrs[i] = chunk.base + chunk.offsets[i]
                lens[i] = <size_t>chunk.lengths[i]
        nstr = sum(1 for code in types if code == EST_CSV_STRING)
        if nstr:
            fields = <est_csv_field *>malloc(max(n, 1) * nstr * sizeof(est_csv_field))
            if fields == NULL:
                raise MemoryError("decode_csv: could not allocate the field table")
        s = 0
        for c in range(ncols):
            t = types[c]
            cols[c].type = t
            d = defaults[c]
            cols[c].has_default = 0 if d is None else 1
            cols[c].default.i64 = 0
            if t == EST_CSV_STRING:
                cols[c].out = <void *>(fields + s * n)
                s += 1
                outs.append(None)
                continue
            arr = np.empty(n, dtype=(np.int32, np.int64, np.float32, np.float64)[t])
            outs.append(arr)
            cols[c].out = <void *><size_t>arr.__array_interface__["data"][0]
            if d is not None:
                if t == EST_CSV_INT32:
                    cols[c].default.i32 = d
                elif t == EST_CSV_INT64:
                    cols[c].default.i64 = d
                elif t == EST_CSV_FLOAT:
                    cols[c].default.f32 = d
                else:
                    cols[c].default.f64 = d
        with nogil:
            st = est_csv_parse(&cfg, ptrs, lens, <size_t>n, cols, ncols, &err)
        if st == EST_ERR_INVALID_ARGUMENT and err.message[0] != 0:
            from estcore.errors import InvalidArgumentError
            text = err.message.decode("utf-8", "replace")
            if records is None:
                text = f"{name}: line {chunk.first + <uint64_t>err.record + 1}: {text}"
            raise InvalidArgumentError(text)
        check_status(st, "decode_csv")
        s = 0
        for c in range(ncols):
            if types[c] != EST_CSV_STRING:
                continue
            out = np.empty(n, dtype=object)
            ov = out
            d = defaults[c]
            base = fields + s * n
            s += 1
            cache = [None] * _CACHE_SLOTS
            for i in range(n):
                if base[i].flags & EST_CSV_DEFAULT:
                    ov[i] = d
                    continue
                if records is not None and base[i].offset == 0 and \
                        base[i].length == lens[i] and not keep:
                    ov[i] = view[i]  # the whole record: the same bytes object
                    continue
                if base[i].flags & EST_CSV_ESCAPED:
                    b = PyBytes_FromStringAndSize(ptrs[i] + base[i].offset,
                                                  <Py_ssize_t>base[i].length)
                    ov[i] = b.replace(b'""', b'"')
                else:
                    ov[i] = _cached_bytes(cache, ptrs[i] + base[i].offset, base[i].length)
            outs[c] = out
        return outs
    finally:
        free(cols)
        free(ptrs)
        free(lens)
        free(fields)


def strings_to_numbers(strings, int type_code):
    """A 1-D C-contiguous object array of bytes / str -> a 1-D numeric array (TF's
    StringToNumber rules, est_csv.h).

    Raises:
        InvalidArgumentError: "StringToNumberOp could not correctly convert string: ..."
    """
    cdef object[::1] view = strings
    cdef Py_ssize_t n = view.shape[0]
    cdef const char **ptrs = <const char **>malloc(max(n, 1) * sizeof(char *))
    cdef size_t *lens = <size_t *>malloc(max(n, 1) * sizeof(size_t))
    cdef list keep = []
    cdef int64_t bad = -1
    cdef est_status st
    if ptrs == NULL or lens == NULL:
        free(ptrs)
        free(lens)
        raise MemoryError("string_to_number: could not allocate the string table")
    try:
        _string_pointers(view, ptrs, lens, keep)
        out = np.empty(n, dtype=(np.int32, np.int64, np.float32, np.float64)[type_code])
        p = <void *><size_t>out.__array_interface__["data"][0]
        with nogil:
            st = est_csv_numbers(ptrs, lens, <size_t>n, type_code, p, &bad)
        if st == EST_ERR_INVALID_ARGUMENT and bad >= 0:
            from estcore.errors import InvalidArgumentError
            text = PyBytes_FromStringAndSize(ptrs[bad], <Py_ssize_t>min(lens[bad], 200))
            raise InvalidArgumentError("StringToNumberOp could not correctly convert string: "
                                       + text.decode("utf-8", "replace"))
        check_status(st, "string_to_number")
        return out
    finally:
        free(ptrs)
        free(lens)


EXAMPLE_BYTES = EST_EXAMPLE_BYTES
EXAMPLE_FLOAT = EST_EXAMPLE_FLOAT
EXAMPLE_INT64 = EST_EXAMPLE_INT64


def parse_example_columns(records, list names, list kinds, list counts, list outs,
                          int num_threads):
    """Parse a 1-D C-contiguous object array of serialized Examples (est_example.h).

    Args:
        names: feature keys (bytes); kinds: EXAMPLE_*; counts: values per record.
        outs: per key, a C-contiguous float32 / int64 array of n * count elements to
            fill, or None for EXAMPLE_BYTES keys.
        num_threads: 1..EST_EXAMPLE_MAX_THREADS.

    Returns:
        (found: uint8 [n, nkeys], bad: the first record the caller must re-read (-1:
        none), per key an object array of n * count bytes for EXAMPLE_BYTES keys (None
        for the others)). None instead of the tuple on a host the C parser does not
        serve (big-endian): the caller decodes in Python.
    """
    cdef object[::1] view = records
    cdef Py_ssize_t n = view.shape[0]
    cdef int nk = len(names)
    cdef est_example_key *keys = <est_example_key *>malloc(max(nk, 1) * sizeof(est_example_key))
    cdef const char **ptrs = <const char **>malloc(max(n, 1) * sizeof(char *))
    cdef size_t *lens = <size_t *>malloc(max(n, 1) * sizeof(size_t))
    cdef list spans = []
    cdef list keep = []
    cdef int64_t bad = -1
    cdef est_status st
    cdef int k
    cdef Py_ssize_t i, m, cnt, limit
    cdef int nt
    cdef unsigned char *fp = NULL
    cdef unsigned char[:, ::1] fview
    cdef uint64_t[:, ::1] sview
    cdef object[::1] ov
    if keys == NULL or ptrs == NULL or lens == NULL:
        free(keys)
        free(ptrs)
        free(lens)
        raise MemoryError("parse_example: could not allocate the record table")
    try:
        _string_pointers(view, ptrs, lens, keep)
        found = np.zeros((n, max(nk, 1)), dtype=np.uint8)
        fview = found
        for k in range(nk):
            keys[k].name = PyBytes_AS_STRING(names[k])
            keys[k].name_len = <size_t>len(names[k])
            keys[k].kind = kinds[k]
            keys[k].count = counts[k]
            if kinds[k] == EST_EXAMPLE_BYTES:
                sp = np.empty((max(n * counts[k], 1), 2), dtype=np.uint64)
                spans.append(sp)
                keys[k].out = <void *><size_t>sp.__array_interface__["data"][0]
            else:
                spans.append(None)
                keys[k].out = <void *><size_t>outs[k].__array_interface__["data"][0] \
                    if outs[k].size else NULL
        if n:
            fp = &fview[0, 0]
        nt = max(1, min(num_threads, EST_EXAMPLE_MAX_THREADS))
        with nogil:
            st = est_example_parse(ptrs, lens, <size_t>n, keys, nk, fp, nt, &bad)
        if st == EST_ERR_FAILED_PRECONDITION:
            return None
        if st != EST_OK and not (st == EST_ERR_INVALID_ARGUMENT and bad >= 0):
            check_status(st, "parse_example")
        strings = []
        for k in range(nk):
            if spans[k] is None:
                strings.append(None)
                continue
            cnt = counts[k]
            m = n * cnt
            out = np.empty(m, dtype=object)
            ov = out
            sview = spans[k]
            limit = m if bad < 0 else bad * cnt
            for i in range(limit):
                if fview[i // cnt, k]:
                    ov[i] = PyBytes_FromStringAndSize(ptrs[i // cnt] + sview[i, 0],
                                                      <Py_ssize_t>sview[i, 1])
            strings.append(out)
        return found[:, :nk], bad, strings
    finally:
        free(keys)
        free(ptrs)
        free(lens)


def parse_example_varlen(records, list names, list kinds, int num_threads):
    """VarLenFeature columns of a 1-D C-contiguous object array of serialized Examples
    (est_example_parse_varlen: a count pass, then the values at the longest row's width).

    Args:
        names: feature keys (bytes); kinds: EXAMPLE_*.
        num_threads: 1..EST_EXAMPLE_MAX_THREADS.

    Returns:
        (bad, counts, values): bad is the first record the C parser could not serve (-1:
        none; then the caller re-decodes for the error text and counts / values are
        None); counts int64 [n, nkeys]; per key a row-padded [n, width] array (float32 /
        int64 padded with 0, object padded with b""). None on a host the C parser does
        not serve (big-endian).
    """
    cdef object[::1] view = records
    cdef Py_ssize_t n = view.shape[0]
    cdef int nk = len(names)
    cdef est_example_key *keys = <est_example_key *>malloc(max(nk, 1) * sizeof(est_example_key))
    cdef const char **ptrs = <const char **>malloc(max(n, 1) * sizeof(char *))
    cdef size_t *lens = <size_t *>malloc(max(n, 1) * sizeof(size_t))
    cdef uint64_t *strides = <uint64_t *>malloc(max(nk, 1) * sizeof(uint64_t))
    cdef list keep = []
    cdef list outs = []
    cdef list spans = []
    cdef int64_t bad = -1
    cdef est_status st
    cdef int k, nt
    cdef Py_ssize_t i, j, j2, w
    cdef unsigned char[:, ::1] fview
    cdef int64_t[:, ::1] cview
    cdef uint64_t[:, ::1] sview
    cdef object[:, ::1] ov
    cdef unsigned char *fp = NULL
    cdef int64_t *cp = NULL
    if keys == NULL or ptrs == NULL or lens == NULL or strides == NULL:
        free(keys)
        free(ptrs)
        free(lens)
        free(strides)
        raise MemoryError("parse_example: could not allocate the record table")
    try:
        _string_pointers(view, ptrs, lens, keep)
        found = np.zeros((max(n, 1), max(nk, 1)), dtype=np.uint8)
        counts = np.zeros((max(n, 1), max(nk, 1)), dtype=np.int64)
        fview = found
        cview = counts
        fp = &fview[0, 0]
        cp = &cview[0, 0]
        for k in range(nk):
            keys[k].name = PyBytes_AS_STRING(names[k])
            keys[k].name_len = <size_t>len(names[k])
            keys[k].kind = kinds[k]
            keys[k].count = 0
            keys[k].out = NULL
        nt = max(1, min(num_threads, EST_EXAMPLE_MAX_THREADS))
        with nogil:
            st = est_example_parse_varlen(ptrs, lens, <size_t>n, keys, nk, fp, cp, NULL, nt,
                                          &bad)
        if st == EST_ERR_FAILED_PRECONDITION:
            return None
        if st == EST_ERR_INVALID_ARGUMENT and bad >= 0:
            return bad, None, None
        check_status(st, "parse_example")
        widths = counts[:n].max(axis=0) if n else np.zeros(max(nk, 1), dtype=np.int64)
        for k in range(nk):
            w = int(widths[k])
            strides[k] = <uint64_t>w
            if kinds[k] == EST_EXAMPLE_BYTES:
                sp = np.zeros((max(n * w, 1), 2), dtype=np.uint64)
                spans.append(sp)
                keys[k].out = <void *><size_t>sp.__array_interface__["data"][0]
            else:
                out = np.zeros((n, w), dtype=np.float32 if kinds[k] == EST_EXAMPLE_FLOAT
                               else np.int64)
                spans.append(None)
                outs.append(out)
                keys[k].out = <void *><size_t>out.__array_interface__["data"][0] \
                    if out.size else NULL
        if n:
            with nogil:
                st = est_example_parse_varlen(ptrs, lens, <size_t>n, keys, nk, fp, cp,
                                              strides, nt, &bad)
            if st == EST_ERR_INVALID_ARGUMENT and bad >= 0:
                return bad, None, None
            check_status(st, "parse_example")
        values = []
        j = 0
        for k in range(nk):
            if spans[k] is None:
                values.append(outs[j])
                j += 1
                continue
            w = <Py_ssize_t>strides[k]
            out = np.full((n, w), b"", dtype=object)
            ov = out
            sview = spans[k]
            for i in range(n):
                for j2 in range(cview[i, k]):
                    ov[i, j2] = PyBytes_FromStringAndSize(ptrs[i] + sview[i * w + j2, 0],
                                                          <Py_ssize_t>sview[i * w + j2, 1])
            values.append(out)
        return -1, counts[:n, :nk], values
    finally:
        free(keys)
        free(ptrs)
        free(lens)
        free(strides)
