# _pipeline_csv.pxi -- CSV and number parsing (est_csv.h) for _pipeline.pyx (included
# after _pipeline_records.pxi, whose _RecordReader and _string_pointers it uses, not a
# module): the CSV_* codes, decode_csv_columns, csv_chunk and strings_to_numbers.
#
# Must not: read files (records come from a _RecordReader chunk or from the caller);
# write its own parse-error text: TF's DecodeCSV / StringToNumber messages come from C.

CSV_INT32 = EST_CSV_INT32
CSV_INT64 = EST_CSV_INT64
CSV_FLOAT = EST_CSV_FLOAT
CSV_DOUBLE = EST_CSV_DOUBLE
CSV_STRING = EST_CSV_STRING
CSV_MAX_THREADS = EST_CSV_MAX_THREADS


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
