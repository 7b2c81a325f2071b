/* est_blas.h -- where estcore's GEMM comes from, and the row-major GEMM on top.
 *
 * Design: estcore does not link a BLAS. The Cython seam takes Fortran sgemm/dgemm
 * function pointers from scipy.linalg.cython_blas at import (as scikit-learn does)
 * and installs them with est_blas_set(); C unit tests install a reference GEMM
 * through the same pointer types. Row-major problems are mapped onto column-major
 * Fortran BLAS without copies: C = op(A) op(B) (row-major) is the same memory as
 * C^T = op(B)^T op(A)^T (column-major), so A and B swap places.
 *
 * Threads: the BLAS must run single-threaded (the seam pins scipy's OpenBLAS to one
 * thread); large products are split over estcore's own pool (est_threadpool.h) by
 * blocks of rows of C when m >= n (each block repacks B), else by blocks of columns
 * (each repacks A). Each block is a separate BLAS call writing a disjoint part of C.
 *
 * Global state: the installed function pointers, written by est_blas_set() and read
 * by every GEMM. They are C11 atomics (release on store, acquire on load), so a
 * kernel running on another thread sees either the old or the new pair, never a mix
 * of a pointer and uninitialised memory. Install once before use.
 */
#ifndef ESTCORE_EST_BLAS_H
#define ESTCORE_EST_BLAS_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fortran BLAS ?gemm: C := alpha*op(A)*op(B) + beta*C, column-major, 32-bit ints,
 * every argument by pointer (the scipy.linalg.cython_blas signature). */
typedef void (*est_sgemm_fn)(char *transa, char *transb, int *m, int *n, int *k, float *alpha,
                             float *a, int *lda, float *b, int *ldb, float *beta, float *c,
                             int *ldc);
typedef void (*est_dgemm_fn)(char *transa, char *transb, int *m, int *n, int *k, double *alpha,
                             double *a, int *lda, double *b, int *ldb, double *beta, double *c,
                             int *ldc);

/* Install the GEMM pair used by every kernel. Both must be non-NULL and callable
 * from any thread without the GIL (scipy's cython_blas functions are nogil).
 * Errors: EST_ERR_INVALID_ARGUMENT. Thread-safe. */
est_status est_blas_set(est_sgemm_fn sgemm, est_dgemm_fn dgemm);

/* The installed pair (NULL, NULL before est_blas_set). Either out may be NULL. */
void est_blas_get(est_sgemm_fn *sgemm, est_dgemm_fn *dgemm);

/* Row-major GEMM: C[m,n] := alpha * op(A) @ op(B) + beta * C.
 *   op(A) is [m,k]: A is stored [m,k] with row stride lda >= k, or [k,m] (trans_a)
 *   with lda >= m. op(B) is [k,n]: B is [k,n] (ldb >= n) or [n,k] (trans_b, ldb >= k).
 *   C is [m,n] with ldc >= n. beta == 0 overwrites C (NaNs in C are ignored).
 * Buffers: all owned by the caller; C must not overlap A or B. Nothing is allocated.
 * Threads: split over the default pool when m*n*k is large enough; concurrent calls
 * on different C buffers are fine.
 * Errors: EST_ERR_FAILED_PRECONDITION (no BLAS installed), EST_ERR_INVALID_ARGUMENT
 * (negative or > INT_MAX sizes, bad leading dimensions, NULL with a non-empty size).
 * Cost: 2*m*n*k flops in the BLAS. */
est_status est_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc);
est_status est_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                        const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                        double *c, int64_t ldc);

/* Products with m*n*k below this many multiply-adds run as one BLAS call on the
 * calling thread; larger ones are split into tasks of at least half of it (about
 * 10 us of single-core BLAS work, against a few us of task overhead). Chosen on the
 * 2-core development machine, see benchmarks/bench_kernels.py. */
#define EST_GEMM_PARALLEL_MIN_WORK ((int64_t)1 << 19)

/* Most GEMM tasks per compute thread (see est_split_count). 1: every extra block
 * repacks a whole operand, and on the 2-core development machine 2 tasks per thread
 * were 5-15% slower than 1 for the benchmark's dense layers. */
#ifndef EST_GEMM_TASKS_PER_THREAD
#define EST_GEMM_TASKS_PER_THREAD 1
#endif

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_BLAS_H */
