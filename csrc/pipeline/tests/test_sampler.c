/* test_sampler.c -- the sampler is a bijection per epoch, identity without
 * shuffle, differs across epochs, is roughly uniform; batch spans and shards. */
#include <math.h>
#include <string.h>

#include "estcore/est_sampler.h"
#include "est_test.h"

static void check_permutation(uint64_t n, uint64_t seed, uint64_t epoch) {
    est_sampler s;
    CHECK_EQ(est_sampler_init(n, seed, 1, &s), EST_OK);
    unsigned char *seen = calloc(n, 1);
    CHECK(seen != NULL);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = est_sampler_row(&s, epoch, i);
        CHECK(r < n);
        CHECK(!seen[r]);
        seen[r] = 1;
    }
    free(seen);
}

static void test_permutation_many_sizes(void) {
    for (uint64_t n = 1; n <= 300; n++)
        for (uint64_t seed = 0; seed < 3; seed++)
            check_permutation(n, seed * 7919 + n, seed);
    check_permutation(65536, 1, 0);
    check_permutation(65537, 2, 5);
    check_permutation(100003, 3, 1);
    check_permutation(1u << 17, 4, 2);  /* odd bit count: unbalanced halves */
}

static void test_identity(void) {
    est_sampler s;
    CHECK_EQ(est_sampler_init(10, 99, 0, &s), EST_OK);
    for (uint64_t e = 0; e < 3; e++)
        for (uint64_t i = 0; i < 10; i++)
            CHECK_EQ(est_sampler_row(&s, e, i), i);
}

static void test_epochs_and_seeds_differ(void) {
    est_sampler a, b;
    CHECK_EQ(est_sampler_init(1000, 1, 1, &a), EST_OK);
    CHECK_EQ(est_sampler_init(1000, 2, 1, &b), EST_OK);
    int same_epoch = 1, same_seed = 1;
    for (uint64_t i = 0; i < 1000; i++) {
        if (est_sampler_row(&a, 0, i) != est_sampler_row(&a, 1, i))
            same_epoch = 0;
        if (est_sampler_row(&a, 0, i) != est_sampler_row(&b, 0, i))
            same_seed = 0;
    }
    CHECK(!same_epoch);
    CHECK(!same_seed);
}

static void test_fill_crosses_epochs(void) {
    est_sampler s;
    CHECK_EQ(est_sampler_init(7, 5, 1, &s), EST_OK);
    uint64_t out[40];
    est_sampler_fill(&s, 3, 40, out);
    for (uint64_t j = 0; j < 40; j++) {
        uint64_t g = 3 + j;
        CHECK_EQ(out[j], est_sampler_row(&s, g / 7, g % 7));
    }
}

/* The batched fill (vector lanes where the CPU has them, scalar lanes, the
 * per-row tail) equals the per-row function, also where cycle walking is
 * frequent (small domains, N just above a power of two) and across epochs. */
static void test_fill_matches_rows(void) {
    const uint64_t sizes[] = {2, 3, 100, 255, 257, 1000, 4097, 60000, 65536, 65537};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        uint64_t n = sizes[t];
        est_sampler s;
        CHECK_EQ(est_sampler_init(n, 1234 + t, 1, &s), EST_OK);
        uint64_t total = 2 * n + 77;
        uint64_t *out = malloc(total * sizeof(uint64_t));
        CHECK(out != NULL);
        for (uint64_t first = 0; first < 40; first += 13) {
            est_sampler_fill(&s, first, total - first, out);
            for (uint64_t j = 0; j < total - first; j++) {
                uint64_t g = first + j;
                CHECK_EQ(out[j], est_sampler_row(&s, g / n, g % n));
            }
        }
        free(out);
    }
}

/* Position of each element over many seeds: chi-square against uniform. */
static void test_roughly_uniform(void) {
    enum { N = 5, SEEDS = 20000 };
    double counts[N][N];
    memset(counts, 0, sizeof counts);
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        est_sampler s;
        CHECK_EQ(est_sampler_init(N, seed, 1, &s), EST_OK);
        for (uint64_t i = 0; i < N; i++)
            counts[i][est_sampler_row(&s, 0, i)] += 1;
    }
    double expect = (double)SEEDS / N, chi2 = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            chi2 += (counts[i][j] - expect) * (counts[i][j] - expect) / expect;
    /* 16 degrees of freedom; the 0.999 quantile is 39.25. */
    printf("chi2 = %.2f (df 16)\n", chi2);
    CHECK(chi2 < 39.25);
}

static void test_batch_span(void) {
    uint64_t first, count;
    CHECK_EQ(est_batch_span(4, 10, 0, 0, 1, &first, &count), EST_OK);
    CHECK_EQ(first, 0);
    CHECK_EQ(count, 4);
    CHECK_EQ(est_batch_span(4, 10, 2, 0, 1, &first, &count), EST_OK);
    CHECK_EQ(first, 8);
    CHECK_EQ(count, 2);
    CHECK_EQ(est_batch_span(4, 10, 3, 0, 1, &first, &count), EST_ERR_OUT_OF_RANGE);
    CHECK_EQ(est_batch_span(4, UINT64_MAX, 1000, 0, 1, &first, &count), EST_OK);
    CHECK_EQ(first, 4000);
    CHECK_EQ(est_batch_span(0, 10, 0, 0, 1, &first, &count), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_batch_span(4, 10, 0, 1, 1, &first, &count), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_batch_span(4, UINT64_MAX, UINT64_MAX / 2, 0, 1, &first, &count),
             EST_ERR_INVALID_ARGUMENT);
    /* Shards partition every batch, sizes differ by at most one. */
    for (uint64_t k = 0; k < 4; k++) {
        uint64_t next = k * 7, total_rows = 0, lo = UINT64_MAX, hi = 0;
        for (uint32_t sh = 0; sh < 3; sh++) {
            CHECK_EQ(est_batch_span(7, 26, k, sh, 3, &first, &count), EST_OK);
            CHECK_EQ(first, next);
            next += count;
            total_rows += count;
            lo = count < lo ? count : lo;
            hi = count > hi ? count : hi;
        }
        CHECK_EQ(total_rows, k < 3 ? 7 : 5);
        CHECK(hi - lo <= 1);
    }
}

static void test_init_rejects(void) {
    est_sampler s;
    CHECK_EQ(est_sampler_init(0, 0, 1, &s), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_sampler_init(5, 0, 2, &s), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_sampler_init(1ull << 62, 0, 1, &s), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_sampler_init(5, 0, 1, NULL), EST_ERR_INVALID_ARGUMENT);
}

/* TF's buffer order: a permutation of the input, output j drawn from the first
 * j + buffer inputs, a buffer of one keeps the order, deterministic per seed, the
 * input sequence is followed, bad arguments refused. */
static void test_shuffle_buffer_order(void) {
    uint64_t n = 1000, out[1000], again[1000], in[1000];
    uint64_t buffers[] = {1, 2, 7, 100, 999, 1000, 5000};
    for (size_t t = 0; t < sizeof buffers / sizeof buffers[0]; t++) {
        uint64_t b = buffers[t];
        CHECK_EQ(est_shuffle_buffer_order(NULL, n, b, 11 + b, out), EST_OK);
        unsigned char seen[1000] = {0};
        for (uint64_t j = 0; j < n; j++) {
            CHECK(out[j] < n);
            CHECK(!seen[out[j]]);
            seen[out[j]] = 1;
            CHECK(out[j] < j + b);
            if (b == 1)
                CHECK_EQ(out[j], j);
        }
        CHECK_EQ(est_shuffle_buffer_order(NULL, n, b, 11 + b, again), EST_OK);
        CHECK(memcmp(out, again, sizeof out) == 0);
    }
    CHECK_EQ(est_shuffle_buffer_order(NULL, n, 10, 1, out), EST_OK);
    CHECK_EQ(est_shuffle_buffer_order(NULL, n, 10, 2, again), EST_OK);
    CHECK(memcmp(out, again, sizeof out) != 0);
    for (uint64_t i = 0; i < n; i++)
        in[i] = 5000 + 3 * i;
    CHECK_EQ(est_shuffle_buffer_order(in, n, 10, 1, again), EST_OK);
    for (uint64_t j = 0; j < n; j++)
        CHECK_EQ(again[j], 5000 + 3 * out[j]);
    CHECK_EQ(est_shuffle_buffer_order(NULL, n, 0, 1, out), EST_ERR_INVALID_ARGUMENT);
    CHECK_EQ(est_shuffle_buffer_order(NULL, 0, 3, 1, NULL), EST_OK);
}

/* With the buffer holding everything, the position of element 0 is uniform. */
static void test_shuffle_buffer_uniform(void) {
    enum { N = 10, TRIALS = 20000 };
    uint64_t out[N];
    double counts[N] = {0};
    for (uint64_t seed = 0; seed < TRIALS; seed++) {
        CHECK_EQ(est_shuffle_buffer_order(NULL, N, N, seed, out), EST_OK);
        for (int j = 0; j < N; j++)
            if (out[j] == 0)
                counts[j] += 1;
    }
    double chi2 = 0, expect = (double)TRIALS / N;
    for (int j = 0; j < N; j++)
        chi2 += (counts[j] - expect) * (counts[j] - expect) / expect;
    CHECK(chi2 < 27.9);  /* 9 degrees of freedom, p = 0.001 */
}

int main(void) {
    RUN(test_permutation_many_sizes);
    RUN(test_identity);
    RUN(test_epochs_and_seeds_differ);
    RUN(test_fill_crosses_epochs);
    RUN(test_fill_matches_rows);
    RUN(test_roughly_uniform);
    RUN(test_batch_span);
    RUN(test_init_rejects);
    RUN(test_shuffle_buffer_order);
    RUN(test_shuffle_buffer_uniform);
    return 0;
}
