/* est_baseline.c -- the benchmark's "physical limit" reference (est_stream.h):
 * a plain memcpy loop over given row indices into one reused buffer per thread,
 * with no sampler, pool, window or hand-off. */
#include "estcore/est_stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct baseline_job {
    const char *src;
    size_t row_bytes;
    const uint64_t *idx;
    uint64_t num_idx, batch_size;
    int thread, num_threads;
    char *buf;
} baseline_job;

static void *baseline_main(void *arg) {
    baseline_job *j = arg;
    uint64_t num_batches = (j->num_idx + j->batch_size - 1) / j->batch_size;
    for (uint64_t b = (uint64_t)j->thread; b < num_batches; b += (uint64_t)j->num_threads) {
        uint64_t lo = b * j->batch_size;
        uint64_t hi = lo + j->batch_size < j->num_idx ? lo + j->batch_size : j->num_idx;
        char *out = j->buf;
        for (uint64_t i = lo; i < hi; i++) {
            memcpy(out, j->src + j->idx[i] * j->row_bytes, j->row_bytes);
            out += j->row_bytes;
        }
    }
    return NULL;
}

est_status est_gather_baseline(const char *src, size_t row_bytes, const uint64_t *idx,
                               uint64_t num_idx, uint64_t batch_size, int num_threads) {
    if (src == NULL || idx == NULL || batch_size == 0 || num_threads < 1 ||
        num_threads > EST_STREAM_MAX_THREADS || (row_bytes && batch_size > SIZE_MAX / row_bytes))
        return EST_ERR_INVALID_ARGUMENT;
    baseline_job *jobs = calloc((size_t)num_threads, sizeof *jobs);
    pthread_t *threads = calloc((size_t)num_threads, sizeof *threads);
    est_status st = (jobs && threads) ? EST_OK : EST_ERR_OUT_OF_MEMORY;
    int started = 0;
    for (int t = 0; st == EST_OK && t < num_threads; t++) {
        jobs[t] = (baseline_job){src, row_bytes, idx, num_idx, batch_size, t, num_threads, NULL};
        jobs[t].buf = malloc(batch_size * row_bytes + 1);
        if (jobs[t].buf == NULL) {
            st = EST_ERR_OUT_OF_MEMORY;
            break;
        }
        memset(jobs[t].buf, 0, batch_size * row_bytes + 1);  /* fault the pages in up front */
    }
    for (int t = 0; st == EST_OK && t < num_threads; t++) {
        if (pthread_create(&threads[t], NULL, baseline_main, &jobs[t]) != 0)
            st = EST_ERR_THREAD;
        else
            started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (jobs)
        for (int t = 0; t < num_threads; t++)
            free(jobs[t].buf);
    free(jobs);
    free(threads);
    return st;
}
