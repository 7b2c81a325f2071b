/* test_gemm.c -- estcore's packed GEMM (est_blas.h) against a naive double-precision
 * product: every shape class (tiny, skinny, odd sizes, k = 0 / 1, sizes that cross
 * the KC / MC / NC blocks and the micro-tile edges), both transposes, padded leading
 * dimensions, alpha / beta, the fused bias + ReLU epilogue, the tiny-workspace
 * fallback, bit-identical results for 1..4 threads, under each ISA forced in turn.
 * With ESTCORE_ISA set (a second ctest entry), also checks how it is resolved. */
#include <string.h>

#include "../est_gemm_isa.h"
#include "../est_internal.h"
#include "est_test.h"

/* naive row-major r = act(alpha op(A) op(B) + beta c + bias) with strides */
static void naive(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                  int64_t lda, const double *b, int64_t ldb, double beta, const double *c,
                  int64_t ldc, const double *bias, int relu, double *r) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t l = 0; l < k; l++)
                acc += (ta ? a[l * lda + i] : a[i * lda + l]) * (tb ? b[j * ldb + l] : b[l * ldb + j]);
            double v = alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            if (bias) v += bias[j];
            if (relu) v = v < 0 ? 0 : v;
            r[i * ldc + j] = v;
        }
}

/* max over the m x n block of |got - ref| / ((1 + |ref|) * sqrt(max(k, 1))) */
static double err_d(const double *got, const double *ref, int64_t m, int64_t n, int64_t ld, int64_t k) {
    double worst = 0, s = sqrt((double)(k > 1 ? k : 1));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double e = fabs(got[i * ld + j] - ref[i * ld + j]) / ((1 + fabs(ref[i * ld + j])) * s);
            if (!(e <= worst)) worst = e;
        }
    return worst;
}
static double err_f(const float *got, const double *ref, int64_t m, int64_t n, int64_t ld, int64_t k) {
    double worst = 0, s = sqrt((double)(k > 1 ? k : 1));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double e = fabs((double)got[i * ld + j] - ref[i * ld + j]) / ((1 + fabs(ref[i * ld + j])) * s);
            if (!(e <= worst)) worst = e;
        }
    return worst;
}

typedef struct {
    int64_t m, n, k;
} shape;

/* One product in both precisions, through the public API (bias == NULL, relu == 0)
 * or the epilogue entry point; pad adds columns to every leading dimension. */
static void check_case(int ta, int tb, shape s, double alpha, double beta, int pad, int epi) {
    const int64_t m = s.m, n = s.n, k = s.k;
    const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    const int64_t na = (ta ? k : m) * lda + 1, nb = (tb ? n : k) * ldb + 1, nc = m * ldc + 1;
    double *a = malloc(8 * (size_t)na), *b = malloc(8 * (size_t)nb), *c = malloc(8 * (size_t)nc);
    double *r = malloc(8 * (size_t)nc), *bias = malloc(8 * (size_t)(n + 1));
    float *af = malloc(4 * (size_t)na), *bf = malloc(4 * (size_t)nb), *cf = malloc(4 * (size_t)nc);
    float *biasf = malloc(4 * (size_t)(n + 1));
    fill_d(a, na); fill_d(b, nb); fill_d(c, nc); fill_d(bias, n + 1);
    for (int64_t i = 0; i < na; i++) af[i] = (float)a[i];
    for (int64_t i = 0; i < nb; i++) bf[i] = (float)b[i];
    for (int64_t i = 0; i < n + 1; i++) biasf[i] = (float)bias[i];
    if (beta == 0) for (int64_t i = 0; i < nc; i++) c[i] = NAN; /* beta 0 never reads C */
    for (int64_t i = 0; i < nc; i++) cf[i] = (float)c[i];
    memcpy(r, c, 8 * (size_t)nc);
    const int relu = epi;
    naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi ? bias : NULL, relu, r);
    if (epi) {
        est__gemm_epi_f64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu);
        est__gemm_epi_f32(ta, tb, m, n, k, (float)alpha, af, lda, bf, ldb, (float)beta, cf, ldc,
                          biasf, relu);
    } else {
        CHECK_OK(est_gemm_f64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
        CHECK_OK(est_gemm_f32(ta, tb, m, n, k, (float)alpha, af, lda, bf, ldb, (float)beta, cf, ldc));
    }
    double e64 = err_d(c, r, m, n, ldc, k), e32 = err_f(cf, r, m, n, ldc, k);
    if (!(e64 < 1e-13) || !(e32 < 1e-6)) {
        fprintf(stderr, "isa %s ta %d tb %d m %lld n %lld k %lld alpha %g beta %g pad %d epi %d: "
                "err f64 %g f32 %g\n", est_isa_name(est_gemm_get_isa()), ta, tb, (long long)m,
                (long long)n, (long long)k, alpha, beta, pad, epi, e64, e32);
        CHECK(0);
    }
    /* padding columns of C are never written */
    for (int64_t i = 0; i < m && pad; i++)
        for (int64_t j = n; j < ldc; j++) {
            CHECK(memcmp(&c[i * ldc + j], &r[i * ldc + j], 8) == 0 || (c[i * ldc + j] != c[i * ldc + j]));
        }
    free(a); free(b); free(c); free(r); free(bias); free(af); free(bf); free(cf); free(biasf);
}

static const shape g_shapes[] = {
    {1, 1, 1}, {1, 1, 0}, {3, 2, 0}, {2, 3, 1}, {1, 17, 5}, {17, 1, 5}, {5, 4, 3},
    {6, 64, 8}, {7, 65, 9}, {13, 17, 11}, {12, 33, 129}, {1, 300, 2}, {300, 1, 7},
    {64, 48, 40}, {100, 10, 256}, {37, 81, 300}, {197, 129, 67}, {8, 2100, 3}, {3, 5, 600},
};

static void test_shapes(void) {
    for (size_t s = 0; s < sizeof g_shapes / sizeof g_shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            check_case(t & 1, t >> 1, g_shapes[s], 1.0, 0.0, 0, 0);
            check_case(t & 1, t >> 1, g_shapes[s], 0.5, -2.0, 3, 0);
            check_case(t & 1, t >> 1, g_shapes[s], 1.0, 1.0, 1, 0);
            check_case(t & 1, t >> 1, g_shapes[s], 1.0, 0.0, 0, 1);
            check_case(t & 1, t >> 1, g_shapes[s], -1.5, 1.0, 2, 1);
        }
    /* MC rows crossed with a full KC block: the larger blocks */
    check_case(0, 0, (shape){401, 70, 130}, 1.0, 0.0, 0, 0);
    check_case(1, 1, (shape){401, 70, 130}, 1.0, 0.5, 0, 1);
}

/* alpha == 0 reads neither A nor B (NaNs there do not leak), C := beta C. */
static void test_alpha_zero(void) {
    double a[6], b[6], c[4] = {1, 2, 3, 4};
    for (int i = 0; i < 6; i++) a[i] = b[i] = NAN;
    CHECK_OK(est_gemm_f64(0, 0, 2, 2, 3, 0.0, a, 3, b, 2, 2.0, c, 2));
    CHECK(c[0] == 2 && c[1] == 4 && c[2] == 6 && c[3] == 8);
    float af[6], bf[6], cf[4] = {NAN, NAN, NAN, NAN};
    for (int i = 0; i < 6; i++) af[i] = bf[i] = 1;
    CHECK_OK(est_gemm_f32(0, 0, 2, 2, 3, 0.0f, af, 3, bf, 2, 0.0f, cf, 2));
    CHECK(cf[0] == 0 && cf[1] == 0 && cf[2] == 0 && cf[3] == 0);
}

/* NaN in A reaches C; ReLU keeps NaN (as the activation kernels do). */
static void test_nan_propagates(void) {
    double a[2] = {NAN, 1}, b[2] = {1, 1}, c[1], bias[1] = {0};
    est__gemm_epi_f64(0, 0, 1, 1, 2, 1.0, a, 2, b, 1, 0.0, c, 1, bias, 1);
    CHECK(c[0] != c[0]);
    float af[2] = {NAN, 1}, bf[2] = {1, 1}, cf[1], biasf[1] = {0};
    est__gemm_epi_f32(0, 0, 1, 1, 2, 1.0f, af, 2, bf, 1, 0.0f, cf, 1, biasf, 1);
    CHECK(cf[0] != cf[0]);
}

/* Every ISA driver with workspaces down to the stack fallback's size and below the
 * size of one panel at full KC: blocks shrink, results stay right. */
static void test_small_workspace(est_isa isa) {
    const int64_t m = 37, n = 150, k = 300;
    double *a = malloc(8 * (size_t)(m * k)), *b = malloc(8 * (size_t)(k * n));
    double *c = malloc(8 * (size_t)(m * n)), *r = malloc(8 * (size_t)(m * n));
    float *af = malloc(4 * (size_t)(m * k)), *bf = malloc(4 * (size_t)(k * n)), *cf = malloc(4 * (size_t)(m * n));
    fill_d(a, m * k); fill_d(b, k * n);
    for (int64_t i = 0; i < m * k; i++) af[i] = (float)a[i];
    for (int64_t i = 0; i < k * n; i++) bf[i] = (float)b[i];
    naive(0, 0, m, n, k, 1, a, k, b, n, 0, c, n, NULL, 0, r);
    static _Alignas(64) double ws[EST__GEMM_WS_MIN_BYTES / 8];
    const size_t sizes[] = {EST__GEMM_WS_MIN_BYTES, 4096, 1024};
    for (size_t s = 0; s < 3; s++) {
        memset(c, 0, 8 * (size_t)(m * n));
        memset(cf, 0, 4 * (size_t)(m * n));
        switch (isa) {
#if defined(EST_HAVE_X86_GEMM)
        case EST_ISA_AVX512:
            est__gemm_avx512_f64(0, 0, m, n, k, 1, a, k, b, n, 0, c, n, NULL, 0, ws, sizes[s] / 8);
            est__gemm_avx512_f32(0, 0, m, n, k, 1, af, k, bf, n, 0, cf, n, NULL, 0, (float *)ws, sizes[s] / 4);
            break;
        case EST_ISA_AVX2:
            est__gemm_avx2_f64(0, 0, m, n, k, 1, a, k, b, n, 0, c, n, NULL, 0, ws, sizes[s] / 8);
            est__gemm_avx2_f32(0, 0, m, n, k, 1, af, k, bf, n, 0, cf, n, NULL, 0, (float *)ws, sizes[s] / 4);
            break;
#endif
        default:
            est__gemm_generic_f64(0, 0, m, n, k, 1, a, k, b, n, 0, c, n, NULL, 0, ws, sizes[s] / 8);
            est__gemm_generic_f32(0, 0, m, n, k, 1, af, k, bf, n, 0, cf, n, NULL, 0, (float *)ws, sizes[s] / 4);
            break;
        }
        CHECK(err_d(c, r, m, n, n, k) < 1e-13);
        CHECK(err_f(cf, r, m, n, n, k) < 1e-6);
    }
    free(a); free(b); free(c); free(r); free(af); free(bf); free(cf);
}

/* The same product with 1..4 threads gives the same bits (splits never change the
 * order of the sums). */
static void test_bit_identical_across_threads(void) {
    const int64_t m = 160, n = 300, k = 333;
    float *a = malloc(4 * (size_t)(m * k)), *b = malloc(4 * (size_t)(k * n));
    float *c0 = malloc(4 * (size_t)(m * n)), *c1 = malloc(4 * (size_t)(m * n));
    fill_f(a, m * k); fill_f(b, k * n);
    const int before = est_get_num_threads();
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        CHECK_OK(est_set_num_threads(1));
        CHECK_OK(est_gemm_f32(ta, tb, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c0, n));
        for (int th = 2; th <= 4; th++) {
            CHECK_OK(est_set_num_threads(th));
            for (int rep = 0; rep < 2; rep++) {
                memset(c1, 0, 4 * (size_t)(m * n));
                CHECK_OK(est_gemm_f32(ta, tb, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c1, n));
                CHECK(memcmp(c0, c1, 4 * (size_t)(m * n)) == 0);
            }
        }
    }
    CHECK_OK(est_set_num_threads(before));
    free(a); free(b); free(c0); free(c1);
}

static void test_isa_api(void) {
    CHECK(strcmp(est_isa_name(EST_ISA_AUTO), "auto") == 0);
    CHECK(strcmp(est_isa_name(EST_ISA_GENERIC), "generic") == 0);
    CHECK(strcmp(est_isa_name(EST_ISA_AVX2), "avx2") == 0);
    CHECK(strcmp(est_isa_name(EST_ISA_AVX512), "avx512") == 0);
    CHECK(strcmp(est_isa_name((est_isa)99), "unknown") == 0);
    CHECK(est_gemm_isa_supported(EST_ISA_GENERIC) && est_gemm_isa_supported(EST_ISA_AUTO));
    CHECK(est_gemm_set_isa((est_isa)-1) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_gemm_set_isa(EST_ISA__COUNT) == EST_ERR_INVALID_ARGUMENT);
    for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++) {
        est_status st = est_gemm_set_isa((est_isa)i);
        CHECK(st == (est_gemm_isa_supported((est_isa)i) ? EST_OK : EST_ERR_INVALID_ARGUMENT));
        if (st == EST_OK) CHECK(est_gemm_get_isa() == (est_isa)i);
    }
    CHECK_OK(est_gemm_set_isa(EST_ISA_AUTO));
    est_isa best = EST_ISA_GENERIC;
    for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++)
        if (est_gemm_isa_supported((est_isa)i)) best = (est_isa)i;
    CHECK(est_gemm_get_isa() == best);
    double x = 1;
    CHECK(est_gemm_f64(0, 0, 2, 2, 2, 1, &x, 1, &x, 2, 0, &x, 2) == EST_ERR_INVALID_ARGUMENT); /* lda < k */
    CHECK(est_gemm_f64(0, 0, -1, 2, 2, 1, &x, 2, &x, 2, 0, &x, 2) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_gemm_f64(0, 0, 2, 2, 2, 1, NULL, 2, &x, 2, 0, &x, 2) == EST_ERR_INVALID_ARGUMENT);
    CHECK(est_gemm_f64(0, 0, 2, 2, 0, 1, NULL, 2, NULL, 2, 0, NULL, 2) == EST_ERR_INVALID_ARGUMENT);
    CHECK_OK(est_gemm_f64(0, 0, 0, 2, 2, 1, NULL, 2, NULL, 2, 0, NULL, 2));
}

/* ESTCORE_ISA as resolved on first use (run by ctest with the variable set; the
 * expected ISA is the named one, or the best supported below it). */
static void test_env(const char *env) {
    est_isa want = EST_ISA_AUTO;
    for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++)
        if (strcmp(env, est_isa_name((est_isa)i)) == 0) want = (est_isa)i;
    if (want == EST_ISA_AUTO) { /* unknown name: ignored */
        for (int i = EST_ISA_GENERIC; i < EST_ISA__COUNT; i++)
            if (est_gemm_isa_supported((est_isa)i)) want = (est_isa)i;
    }
    while (want > EST_ISA_GENERIC && !est_gemm_isa_supported(want)) want = (est_isa)(want - 1);
    CHECK(est_gemm_get_isa() == want);
}

int main(void) {
    const char *env = getenv("ESTCORE_ISA");
    if (env != NULL) {
        test_env(env);
        return est_test_finish("test_gemm (ESTCORE_ISA)");
    }
    test_isa_api();
    est_isa isas[EST_ISA__COUNT];
    const int n_isas = est_test_isas(isas);
    for (int ii = 0; ii < n_isas; ii++) {
        CHECK_OK(est_gemm_set_isa(isas[ii]));
        printf("isa %s\n", est_isa_name(isas[ii]));
        for (int th = 1; th <= 3; th += 2) {
            CHECK_OK(est_set_num_threads(th));
            test_shapes();
        }
        test_alpha_zero();
        test_nan_propagates();
        test_small_workspace(isas[ii]);
        test_bit_identical_across_threads();
    }
    CHECK_OK(est_gemm_set_isa(EST_ISA_AUTO));
    CHECK_OK(est_set_num_threads(1));
    return est_test_finish("test_gemm");
}
