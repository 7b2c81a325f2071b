/* est_program.h -- a prepared list of kernel calls run in one C call.
 *
 * An est_instr is one kernel call with every argument resolved: opcode, dtype,
 * raw buffer pointers, sizes and constant scalars. The Cython seam validates each
 * call once when it is added to a Program, then est_program_run() executes the whole
 * list with the GIL released, with no Python work per instruction.
 *
 * Pointer slots p[] per opcode (sizes in n[], constants in s[]; "T" = dtype):
 *   GEMM            a b c                      n: m n k lda ldb ldc  s: alpha beta
 *                                              flags: TRANS_A TRANS_B
 *   DENSE_FORWARD   x w b y                    n: m k n   act, s0 = act alpha
 *   DENSE_BACKWARD  x w y dy dz dw db dx       n: m k n   act, s0, ACCUMULATE
 *   CONV2D_FORWARD  x f b y col                win, act, s0
 *   CONV2D_BACKWARD x f y dy dz col dx df db   win, act, s0, ACCUMULATE
 *   MAX_POOL_FWD x y / AVG_POOL_FWD x y / MAX_POOL_BWD x dy dx / AVG_POOL_BWD dy dx   win;
 *                   MAX_POOL_BWD with act RELU: est_max_pool2d_relu_backward (x is a
 *                   ReLU's output: the gradient goes through that ReLU too)
 *   SPARSE_XENT     logits labels scale loss dlogits   n: m c   LABELS_I64
 *   XENT            logits labels scale loss dlogits   n: m c
 *   SGD             var grad lr                        n0 = count
 *   MOMENTUM        var accum grad lr                  s0 = momentum, NESTEROV
 *   ADAGRAD         var accum grad lr
 *   RMSPROP         var ms mom mg grad lr              s: rho momentum eps, CENTERED
 *   ADAM            var m v grad beta1_power beta2_power lr  s: beta1 beta2 eps, NESTEROV
 *   ACT_FORWARD x y / ACT_BACKWARD y dy dx             n0, act, s0
 *   BIAS_ADD        x b out                            n: m n
 *   BINARY          a b out                            n0, sub = est_binop
 *   AXPY            src dst alpha(ptr or NULL)         n0
 *   SCALE           x out alpha(ptr or NULL)           n0
 *   FILL            out                                n0, s0 = value
 *   COPY            src dst                            n0
 *   REDUCE_SUM      x out                              n: rows cols, sub = est_reduce,
 *                                                      MEAN, ACCUMULATE
 *   INCREMENT_I64   value (int64)                      n0 = delta
 *   DENSE_BACKWARD_UPDATE  x w y dy dz dw db dx var s1 s2 s3 lr beta1_power beta2_power
 *                   n: m k n kind (est_update_kind)   act, s: alpha h1 h2 h3,
 *                   NESTEROV / CENTERED, DW_SCRATCH: dw's values not kept
 *                   (est_dense_backward_update; the seam fuses a DENSE_BACKWARD and the
 *                   optimizer update right after it on its dw)
 *   CONV2D_FORWARD_POOLED x f b y py          win (the conv's), win2 (the max pool's),
 *                   act, s0 (est_conv2d_forward_pooled; the seam fuses a CONV2D_FORWARD
 *                   and the MAX_POOL_FWD of its output)
 *   CONV2D_BACKWARD_POOLED x y pdy dz df db   win (the conv's), n: pool_kh pool_kw,
 *                   ACCUMULATE (est_conv2d_backward_pooled; the seam fuses a
 *                   MAX_POOL_BWD with act RELU and the CONV2D_BACKWARD without dx after it)
 *   CONV2D_FORWARD_POOLED_PICK x f b y py pick   win, win2 (est_conv2d_forward_pooled_pick:
 *                   y is not read or written, pick is uint8; the seam turns a
 *                   CONV2D_FORWARD_POOLED with act RELU into it, together with the
 *                   CONV2D_BACKWARD_POOLED or the MAX_POOL_BWD (act RELU) that reads
 *                   its y)
 *   CONV2D_BACKWARD_POOLED_PICK x pick pdy dz df db   as CONV2D_BACKWARD_POOLED
 *                   (est_conv2d_backward_pooled_pick)
 *   MAX_POOL_BACKWARD_PICK pick dy dx   win (est_max_pool2d_relu_backward_pick: the seam
 *                   turns a MAX_POOL_BWD with act RELU into it, with the
 *                   CONV2D_FORWARD_POOLED whose y it read)
 * Ownership: an instruction borrows every pointer; the caller (the Cython Program)
 * keeps the buffers alive and unmoved for as long as the instruction may run.
 * Threads: running one program from two threads at once is a data race on its
 * buffers (the seam forbids it); different programs on different buffers may run
 * concurrently. Each kernel splits itself over the default pool.
 */
#ifndef ESTCORE_EST_PROGRAM_H
#define ESTCORE_EST_PROGRAM_H

#include "estcore/est_conv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum est_opcode {
    EST_OP_NOP = 0,
    EST_OP_GEMM,
    EST_OP_DENSE_FORWARD,
    EST_OP_DENSE_BACKWARD,
    EST_OP_CONV2D_FORWARD,
    EST_OP_CONV2D_BACKWARD,
    EST_OP_MAX_POOL_FORWARD,
    EST_OP_MAX_POOL_BACKWARD,
    EST_OP_AVG_POOL_FORWARD,
    EST_OP_AVG_POOL_BACKWARD,
    EST_OP_SPARSE_XENT,
    EST_OP_XENT,
    EST_OP_SGD,
    EST_OP_MOMENTUM,
    EST_OP_ADAGRAD,
    EST_OP_RMSPROP,
    EST_OP_ADAM,
    EST_OP_ACT_FORWARD,
    EST_OP_ACT_BACKWARD,
    EST_OP_BIAS_ADD,
    EST_OP_BINARY,
    EST_OP_AXPY,
    EST_OP_SCALE,
    EST_OP_FILL,
    EST_OP_COPY,
    EST_OP_REDUCE_SUM,
    EST_OP_INCREMENT_I64,
    EST_OP_DENSE_BACKWARD_UPDATE,
    EST_OP_CONV2D_BACKWARD_POOLED,
    EST_OP_CONV2D_FORWARD_POOLED,
    EST_OP_CONV2D_FORWARD_POOLED_PICK,
    EST_OP_CONV2D_BACKWARD_POOLED_PICK,
    EST_OP_MAX_POOL_BACKWARD_PICK,
    EST_OP__COUNT
} est_opcode;

typedef enum est_dtype { EST_DTYPE_F32 = 0, EST_DTYPE_F64 = 1 } est_dtype;

enum {
    EST_FLAG_ACCUMULATE = 1,
    EST_FLAG_TRANS_A = 2,
    EST_FLAG_TRANS_B = 4,
    EST_FLAG_NESTEROV = 8,
    EST_FLAG_CENTERED = 16,
    EST_FLAG_LABELS_I64 = 32,
    EST_FLAG_MEAN = 64,
    EST_FLAG_DW_SCRATCH = 128
};

#define EST_INSTR_MAX_PTRS 16

typedef struct est_instr {
    int32_t op;     /* est_opcode */
    int32_t dtype;  /* est_dtype of the floating buffers */
    int32_t act;    /* est_act, where used */
    int32_t sub;    /* est_binop / est_reduce, where used */
    int32_t flags;  /* EST_FLAG_* */
    int32_t unused;
    int64_t n[6];
    double s[4];
    est_window win;
    void *p[EST_INSTR_MAX_PTRS];
    est_window win2; /* a fused pair's second window (CONV2D_FORWARD_POOLED's pool) */
} est_instr;

/* Run one instruction. On EST_ERR_INVALID_ARGUMENT from SPARSE_XENT, *err_detail (if
 * not NULL) is the first row with a bad label; otherwise it is set to -1. */
est_status est_instr_run(const est_instr *instr, int64_t *err_detail);

/* Run instrs[0..count) in order; stop at the first failure, report its index in
 * *failed_index (-1 on success) and its detail as est_instr_run does. */
est_status est_program_run(const est_instr *instrs, int64_t count, int64_t *failed_index,
                           int64_t *err_detail);

/* As est_program_run, and also time each instruction: ns_out[i] (caller-owned, count
 * entries) receives the wall-clock nanoseconds (CLOCK_MONOTONIC) instruction i took;
 * entries after a failed instruction are set to -1. For profiling only: two clock reads
 * per instruction (about 50 ns) on top of est_program_run. */
est_status est_program_profile(const est_instr *instrs, int64_t count, int64_t *ns_out,
                               int64_t *failed_index, int64_t *err_detail);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_PROGRAM_H */
