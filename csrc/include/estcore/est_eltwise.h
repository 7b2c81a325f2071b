/* est_eltwise.h -- activations and the elementwise / reduction helpers.
 *
 * Common contract for every function here:
 *   - Buffers are C-contiguous, owned by the caller, and of the stated element count;
 *     nothing is allocated. "May alias" means the exact same pointer (in-place);
 *     any other overlap is undefined.
 *   - Scalars that may change between steps (a scale, an axpy factor) are passed by
 *     pointer and read once per call; NULL means 1.
 *   - Large buffers (>= 65536 elements) are split over the default pool; concurrent
 *     calls on different output buffers are fine.
 *   - Cost: one pass over the data (activations: one transcendental per element for
 *     sigmoid/tanh/elu/selu/softplus). float32 sigmoid, tanh, elu and selu (and the
 *     float32 softmax in est_xent.h) use estcore's own vectorized exp/tanh, accurate
 *     to about 2 ulp; float64 uses libm. Hot loops are compiled for AVX-512, AVX2 and
 *     baseline x86-64 and picked at load time, with bit-identical results.
 *   - Errors: EST_ERR_INVALID_ARGUMENT for negative sizes, NULL buffers with a
 *     non-zero size, or an unknown activation code.
 */
#ifndef ESTCORE_EST_ELTWISE_H
#define ESTCORE_EST_ELTWISE_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations. The backward pass is always computed from the activation's OUTPUT y
 * (so the forward input need not be kept):
 *   NONE        y = x                                   dy/dx = 1
 *   RELU        y = max(x, 0)                           1 if y > 0 else 0
 *   RELU6       y = min(max(x, 0), 6)                   1 if 0 < y < 6 else 0
 *   SIGMOID     y = 1 / (1 + exp(-x))                   y (1 - y)
 *   TANH        y = tanh(x)                             1 - y^2
 *   ELU         y = x if x > 0 else alpha (exp(x) - 1)  1 if y > 0 else y + alpha
 *   SELU        y = s x if x > 0 else s a (exp(x) - 1)  s if y > 0 else y + s a
 *               (s = 1.0507009873554805, a = 1.6732632423543772; alpha unused)
 *   SOFTPLUS    y = log(1 + exp(x))                     1 - exp(-y)
 *   LEAKY_RELU  y = x if x > 0 else alpha x             1 if y > 0 else alpha
 * `alpha` is used by ELU (TF: 1.0) and LEAKY_RELU (TF: 0.2) and must be >= 0 for
 * them (from-output gradients need sign(y) == sign(x)). Codes are stable. */
typedef enum est_act {
    EST_ACT_NONE = 0,
    EST_ACT_RELU = 1,
    EST_ACT_RELU6 = 2,
    EST_ACT_SIGMOID = 3,
    EST_ACT_TANH = 4,
    EST_ACT_ELU = 5,
    EST_ACT_SELU = 6,
    EST_ACT_SOFTPLUS = 7,
    EST_ACT_LEAKY_RELU = 8,
    EST_ACT__COUNT
} est_act;

/* y[i] = act(x[i]) for n elements; y may alias x. */
est_status est_act_forward_f32(const float *x, float *y, int64_t n, est_act act, float alpha);
est_status est_act_forward_f64(const double *x, double *y, int64_t n, est_act act, double alpha);

/* dx[i] = dy[i] * act'(from y[i]) for n elements; dx may alias dy. */
est_status est_act_backward_f32(const float *y, const float *dy, float *dx, int64_t n, est_act act,
                                float alpha);
est_status est_act_backward_f64(const double *y, const double *dy, double *dx, int64_t n,
                                est_act act, double alpha);

/* out[i,j] = x[i,j] + b[j] for x [m,n], b [n]; out may alias x. */
est_status est_bias_add_f32(const float *x, const float *b, float *out, int64_t m, int64_t n);
est_status est_bias_add_f64(const double *x, const double *b, double *out, int64_t m, int64_t n);

/* Binary elementwise ops on same-shape buffers of n elements; out may alias a or b. */
typedef enum est_binop { EST_BINOP_ADD = 0, EST_BINOP_SUB = 1, EST_BINOP_MUL = 2, EST_BINOP__COUNT } est_binop;
est_status est_binary_f32(est_binop op, const float *a, const float *b, float *out, int64_t n);
est_status est_binary_f64(est_binop op, const double *a, const double *b, double *out, int64_t n);

/* dst[i] += alpha * src[i] (alpha by pointer, NULL = 1). */
est_status est_axpy_f32(const float *src, float *dst, int64_t n, const float *alpha);
est_status est_axpy_f64(const double *src, double *dst, int64_t n, const double *alpha);

/* out[i] = alpha * x[i] (alpha by pointer, NULL = 1); out may alias x. */
est_status est_scale_f32(const float *x, float *out, int64_t n, const float *alpha);
est_status est_scale_f64(const double *x, double *out, int64_t n, const double *alpha);

/* out[i] = value. */
est_status est_fill_f32(float *out, int64_t n, float value);
est_status est_fill_f64(double *out, int64_t n, double value);

/* dst[i] = src[i] (memmove semantics). */
est_status est_copy_f32(const float *src, float *dst, int64_t n);
est_status est_copy_f64(const double *src, double *dst, int64_t n);

/* Sums of x viewed as [rows, cols]:
 *   EST_REDUCE_ALL   out[0]  = sum of all elements
 *   EST_REDUCE_ROWS  out[j]  = sum_i x[i,j]  (over rows: bias gradients), out [cols]
 *   EST_REDUCE_COLS  out[i]  = sum_j x[i,j]  (within each row), out [rows]
 * mean != 0 divides by the number of summed elements (0 elements: 0/0 = NaN as
 * numpy). float32 sums over all elements accumulate in double. accumulate != 0 adds
 * to out instead of overwriting it. */
typedef enum est_reduce { EST_REDUCE_ALL = 0, EST_REDUCE_ROWS = 1, EST_REDUCE_COLS = 2 } est_reduce;
est_status est_reduce_sum_f32(const float *x, int64_t rows, int64_t cols, est_reduce axis, int mean,
                              int accumulate, float *out);
est_status est_reduce_sum_f64(const double *x, int64_t rows, int64_t cols, est_reduce axis,
                              int mean, int accumulate, double *out);

/* *value += delta (a global step). Not atomic: one writer at a time. */
est_status est_increment_i64(int64_t *value, int64_t delta);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_ELTWISE_H */
