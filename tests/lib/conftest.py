"""Fixtures for the kernel tests (tests/lib/test_kernels_*.py)."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K


@pytest.fixture(params=[1, 2], ids=["threads1", "threads2"])
def num_threads(request):
    """Run the test with estcore's pool at 1 and at 2 compute threads."""
    before = K.get_num_threads()
    K.set_num_threads(request.param)
    yield request.param
    K.set_num_threads(before)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=K.gemm_isas())
def gemm_isa(request):
    """Run the test under each GEMM instruction set this CPU supports, forced in turn
    (set_gemm_isa), then go back to the automatic choice."""
    K.set_gemm_isa(request.param)
    yield request.param
    K.set_gemm_isa("auto")
