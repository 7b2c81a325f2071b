/* test_threadpool.c -- the worker pool: many tasks, concurrent runs, shutdown, reuse,
 * resizing the default pool while other threads use it, which thread takes which
 * task (owner ranges). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "est_test.h"

typedef struct { _Atomic int64_t sum; _Atomic int64_t calls; int64_t *hits; } counter;

static void count_task(void *ctx, int64_t i) {
    counter *c = ctx;
    atomic_fetch_add(&c->sum, i);
    atomic_fetch_add(&c->calls, 1);
    if (c->hits) c->hits[i]++; /* each index is called exactly once: no race */
}

static void test_many_tasks(int threads) {
    est_threadpool *pool = NULL;
    CHECK_OK(est_threadpool_create(threads, &pool));
    CHECK(est_threadpool_num_threads(pool) == threads);
    for (int64_t n = 0; n < 2000; n += 97) {
        int64_t *hits = calloc((size_t)(n + 1), sizeof *hits);
        counter c = {0, 0, hits};
        CHECK_OK(est_threadpool_run(pool, n, count_task, &c));
        CHECK(atomic_load(&c.calls) == n);
        CHECK(atomic_load(&c.sum) == n * (n - 1) / 2);
        for (int64_t i = 0; i < n; i++) CHECK(hits[i] == 1);
        free(hits);
    }
    est_threadpool_destroy(pool);
}

typedef struct { est_threadpool *pool; int rounds; int ok; } runner_arg;

static void *runner(void *p) {
    runner_arg *a = p;
    a->ok = 1;
    for (int r = 0; r < a->rounds; r++) {
        counter c = {0, 0, NULL};
        if (est_threadpool_run(a->pool, 64, count_task, &c) != EST_OK) a->ok = 0;
        if (atomic_load(&c.calls) != 64 || atomic_load(&c.sum) != 64 * 63 / 2) a->ok = 0;
    }
    return NULL;
}

static void test_concurrent_runs(void) {
    est_threadpool *pool = NULL;
    CHECK_OK(est_threadpool_create(3, &pool));
    pthread_t th[4];
    runner_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (runner_arg){pool, 200, 0};
        CHECK(pthread_create(&th[i], NULL, runner, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) { pthread_join(th[i], NULL); CHECK(args[i].ok); }
    est_threadpool_destroy(pool);
}

static void test_create_destroy_reuse(void) {
    for (int r = 0; r < 20; r++) {
        est_threadpool *pool = NULL;
        CHECK_OK(est_threadpool_create(1 + r % 4, &pool));
        counter c = {0, 0, NULL};
        if (r % 2) CHECK_OK(est_threadpool_run(pool, 10, count_task, &c));
        est_threadpool_destroy(pool); /* idle or after a run: must join promptly */
    }
    est_threadpool *pool = NULL;
    CHECK(est_threadpool_create(0, &pool) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_threadpool_create(EST_MAX_THREADS + 1, &pool) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_threadpool_create(2, NULL) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_threadpool_run(NULL, 3, count_task, NULL) == EST_ERR_INVALID_ARGUMENT);
    est_threadpool_destroy(NULL);
}

typedef struct { int rounds; int ok; } pf_arg;

static void *parallel_for_user(void *p) {
    pf_arg *a = p;
    a->ok = 1;
    for (int r = 0; r < a->rounds; r++) {
        counter c = {0, 0, NULL};
        est_parallel_for(1 + r % 7, count_task, &c);
        int64_t n = 1 + r % 7;
        if (atomic_load(&c.calls) != n || atomic_load(&c.sum) != n * (n - 1) / 2) a->ok = 0;
    }
    return NULL;
}

static void test_default_pool_resize(void) {
    CHECK(est_get_num_threads() >= 1);
    CHECK(est_set_num_threads(0) == EST_ERR_INVALID_ARGUMENT);
    pthread_t th[3];
    pf_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (pf_arg){300, 0};
        CHECK(pthread_create(&th[i], NULL, parallel_for_user, &args[i]) == 0);
    }
    for (int r = 0; r < 30; r++) { /* resize while others run kernels */
        CHECK_OK(est_set_num_threads(1 + r % 3));
        CHECK(est_get_num_threads() == 1 + r % 3);
    }
    for (int i = 0; i < 3; i++) { pthread_join(th[i], NULL); CHECK(args[i].ok); }
    CHECK(est_split_count(10, 100, 4) == 1);
    CHECK_OK(est_set_num_threads(2));
    CHECK(est_split_count(1000, 100, EST_TASKS_PER_THREAD) == 2 * EST_TASKS_PER_THREAD);
    CHECK(est_split_count(1000, 100, 1) == 2);
    CHECK(est_split_count(250, 100, EST_TASKS_PER_THREAD) == 2);
    CHECK_OK(est_set_num_threads(1)); /* leaves no workers behind at exit */
}

/* The contention guard's policy: a split run that gained nothing starts a short
 * inline period; from the second loss in a row the period doubles while runs keep
 * losing and is at least 32 times the wait (capped); a run that gained resets it;
 * runs without an estimate change nothing. */
static void test_guard_policy(void) {
    int64_t backoff = EST__GUARD_MIN_NS;
    est__run_stats gain = {2, 1, 1000000, 1100000};  /* 1.1 ms < 0.9 * 2 ms: gained */
    CHECK(est__guard_update(&gain, &backoff) == 0);
    CHECK(backoff == EST__GUARD_MIN_NS);
    /* a wake-up latency (waited 90 us of 190 us) is no loss, however small the gain */
    est__run_stats late = {2, 1, 100000, 190000};
    CHECK(est__guard_update(&late, &backoff) == 0 && backoff == EST__GUARD_MIN_NS);
    est__run_stats loss = {2, 1, 100000, 400000};  /* waited 300 us for the worker */
    est__run_stats slice = {2, 1, 100000, 40100000}; /* waited 40 ms */
    /* a first loss, however long it waited: a short pause only */
    CHECK(est__guard_update(&slice, &backoff) == EST__GUARD_MIN_NS);
    CHECK(backoff == 2 * EST__GUARD_MIN_NS);
    CHECK(est__guard_update(&gain, &backoff) == 0 && backoff == EST__GUARD_MIN_NS);
    CHECK(est__guard_update(&loss, &backoff) == EST__GUARD_MIN_NS);
    CHECK(backoff == 2 * EST__GUARD_MIN_NS);
    CHECK(est__guard_update(&loss, &backoff) == 32 * 300000); /* 9.6 ms > 2 ms */
    CHECK(backoff == 4 * EST__GUARD_MIN_NS);
    CHECK(est__guard_update(&loss, &backoff) == 32 * 300000);
    CHECK(backoff == 8 * EST__GUARD_MIN_NS);
    for (int i = 0; i < 2; i++) est__guard_update(&loss, &backoff); /* 32 ms */
    CHECK(est__guard_update(&loss, &backoff) == 32 * EST__GUARD_MIN_NS); /* > 9.6 ms */
    /* a loss in a streak that waited 40 ms: 32 x 40 ms capped at 1 s */
    CHECK(est__guard_update(&slice, &backoff) == EST__GUARD_MAX_NS);
    for (int i = 0; i < 20; i++) est__guard_update(&loss, &backoff);
    CHECK(backoff == EST__GUARD_MAX_NS);
    CHECK(est__guard_update(&loss, &backoff) == EST__GUARD_MAX_NS);
    est__run_stats all_own = {4, 4, 100000, 900000}; /* no estimate: unchanged */
    CHECK(est__guard_update(&all_own, &backoff) == 0 && backoff == EST__GUARD_MAX_NS);
    est__run_stats none_own = {4, 0, 0, 900000};
    CHECK(est__guard_update(&none_own, &backoff) == 0 && backoff == EST__GUARD_MAX_NS);
    CHECK(est__guard_update(&gain, &backoff) == 0 && backoff == EST__GUARD_MIN_NS);
}

/* Load sensing's policy: workers may use the CPUs other runnable threads leave idle. */
static void test_helpers_policy(void) {
    CHECK(est__helpers_policy(2, 1, 0) == 1);  /* quiet 2-CPU machine */
    CHECK(est__helpers_policy(2, 1, 1) == 0);  /* another process spinning: inline */
    CHECK(est__helpers_policy(16, 15, 4) == 11);
    CHECK(est__helpers_policy(16, 3, 4) == 3); /* at most the pool's workers */
    CHECK(est__helpers_policy(4, 3, 9) == 0);
    CHECK(est__helpers_policy(4, 3, -2) == 3); /* a miscount below 0 is 0 */
}

/* Load sensing's moving average forgets by elapsed time: 7/8 a millisecond. */
static void test_sense_fold(void) {
    CHECK(est__sense_fold(0, 1, 1000000) == 32);    /* 1 ms: 1/8 of the new sample */
    CHECK(est__sense_fold(0, 1, 10000) == 32);      /* under 1 ms counts as 1 ms */
    CHECK(est__sense_fold(256, 0, 1000000) == 224);
    CHECK(est__sense_fold(0, 1, 2000000) == 60);    /* 256 - 196 */
    CHECK(est__sense_fold(0, 1, 4000000) == 105);   /* 256 - 151 */
    /* a late sample weighs as one 4 ms after the last: alone it does not cross 0.5 ... */
    CHECK(est__sense_fold(0, 1, 20000000) == 105);
    CHECK(est__sense_fold(0, 1, (int64_t)1 << 62) == 105);
    /* ... two do, either way: a spinner seen, or gone (help again) */
    CHECK(est__sense_fold(est__sense_fold(0, 1, 20000000), 1, 20000000) > 128);
    CHECK(est__sense_fold(est__sense_fold(256, 0, 20000000), 0, 20000000) < 128);
    CHECK(est__sense_fold(512, 2, 1000000) == 512); /* steady */
}

/* Owner ranges (est_threadpool.c, est_job): with T threads and n tasks, range s is
 * [s * n / T, (s + 1) * n / T); its owner (the caller for range 0) runs it front to
 * back, and a thread with nothing left of its own takes tasks from the back of
 * another range. Whatever the timing (a late or preempted worker only changes how
 * far the others get into its range from the back), the tasks one thread ran in one
 * range, in the order it ran them, are either lo, lo + 1, ... (its own range, from the
 * front) or in decreasing index order (taken from the back); and the caller, which
 * takes its first task before any worker can look at the job, runs task 0. */
#define OWN_MAX_TASKS 64
typedef struct {
    pthread_t who[OWN_MAX_TASKS]; /* the thread that ran task i */
    int64_t order[OWN_MAX_TASKS]; /* when it started it (a global sequence number) */
    _Atomic int64_t seq;
    int sleep_us;
} own_log;

static void own_task(void *ctx, int64_t i) {
    own_log *l = ctx;
    l->who[i] = pthread_self();
    l->order[i] = atomic_fetch_add(&l->seq, 1);
    if (l->sleep_us > 0) {
        struct timespec ts = {0, (long)l->sleep_us * 1000};
        nanosleep(&ts, NULL);
    }
}

static void check_owner_ranges(int threads, int64_t n, const own_log *l) {
    CHECK(pthread_equal(l->who[0], pthread_self()));
    const int64_t slots = threads < n ? threads : n;
    for (int64_t s = 0; s < slots; s++) {
        const int64_t lo = n * s / slots, hi = n * (s + 1) / slots;
        for (int64_t t = lo; t < hi; t++) { /* the thread that ran task t ... */
            int64_t seqn[OWN_MAX_TASKS], cnt = 0; /* ... its tasks here, by time */
            for (int64_t o = 0; o < n; o++)
                for (int64_t i = lo; i < hi; i++)
                    if (l->order[i] == o && pthread_equal(l->who[i], l->who[t])) seqn[cnt++] = i;
            int front = seqn[0] == lo, back = 1;
            for (int64_t q = 1; q < cnt; q++) {
                front &= seqn[q] == seqn[q - 1] + 1;
                back &= seqn[q] < seqn[q - 1];
            }
            CHECK(front || back);
        }
    }
}

static void test_owner_ranges(void) {
    for (int threads = 2; threads <= 4; threads += 2) {
        est_threadpool *pool = NULL;
        CHECK_OK(est_threadpool_create(threads, &pool));
        const int64_t sizes[] = {2, 3, 8, 13, 64};
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int sleep_us = 0; sleep_us <= 200; sleep_us += 200)
                for (int rep = 0; rep < 20; rep++) {
                    own_log l;
                    memset(&l, 0, sizeof l);
                    l.sleep_us = sleep_us;
                    CHECK_OK(est_threadpool_run(pool, sizes[z], own_task, &l));
                    CHECK(atomic_load(&l.seq) == sizes[z]);
                    check_owner_ranges(threads, sizes[z], &l);
                }
        est_threadpool_destroy(pool);
    }
}

int main(void) {
    /* The split counts checked below are the configured ones: no guard or load
     * sensing (other jobs on this machine must not change them). */
    setenv("ESTCORE_CONTENTION_GUARD", "0", 1);
    test_helpers_policy();
    test_sense_fold();
    test_guard_policy();
    test_many_tasks(1);
    test_many_tasks(2);
    test_many_tasks(5);
    test_owner_ranges();
    test_concurrent_runs();
    test_create_destroy_reuse();
    test_default_pool_resize();
    return est_test_finish("test_threadpool");
}
