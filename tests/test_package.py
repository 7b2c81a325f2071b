"""The installed package: importable, versioned, and its error map complete."""

import pytest

import estcore
from estcore import errors

pytestmark = pytest.mark.smoke


def test_version_is_a_string():
    assert isinstance(estcore.__version__, str) and estcore.__version__.count(".") == 2


def test_every_error_class_is_also_a_builtin():
    for cls in errors.STATUS_TO_ERROR[1:]:
        assert issubclass(cls, errors.OpError)
        builtins = (ValueError, MemoryError, RuntimeError, TimeoutError)
        assert any(issubclass(cls, b) for b in builtins) \
            or cls in (errors.OutOfRangeError, errors.CancelledError)


def test_unknown_status_is_reported_not_swallowed():
    err = errors.error_for_status(999, "doing something")
    assert isinstance(err, errors.UnknownStatusError)
    assert "999" in str(err) and "please report" in str(err)


def test_every_tf_error_class_exists_and_is_caught_by_its_builtin():
    """All of tf.errors' classes (TF 1.15), each an OpError and the builtin a Python
    user would catch: TF1 code raises and catches them by name."""
    import estcore.compat.v1 as tf

    builtins = {"UnimplementedError": NotImplementedError, "AbortedError": RuntimeError,
                "UnknownError": RuntimeError, "PermissionDeniedError": PermissionError,
                "UnauthenticatedError": PermissionError}
    for name in ("InvalidArgumentError", "ResourceExhaustedError", "OutOfRangeError",
                 "CancelledError", "DeadlineExceededError", "UnavailableError",
                 "FailedPreconditionError", "InternalError", "NotFoundError",
                 "AlreadyExistsError", "DataLossError", *builtins):
        cls = getattr(tf.errors, name)
        assert cls is getattr(errors, name)
        assert issubclass(cls, errors.EstcoreError)
    for name, builtin in builtins.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.OpError) and issubclass(cls, builtin)
        try:
            raise cls("boom")
        except builtin as e:
            assert str(e) == "boom"
