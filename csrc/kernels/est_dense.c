/* placeholder, replaced by the kernels work */
#include "estcore/est_common.h"
int est__kernels_placeholder(void);
int est__kernels_placeholder(void) { return 0; }
