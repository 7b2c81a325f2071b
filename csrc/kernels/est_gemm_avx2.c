/* est_gemm_avx2.c -- the AVX2 + FMA packed GEMM (est_gemm_isa.h). Compiled with
 * -mavx2 -mfma (csrc/kernels/CMakeLists.txt); called only when the CPU has both.
 * Tiles: 6 rows x 2 vectors (6 x 16 floats, 6 x 8 doubles): 12 accumulators, 2 B
 * vectors and a broadcast in the 16 ymm registers. */
#include <immintrin.h>

#include "est_gemm_isa.h"

/* Lanes [0, n) of a 256-bit mask vector, n in [1, lanes). */
static inline __m256i est__mask32(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline __m256i est__mask64(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}

#define T float
#define GSFX(name) name##_avx2_f32
#define EST__GEMM_FN est__gemm_avx2_f32
#define VEC __m256
#define VL 8
#define MR EST__MR_AVX2
#define NVMAX 2
#define KC 256
#define MC 192
#define NC 1024
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_LOADN(p, n) _mm256_maskload_ps(p, est__mask32(n))
#define V_STOREN(p, v, n) _mm256_maskstore_ps(p, est__mask32(n), v)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_RELU(v) _mm256_max_ps(_mm256_setzero_ps(), v) /* max(0, NaN) is NaN */
#define EST__FMA_PROBE_FN est__fma_probe_avx2_f32
#include "est_gemm_driver.inc"
#undef EST__FMA_PROBE_FN
#include "est_gemm_undef.h"

#define T double
#define GSFX(name) name##_avx2_f64
#define EST__GEMM_FN est__gemm_avx2_f64
#define VEC __m256d
#define VL 4
#define MR EST__MR_AVX2
#define NVMAX 2
#define KC 256
#define MC 96
#define NC 512
#define V_ZERO() _mm256_setzero_pd()
#define V_SET1(x) _mm256_set1_pd(x)
#define V_BCAST(p) _mm256_broadcast_sd(p)
#define V_LOADU(p) _mm256_loadu_pd(p)
#define V_STOREU(p, v) _mm256_storeu_pd(p, v)
#define V_LOADN(p, n) _mm256_maskload_pd(p, est__mask64(n))
#define V_STOREN(p, v, n) _mm256_maskstore_pd(p, est__mask64(n), v)
#define V_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define V_MUL(a, b) _mm256_mul_pd(a, b)
#define V_ADD(a, b) _mm256_add_pd(a, b)
#define V_RELU(v) _mm256_max_pd(_mm256_setzero_pd(), v)
#include "est_gemm_driver.inc"
#include "est_gemm_undef.h"
