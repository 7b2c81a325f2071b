/* est_gemm_avx512.c -- the AVX-512F packed GEMM (est_gemm_isa.h). Compiled with
 * -mavx512f (csrc/kernels/CMakeLists.txt); called only when the CPU and OS support it.
 * Tiles: 6 rows x 4 vectors (6 x 64 floats, 6 x 32 doubles): 24 accumulators, 4 B
 * vectors and a broadcast in the 32 zmm registers; per k step 4 loads and 6
 * broadcasts feed 24 FMAs. Edges use masked loads and stores. */
#include <immintrin.h>

#include "est_gemm_isa.h"

#define T float
#define GSFX(name) name##_avx512_f32
#define EST__GEMM_FN est__gemm_avx512_f32
#define VEC __m512
#define VL 16
#define MR 6
#define NVMAX 4
#define KC 128
#define MC 192
#define NC 2048
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_LOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), p)
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1u), v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_RELU(v) _mm512_max_ps(_mm512_setzero_ps(), v) /* max(0, NaN) is NaN */
#include "est_gemm_driver.inc"
#include "est_gemm_undef.h"

#define T double
#define GSFX(name) name##_avx512_f64
#define EST__GEMM_FN est__gemm_avx512_f64
#define VEC __m512d
#define VL 8
#define MR 6
#define NVMAX 4
#define KC 128
#define MC 192
#define NC 1024
#define V_ZERO() _mm512_setzero_pd()
#define V_SET1(x) _mm512_set1_pd(x)
#define V_BCAST(p) _mm512_set1_pd(*(p))
#define V_LOADU(p) _mm512_loadu_pd(p)
#define V_STOREU(p, v) _mm512_storeu_pd(p, v)
#define V_LOADN(p, n) _mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1u), p)
#define V_STOREN(p, v, n) _mm512_mask_storeu_pd(p, (__mmask8)((1u << (n)) - 1u), v)
#define V_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define V_MUL(a, b) _mm512_mul_pd(a, b)
#define V_ADD(a, b) _mm512_add_pd(a, b)
#define V_RELU(v) _mm512_max_pd(_mm512_setzero_pd(), v)
#include "est_gemm_driver.inc"
#include "est_gemm_undef.h"
