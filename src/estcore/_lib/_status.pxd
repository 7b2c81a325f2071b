# _status.pxd -- the status half of the seam: est_common.h mirrored, and the
# one function every Cython module uses to turn a C status into an exception.
# Included (cimported) by every _lib module; it defines no module of its own.

cdef extern from "estcore/est_common.h" nogil:
    ctypedef enum est_status:
        EST_OK
        EST_ERR_INVALID_ARGUMENT
        EST_ERR_OUT_OF_MEMORY
        EST_ERR_OUT_OF_RANGE
        EST_ERR_CANCELLED
        EST_ERR_TIMEOUT
        EST_ERR_THREAD
        EST_ERR_FAILED_PRECONDITION
        EST_ERR_INTERNAL
        EST_STATUS__COUNT
    const char *est_status_str(est_status status)


cdef inline int check_status(est_status status, str what) except -1:
    """Raise the estcore.errors class for ``status``; return 0 for EST_OK.

    ``what`` says what was being done ("numpy_input_fn worker", ...); the C
    status text is appended.
    """
    if status == EST_OK:
        return 0
    from estcore.errors import error_for_status
    raise error_for_status(<int>status, f"{what}: {est_status_str(status).decode()}")
