/* est_program.c -- run prepared instructions (est_program.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime (the build normally defines it) */
#endif
#include "est_internal.h"

#include <time.h>

/* One instruction at precision T / suffix SFX_. `p` are the pointer slots. */
#define EST_DISPATCH(T, SFX_)                                                                   \
    switch (op) {                                                                               \
    case EST_OP_GEMM:                                                                           \
        return est_gemm##SFX_(fl & EST_FLAG_TRANS_A, fl & EST_FLAG_TRANS_B, n[0], n[1], n[2],   \
                              (T)s[0], p[0], n[3], p[1], n[4], (T)s[1], p[2], n[5]);            \
    case EST_OP_DENSE_FORWARD:                                                                  \
        return est_dense_forward##SFX_(p[0], p[1], p[2], p[3], n[0], n[1], n[2], act, (T)s[0]); \
    case EST_OP_DENSE_BACKWARD:                                                                 \
        return est_dense_backward##SFX_(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], n[0],   \
                                        n[1], n[2], act, (T)s[0], acc);                         \
    case EST_OP_DENSE_BACKWARD_UPDATE:                                                          \
        return est_dense_backward_update##SFX_(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],  \
                                               n[0], n[1], n[2], act, (T)s[0], (int)n[3], p[8], \
                                               p[9], p[10], p[11], p[12], p[13], p[14],         \
                                               (T)s[1], (T)s[2], (T)s[3],                       \
                                               (fl & (EST_FLAG_NESTEROV | EST_FLAG_CENTERED)) != 0, \
                                               (fl & EST_FLAG_DW_SCRATCH) == 0);                \
    case EST_OP_CONV2D_FORWARD:                                                                 \
        return est_conv2d_forward##SFX_(w, p[0], p[1], p[2], p[3], p[4], act, (T)s[0]);         \
    case EST_OP_CONV2D_BACKWARD:                                                                \
        return est_conv2d_backward##SFX_(w, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],     \
                                         p[8], act, (T)s[0], acc);                              \
    case EST_OP_CONV2D_FORWARD_POOLED:                                                          \
        return est_conv2d_forward_pooled##SFX_(w, p[0], p[1], p[2], p[3], act, (T)s[0], &ins->win2, \
                                               p[4]);                                           \
    case EST_OP_CONV2D_BACKWARD_POOLED:                                                         \
        return est_conv2d_backward_pooled##SFX_(w, p[0], p[1], p[2], n[0], n[1], p[3], p[4], p[5],  \
                                                acc);                                           \
    case EST_OP_CONV2D_FORWARD_POOLED_PICK:                                                     \
        return est_conv2d_forward_pooled_pick##SFX_(w, p[0], p[1], p[2], &ins->win2, p[4],      \
                                                    p[5]);                                      \
    case EST_OP_CONV2D_BACKWARD_POOLED_PICK:                                                    \
        return est_conv2d_backward_pooled_pick##SFX_(w, p[0], p[1], p[2], n[0], n[1], p[3],     \
                                                     p[4], p[5], acc);                          \
    case EST_OP_MAX_POOL_BACKWARD_PICK:                                                         \
        return est_max_pool2d_relu_backward_pick##SFX_(w, p[0], p[1], p[2]);                    \
    case EST_OP_MAX_POOL_FORWARD: return est_max_pool2d_forward##SFX_(w, p[0], p[1]);           \
    case EST_OP_MAX_POOL_BACKWARD:                                                              \
        return act == EST_ACT_RELU ? est_max_pool2d_relu_backward##SFX_(w, p[0], p[1], p[2])     \
                                   : est_max_pool2d_backward##SFX_(w, p[0], p[1], p[2]);        \
    case EST_OP_AVG_POOL_FORWARD: return est_avg_pool2d_forward##SFX_(w, p[0], p[1]);           \
    case EST_OP_AVG_POOL_BACKWARD: return est_avg_pool2d_backward##SFX_(w, p[0], p[1]);         \
    case EST_OP_SPARSE_XENT:                                                                    \
        return est_sparse_softmax_xent##SFX_(p[0], p[1], (fl & EST_FLAG_LABELS_I64) != 0, n[0], \
                                             n[1], p[2], p[3], p[4], err_detail);               \
    case EST_OP_XENT:                                                                           \
        return est_softmax_xent##SFX_(p[0], p[1], n[0], n[1], p[2], p[3], p[4]);                \
    case EST_OP_SGD: return est_apply_sgd##SFX_(p[0], p[1], n[0], p[2]);                        \
    case EST_OP_MOMENTUM:                                                                       \
        return est_apply_momentum##SFX_(p[0], p[1], p[2], n[0], p[3], (T)s[0],                  \
                                        (fl & EST_FLAG_NESTEROV) != 0);                         \
    case EST_OP_ADAGRAD: return est_apply_adagrad##SFX_(p[0], p[1], p[2], n[0], p[3]);          \
    case EST_OP_RMSPROP:                                                                        \
        return est_apply_rmsprop##SFX_(p[0], p[1], p[2], p[3], p[4], n[0], p[5], (T)s[0],       \
                                       (T)s[1], (T)s[2], (fl & EST_FLAG_CENTERED) != 0);        \
    case EST_OP_ADAM:                                                                           \
        return est_apply_adam##SFX_(p[0], p[1], p[2], p[3], n[0], p[4], p[5], p[6], (T)s[0],    \
                                    (T)s[1], (T)s[2], (fl & EST_FLAG_NESTEROV) != 0);           \
    case EST_OP_ACT_FORWARD: return est_act_forward##SFX_(p[0], p[1], n[0], act, (T)s[0]);      \
    case EST_OP_ACT_BACKWARD:                                                                   \
        return est_act_backward##SFX_(p[0], p[1], p[2], n[0], act, (T)s[0]);                    \
    case EST_OP_BIAS_ADD: return est_bias_add##SFX_(p[0], p[1], p[2], n[0], n[1]);              \
    case EST_OP_BINARY: return est_binary##SFX_((est_binop)ins->sub, p[0], p[1], p[2], n[0]);   \
    case EST_OP_AXPY: return est_axpy##SFX_(p[0], p[1], n[0], p[2]);                            \
    case EST_OP_SCALE: return est_scale##SFX_(p[0], p[1], n[0], p[2]);                          \
    case EST_OP_FILL: return est_fill##SFX_(p[0], n[0], (T)s[0]);                               \
    case EST_OP_COPY: return est_copy##SFX_(p[0], p[1], n[0]);                                  \
    case EST_OP_REDUCE_SUM:                                                                     \
        return est_reduce_sum##SFX_(p[0], n[0], n[1], (est_reduce)ins->sub,                     \
                                    (fl & EST_FLAG_MEAN) != 0, acc, p[1]);                      \
    default: return EST_ERR_INVALID_ARGUMENT;                                                   \
    }

est_status est_instr_run(const est_instr *ins, int64_t *err_detail) {
    if (err_detail) *err_detail = -1;
    if (ins == NULL) return EST_ERR_INVALID_ARGUMENT;
    const int op = ins->op, fl = ins->flags, acc = (ins->flags & EST_FLAG_ACCUMULATE) != 0;
    const est_act act = (est_act)ins->act;
    const int64_t *n = ins->n;
    const double *s = ins->s;
    const est_window *w = &ins->win;
    void *const *p = ins->p;
    if (op == EST_OP_NOP) return EST_OK;
    if (op == EST_OP_INCREMENT_I64) return est_increment_i64(p[0], n[0]);
    if (ins->dtype == EST_DTYPE_F32) {
        EST_DISPATCH(float, _f32)
    } else if (ins->dtype == EST_DTYPE_F64) {
        EST_DISPATCH(double, _f64)
    }
    return EST_ERR_INVALID_ARGUMENT;
}

est_status est_program_run(const est_instr *instrs, int64_t count, int64_t *failed_index,
                           int64_t *err_detail) {
    if (failed_index) *failed_index = -1;
    if (err_detail) *err_detail = -1;
    if (count < 0 || (count > 0 && instrs == NULL)) return EST_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < count; i++) {
        est_status st = est_instr_run(&instrs[i], err_detail);
        if (st != EST_OK) {
            if (failed_index) *failed_index = i;
            return st;
        }
    }
    return EST_OK;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

est_status est_program_profile(const est_instr *instrs, int64_t count, int64_t *ns_out,
                               int64_t *failed_index, int64_t *err_detail) {
    if (failed_index) *failed_index = -1;
    if (err_detail) *err_detail = -1;
    if (count < 0 || (count > 0 && (instrs == NULL || ns_out == NULL)))
        return EST_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < count; i++) ns_out[i] = -1;
    for (int64_t i = 0; i < count; i++) {
        int64_t t0 = now_ns();
        est_status st = est_instr_run(&instrs[i], err_detail);
        ns_out[i] = now_ns() - t0;
        if (st != EST_OK) {
            if (failed_index) *failed_index = i;
            return st;
        }
    }
    return EST_OK;
}
