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
/* The same with the epilogue fused into the micro-kernel's store:
 *   C := act(alpha * op(A) @ op(B) + beta * C + bias[None, :])
 * bias (n elements) may be NULL; act is ReLU when relu != 0, else the identity.
 * Serial (safe inside a pool task); allocates nothing after the thread's first GEMM. */
void est__gemm_epi_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, const float *bias, int relu);
void est__gemm_epi_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                       double *c, int64_t ldc, const double *bias, int relu);
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
    void est__gemm2##SFX_(const est__gemm_args##SFX_ *g0, const est__gemm_args##SFX_ *g1);  \
    /* The grid est__gemm2 splits one GEMM into (rows x cols blocks of C), and block t    \
     * of it computed serially; [r0,r1) x [c0,c1) receives the block's bounds. */          \
    void est__gemm_plan##SFX_(const est__gemm_args##SFX_ *g, int64_t *rows, int64_t *cols);  \
    void est__gemm_block##SFX_(const est__gemm_args##SFX_ *g, int64_t rows, int64_t cols,     \
                               int64_t t, int64_t *r0, int64_t *r1, int64_t *c0, int64_t *c1);
EST__DECLARE_GEMM2(float, _f32)
EST__DECLARE_GEMM2(double, _f64)
#undef EST__DECLARE_GEMM2

/* op(B) packed once and shared (est_gemm_isa.h): `isa` is est_gemm_get_isa() read ONCE
 * by the caller for both the packing and every product reading it. est__packb_size is
 * the elements of the packed [k, n] op(B) (B^T when tb), est__packb packs it (serial),
 * est__gemm_pb is the serial GEMM of est__gemm_epi with that packed B (read only, so
 * pool tasks computing different rows of C share it); the same bits as est__gemm_epi.
 * est__packk packs op(B) whole as one K block (est__packb_size elements) for
 * est__igemm, the convolutions' implicit GEMM (contract in est_gemm_driver.inc): C
 * rows address their A data through offsets, segment after segment, no im2col;
 * est__kgemm, the filter gradient's, gathers op(A) through row and step offsets. */
/* Rows that a split of C's rows should keep together for the GEMMs of `isa` (an
 * est_isa): a multiple of every tile height (MR, 2 MR), so tiles start at the same
 * rows whatever the split (est_blas.c). */
int est__gemm_row_align(int isa);

#define EST__DECLARE_PACKB(T, SFX_)                                                            \
    int64_t est__packb_size##SFX_(int isa, int64_t k, int64_t n);                              \
    void est__packb##SFX_(int isa, int tb, const T *b, int64_t ldb, int64_t k, int64_t n,      \
                          T *dst);                                                            \
    void est__gemm_pb##SFX_(int isa, int ta, int64_t m, int64_t n, int64_t k, T alpha,          \
                            const T *a, int64_t lda, const T *bp, T beta, T *c, int64_t ldc,   \
                            const T *bias, int relu);                                  \
    void est__packk##SFX_(int isa, int tb, const T *b, int64_t ldb, int64_t k, int64_t n,      \
                          T *dst);                                                            \
    void est__igemm##SFX_(int isa, int64_t m, int64_t n, const T *a, const int64_t *roff,     \
                          const int32_t *vseg, const int32_t *cseg, const int64_t *crow,       \
                          int64_t nseg, const int64_t *aoff,                                   \
                          int64_t kseg, const T *bp, int64_t ktot, T beta, T *c, int64_t ldc,  \
                          const T *bias, int relu);                                           \
    void est__kgemm##SFX_(int isa, int64_t m, int64_t n, const T *a, const int64_t *roff,     \
                          const int32_t *rvalid, int64_t period, const int32_t *cvalid,        \
                          int64_t cperiod, const int64_t *koff,                                \
                          int64_t k, const T *bp, T beta, T *c, int64_t ldc);
EST__DECLARE_PACKB(float, _f32)
EST__DECLARE_PACKB(double, _f64)
#undef EST__DECLARE_PACKB

/* Per-thread buffers that grow on demand and live until the thread exits (64-byte
 * aligned; contents undefined on each call). A slot is used by one kind of work at
 * a time on a thread: SHARED for data the calling thread prepares for the tasks of
 * one pool round (a packed B, the conv filter gradient's partial sums), SCRATCH for
 * a task's own private data. NULL when memory cannot be had: a packed filter then
 * falls back to packing per task; a conv's scratch or partial sums make the kernel
 * return EST_ERR_OUT_OF_MEMORY (est_conv.h: outputs undefined). A buffer allocated
 * (or grown) is noted to the pool (est__pool_note_warmup): its first touch would
 * otherwise look like contention to the guard. */
enum { EST__BUF_SHARED, EST__BUF_SCRATCH, EST__BUF__COUNT };
void *est__tls_buf(int slot, size_t bytes);


/* Elementwise work below this many elements runs inline (a task must carry at
 * least this much work). */
#define EST_ELTWISE_PARALLEL_MIN ((int64_t)1 << 16)

/* [lo, hi) of part `i` of `parts` near-equal parts of [0, n). */
static inline void est__part(int64_t n, int64_t parts, int64_t i, int64_t *lo, int64_t *hi) {
    *lo = n * i / parts;
    *hi = n * (i + 1) / parts;
}

/* Grid of a GEMM-like product C[m,n] (inner dimension k) split into about `parts`
 * tasks: *pr row blocks x *pc column blocks, *pr * *pc <= parts, each block at least 8
 * rows and 8 columns (or the whole dimension). Among the grids of the most tasks, the
 * one that packs the least: row block i with column block j packs (m/pr) x k of A and
 * k x (n/pc) of B, so the grid packs pc*m*k + pr*k*n elements in total. With 2 parts
 * this is the 1-D split along the dimension whose operand is not repacked; with many
 * threads and a small m (batch 128 on 16 cores) a 2-D grid packs far less than 16
 * thin column blocks that each repack all of A. Cost: O(parts). */
static inline void est__gemm_grid(int64_t m, int64_t n, int64_t k, int64_t parts, int64_t *pr,
                                  int64_t *pc) {
    int64_t max_r = m / 8 > 1 ? m / 8 : 1, max_c = n / 8 > 1 ? n / 8 : 1;
    int64_t kk = k > 0 ? k : 1;
    int64_t best_r = 1, best_c = 1, best_tasks = 1;
    double best_cost = (double)m * (double)kk + (double)kk * (double)n;
    for (int64_t r = 1; r <= parts && r <= max_r; r++) {
        int64_t c = parts / r;
        if (c > max_c) c = max_c;
        if (c < 1) c = 1;
        int64_t tasks = r * c;
        double cost = (double)c * (double)m * (double)kk + (double)r * (double)kk * (double)n;
        if (tasks > best_tasks || (tasks == best_tasks && cost < best_cost)) {
            best_r = r; best_c = c; best_tasks = tasks; best_cost = cost;
        }
    }
    *pr = best_r;
    *pc = best_c;
}

/* ---- float32 exp that vectorizes ----------------------------------------------------
 * exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 (Cody-Waite: ln2 split in a
 * part exact in float and a correction), exp(r) by a degree-6 polynomial on
 * |r| <= ln2/2 (Cephes expf coefficients; max error about 2 ulp). n comes from the
 * round-to-nearest "magic number" trick and 2^n is built from the float's bits, so
 * the loop has no calls and no branches and GCC vectorizes it (libm's expf does not).
 * Range: x > 88.72 gives +inf, x < -103.97 gives 0, NaN gives NaN; subnormal results
 * are kept (2^n is applied as two normal factors). float64 kernels keep libm. */
#include <math.h>
#include <string.h>

static inline float est__exp_f32(float x) {
    const float hi = 88.7228f, lo = -103.972f;
    float xc = x > hi ? hi : (x < lo ? lo : x);
    xc = xc == xc ? xc : 0.0f; /* NaN: computed as 0, replaced below */
    const float magic = 12582912.0f;                    /* 1.5 * 2^23 */
    float t = xc * 1.44269504088896341f + magic;        /* low bits of t hold n */
    float n = t - magic;
    float r = xc - n * 0.693359375f;                    /* ln2 high part (exact) */
    r = r - n * -2.12194440e-4f;                        /* ln2 low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; int32_t i; uint32_t u; } ut = {t}, um = {magic}, uh, ul; /* bit casts */
    int32_t ni = ut.i - um.i;                           /* n as an integer, |n| <= 150 */
    int32_t h = ni / 2, l = ni - h;                     /* 2^n = 2^h * 2^l, each normal */
    uh.u = (uint32_t)(h + 127) << 23;                   /* h + 127 in [52, 202] */
    ul.u = (uint32_t)(l + 127) << 23;
    float sh = uh.f, sl = ul.f;
    float y = p * sh * sl;                              /* subnormal results are kept */
    y = x > hi ? (float)INFINITY : y;
    y = x < lo ? 0.0f : y;
    return x != x ? x : y;
}

/* float32 tanh that vectorizes: an odd polynomial for |x| < 0.625 (Cephes tanhf
 * coefficients), else (1 - e) / (1 + e) with e = exp(-2|x|); about 2 ulp. */
static inline float est__tanh_f32(float x) {
    float ax = x < 0 ? -x : x, z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = x + x * z * p;
    float e = est__exp_f32(-2.0f * ax);
    float big = (1.0f - e) / (1.0f + e);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}


/* Hot elementwise loops are compiled three times (AVX-512, AVX2, baseline x86-64) and
 * the best one for the running CPU is picked once at load time (GCC target_clones,
 * an ifunc). Without -ffast-math and with -std=c11 (no FMA contraction) every clone
 * computes bit-identical results; only the vector width differs (the vectorized exp
 * of a sigmoid runs 4-5x faster with AVX-512 than with SSE2). Off for other compilers,
 * non-x86-64 targets and sanitizer builds. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !defined(EST_NO_CLONES)
#define EST_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EST_SIMD_CLONES
#endif

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

/* ---- optimizer updates shared by est_apply_* and the fused dense backward -------------
 * est__opt_make checks an update's arguments as est_apply_<kind> does (kind an
 * est_update_kind; slots and hyperparameters as est_dense_backward_update lists them)
 * and resolves the rate (Adam: lr sqrt(1 - beta2^t) / (1 - beta1^t)), reading the
 * pointers once; est__opt_range applies the update to elements [lo, hi) (est_optim.inc).
 * Both entry points use them, so a fused update gives the same bits as est_apply_*. */
#define EST__DECLARE_OPT(T, SFX_)                                                             \
    typedef struct est__opt_args##SFX_ {                                                      \
        int kind, flag; /* flag: nesterov (momentum, adam) or centered (rmsprop) */           \
        T *var, *s1, *s2, *s3;                                                                \
        const T *grad;                                                                        \
        T lr, h1, h2, h3; /* momentum | rho, momentum, eps | beta1, beta2, eps */            \
    } est__opt_args##SFX_;                                                                    \
    est_status est__opt_make##SFX_(int kind, int flag, T *var, T *s1, T *s2, T *s3,          \
                                   const T *grad, int64_t n, const T *lr,                     \
                                   const T *beta1_power, const T *beta2_power, T h1, T h2,    \
                                   T h3, est__opt_args##SFX_ *out);                           \
    void est__opt_range##SFX_(const est__opt_args##SFX_ *a, int64_t lo, int64_t hi);
EST__DECLARE_OPT(float, _f32)
EST__DECLARE_OPT(double, _f64)
#undef EST__DECLARE_OPT

#endif /* ESTCORE_EST_INTERNAL_H */
