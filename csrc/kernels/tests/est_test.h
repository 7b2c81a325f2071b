/* est_test.h -- tiny harness for the kernel C tests: checks, a deterministic RNG and
 * the list of GEMM ISAs to force in turn. */
#ifndef ESTCORE_EST_TEST_H
#define ESTCORE_EST_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "estcore/est_kernels.h"

static int est_test_failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            est_test_failures++;                                                       \
        }                                                                              \
    } while (0)

#define CHECK_OK(expr) CHECK((expr) == EST_OK)

static uint64_t est_test_rng = 0x9E3779B97F4A7C15ull;
static inline double rnd(void) { /* uniform in [-1, 1) */
    est_test_rng = est_test_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(est_test_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}
static inline void fill_d(double *p, int64_t n) { for (int64_t i = 0; i < n; i++) p[i] = rnd(); }
static inline void fill_f(float *p, int64_t n) { for (int64_t i = 0; i < n; i++) p[i] = (float)rnd(); }

/* max |a - b| / (1 + |b|) */
static inline double max_rel_d(const double *a, const double *b, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (!(e <= worst)) worst = e; /* NaN propagates */
    }
    return worst;
}
static inline double max_rel_fd(const float *a, const double *b, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

/* The GEMM ISAs this build and CPU can run (est_blas.h), GENERIC first; returns how
 * many were written to out (room for EST_ISA__COUNT). Tests run each in turn. */
static inline int est_test_isas(est_isa *out) {
    int n = 0;
    for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++)
        if (est_gemm_isa_supported((est_isa)i)) out[n++] = (est_isa)i;
    return n;
}

static inline int est_test_finish(const char *name) {
    if (est_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, est_test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif /* ESTCORE_EST_TEST_H */
