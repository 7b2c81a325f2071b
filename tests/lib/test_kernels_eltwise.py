"""Elementwise helpers and reductions against numpy; thread settings; no BLAS loaded."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

SIZES = [(1,), (13, 7), (70001,)]  # the last one is split over threads
RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-14}


@pytest.mark.smoke
@pytest.mark.parametrize("shape", SIZES, ids=str)
def test_binary_axpy_scale_fill_copy(shape, dtype, num_threads, rng):
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    out = np.empty(shape, dtype)
    for name, fn in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply)):
        getattr(K, name)(a, b, out)
        np.testing.assert_array_equal(out, fn(a, b))
    c = a.copy()
    K.mul(c, b, c)  # in place
    np.testing.assert_array_equal(c, a * b)
    dst = b.copy()
    K.axpy(a, dst)
    np.testing.assert_allclose(dst, b + a, rtol=RTOL[dtype])
    K.axpy(a, dst, alpha=np.array([-2.0], dtype))
    np.testing.assert_allclose(dst, b - a, rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10)
    K.scale(a, out, 0.5)
    np.testing.assert_allclose(out, a * dtype.type(0.5), rtol=RTOL[dtype])
    K.fill(out, 3.25)
    assert (out == 3.25).all()
    K.copy(a, out)
    np.testing.assert_array_equal(out, a)


def test_elementwise_outputs_written_in_place(dtype, num_threads, rng):
    """Outputs that are views into a larger buffer get exactly their elements written."""
    a, b = (rng.standard_normal((70001,)).astype(dtype) for _ in range(2))
    big = np.full(70003, 7.0, dtype)
    out = big[1:-1]
    for call in (lambda: K.add(a, b, out), lambda: K.scale(a, out, 2.0),
                 lambda: K.activation_forward(a, out, "relu"), lambda: K.copy(a, out),
                 lambda: K.fill(out, 3.0)):
        call()
        assert np.shares_memory(out, big) and big[0] == 7.0 and big[-1] == 7.0
    np.testing.assert_array_equal(out, 3.0)


def test_bias_add(dtype, num_threads, rng):
    x = rng.standard_normal((300, 4, 67)).astype(dtype)
    b = rng.standard_normal(67).astype(dtype)
    out = np.empty_like(x)
    K.bias_add(x, b, out)
    np.testing.assert_array_equal(out, x + b)
    K.bias_add(x, b, x)
    np.testing.assert_array_equal(x, out)
    msg = r"`b` must have shape \(67,\) to match the last axis"
    with pytest.raises(InvalidArgumentError, match=msg):
        K.bias_add(x, b[:3], out)


@pytest.mark.parametrize("mean", [False, True], ids=["sum", "mean"])
@pytest.mark.parametrize("shape", [(1,), (7, 13), (3, 5, 4), (70001, 2)], ids=str)
def test_reductions(shape, mean, dtype, num_threads, rng):
    x = rng.standard_normal(shape).astype(dtype)
    ref = np.mean if mean else np.sum
    fn = K.reduce_mean if mean else K.reduce_sum
    tol = 1e-5 if dtype == np.float32 else 1e-12
    out = np.empty((), dtype)
    fn(x, out)
    np.testing.assert_allclose(out, ref(x.astype(np.float64)), rtol=tol, atol=tol)
    for axis in (0, -1):
        want = ref(x.astype(np.float64), axis=axis)
        out = np.empty(want.shape, dtype)
        fn(x, out, axis=axis)
        np.testing.assert_allclose(out, want, rtol=tol * 10, atol=tol * 10)
        fn(x, out, axis=axis, accumulate=True)
        np.testing.assert_allclose(out, 2 * want, rtol=tol * 10, atol=tol * 10)


def test_reduction_errors():
    x = np.ones((3, 4, 5))
    with pytest.raises(InvalidArgumentError, match=r"`axis` must be None, 0 or -1"):
        K.reduce_sum(x, np.empty(4), axis=1)
    with pytest.raises(InvalidArgumentError, match=r"`out` must have shape \(4, 5\)"):
        K.reduce_sum(x, np.empty(4), axis=0)
    with pytest.raises(InvalidArgumentError, match="exactly 1 element"):
        K.reduce_mean(x, np.empty(2))


def test_increment():
    step = np.array(41, np.int64)
    K.increment(step)
    K.increment(step, 2)
    assert step == 44
    with pytest.raises(InvalidArgumentError, match="`value` must be an int64 array with one"):
        K.increment(np.zeros(1, np.int32))


def test_elementwise_errors(rng):
    a = np.ones(4)
    with pytest.raises(InvalidArgumentError, match=r"`b` must have the same shape as a"):
        K.add(a, np.ones(5), np.empty(4))
    with pytest.raises(InvalidArgumentError, match="`dst` must not share memory with `src`"):
        K.axpy(a, a)
    with pytest.raises(TypeError, match="`value` must be a number"):
        K.fill(a, None)


def test_set_num_threads():
    before = K.get_num_threads()
    try:
        K.set_num_threads(3)
        assert K.get_num_threads() == 3
        with pytest.raises(InvalidArgumentError, match=r"`n` must be in \[1, 64\]"):
            K.set_num_threads(0)
        with pytest.raises(TypeError, match="`n` must be an int"):
            K.set_num_threads(2.0)
    finally:
        K.set_num_threads(before)


_PROBE = """
import json, sys
import estcore
from estcore._lib import _kernels
print(json.dumps({"scipy": sorted(m for m in sys.modules if m.split(".")[0] == "scipy"),
                  "info": _kernels.gemm_info()}))
"""


def test_import_loads_no_blas_and_gemm_info_is_truthful():
    """Importing estcore loads no scipy (GEMM is estcore's own); gemm_info names the
    ISA in use among the supported ones. Checked in a fresh interpreter."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ESTCORE_ISA"}
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         timeout=120, check=True, env=env)
    probe = json.loads(res.stdout.strip().splitlines()[-1])
    assert probe["scipy"] == []
    info = probe["info"]
    assert info["isas"][0] == "generic"
    assert info["isa"] == info["isas"][-1]  # the best supported, without ESTCORE_ISA
    assert info["estcore_threads"] >= 1
