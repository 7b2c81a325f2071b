"""Fixtures of the distribute tests."""

import pytest

from .helpers import mpiexec_path


@pytest.fixture
def mpiexec() -> str:
    """Path of mpiexec; the test FAILS (never skips) when MPI is not installed."""
    return mpiexec_path()
