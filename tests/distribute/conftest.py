"""Fixtures of the distribute tests."""

import pytest

from .helpers import GLOBAL_BATCH, STEPS, check_ok, clean_env, load, mpiexec_path, run, script_args


@pytest.fixture
def mpiexec() -> str:
    """Path of mpiexec; the test FAILS (never skips) when MPI is not installed."""
    return mpiexec_path()


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> dict:
    """Variables after STEPS steps of ONE process with the global batch."""
    d = tmp_path_factory.mktemp("ref")
    check_ok(run(script_args(d / "model", d / "out", GLOBAL_BATCH, STEPS), clean_env()))
    return load(d / "out.rank0.npz")
