# _pipeline_stream.pxi -- the sampler / batch-stream wrapper of _pipeline.pyx (included,
# not a module): _BatchBuffer, _Stream, MAX_THREADS / MAX_DIMS, shuffle_buffer_order, and
# the test / benchmark hooks of the sampler, the gather baseline and the status map.
#
# Must not: hand C a Python object (C gets the pointers, shapes and strides of arrays that
# _Stream keeps alive); wait with the GIL held (waits are WAIT_MS slices that check for
# signals in between); read files or parse records (_pipeline_records.pxi and after).

DEF WAIT_MS = 100

cdef object _ndarray = np.ndarray  # looked up once: _pack runs once per batch

MAX_THREADS = EST_STREAM_MAX_THREADS
MAX_DIMS = EST_STREAM_MAX_DIMS


def _set_burst_hook(hook) -> None:
    """Have every stream worker report each batch it fills to ``hook``: a capsule named
    ``"estcore.est_burst_fn"`` (``_kernels._own_burst_hook()``), or None for no report.
    Called once by ``estcore._lib`` at import, before any stream starts."""
    cdef void *fn = NULL
    if hook is not None:
        fn = PyCapsule_GetPointer(hook, b"estcore.est_burst_fn")  # raises on another capsule
    est_stream_set_burst_hook(<est_burst_fn>fn)


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
