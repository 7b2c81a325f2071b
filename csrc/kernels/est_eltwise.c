/* est_eltwise.c -- activations, elementwise ops and reductions (est_eltwise.h). */
#include <string.h>
#include <tgmath.h>

#include "est_internal.h"

/* SELU constants (Klambauer et al. 2017, as in TF). */
#define EST_SELU_SCALE 1.0507009873554804934193349852946
#define EST_SELU_ALPHA 1.6732632423543772848170429916717

est_status est_increment_i64(int64_t *value, int64_t delta) {
    if (value == NULL) return EST_ERR_INVALID_ARGUMENT;
    *value += delta;
    return EST_OK;
}

/* Kinds of chunked elementwise job (est_eltwise.inc). */
enum { K_ACT, K_ACT_GRAD, K_BIAS, K_ADD, K_SUB, K_MUL, K_AXPY, K_SCALE, K_FILL, K_COPY,
       K_SUM_ALL, K_SUM_ROWS, K_SUM_COLS };

#include "est_tmpl_f32.h"
#include "est_eltwise.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_eltwise.inc"
#include "est_tmpl_end.h"
