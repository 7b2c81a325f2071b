/* placeholder, replaced by the pipeline work */
#include "estcore/est_common.h"
int est__pipeline_placeholder(void);
int est__pipeline_placeholder(void) { return 0; }
