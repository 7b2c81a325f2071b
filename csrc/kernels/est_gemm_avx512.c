/* est_gemm_avx512.c -- the AVX-512F packed GEMM (est_gemm_isa.h). Compiled with
 * -mavx512f (csrc/kernels/CMakeLists.txt); called only when the CPU and OS support it.
 * Tiles: 6 rows x 4 vectors (6 x 64 floats, 6 x 32 doubles): 24 accumulators, 4 B
 * vectors and a broadcast in the 32 zmm registers; per k step 4 loads and 6
 * broadcasts feed 24 FMAs. Edges use masked loads and stores. */
#include <immintrin.h>

#include "est_gemm_isa.h"

/* ---- packing a whole B panel from transposed storage (op(B) = B^T) ----------------
 * A panel of NR = 4 * VL columns of op(B) is NR stored rows of B; they are read in
 * VL x VL blocks, transposed in registers and stored as VL rows of the panel. The
 * transpose exchanges the off-diagonal h x h blocks of each 2h x 2h block for
 * h = VL/2, ..., 1 (rows r and r + h, one two-source permute each), so no element
 * is touched by a scalar load or store. Tail steps (kc not a multiple of VL) use
 * masked, fault-free loads and store only the rows that exist. The loops over the
 * rows and stages must unroll completely so the rows stay in registers (rolled, GCC
 * keeps them on the stack: 3136 x 1024 floats packed at 9 GB/s instead of 18). */
#define EST__UNROLL_ALL _Pragma("GCC unroll 16")

/* Permute indices of the exchange at block size h, for VL lanes: lo keeps the
 * first h lanes of each 2h-chunk of row r and takes row r+h's first h lanes into the
 * second; hi takes row r's second h lanes and keeps row r+h's. (Indices >= VL select
 * from the second source.) */
static void est__tr_idx(int vl, int h, int32_t *lo, int32_t *hi) {
    for (int e = 0; e < vl; e++) {
        int second = (e / h) % 2;
        lo[e] = second ? vl + e - h : e;
        hi[e] = second ? vl + e : e + h;
    }
}

static void est__pack_bt_ps(const float *src, int64_t ldb, int64_t kc, float *dst) {
    __m512i lo[4], hi[4];
    for (int s = 0, h = 8; h >= 1; s++, h /= 2) {
        _Alignas(64) int32_t l[16], u[16];
        est__tr_idx(16, h, l, u);
        lo[s] = _mm512_load_si512(l);
        hi[s] = _mm512_load_si512(u);
    }
    for (int jb = 0; jb < 4; jb++) {
        const float *rows = src + (int64_t)jb * 16 * ldb;
        for (int64_t pb = 0; pb < kc; pb += 16) {
            const int cnt = kc - pb < 16 ? (int)(kc - pb) : 16;
            const __mmask16 mask = (__mmask16)((1u << cnt) - 1u);
            __m512 r[16];
            EST__UNROLL_ALL for (int i = 0; i < 16; i++)
                r[i] = _mm512_maskz_loadu_ps(mask, rows + i * ldb + pb);
            EST__UNROLL_ALL for (int s = 0; s < 4; s++)
                EST__UNROLL_ALL for (int i = 0; i < 16; i++) {
                    const int h = 8 >> s;
                    if (i & h) continue;
                    __m512 a = r[i], b = r[i + h];
                    r[i] = _mm512_permutex2var_ps(a, lo[s], b);
                    r[i + h] = _mm512_permutex2var_ps(a, hi[s], b);
                }
            for (int q = 0; q < cnt; q++) _mm512_storeu_ps(dst + (pb + q) * 64 + jb * 16, r[q]);
        }
    }
}

static void est__pack_bt_pd(const double *src, int64_t ldb, int64_t kc, double *dst) {
    __m512i lo[3], hi[3];
    for (int s = 0, h = 4; h >= 1; s++, h /= 2) {
        _Alignas(64) int64_t l[8], u[8];
        int32_t l32[8], u32[8];
        est__tr_idx(8, h, l32, u32);
        for (int e = 0; e < 8; e++) { l[e] = l32[e]; u[e] = u32[e]; }
        lo[s] = _mm512_load_si512(l);
        hi[s] = _mm512_load_si512(u);
    }
    for (int jb = 0; jb < 4; jb++) {
        const double *rows = src + (int64_t)jb * 8 * ldb;
        for (int64_t pb = 0; pb < kc; pb += 8) {
            const int cnt = kc - pb < 8 ? (int)(kc - pb) : 8;
            const __mmask8 mask = (__mmask8)((1u << cnt) - 1u);
            __m512d r[8];
            EST__UNROLL_ALL for (int i = 0; i < 8; i++)
                r[i] = _mm512_maskz_loadu_pd(mask, rows + i * ldb + pb);
            EST__UNROLL_ALL for (int s = 0; s < 3; s++)
                EST__UNROLL_ALL for (int i = 0; i < 8; i++) {
                    const int h = 4 >> s;
                    if (i & h) continue;
                    __m512d a = r[i], b = r[i + h];
                    r[i] = _mm512_permutex2var_pd(a, lo[s], b);
                    r[i + h] = _mm512_permutex2var_pd(a, hi[s], b);
                }
            for (int q = 0; q < cnt; q++) _mm512_storeu_pd(dst + (pb + q) * 32 + jb * 8, r[q]);
        }
    }
}

#define T float
#define GSFX(name) name##_avx512_f32
#define EST__GEMM_FN est__gemm_avx512_f32
#define VEC __m512
#define VL 16
#define MR EST__MR_AVX512
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
#define V_PACK_BT(src, ldb, kc, dst) est__pack_bt_ps(src, ldb, kc, dst)
#define EST__FMA_PROBE_FN est__fma_probe_avx512_f32
#include "est_gemm_driver.inc"
#undef EST__FMA_PROBE_FN
#include "est_gemm_undef.h"

#define T double
#define GSFX(name) name##_avx512_f64
#define EST__GEMM_FN est__gemm_avx512_f64
#define VEC __m512d
#define VL 8
#define MR EST__MR_AVX512
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
#define V_PACK_BT(src, ldb, kc, dst) est__pack_bt_pd(src, ldb, kc, dst)
#include "est_gemm_driver.inc"
#include "est_gemm_undef.h"
