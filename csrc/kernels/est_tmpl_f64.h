/* Template parameters for the float64 instantiation of an est_*.inc body. */
#define T double
#define SFX(name) name##_f64
#define EST_GEMM_SERIAL est__gemm_serial_f64
#define EST_GEMM_EPI est__gemm_epi_f64
#define EST_GEMM est_gemm_f64
#define EST_GEMM_ARGS est__gemm_args_f64
#define EST_GEMM2 est__gemm2_f64
#define EST_GEMM_PLAN est__gemm_plan_f64
#define EST_GEMM_BLOCK est__gemm_block_f64
#define EST_EXP exp
#define EST_TANH tanh
#define EST_EXPM1 expm1
#define EST_SQRT sqrt
