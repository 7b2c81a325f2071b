"""estcore's own packed GEMM under each instruction set, forced in turn.

Tolerance (documented in csrc/include/estcore/est_blas.h): each element of C is one
chain of FMAs over k, so against a float64 reference

    |C - C_ref| <= 2 * k * eps * (|alpha| * (|op(A)| @ |op(B)|) + |beta| * |C0|) + 2 * eps * |C_ref|

with eps the dtype's machine epsilon (the classical bound for a dot product of length k,
doubled for the alpha / beta / bias steps). The tests assert exactly that bound.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

# Every shape class: tiny, skinny (one row / column), odd sizes, k = 0 / 1, sizes that
# cross the micro-tile edges (6 rows; 64, 16, 8 columns), the KC / MC / NC blocks.
SHAPES = [(1, 1, 1), (1, 0, 1), (3, 0, 2), (2, 1, 3), (1, 5, 17), (17, 5, 1), (5, 3, 4),
          (6, 8, 64), (7, 9, 65), (13, 11, 17), (12, 129, 33), (300, 7, 1), (1, 2, 300),
          (100, 256, 10), (37, 300, 81), (197, 67, 129), (401, 130, 70), (8, 3, 2100)]


def bound(opa, opb, c0, alpha, beta, ref, dtype):
    eps = np.finfo(dtype).eps
    k = opa.shape[1]
    mag = abs(alpha) * (np.abs(opa).astype(np.float64) @ np.abs(opb)) + abs(beta) * np.abs(c0)
    return 2 * max(k, 1) * eps * mag + 2 * eps * np.abs(ref)


def check_gemm(rng, dtype, m, k, n, ta, tb, alpha, beta, order="C"):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype, order=order)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype, order=order)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    if beta == 0:
        c0[...] = np.nan  # beta 0 never reads C
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    c0_64 = np.nan_to_num(c0.astype(np.float64)) if beta == 0 else c0.astype(np.float64)
    ref = alpha * (opa.astype(np.float64) @ opb) + beta * c0_64
    out = c0.copy()
    K.gemm(a, b, out, transpose_a=ta, transpose_b=tb, alpha=alpha, beta=beta)
    err = np.abs(out.astype(np.float64) - ref)
    tol = bound(opa, opb, c0_64, alpha, beta, ref, dtype)
    assert np.all(err <= tol), (m, k, n, ta, tb, alpha, beta, float(np.max(err - tol)))
    return out


@pytest.mark.smoke
@pytest.mark.parametrize("tt", [(0, 0), (1, 0), (0, 1), (1, 1)], ids=["nn", "tn", "nt", "tt"])
@pytest.mark.parametrize("mkn", SHAPES, ids=str)
def test_gemm_every_shape_class(mkn, tt, dtype, gemm_isa, rng):
    m, k, n = mkn
    for alpha, beta in ((1.0, 0.0), (0.5, -2.0), (1.0, 1.0), (-1.5, 0.25)):
        check_gemm(rng, dtype, m, k, n, bool(tt[0]), bool(tt[1]), alpha, beta)


@pytest.mark.parametrize("mkn", [(7, 9, 65), (128, 784, 256), (256, 128, 10)], ids=str)
def test_gemm_fortran_ordered_operands(mkn, dtype, gemm_isa, rng):
    m, k, n = mkn
    check_gemm(rng, dtype, m, k, n, False, False, 1.0, 0.0, order="F")
    check_gemm(rng, dtype, m, k, n, True, True, 1.0, 0.5, order="F")


# The MLP's GEMMs (784-256-256-10 at batch 128, forward and both backward products)
# and the tutorial CNN's im2col GEMMs (batch 4 here), as the benchmarks time them.
MODEL_SHAPES = [(128, 784, 256, 0, 0), (128, 256, 10, 0, 0), (784, 128, 256, 1, 0),
                (256, 128, 10, 1, 0), (128, 256, 784, 0, 1), (128, 10, 256, 0, 1),
                (3136, 25, 32, 0, 0), (25, 3136, 32, 1, 0), (784, 800, 64, 0, 0),
                (800, 784, 64, 1, 0), (784, 64, 800, 0, 1)]


@pytest.mark.parametrize("shape", MODEL_SHAPES, ids=str)
def test_gemm_model_shapes(shape, dtype, gemm_isa, num_threads, rng):
    m, k, n, ta, tb = shape
    check_gemm(rng, dtype, m, k, n, bool(ta), bool(tb), 1.0, 0.0)


def test_gemm_alpha_zero_reads_neither_operand(dtype, gemm_isa):
    a = np.full((3, 4), np.nan, dtype)
    b = np.full((4, 2), np.inf, dtype)
    c = np.arange(6, dtype=dtype).reshape(3, 2)
    K.gemm(a, b, c, alpha=0.0, beta=2.0)
    np.testing.assert_array_equal(c, 2 * np.arange(6).reshape(3, 2))


def test_gemm_nan_in_operand_propagates(dtype, gemm_isa):
    a = np.ones((7, 5), dtype)
    a[3, 2] = np.nan
    c = np.zeros((7, 70), dtype)
    K.gemm(a, np.ones((5, 70), dtype), c)
    assert np.isnan(c[3]).all() and not np.isnan(np.delete(c, 3, 0)).any()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_gemm_bit_identical_across_runs_and_thread_counts(threads, gemm_isa, rng):
    """Splitting C over threads never changes the order of the sums."""
    a = rng.standard_normal((160, 333)).astype(np.float32)
    b = rng.standard_normal((333, 300)).astype(np.float32)
    before = K.get_num_threads()
    try:
        K.set_num_threads(1)
        one = np.empty((160, 300), np.float32)
        K.gemm(a, b, one)
        K.set_num_threads(threads)
        for _ in range(3):
            again = np.full((160, 300), np.nan, np.float32)
            K.gemm(a, b, again)
            np.testing.assert_array_equal(again, one)
    finally:
        K.set_num_threads(before)


@pytest.mark.parametrize("tt", [(0, 0), (1, 0), (0, 1)], ids=["nn", "tn", "nt"])
@pytest.mark.parametrize("n", [130, 300], ids=["n130", "n300"])
def test_gemm_last_rows_of_every_count(n, tt, dtype, gemm_isa, rng):
    """The last rows of C, however few (m mod the tile height 0..11, for tiles of 4 or
    6 rows, with whole panels of columns before the narrow one), are within the bound
    and bit for bit the same rows computed among more rows: the remainder tiles that
    compute exactly the rows left sum each row as the full tile does. n 130 reads A
    in place (at most four panels of columns), n 300 packs it. The rows among more
    come from a C of 400 rows (more than one block of rows: B packed) and the parts
    have one block (whole panels of an untransposed B read in place): the same bits."""
    ta, tb = bool(tt[0]), bool(tt[1])
    k = 37
    big = 400
    a = rng.standard_normal((k, big) if ta else (big, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    full = np.empty((big, n), dtype)
    K.gemm(a, b, full, transpose_a=ta, transpose_b=tb, alpha=0.75)
    for m in [*range(1, 13), 150]:
        part = np.full((m, n), np.nan, dtype)
        am = np.ascontiguousarray(a[:, :m] if ta else a[:m])
        K.gemm(am, b, part, transpose_a=ta, transpose_b=tb, alpha=0.75)
        np.testing.assert_array_equal(part, full[:m], err_msg=f"m={m}")
        check_gemm(rng, dtype, m, k, n, ta, tb, 1.0, 0.5)


@pytest.mark.parametrize("act", ["none", "relu", "tanh"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("mkn", [(128, 784, 256), (128, 500, 256), (128, 256, 10), (5, 3, 70)],
                         ids=str)
def test_dense_forward_fused_epilogue(mkn, bias, act, dtype, gemm_isa, rng):
    """Bias and ReLU are applied in the micro-kernel's store (tanh after it); 784 inputs
    take the forward over K halves, whose last pass applies them."""
    m, k, n = mkn
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype) if bias else None
    y = np.full((m, n), np.nan, dtype)
    K.dense_forward(x, w, b, y, act)
    z = x.astype(np.float64) @ w + (0 if b is None else b)
    eps = np.finfo(dtype).eps
    mag = np.abs(x).astype(np.float64) @ np.abs(w) + (0 if b is None else np.abs(b))
    tol = 2 * k * eps * mag + 4 * eps * np.abs(z)
    ref = {"none": z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[act]
    assert np.all(np.abs(y - ref) <= tol + (4 * eps if act == "tanh" else 0))


def test_gemm_isa_api():
    isas = K.gemm_isas()
    assert isas[0] == "generic" and set(isas) <= {"generic", "avx2", "avx512"}
    try:
        for name in isas:
            K.set_gemm_isa(name)
            assert K.get_gemm_isa() == name
            assert K.gemm_info()["isa"] == name
        K.set_gemm_isa("auto")
        assert K.get_gemm_isa() == isas[-1]
        with pytest.raises(InvalidArgumentError, match="`name` must be one of"):
            K.set_gemm_isa("sse9")
        with pytest.raises(TypeError, match="`name` must be a str"):
            K.set_gemm_isa(2)
        for name in {"avx2", "avx512"} - set(isas):
            with pytest.raises(InvalidArgumentError, match="not supported on this CPU"):
                K.set_gemm_isa(name)
    finally:
        K.set_gemm_isa("auto")


_ENV_PROBE = ("from estcore._lib import _kernels as K; import numpy as np; "
              "c = np.empty((3, 3)); K.gemm(np.eye(3), np.eye(3), c); "
              "assert (c == np.eye(3)).all(); print(K.get_gemm_isa())")


@pytest.mark.parametrize("value", ["generic", "avx2", "avx512", "bogus"])
def test_estcore_isa_environment_variable(value):
    """ESTCORE_ISA picks the ISA at the first GEMM; one the CPU lacks falls back to the
    best below it, an unknown name is ignored. Checked in a fresh interpreter."""
    isas = K.gemm_isas()
    order = ["generic", "avx2", "avx512"]
    if value in order:
        expect = max((i for i in isas if order.index(i) <= order.index(value)), key=order.index)
    else:
        expect = isas[-1]
    res = subprocess.run([sys.executable, "-c", _ENV_PROBE], capture_output=True, text=True,
                         timeout=120, check=True, env={**os.environ, "ESTCORE_ISA": value})
    assert res.stdout.strip().splitlines()[-1] == expect


def test_fma_probe_counts_its_flops_and_checks_iters():
    """fma_probe: 16 vector FMA chains, 2 flops per lane per FMA; a bad count is refused."""
    per_step = K.fma_probe(1)
    lanes = {"avx512": 16, "avx2": 8, "generic": 1}[K.get_gemm_isa()]
    assert per_step == 2 * 16 * lanes
    assert K.fma_probe(1000) == 1000 * per_step and K.fma_probe(0) == 0
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(InvalidArgumentError, match="`iters` must be an int >= 0"):
            K.fma_probe(bad)
