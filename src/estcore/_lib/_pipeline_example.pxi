# _pipeline_example.pxi -- tf.train.Example parsing (est_example.h) for _pipeline.pyx
# (included after _pipeline_records.pxi, whose _string_pointers it uses, not a module):
# the EXAMPLE_* codes, parse_example_columns and parse_example_varlen.
#
# Must not: write its own parse-error text: a record the C parser cannot serve comes back
# as an index (``bad``) and the caller re-decodes it in Python for TF's message.

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
