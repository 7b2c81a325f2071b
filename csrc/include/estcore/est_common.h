/* est_common.h -- status codes shared by every estcore C component.
 *
 * Contract:
 *   - Every public C function that can fail returns an est_status; results go
 *     through out-parameters, which come last in the argument list.
 *   - C code never prints and never exits on a recoverable error. It calls
 *     abort() only when an invariant is broken (e.g. pthread_mutex_init fails).
 *   - The Cython seam maps each code one-to-one to a Python exception
 *     (src/estcore/_lib/_status.pxd, src/estcore/errors.py). Adding a code here
 *     means adding its class there; tests walk every code up to EST_STATUS__COUNT.
 *   - Codes are stable: never renumber, only append before EST_STATUS__COUNT.
 *
 * Thread safety: est_status_str() is pure and may be called from any thread.
 */
#ifndef ESTCORE_EST_COMMON_H
#define ESTCORE_EST_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum est_status {
    EST_OK = 0,
    EST_ERR_INVALID_ARGUMENT = 1,   /* a precondition on an argument failed   -> InvalidArgumentError (ValueError) */
    EST_ERR_OUT_OF_MEMORY = 2,      /* malloc / posix_memalign failed         -> ResourceExhaustedError (MemoryError) */
    EST_ERR_OUT_OF_RANGE = 3,       /* a finite stream is exhausted           -> OutOfRangeError */
    EST_ERR_CANCELLED = 4,          /* the object was closed while waiting    -> CancelledError */
    EST_ERR_TIMEOUT = 5,            /* a timed wait expired (callers poll)    -> DeadlineExceededError */
    EST_ERR_THREAD = 6,             /* pthread_create failed                  -> UnavailableError (RuntimeError) */
    EST_ERR_FAILED_PRECONDITION = 7,/* used in the wrong state (e.g. after fork) -> FailedPreconditionError (RuntimeError) */
    EST_ERR_INTERNAL = 8,           /* a broken invariant that was caught     -> InternalError (RuntimeError) */
    EST_STATUS__COUNT               /* sentinel: number of codes, never returned */
} est_status;

/* Short, static, human-readable text for a status ("ok", "invalid argument", ...).
 * Unknown values give "unknown status". Never returns NULL. */
const char *est_status_str(est_status status);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_COMMON_H */
