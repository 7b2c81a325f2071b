/* est_blas.c -- installed GEMM pointers and the row-major, pool-split GEMM. */
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include "est_internal.h"

/* The installed BLAS pair. Stored with release, loaded with acquire: a reader that
 * sees a pointer also sees the library behind it initialised by the installer. */
static _Atomic(est_sgemm_fn) g_sgemm;
static _Atomic(est_dgemm_fn) g_dgemm;

est_status est_blas_set(est_sgemm_fn sgemm, est_dgemm_fn dgemm) {
    if (sgemm == NULL || dgemm == NULL) return EST_ERR_INVALID_ARGUMENT;
    atomic_store_explicit(&g_sgemm, sgemm, memory_order_release);
    atomic_store_explicit(&g_dgemm, dgemm, memory_order_release);
    return EST_OK;
}

void est_blas_get(est_sgemm_fn *sgemm, est_dgemm_fn *dgemm) {
    if (sgemm) *sgemm = atomic_load_explicit(&g_sgemm, memory_order_acquire);
    if (dgemm) *dgemm = atomic_load_explicit(&g_dgemm, memory_order_acquire);
}

est_status est__blas_ready(void) {
    est_sgemm_fn s;
    est_dgemm_fn d;
    est_blas_get(&s, &d);
    return (s != NULL && d != NULL) ? EST_OK : EST_ERR_FAILED_PRECONDITION;
}

/* Checks shared by both precisions. */
static est_status check_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                             const void *a, int64_t lda, const void *b, int64_t ldb,
                             const void *c, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return EST_ERR_INVALID_ARGUMENT;
    if (lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) return EST_ERR_INVALID_ARGUMENT;
    if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n) return EST_ERR_INVALID_ARGUMENT;
    if (m > 0 && n > 0 && c == NULL) return EST_ERR_INVALID_ARGUMENT;
    if (m > 0 && n > 0 && k > 0 && (a == NULL || b == NULL)) return EST_ERR_INVALID_ARGUMENT;
    return est__blas_ready();
}

#define EST_BLAS_LOAD(T) _Generic((T)0, float: atomic_load_explicit(&g_sgemm, memory_order_acquire), \
                                        double: atomic_load_explicit(&g_dgemm, memory_order_acquire))

#include "est_tmpl_f32.h"
#include "est_blas.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_blas.inc"
#include "est_tmpl_end.h"
