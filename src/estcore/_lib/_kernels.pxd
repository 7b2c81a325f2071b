# _kernels.pxd -- the C kernels' headers mirrored for Cython (csrc/include/estcore/
# est_kernels.h and the component headers it includes). Declarations only; the
# contracts (ownership, threads, cost) are written in the C headers.

from libc.stdint cimport int32_t, int64_t
from estcore._lib._status cimport est_status

cdef extern from "estcore/est_threadpool.h" nogil:
    int EST_MAX_THREADS
    est_status est_set_num_threads(int num_threads)
    int est_get_num_threads()
    void est_note_own_burst(int delta)
    int est__own_bursts()

cdef extern from "estcore/est_blas.h" nogil:
    ctypedef enum est_isa:
        EST_ISA_AUTO
        EST_ISA_GENERIC
        EST_ISA_AVX2
        EST_ISA_AVX512
        EST_ISA__COUNT
    int est_gemm_isa_supported(est_isa isa)
    est_isa est_gemm_get_isa()
    est_status est_gemm_set_isa(est_isa isa)
    const char *est_isa_name(est_isa isa)
    double est_fma_probe_f32(int64_t iters, float *sink)
    int64_t EST_GEMM_PARALLEL_MIN_WORK

cdef extern from "estcore/est_eltwise.h" nogil:
    ctypedef enum est_act:
        EST_ACT_NONE
        EST_ACT_RELU
        EST_ACT_RELU6
        EST_ACT_SIGMOID
        EST_ACT_TANH
        EST_ACT_ELU
        EST_ACT_SELU
        EST_ACT_SOFTPLUS
        EST_ACT_LEAKY_RELU
        EST_ACT__COUNT
    ctypedef enum est_binop:
        EST_BINOP_ADD
        EST_BINOP_SUB
        EST_BINOP_MUL
    ctypedef enum est_reduce:
        EST_REDUCE_ALL
        EST_REDUCE_ROWS
        EST_REDUCE_COLS

cdef extern from "estcore/est_conv.h" nogil:
    ctypedef enum est_padding:
        EST_PADDING_VALID
        EST_PADDING_SAME
    ctypedef struct est_window:
        int64_t batch, in_h, in_w, in_c
        int64_t k_h, k_w, out_c
        int64_t stride_h, stride_w
        int64_t pad_top, pad_left
        int64_t out_h, out_w
    est_status est_window_init(int64_t batch, int64_t in_h, int64_t in_w, int64_t in_c,
                               int64_t k_h, int64_t k_w, int64_t out_c, int64_t stride_h,
                               int64_t stride_w, est_padding padding, est_window *out)
    int64_t est_conv2d_col_size(const est_window *g)

cdef extern from "estcore/est_optim.h" nogil:
    ctypedef enum est_update_kind:
        EST_UPDATE_SGD
        EST_UPDATE_MOMENTUM
        EST_UPDATE_ADAGRAD
        EST_UPDATE_RMSPROP
        EST_UPDATE_ADAM

cdef extern from "estcore/est_program.h" nogil:
    ctypedef enum est_opcode:
        EST_OP_NOP
        EST_OP_GEMM
        EST_OP_DENSE_FORWARD
        EST_OP_DENSE_BACKWARD
        EST_OP_CONV2D_FORWARD
        EST_OP_CONV2D_BACKWARD
        EST_OP_MAX_POOL_FORWARD
        EST_OP_MAX_POOL_BACKWARD
        EST_OP_AVG_POOL_FORWARD
        EST_OP_AVG_POOL_BACKWARD
        EST_OP_SPARSE_XENT
        EST_OP_XENT
        EST_OP_SGD
        EST_OP_MOMENTUM
        EST_OP_ADAGRAD
        EST_OP_RMSPROP
        EST_OP_ADAM
        EST_OP_ACT_FORWARD
        EST_OP_ACT_BACKWARD
        EST_OP_BIAS_ADD
        EST_OP_BINARY
        EST_OP_AXPY
        EST_OP_SCALE
        EST_OP_FILL
        EST_OP_COPY
        EST_OP_REDUCE_SUM
        EST_OP_INCREMENT_I64
        EST_OP_DENSE_BACKWARD_UPDATE
        EST_OP_CONV2D_BACKWARD_POOLED
        EST_OP_CONV2D_FORWARD_POOLED
        EST_OP_CONV2D_FORWARD_POOLED_PICK
        EST_OP_CONV2D_BACKWARD_POOLED_PICK
        EST_OP_MAX_POOL_BACKWARD_PICK
        EST_OP__COUNT
    ctypedef enum est_dtype:
        EST_DTYPE_F32
        EST_DTYPE_F64
    enum:
        EST_FLAG_ACCUMULATE
        EST_FLAG_DW_SCRATCH
        EST_FLAG_TRANS_A
        EST_FLAG_TRANS_B
        EST_FLAG_NESTEROV
        EST_FLAG_CENTERED
        EST_FLAG_LABELS_I64
        EST_FLAG_MEAN
    ctypedef struct est_instr:
        int32_t op
        int32_t dtype
        int32_t act
        int32_t sub
        int32_t flags
        int32_t unused
        int64_t n[6]
        double s[4]
        est_window win
        void *p[16]  # EST_INSTR_MAX_PTRS
        est_window win2
    est_status est_instr_run(const est_instr *instr, int64_t *err_detail)
    est_status est_program_run(const est_instr *instrs, int64_t count, int64_t *failed_index,
                               int64_t *err_detail)
    est_status est_program_profile(const est_instr *instrs, int64_t count, int64_t *ns_out,
                                   int64_t *failed_index, int64_t *err_detail)
