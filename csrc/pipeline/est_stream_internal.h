/* est_stream_internal.h -- shared between est_stream.c, est_gather.c and
 * est_slab_cache.c; not a public header (internal names start with est__). */
#ifndef ESTCORE_EST_STREAM_INTERNAL_H
#define ESTCORE_EST_STREAM_INTERNAL_H

#include "estcore/est_stream.h"

#define SLAB_HEADER 64  /* slab header size; slab data starts 64-byte aligned after it */

/* One source column after collapsing its per-example dims (immutable after create). */
typedef struct est__column {
    const char *data;
    int64_t row_stride;
    size_t row_bytes;
    size_t chunk;        /* contiguous bytes copied at a time (== row_bytes when ndim == 0) */
    int ndim;            /* per-example dims left after collapsing */
    int64_t shape[EST_STREAM_MAX_DIMS];
    int64_t strides[EST_STREAM_MAX_DIMS];
    size_t offset;       /* in the slab */
} est__column;

/* Validate one est_column against num_rows and collapse it into *c.
 * EST_ERR_INVALID_ARGUMENT when malformed or > EST_STREAM_MAX_DIMS dims remain. */
est_status est__prepare_column(const est_column *in, uint64_t num_rows, est__column *c);

/* Copy rows[lo..hi) of column c into out (row lo first), C order. Pure; any thread. */
void est__gather_rows(const est__column *c, const uint64_t *rows, uint64_t lo, uint64_t hi,
                      char *out);

/* Slab memory from / to the process-wide cache (64-byte aligned; NULL if out of
 * memory). Take the cache's own lock; callers may hold a stream lock. */
void *est__slab_mem_get(size_t bytes);
void est__slab_mem_put(void *mem, size_t bytes);
/* Reset the cache in a fork child (called by the atfork child handler). */
void est__slab_cache_after_fork(void);

#endif /* ESTCORE_EST_STREAM_INTERNAL_H */
