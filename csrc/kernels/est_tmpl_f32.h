/* Template parameters for the float32 instantiation of an est_*.inc body. */
#define T float
#define SFX(name) name##_f32
#define EST_GEMM_SERIAL est__gemm_serial_f32
#define EST_GEMM_EPI est__gemm_epi_f32
#define EST_GEMM est_gemm_f32
#define EST_GEMM_ARGS est__gemm_args_f32
#define EST_GEMM2 est__gemm2_f32
#define EST_GEMM_PLAN est__gemm_plan_f32
#define EST_GEMM_BLOCK est__gemm_block_f32
#define EST_EXP est__exp_f32
#define EST_TANH est__tanh_f32
#define EST_EXPM1(v) (est__exp_f32(v) - 1.0f) /* TF's elu: exp(x) - 1 */
#define EST_SQRT sqrtf
