"""gemm, fused dense forward/backward and activations against numpy (float64 oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

RTOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}
ATOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}

ACTS = ["none", "relu", "relu6", "sigmoid", "tanh", "elu", "selu", "softplus", "leaky_relu"]
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


def act_ref(z, name, alpha=None):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "relu6":
        return np.clip(z, 0, 6)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "elu":
        return np.where(z > 0, z, (1.0 if alpha is None else alpha) * np.expm1(z))
    if name == "selu":
        return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z))
    if name == "softplus":
        return np.logaddexp(0, z)
    if name == "leaky_relu":
        return np.where(z > 0, z, (0.2 if alpha is None else alpha) * z)
    return z


def dact_ref(z, name, alpha=None):
    """Derivative from the pre-activation z (independent of the kernels' from-y rule)."""
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "relu6":
        return ((z > 0) & (z < 6)).astype(z.dtype)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "elu":
        return np.where(z > 0, 1, (1.0 if alpha is None else alpha) * np.exp(z))
    if name == "selu":
        return SELU_SCALE * np.where(z > 0, 1, SELU_ALPHA * np.exp(z))
    if name == "softplus":
        return 1 / (1 + np.exp(-z))
    if name == "leaky_relu":
        return np.where(z > 0, 1, 0.2 if alpha is None else alpha)
    return np.ones_like(z)


def close(actual, expected, dtype, scale=1.0):
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype] * scale, atol=ATOL[dtype] * scale)


SHAPES = [(1, 1, 1), (7, 13, 11), (67, 31, 3), (257, 131, 67), (13, 97, 601)]  # last two split


@pytest.mark.smoke
@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("mkn", SHAPES, ids=str)
def test_gemm_matches_numpy(mkn, order, ta, tb, dtype, num_threads, gemm_isa, rng):
    m, k, n = mkn
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype, order=order)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype, order=order)
    out = rng.standard_normal((m, n)).astype(dtype)
    old = out.astype(np.float64)
    expect = 0.5 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b)) + 2.0 * old
    K.gemm(a, b, out, transpose_a=ta, transpose_b=tb, alpha=0.5, beta=2.0)
    close(out, expect, dtype, scale=10)


def test_gemm_errors():
    a = np.ones((3, 4))
    msg = r"`b` must have shape \(4, n\).*b.shape=\(5, 2\)"
    with pytest.raises(InvalidArgumentError, match=msg):
        K.gemm(a, np.ones((5, 2)), np.empty((3, 2)))
    with pytest.raises(InvalidArgumentError, match=r"`out` must have shape \(3, 2\)"):
        K.gemm(a, np.ones((4, 2)), np.empty((2, 3)))
    with pytest.raises(InvalidArgumentError, match="`out` must be C-contiguous"):
        K.gemm(a, np.ones((4, 2)), np.empty((3, 2), order="F"))
    with pytest.raises(InvalidArgumentError, match="non-contiguous"):
        K.gemm(np.ones((3, 8))[:, ::2], np.ones((4, 2)), np.empty((3, 2)))
    with pytest.raises(TypeError, match=r"`b` must have dtype float64 to match a"):
        K.gemm(a, np.ones((4, 2), np.float32), np.empty((3, 2)))
    buf = np.ones(12)
    with pytest.raises(InvalidArgumentError, match="`out` must not share memory with `a`"):
        K.gemm(buf.reshape(3, 4), np.ones((4, 2)), buf[6:].reshape(3, 2))


@pytest.mark.smoke
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("mkn", SHAPES, ids=str)
def test_dense_forward_matches_numpy(mkn, act, dtype, num_threads, gemm_isa, rng):
    m, k, n = mkn
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    K.dense_forward(x, w, b, out, act)
    z = x.astype(np.float64) @ w + b
    close(out, act_ref(z, act), dtype, scale=5)
    # without bias, by code instead of name
    K.dense_forward(x, w, None, out, K.activation_code(act))
    close(out, act_ref(x.astype(np.float64) @ w, act), dtype, scale=5)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("mkn", SHAPES, ids=str)
def test_dense_backward_matches_numpy(mkn, act, dtype, num_threads, gemm_isa, rng):
    m, k, n = mkn
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)
    y = np.empty((m, n), dtype)
    K.dense_forward(x, w, b, y, act)
    z = x.astype(np.float64) @ w + b
    dz = dy * dact_ref(z, act)
    dw, db, dx, dzo = (np.empty(s, dtype) for s in [(k, n), (n,), (m, k), (m, n)])
    K.dense_backward(x, w, y, dy, dw, db, dx, dz_out=dzo, act=act)
    scale = 50 if dtype == np.float32 else 1e3  # from-output gradients lose a few digits
    close(dzo if act != "none" else dy, dz, dtype, scale)
    close(dw, x.T.astype(np.float64) @ dz, dtype, scale)
    close(db, dz.sum(axis=0), dtype, scale)
    close(dx, dz @ w.T.astype(np.float64), dtype, scale)
    # accumulate adds a second copy of every gradient
    K.dense_backward(x, w, y, dy, dw, db, dx, dz_out=dzo, act=act, accumulate=True)
    close(dw, 2 * x.T.astype(np.float64) @ dz, dtype, scale)
    close(db, 2 * dz.sum(axis=0), dtype, scale)
    close(dx, 2 * dz @ w.T.astype(np.float64), dtype, scale)


def test_dense_backward_in_place_and_optional_outputs(dtype, rng):
    x, w = rng.standard_normal((9, 5)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)
    y = np.empty((9, 4), dtype)
    K.dense_forward(x, w, None, y, "tanh")
    dy = rng.standard_normal((9, 4)).astype(dtype)
    expect_dz = dy.astype(np.float64) * (1 - y.astype(np.float64) ** 2)
    dw = np.empty((5, 4), dtype)
    buf = dy.copy()
    K.dense_backward(x, None, y, buf, dw, None, None, dz_out=buf, act="tanh")  # input layer
    close(buf, expect_dz, dtype, 10)
    close(dw, x.T.astype(np.float64) @ expect_dz, dtype, 10)
    db = np.empty(4, dtype)
    K.dense_backward(None, None, None, dy, None, db)  # only the bias gradient, act none
    close(db, dy.sum(axis=0), dtype)


def guarded(shape, dtype, rng):
    """A C-contiguous view into the middle of a larger buffer whose guard rows hold
    a sentinel: writing outside the view (or into a copy) is detected."""
    rows = shape[0] if shape else 1
    rest = shape[1:] if shape else ()
    big = np.full((rows + 2, *rest), 1234.5, dtype)
    view = big[1:-1]
    assert view.flags.c_contiguous and np.shares_memory(view, big)
    return big, view


def assert_guards_intact(big):
    assert (big[0] == 1234.5).all() and (big[-1] == 1234.5).all()


def test_dense_outputs_written_in_place(dtype, num_threads, rng):
    x = rng.standard_normal((67, 31)).astype(dtype)
    w = rng.standard_normal((31, 13)).astype(dtype)
    b = rng.standard_normal(13).astype(dtype)
    ybig, y = guarded((67, 13), dtype, rng)
    K.dense_forward(x, w, b, y, "tanh")
    assert_guards_intact(ybig)
    close(y, np.tanh(x.astype(np.float64) @ w + b), dtype, 5)
    dy = rng.standard_normal(y.shape).astype(dtype)
    bufs = [guarded(s, dtype, rng) for s in [(31, 13), (13,), (67, 31), (67, 13)]]
    dw, db, dx, dz = (v for _, v in bufs)
    K.dense_backward(x, w, y, dy, dw, db, dx, dz_out=dz, act="tanh")
    for big, _ in bufs:
        assert_guards_intact(big)
    ref_dz = dy * (1 - y.astype(np.float64) ** 2)
    close(dw, x.T.astype(np.float64) @ ref_dz, dtype, 50)
    close(dx, ref_dz @ w.T.astype(np.float64), dtype, 50)


def test_dense_errors():
    x, w = np.ones((128, 784), np.float32), np.ones((784, 10), np.float32)
    out = np.empty((128, 10), np.float32)
    msg = (r"dense_forward: `w` must have shape \(784, n\) to match x \(128, 784\). "
           r"Received: w.shape=\(100, 10\)")
    with pytest.raises(InvalidArgumentError, match=msg):
        K.dense_forward(x, np.ones((100, 10), np.float32), None, out)
    with pytest.raises(InvalidArgumentError, match=r"`b` must have shape \(10,\)"):
        K.dense_forward(x, w, np.ones(11, np.float32), out)
    with pytest.raises(InvalidArgumentError, match=r"`out` must have shape \(128, 10\)"):
        K.dense_forward(x, w, None, np.empty((128, 11), np.float32))
    with pytest.raises(TypeError, match="`w` must have dtype float32 to match x"):
        K.dense_forward(x, w.astype(np.float64), None, out)
    with pytest.raises(TypeError, match="`x` must have dtype float32 or float64"):
        K.dense_forward(x.astype(np.int32), w, None, out)
    with pytest.raises(TypeError, match="`x` must be a numpy.ndarray"):
        K.dense_forward([[1.0]], w, None, out)
    with pytest.raises(InvalidArgumentError, match="`x` must be C-contiguous.*Fortran-ordered"):
        K.dense_forward(np.asfortranarray(x), w, None, out)
    ro = out.copy()
    ro.flags.writeable = False
    with pytest.raises(InvalidArgumentError, match="`out` is written in place and must be"):
        K.dense_forward(x, w, None, ro)
    with pytest.raises(InvalidArgumentError, match="`act` must be one of"):
        K.dense_forward(x, w, None, out, "gelu")
    with pytest.raises(InvalidArgumentError, match="`alpha` must be >= 0"):
        K.dense_forward(x, w, None, out, "leaky_relu", alpha=-0.5)
    with pytest.raises(InvalidArgumentError, match="`y` and `dz_out` are required"):
        K.dense_backward(x, w, out, out, None, None, None, act="relu")
    with pytest.raises(InvalidArgumentError, match=r"`dx_out` must have shape \(128, 784\)"):
        K.dense_backward(x, w, None, out, None, None, np.empty((128, 10), np.float32))
    with pytest.raises(InvalidArgumentError, match="`x` is needed to compute dw_out"):
        K.dense_backward(None, w, None, out, np.empty((784, 10), np.float32), None)
    # dz_out is written before the GEMMs read x and w: it must not overlap them
    sq_x, sq_w = np.ones((10, 10), np.float32), np.ones((10, 10), np.float32)
    y10, dy10 = np.ones((10, 10), np.float32), np.ones((10, 10), np.float32)
    dw10 = np.empty((10, 10), np.float32)
    with pytest.raises(InvalidArgumentError, match="`dz_out` must not share memory with `x`"):
        K.dense_backward(sq_x, sq_w, y10, dy10, dw10, None, None, sq_x, act="relu")
    with pytest.raises(InvalidArgumentError, match="`dz_out` must not share memory with `w`"):
        K.dense_backward(sq_x, sq_w, y10, dy10, dw10, None, None, sq_w, act="relu")


def test_read_only_inputs_are_accepted(rng):
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    x.flags.writeable = False
    out = np.empty((4, 2))
    K.dense_forward(x, w, None, out)
    np.testing.assert_allclose(out, x @ w, rtol=1e-12)


@pytest.mark.parametrize("act", ACTS)
def test_activation_forward_backward(act, dtype, num_threads, rng):
    x = (rng.standard_normal(70001) * 4).astype(dtype)  # large enough to be split
    y = np.empty_like(x)
    K.activation_forward(x, y, act)
    close(y, act_ref(x.astype(np.float64), act), dtype, 5)
    dy = rng.standard_normal(x.shape).astype(dtype)
    dx = np.empty_like(x)
    K.activation_backward(y, dy, dx, act)
    scale = 50 if dtype == np.float32 else 1e4
    close(dx, dy * dact_ref(x.astype(np.float64), act), dtype, scale)
    K.activation_forward(x, x, act)  # in place
    np.testing.assert_array_equal(x, y)


def test_activations_keep_nan():
    x = np.array([np.nan, 1.0, -1.0])
    for act in ACTS:
        y = np.empty_like(x)
        K.activation_forward(x, y, act)
        assert np.isnan(y[0]), act


def test_activation_codes():
    assert K.activation_code("relu") == K.ACT_RELU
    assert K.activation_code(None) == K.ACT_NONE
    assert K.activation_code("linear") == K.ACT_NONE
    codes = [K.ACT_NONE, K.ACT_RELU, K.ACT_RELU6, K.ACT_SIGMOID, K.ACT_TANH, K.ACT_ELU,
             K.ACT_SELU, K.ACT_SOFTPLUS, K.ACT_LEAKY_RELU]
    assert codes == list(range(9))
    with pytest.raises(InvalidArgumentError):
        K.activation_code(99)


@pytest.fixture
def many_threads():
    """16 compute threads (more than this machine's cores): GEMMs split into 2-D grids."""
    before = K.get_num_threads()
    K.set_num_threads(16)
    yield 16
    K.set_num_threads(before)


GRID_SHAPES = [(128, 784, 256), (96, 300, 200), (40, 257, 131), (300, 64, 24)]


@pytest.mark.parametrize("ta", [False, True], ids=["a", "aT"])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "bT"])
@pytest.mark.parametrize("mkn", GRID_SHAPES, ids=str)
def test_gemm_grid_split_matches_numpy_and_is_deterministic(mkn, ta, tb, many_threads, rng):
    """Shapes big enough that 16 threads cut C into row x column blocks."""
    m, k, n = mkn
    dtype = np.dtype(np.float32)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    c = np.full((m, n), np.nan, dtype)
    K.gemm(a, b, c, transpose_a=ta, transpose_b=tb)
    close(c, opa.astype(np.float64) @ opb, dtype, scale=20)
    again = np.full((m, n), np.nan, dtype)
    K.gemm(a, b, again, transpose_a=ta, transpose_b=tb)
    np.testing.assert_array_equal(again, c)


@pytest.mark.parametrize("mkn", GRID_SHAPES, ids=str)
def test_dense_grid_split_matches_numpy(mkn, many_threads, rng):
    m, k, n = mkn
    dtype = np.dtype(np.float32)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    y = np.full((m, n), np.nan, dtype)
    K.dense_forward(x, w, b, y, "relu")
    z = x.astype(np.float64) @ w + b
    close(y, np.maximum(z, 0), dtype, scale=5)
    dy = rng.standard_normal((m, n)).astype(dtype)
    dz, dw, db, dx = (np.full(s, np.nan, dtype) for s in ((m, n), (k, n), (n,), (m, k)))
    K.dense_backward(x, w, y, dy, dw, db, dx, dz_out=dz, act="relu")
    dz_ref = dy.astype(np.float64) * (z > 0)
    close(dz, dz_ref, dtype)
    close(dw, x.T.astype(np.float64) @ dz_ref, dtype, scale=20)
    close(db, dz_ref.sum(0), dtype, scale=20)
    close(dx, dz_ref @ w.T.astype(np.float64), dtype, scale=20)


# Forwards the kernel sums over K in two fixed halves (x wide, y small: est_dense.inc).
K_HALF_SHAPES = [(128, 784, 256), (5, 600, 7), (33, 1030, 64), (1, 512, 512)]


@pytest.mark.parametrize("act", ["none", "relu", "tanh"])
@pytest.mark.parametrize("mkn", K_HALF_SHAPES, ids=str)
def test_dense_forward_over_k_halves(mkn, act, dtype, gemm_isa, rng):
    """y = act((x[:, :h] @ W[:h] + x[:, h:] @ W[h:]) + b), h the multiple of 8 nearest
    k / 2, bit for bit, whatever the thread count; and close to numpy."""
    m, k, n = mkn
    h = (k // 2 + 4) // 8 * 8
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    before = K.get_num_threads()
    try:
        for b in (rng.standard_normal(n).astype(dtype), None):
            K.set_num_threads(1)
            p0, p1 = np.empty((m, n), dtype), np.empty((m, n), dtype)
            K.gemm(np.ascontiguousarray(x[:, :h]), w[:h], p0)
            K.gemm(np.ascontiguousarray(x[:, h:]), w[h:], p1)
            want = p0 + p1 if b is None else (p0 + p1) + b
            K.activation_forward(want, want, act)
            z = x.astype(np.float64) @ w + (0 if b is None else b)
            for threads in (1, 2, 3, 16):
                K.set_num_threads(threads)
                y = np.full((m, n), np.nan, dtype)
                K.dense_forward(x, w, b, y, act)
                np.testing.assert_array_equal(y, want)
                close(y, act_ref(z, act), dtype, scale=5)
    finally:
        K.set_num_threads(before)


def test_dense_forward_k_halves_keep_nan_rows(rng):
    """A NaN in x reaches only its row of y, through either half."""
    x = rng.standard_normal((9, 784)).astype(np.float32)
    x[2, 10] = np.nan  # first half
    x[6, 700] = np.nan  # second half
    w = rng.standard_normal((784, 256)).astype(np.float32)
    y = np.empty((9, 256), np.float32)
    K.dense_forward(x, w, np.zeros(256, np.float32), y, "relu")
    assert np.isnan(y[[2, 6]]).all() and not np.isnan(np.delete(y, [2, 6], 0)).any()
