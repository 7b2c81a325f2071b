/* est_internal.h -- helpers shared by the kernel sources; not a public header.
 *
 * Templates: each kernel source holds its body once in an est_*.inc file that is
 * included twice, with T = float / SFX(name) = name##_f32 and then T = double /
 * SFX(name) = name##_f64 (est_tmpl_f32.h / est_tmpl_f64.h set and est_tmpl_end.h
 * clears these macros). <tgmath.h> makes exp/log/sqrt/tanh follow T.
 */
#ifndef ESTCORE_EST_INTERNAL_H
#define ESTCORE_EST_INTERNAL_H

#include "estcore/est_kernels.h"

/* Serial row-major GEMM (never uses the pool): safe inside a pool task. Same
 * contract as est_gemm_f32/f64, arguments already validated. */
void est__gemm_serial_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                          const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                          float *c, int64_t ldc);
void est__gemm_serial_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                          const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                          double *c, int64_t ldc);
/* One validated row-major GEMM (arguments of est_gemm_f32/f64), and a runner for two
 * independent ones in ONE pool round trip (the dense backward's dW and dx). Either
 * pointer may be NULL. */
#define EST__DECLARE_GEMM2(T, SFX_)                                                            \
    typedef struct {                                                                           \
        int trans_a, trans_b;                                                                  \
        int64_t m, n, k;                                                                       \
        T alpha, beta;                                                                         \
        const T *a, *b;                                                                        \
        T *c;                                                                                  \
        int64_t lda, ldb, ldc;                                                                 \
    } est__gemm_args##SFX_;                                                                    \
    void est__gemm2##SFX_(const est__gemm_args##SFX_ *g0, const est__gemm_args##SFX_ *g1);
EST__DECLARE_GEMM2(float, _f32)
EST__DECLARE_GEMM2(double, _f64)
#undef EST__DECLARE_GEMM2

/* EST_OK when a BLAS is installed, EST_ERR_FAILED_PRECONDITION otherwise. */
est_status est__blas_ready(void);

/* Elementwise work below this many elements runs inline (a task must carry at
 * least this much work). */
#define EST_ELTWISE_PARALLEL_MIN ((int64_t)1 << 16)

/* [lo, hi) of part `i` of `parts` near-equal parts of [0, n). */
static inline void est__part(int64_t n, int64_t parts, int64_t i, int64_t *lo, int64_t *hi) {
    *lo = n * i / parts;
    *hi = n * (i + 1) / parts;
}

#endif /* ESTCORE_EST_INTERNAL_H */

/* ---- serial building blocks shared by the kernels (est_eltwise.inc) -------------- */
/* Each is the serial body of the matching public function, on [0, n); no checks. */
#define EST__DECLARE_SERIAL(T, SFX_)                                                          \
    void est__act_serial##SFX_(const T *x, T *y, int64_t n, est_act act, T alpha);            \
    void est__act_grad_serial##SFX_(const T *y, const T *dy, T *dx, int64_t n, est_act act,   \
                                    T alpha);                                                 \
    void est__bias_act_serial##SFX_(T *y, const T *b, int64_t rows, int64_t n, int64_t ld,    \
                                    est_act act, T alpha);                                    \
    void est__colsum_serial##SFX_(const T *x, int64_t rows, int64_t cols, int64_t lo,         \
                                  int64_t hi, int accumulate, T *out);                        \
    est_status est__check_act##SFX_(est_act act, T alpha);
EST__DECLARE_SERIAL(float, _f32)
EST__DECLARE_SERIAL(double, _f64)
#undef EST__DECLARE_SERIAL
