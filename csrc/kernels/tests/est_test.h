/* est_test.h -- tiny harness for the kernel C tests: checks, a deterministic RNG and
 * the naive reference GEMM installed through the est_blas function-pointer types. */
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

/* Reference column-major GEMM with the Fortran ?gemm signature (tests only). */
#define EST_TEST_REF_GEMM(NAME, T)                                                           \
    static inline void NAME(char *ta, char *tb, int *pm, int *pn, int *pk, T *alpha, T *a, int *lda, \
                     T *b, int *ldb, T *beta, T *c, int *ldc) {                              \
        int m = *pm, n = *pn, k = *pk;                                                       \
        for (int j = 0; j < n; j++)                                                          \
            for (int i = 0; i < m; i++) {                                                    \
                double acc = 0;                                                              \
                for (int l = 0; l < k; l++) {                                                \
                    T av = (*ta == 'N') ? a[i + l * *lda] : a[l + i * *lda];                 \
                    T bv = (*tb == 'N') ? b[l + j * *ldb] : b[j + l * *ldb];                 \
                    acc += (double)av * (double)bv;                                          \
                }                                                                            \
                T *cij = &c[i + j * *ldc];                                                   \
                *cij = (T)((double)*alpha * acc + (*beta == 0 ? 0.0 : (double)*beta * *cij)); \
            }                                                                                \
    }
EST_TEST_REF_GEMM(ref_sgemm, float)
EST_TEST_REF_GEMM(ref_dgemm, double)

static inline void install_ref_blas(void) { CHECK_OK(est_blas_set(ref_sgemm, ref_dgemm)); }

static inline int est_test_finish(const char *name) {
    if (est_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, est_test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif /* ESTCORE_EST_TEST_H */
