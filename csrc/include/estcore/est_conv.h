/* est_conv.h -- 2-D convolution (NHWC input, HWIO filter) and 2-D pooling (NHWC).
 *
 * Geometry follows TensorFlow: padding SAME gives out = ceil(in / stride) and pads
 * max((out - 1) * stride + k - in, 0) in total, the smaller half before (top/left);
 * VALID gives out = ceil((in - k + 1) / stride). Dilation is 1.
 *
 * Convolution is an implicit GEMM (no im2col matrix): each image is copied,
 * zero-padded, into the running thread's scratch and the GEMM tiles read each window
 * row's k_w * in_c contiguous elements straight from it, the filter packed once per
 * call and shared by all threads (est__igemm, est_gemm_driver.inc). Images of at most
 * 256 pixels in batches of at least 48 go 3 at a time into one GEMM (fixed groups of
 * consecutive images, the last one short), so that the few pixels at each edge fill
 * whole tiles that skip the padded taps; a tile's rows may then come from different
 * images of a group. Where a filter holds inf or NaN, 0 * inf from a padded tap a
 * tile-mate needs can make NaN outputs, so which outputs get NaN depends on the
 * geometry and the batch (never on the thread count). The input
 * gradient with stride 1 and in_c >= 16 is the same kind of product: dz padded by
 * k - 1 - pad, convolved with the filter flipped and transposed per tap; otherwise
 * it computes dcol = dz @ f^T per image in chunks of rows (about 1 MiB) into a
 * per-thread scratch and adds each chunk into dx (col2im) at once. The filter
 * gradient gathers its GEMM operand the same way (est__kgemm: for each output pixel
 * of a group of images, a tap's channels in the padded image), the group's dz packed
 * as the other operand, in groups of whole images (>= 256 output rows per group) and
 * fixed chunks of groups (at most 16, their partial sums at most 2^21 elements; a
 * function of the geometry only): each chunk accumulates its own partial sum of df
 * (kept in the caller thread's shared buffer) and the partial sums are then added in
 * chunk order, so the result is the same for any thread count; the bias gradient
 * rides along (each group's column sums of dz, taken while the group's dz is in cache
 * from its packing, into the chunk's partial sum). With fewer than 2 chunks the rows
 * of df are split over the tasks instead (and db is a separate sum over dz). A 1x1
 * stride-1 convolution multiplies the input itself. The filter HWIO
 * [k_h,k_w,in_c,out_c] is, row-major, already the [k_h*k_w*in_c, out_c] GEMM operand.
 * The `col` argument of the functions below is no longer read (est_conv2d_col_size
 * is 0); it may be NULL.
 *
 * Pooling: max ignores padded positions; avg divides by the number of VALID
 * (non-padded) positions in each window (TF semantics). Max backward routes each
 * output gradient to the FIRST maximum of its window in row-major window order
 * (ky, then kx), as TF does; a NaN in a window makes that output NaN (NaN propagates,
 * so NaN checks still see it) and the first NaN receives the gradient. Max pooling
 * runs branch-free over contiguous channels (vectorized, compiled per ISA).
 *
 * Buffers: all C-contiguous, owned by the caller; the kernels' own per-thread scratch,
 * packed filter and filter-gradient partial sums grow on first use and live until the
 * thread exits (allocated again only for a larger convolution). Outputs must not
 * overlap inputs. Threads: split over the default pool by images or those groups of
 * images (implicit GEMMs, col2im, pooling), by output pixels (1x1 stride 1), by
 * chunks of images or rows of df (filter gradient, then its partial sums by
 * elements), several tasks per thread claimed dynamically. Concurrent calls on
 * different buffers are fine.
 * Errors: EST_ERR_INVALID_ARGUMENT (bad geometry, NULLs, unknown activation),
 * EST_ERR_OUT_OF_MEMORY (a thread's scratch could not be allocated; outputs are then
 * undefined).
 */
#ifndef ESTCORE_EST_CONV_H
#define ESTCORE_EST_CONV_H

#include "estcore/est_eltwise.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum est_padding { EST_PADDING_VALID = 0, EST_PADDING_SAME = 1 } est_padding;

/* Geometry of a convolution or pooling window; filled by est_window_init. For pooling
 * out_c == in_c. */
typedef struct est_window {
    int64_t batch, in_h, in_w, in_c;
    int64_t k_h, k_w, out_c;
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left;
    int64_t out_h, out_w;
} est_window;

/* Fill *out from the input shape [batch,in_h,in_w,in_c], the window k_h x k_w,
 * out_c output channels, strides and padding. Errors: EST_ERR_INVALID_ARGUMENT for
 * non-positive window/strides/channels, negative sizes, VALID windows larger than the
 * input, or sizes whose products overflow. Pure. */
est_status est_window_init(int64_t batch, int64_t in_h, int64_t in_w, int64_t in_c, int64_t k_h,
                           int64_t k_w, int64_t out_c, int64_t stride_h, int64_t stride_w,
                           est_padding padding, est_window *out);

/* Elements of the `col` scratch: 0 (no path uses one now; kept for existing callers).
 * Pure. */
int64_t est_conv2d_col_size(const est_window *g);

/* y = act(conv2d(x, f) + b): x [batch,in_h,in_w,in_c], f [k_h,k_w,in_c,out_c],
 * b [out_c] or NULL, y [batch,out_h,out_w,out_c], col unused (may be NULL).
 * Cost: 2*batch*out_h*out_w*k_h*k_w*in_c*out_c flops + the padded copy of the input
 * (implicit GEMM). */
est_status est_conv2d_forward_f32(const est_window *g, const float *x, const float *f,
                                  const float *b, float *y, float *col, est_act act, float alpha);
est_status est_conv2d_forward_f64(const est_window *g, const double *x, const double *f,
                                  const double *b, double *y, double *col, est_act act,
                                  double alpha);

/* Backward from y (forward output) and dy:
 *   dz = dy * act'(y) into dz (may be dy; with EST_ACT_NONE unused, may be NULL)
 *   db (+)= sum over batch,h,w of dz      (skipped when db NULL)
 *   df (+)= im2col(x)^T @ dz              (skipped when df NULL)
 *   dx (+)= col2im(dz @ f^T)              (skipped when dx NULL)
 * (as products; no im2col matrix is built, see above). accumulate != 0 adds into
 * df/db/dx. col is unused (may be NULL). */
est_status est_conv2d_backward_f32(const est_window *g, const float *x, const float *f,
                                   const float *y, const float *dy, float *dz, float *col,
                                   float *dx, float *df, float *db, est_act act, float alpha,
                                   int accumulate);
est_status est_conv2d_backward_f64(const est_window *g, const double *x, const double *f,
                                   const double *y, const double *dy, double *dz, double *col,
                                   double *dx, double *df, double *db, est_act act, double alpha,
                                   int accumulate);

/* est_conv2d_forward followed by est_max_pool2d_forward(pw, y, py) of its output,
 * bit for bit; pw's input is the conv output (pw->batch, in_h, in_w, in_c equal to
 * g's batch, out_h, out_w, out_c). Where the convolution runs image by image or by
 * groups of images (every path but 1x1 stride 1), each image of y is pooled right after
 * its group is made, while it is in cache; y is written too. py must not overlap x, f,
 * b or y. */
est_status est_conv2d_forward_pooled_f32(const est_window *g, const float *x, const float *f,
                                         const float *b, float *y, est_act act, float alpha,
                                         const est_window *pw, float *py);
est_status est_conv2d_forward_pooled_f64(const est_window *g, const double *x, const double *f,
                                         const double *b, double *y, est_act act, double alpha,
                                         const est_window *pw, double *py);

/* The filter and bias gradients of a convolution (no input gradient) whose output y
 * [batch,out_h,out_w,out_c] went through a ReLU and then a max pool of pool_kh x pool_kw
 * windows that tile it (stride = window, no padding; out_h, out_w multiples of the
 * window), from the pooled gradient pdy [batch,out_h/pool_kh,out_w/pool_kw,out_c]:
 * bit for bit est_max_pool2d_relu_backward (that pool, y, pdy) into dz followed by
 * est_conv2d_backward(g, x, NULL, NULL, dz, NULL, NULL, NULL, df, db, EST_ACT_NONE, 0,
 * accumulate). Where the filter gradient runs by chunks of images, each group's dz is
 * made in the thread's scratch right before its product (in cache) and dz is not
 * touched; otherwise the two kernels run one after the other through dz. dz's
 * contents afterwards are unspecified (scratch of y's size); it must not overlap x
 * (the pair would read x after the pool wrote dz). df or db may be NULL. */
est_status est_conv2d_backward_pooled_f32(const est_window *g, const float *x, const float *y,
                                          const float *pdy, int64_t pool_kh, int64_t pool_kw,
                                          float *dz, float *df, float *db, int accumulate);
est_status est_conv2d_backward_pooled_f64(const est_window *g, const double *x, const double *y,
                                          const double *pdy, int64_t pool_kh, int64_t pool_kw,
                                          double *dz, double *df, double *db, int accumulate);

/* The pool's picks: a byte per element of a max pool's output, where a training step
 * keeps them instead of the conv output y between its forward and its backward (10 MB
 * a step for the tutorial CNN's first conv at batch 100, written, then read back).
 * pick = the position ky * pool_kw + kx in its window of the element the pool's
 * gradient through the ReLU goes to (the first maximum in window order, as
 * est_max_pool2d_relu_backward picks it), or EST_POOL_PICK_NONE where the window's
 * maximum is not > 0 (NaN included): no gradient passes the ReLU there. */
#define EST_POOL_PICK_NONE 255

/* est_conv2d_forward_pooled with act EST_ACT_RELU, keeping the pool's picks pick
 * [batch,out_h/pool_kh,out_w/pool_kw,out_c] (py's shape, uint8) instead of y: each
 * image's (or group of images') conv output lives only in the running thread's
 * scratch while it is pooled. py is the same, bit for bit. The pool windows must
 * tile the conv output (stride = window, no padding, out_h and out_w multiples of
 * the window) and hold at most 254 elements, and the convolution must not be 1x1
 * stride 1 (that one runs as one product over every pixel, not image by image):
 * otherwise EST_ERR_INVALID_ARGUMENT. Errors also as est_conv2d_forward_pooled;
 * EST_ERR_OUT_OF_MEMORY when a thread's scratch cannot be had. */
est_status est_conv2d_forward_pooled_pick_f32(const est_window *g, const float *x,
                                              const float *f, const float *b,
                                              const est_window *pw, float *py, uint8_t *pick);
est_status est_conv2d_forward_pooled_pick_f64(const est_window *g, const double *x,
                                              const double *f, const double *b,
                                              const est_window *pw, double *py, uint8_t *pick);

/* est_conv2d_backward_pooled from the picks of est_conv2d_forward_pooled_pick instead
 * of the conv output y: the same dz, df and db, bit for bit. dz: scratch of y's size
 * (as there; its contents afterwards unspecified). */
est_status est_conv2d_backward_pooled_pick_f32(const est_window *g, const float *x,
                                               const uint8_t *pick, const float *pdy,
                                               int64_t pool_kh, int64_t pool_kw, float *dz,
                                               float *df, float *db, int accumulate);
est_status est_conv2d_backward_pooled_pick_f64(const est_window *g, const double *x,
                                               const uint8_t *pick, const double *pdy,
                                               int64_t pool_kh, int64_t pool_kw, double *dz,
                                               double *df, double *db, int accumulate);

/* est_max_pool2d_relu_backward (window g, which must tile its input: stride = window,
 * no padding, in_h and in_w multiples of the window, at most 254 elements) from the
 * pool's picks of its input (pick [batch,out_h,out_w,c], as
 * est_conv2d_forward_pooled_pick keeps them) instead of the input itself: the same dx,
 * bit for bit. Errors: EST_ERR_INVALID_ARGUMENT (windows that do not tile, NULLs). */
est_status est_max_pool2d_relu_backward_pick_f32(const est_window *g, const uint8_t *pick,
                                                 const float *dy, float *dx);
est_status est_max_pool2d_relu_backward_pick_f64(const est_window *g, const uint8_t *pick,
                                                 const double *dy, double *dx);

/* Pooling over x [batch,in_h,in_w,c] into y [batch,out_h,out_w,c] (g->out_c == c).
 * Cost: one pass over each window. */
est_status est_max_pool2d_forward_f32(const est_window *g, const float *x, float *y);
est_status est_max_pool2d_forward_f64(const est_window *g, const double *x, double *y);
est_status est_avg_pool2d_forward_f32(const est_window *g, const float *x, float *y);
est_status est_avg_pool2d_forward_f64(const est_window *g, const double *x, double *y);

/* dx = pooling gradient of dy [batch,out_h,out_w,c] into dx [batch,in_h,in_w,c]
 * (overwritten). Max needs the forward input x to find each window's first max. */
est_status est_max_pool2d_backward_f32(const est_window *g, const float *x, const float *dy,
                                       float *dx);
est_status est_max_pool2d_backward_f64(const est_window *g, const double *x, const double *dy,
                                       double *dx);
/* The gradient of max pooling composed with the ReLU that produced x (x = relu(z)):
 * dx = relu'(x) * max-pool gradient of dy, in one pass. A window's dy goes to the
 * element the forward picked only when the window's maximum is > 0 (a ReLU passes
 * the gradient where its output is > 0, and the picked element holds the maximum);
 * every element of dx equals est_max_pool2d_backward followed by est_act_backward
 * (EST_ACT_RELU, y = x), bit for bit, without the second pass over dx. */
est_status est_max_pool2d_relu_backward_f32(const est_window *g, const float *x,
                                            const float *dy, float *dx);
est_status est_max_pool2d_relu_backward_f64(const est_window *g, const double *x,
                                            const double *dy, double *dx);
est_status est_avg_pool2d_backward_f32(const est_window *g, const float *dy, float *dx);
est_status est_avg_pool2d_backward_f64(const est_window *g, const double *dy, double *dx);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_CONV_H */
