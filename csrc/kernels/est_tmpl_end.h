/* Clears the template parameters set by est_tmpl_f32.h / est_tmpl_f64.h. */
#undef T
#undef SFX
#undef EST_GEMM_SERIAL
#undef EST_GEMM_EPI
#undef EST_GEMM
#undef EST_GEMM_ARGS
#undef EST_GEMM2
#undef EST_GEMM_PLAN
#undef EST_GEMM_BLOCK
#undef EST_EXP
#undef EST_TANH
#undef EST_EXPM1
#undef EST_SQRT
