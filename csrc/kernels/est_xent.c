/* est_xent.c -- fused softmax cross-entropy (est_xent.h). */
#include <tgmath.h>

#include "est_internal.h"

static inline int64_t label_at(const void *labels, int is64, int64_t i) {
    return is64 ? ((const int64_t *)labels)[i] : (int64_t)((const int32_t *)labels)[i];
}

/* Rows below this many logits in total run inline. */
#define EST_XENT_PARALLEL_MIN ((int64_t)1 << 15)

#include "est_tmpl_f32.h"
#include "est_xent.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_xent.inc"
#include "est_tmpl_end.h"
