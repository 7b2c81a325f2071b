/* est_dense.h -- the fused dense layer: y = act(x @ W + b), forward and backward.
 *
 * Shapes (all C-contiguous row-major, all owned by the caller, nothing allocated):
 *   x [m,k]   W [k,n]   b [n] or NULL   y [m,n]   dy, dz [m,n]   dW [k,n]   db [n]   dx [m,k]
 * Threads: the GEMMs are split over the default pool (est_blas.h). Forward: each task
 * owns a block of y (rows, or columns when n > m so that W is not repacked by every
 * task) and applies bias + activation to it right after its GEMM, in sub-blocks of
 * about 256 KiB, while they are still in cache. Backward: dz and db in one pass by
 * column blocks, then the dW and dx GEMMs together in one pool round trip.
 * Concurrent calls on different outputs are fine.
 * Errors: EST_ERR_INVALID_ARGUMENT (negative or too large sizes, NULLs where a
 * buffer is required, unknown activation, negative alpha for ELU/LEAKY_RELU),
 * EST_ERR_FAILED_PRECONDITION (no BLAS installed, est_blas_set).
 */
#ifndef ESTCORE_EST_DENSE_H
#define ESTCORE_EST_DENSE_H

#include "estcore/est_eltwise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = act(x @ W + b). y must not overlap x, W or b.
 * Cost: 2*m*k*n flops (BLAS) + one pass over y. */
est_status est_dense_forward_f32(const float *x, const float *w, const float *b, float *y,
                                 int64_t m, int64_t k, int64_t n, est_act act, float alpha);
est_status est_dense_forward_f64(const double *x, const double *w, const double *b, double *y,
                                 int64_t m, int64_t k, int64_t n, est_act act, double alpha);

/* Backward of est_dense_forward, from the forward OUTPUT y and the gradient dy:
 *   dz = dy * act'(y)      into dz (may be dy itself: in place). With EST_ACT_NONE dz
 *                          is not written and may be NULL (dy is used directly); y may
 *                          then be NULL too.
 *   dW (+)= x^T @ dz       skipped when dw is NULL (x may then be NULL)
 *   db (+)= sum_rows(dz)   skipped when db is NULL
 *   dx (+)= dz @ W^T       skipped when dx is NULL (input layers; W may then be NULL)
 * accumulate != 0 adds into dW, db, dx (beta = 1); 0 overwrites them.
 * Outputs must not overlap each other or the inputs (except dz == dy).
 * Cost: 4*m*k*n flops (2 GEMMs) + two passes over dz. */
est_status est_dense_backward_f32(const float *x, const float *w, const float *y, const float *dy,
                                  float *dz, float *dw, float *db, float *dx, int64_t m, int64_t k,
                                  int64_t n, est_act act, float alpha, int accumulate);
est_status est_dense_backward_f64(const double *x, const double *w, const double *y,
                                  const double *dy, double *dz, double *dw, double *db, double *dx,
                                  int64_t m, int64_t k, int64_t n, est_act act, double alpha,
                                  int accumulate);

/* est_dense_backward (no dx, accumulate 0) with TF1's Adam update of the layer's weight
 * applied on the way: each block of dW = x^T @ dz is followed at once by
 *   var/m/v (Adam, est_apply_adam's formula and rounding) on the same block,
 * so the result equals est_dense_backward + est_apply_adam(var, m, v, dw) bit for bit,
 * with the block of dW still in cache. dw is still written (the gradient). var must
 * not be read by this layer's backward (there is no dx) and must not overlap any
 * other argument. Hyperparameters behind pointers are read once per call. */
est_status est_dense_backward_adam_f32(const float *x, const float *y, const float *dy, float *dz,
                                       float *dw, float *db, int64_t m, int64_t k, int64_t n,
                                       est_act act, float alpha, float *var, float *ms, float *vs,
                                       const float *beta1_power, const float *beta2_power,
                                       const float *lr, float beta1, float beta2, float eps,
                                       int nesterov);
est_status est_dense_backward_adam_f64(const double *x, const double *y, const double *dy,
                                       double *dz, double *dw, double *db, int64_t m, int64_t k,
                                       int64_t n, est_act act, double alpha, double *var,
                                       double *ms, double *vs, const double *beta1_power,
                                       const double *beta2_power, const double *lr,
                                       double beta1, double beta2, double eps, int nesterov);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_DENSE_H */
