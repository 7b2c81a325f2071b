/* est_gemm_isa.h -- the per-ISA packed GEMM drivers behind est_gemm_f32/f64; not a
 * public header (see est_blas.h for the design).
 *
 * Each est__gemm_<isa>_<type> computes, serially on the calling thread,
 *   C[m,n] := act(alpha * op(A) @ op(B) + beta * C + bias[None, :])
 * with the arguments of est_gemm_f32/f64 already validated; `bias` may be NULL (none)
 * and act is ReLU when `relu` is non-zero, else the identity. m, n > 0, k >= 0.
 * `ws` is scratch of `ws_elems` elements, 64-byte aligned, owned by the caller and
 * used only during the call; any size >= EST__GEMM_WS_MIN_ELEMS works (smaller ones
 * shrink the blocks, which changes KC and therefore rounding). Thread-safe: no
 * global state. The AVX files are compiled with their own target flags and must
 * only be called when the CPU supports them (est_gemm_isa_supported).
 *
 * est__packb_<isa>_<type> packs a whole op(B) [k, n] once (est__packb_size_... elements,
 * a layout private to that ISA and type) and est__gemm_pb_<isa>_<type> is the GEMM
 * reading it (op(A) untransposed or transposed as ta says): threads computing
 * different rows of C share one packed B instead of each packing its own. Same bits
 * as est__gemm_<isa>_<type> with a workspace of EST__GEMM_WS_BYTES (both keep KC;
 * see est_gemm_driver.inc).
 *
 * est__packk_<isa>_<type> packs a whole op(B) as one K block (same size as packb) for
 * est__igemm_<isa>_<type>, the implicit GEMM of the convolutions: rows of op(A) are
 * addressed through row and segment offsets instead of a materialized matrix, and
 * est__kgemm_<isa>_<type> the filter gradient's, op(A) gathered through row and step
 * offsets (contracts in est_gemm_driver.inc).
 */
#ifndef ESTCORE_EST_GEMM_ISA_H
#define ESTCORE_EST_GEMM_ISA_H

#include <stddef.h>
#include <stdint.h>

/* Rows of each ISA's micro-tile (MR; a tile is MR or 2 MR rows of C), both types. */
#define EST__MR_GENERIC 4
#define EST__MR_AVX2 6
#define EST__MR_AVX512 6

/* Scratch each thread keeps for packing: the largest KC*NC + MC*KC over the ISAs and
 * types, in bytes (avx512 f32: 128 x 2048 + 192 x 128 floats = 1.1 MiB). */
#define EST__GEMM_WS_BYTES ((size_t)1280 * 1024)
/* Fallback scratch on the stack when the per-thread one cannot be allocated. */
#define EST__GEMM_WS_MIN_BYTES ((size_t)16 * 1024)

#define EST__DECLARE_GEMM_ISA(ISA, T, SFX_)                                                \
    void est__gemm_##ISA##SFX_(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,     \
                               T alpha, const T *a, int64_t lda, const T *b, int64_t ldb,     \
                               T beta, T *c, int64_t ldc, const T *bias, int relu, T *ws,     \
                               size_t ws_elems);                                           \
    int64_t est__packb_size_##ISA##SFX_(int64_t k, int64_t n);                                 \
    void est__packb_##ISA##SFX_(int tb, const T *b, int64_t ldb, int64_t k, int64_t n, T *dst); \
    void est__gemm_pb_##ISA##SFX_(int ta, int64_t m, int64_t n, int64_t k, T alpha, const T *a,  \
                                  int64_t lda, const T *bp, T beta, T *c, int64_t ldc,         \
                                  const T *bias, int relu, T *ws, size_t ws_elems);        \
    void est__packk_##ISA##SFX_(int tb, const T *b, int64_t ldb, int64_t k, int64_t n, T *dst); \
    void est__igemm_##ISA##SFX_(int64_t m, int64_t n, const T *a, const int64_t *roff,         \
                                const int32_t *vseg, const int32_t *cseg,                      \
                                const int64_t *crow, int64_t nseg, const int64_t *aoff,        \
                                int64_t kseg, const T *bp, int64_t ktot, T beta, T *c,         \
                                int64_t ldc, const T *bias, int relu);                     \
    void est__kgemm_##ISA##SFX_(int64_t m, int64_t n, const T *a, const int64_t *roff,         \
                                const int32_t *rvalid, int64_t period,                         \
                                const int32_t *cvalid, int64_t cperiod, const int64_t *koff,   \
                                int64_t k, const T *bp, T beta, T *c, int64_t ldc);
EST__DECLARE_GEMM_ISA(generic, float, _f32)
EST__DECLARE_GEMM_ISA(generic, double, _f64)
#if defined(EST_HAVE_X86_GEMM)
EST__DECLARE_GEMM_ISA(avx2, float, _f32)
EST__DECLARE_GEMM_ISA(avx2, double, _f64)
EST__DECLARE_GEMM_ISA(avx512, float, _f32)
EST__DECLARE_GEMM_ISA(avx512, double, _f64)
#endif
#undef EST__DECLARE_GEMM_ISA

/* FMA probes (est_gemm_driver.inc): `iters` steps of 16 independent vector FMAs of
 * the ISA's float32 kernels on the calling thread. */
float est__fma_probe_generic_f32(int64_t iters);
#if defined(EST_HAVE_X86_GEMM)
float est__fma_probe_avx2_f32(int64_t iters);
float est__fma_probe_avx512_f32(int64_t iters);
#endif

#endif /* ESTCORE_EST_GEMM_ISA_H */
