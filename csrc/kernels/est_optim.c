/* est_optim.c -- optimizer updates with TF1 semantics (est_optim.h). */
#include <tgmath.h>

#include "est_internal.h"

enum { O_SGD, O_MOMENTUM, O_ADAGRAD, O_RMSPROP, O_ADAM }; /* update kinds */

#include "est_tmpl_f32.h"
#include "est_optim.inc"
#include "est_tmpl_end.h"
#include "est_tmpl_f64.h"
#include "est_optim.inc"
#include "est_tmpl_end.h"
