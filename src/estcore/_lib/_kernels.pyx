"""estcore's numeric kernels: the Python side of csrc/kernels (internal seam).

Design:
  (a) C kernels (csrc/include/estcore/est_kernels.h) in float32 and float64 versions,
      working on caller-owned, C-contiguous buffers; GEMM is estcore's own.
  (b) Every operation is a method of ``_Builder`` (``_kernels_ops*.pxi``): it
      validates the numpy arguments once (dtype, shape, contiguity, writeability,
      overlap) and fills one C instruction struct (opcode, raw pointers, sizes,
      scalars).
  (c) Immediate functions (``dense_forward(x, w, b, out, ...)``) build that
      instruction and run it at once with the GIL released.
  (d) ``Program`` keeps the instructions (and references to every array they point
      into) and ``Program.run()`` executes all of them in ONE C call with the GIL
      released: no Python work per instruction.
  (e) ``Program``'s fusion methods (``merge_update(drop_gradient=False)``,
      ``merge_conv_pool_forward()``, ``fold_relu_into_pool()``,
      ``merge_conv_backward_pooled()``; their rewrites in ``_kernels_fusion.pxi``) turn
      its last two instructions into one with the same results, or refuse; the plan
      compiler (graph/programs.py) decides when to call them.

Contract with the graph engine (stable; change only by adding):
  Immediate functions, each also a ``Program`` method with the same arguments:
    gemm(a, b, out, transpose_a=False, transpose_b=False, alpha=1.0, beta=0.0)
    dense_forward(x, w, b, out, act=None, alpha=None)
    dense_backward(x, w, y, dy, dw_out, db_out, dx_out=None, dz_out=None, act=None,
                   alpha=None, accumulate=False)
    conv2d_forward(x, filters, bias, out, col, strides=1, padding="VALID", act=None,
                   alpha=None)
    conv2d_backward(x, filters, y, dy, col, dx_out, dfilters_out, dbias_out, dz_out=None,
                    strides=1, padding="VALID", act=None, alpha=None, accumulate=False)
    max_pool2d_forward(x, out, ksize, strides, padding="VALID")
    max_pool2d_backward(x, dy, dx_out, ksize, strides, padding="VALID")
    avg_pool2d_forward(x, out, ksize, strides, padding="VALID")
    avg_pool2d_backward(dy, dx_out, ksize, strides, padding="VALID")
    sparse_softmax_xent(logits, labels, loss_out, dlogits_out=None, scale=None)
    softmax_xent(logits, labels, loss_out, dlogits_out=None, scale=None)
    apply_sgd(var, grad, lr)
    apply_momentum(var, accum, grad, lr, momentum, use_nesterov=False)
    apply_adagrad(var, accum, grad, lr)
    apply_rmsprop(var, ms, mom, grad, lr, rho, momentum, epsilon, mg=None)
    apply_adam(var, m, v, grad, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
               use_nesterov=False)
    activation_forward(x, out, act, alpha=None); activation_backward(y, dy, out, act, alpha=None)
    bias_add(x, b, out); add(a, b, out); sub(a, b, out); mul(a, b, out)
    axpy(src, dst, alpha=None); scale(x, out, alpha); fill(out, value); copy(src, out)
    reduce_sum(x, out, axis=None, accumulate=False); reduce_mean(...same...)
    increment(value, delta=1)
  Shape helpers: conv2d_output_shape, conv2d_col_size, pool2d_output_shape.
  Activations: ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_TANH, ACT_ELU, ACT_SELU,
    ACT_SOFTPLUS, ACT_LEAKY_RELU, and activation_code(name). ``act`` arguments take a
    code, a name or None. Backward passes use the activation's OUTPUT.
  Threads: set_num_threads(n), get_num_threads(). GEMM instruction set: gemm_isas(),
    get_gemm_isa(), set_gemm_isa(name); gemm_info() for debugging.

Rules every operation follows:
  - Arrays are numpy float32 or float64 (all of one dtype per call; labels int32 or
    int64, the global step int64), C-contiguous. Fortran-ordered or strided arrays are
    rejected with an error that says so, except ``gemm``'s ``a`` and ``b``, which may be
    Fortran-ordered (used as transposes, without a copy).
  - Results go into caller-provided ``out`` / ``*_out`` arrays, written in place;
    nothing is allocated per call (numbers passed for run-time scalars become one
    1-element array when the call is validated). Outputs may not share memory with
    inputs except where a docstring allows the exact same array (in place).
  - Scalars that may change between runs (lr, beta powers, loss scale, axpy/scale
    factors) are numbers or 0-d / 1-element arrays of the calls' dtype; an array is
    read when the kernel runs, so a schedule can write it between ``Program.run()``s.
    Constants (momentum, rho, epsilon, beta1, beta2, alpha) are numbers.
  - Errors: TypeError for a wrong type or dtype; estcore.errors.InvalidArgumentError
    (a ValueError) for shapes, layouts and values; both name the argument and show
    what was expected and what was received.
  - GEMM is estcore's own packed kernel (csrc/include/estcore/est_blas.h): no BLAS
    library is loaded. The instruction set (AVX-512, AVX2+FMA or portable C) is the
    best the CPU supports unless ``ESTCORE_ISA`` names one; ``set_gemm_isa`` switches
    at run time (tests run every path). Large products split over estcore's own
    sleeping worker threads.
"""

import inspect
import numbers
import sys

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds as _np_byte_bounds
except ImportError:  # numpy < 2
    from numpy import byte_bounds as _np_byte_bounds

from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memset

from estcore._lib._status cimport (
    EST_ERR_INVALID_ARGUMENT, EST_OK, check_status, est_status, est_status_str,
)
from estcore._validation import describe as _describe
from estcore.errors import InvalidArgumentError, error_for_status

include "_kernels_check.pxi"
include "_kernels_ops.pxi"
include "_kernels_ops_conv.pxi"
include "_kernels_ops_train.pxi"
include "_kernels_program.pxi"
include "_kernels_fusion.pxi"
include "_kernels_sparse.pxi"
