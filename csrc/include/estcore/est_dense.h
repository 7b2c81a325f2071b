/* est_dense.h -- the fused dense layer: y = act(x @ W + b), forward and backward.
 *
 * Shapes (all C-contiguous row-major, all owned by the caller, nothing allocated):
 *   x [m,k]   W [k,n]   b [n] or NULL   y [m,n]   dy, dz [m,n]   dW [k,n]   db [n]   dx [m,k]
 * Threads: the GEMMs are split over the default pool (est_blas.h). Forward: each task
 * owns a block of y (rows, or columns when n > m so that W is not repacked by every
 * task) and applies bias + activation to it right after its GEMM, in sub-blocks of
 * about 256 KiB, while they are still in cache. Where x is wide and y small (k >= 512,
 * k >= n, y within 256 KiB) the forward sums over K in two halves fixed by the shape,
 * y = act((x[:, :h] W[:h] + x[:, h:] W[h:]) + b), h the multiple of 8 nearest k / 2,
 * the halves' products side by side, then one pass for the sum, bias and activation
 * (the same bits for any thread count). Backward: dz and db in one pass by
 * column blocks, then the dW and dx GEMMs together in one pool round trip.
 * Concurrent calls on different outputs are fine.
 * Errors: EST_ERR_INVALID_ARGUMENT (negative or too large sizes, NULLs where a
 * buffer is required, unknown activation, negative alpha for ELU/LEAKY_RELU),
 * EST_ERR_OUT_OF_MEMORY (the forward over K halves could not get its m x n scratch;
 * nothing is written then).
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

/* est_dense_backward (accumulate 0, dw given) with one optimizer update of the
 * layer's weight applied on the way (kind: est_update_kind; the update's gradient is
 * dw, k * n elements): each block of dW = x^T @ dz followed at once by the update of
 * the same block of var and its slots (est_apply_<kind>'s formula and rounding), while
 * the block of dW is still in cache. One parallel region: each task owns a block of
 * rows of W, makes its own copy of dz, writes its share of the columns of db and dz,
 * takes its columns of dx = dz @ W^T from its rows of W (dx reads w, which may be var)
 * and then updates those rows (est_dense.inc; dz in place, or the copies of dz of all
 * threads over 2^21 elements: dz, dx and dW in turn instead). The result equals
 * est_dense_backward + est_apply_<kind>(var, ..., dw) bit for bit; dw is still
 * written. var and the slots must not overlap any other argument, except that var
 * may be w itself. Slots and hyperparameters, as est_apply_<kind> takes them:
 *   SGD       -                    lr
 *   MOMENTUM  s1 accum             lr, h1 momentum, flag nesterov
 *   ADAGRAD   s1 accum             lr
 *   RMSPROP   s1 ms, s2 mom, s3 mg lr, h1 rho, h2 momentum, h3 eps, flag centered
 *   ADAM      s1 m, s2 v           lr, beta1_power, beta2_power, h1 beta1, h2 beta2,
 *                                  h3 eps, flag nesterov
 * (unused slots and pointers may be NULL). Hyperparameters behind pointers are read
 * once per call. keep_dw 0: dw's values are not needed afterwards (its contents are
 * then unspecified): each block of dW lives only in the thread's scratch, by blocks of
 * rows of W, and dw is written at most where a thread could not get its scratch; the
 * same var and slots, bit for bit. */
est_status est_dense_backward_update_f32(const float *x, const float *w, const float *y,
                                         const float *dy, float *dz, float *dw, float *db,
                                         float *dx, int64_t m, int64_t k, int64_t n, est_act act,
                                         float alpha, int kind, float *var, float *s1, float *s2,
                                         float *s3, const float *lr, const float *beta1_power,
                                         const float *beta2_power, float h1, float h2, float h3,
                                         int flag, int keep_dw);
est_status est_dense_backward_update_f64(const double *x, const double *w, const double *y,
                                         const double *dy, double *dz, double *dw, double *db,
                                         double *dx, int64_t m, int64_t k, int64_t n, est_act act,
                                         double alpha, int kind, double *var, double *s1,
                                         double *s2, double *s3, const double *lr,
                                         const double *beta1_power, const double *beta2_power,
                                         double h1, double h2, double h3, int flag,
                                         int keep_dw);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_DENSE_H */
