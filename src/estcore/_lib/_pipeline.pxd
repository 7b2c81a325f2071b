# _pipeline.pxd -- est_sampler.h, est_stream.h and est_crc32c.h mirrored for Cython (the
# contracts -- ownership, locking, blocking -- are in those headers).
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from estcore._lib._status cimport est_status


cdef extern from "estcore/est_sampler.h" nogil:
    ctypedef struct est_sampler:
        uint64_t num_rows
        uint64_t seed
        int shuffle

    est_status est_sampler_init(uint64_t num_rows, uint64_t seed, int shuffle, est_sampler *out)
    uint64_t est_sampler_row(const est_sampler *s, uint64_t epoch, uint64_t i)
    void est_sampler_fill(const est_sampler *s, uint64_t first, uint64_t count, uint64_t *out)
    est_status est_shuffle_buffer_order(const uint64_t *inp, uint64_t n, uint64_t buffer_size,
                                        uint64_t seed, uint64_t *out)
    est_status est_batch_span(uint64_t batch_size, uint64_t total_examples, uint64_t k,
                              uint32_t shard, uint32_t num_shards,
                              uint64_t *first, uint64_t *count)


cdef extern from "estcore/est_stream.h" nogil:
    enum:
        EST_STREAM_MAX_DIMS
        EST_STREAM_MAX_THREADS
        EST_STREAM_MAX_COLUMNS
        EST_STREAM_ERROR_LEN

    ctypedef struct est_column:
        const char *data
        size_t itemsize
        int ndim
        const int64_t *shape
        const int64_t *strides

    ctypedef struct est_stream_config:
        uint64_t num_rows
        uint64_t batch_size
        uint64_t num_epochs
        uint64_t seed
        int shuffle
        int num_threads
        uint64_t queue_capacity
        uint64_t start_batch
        uint32_t shard_index
        uint32_t num_shards
        const uint64_t *order
        int64_t fail_at_batch
        uint32_t delay_us

    ctypedef struct est_stream:
        pass
    ctypedef struct est_slab:
        pass

    void est_stream_config_default(est_stream_config *cfg)
    est_status est_stream_create(const est_stream_config *cfg, const est_column *columns,
                                 int num_columns, est_stream **out)
    est_status est_stream_next(est_stream *s, int64_t timeout_ms, est_slab **slab,
                               uint64_t *batch_index, uint64_t *rows)
    est_status est_stream_close(est_stream *s)
    void est_stream_destroy(est_stream *s)
    ctypedef void (*est_burst_fn)(int delta)
    void est_stream_set_burst_hook(est_burst_fn hook)
    uint64_t est_stream_position(est_stream *s)
    void est_stream_error(est_stream *s, char *buf, size_t len)
    size_t est_stream_column_offset(const est_stream *s, int c)
    size_t est_stream_row_bytes(const est_stream *s, int c)
    int est_stream_live_workers(est_stream *s)
    uint64_t est_stream_slab_count(est_stream *s)
    char *est_slab_data(est_slab *slab)
    void est_slab_release(est_slab *slab)
    est_status est_gather_baseline(const char *src, size_t row_bytes, const uint64_t *idx,
                                   uint64_t num_idx, uint64_t batch_size, int num_threads)


cdef extern from "estcore/est_crc32c.h" nogil:
    uint32_t est_crc32c(const void *data, size_t len, uint32_t crc)
    uint32_t est_crc32c_portable(const void *data, size_t len, uint32_t crc)
    uint32_t est_crc32c_mask(uint32_t crc)
    int est_crc32c_hardware()


# File sources (FILES): record framing and CSV parsing (contracts in est_records.h and
# est_csv.h).
cdef extern from "estcore/est_records.h" nogil:
    enum:
        EST_RECORDS_LINES
        EST_RECORDS_FIXED
        EST_RECORDS_TFRECORD
        EST_RECORDS_OK
        EST_RECORDS_DATA_LOSS
        EST_RECORDS_INVALID
        EST_RECORDS_IO
        EST_RECORDS_ERROR_LEN

    ctypedef struct est_records_config:
        int format
        uint64_t record_bytes
        uint64_t header_bytes
        uint64_t footer_bytes
        size_t buffer_size

    ctypedef struct est_records_chunk:
        const char *base
        const uint64_t *offsets
        const uint64_t *lengths
        uint64_t count
        uint64_t first
        int need_input

    ctypedef struct est_records:
        pass

    est_status est_records_open_fd(const est_records_config *cfg, int fd, int64_t size_hint,
                                   est_records **out)
    est_status est_records_open_push(const est_records_config *cfg, est_records **out)
    void est_records_destroy(est_records *r)
    est_status est_records_feed(est_records *r, const void *data, size_t len, int eof)
    est_status est_records_next(est_records *r, uint64_t max_records, size_t max_bytes,
                                est_records_chunk *out)
    est_status est_records_skip(est_records *r, uint64_t n, uint64_t *skipped)
    uint64_t est_records_position(const est_records *r)
    int est_records_error_kind(const est_records *r)
    int est_records_errno(const est_records *r)
    void est_records_error(const est_records *r, char *buf, size_t len)


cdef extern from "estcore/est_csv.h" nogil:
    enum:
        EST_CSV_INT32
        EST_CSV_INT64
        EST_CSV_FLOAT
        EST_CSV_DOUBLE
        EST_CSV_STRING
        EST_CSV_DEFAULT
        EST_CSV_ESCAPED
        EST_CSV_MAX_THREADS

    ctypedef struct est_csv_field:
        uint32_t offset
        uint32_t length
        int32_t flags

    ctypedef union est_csv_default:
        int32_t i32
        int64_t i64
        float f32
        double f64

    ctypedef struct est_csv_column:
        int type
        int has_default
        est_csv_default default "def"
        void *out

    ctypedef struct est_csv_config:
        char delim
        int use_quote
        const char *na_value
        size_t na_len
        const int64_t *select_cols
        int num_threads
        int full_path_only

    ctypedef struct est_csv_error:
        int64_t record
        char message[320]

    est_status est_csv_parse(const est_csv_config *cfg, const char *const *records,
                             const size_t *lengths, size_t n, const est_csv_column *cols,
                             int ncols, est_csv_error *err)
    est_status est_csv_numbers(const char *const *strings, const size_t *lengths, size_t n,
                               int type, void *out, int64_t *bad)


cdef extern from "estcore/est_example.h" nogil:
    enum:
        EST_EXAMPLE_BYTES
        EST_EXAMPLE_FLOAT
        EST_EXAMPLE_INT64
        EST_EXAMPLE_MAX_THREADS

    ctypedef struct est_example_span:
        uint64_t offset
        uint64_t length

    ctypedef struct est_example_key:
        const char *name
        size_t name_len
        int kind
        uint64_t count
        void *out

    est_status est_example_parse(const char *const *records, const size_t *lengths, size_t n,
                                 const est_example_key *keys, int nkeys, unsigned char *found,
                                 int num_threads, int64_t *bad)
    est_status est_example_parse_varlen(const char *const *records, const size_t *lengths,
                                        size_t n, const est_example_key *keys, int nkeys,
                                        unsigned char *found, int64_t *counts,
                                        const uint64_t *strides, int num_threads, int64_t *bad)
