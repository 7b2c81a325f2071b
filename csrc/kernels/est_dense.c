/* est_dense.c -- fused dense forward / backward (est_dense.h). */
#include "est_internal.h"

#include "est_tmpl_f32.h"
#include "est_dense.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_dense.inc"
#include "est_tmpl_end.h"
