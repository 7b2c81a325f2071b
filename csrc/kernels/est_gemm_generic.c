/* est_gemm_generic.c -- the portable packed GEMM (est_gemm_isa.h): plain C on scalars,
 * 4 x 8 tiles, built with the project's baseline flags (any CPU). Without FP
 * contraction (-std=c11) every multiply-add rounds twice; results are the same on
 * every compiler that keeps IEEE semantics. */
#include "est_gemm_isa.h"

#define V_ZERO() ((T)0)
#define V_SET1(x) (x)
#define V_BCAST(p) (*(p))
#define V_LOADU(p) (*(p))
#define V_STOREU(p, v) (*(p) = (v))
#define V_LOADN(p, n) (*(p))
#define V_STOREN(p, v, n) (*(p) = (v))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_MUL(a, b) ((a) * (b))
#define V_ADD(a, b) ((a) + (b))
#define V_RELU(v) ((v) < 0 ? (T)0 : (v))

#define T float
#define GSFX(name) name##_generic_f32
#define EST__GEMM_FN est__gemm_generic_f32
#define VEC float
#define VL 1
#define MR EST__MR_GENERIC
#define NVMAX 8
#define KC 256
#define MC 128
#define NC 1024
#define EST__FMA_PROBE_FN est__fma_probe_generic_f32
#include "est_gemm_driver.inc"
#undef EST__FMA_PROBE_FN
#undef T
#undef GSFX
#undef EST__GEMM_FN
#undef VEC
#undef VL
#undef MR
#undef NVMAX
#undef KC
#undef MC
#undef NC

#define T double
#define GSFX(name) name##_generic_f64
#define EST__GEMM_FN est__gemm_generic_f64
#define VEC double
#define VL 1
#define MR EST__MR_GENERIC
#define NVMAX 8
#define KC 256
#define MC 128
#define NC 512
#include "est_gemm_driver.inc"
#include "est_gemm_undef.h"
