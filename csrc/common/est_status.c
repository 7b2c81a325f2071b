/* est_status.c -- text for est_status codes (see est_common.h). */
#include "estcore/est_common.h"

const char *est_status_str(est_status status) {
    switch (status) {
    case EST_OK: return "ok";
    case EST_ERR_INVALID_ARGUMENT: return "invalid argument";
    case EST_ERR_OUT_OF_MEMORY: return "out of memory";
    case EST_ERR_OUT_OF_RANGE: return "out of range";
    case EST_ERR_CANCELLED: return "cancelled";
    case EST_ERR_TIMEOUT: return "timed out";
    case EST_ERR_THREAD: return "could not start a thread";
    case EST_ERR_FAILED_PRECONDITION: return "failed precondition";
    case EST_ERR_INTERNAL: return "internal error";
    case EST_STATUS__COUNT: break;
    }
    return "unknown status";
}
