/* test_stream.c -- the threaded stream: exact batch content and order for any
 * thread count, bounded window, close wakes a blocked consumer, shutdown while
 * workers are mid-batch, slabs outliving the stream, error propagation,
 * strided columns, resume and shards, the burst hook. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "estcore/est_stream.h"
#include "est_test.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A column of row ids: data[i] = i (uint64, shape [n]). */
typedef struct ids {
    uint64_t *data;
    int64_t shape[1], strides[1];
    est_column col;
} ids;

static void ids_init(ids *c, uint64_t n) {
    c->data = malloc(n * sizeof(uint64_t));
    CHECK(c->data != NULL);
    for (uint64_t i = 0; i < n; i++)
        c->data[i] = i;
    c->shape[0] = (int64_t)n;
    c->strides[0] = 8;
    c->col = (est_column){(const char *)c->data, 8, 1, c->shape, c->strides};
}

/* Drain a stream and compare every batch with the sampler's rows. */
static uint64_t drain_and_check(const est_stream_config *cfg, est_stream *s) {
    est_sampler sam;
    CHECK_EQ(est_sampler_init(cfg->num_rows, cfg->seed, cfg->shuffle, &sam), EST_OK);
    uint64_t total = cfg->num_epochs ? cfg->num_rows * cfg->num_epochs : UINT64_MAX;
    uint64_t expect_k = cfg->start_batch, got = 0;
    uint64_t *want = malloc(cfg->batch_size * sizeof(uint64_t));
    for (;;) {
        est_slab *slab;
        uint64_t k, rows;
        est_status st = est_stream_next(s, -1, &slab, &k, &rows);
        if (st == EST_ERR_OUT_OF_RANGE)
            break;
        CHECK_EQ(st, EST_OK);
        CHECK_EQ(k, expect_k);
        uint64_t first, count;
        CHECK_EQ(est_batch_span(cfg->batch_size, total, k, cfg->shard_index, cfg->num_shards,
                                &first, &count), EST_OK);
        CHECK_EQ(rows, count);
        est_sampler_fill(&sam, first, count, want);
        const uint64_t *data = (const uint64_t *)(est_slab_data(slab) + est_stream_column_offset(s, 0));
        for (uint64_t j = 0; j < rows; j++)
            CHECK_EQ(data[j], want[j]);
        est_slab_release(slab);
        expect_k++;
        got += rows;
    }
    free(want);
    return got;
}

static void test_order_any_threads(void) {
    ids c;
    ids_init(&c, 1000);
    for (int threads = 1; threads <= 4; threads++) {
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            est_stream_config cfg;
            est_stream_config_default(&cfg);
            cfg.num_rows = 1000;
            cfg.batch_size = 7;
            cfg.num_epochs = 3;
            cfg.shuffle = shuffle;
            cfg.seed = 42;
            cfg.num_threads = threads;
            cfg.queue_capacity = 20;
            est_stream *s;
            CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
            CHECK_EQ(drain_and_check(&cfg, s), 3000);
            /* Asking again after the end keeps saying so. */
            est_slab *slab;
            uint64_t k, rows;
            CHECK_EQ(est_stream_next(s, 0, &slab, &k, &rows), EST_ERR_OUT_OF_RANGE);
            est_stream_destroy(s);
        }
    }
    free(c.data);
}

static void test_resume_and_shards(void) {
    ids c;
    ids_init(&c, 50);
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 50;
    cfg.batch_size = 8;
    cfg.num_epochs = 2;
    cfg.shuffle = 1;
    cfg.seed = 3;
    cfg.num_threads = 2;
    cfg.start_batch = 5;
    est_stream *s;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
    CHECK_EQ(drain_and_check(&cfg, s), 100 - 40);
    est_stream_destroy(s);
    cfg.start_batch = 0;
    cfg.num_shards = 3;
    uint64_t sum = 0;
    for (uint32_t sh = 0; sh < 3; sh++) {
        cfg.shard_index = sh;
        CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
        sum += drain_and_check(&cfg, s);
        est_stream_destroy(s);
    }
    CHECK_EQ(sum, 100);
    free(c.data);
}

static void test_window_bounded(void) {
    ids c;
    ids_init(&c, 100);
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 100;
    cfg.batch_size = 10;
    cfg.num_epochs = 0;       /* endless */
    cfg.num_threads = 3;
    cfg.queue_capacity = 1;   /* window = max(1, threads) = 3 */
    est_stream *s;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
    struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
    CHECK(est_stream_slab_count(s) <= 3);
    /* A consumer keeping every batch makes the pool grow instead of deadlocking. */
    est_slab *kept[40];
    for (int i = 0; i < 40; i++) {
        uint64_t k, rows;
        CHECK_EQ(est_stream_next(s, 5000, &kept[i], &k, &rows), EST_OK);
        CHECK_EQ(k, (uint64_t)i);
    }
    CHECK(est_stream_slab_count(s) >= 40);
    for (int i = 0; i < 40; i++)
        est_slab_release(kept[i]);
    CHECK(est_stream_slab_count(s) <= 3 + 2 + 3);
    est_stream_destroy(s);
    free(c.data);
}

typedef struct blocked_consumer {
    est_stream *s;
    est_status st;
    double waited;
} blocked_consumer;

static void *consume_forever(void *arg) {
    blocked_consumer *b = arg;
    est_slab *slab;
    uint64_t k, rows;
    double t0 = now_s();
    b->st = est_stream_next(b->s, -1, &slab, &k, &rows);
    b->waited = now_s() - t0;
    return NULL;
}

static void test_close_wakes_consumer(void) {
    ids c;
    ids_init(&c, 10);
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 10;
    cfg.num_epochs = 0;
    cfg.num_threads = 2;
    cfg.delay_us = 30u * 1000000u;  /* workers sleep 30 s per batch */
    est_stream *s;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
    est_slab *slab;
    uint64_t k, rows;
    CHECK_EQ(est_stream_next(s, 20, &slab, &k, &rows), EST_ERR_TIMEOUT);
    blocked_consumer b = {s, EST_OK, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, consume_forever, &b) == 0);
    struct timespec pause = {0, 100 * 1000000L};
    nanosleep(&pause, NULL);
    double t0 = now_s();
    CHECK_EQ(est_stream_close(s), EST_OK);
    pthread_join(t, NULL);
    CHECK(now_s() - t0 < 5.0);
    CHECK_EQ(b.st, EST_ERR_CANCELLED);
    CHECK_EQ(est_stream_live_workers(s), 0);
    CHECK_EQ(est_stream_close(s), EST_OK);  /* idempotent */
    est_stream_destroy(s);
    free(c.data);
}

/* Big rows so workers are mid-copy when close() arrives; slabs held by the
 * consumer stay valid after destroy and are released afterwards. */
static void test_shutdown_mid_batch(void) {
    const uint64_t n = 64, row = 1u << 16;
    char *data = malloc(n * row);
    CHECK(data != NULL);
    for (uint64_t i = 0; i < n; i++)
        memset(data + i * row, (int)(i & 0x7f), row);
    int64_t shape[2] = {(int64_t)n, (int64_t)row}, strides[2] = {(int64_t)row, 1};
    est_column col = {data, 1, 2, shape, strides};
    for (int round = 0; round < 20; round++) {
        est_stream_config cfg;
        est_stream_config_default(&cfg);
        cfg.num_rows = n;
        cfg.batch_size = 32;
        cfg.num_epochs = 0;
        cfg.shuffle = 1;
        cfg.seed = (uint64_t)round;
        cfg.num_threads = 1 + round % 3;
        cfg.queue_capacity = 256;
        est_stream *s;
        CHECK_EQ(est_stream_create(&cfg, &col, 1, &s), EST_OK);
        est_slab *held = NULL;
        uint64_t k, rows;
        if (round % 2) {
            CHECK_EQ(est_stream_next(s, -1, &held, &k, &rows), EST_OK);
            CHECK_EQ(rows, 32);
        }
        if (round % 4 == 3)
            est_stream_close(s);
        est_stream_destroy(s);
        if (held) {
            const char *d = est_slab_data(held);
            est_sampler sam;
            CHECK_EQ(est_sampler_init(n, (uint64_t)round, 1, &sam), EST_OK);
            CHECK_EQ((unsigned char)d[row * 5 + 17], est_sampler_row(&sam, 0, 5) & 0x7f);
            est_slab_release(held);  /* frees the core too */
        }
    }
    free(data);
}

static void test_worker_error(void) {
    ids c;
    ids_init(&c, 100);
    for (int threads = 1; threads <= 3; threads++) {
        est_stream_config cfg;
        est_stream_config_default(&cfg);
        cfg.num_rows = 100;
        cfg.batch_size = 4;
        cfg.num_threads = threads;
        cfg.fail_at_batch = 5;
        est_stream *s;
        CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
        est_slab *slab;
        uint64_t k, rows;
        for (uint64_t i = 0; i < 5; i++) {
            CHECK_EQ(est_stream_next(s, -1, &slab, &k, &rows), EST_OK);
            CHECK_EQ(k, i);
            est_slab_release(slab);
        }
        CHECK_EQ(est_stream_next(s, -1, &slab, &k, &rows), EST_ERR_INTERNAL);
        char msg[EST_STREAM_ERROR_LEN];
        est_stream_error(s, msg, sizeof msg);
        CHECK(strstr(msg, "batch 5") != NULL);
        est_stream_destroy(s);
    }
    free(c.data);
}

/* A [n, 3, 4] uint16 array viewed with Fortran-like strides, and with a
 * reversed middle axis: the batch is the C-order copy of the gathered rows. */
static void test_strided_columns(void) {
    enum { N = 30, A = 3, B = 4 };
    uint16_t *buf = malloc(sizeof(uint16_t) * N * A * B);
    /* Fortran layout: element (i, a, b) at i + N * (a + A * b). */
    for (int i = 0; i < N; i++)
        for (int a = 0; a < A; a++)
            for (int b = 0; b < B; b++)
                buf[i + N * (a + A * b)] = (uint16_t)(i * 100 + a * 10 + b);
    int64_t shape[3] = {N, A, B};
    int64_t f_strides[3] = {2, 2 * N, 2 * N * A};
    int64_t r_strides[3] = {2, -2 * N, 2 * N * A};  /* axis 1 reversed */
    for (int variant = 0; variant < 2; variant++) {
        est_column col = {(const char *)buf, 2, 3, shape, variant ? r_strides : f_strides};
        if (variant)
            col.data = (const char *)(buf + N * (A - 1));
        est_stream_config cfg;
        est_stream_config_default(&cfg);
        cfg.num_rows = N;
        cfg.batch_size = 8;
        cfg.shuffle = 1;
        cfg.seed = 11;
        cfg.num_threads = 2;
        est_stream *s;
        CHECK_EQ(est_stream_create(&cfg, &col, 1, &s), EST_OK);
        CHECK_EQ(est_stream_row_bytes(s, 0), 2 * A * B);
        est_sampler sam;
        CHECK_EQ(est_sampler_init(N, 11, 1, &sam), EST_OK);
        est_slab *slab;
        uint64_t k, rows, seen = 0;
        while (est_stream_next(s, -1, &slab, &k, &rows) == EST_OK) {
            const uint16_t *d = (const uint16_t *)(est_slab_data(slab) + est_stream_column_offset(s, 0));
            for (uint64_t j = 0; j < rows; j++) {
                uint64_t r = est_sampler_row(&sam, 0, k * 8 + j);
                for (int a = 0; a < A; a++)
                    for (int b = 0; b < B; b++) {
                        int aa = variant ? A - 1 - a : a;
                        CHECK_EQ(d[j * A * B + a * B + b], r * 100 + aa * 10 + b);
                    }
            }
            seen += rows;
            est_slab_release(slab);
        }
        CHECK_EQ(seen, N);
        est_stream_destroy(s);
    }
    free(buf);
}

static void test_create_rejects(void) {
    ids c;
    ids_init(&c, 10);
    est_stream_config cfg;
    est_stream *s = (est_stream *)&cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 11;  /* disagrees with the column */
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    cfg.num_rows = 10;
    cfg.batch_size = 0;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    cfg.batch_size = 1;
    cfg.num_threads = 0;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    cfg.num_threads = 1;
    cfg.num_epochs = UINT64_MAX / 4;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    cfg.num_epochs = 1;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 0, &s), EST_ERR_INVALID_ARGUMENT);
    /* start past the end: the stream is empty from the start */
    cfg.start_batch = 100;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
    est_slab *slab;
    uint64_t k, rows;
    CHECK_EQ(est_stream_next(s, -1, &slab, &k, &rows), EST_ERR_OUT_OF_RANGE);
    est_stream_destroy(s);
    free(c.data);
}

static void test_baseline(void) {
    ids c;
    ids_init(&c, 100);
    uint64_t idx[250];
    for (int i = 0; i < 250; i++)
        idx[i] = (uint64_t)(i * 37 % 100);
    CHECK_EQ(est_gather_baseline((const char *)c.data, 8, idx, 250, 16, 2), EST_OK);
    CHECK_EQ(est_gather_baseline((const char *)c.data, 8, idx, 250, 0, 2), EST_ERR_INVALID_ARGUMENT);
    free(c.data);
}

static void test_slab_cache(void) {
    est_slab_cache_trim();
    CHECK_EQ(est_slab_cache_bytes(), 0);
    ids c;
    ids_init(&c, 100);
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 100;
    cfg.batch_size = 10;
    est_stream *s;
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
        CHECK_EQ(drain_and_check(&cfg, s), 100);
        est_stream_destroy(s);
        CHECK(est_slab_cache_bytes() > 0);  /* the slabs were kept for the next stream */
        CHECK(est_slab_cache_bytes() <= EST_SLAB_CACHE_BYTES);
    }
    est_slab_cache_trim();
    CHECK_EQ(est_slab_cache_bytes(), 0);
    free(c.data);
}

/* An explicit order table: batches follow it for any thread count and resume point;
 * a table of the wrong length (or endless stream) or with an entry out of range is
 * refused. */
static void test_explicit_order(void) {
    ids c;
    ids_init(&c, 100);
    uint64_t order[300];
    for (int e = 0; e < 3; e++)
        CHECK_EQ(est_shuffle_buffer_order(NULL, 100, 9, (uint64_t)e, order + 100 * e), EST_OK);
    for (int threads = 1; threads <= 3; threads++) {
        for (uint64_t start = 0; start < 3; start++) {
            est_stream_config cfg;
            est_stream_config_default(&cfg);
            cfg.num_rows = 100;
            cfg.batch_size = 7;
            cfg.num_epochs = 3;
            cfg.num_threads = threads;
            cfg.queue_capacity = 15;
            cfg.start_batch = start * 13;
            cfg.order = order;
            est_stream *s;
            CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
            uint64_t pos = cfg.start_batch * 7;
            for (;;) {
                est_slab *slab;
                uint64_t k, rows;
                est_status st = est_stream_next(s, -1, &slab, &k, &rows);
                if (st == EST_ERR_OUT_OF_RANGE)
                    break;
                CHECK_EQ(st, EST_OK);
                const uint64_t *data =
                    (const uint64_t *)(est_slab_data(slab) + est_stream_column_offset(s, 0));
                for (uint64_t j = 0; j < rows; j++)
                    CHECK_EQ(data[j], order[pos + j]);
                pos += rows;
                est_slab_release(slab);
            }
            CHECK_EQ(pos, 300);
            est_stream_destroy(s);
        }
    }
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 100;
    cfg.order = order;
    cfg.num_epochs = 0;
    est_stream *s;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    cfg.num_epochs = 3;
    order[250] = 100;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_ERR_INVALID_ARGUMENT);
    free(c.data);
}

/* The burst hook: every batch a worker fills is one +1 then one -1, in that order. */
static _Atomic int g_bursts_open, g_bursts_started, g_bursts_negative;

static void count_burst(int delta) {
    if (delta > 0) atomic_fetch_add(&g_bursts_started, 1);
    if (atomic_fetch_add(&g_bursts_open, delta) + delta < 0) atomic_store(&g_bursts_negative, 1);
}

static void test_burst_hook(void) {
    ids c;
    ids_init(&c, 1000);
    est_stream_set_burst_hook(count_burst);
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = 1000;
    cfg.batch_size = 10;
    cfg.num_epochs = 2;
    cfg.num_threads = 3;
    est_stream *s;
    CHECK_EQ(est_stream_create(&cfg, &c.col, 1, &s), EST_OK);
    CHECK_EQ(drain_and_check(&cfg, s), 2000);
    est_stream_destroy(s);
    est_stream_set_burst_hook(NULL);
    CHECK_EQ(atomic_load(&g_bursts_started), 200);
    CHECK_EQ(atomic_load(&g_bursts_open), 0);
    CHECK_EQ(atomic_load(&g_bursts_negative), 0);
    free(c.data);
}

int main(void) {
    RUN(test_order_any_threads);
    RUN(test_burst_hook);
    RUN(test_resume_and_shards);
    RUN(test_window_bounded);
    RUN(test_close_wakes_consumer);
    RUN(test_shutdown_mid_batch);
    RUN(test_worker_error);
    RUN(test_strided_columns);
    RUN(test_create_rejects);
    RUN(test_baseline);
    RUN(test_slab_cache);
    RUN(test_explicit_order);
    est_slab_cache_trim();
    return 0;
}
