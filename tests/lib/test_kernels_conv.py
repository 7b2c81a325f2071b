"""conv2d (NHWC / HWIO: implicit GEMM from 8 channels, im2col + GEMM below) and max / avg
pooling against numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-11}


def geometry(size, k, s, padding):
    """TF's output size and padding before, for one axis."""
    if padding == "SAME":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2, total - total // 2
    return (size - k) // s + 1, 0, 0


def padded(x, kh, kw, sh, sw, padding, fill=0.0):
    n, h, w, c = x.shape
    oh, pt, pb = geometry(h, kh, sh, padding)
    ow, pl, pr = geometry(w, kw, sw, padding)
    pb = max(pb, (oh - 1) * sh + kh - h - pt)
    pr = max(pr, (ow - 1) * sw + kw - w - pl)
    xp = np.full((n, h + pt + pb, w + pl + pr, c), fill, dtype=np.float64)
    xp[:, pt:pt + h, pl:pl + w] = x
    return xp, oh, ow, pt, pl


def conv_ref(x, f, b, strides, padding):
    kh, kw, _, oc = f.shape
    xp, oh, ow, _, _ = padded(x, kh, kw, *strides, padding)
    y = np.zeros((x.shape[0], oh, ow, oc))
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, ky:ky + strides[0] * (oh - 1) + 1:strides[0],
                       kx:kx + strides[1] * (ow - 1) + 1:strides[1]]
            y += patch @ f[ky, kx].astype(np.float64)
    return y + (0 if b is None else b)


def conv_grads_ref(x, f, dz, strides, padding):
    kh, kw, c, oc = f.shape
    xp, oh, ow, pt, pl = padded(x, kh, kw, *strides, padding)
    dxp = np.zeros_like(xp)
    df = np.zeros(f.shape)
    for ky in range(kh):
        for kx in range(kw):
            sl = (slice(None), slice(ky, ky + strides[0] * (oh - 1) + 1, strides[0]),
                  slice(kx, kx + strides[1] * (ow - 1) + 1, strides[1]))
            df[ky, kx] = xp[sl].reshape(-1, c).T @ dz.reshape(-1, oc)
            dxp[sl] += dz @ f[ky, kx].T.astype(np.float64)
    h, w = x.shape[1:3]
    return dxp[:, pt:pt + h, pl:pl + w], df, dz.sum(axis=(0, 1, 2))


CONV_CASES = [  # (batch, h, w, c), (kh, kw, oc), strides
    ((1, 1, 1, 1), (1, 1, 1), (1, 1)),
    ((2, 7, 5, 3), (3, 3, 4), (1, 1)),
    ((3, 11, 13, 2), (5, 3, 5), (2, 3)),
    ((2, 9, 9, 4), (1, 1, 3), (1, 1)),       # 1x1: no im2col
    ((8, 16, 16, 3), (5, 5, 8), (1, 1)),     # split over threads
    ((3, 9, 7, 8), (3, 2, 5), (2, 1)),       # in_c >= 8: filter gradient per tap slice
    ((20, 4, 4, 9), (3, 3, 6), (1, 1)),      # ... over two groups of images (16 + 4)
    ((2, 16, 16, 80), (5, 3, 70), (1, 1)),   # kk 1200, oc > one register panel
    ((2, 7, 9, 8), (4, 2, 9), (1, 1)),       # implicit GEMM both ways, even window (SAME pads
                                             # more after), oc not a whole vector
    ((3, 5, 6, 10), (3, 3, 33), (3, 2)),     # implicit forward with strides
    ((1, 6, 6, 16), (5, 5, 8), (1, 1)),      # window nearly as large as the image
    ((5, 3, 4, 12), (2, 3, 16), (1, 1)),     # images smaller than a tile of rows
]


@pytest.mark.smoke
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_backward(case, padding, dtype, num_threads, gemm_isa, rng):
    xs, (kh, kw, oc), strides = case
    x = rng.standard_normal(xs).astype(dtype)
    f = (rng.standard_normal((kh, kw, xs[3], oc)) / np.sqrt(kh * kw * xs[3])).astype(dtype)
    b = rng.standard_normal(oc).astype(dtype)
    oshape = K.conv2d_output_shape(xs, f.shape, strides, padding)
    col = np.empty(K.conv2d_col_size(xs, f.shape, strides, padding), dtype)
    y = np.full(oshape, np.nan, dtype)
    K.conv2d_forward(x, f, b, y, col, strides=strides, padding=padding, act="relu")
    z = conv_ref(x, f, b, strides, padding)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(y, np.maximum(z, 0), rtol=rtol, atol=rtol)
    dy = rng.standard_normal(oshape).astype(dtype)
    dz_ref = dy * (z > 0)
    dx, df, db, dz = (np.empty(s, dtype) for s in (xs, f.shape, (oc,), oshape))
    K.conv2d_backward(x, f, y, dy, col, dx, df, db, dz_out=dz, strides=strides,
                      padding=padding, act="relu")
    rdx, rdf, rdb = conv_grads_ref(x, f, dz_ref, strides, padding)
    for got, want in ((dx, rdx), (df, rdf), (db, rdb)):
        np.testing.assert_allclose(got, want, rtol=10 * rtol, atol=10 * rtol)
    K.conv2d_backward(x, f, y, dy, col, dx, df, db, dz_out=dz, strides=strides,
                      padding=padding, act="relu", accumulate=True)
    for got, want in ((dx, rdx), (df, rdf), (db, rdb)):
        np.testing.assert_allclose(got, 2 * want, rtol=10 * rtol, atol=10 * rtol)


@pytest.mark.parametrize("seed", range(60))
def test_conv2d_random_geometries(seed):
    """Random sizes, windows, strides, paddings, channel counts (1 to 33 in, 1 to 65
    out), dtypes and thread counts: every path (implicit GEMMs, the stride-1 input
    gradient, dcol + col2im, 1x1) against the numpy reference."""
    rng = np.random.default_rng(seed)
    b, h, w = (int(v) for v in rng.integers(1, [5, 12, 12]))
    c = int(rng.choice([1, 2, 3, 5, 8, 16, 17, 33]))
    oc = int(rng.choice([1, 3, 8, 16, 17, 40, 65]))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    strides = tuple(int(v) for v in rng.integers(1, 4, 2))
    padding = "VALID" if rng.random() < 0.4 and kh <= h and kw <= w else "SAME"
    dtype = np.float64 if seed % 3 == 0 else np.float32
    x = rng.standard_normal((b, h, w, c)).astype(dtype)
    f = rng.standard_normal((kh, kw, c, oc)).astype(dtype)
    bias = rng.standard_normal(oc).astype(dtype)
    oshape = K.conv2d_output_shape(x.shape, f.shape, strides, padding)
    y, dy = np.empty(oshape, dtype), rng.standard_normal(oshape).astype(dtype)
    dx, df, db = np.empty_like(x), np.empty_like(f), np.empty_like(bias)
    before = K.get_num_threads()
    try:
        K.set_num_threads(int(rng.integers(1, 4)))
        K.conv2d_forward(x, f, bias, y, None, strides, padding)
        K.conv2d_backward(x, f, None, dy, None, dx, df, db, strides=strides, padding=padding)
    finally:
        K.set_num_threads(before)
    rdx, rdf, rdb = conv_grads_ref(x, f, dy.astype(np.float64), strides, padding)
    tol = 10 * RTOL[np.dtype(dtype)]
    for got, want in ((y, conv_ref(x, f, bias, strides, padding)), (dx, rdx), (df, rdf),
                      (db, rdb)):
        scale = np.abs(want).max() + 1
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=tol)


@pytest.mark.parametrize("in_c", [1, 3, 16])
def test_conv2d_filter_and_bias_gradients_same_bits_for_any_thread_count(in_c, rng):
    """The filter gradient (and the bias gradient computed with it) are the same chains
    of sums whatever the split (fixed chunks of images summed in chunk order):
    bit-identical at 1, 2 and 3 threads, accumulate included."""
    x = rng.standard_normal((24, 6, 6, in_c)).astype(np.float32)
    f = rng.standard_normal((5, 5, in_c, 16)).astype(np.float32)
    oshape = K.conv2d_output_shape(x.shape, f.shape, 1, "SAME")
    dy = rng.standard_normal(oshape).astype(np.float32)
    before = K.get_num_threads()
    got = []
    try:
        for t in (1, 2, 3):
            K.set_num_threads(t)
            df, db = np.empty_like(f), np.empty(16, np.float32)
            K.conv2d_backward(x, f, None, dy, None, None, df, db, padding="SAME")
            df2, db2 = df.copy(), db.copy()
            K.conv2d_backward(x, f, None, dy, None, None, df2, db2, padding="SAME",
                              accumulate=True)
            got.append((df, db, df2, db2))
    finally:
        K.set_num_threads(before)
    for other in got[1:]:
        for a, b in zip(got[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[0][1], dy.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got[0][3], 2 * got[0][1], rtol=1e-6)


@pytest.mark.parametrize("shape,fshape,stride", [((1, 16, 16, 23), (7, 7, 23, 32), 2),
                                                 ((1, 10, 10, 37), (5, 5, 37, 48), 1)], ids=str)
def test_conv2d_filter_gradient_non_finite_dy_same_bits_for_any_thread_count(shape, fshape,
                                                                            stride, gemm_isa):
    """The filter gradient skips the padded window rows and columns a tile's taps do not
    need; with an inf in dy the skipped products would have been NaN, so where NaN
    lands depends on which taps share a tile (channel counts that are no multiple of
    the tile height, so tiles straddle taps). The split keeps tiles at the same rows for
    any thread count (one image: the split over filter rows), so the bits, NaNs
    included, do not change."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    f = rng.standard_normal(fshape).astype(np.float32)
    oshape = K.conv2d_output_shape(shape, fshape, stride, "SAME")
    dy = rng.standard_normal(oshape).astype(np.float32)
    dy[0, 0, 0, :] = np.inf
    got = []
    before = K.get_num_threads()
    try:
        for threads in (1, 2, 3):
            K.set_num_threads(threads)
            df = np.full(fshape, 7.0, np.float32)
            K.conv2d_backward(x, f, None, dy, None, None, df, None, strides=stride,
                              padding="SAME")
            got.append(df)
    finally:
        K.set_num_threads(before)
    assert np.isnan(got[0]).any()
    for df in got[1:]:
        np.testing.assert_array_equal(df, got[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_forward_and_input_gradient_same_bits_for_any_thread_count(dtype, gemm_isa, rng):
    """Forward rows and input-gradient images are independent tasks reading one filter
    packed once (dcol in chunks of rows, col2im in row order): the same bits at 1 and 2
    threads, under every ISA."""
    x = rng.standard_normal((6, 16, 16, 48)).astype(dtype)
    f = rng.standard_normal((5, 5, 48, 70)).astype(dtype)
    b = rng.standard_normal(70).astype(dtype)
    oshape = K.conv2d_output_shape(x.shape, f.shape, 1, "SAME")
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, 1, "SAME"), dtype)
    dy = rng.standard_normal(oshape).astype(dtype)
    before = K.get_num_threads()
    got = []
    try:
        for t in (1, 2):
            K.set_num_threads(t)
            y, dx = np.empty(oshape, dtype), np.empty_like(x)
            K.conv2d_forward(x, f, b, y, col, padding="SAME", act="relu")
            K.conv2d_backward(x, f, None, dy, col, dx, None, None, padding="SAME")
            got.append((y, dx))
    finally:
        K.set_num_threads(before)
    for a, c in zip(got[0], got[1], strict=True):
        np.testing.assert_array_equal(a, c)
    want = np.maximum(conv_ref(x, f, b, (1, 1), "SAME"), 0)
    np.testing.assert_allclose(got[0][0], want, rtol=10 * RTOL[np.dtype(dtype)],
                               atol=10 * RTOL[np.dtype(dtype)])


def test_conv2d_no_activation_and_tf_strides(rng):
    x = rng.standard_normal((2, 6, 6, 2))
    f = rng.standard_normal((3, 3, 2, 3))
    y = np.empty(K.conv2d_output_shape(x.shape, f.shape, [1, 2, 2, 1], "SAME"))
    assert y.shape == (2, 3, 3, 3)
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, [1, 2, 2, 1], "SAME"))
    K.conv2d_forward(x, f, None, y, col, strides=[1, 2, 2, 1], padding="same")
    np.testing.assert_allclose(y, conv_ref(x, f, None, (2, 2), "SAME"), rtol=1e-12)
    dx, df = np.empty_like(x), np.empty_like(f)
    dy = rng.standard_normal(y.shape)
    K.conv2d_backward(x, f, None, dy, col, dx, df, None, strides=2, padding="SAME")
    rdx, rdf, _ = conv_grads_ref(x, f, dy, (2, 2), "SAME")
    np.testing.assert_allclose(dx, rdx, rtol=1e-11)
    np.testing.assert_allclose(df, rdf, rtol=1e-11)


def test_conv2d_errors():
    x, f = np.ones((2, 5, 5, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    col = np.empty(K.conv2d_col_size(x.shape, f.shape), np.float32)
    y = np.empty((2, 3, 3, 4), np.float32)
    msg = r"`filters` must have shape \(k_h, k_w, 3, out_c\)"
    with pytest.raises(InvalidArgumentError, match=msg):
        K.conv2d_forward(x, np.ones((3, 3, 2, 4), np.float32), None, y, col)
    with pytest.raises(InvalidArgumentError, match=r"`out` must have shape \(2, 3, 3, 4\)"):
        K.conv2d_forward(x, f, None, np.empty((2, 5, 5, 4), np.float32), col)
    with pytest.raises(TypeError, match="`col` must have dtype float32 to match x"):
        K.conv2d_forward(x, f, None, y, np.empty(4, np.float64))
    with pytest.raises(InvalidArgumentError, match="does not fit the input"):
        K.conv2d_forward(x, np.ones((7, 7, 3, 4), np.float32), None, y, col)
    with pytest.raises(InvalidArgumentError, match="`padding` must be 'SAME' or 'VALID'"):
        K.conv2d_forward(x, f, None, y, col, padding="full")
    with pytest.raises(InvalidArgumentError, match="`strides` must be positive"):
        K.conv2d_forward(x, f, None, y, col, strides=0)
    with pytest.raises(InvalidArgumentError, match=r"`x` must be 4-D"):
        K.conv2d_forward(x[0], f, None, y, col)
    # dz_out is written before x and filters are read by the backward GEMMs
    xs = np.ones((1, 3, 3, 1), np.float32)
    fs, ys = np.ones((1, 1, 1, 1), np.float32), np.ones((1, 3, 3, 1), np.float32)
    cs = np.empty(K.conv2d_col_size(xs.shape, fs.shape), np.float32)
    big = np.ones((1, 3, 3, 1), np.float32)  # filters viewed as the start of dz
    for f_arg, dz, name in ((fs, xs, "x"), (big[:, :1, :1, :], big, "filters")):
        with pytest.raises(InvalidArgumentError, match=f"`dz_out` must not share memory with "
                                                       f"`{name}`"):
            K.conv2d_backward(xs, f_arg, ys, np.ones_like(ys), cs, None,
                              np.empty_like(f_arg), None, dz_out=dz, act="relu")


def pool_ref(x, k, s, padding, kind):
    xp, oh, ow, _, _ = padded(x, k, k, s, s, padding, fill=np.nan)
    n, _, _, c = x.shape
    y = np.empty((n, oh, ow, c))
    dx_route = {}
    for oy in range(oh):
        for ox in range(ow):
            win = xp[:, oy * s:oy * s + k, ox * s:ox * s + k].reshape(n, k * k, c)
            y[:, oy, ox] = np.nanmax(win, axis=1) if kind == "max" else np.nanmean(win, axis=1)
            # first maximum in window order (nan = padding, never chosen)
            dx_route[oy, ox] = np.argmax(np.where(np.isnan(win), -np.inf, win), axis=1)
    return y, dx_route


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1), (1, 1)])
@pytest.mark.parametrize("shape", [(2, 7, 7, 3), (1, 5, 6, 1), (8, 16, 16, 8)], ids=str)
def test_pooling(shape, k, s, padding, dtype, num_threads, rng):
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # many ties
    oshape = K.pool2d_output_shape(shape, k, s, padding)
    dy = rng.standard_normal(oshape).astype(dtype)
    for kind in ("max", "avg"):
        y = np.empty(oshape, dtype)
        dx = np.full(shape, np.nan, dtype)
        if kind == "max":
            K.max_pool2d_forward(x, y, k, s, padding)
            K.max_pool2d_backward(x, dy, dx, k, s, padding)
        else:
            K.avg_pool2d_forward(x, y, k, s, padding)
            K.avg_pool2d_backward(dy, dx, k, s, padding)
        ry, route = pool_ref(x, k, s, padding, kind)
        np.testing.assert_allclose(y, ry, rtol=RTOL[dtype], atol=RTOL[dtype])
        # gradient reference by scattering into the padded frame
        xp, oh, ow, pt, pl = padded(x, k, k, s, s, padding, fill=np.nan)
        rdx = np.zeros(xp.shape)
        n, c = shape[0], shape[3]
        for oy in range(oh):
            for ox in range(ow):
                win_valid = ~np.isnan(xp[:, oy * s:oy * s + k, ox * s:ox * s + k])
                if kind == "max":
                    idx = route[oy, ox]  # (n, c) flat window index
                    for b in range(n):
                        for ch in range(c):
                            wy, wx = divmod(int(idx[b, ch]), k)
                            rdx[b, oy * s + wy, ox * s + wx, ch] += dy[b, oy, ox, ch]
                else:
                    cnt = win_valid.sum(axis=(1, 2))
                    rdx[:, oy * s:oy * s + k, ox * s:ox * s + k] += \
                        win_valid * (dy[:, oy, ox] / cnt)[:, None, None, :]
        rdx = rdx[:, pt:pt + shape[1], pl:pl + shape[2]]
        np.testing.assert_allclose(dx, rdx, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_conv_and_pool_outputs_written_in_place(rng):
    x = rng.standard_normal((3, 9, 9, 2))
    f = rng.standard_normal((3, 3, 2, 4))
    big = np.full((5, 9, 9, 4), 99.0)
    y = big[1:-1]
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, 1, "SAME"))
    K.conv2d_forward(x, f, None, y, col, padding="SAME")
    assert (big[0] == 99).all() and (big[-1] == 99).all()
    np.testing.assert_allclose(y, conv_ref(x, f, None, (1, 1), "SAME"), rtol=1e-12)
    pbig = np.full((5, 5, 5, 2), 99.0)
    K.max_pool2d_forward(x, pbig[1:-1], 2, 2, "SAME")
    assert (pbig[0] == 99).all() and (pbig[-1] == 99).all()
    np.testing.assert_allclose(pbig[1:-1], pool_ref(x, 2, 2, "SAME", "max")[0])


def test_avg_pool_same_divides_by_valid_count():
    x = np.ones((1, 3, 3, 1))
    y = np.empty(K.pool2d_output_shape(x.shape, 2, 2, "SAME"))
    K.avg_pool2d_forward(x, y, 2, 2, "SAME")
    np.testing.assert_array_equal(y, 1.0)  # padded cells are not counted as zeros


def test_max_pool_ties_route_to_first_max():
    x = np.zeros((1, 2, 2, 1))
    dx = np.empty_like(x)
    K.max_pool2d_backward(x, np.ones((1, 1, 1, 1)), dx, 2, 2)
    np.testing.assert_array_equal(dx.ravel(), [1, 0, 0, 0])


def test_max_pool_backward_of_tiling_windows_adds_into_zero(rng):
    """Windows that tile the image write dx without a zeroing pass, as 0 + value: a -0.0
    gradient arrives as +0.0, as when it is added into a zeroed dx (TF's result), and
    every element outside the picks is written."""
    x = rng.standard_normal((2, 4, 6, 20)).astype(np.float32)
    dy = rng.standard_normal((2, 2, 3, 20)).astype(np.float32)
    dy[..., ::3] = -0.0
    dx = np.full_like(x, np.nan)
    K.max_pool2d_backward(x, dy, dx, 2, 2)
    want = np.zeros_like(x)
    for n, oy, ox, ch in np.ndindex(dy.shape):
        win = x[n, 2 * oy:2 * oy + 2, 2 * ox:2 * ox + 2, ch]
        ky, kx = np.unravel_index(np.argmax(win), win.shape)  # first maximum, row-major
        want[n, 2 * oy + ky, 2 * ox + kx, ch] = 0.0 + dy[n, oy, ox, ch]
    np.testing.assert_array_equal(dx, want)
    assert not np.signbit(dx[dx == 0]).any()  # no -0.0 (assert_array_equal can't tell)


def _max_pool_pick(win):
    """Index of the element the max-pool rule takes in a window (row-major): the first
    NaN, else the first maximum (a tie keeps the first: -0.0 before +0.0 stays)."""
    nans = np.flatnonzero(np.isnan(win))
    return int(nans[0]) if nans.size else int(np.argmax(win))


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("c", [16, 32, 48])
def test_max_pool_backward_tiling_windows_same_bits_on_every_isa(k, c, gemm_isa, num_threads,
                                                                 rng):
    """The tiling-window backward has a vector path (AVX-512, float32, channels a
    multiple of 16, est_conv.c): every ISA gives the same dx bit for bit as the
    reference rule, with ties, NaNs, -0.0 gradients and the ReLU fold (only a maximum
    > 0 passes)."""
    shape = (3, 2 * k, 3 * k, c)
    x = np.round(rng.standard_normal(shape) * 1.5).astype(np.float32)  # ties and zeros
    x[rng.random(shape) < 0.1] = np.nan
    dy = rng.standard_normal((3, 2, 3, c)).astype(np.float32)
    dy[..., ::5] = -0.0
    for relu in (False, True):
        want = np.zeros_like(x)
        for n, oy, ox, ch in np.ndindex(dy.shape):
            win = x[n, k * oy:k * oy + k, k * ox:k * ox + k, ch].ravel()
            pick = _max_pool_pick(win)
            g = dy[n, oy, ox, ch] if not relu or win[pick] > 0 else np.float32(0)
            want[n, k * oy + pick // k, k * ox + pick % k, ch] = np.float32(0) + g
        if relu:  # the pool gradient folded into a relu conv's backward (x: its output)
            xin = rng.standard_normal(shape[:3] + (1,)).astype(np.float32)
            f = rng.standard_normal((3, 3, 1, c)).astype(np.float32)
            prog, out = _conv_relu_pool_backward(xin, f, x, dy, k, k, "VALID", fold=True)
            prog.run()
            dx = out[0]
        else:
            dx = np.full_like(x, np.nan)
            K.max_pool2d_backward(x, dy, dx, k, k)
        np.testing.assert_array_equal(dx, want)
        assert not np.signbit(dx[dx == 0]).any()


def _max_pool_rule(x, k, s, oshape):
    """The forward's rule, window by window (no padding): the element _max_pool_pick
    picks."""
    want = np.empty(oshape, x.dtype)
    for n, oy, ox, ch in np.ndindex(oshape):
        win = x[n, s * oy:s * oy + k, s * ox:s * ox + k, ch].ravel()
        want[n, oy, ox, ch] = win[_max_pool_pick(win)]
    return want


def _assert_same_bits(got, want):
    np.testing.assert_array_equal(got, want)  # NaN where NaN
    finite = ~np.isnan(want)
    np.testing.assert_array_equal(got.view(np.uint32)[finite], want.view(np.uint32)[finite])


@pytest.mark.parametrize("k,s,padding", [(2, 2, "VALID"), (3, 2, "VALID"), (3, 1, "VALID"),
                                         (2, 2, "SAME")])
@pytest.mark.parametrize("c", [16, 48])
def test_max_pool_forward_windows_inside_same_bits_on_every_isa(k, s, padding, c, gemm_isa,
                                                                num_threads, rng):
    """The forward has a vector path where no window reaches into padding (AVX-512,
    float32, channels a multiple of 16, est_conv.c); every ISA gives the reference
    rule's bits: ties keep the first (-0.0 before +0.0 stays -0.0) and a NaN wins.
    Alone and merged after its conv (the fused forward pools each image in cache)."""
    shape = (3, 8, 10, c)  # SAME 2x2/2 on even sizes has no padding
    x = np.round(rng.standard_normal(shape) * 1.5).astype(np.float32)  # ties and zeros
    x[rng.random(shape) < 0.3] = -0.0
    x[rng.random(shape) < 0.08] = np.nan
    oshape = K.pool2d_output_shape(shape, k, s, padding)
    y = np.full(oshape, 7.0, np.float32)
    K.max_pool2d_forward(x, y, k, s, padding)
    _assert_same_bits(y, _max_pool_rule(x, k, s, oshape))
    if padding == "VALID":  # the same pool merged after a relu conv
        xin = rng.standard_normal(shape[:3] + (2,)).astype(np.float32)
        f = rng.standard_normal((3, 3, 2, c)).astype(np.float32)
        conv_y = np.empty(shape, np.float32)
        pooled = np.full(oshape, 7.0, np.float32)
        prog = K.Program()
        prog.conv2d_forward(xin, f, None, conv_y, None, 1, "SAME", "relu")
        prog.max_pool2d_forward(conv_y, pooled, k, s, "VALID")
        prog.merge_conv_pool_forward()
        assert prog.ops == ["conv2d_forward+max_pool2d_forward"]
        prog.run()
        _assert_same_bits(pooled, _max_pool_rule(conv_y, k, s, oshape))


def test_max_pool_nan_propagates():
    x = np.array([1.0, np.nan, 3.0, 2.0]).reshape(1, 2, 2, 1)
    y = np.empty((1, 1, 1, 1))
    K.max_pool2d_forward(x, y, 2, 2)
    assert np.isnan(y).all()


@pytest.mark.parametrize("shape", [(2, 4, 4, 37), (1, 5, 5, 300)], ids=str)
def test_max_pool_backward_routes_to_the_value_forward_returned(shape, dtype, rng):
    """Per channel the gradient goes to the first NaN of a window holding NaNs, else to
    the first maximum; lanes with and without NaNs side by side, tiled (2x2/2 on 4x4)
    and untiled (SAME on 5x5) windows, more channels than one pass (256) handles."""
    x = np.round(rng.standard_normal(shape) * 1.5).astype(dtype)
    nan_at = rng.random(shape) < 0.15
    x[nan_at] = np.nan
    oshape = K.pool2d_output_shape(shape, 2, 2, "SAME")
    dy = rng.standard_normal(oshape).astype(dtype)
    y = np.empty(oshape, dtype)
    dx = np.full(shape, 7.0, dtype)
    K.max_pool2d_forward(x, y, 2, 2, "SAME")
    K.max_pool2d_backward(x, dy, dx, 2, 2, "SAME")
    ref = np.zeros(shape)
    n, h, w, c = shape
    for b in range(n):
        for oy in range(oshape[1]):
            for ox in range(oshape[2]):
                for ch in range(c):
                    cells = [(iy, ix) for iy in range(2 * oy, min(2 * oy + 2, h))
                             for ix in range(2 * ox, min(2 * ox + 2, w))]
                    vals = [x[b, iy, ix, ch] for iy, ix in cells]
                    nans = [i for i, v in enumerate(vals) if np.isnan(v)]
                    pick = nans[0] if nans else int(np.argmax(vals))
                    got = y[b, oy, ox, ch]
                    assert np.isnan(got) if nans else got == vals[pick]
                    iy, ix = cells[pick]
                    ref[b, iy, ix, ch] += dy[b, oy, ox, ch]
    np.testing.assert_allclose(dx, ref, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_pool_errors():
    x = np.ones((1, 4, 4, 2))
    with pytest.raises(InvalidArgumentError, match=r"`out` must have shape \(1, 2, 2, 2\)"):
        K.max_pool2d_forward(x, np.empty((1, 4, 4, 2)), 2, 2)
    with pytest.raises(InvalidArgumentError, match=r"`dy` must have shape \(1, 2, 2, 2\)"):
        K.avg_pool2d_backward(np.ones((1, 3, 3, 2)), np.empty_like(x), 2, 2)
    with pytest.raises(TypeError, match="`ksize` must be an int"):
        K.max_pool2d_forward(x, np.empty((1, 2, 2, 2)), "2", 2)


def test_conv2d_needs_no_col_scratch(rng):
    """Every path reads the input through offsets (implicit GEMMs) or keeps its scratch
    per thread: the caller's col is no longer needed, None works and an array given is
    left as it was."""
    for xs, fs, s in (((100, 28, 28, 1), (5, 5, 1, 32), 1), ((100, 14, 14, 32), (5, 5, 32, 64), 1),
                      ((4, 9, 9, 4), (1, 1, 4, 3), 1), ((4, 9, 9, 4), (1, 1, 4, 3), 2)):
        assert K.conv2d_col_size(xs, fs, s, "SAME") == 0
    x = rng.standard_normal((3, 6, 6, 4)).astype(np.float32)
    f = rng.standard_normal((3, 3, 4, 16)).astype(np.float32)
    y = np.empty((3, 6, 6, 16), np.float32)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, df = np.empty_like(x), np.empty_like(f)
    K.conv2d_forward(x, f, None, y, None, padding="SAME")
    K.conv2d_backward(x, f, None, dy, None, dx, df, None, padding="SAME")
    col = np.full(7, 3.0, np.float32)
    y2, dx2, df2 = np.empty_like(y), np.empty_like(dx), np.empty_like(df)
    K.conv2d_forward(x, f, None, y2, col, padding="SAME")
    K.conv2d_backward(x, f, None, dy, col, dx2, df2, None, padding="SAME")
    np.testing.assert_array_equal(col, 3.0)
    for a, b in ((y, y2), (dx, dx2), (df, df2)):
        np.testing.assert_array_equal(a, b)


def _conv_relu_pool_backward(x, f, y, dpool, k, s, padding, fold):
    """A Program with the max-pool gradient then the relu conv's backward, as the plan
    emits them, folded (``fold_relu_into_pool``) or not; returns (program, outputs)."""
    gy = np.full(y.shape, np.nan, y.dtype)
    dx, df, db, dz = (np.full(sh, np.nan, y.dtype) for sh in (x.shape, f.shape,
                                                              (f.shape[3],), y.shape))
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, 1, "SAME"), y.dtype)
    p = K.Program()
    p.max_pool2d_backward(y, dpool, gy, k, s, padding)
    p.conv2d_backward(x, f, y, gy, col, dx, df, db, dz_out=dz, strides=1, padding="SAME",
                      act="relu")
    if fold:
        p.fold_relu_into_pool()
    return p, (gy, dx, df, db)


@pytest.mark.parametrize("k,s,padding", [(2, 2, "VALID"), (3, 2, "SAME"), (3, 1, "VALID")])
def test_relu_folded_into_max_pool_backward_is_bit_identical(k, s, padding, dtype, num_threads,
                                                             rng):
    """max_pool2d_backward+relu then the conv backward without its activation pass gives
    the gradients of the two separate instructions bit for bit (windows whose maximum
    is 0 or NaN included: their gradient stops at the ReLU), and the folded pool
    gradient is the plain one masked by y > 0."""
    x = rng.standard_normal((3, 9, 9, 2)).astype(dtype)
    x[0, 4, 4, 0] = np.nan  # NaN outputs around it
    f = rng.standard_normal((3, 3, 2, 5)).astype(dtype)
    b = np.full(5, -0.5, dtype)  # many outputs <= 0: windows with maximum 0
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, 1, "SAME"), dtype)
    y = np.empty(K.conv2d_output_shape(x.shape, f.shape, 1, "SAME"), dtype)
    K.conv2d_forward(x, f, b, y, col, strides=1, padding="SAME", act="relu")
    dpool = rng.standard_normal(K.pool2d_output_shape(y.shape, k, s, padding)).astype(dtype)
    pa, got = _conv_relu_pool_backward(x, f, y, dpool, k, s, padding, fold=True)
    pb, want = _conv_relu_pool_backward(x, f, y, dpool, k, s, padding, fold=False)
    assert pa.ops == ["max_pool2d_backward+relu", "conv2d_backward"]
    assert pb.ops == ["max_pool2d_backward", "conv2d_backward"]
    pa.run()
    pb.run()
    assert np.any((y == 0) & (want[0] != 0))  # the plain pool gradient reaches zeros
    np.testing.assert_array_equal(got[0], np.where(y > 0, want[0], 0))
    for g, w in zip(got[1:], want[1:], strict=True):
        np.testing.assert_array_equal(g, w)


def test_fold_relu_into_pool_refuses_a_pair_that_does_not_qualify(rng):
    """Program.fold_relu_into_pool only validates and rewrites (the plan decides): a
    pair that is not that pool gradient feeding that relu conv backward raises
    ValueError naming why and changes nothing."""
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    f = rng.standard_normal((3, 3, 1, 4)).astype(np.float32)
    y = np.maximum(rng.standard_normal((2, 6, 6, 4)), 0).astype(np.float32)
    dpool = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    col = np.empty(K.conv2d_col_size(x.shape, f.shape, 1, "SAME"), np.float32)
    out = [np.empty(sh, np.float32) for sh in (y.shape, x.shape, f.shape, (4,), y.shape)]

    def ops(act="relu", pool_x=y, conv_dy=None):
        gy, dx, df, db, dz = out
        p = K.Program()
        p.max_pool2d_backward(pool_x, dpool, gy, 2, 2)
        p.conv2d_backward(x, f, y, gy if conv_dy is None else conv_dy, col, dx, df, db,
                          dz_out=dz, padding="SAME", act=act)
        with pytest.raises(ValueError, match=r"^Program\.fold_relu_into_pool: "):
            p.fold_relu_into_pool()
        return p.ops

    separate = ["max_pool2d_backward", "conv2d_backward"]
    assert ops(act=None) == separate
    assert ops(pool_x=y.copy()) == separate  # the pool's input is not the conv's output
    assert ops(conv_dy=np.zeros_like(y)) == separate  # not the pool's gradient
    with pytest.raises(ValueError, match="needs a max_pool2d_backward"):
        K.Program().fold_relu_into_pool()


def _pooled_pair(x, f, y, dpool, k, conv, accumulate=False, merge=True, start=None):
    """A Program with the max-pool gradient through the ReLU (k windows, stride k)
    then the conv backward (strides and padding ``conv``) taking it as dz (filter and
    bias gradients), merged (``merge_conv_backward_pooled``) or not; returns
    (program, (df, db))."""
    gy = np.full(y.shape, np.nan, y.dtype)
    df, db = (np.full(sh, 0.25, y.dtype) if start is None else start[i].copy()
              for i, sh in enumerate((f.shape, (f.shape[3],))))
    p = K.Program()
    p.max_pool2d_backward(y, dpool, gy, k, k)
    p.conv2d_backward(x, f, y, gy, None, None, df, db, dz_out=np.empty_like(y),
                      strides=conv[0], padding=conv[1], act="relu", accumulate=accumulate)
    p.fold_relu_into_pool()
    if merge:
        p.merge_conv_backward_pooled()
    return p, (df, db)


@pytest.mark.parametrize("shape,fshape,conv,k", [
    ((9, 8, 8, 3), (3, 3, 3, 16), (1, "SAME"), 2),       # chunks of images
    ((1, 6, 6, 1), (5, 5, 1, 7), (1, "SAME"), 3),        # one group: the two kernels
    ((40, 12, 12, 1), (5, 5, 1, 32), (1, "SAME"), 2),    # the tutorial's first layer
    ((30, 13, 11, 2), (3, 2, 2, 5), (2, "VALID"), (3, 5)),  # strided, VALID, rectangular
    ((6, 9, 16, 4), (4, 4, 4, 8), ((1, 2), "SAME"), (9, 2)),  # a window the output's height
], ids=str)
@pytest.mark.parametrize("accumulate", [False, True])
def test_pool_gradient_made_inside_the_filter_gradient_is_bit_identical(
        shape, fshape, conv, k, accumulate, dtype, num_threads, gemm_isa, rng):
    """max_pool2d_backward+relu+conv2d_backward (each group of images' dz made in the
    filter gradient's scratch, or the two kernels in turn where the filter gradient
    does not run by chunks of images) gives the pair's df and db bit for bit, windows
    whose maximum is 0 or NaN included, accumulating or not."""
    x = rng.standard_normal(shape).astype(dtype)
    f = rng.standard_normal(fshape).astype(dtype)
    y = np.empty(K.conv2d_output_shape(x.shape, f.shape, conv[0], conv[1]), dtype)
    K.conv2d_forward(x, f, np.full(fshape[3], -0.4, dtype), y, None, conv[0], conv[1],
                     act="relu")
    y[0, 1, 1, 0] = np.nan  # a window whose maximum is NaN
    dpool = rng.standard_normal(K.pool2d_output_shape(y.shape, k, k, "VALID")).astype(dtype)
    start = tuple(rng.standard_normal(sh).astype(dtype) for sh in (fshape, fshape[3]))
    pa, got = _pooled_pair(x, f, y, dpool, k, conv, accumulate=accumulate, start=start)
    pb, want = _pooled_pair(x, f, y, dpool, k, conv, accumulate=accumulate, merge=False,
                            start=start)
    assert pa.ops == ["max_pool2d_backward+relu+conv2d_backward"]
    assert pb.ops == ["max_pool2d_backward+relu", "conv2d_backward"]
    for _ in range(2):
        pa.run()
        pb.run()
    assert np.isfinite(want[0]).all() and np.any(want[0] != start[0])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_merge_conv_backward_pooled_refuses_a_pair_that_does_not_qualify(rng):
    """Program.merge_conv_backward_pooled only validates and rewrites (the plan decides):
    a conv backward with an input gradient, a pool whose windows do not tile its input,
    or a pair that is not the folded pool gradient feeding the conv raises ValueError
    naming why and changes nothing."""
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    f = rng.standard_normal((3, 3, 1, 4)).astype(np.float32)
    y = np.maximum(rng.standard_normal((2, 6, 6, 4)), 0).astype(np.float32)

    def refused(match, k=2, s=2, pad="VALID", dx=None, fold=True):
        gy = np.empty_like(y)
        p = K.Program()
        p.max_pool2d_backward(y, np.ones(K.pool2d_output_shape(y.shape, k, s, pad), np.float32),
                              gy, k, s, pad)
        p.conv2d_backward(x, f, y, gy, None, dx, np.empty_like(f), None,
                          dz_out=np.empty_like(y), padding="SAME", act="relu")
        if fold:
            p.fold_relu_into_pool()
        before = p.ops
        with pytest.raises(ValueError, match=r"^Program\.merge_conv_backward_pooled: " + match):
            p.merge_conv_backward_pooled()
        assert p.ops == before

    refused("the conv2d_backward must not compute the input gradient", dx=np.empty_like(x))
    refused("the pool's windows must tile its input", k=3, s=2, pad="SAME")
    refused("the pool's windows must tile its input", k=4, s=4)  # 6 is no multiple of 4
    refused("the last two instructions", fold=False)
    with pytest.raises(ValueError, match="needs a max_pool2d_backward"):
        K.Program().merge_conv_backward_pooled()


def test_pool_gradient_in_memory_the_conv_reads_is_neither_folded_nor_merged(rng):
    """A pool gradient written over an input the conv backward reads other than as dy
    (its x here): the pair reads what the pool wrote, which folding (masked values) or
    merging (nothing written) would change, so the seam refuses both."""
    x = rng.standard_normal((8, 8, 8, 4)).astype(np.float32)
    f = rng.standard_normal((3, 3, 4, 4)).astype(np.float32)
    y = np.empty((8, 8, 8, 4), np.float32)
    K.conv2d_forward(x, f, None, y, None, padding="SAME", act="relu")
    p = K.Program()
    p.max_pool2d_backward(y, np.ones((8, 4, 4, 4), np.float32), x, 2, 2)  # written over x
    p.conv2d_backward(x, f, y, x, None, None, np.empty_like(f), None, dz_out=np.empty_like(y),
                      padding="SAME", act="relu")
    with pytest.raises(ValueError, match="must not share memory with the conv backward's x"):
        p.fold_relu_into_pool()
    assert p.ops == ["max_pool2d_backward", "conv2d_backward"]


@pytest.mark.parametrize("shape,fshape,conv,pool", [
    ((5, 12, 12, 3), (5, 5, 3, 16), (1, "SAME"), (2, 2, "VALID")),   # the tutorial's shape
    ((3, 13, 11, 4), (3, 2, 4, 7), (2, "VALID"), (3, 2, "SAME")),    # overlapping windows
    ((4, 9, 9, 6), (1, 1, 6, 5), (1, "VALID"), (2, 2, "SAME")),      # 1x1: conv, then pool
    ((2, 7, 8, 2), (3, 3, 2, 33), ((2, 1), "SAME"), ((3, 1), (1, 2), "VALID")),
    ((50, 6, 6, 8), (3, 3, 8, 16), (1, "SAME"), (2, 2, "VALID")),    # groups of 3 images
], ids=str)
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_conv_pool_forward_merged_is_bit_identical(shape, fshape, conv, pool, act, dtype,
                                                    num_threads, gemm_isa, rng):
    """conv2d_forward+max_pool2d_forward (each image pooled right after it is made)
    writes the pair's conv output and pooled output bit for bit, windows with NaN
    included; a 1x1 stride-1 conv runs the two kernels in turn."""
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 1, 1, 0] = np.nan
    f = rng.standard_normal(fshape).astype(dtype)
    b = rng.standard_normal(fshape[3]).astype(dtype)
    yshape = K.conv2d_output_shape(x.shape, f.shape, conv[0], conv[1])
    pshape = K.pool2d_output_shape(yshape, *pool)
    outs = []
    for merge in (True, False):
        y, py = np.full(yshape, 7.0, dtype), np.full(pshape, 7.0, dtype)
        p = K.Program()
        p.conv2d_forward(x, f, b, y, None, conv[0], conv[1], act)
        p.max_pool2d_forward(y, py, *pool)
        if merge:
            p.merge_conv_pool_forward()
            assert p.ops == ["conv2d_forward+max_pool2d_forward"]
        p.run()
        outs.append((y, py))
    assert np.isnan(outs[1][1]).any()
    for g, w in zip(*outs, strict=True):
        np.testing.assert_array_equal(g, w)


def test_merge_conv_pool_forward_refuses_a_pair_that_does_not_qualify(rng):
    """Program.merge_conv_pool_forward only validates and rewrites (the plan decides): a
    pool of another array than the conv's output, a pool output over the conv's input,
    or instructions that are not that pair raise ValueError naming why, changing
    nothing."""
    x = rng.standard_normal((2, 8, 8, 4)).astype(np.float32)
    f = rng.standard_normal((3, 3, 4, 4)).astype(np.float32)
    y = np.empty((2, 8, 8, 4), np.float32)

    def refused(match, pool_x=None, out=None):
        p = K.Program()
        p.conv2d_forward(x, f, None, y, None, padding="SAME")
        p.max_pool2d_forward(y if pool_x is None else pool_x,
                             np.empty((2, 4, 4, 4), np.float32) if out is None else out, 2, 2)
        with pytest.raises(ValueError, match=r"^Program\.merge_conv_pool_forward: " + match):
            p.merge_conv_pool_forward()
        assert p.ops == ["conv2d_forward", "max_pool2d_forward"]

    refused("the pool's input must be the conv's output", pool_x=y.copy())
    p = K.Program()
    p.conv2d_forward(x, f, None, y, None, padding="SAME")
    p.max_pool2d_forward(np.zeros(y.shape), np.empty((2, 4, 4, 4)), 2, 2)
    with pytest.raises(ValueError, match="of one dtype"):
        p.merge_conv_pool_forward()
    big = np.empty((2, 8, 8, 4), np.float32)
    xs = big.reshape(-1)[:x.size].reshape(x.shape)
    xs[...] = x
    p = K.Program()
    p.conv2d_forward(xs, f, None, y, None, padding="SAME")
    p.max_pool2d_forward(y, big.reshape(-1)[:128].reshape(2, 4, 4, 4), 2, 2)  # over x
    with pytest.raises(ValueError, match="must not share memory with the conv's x"):
        p.merge_conv_pool_forward()
    with pytest.raises(ValueError, match="needs a conv2d_forward"):
        K.Program().merge_conv_pool_forward()


# Batches of at least 48 small images: the implicit GEMMs run groups of 3 images at a
# time (est_conv.c: conv_igemm_imgs), the last group short when 3 does not divide the
# batch; window as large as the image; the input gradient by implicit GEMM from 16
# input channels (stride 1); a strided forward (its input gradient by col2im).
GROUPED_CASES = [
    ((50, 7, 6, 16), (3, 3, 20), (1, 1)),
    ((49, 5, 5, 16), (5, 5, 12), (1, 1)),
    ((48, 9, 9, 4), (3, 3, 33), (2, 2)),
]


@pytest.mark.parametrize("case", GROUPED_CASES, ids=str)
def test_conv2d_image_groups_same_bits_as_one_image_at_a_time(case, dtype, gemm_isa, rng):
    """Forward and input gradient (also accumulated) over groups of images give, for
    finite data, the bits of the same images run one by one (one image per GEMM), at 1,
    2, 3 and 7 threads; and match the numpy reference."""
    xs, (kh, kw, oc), strides = case
    x = rng.standard_normal(xs).astype(dtype)
    f = (rng.standard_normal((kh, kw, xs[3], oc)) / np.sqrt(kh * kw * xs[3])).astype(dtype)
    b = rng.standard_normal(oc).astype(dtype)
    oshape = K.conv2d_output_shape(xs, f.shape, strides, "SAME")
    dy = rng.standard_normal(oshape).astype(dtype)

    def run(xb, dyb):
        y = np.full((len(xb),) + oshape[1:], np.nan, dtype)
        dx = np.full(xb.shape, np.nan, dtype)
        K.conv2d_forward(xb, f, b, y, None, strides=strides, padding="SAME", act="relu")
        K.conv2d_backward(xb, f, None, dyb, None, dx, None, None, strides=strides,
                          padding="SAME")
        dx2 = (dx * 0.5).astype(dtype)
        K.conv2d_backward(xb, f, None, dyb, None, dx2, None, None, strides=strides,
                          padding="SAME", accumulate=True)
        return y, dx, dx2

    before = K.get_num_threads()
    try:
        K.set_num_threads(1)
        single = [run(x[i:i + 1], dy[i:i + 1]) for i in range(xs[0])]
        want = [np.concatenate([s[q] for s in single]) for q in range(3)]
        for threads in (1, 2, 3, 7):
            K.set_num_threads(threads)
            got = run(x, dy)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
        y, dx, dx2 = got
    finally:
        K.set_num_threads(before)
    rtol = 10 * RTOL[dtype]
    np.testing.assert_allclose(y, np.maximum(conv_ref(x, f, b, strides, "SAME"), 0), rtol=rtol,
                               atol=rtol)
    rdx, _, _ = conv_grads_ref(x, f, dy.astype(np.float64), strides, "SAME")
    np.testing.assert_allclose(dx, rdx, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dx2, 1.5 * rdx, rtol=rtol, atol=rtol)


def test_conv2d_image_groups_non_finite_filter_same_bits_for_any_thread_count(rng):
    """An inf in the filter: which padded taps a tile forms (0 * inf = NaN) depends on
    the group's tiles, which are fixed by the geometry and the batch: the same NaNs at
    any thread count."""
    x = rng.standard_normal((50, 7, 7, 16)).astype(np.float32)
    f = rng.standard_normal((3, 3, 16, 16)).astype(np.float32)
    f[0, 0, 3, 5] = np.inf
    dy = rng.standard_normal((50, 7, 7, 16)).astype(np.float32)
    before = K.get_num_threads()
    got = []
    try:
        for threads in (1, 2, 5):
            K.set_num_threads(threads)
            y, dx = np.empty_like(dy), np.empty_like(x)
            K.conv2d_forward(x, f, None, y, None, padding="SAME")
            K.conv2d_backward(x, f, None, dy, None, dx, None, None, padding="SAME")
            got.append((y, dx))
    finally:
        K.set_num_threads(before)
    assert np.isnan(got[0][0]).any() and np.isinf(got[0][0]).any()
    for y, dx in got[1:]:
        np.testing.assert_array_equal(y, got[0][0])
        np.testing.assert_array_equal(dx, got[0][1])
