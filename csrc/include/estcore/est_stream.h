/* est_stream.h -- the threaded batch stream behind numpy_input_fn.
 *
 * Second half of the input pipeline (the first half is est_sampler.h). A
 * stream owns num_threads worker threads that copy rows of borrowed source
 * columns into pooled batch slabs, and hands the slabs to one consumer in
 * batch order.
 *
 * WHAT IS PRODUCED
 *   Batch k (k = start_batch, start_batch + 1, ...) holds the rows
 *   est_sampler_fill(first, count) where (first, count) = est_batch_span(k)
 *   (see est_sampler.h: consecutive windows of epoch0 ++ epoch1 ++ ...,
 *   optionally one shard of each window). Its content depends only on
 *   (seed, shuffle, num_rows, batch_size, num_epochs, k, shard) -- never on
 *   num_threads or timing -- and the consumer receives batches in increasing k.
 *   With an explicit `order` (finite streams), global position g is row order[g]
 *   instead of the sampler's (tf.data's buffer shuffle, est_shuffle_buffer_order);
 *   seed and shuffle are then unused.
 *
 * OWNERSHIP
 *   - The order table (cfg.order), when given: borrowed like the columns, read
 *     by the workers; num_rows * num_epochs entries, each < num_rows (checked
 *     by est_stream_create).
 *   - Source columns (est_column.data): borrowed. The caller keeps them alive
 *     and unmodified from est_stream_create until est_stream_close returns
 *     (the Cython seam holds the numpy arrays for the stream's lifetime).
 *     Workers only read them.
 *   - Batch slabs: allocated by the stream (posix_memalign, 64-byte aligned
 *     columns) and recycled through a pool. A slab is, at any moment, in
 *     exactly one place: the free list, a worker (being filled), the reorder
 *     window (ready, not yet taken), or the consumer (after
 *     est_stream_next, until est_slab_release). The consumer may hold any
 *     number of slabs, also after est_stream_close/destroy: every handed-out
 *     slab holds a reference on the stream's core, and the core is freed when
 *     the owner has destroyed the stream and the last slab is released.
 *   - Pool size: slabs are allocated lazily. A released slab goes back to a
 *     free list while the number of live slabs is at most in_flight + 2
 *     (enough for the window plus a consumer holding the current and the
 *     previous batch); beyond that it is freed. So a consumer that keeps old
 *     batches alive never deadlocks the pool -- workers allocate more slabs --
 *     and the extra memory goes back when those batches are released. In the
 *     steady state of a plain loop, nothing is allocated per batch.
 *   - Slab reuse (cache locality): every worker has its own free list, most
 *     recently used first, and a released slab goes back to the list of the
 *     worker that filled it last. A worker refills its own most recent slab
 *     (still in its core's L2, so the row writes hit cache instead of
 *     fetching each line for ownership from L3 or from another core); with
 *     its list empty it allocates while the pool is below in_flight + 2 and
 *     otherwise takes another worker's most recent idle slab. Measured on a
 *     2-core VM (C consumer, 2 workers): 0.73 -> 0.99 of the C gather; the
 *     same rows copied into a ring of 1, 2, 3, 4, 10 buffers cost 1.00, 1.02,
 *     1.11, 1.16, 1.19 x the time (2 MiB L2, 400 KiB batches). A consumer
 *     that keeps batch k until it has batch k + 1 (a Python `for` loop: the
 *     loop variables hold it) makes one worker cycle at least 3 slabs, one
 *     that drops each batch before asking for the next only 2; that is the
 *     gap between 0.84-0.93 and 0.92-1.06 of the C gather with one worker
 *     (csrc/pipeline/tests/bench_stream.c measures it without Python).
 *   - Slab cache: memory of freed slabs goes to a process-wide cache (at most
 *     EST_SLAB_CACHE_BYTES, matched by exact size, its own mutex) so the next
 *     stream of the same shapes starts on pages that are already faulted in.
 *     est_slab_cache_trim() frees it.
 *
 * BOUNDS
 *   in_flight = max(ceil(queue_capacity / per-batch rows), num_threads)
 *   batches may be taken by workers and not yet by the consumer; workers block
 *   (on a condition variable) when that many are ahead. queue_capacity counts
 *   rows as in TF; the window is at least one batch per worker.
 *
 * LOCKING
 *   One mutex per stream (s->lock) guards every shared field: the batch
 *   counters, the reorder window, the free list, the error, closed, the
 *   waiter counts and the slab count. `closing` is also an atomic
 *   that workers read without the lock between rows (relaxed: it only makes
 *   a worker stop early; every decision that matters re-reads it under the
 *   lock). The only other lock is the slab cache's (process-wide, a leaf):
 *   a stream lock may be held while taking it, never the reverse. Workers
 *   never hold a stream lock while copying rows or allocating.
 *
 * BLOCKING AND COST
 *   - est_stream_next blocks on a condition variable for at most timeout_ms
 *     (the seam passes 100 ms and polls for signals between calls, with the
 *     GIL released). A hand-off of a ready batch is one lock/unlock: ~0.1 us.
 *   - Wake-ups are coalesced: a waiting consumer is woken when
 *     wake_batch = min(in_flight, num_threads) batches are ready in order (or sooner when no more can come: window full, all
 *     batches taken, a worker stopped); workers waiting for room are woken when
 *     wake_batch slots are free or the consumer is about to wait. So one
 *     futex wake serves a round of the workers, which matters on a 2-core
 *     machine; a larger wake_batch measured slower (slabs go cold in cache).
 *     On the hot path (a worker publishing a batch, the consumer taking one)
 *     the signal is sent after the mutex is unlocked, so the woken thread
 *     does not block again on the mutex the signaller still holds; signals
 *     before a wait or at exit are sent under the lock.
 *   - Workers never spin: they wait on condition variables for room in the
 *     window; est_stream_close wakes every waiter.
 *   - est_stream_close joins every worker; it returns promptly because
 *     workers check `closing` every few rows.
 *
 * ERRORS
 *   A worker that fails (out of memory, test hook) records the first
 *   failure (status + message + batch index) and stops taking batches. The
 *   consumer still receives every batch before the failed one, then gets the
 *   status from est_stream_next (and est_stream_error for the message).
 *
 * FORK
 *   Worker threads do not exist in a fork()ed child and the lock may be held.
 *   A pthread_atfork handler bumps a process-wide generation counter; every
 *   entry point compares it with the stream's and returns
 *   EST_ERR_FAILED_PRECONDITION in the child without touching the lock.
 *   est_stream_destroy and est_slab_release in a child leak instead of
 *   freeing (freeing could meet a lock held by a thread that no longer exists).
 *
 * THREADS
 *   est_stream_next and est_stream_state must be called by one consumer
 *   thread at a time. est_stream_close may be called from any thread, also
 *   while the consumer is blocked in est_stream_next (which then returns
 *   EST_ERR_CANCELLED). est_slab_release may run on any thread.
 *   est_stream_destroy must not run concurrently with any other call on the
 *   same stream.
 */
#ifndef ESTCORE_EST_STREAM_H
#define ESTCORE_EST_STREAM_H

#include "estcore/est_common.h"
#include "estcore/est_sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EST_STREAM_MAX_DIMS 16    /* per-example dims after collapsing contiguous ones */
#define EST_STREAM_MAX_THREADS 256
#define EST_STREAM_MAX_COLUMNS 4096
#define EST_STREAM_ERROR_LEN 256
#define EST_SLAB_CACHE_BYTES ((size_t)64 << 20)  /* idle slab memory kept process-wide */

/* One source array: num_rows rows of ndim - 1 per-example dims. Strides are in
 * bytes and may be negative or zero (numpy broadcasts). Borrowed; see OWNERSHIP. */
typedef struct est_column {
    const char *data;        /* address of element [0, 0, ..., 0] */
    size_t itemsize;         /* bytes per element, >= 1 */
    int ndim;                /* >= 1; dimension 0 is the row */
    const int64_t *shape;    /* ndim entries; shape[0] == config num_rows; read during create only */
    const int64_t *strides;  /* ndim entries, bytes; read during create only */
} est_column;

typedef struct est_stream_config {
    uint64_t num_rows;        /* N >= 1, shape[0] of every column */
    uint64_t batch_size;      /* >= 1 rows per global batch */
    uint64_t num_epochs;      /* 0 = endless; else total = N * num_epochs (must fit in 63 bits) */
    uint64_t seed;
    int shuffle;              /* 0 or 1 */
    int num_threads;          /* 1 .. EST_STREAM_MAX_THREADS */
    uint64_t queue_capacity;  /* rows buffered ahead, >= 1 (see BOUNDS) */
    uint64_t start_batch;     /* first batch index to produce (resume) */
    uint32_t shard_index;     /* 0 <= shard_index < num_shards; (0, 1) = whole batches */
    uint32_t num_shards;
    const uint64_t *order;    /* NULL: the sampler's order; else num_rows * num_epochs row
                                 indices (num_epochs >= 1), borrowed (see OWNERSHIP) */
    /* Test hooks (0 / -1 in production): */
    int64_t fail_at_batch;    /* >= 0: filling this batch fails with EST_ERR_INTERNAL */
    uint32_t delay_us;        /* each worker waits this long (interruptibly) per batch */
} est_stream_config;

/* Defaults: batch 128, 1 epoch, no shuffle, 1 thread, capacity 1000, whole batches, no hooks. */
void est_stream_config_default(est_stream_config *cfg);

typedef struct est_stream est_stream;
typedef struct est_slab est_slab;

/* Validate, allocate the core and start the workers. Columns are copied
 * (shape/strides collapsed) so the arrays est_column points to may be freed
 * after the call; the data itself must live on (see OWNERSHIP).
 * Errors: EST_ERR_INVALID_ARGUMENT (bad config/column: zero rows, shapes
 * disagreeing with num_rows, too many dims after collapsing, overflow),
 * EST_ERR_OUT_OF_MEMORY, EST_ERR_THREAD (pthread_create failed; started
 * workers are joined). On error *out is NULL. Cost: O(columns + threads). */
est_status est_stream_create(const est_stream_config *cfg, const est_column *columns,
                             int num_columns, est_stream **out);

/* Take the next batch in order. On EST_OK, *slab holds `*rows` rows of batch
 * `*batch_index` and belongs to the caller until est_slab_release.
 * Returns EST_ERR_TIMEOUT after timeout_ms without a batch (call again),
 * EST_ERR_OUT_OF_RANGE at the end of a finite stream (also after close),
 * EST_ERR_CANCELLED after est_stream_close (before the end), a worker's status after a worker failed (see ERRORS),
 * EST_ERR_FAILED_PRECONDITION after fork. timeout_ms < 0 waits forever. */
est_status est_stream_next(est_stream *s, int64_t timeout_ms, est_slab **slab,
                           uint64_t *batch_index, uint64_t *rows);

/* Stop and join every worker, drop ready batches back to the pool and free
 * the pool's idle slabs. Idempotent. Slabs held by the consumer stay valid.
 * Blocks until every worker has exited (at most one row copy each). */
est_status est_stream_close(est_stream *s);

/* Close (if needed) and give up the owner's reference; the core is freed now or
 * when the last handed-out slab is released. NULL is a no-op. */
void est_stream_destroy(est_stream *s);

/* Index of the next batch the consumer will receive (absolute: start_batch plus
 * the batches taken so far). Takes the lock. */
uint64_t est_stream_position(est_stream *s);

/* Copy the first worker failure's message (or "") into buf (NUL-terminated). */
void est_stream_error(est_stream *s, char *buf, size_t len);

/* Byte offset of column c inside every slab of this stream (64-byte aligned),
 * and the number of worker threads currently alive (for tests). */
size_t est_stream_column_offset(const est_stream *s, int c);
/* Bytes of one example of column c (itemsize * per-example element count). */
size_t est_stream_row_bytes(const est_stream *s, int c);
int est_stream_live_workers(est_stream *s);
/* Slabs currently allocated (free + filling + ready + handed out), for tests. */
uint64_t est_stream_slab_count(est_stream *s);

/* Free every slab in the process-wide cache (any thread, any time), and the
 * bytes it holds now. */
void est_slab_cache_trim(void);
size_t est_slab_cache_bytes(void);

/* Start of a slab's memory. Valid until est_slab_release. */
char *est_slab_data(est_slab *slab);

/* Give a slab back: to the pool, or freed (see Pool size). May be called after
 * est_stream_close/destroy and from any thread. Cost: one lock/unlock. */
void est_slab_release(est_slab *slab);

/* Process-wide: a function every stream worker calls with +1 as it starts filling a
 * batch and with -1 when it is done (NULL, the default: none). It lets the kernels'
 * thread pool tell this process's own input work from other load (est_note_own_burst
 * in est_threadpool.h, a separate library: the Python seam passes the pointer). Set it
 * before streams start or while none runs; the hook must be lock-free and must not
 * call back into the stream. */
typedef void (*est_burst_fn)(int delta);
void est_stream_set_burst_hook(est_burst_fn hook);

/* Benchmark reference ("physical limit"): copy num_idx rows of a C-contiguous
 * [*, row_bytes] array, in the order idx gives, batch_size rows at a time into
 * one reused buffer per thread; thread t does batches t, t + T, ...
 * Returns EST_ERR_INVALID_ARGUMENT, EST_ERR_OUT_OF_MEMORY or EST_ERR_THREAD. */
est_status est_gather_baseline(const char *src, size_t row_bytes, const uint64_t *idx,
                               uint64_t num_idx, uint64_t batch_size, int num_threads);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_STREAM_H */
