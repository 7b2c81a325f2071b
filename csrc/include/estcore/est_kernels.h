/* est_kernels.h -- estcore's numeric kernels: one include for all of them.
 *
 *   est_threadpool.h  worker threads and the default pool (set_num_threads)
 *   est_blas.h        estcore's own packed GEMM (per-ISA micro-kernels), pool-split
 *   est_eltwise.h     activations, elementwise ops, reductions, int64 increment
 *   est_dense.h       fused dense forward / backward
 *   est_conv.h        conv2d (implicit GEMM / im2col) and max / avg pooling, NHWC
 *   est_xent.h        fused (sparse) softmax cross-entropy
 *   est_optim.h       SGD, Momentum, Adagrad, RMSProp, Adam (TF1 semantics)
 *   est_program.h     prepared instruction lists run in one call
 *
 * Contract shared by every kernel:
 *   - Float kernels come in _f32 and _f64 versions with identical semantics.
 *   - Buffers are C-contiguous row-major and ALWAYS owned by the caller. Kernels never
 *     allocate per call in steady state; the only memory estcore's kernels own is the
 *     thread pool's state, one GEMM packing workspace per thread that has run a GEMM,
 *     and per-thread growable buffers (est__tls_buf: convolution scratch, packed
 *     filters, filter-gradient partial sums), each allocated on first use, grown only
 *     for a larger problem and freed when the thread exits (est_blas.h, est_conv.h).
 *     Scratch buffers (dense dz, conv col) are passed in and documented per kernel.
 *   - A kernel call may run concurrently with other kernel calls on different output
 *     buffers; the pool serialises its own task queue under one mutex per pool.
 *   - Every function validates its arguments and returns an est_status; none prints,
 *     exits or aborts on bad input.
 */
#ifndef ESTCORE_EST_KERNELS_H
#define ESTCORE_EST_KERNELS_H

#include "estcore/est_blas.h"
#include "estcore/est_conv.h"
#include "estcore/est_dense.h"
#include "estcore/est_eltwise.h"
#include "estcore/est_optim.h"
#include "estcore/est_program.h"
#include "estcore/est_threadpool.h"
#include "estcore/est_xent.h"

#endif /* ESTCORE_EST_KERNELS_H */
