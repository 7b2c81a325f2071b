/* est_optim.h -- optimizer updates with TensorFlow 1 semantics, one pass per variable.
 *
 * Every update reads each element of var, its slots and grad once and writes var and
 * the slots in place. Hyperparameters that a schedule may change per step (lr, beta
 * powers) are read through pointers at call time; the others are values.
 *   SGD       var -= lr * g
 *   Momentum  accum = momentum * accum + g
 *             var -= lr * accum                       (nesterov: lr * (g + momentum * accum))
 *   Adagrad   accum += g^2;  var -= lr * g / sqrt(accum)
 *             (initial_accumulator_value is the caller's initial fill of accum)
 *   RMSProp   ms = rho * ms + (1 - rho) g^2
 *             centered: mg = rho * mg + (1 - rho) g;  denom = ms - mg^2 + eps
 *             else denom = ms + eps
 *             mom = momentum * mom + lr * g / sqrt(denom);  var -= mom
 *   Adam      lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
 *             m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *             var -= lr_t * m / (sqrt(v) + eps)
 *             (nesterov: var -= lr_t * (beta1 m + (1 - beta1) g) / (sqrt(v) + eps))
 *             The beta powers are NOT updated here; TF updates them once per step
 *             after all variables (est_scale_* by beta1 / beta2).
 * Buffers: n elements each, caller-owned, non-overlapping (grad may not alias a slot).
 * Threads: split over the default pool for n >= 65536. Concurrent calls on different
 * variables are fine. Errors: EST_ERR_INVALID_ARGUMENT (negative n, NULLs). Cost: one
 * pass, one sqrt per element (adagrad, rmsprop, adam).
 */
#ifndef ESTCORE_EST_OPTIM_H
#define ESTCORE_EST_OPTIM_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The update kinds, for an update fused into a layer's backward
 * (est_dense_backward_update, est_dense.h). */
typedef enum est_update_kind {
    EST_UPDATE_SGD = 0,
    EST_UPDATE_MOMENTUM = 1,
    EST_UPDATE_ADAGRAD = 2,
    EST_UPDATE_RMSPROP = 3,
    EST_UPDATE_ADAM = 4
} est_update_kind;

est_status est_apply_sgd_f32(float *var, const float *grad, int64_t n, const float *lr);
est_status est_apply_sgd_f64(double *var, const double *grad, int64_t n, const double *lr);

est_status est_apply_momentum_f32(float *var, float *accum, const float *grad, int64_t n,
                                  const float *lr, float momentum, int nesterov);
est_status est_apply_momentum_f64(double *var, double *accum, const double *grad, int64_t n,
                                  const double *lr, double momentum, int nesterov);

est_status est_apply_adagrad_f32(float *var, float *accum, const float *grad, int64_t n,
                                 const float *lr);
est_status est_apply_adagrad_f64(double *var, double *accum, const double *grad, int64_t n,
                                 const double *lr);

/* mg is used (and must be non-NULL) only when centered != 0. */
est_status est_apply_rmsprop_f32(float *var, float *ms, float *mom, float *mg, const float *grad,
                                 int64_t n, const float *lr, float rho, float momentum, float eps,
                                 int centered);
est_status est_apply_rmsprop_f64(double *var, double *ms, double *mom, double *mg,
                                 const double *grad, int64_t n, const double *lr, double rho,
                                 double momentum, double eps, int centered);

est_status est_apply_adam_f32(float *var, float *m, float *v, const float *grad, int64_t n,
                              const float *beta1_power, const float *beta2_power, const float *lr,
                              float beta1, float beta2, float eps, int nesterov);
est_status est_apply_adam_f64(double *var, double *m, double *v, const double *grad, int64_t n,
                              const double *beta1_power, const double *beta2_power,
                              const double *lr, double beta1, double beta2, double eps,
                              int nesterov);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_OPTIM_H */
