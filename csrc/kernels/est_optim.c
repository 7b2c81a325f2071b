/* est_optim.c -- optimizer updates with TF1 semantics (est_optim.h). */
#include <tgmath.h>

#include "est_internal.h"

#include "est_tmpl_f32.h"
#include "est_optim.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_optim.inc"
#include "est_tmpl_end.h"
