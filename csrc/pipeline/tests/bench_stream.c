/* bench_stream.c -- C-only throughput probe of the stream (not a ctest; built
 * with EST_BUILD_TESTS, run by hand on a quiet machine, Release build):
 *
 *   cmake -S csrc -B build/c-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DEST_BUILD_TESTS=ON
 *   cmake --build build/c-rel --target bench_stream && build/c-rel/pipeline/bench_stream 9
 *
 * One shuffled epoch of x float32 [60000, 784] + y int32 per round, batch 128,
 * variants interleaved round by round, medians printed:
 *   ring-R   one thread copying the shuffled rows into a ring of R buffers
 *            (R = 1 is est_gather_baseline's loop): the cost of writing into a
 *            buffer that is no longer in L2;
 *   base-T   est_gather_baseline on T threads (the benchmark's reference);
 *   stream-T release / hold: a C consumer that releases each batch at once, or
 *            holds it until it has the next one (what `for f, l in stream:`
 *            does in Python: the loop variables keep batch k alive while
 *            batch k + 1 is fetched, so one worker cycles at least 3 slabs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "estcore/est_stream.h"

enum { N = 60000, D = 784, B = 128, ROW = D * 4, MAX_ROUNDS = 64 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *x;
static int32_t *y;
static uint64_t *perm;
static char *ring[4];

static void shuffle_perm(void) {
    for (uint64_t i = 0; i < N; i++)
        perm[i] = i;
    for (uint64_t i = N - 1; i > 0; i--) {
        uint64_t j = next_rand() % (i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static double run_ring(int r) {
    shuffle_perm();
    double t0 = now_s();
    for (uint64_t b = 0, lo = 0; lo < N; b++, lo += B) {
        char *out = ring[b % (uint64_t)r];
        uint64_t hi = lo + B < N ? lo + B : N;
        for (uint64_t i = lo; i < hi; i++, out += ROW)
            memcpy(out, x + perm[i] * ROW, ROW);
    }
    return now_s() - t0;
}

static double run_base(int threads) {
    double t0 = now_s();
    shuffle_perm();
    if (est_gather_baseline(x, ROW, perm, N, B, threads) != EST_OK)
        abort();
    return now_s() - t0;
}

static double run_stream(int threads, int hold) {
    int64_t xshape[2] = {N, D}, xstr[2] = {ROW, 4}, yshape[1] = {N}, ystr[1] = {4};
    est_column cols[2] = {{x, 4, 2, xshape, xstr}, {(const char *)y, 4, 1, yshape, ystr}};
    est_stream_config cfg;
    est_stream_config_default(&cfg);
    cfg.num_rows = N;
    cfg.batch_size = B;
    cfg.shuffle = 1;
    cfg.seed = next_rand();
    cfg.num_threads = threads;
    double t0 = now_s();
    est_stream *s;
    if (est_stream_create(&cfg, cols, 2, &s) != EST_OK)
        abort();
    est_slab *prev = NULL, *slab;
    uint64_t k, rows, got = 0;
    while (est_stream_next(s, -1, &slab, &k, &rows) == EST_OK) {
        got += rows;
        if (hold) {
            est_slab_release(prev);
            prev = slab;
        } else {
            est_slab_release(slab);
        }
    }
    est_slab_release(prev);
    est_stream_destroy(s);
    if (got != N)
        abort();
    return now_s() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return d < 0 ? -1 : d > 0;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 9;
    x = malloc((size_t)N * ROW);
    y = malloc(N * sizeof *y);
    perm = malloc(N * sizeof *perm);
    if (!x || !y || !perm)
        return 1;
    for (size_t i = 0; i < (size_t)N * D; i++)
        ((float *)x)[i] = (float)(i % 1000);
    for (int i = 0; i < N; i++)
        y[i] = i % 10;
    for (int i = 0; i < 4; i++) {
        ring[i] = malloc((size_t)B * ROW);
        if (!ring[i])
            return 1;
        memset(ring[i], 0, (size_t)B * ROW);
    }
    static const char *names[] = {"ring-1",         "ring-2",         "ring-3",
                                  "ring-4",         "base-1",         "base-2",
                                  "stream-1 release", "stream-1 hold", "stream-2 release",
                                  "stream-2 hold"};
    enum { NV = 10 };
    static double t[NV][MAX_ROUNDS];
    for (int r = -1; r < rounds; r++) {  /* round -1 warms up */
        for (int v = 0; v < NV; v++) {
            double d = v < 4 ? run_ring(v + 1)
                       : v < 6 ? run_base(v - 3)
                               : run_stream(v < 8 ? 1 : 2, (v - 6) % 2);
            if (r >= 0)
                t[v][r] = d;
        }
    }
    double med[NV];
    for (int v = 0; v < NV; v++) {
        qsort(t[v], (size_t)rounds, sizeof(double), cmp_double);
        med[v] = t[v][rounds / 2];
    }
    printf("median of %d rounds; ratio = reference time / time\n", rounds);
    for (int v = 0; v < NV; v++) {
        int ref = v < 4 ? 0 : v == 5 || v >= 8 ? 5 : 4;
        printf("%-17s %8.2f us/batch  ratio to %-6s %.3f\n", names[v], med[v] / (N / (double)B) * 1e6,
               names[ref], med[ref] / med[v]);
    }
    return 0;
}
