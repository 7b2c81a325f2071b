# _pipeline.pxd -- est_sampler.h, est_stream.h and est_crc32c.h mirrored for Cython (the
# contracts -- ownership, locking, blocking -- are in those headers).
from libc.stdint cimport int64_t, uint32_t, uint64_t

from estcore._lib._status cimport est_status


cdef extern from "estcore/est_sampler.h" nogil:
    ctypedef struct est_sampler:
        uint64_t num_rows
        uint64_t seed
        int shuffle

    est_status est_sampler_init(uint64_t num_rows, uint64_t seed, int shuffle, est_sampler *out)
    uint64_t est_sampler_row(const est_sampler *s, uint64_t epoch, uint64_t i)
    void est_sampler_fill(const est_sampler *s, uint64_t first, uint64_t count, uint64_t *out)
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
