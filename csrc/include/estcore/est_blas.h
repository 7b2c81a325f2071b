/* est_blas.h -- estcore's own GEMM: packed panels, register-blocked micro-kernels,
 * one instruction set picked at run time, split over estcore's thread pool.
 *
 * Design (BLIS-style; no BLAS library is linked or loaded):
 *   - op(B) is packed in blocks of KC x NC (KC rows of the inner dimension, kept in
 *     L2/L3), cut into panels NR columns wide; op(A) in blocks of MC x KC cut into
 *     panels MR rows high. A micro-kernel computes one MR x NR tile of C from one A
 *     panel and one B panel with the tile held in vector registers (NR spans whole
 *     vectors, A elements are broadcast). The B panel (KC x NR) stays in L1 while
 *     the A panels of the block stream past it. Edges: A panels are zero-padded to
 *     MR rows (only the real rows are stored) and the last rows of C, fewer than MR,
 *     are computed by a tile of exactly that many rows on panels of the full tile
 *     width (vector ISAs); B panels use as many vectors as the remaining columns need, the
 *     last one masked; tiles that need at most half the vectors cover two A panels
 *     (2 MR rows) to keep enough independent FMA chains. Packing reads either layout
 *     (trans flags), so transposed operands cost no extra pass (AVX-512 transposes
 *     whole B panels in registers). When op(B) is at most four panels wide, every
 *     element of op(A) feeds that few tiles, so whole A panels are read in place
 *     instead of packed; with one block of rows (m <= MC) each B panel is packed just
 *     before its pass of tiles, and a whole panel of an untransposed B is not packed
 *     but read in place (its rows are NR contiguous elements).
 *   - Instruction sets: AVX-512F (MR x NR = 6 x 64 floats / 6 x 32 doubles), AVX2+FMA
 *     (6 x 16 / 6 x 8) and portable C (4 x 8), each compiled from its own source file
 *     with its own target flags. The best one the CPU (and OS) supports is chosen on
 *     first use (__builtin_cpu_supports); the environment variable
 *     ESTCORE_ISA=avx512|avx2|generic forces one (an ISA the CPU lacks falls back to
 *     the best one it has; an unknown value is ignored), and est_gemm_set_isa()
 *     switches at run time (tests use it to run every path in turn).
 *   - Epilogue in the micro-kernel's store, on the tile while it is in registers:
 *     C = alpha * acc + beta * C (beta == 0: C is not read, beta == 1: one add), then,
 *     for kernels that ask for it (internal entry point), + bias[col] and ReLU.
 *   - Numerics: every element of C is one chain of FMAs over k in increasing order,
 *     restarted (through beta = 1) every KC steps. The order depends on the ISA and
 *     KC only, never on the thread count or the split: results are bit-identical
 *     across runs and thread counts for a given ISA; ISAs differ in rounding only.
 *     Documented tolerance against an exact (float64 / long) reference, which the
 *     tests assert: |C - ref| <= 2 k eps (|alpha| (|op(A)| @ |op(B)|) + |beta| |C0|)
 *     + 2 eps |ref| (tests/lib/test_kernels_gemm.py; eps of the dtype), and for
 *     random operands |C - ref| <= 1e-6 (float32) / 1e-13 (float64) times
 *     (1 + |ref|) sqrt(k) (csrc/kernels/tests/test_gemm.c).
 *
 * Threads: large products are split over the default pool (est_threadpool.h) in a
 * grid of blocks of C (est__gemm_grid: the grid that repacks the least); each block
 * is a serial packed GEMM writing a disjoint part of C. Small ones run on the caller.
 *
 * Memory: each thread that runs a GEMM keeps one packing workspace (about 1.2 MiB,
 * allocated on its first GEMM, freed when the thread exits; a pthread key owns it).
 * If it cannot be allocated, the GEMM runs with small blocks in a stack buffer
 * (slower, same results up to the changed KC). Nothing else is allocated.
 *
 * Global state: the selected ISA, a C11 atomic (set once on first use, or by
 * est_gemm_set_isa). Calls already running keep the ISA they read at their start
 * for each serial block; do not switch while GEMMs run if bit-identity matters.
 */
#ifndef ESTCORE_EST_BLAS_H
#define ESTCORE_EST_BLAS_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The GEMM instruction sets. Values are stable. */
typedef enum est_isa {
    EST_ISA_AUTO = 0,     /* the best one the CPU supports (est_gemm_set_isa only) */
    EST_ISA_GENERIC = 1,  /* portable C, any CPU */
    EST_ISA_AVX2 = 2,     /* x86-64 AVX2 + FMA */
    EST_ISA_AVX512 = 3,   /* x86-64 AVX-512F */
    EST_ISA__COUNT
} est_isa;

/* 1 when this build has the ISA's kernels and the CPU/OS can run them. AUTO and
 * GENERIC are always supported. Thread-safe, cheap after the first call. */
int est_gemm_isa_supported(est_isa isa);

/* The ISA every GEMM uses now (resolving ESTCORE_ISA on first use). Thread-safe. */
est_isa est_gemm_get_isa(void);

/* Use `isa` from now on (AUTO: the best supported; the environment variable is not
 * read again). Errors: EST_ERR_INVALID_ARGUMENT (unknown value, or not supported
 * here: nothing changes). Thread-safe. */
est_status est_gemm_set_isa(est_isa isa);

/* "auto", "generic", "avx2", "avx512"; "unknown" otherwise. Static strings. */
const char *est_isa_name(est_isa isa);

/* Row-major GEMM: C[m,n] := alpha * op(A) @ op(B) + beta * C.
 *   op(A) is [m,k]: A is stored [m,k] with row stride lda >= k, or [k,m] (trans_a)
 *   with lda >= m. op(B) is [k,n]: B is [k,n] (ldb >= n) or [n,k] (trans_b, ldb >= k).
 *   C is [m,n] with ldc >= n. beta == 0 overwrites C (NaNs in C are ignored);
 *   alpha == 0 or k == 0 reads neither A nor B (C := beta * C).
 * Buffers: all owned by the caller; C must not overlap A or B.
 * Threads: split over the default pool when m*n*k is large enough; concurrent calls
 * on different C buffers are fine.
 * Errors: EST_ERR_INVALID_ARGUMENT (negative or > INT_MAX sizes, bad leading
 * dimensions, NULL with a non-empty size).
 * Cost: 2*m*n*k flops plus packing: op(A) once per KC x NC block of op(B) that
 * touches it, op(B) once per block of C rows a thread computes. */
est_status est_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc);
est_status est_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                        const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                        double *c, int64_t ldc);

/* The FMA ceiling of the ISA in use, for benchmarks (benchmarks/fma_ceiling.py): runs
 * `iters` steps of 16 independent float32 vector FMA chains of that ISA's GEMM kernels
 * on the calling thread (no memory traffic) and returns the floating-point operations
 * done (2 per lane per FMA; the generic ISA counts a multiply and an add). *sink (may
 * be NULL) receives a value derived from the result. Thread-safe; allocates nothing. */
double est_fma_probe_f32(int64_t iters, float *sink);

/* Products with m*n*k below this many multiply-adds run as one serial GEMM on the
 * calling thread; larger ones are split into tasks of at least half of it (about
 * 10 us of single-core work, against a few us of task overhead). Chosen on the
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
