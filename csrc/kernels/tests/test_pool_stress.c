/* test_pool_stress.c -- the thread pool under stress, and split-independence of the
 * kernels' bits:
 *   - fork() while another thread uses the default pool's registry, before any pool
 *     exists (the child must not inherit a locked registry mutex);
 *   - many callers sharing one pool with tiny and long tasks (each index exactly once;
 *     a caller's stack job is reused at once after each run, so a worker touching a
 *     finished job shows up under TSan/ASan);
 *   - est_parallel_for from several threads while another resizes the default pool
 *     (1..64 threads; with load sensing on, 64 threads on a machine with fewer CPUs
 *     runs jobs whose helper limit is below the worker count);
 *   - destroying pools whose workers spin, sleep, or were never used;
 *   - conv2d forward/backward and reduce_sum give the same bits for 1, 2, 3 and 8
 *     threads (the chunked filter gradient, the per-tap and whole-batch paths).
 * ctest runs it with the default spin, ESTCORE_SPIN_US=0 (callers and workers sleep at
 * once) and 100000 (long spins), and with load sensing on. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "est_test.h"

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- fork while another thread holds the registry lock -------------------------- */

static atomic_int g_stop;

static void *registry_hammer(void *arg) {
    (void)arg;
    while (!atomic_load(&g_stop)) {
        (void)est_get_num_threads();
        (void)est_split_count(1 << 20, 1, 4);
    }
    return NULL;
}

/* The child of a fork() made while another thread was inside est_get_num_threads /
 * est_split_count must be able to use the kernels (the pool registry's mutex is reset
 * in the child by the atfork handler, which must be registered before the first use
 * of that mutex, not only once a pool exists). Runs first: no pool exists yet. */
static void test_fork_registry(void) {
    pthread_t th;
    atomic_store(&g_stop, 0);
    CHECK(pthread_create(&th, NULL, registry_hammer, NULL) == 0);
    sleep_us(2000);
    int hung = 0;
    for (int i = 0; i < 60 && !hung; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int n = est_get_num_threads();
            (void)est_split_count(1 << 20, 1, 4);
            _exit(n >= 1 ? 0 : 3);
        }
        CHECK(pid > 0);
        if (pid <= 0) break;
        int status = 0, done = 0;
        for (int w = 0; w < 2000 && !done; w++) { /* up to 2 s */
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid) done = 1;
            else sleep_us(1000);
        }
        if (!done) {
            hung = 1;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "fork child %d hung (inherited a locked registry mutex)\n", i);
        } else {
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
    CHECK(!hung);
    atomic_store(&g_stop, 1);
    pthread_join(th, NULL);
}

/* ---- many callers on one pool ---------------------------------------------------- */

typedef struct {
    _Atomic int64_t calls;
    _Atomic int64_t sum;
    _Atomic unsigned char *hits;
    int64_t spin; /* busy iterations per task */
} job_ctx;

static void busy_task(void *ctx, int64_t i) {
    job_ctx *c = ctx;
    volatile int64_t x = 0;
    for (int64_t k = 0; k < c->spin; k++) x += k;
    atomic_fetch_add(&c->hits[i], 1);
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_add(&c->sum, i);
}

typedef struct {
    est_threadpool *pool; /* NULL: est_parallel_for */
    int rounds;
    uint64_t seed;
    int ok;
} caller_arg;

static uint64_t next_rand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void *caller(void *p) {
    caller_arg *a = p;
    a->ok = 1;
    _Atomic unsigned char *hits = calloc(4096, 1);
    for (int r = 0; r < a->rounds; r++) {
        const int64_t n = 1 + (int64_t)(next_rand(&a->seed) % (r % 5 == 0 ? 4000 : 9));
        const int64_t spin = r % 3 == 0 ? 2000 : 0; /* long or tiny tasks */
        for (int64_t i = 0; i < n; i++) atomic_store(&hits[i], 0);
        job_ctx c = {0, 0, hits, spin};
        if (a->pool != NULL) {
            if (est_threadpool_run(a->pool, n, busy_task, &c) != EST_OK) a->ok = 0;
        } else {
            est_parallel_for(n, busy_task, &c);
        }
        if (atomic_load(&c.calls) != n || atomic_load(&c.sum) != n * (n - 1) / 2) a->ok = 0;
        for (int64_t i = 0; i < n; i++)
            if (atomic_load(&hits[i]) != 1) a->ok = 0;
    }
    free((void *)hits);
    return NULL;
}

static void run_callers(est_threadpool *pool, int n_callers, int rounds) {
    pthread_t th[8];
    caller_arg args[8];
    for (int i = 0; i < n_callers; i++) {
        args[i] = (caller_arg){pool, rounds, 0x1234567ull * (uint64_t)(i + 1), 0};
        CHECK(pthread_create(&th[i], NULL, caller, &args[i]) == 0);
    }
    for (int i = 0; i < n_callers; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].ok);
    }
}

static void test_shared_pool(void) {
    const int sizes[] = {2, 3, 8};
    for (int s = 0; s < 3; s++) {
        est_threadpool *pool = NULL;
        CHECK_OK(est_threadpool_create(sizes[s], &pool));
        run_callers(pool, 6, 150);
        est_threadpool_destroy(pool);
    }
}

/* ---- the default pool: concurrent kernels while the size changes ------------------ */

static void *resizer(void *arg) {
    (void)arg;
    const int sizes[] = {64, 1, 3, EST_MAX_THREADS, 2};
    for (int r = 0; r < 25; r++) {
        if (est_set_num_threads(sizes[r % 5]) != EST_OK) fprintf(stderr, "resize failed\n");
        sleep_us(500);
    }
    return NULL;
}

static void test_default_pool_race(void) {
    CHECK_OK(est_set_num_threads(EST_MAX_THREADS)); /* more workers than CPUs */
    run_callers(NULL, 4, 120);
    pthread_t rz;
    CHECK(pthread_create(&rz, NULL, resizer, NULL) == 0);
    run_callers(NULL, 4, 120);
    pthread_join(rz, NULL);
    CHECK_OK(est_set_num_threads(2));
}

/* ---- destroy with workers spinning, asleep, or never used ------------------------- */

static void test_destroy_states(void) {
    for (int r = 0; r < 40; r++) {
        est_threadpool *pool = NULL;
        CHECK_OK(est_threadpool_create(2 + r % 6, &pool));
        _Atomic unsigned char hits[64];
        for (int i = 0; i < 64; i++) atomic_store(&hits[i], 0);
        job_ctx c = {0, 0, hits, r % 2 ? 500 : 0};
        if (r % 4 != 3) CHECK_OK(est_threadpool_run(pool, 64, busy_task, &c));
        if (r % 4 == 1) sleep_us(1000); /* past the default spin: the workers sleep */
        est_threadpool_destroy(pool);   /* r % 4 == 0, 2: the workers still spin */
        if (r % 4 != 3) CHECK(atomic_load(&c.calls) == 64);
    }
}

/* ---- the same bits for any thread count ------------------------------------------- */

typedef struct {
    double *y, *dx, *df, *db;
} conv_out;

static void conv_run(const est_window *g, const double *x, const double *f, const double *b,
                     const double *dy, int accumulate, conv_out *o) {
    const int64_t nx = g->batch * g->in_h * g->in_w * g->in_c;
    const int64_t nf = g->k_h * g->k_w * g->in_c * g->out_c;
    const int64_t ny = g->batch * g->out_h * g->out_w * g->out_c;
    double *col = malloc(8 * (size_t)est_conv2d_col_size(g) + 8);
    double *dz = malloc(8 * (size_t)ny + 8);
    CHECK_OK(est_conv2d_forward_f64(g, x, f, b, o->y, col, EST_ACT_RELU, 0));
    for (int64_t i = 0; i < nx; i++) o->dx[i] = 0.25;
    for (int64_t i = 0; i < nf; i++) o->df[i] = 0.5;
    for (int64_t i = 0; i < g->out_c; i++) o->db[i] = 0.75;
    CHECK_OK(est_conv2d_backward_f64(g, x, f, o->y, dy, dz, col, o->dx, o->df, o->db,
                                     EST_ACT_RELU, 0, accumulate));
    free(col);
    free(dz);
}

static void conv_alloc(const est_window *g, conv_out *o) {
    o->y = malloc(8 * (size_t)(g->batch * g->out_h * g->out_w * g->out_c) + 8);
    o->dx = malloc(8 * (size_t)(g->batch * g->in_h * g->in_w * g->in_c) + 8);
    o->df = malloc(8 * (size_t)(g->k_h * g->k_w * g->in_c * g->out_c) + 8);
    o->db = malloc(8 * (size_t)g->out_c + 8);
}

static void conv_free(conv_out *o) { free(o->y); free(o->dx); free(o->df); free(o->db); }

static void check_conv_bits(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                            int64_t oc, int64_t s) {
    est_window g;
    CHECK_OK(est_window_init(n, h, w, c, kh, kw, oc, s, s, EST_PADDING_SAME, &g));
    const int64_t nx = n * h * w * c, nf = kh * kw * c * oc, ny = n * g.out_h * g.out_w * oc;
    double *x = malloc(8 * (size_t)nx), *f = malloc(8 * (size_t)nf), *b = malloc(8 * (size_t)oc);
    double *dy = malloc(8 * (size_t)ny);
    fill_d(x, nx); fill_d(f, nf); fill_d(b, oc); fill_d(dy, ny);
    const int threads[] = {1, 2, 3, 8};
    for (int acc = 0; acc < 2; acc++) {
        conv_out ref, got;
        conv_alloc(&g, &ref);
        conv_alloc(&g, &got);
        CHECK_OK(est_set_num_threads(1));
        conv_run(&g, x, f, b, dy, acc, &ref);
        for (int t = 1; t < 4; t++) {
            CHECK_OK(est_set_num_threads(threads[t]));
            conv_run(&g, x, f, b, dy, acc, &got);
            int same = memcmp(ref.y, got.y, 8 * (size_t)ny) == 0 &&
                       memcmp(ref.dx, got.dx, 8 * (size_t)nx) == 0 &&
                       memcmp(ref.df, got.df, 8 * (size_t)nf) == 0 &&
                       memcmp(ref.db, got.db, 8 * (size_t)oc) == 0;
            if (!same)
                fprintf(stderr, "conv %ldx%ldx%ldx%ld k%ldx%ld oc%ld s%ld acc%d: bits differ at %d threads\n",
                        (long)n, (long)h, (long)w, (long)c, (long)kh, (long)kw, (long)oc, (long)s,
                        acc, threads[t]);
            CHECK(same);
        }
        conv_free(&ref);
        conv_free(&got);
    }
    free(x); free(f); free(b); free(dy);
}

static void check_sum_bits(int64_t rows, int64_t cols) {
    double *x = malloc(8 * (size_t)(rows * cols));
    float *xf = malloc(4 * (size_t)(rows * cols));
    fill_d(x, rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) xf[i] = (float)x[i];
    double ref = 0, all = 0;
    float reff = 0, allf = 0;
    double *cs = malloc(8 * (size_t)cols), *rcs = malloc(8 * (size_t)cols);
    const int threads[] = {1, 2, 3, 8};
    for (int t = 0; t < 4; t++) {
        CHECK_OK(est_set_num_threads(threads[t]));
        CHECK_OK(est_reduce_sum_f64(x, rows, cols, EST_REDUCE_ALL, 0, 0, &all));
        CHECK_OK(est_reduce_sum_f32(xf, rows, cols, EST_REDUCE_ALL, 0, 0, &allf));
        CHECK_OK(est_reduce_sum_f64(x, rows, cols, EST_REDUCE_ROWS, 0, 0, cs));
        if (t == 0) {
            ref = all;
            reff = allf;
            memcpy(rcs, cs, 8 * (size_t)cols);
            continue;
        }
        CHECK(memcmp(&ref, &all, sizeof all) == 0);
        CHECK(memcmp(&reff, &allf, sizeof allf) == 0);
        CHECK(memcmp(rcs, cs, 8 * (size_t)cols) == 0);
    }
    free(x); free(xf); free(cs); free(rcs);
}

static void test_split_independence(void) {
    check_conv_bits(40, 9, 7, 2, 3, 3, 5, 2);    /* chunked df, transposed im2col */
    check_conv_bits(33, 6, 6, 16, 3, 3, 4, 1);   /* chunked df, row-major im2col */
    check_conv_bits(64, 12, 12, 3, 5, 5, 32, 1); /* chunked df, 16 chunks */
    check_conv_bits(1, 20, 20, 12, 3, 3, 8, 1);  /* batch 1: df per tap slice */
    check_conv_bits(1, 24, 24, 2, 3, 3, 8, 1);   /* batch 1, in_c < 8: whole-batch GEMM */
    check_conv_bits(3, 5, 5, 64, 5, 5, 140, 1);  /* filter too large for 2 partial sums */
    check_sum_bits(300, 700);                    /* 210000 elements: 4 fixed chunks */
    check_sum_bits(78400, 5);
    CHECK_OK(est_set_num_threads(2));
}

/* Geometries whose buffers fit int64 in elements but not in bytes are refused: the
 * kernels size their scratch as (size_t)elements * sizeof(T), which would wrap to a
 * small buffer. */
static void test_window_byte_limits(void) {
    est_window g;
    const int64_t big = INT32_MAX;
    /* rows = kk = 2^31 - 1 (1x1 window, stride 2: not direct): ~2^62 elements of im2col
     * fit int64, but not in bytes; as f64 bytes they wrap around size_t */
    CHECK(est_window_init(big, 1, 1, big, 1, 1, 1, 2, 2, EST_PADDING_VALID, &g) ==
          EST_ERR_INVALID_ARGUMENT);
    /* rows * kk = (2^31 - 1) * 2^30 elements: more bytes than int64 holds */
    CHECK(est_window_init(big, 1, 1, (int64_t)1 << 29, 1, 2, 1, 1, 1, EST_PADDING_SAME, &g) ==
          EST_ERR_INVALID_ARGUMENT);
    /* 2^50 elements (2^53 bytes) are still a valid geometry */
    CHECK(est_window_init(1 << 20, 1, 1, (int64_t)1 << 30, 1, 1, 1, 1, 1, EST_PADDING_VALID, &g) ==
          EST_OK);
}

int main(void) {
    /* First, while no pool and no atfork handler exist yet. The child only uses the
     * registry (no threads: TSan does not support starting threads after such a fork). */
    test_fork_registry();
    test_window_byte_limits();
    test_shared_pool();
    test_destroy_states();
    test_default_pool_race();
    test_split_independence();
    CHECK_OK(est_set_num_threads(1)); /* no workers left behind at exit */
    return est_test_finish("test_pool_stress");
}
