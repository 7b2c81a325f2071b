/* est_stream.c -- worker threads, slab pool and in-order hand-off; see est_stream.h.
 *
 * Lock order: s->lock (one per stream) before the slab cache's lock
 * (est_slab_cache.c, a leaf: nothing is locked while it is held). s->lock is never held
 * while copying rows, allocating slabs or joining threads. The process-wide
 * fork generation is an atomic, not a lock; so is the burst hook (g_burst_hook, set
 * by est_stream_set_burst_hook), which workers call with no lock held.
 */
#include "estcore/est_stream.h"
#include "est_stream_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOSE_CHECK_ROWS 64   /* workers look at `closing` every this many rows */

/* ---- fork detection ---------------------------------------------------- */

/* Process-wide and mutable: bumped (atomically, no lock needed) in the child
 * after fork(). A stream remembers the value it was created under. */
static atomic_ulong fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_result;  /* written once inside pthread_once, read after it */

static void on_fork_child(void) {
    atomic_fetch_add(&fork_generation, 1);
    est__slab_cache_after_fork();
}
static void register_atfork(void) { atfork_result = pthread_atfork(NULL, NULL, on_fork_child); }

/* ---- types ------------------------------------------------------------- */

struct est_slab {
    est_stream *owner;
    est_slab *next;      /* free-list link; guarded by owner->lock */
    int home;            /* worker that filled it last; its free list takes it back */
};

typedef struct worker {
    est_stream *s;
    uint64_t *rows;      /* per-batch row indices; this worker's own */
    est_slab *free_list; /* idle slabs this worker filled last, most recent first; s->lock */
    int index;
    pthread_t thread;
} worker;

struct est_stream {
    /* Immutable after create (read by any thread without the lock). */
    est_stream_config cfg;
    est_sampler sampler;
    unsigned long generation;
    uint64_t total;           /* examples in the stream; UINT64_MAX when endless */
    uint64_t end_batch;       /* first batch index past the end; UINT64_MAX when endless */
    uint64_t slab_rows;       /* most rows one batch (or shard of one) can hold */
    size_t slab_bytes;
    uint64_t in_flight;       /* window size, see BOUNDS */
    uint64_t pool_target;     /* live slabs kept for reuse */
    uint64_t wake_batch;      /* wake a waiting consumer once this many batches are ready */
    int ncols;
    est__column *cols;
    int nthreads;
    worker *workers;

    pthread_mutex_t lock;
    pthread_cond_t ready_cond;  /* consumer waits: batch ready, error, close, join done */
    pthread_cond_t room_cond;   /* workers wait: room in the window, close, delay hook */

    /* Guarded by lock. */
    uint64_t next_batch;      /* next index a worker takes */
    uint64_t consumed;        /* next index the consumer takes */
    est_slab **window;        /* in_flight entries; batch k at k % in_flight */
    uint64_t *window_rows;
    uint64_t slabs_free;      /* slabs on the workers' free lists */
    uint64_t slabs_live;      /* allocated slabs anywhere (free, filling, ready, handed out) */
    int owner_alive;          /* 0 after est_stream_destroy */
    int closed;
    int join_claimed, joined;
    int live_workers;
    int consumer_waiting;
    int room_waiters;
    est_status error;
    uint64_t error_batch;
    char error_msg[EST_STREAM_ERROR_LEN];

    /* Written under lock, read without it by workers between rows (relaxed:
     * only a hint to stop early; decisions re-read `closed` under the lock). */
    atomic_int closing;
};

/* ---- small helpers ----------------------------------------------------- */

static int in_child(const est_stream *s) {
    return atomic_load(&fork_generation) != s->generation;
}

static void deadline_after(struct timespec *ts, int64_t ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

static void lock(est_stream *s) {
    if (pthread_mutex_lock(&s->lock) != 0)
        abort();  /* broken invariant: the mutex is valid for the stream's life */
}

static void unlock(est_stream *s) {
    if (pthread_mutex_unlock(&s->lock) != 0)
        abort();
}

static void free_stream(est_stream *s) {
    pthread_cond_destroy(&s->room_cond);
    pthread_cond_destroy(&s->ready_cond);
    pthread_mutex_destroy(&s->lock);
    if (s->workers) {
        for (int t = 0; t < s->nthreads; t++)
            free(s->workers[t].rows);
        free(s->workers);
    }
    free(s->window);
    free(s->window_rows);
    free(s->cols);
    free(s);
}

/* s->lock held. Frees one slab that is not handed out; the owner is alive. */
static void drop_slab_locked(est_stream *s, est_slab *slab) {
    est__slab_mem_put(slab, SLAB_HEADER + s->slab_bytes);
    s->slabs_live--;
}

/* s->lock held. Put an idle slab on its home worker's free list (head: the most
 * recently used slab is refilled first, while it is still in that core's cache). */
static void push_free_locked(est_stream *s, est_slab *slab) {
    worker *home = &s->workers[slab->home];
    slab->next = home->free_list;
    home->free_list = slab;
    s->slabs_free++;
}

/* s->lock held. An idle slab for worker w, or NULL when a new one should be
 * allocated: w's own most recent slab (cache-hot in w's core); else a new one
 * while the pool is below pool_target (so each worker settles on its own
 * small set); else another worker's most recent idle slab. */
static est_slab *pop_free_locked(est_stream *s, worker *w) {
    worker *from = w;
    if (w->free_list == NULL) {
        if (s->slabs_free == 0 || s->slabs_live < s->pool_target)
            return NULL;
        for (int i = 1; i < s->nthreads; i++) {
            from = &s->workers[(w->index + i) % s->nthreads];
            if (from->free_list != NULL)
                break;
        }
    }
    est_slab *slab = from->free_list;
    from->free_list = slab->next;
    s->slabs_free--;
    slab->home = w->index;
    return slab;
}

/* s->lock held, workers joined (or never started): free every idle slab. */
static void drop_free_lists_locked(est_stream *s) {
    for (int t = 0; t < s->nthreads; t++) {
        worker *w = &s->workers[t];
        while (w->free_list != NULL) {
            est_slab *next = w->free_list->next;
            drop_slab_locked(s, w->free_list);
            w->free_list = next;
        }
    }
    s->slabs_free = 0;
}

/* Fill one slab with batch k. Returns EST_OK, EST_ERR_CANCELLED (closing seen;
 * the slab is garbage) or a failure with msg filled. */
static est_status fill_batch(est_stream *s, worker *w, uint64_t k, est_slab *slab,
                             uint64_t *rows_out, char *msg, size_t msglen) {
    uint64_t first, count;
    est_status st = est_batch_span(s->cfg.batch_size, s->total, k, s->cfg.shard_index,
                                   s->cfg.num_shards, &first, &count);
    if (st != EST_OK) {
        snprintf(msg, msglen, "batch %llu has no rows (stream total %llu)",
                 (unsigned long long)k, (unsigned long long)s->total);
        return EST_ERR_INTERNAL;
    }
    if (s->cfg.fail_at_batch >= 0 && (uint64_t)s->cfg.fail_at_batch == k) {
        snprintf(msg, msglen, "injected failure while filling batch %llu (test hook)",
                 (unsigned long long)k);
        return EST_ERR_INTERNAL;
    }
    const uint64_t *rows = w->rows;
    if (s->cfg.order != NULL)
        rows = s->cfg.order + first;  /* the caller's table (est_stream_create checked it) */
    else
        est_sampler_fill(&s->sampler, first, count, w->rows);
    char *base = (char *)slab + SLAB_HEADER;
    for (int ci = 0; ci < s->ncols; ci++) {
        const est__column *c = &s->cols[ci];
        for (uint64_t lo = 0; lo < count; lo += CLOSE_CHECK_ROWS) {
            if (atomic_load_explicit(&s->closing, memory_order_relaxed))
                return EST_ERR_CANCELLED;
            uint64_t hi = lo + CLOSE_CHECK_ROWS < count ? lo + CLOSE_CHECK_ROWS : count;
            est__gather_rows(c, rows, lo, hi, base + c->offset + lo * c->row_bytes);
        }
    }
    *rows_out = count;
    return EST_OK;
}

/* s->lock held. Test hook: wait delay_us, waking early on close. */
static void hook_delay_locked(est_stream *s) {
    struct timespec until;
    deadline_after(&until, 0);
    until.tv_sec += (time_t)(s->cfg.delay_us / 1000000u);
    until.tv_nsec += (long)(s->cfg.delay_us % 1000000u) * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    while (!s->closed) {
        if (pthread_cond_timedwait(&s->room_cond, &s->lock, &until) == ETIMEDOUT)
            break;
    }
}

/* s->lock held. Wake-up coalescing: a waiting consumer is woken once
 * wake_batch batches are ready in order, or sooner when no more will come
 * without it (the window is full, every batch has been taken, or a worker
 * stopped). One futex wake then serves several hand-offs instead of one. */
static int should_wake_consumer_locked(est_stream *s) {
    if (s->window[s->consumed % s->in_flight] == NULL)
        return 0;
    if (s->next_batch - s->consumed >= s->in_flight || s->next_batch >= s->end_batch ||
        s->error != EST_OK || s->closed)
        return 1;
    uint64_t run = 1;
    while (run < s->wake_batch && s->window[(s->consumed + run) % s->in_flight] != NULL)
        run++;
    return run >= s->wake_batch;
}

static _Atomic(est_burst_fn) g_burst_hook; /* est_stream_set_burst_hook */

void est_stream_set_burst_hook(est_burst_fn hook) {
    atomic_store(&g_burst_hook, hook);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    est_stream *s = w->s;
    char msg[EST_STREAM_ERROR_LEN];
    int wake_consumer = 0;  /* a batch was published that the waiting consumer needs */
    lock(s);
    for (;;) {
        /* s->lock held here at the top of every iteration. */
        if (s->closed || s->error != EST_OK || s->next_batch >= s->end_batch)
            break;
        if (s->next_batch - s->consumed >= s->in_flight) {
            if (wake_consumer) {
                pthread_cond_signal(&s->ready_cond);
                wake_consumer = 0;
            }
            s->room_waiters++;
            pthread_cond_wait(&s->room_cond, &s->lock);
            s->room_waiters--;
            continue;
        }
        uint64_t k = s->next_batch++;
        if (s->cfg.delay_us)
            hook_delay_locked(s);
        est_slab *slab = pop_free_locked(s, w);
        if (slab == NULL)
            s->slabs_live++;  /* counted before allocating so the owner stays alive */
        unlock(s);
        /* Signalled after unlocking: the woken consumer does not then block on
         * the mutex this thread still holds (one futex call instead of three). */
        if (wake_consumer) {
            pthread_cond_signal(&s->ready_cond);
            wake_consumer = 0;
        }

        est_burst_fn burst = atomic_load_explicit(&g_burst_hook, memory_order_relaxed);
        if (burst != NULL) burst(1);
        est_status st = EST_OK;
        uint64_t rows = 0;
        if (slab == NULL) {
            void *mem = est__slab_mem_get(SLAB_HEADER + s->slab_bytes);
            if (mem == NULL) {
                st = EST_ERR_OUT_OF_MEMORY;
                snprintf(msg, sizeof msg, "could not allocate a %zu-byte batch buffer",
                         s->slab_bytes);
            } else {
                slab = mem;
                slab->owner = s;
                slab->next = NULL;
                slab->home = w->index;
            }
        }
        if (st == EST_OK)
            st = fill_batch(s, w, k, slab, &rows, msg, sizeof msg);
        if (burst != NULL) burst(-1);

        lock(s);
        if (slab == NULL) {
            s->slabs_live--;
        } else if (st != EST_OK || s->closed) {
            push_free_locked(s, slab);  /* close() frees the free lists after joining */
        } else {
            s->window[k % s->in_flight] = slab;
            s->window_rows[k % s->in_flight] = rows;
            if (s->consumer_waiting && should_wake_consumer_locked(s))
                wake_consumer = 1;
        }
        if (st != EST_OK && st != EST_ERR_CANCELLED) {
            /* Keep the failure of the smallest batch index: the consumer
             * receives every batch before it. */
            if (s->error == EST_OK || k < s->error_batch) {
                s->error = st;
                s->error_batch = k;
                memcpy(s->error_msg, msg, sizeof s->error_msg);
                s->error_msg[sizeof s->error_msg - 1] = '\0';
            }
            pthread_cond_broadcast(&s->ready_cond);
            pthread_cond_broadcast(&s->room_cond);
        }
    }
    s->live_workers--;
    if (s->consumer_waiting || wake_consumer)
        pthread_cond_signal(&s->ready_cond);  /* whatever is ready, nothing more may come */
    unlock(s);
    return NULL;
}

/* ---- create / next / close / destroy ------------------------------------ */

void est_stream_config_default(est_stream_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_size = 128;
    cfg->num_epochs = 1;
    cfg->num_threads = 1;
    cfg->queue_capacity = 1000;
    cfg->num_shards = 1;
    cfg->fail_at_batch = -1;
}

static est_status check_config(const est_stream_config *cfg, int num_columns) {
    if (cfg->num_rows == 0 || cfg->batch_size == 0 || cfg->queue_capacity == 0 ||
        cfg->num_threads < 1 || cfg->num_threads > EST_STREAM_MAX_THREADS ||
        (cfg->shuffle != 0 && cfg->shuffle != 1) || cfg->num_shards == 0 ||
        cfg->shard_index >= cfg->num_shards || num_columns < 1 ||
        num_columns > EST_STREAM_MAX_COLUMNS || cfg->num_rows >= (1ull << 62))
        return EST_ERR_INVALID_ARGUMENT;
    if (cfg->num_epochs != 0 && cfg->num_epochs > (UINT64_MAX >> 1) / cfg->num_rows)
        return EST_ERR_INVALID_ARGUMENT;
    return EST_OK;
}

est_status est_stream_create(const est_stream_config *cfg, const est_column *columns,
                             int num_columns, est_stream **out) {
    if (out == NULL)
        return EST_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (cfg == NULL || columns == NULL)
        return EST_ERR_INVALID_ARGUMENT;
    est_status st = check_config(cfg, num_columns);
    if (st != EST_OK)
        return st;
    pthread_once(&atfork_once, register_atfork);
    if (atfork_result != 0)
        return EST_ERR_INTERNAL;

    est_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return EST_ERR_OUT_OF_MEMORY;
    s->cfg = *cfg;
    s->generation = atomic_load(&fork_generation);
    if (est_sampler_init(cfg->num_rows, cfg->seed, cfg->shuffle, &s->sampler) != EST_OK) {
        free(s);
        return EST_ERR_INVALID_ARGUMENT;
    }
    s->total = cfg->num_epochs ? cfg->num_rows * cfg->num_epochs : UINT64_MAX;
    if (cfg->order != NULL) {  /* an explicit order: finite, every entry a row */
        if (cfg->num_epochs == 0 || s->total / cfg->num_epochs != cfg->num_rows) {
            free(s);
            return EST_ERR_INVALID_ARGUMENT;
        }
        for (uint64_t g = 0; g < s->total; g++) {
            if (cfg->order[g] >= cfg->num_rows) {
                free(s);
                return EST_ERR_INVALID_ARGUMENT;
            }
        }
    }
    s->end_batch = cfg->num_epochs ? (s->total + cfg->batch_size - 1) / cfg->batch_size
                                   : UINT64_MAX;
    s->slab_rows = (cfg->batch_size + cfg->num_shards - 1) / cfg->num_shards;
    uint64_t by_capacity = (cfg->queue_capacity + s->slab_rows - 1) / s->slab_rows;
    s->in_flight = by_capacity > (uint64_t)cfg->num_threads ? by_capacity
                                                           : (uint64_t)cfg->num_threads;
    if (s->in_flight > (1u << 20))
        s->in_flight = 1u << 20;  /* a window of a million batches is plenty */
    s->pool_target = s->in_flight + 2;
    /* One wake-up per round of the workers: with one worker every batch wakes
     * the consumer (measured fastest: the slab written last is still in cache
     * when it is reused); with T workers, every T batches. */
    s->wake_batch = (uint64_t)cfg->num_threads < s->in_flight ? (uint64_t)cfg->num_threads
                                                              : s->in_flight;
    s->next_batch = s->consumed = cfg->start_batch;
    s->ncols = num_columns;
    s->nthreads = cfg->num_threads;
    s->cols = calloc((size_t)num_columns, sizeof *s->cols);
    s->window = calloc(s->in_flight, sizeof *s->window);
    s->window_rows = calloc(s->in_flight, sizeof *s->window_rows);
    s->workers = calloc((size_t)s->nthreads, sizeof *s->workers);
    if (!s->cols || !s->window || !s->window_rows || !s->workers) {
        st = EST_ERR_OUT_OF_MEMORY;
        goto fail_mem;
    }
    size_t offset = 0;
    for (int c = 0; c < num_columns; c++) {
        st = est__prepare_column(&columns[c], cfg->num_rows, &s->cols[c]);
        if (st != EST_OK)
            goto fail_mem;
        size_t rb = s->cols[c].row_bytes;
        if (rb != 0 && s->slab_rows > (SIZE_MAX / 2 - offset) / rb) {
            st = EST_ERR_INVALID_ARGUMENT;
            goto fail_mem;
        }
        s->cols[c].offset = offset;
        offset += (size_t)s->slab_rows * rb;
        offset = (offset + 63u) & ~(size_t)63u;
    }
    s->slab_bytes = offset;
    for (int t = 0; t < s->nthreads; t++) {
        s->workers[t].s = s;
        s->workers[t].index = t;
        s->workers[t].rows = malloc((size_t)s->slab_rows * sizeof(uint64_t));
        if (s->workers[t].rows == NULL) {
            st = EST_ERR_OUT_OF_MEMORY;
            goto fail_mem;
        }
    }

    pthread_condattr_t ca;
    if (pthread_mutex_init(&s->lock, NULL) != 0 || pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&s->ready_cond, &ca) != 0 || pthread_cond_init(&s->room_cond, &ca) != 0)
        abort();  /* cannot fail on Linux with these attributes */
    pthread_condattr_destroy(&ca);
    s->owner_alive = 1;
    atomic_store(&s->closing, 0);

    lock(s);
    for (int t = 0; t < s->nthreads; t++) {
        if (pthread_create(&s->workers[t].thread, NULL, worker_main, &s->workers[t]) != 0) {
            s->nthreads = t;  /* join only those that started */
            unlock(s);
            est_stream_destroy(s);
            return EST_ERR_THREAD;
        }
        s->live_workers++;
    }
    unlock(s);
    *out = s;
    return EST_OK;

fail_mem:
    if (s->workers)
        for (int t = 0; t < s->nthreads; t++)
            free(s->workers[t].rows);
    free(s->workers);
    free(s->window);
    free(s->window_rows);
    free(s->cols);
    free(s);
    return st;
}

est_status est_stream_next(est_stream *s, int64_t timeout_ms, est_slab **slab,
                           uint64_t *batch_index, uint64_t *rows) {
    if (s == NULL || slab == NULL || batch_index == NULL || rows == NULL)
        return EST_ERR_INVALID_ARGUMENT;
    if (in_child(s))
        return EST_ERR_FAILED_PRECONDITION;
    *slab = NULL;
    struct timespec until;
    int have_deadline = 0;
    int wake_workers = 0;
    est_status st;
    lock(s);
    for (;;) {
        if (s->consumed >= s->end_batch) {  /* exhausted stays exhausted, closed or not */
            st = EST_ERR_OUT_OF_RANGE;
            break;
        }
        if (s->closed) {
            st = EST_ERR_CANCELLED;
            break;
        }
        uint64_t at = s->consumed % s->in_flight;
        if (s->window[at] != NULL) {
            *slab = s->window[at];
            *rows = s->window_rows[at];
            *batch_index = s->consumed;
            s->window[at] = NULL;
            s->consumed++;
            /* Coalesced like the consumer's wake-ups: workers waiting for room
             * are woken once wake_batch slots are free (or below, before the
             * consumer itself waits). */
            wake_workers = s->room_waiters > 0 &&
                           s->in_flight - (s->next_batch - s->consumed) >= s->wake_batch;
            st = EST_OK;
            break;
        }
        if (s->error != EST_OK && s->consumed >= s->error_batch) {
            st = s->error;
            break;
        }
        if (timeout_ms == 0) {
            st = EST_ERR_TIMEOUT;
            break;
        }
        if (s->room_waiters > 0)
            pthread_cond_broadcast(&s->room_cond);  /* never sleep while workers could run */
        s->consumer_waiting = 1;
        int rc;
        if (timeout_ms < 0) {
            rc = pthread_cond_wait(&s->ready_cond, &s->lock);
        } else {
            if (!have_deadline) {
                deadline_after(&until, timeout_ms);
                have_deadline = 1;
            }
            rc = pthread_cond_timedwait(&s->ready_cond, &s->lock, &until);
        }
        s->consumer_waiting = 0;
        if (rc == ETIMEDOUT)
            timeout_ms = 0;  /* look once more, then report the timeout */
    }
    unlock(s);
    /* After unlocking, so the woken workers do not block on the mutex. The
     * stream outlives this call (destroy never runs concurrently with next). */
    if (wake_workers)
        pthread_cond_broadcast(&s->room_cond);
    return st;
}

est_status est_stream_close(est_stream *s) {
    if (s == NULL)
        return EST_ERR_INVALID_ARGUMENT;
    if (in_child(s))
        return EST_ERR_FAILED_PRECONDITION;
    lock(s);
    s->closed = 1;
    atomic_store_explicit(&s->closing, 1, memory_order_relaxed);
    pthread_cond_broadcast(&s->room_cond);
    pthread_cond_broadcast(&s->ready_cond);
    if (s->join_claimed) {
        /* Another thread is joining (or has joined): wait for it to finish. */
        while (!s->joined)
            pthread_cond_wait(&s->ready_cond, &s->lock);
        unlock(s);
        return EST_OK;
    }
    s->join_claimed = 1;
    unlock(s);

    for (int t = 0; t < s->nthreads; t++)
        pthread_join(s->workers[t].thread, NULL);

    lock(s);
    for (uint64_t i = 0; i < s->in_flight; i++) {
        if (s->window[i] != NULL) {
            drop_slab_locked(s, s->window[i]);
            s->window[i] = NULL;
        }
    }
    drop_free_lists_locked(s);
    s->joined = 1;
    pthread_cond_broadcast(&s->ready_cond);
    unlock(s);
    return EST_OK;
}

void est_stream_destroy(est_stream *s) {
    if (s == NULL || in_child(s))
        return;  /* in a fork child: leak (see FORK) */
    est_stream_close(s);
    lock(s);
    s->owner_alive = 0;
    int last = s->slabs_live == 0;
    unlock(s);
    if (last)
        free_stream(s);
}

void est_slab_release(est_slab *slab) {
    if (slab == NULL)
        return;
    est_stream *s = slab->owner;
    if (in_child(s))
        return;  /* leak in a fork child (see FORK) */
    lock(s);
    int last = 0;
    if (!s->closed && s->slabs_live <= s->pool_target) {
        push_free_locked(s, slab);
    } else {
        est__slab_mem_put(slab, SLAB_HEADER + s->slab_bytes);
        s->slabs_live--;
        last = !s->owner_alive && s->slabs_live == 0;
    }
    unlock(s);
    if (last)
        free_stream(s);
}

char *est_slab_data(est_slab *slab) { return (char *)slab + SLAB_HEADER; }

uint64_t est_stream_position(est_stream *s) {
    if (in_child(s))
        return s->consumed;  /* no other thread exists in a fork child; the lock may be stuck */
    lock(s);
    uint64_t k = s->consumed;
    unlock(s);
    return k;
}

void est_stream_error(est_stream *s, char *buf, size_t len) {
    if (len == 0)
        return;
    if (in_child(s)) {
        snprintf(buf, len, "%s", "the stream was created in the parent of this forked process");
        return;
    }
    lock(s);
    snprintf(buf, len, "%s", s->error_msg);
    unlock(s);
}

size_t est_stream_column_offset(const est_stream *s, int c) { return s->cols[c].offset; }
size_t est_stream_row_bytes(const est_stream *s, int c) { return s->cols[c].row_bytes; }

int est_stream_live_workers(est_stream *s) {
    lock(s);
    int n = s->live_workers;
    unlock(s);
    return n;
}

uint64_t est_stream_slab_count(est_stream *s) {
    lock(s);
    uint64_t n = s->slabs_live;
    unlock(s);
    return n;
}
