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
