"""Exception classes of estcore, named after ``tf.errors``.

Every class also inherits the builtin exception a Python user would catch
(``InvalidArgumentError`` is a ``ValueError``, ``ResourceExhaustedError`` a
``MemoryError``), so ``except ValueError`` keeps working.

Each C status code (``csrc/include/estcore/est_common.h``) maps to exactly one
class here through :data:`STATUS_TO_ERROR`; the Cython seam raises through it.
``EstcoreError`` and ``OpError`` are abstract groups and are never raised
themselves.

Must not: import anything of estcore (every layer, the Cython seam included, imports
it); define an error that is not a subclass of the builtin a Python user would catch.
"""

from __future__ import annotations

__all__ = [
    "EstcoreError",
    "OpError",
    "InvalidArgumentError",
    "ResourceExhaustedError",
    "OutOfRangeError",
    "CancelledError",
    "DeadlineExceededError",
    "UnavailableError",
    "FailedPreconditionError",
    "InternalError",
    "NotFoundError",
    "AlreadyExistsError",
    "DataLossError",
    "UnimplementedError",
    "AbortedError",
    "UnknownError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "UnknownStatusError",
    "STATUS_TO_ERROR",
    "error_for_status",
]


class EstcoreError(Exception):
    """Base class of every error estcore raises on purpose (never raised itself)."""


class OpError(EstcoreError):
    """Group of errors that come from running native code (never raised itself)."""


class InvalidArgumentError(OpError, ValueError):
    """An argument was rejected (C status ``EST_ERR_INVALID_ARGUMENT``)."""


class ResourceExhaustedError(OpError, MemoryError):
    """Memory could not be allocated (C status ``EST_ERR_OUT_OF_MEMORY``)."""


class OutOfRangeError(OpError):
    """A finite input stream is exhausted (C status ``EST_ERR_OUT_OF_RANGE``)."""


class CancelledError(OpError):
    """The object was closed while an operation waited on it (``EST_ERR_CANCELLED``)."""


class DeadlineExceededError(OpError, TimeoutError):
    """A timed wait expired (``EST_ERR_TIMEOUT``)."""


class UnavailableError(OpError, RuntimeError):
    """A native thread could not be started (``EST_ERR_THREAD``)."""


class FailedPreconditionError(OpError, RuntimeError):
    """An object was used in a state that forbids it, e.g. after ``fork()``."""


class InternalError(OpError, RuntimeError):
    """A broken invariant inside estcore (``EST_ERR_INTERNAL``); please report it."""


class NotFoundError(EstcoreError, LookupError):
    """A named thing (variable, checkpoint, file) does not exist."""


class AlreadyExistsError(EstcoreError, FileExistsError):
    """A thing to be created (a file, a directory) already exists."""


class DataLossError(OpError, ValueError):
    """Stored data is unrecoverably lost or corrupted: a checkpoint file whose
    checksum, framing or sizes do not hold (TF's ``DataLossError``)."""


class UnimplementedError(OpError, NotImplementedError):
    """An operation is not supported (TF's ``UnimplementedError``); estcore itself raises
    ``NotImplementedError`` subclasses like this one for features it does not have."""


class AbortedError(OpError, RuntimeError):
    """An operation was aborted, e.g. by a concurrent action (TF's ``AbortedError``);
    for user code that raises or catches it by TF's name."""


class UnknownError(OpError, RuntimeError):
    """An error of no other kind (TF's ``UnknownError``); for user code that raises or
    catches it by TF's name."""


class PermissionDeniedError(OpError, PermissionError):
    """The caller may not run the operation (TF's ``PermissionDeniedError``)."""


class UnauthenticatedError(OpError, PermissionError):
    """The request has no valid credentials (TF's ``UnauthenticatedError``)."""


class UnknownStatusError(OpError, RuntimeError):
    """The C core returned a status code this Python package does not know; please report it."""


# Index = C status code. EST_OK (0) has no exception.
STATUS_TO_ERROR: tuple[type[OpError] | None, ...] = (
    None,  # EST_OK
    InvalidArgumentError,  # EST_ERR_INVALID_ARGUMENT
    ResourceExhaustedError,  # EST_ERR_OUT_OF_MEMORY
    OutOfRangeError,  # EST_ERR_OUT_OF_RANGE
    CancelledError,  # EST_ERR_CANCELLED
    DeadlineExceededError,  # EST_ERR_TIMEOUT
    UnavailableError,  # EST_ERR_THREAD
    FailedPreconditionError,  # EST_ERR_FAILED_PRECONDITION
    InternalError,  # EST_ERR_INTERNAL
)


def error_for_status(status: int, message: str) -> OpError:
    """Return (not raise) the exception for a non-zero C status code.

    Args:
        status: an ``est_status`` value other than ``EST_OK``.
        message: what the caller was doing, in words a user understands.
    """
    if 0 < status < len(STATUS_TO_ERROR):
        cls = STATUS_TO_ERROR[status]
        assert cls is not None
        return cls(message)
    return UnknownStatusError(f"{message} (unknown C status {status}; please report this)")
