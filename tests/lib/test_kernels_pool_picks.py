"""Program.pool_pick_pairs / use_pool_picks: a conv(relu) + max-pool forward and the
pool's gradient that reads its conv output (merged into the conv's filter gradient, or
before a conv backward with an input gradient) keep the pool's picks (a byte per pooled
element) instead of that output, with the same pooled output and gradients bit for
bit; the seam refuses pairs that do not qualify."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K


def _program(x, f, b, dpool, k, y, py, df, db, picks: bool, accumulate=False, dx=None):
    """conv2d_forward (relu) + max_pool2d_forward merged, then the pool gradient through
    the ReLU, merged into the conv's filter gradient (``dx`` None) or before the conv
    backward computing ``dx``; with ``picks`` the pair is rewritten to keep the pool's
    picks."""
    p = K.Program()
    p.conv2d_forward(x, f, b, y, None, 1, "SAME", "relu")
    p.max_pool2d_forward(y, py, k, k)
    p.merge_conv_pool_forward()
    gy = np.empty_like(y)
    p.max_pool2d_backward(y, dpool, gy, k, k)
    p.conv2d_backward(x, f, y, gy, None, dx, df, db, dz_out=np.empty_like(y),
                      padding="SAME", act="relu", accumulate=accumulate)
    p.fold_relu_into_pool()
    if dx is None:
        p.merge_conv_backward_pooled()
        pairs = [(0, 1, ())]
        ops = ["conv2d_forward+max_pool2d_forward+picks",
               "max_pool2d_backward+relu+conv2d_backward+picks"]
    else:
        pairs = [(0, 1, (2,))]
        ops = ["conv2d_forward+max_pool2d_forward+picks", "max_pool2d_backward+relu+picks",
               "conv2d_backward"]
    assert p.pool_pick_pairs() == pairs
    if picks:
        p.use_pool_picks(0, 1)
        assert p.ops == ops
        assert p.pool_pick_pairs() == []
    return p


@pytest.mark.parametrize("shape,fshape,k", [
    ((40, 12, 12, 1), (5, 5, 1, 32), 2),   # the tutorial's first layer: 16-lane picks
    ((9, 8, 8, 3), (3, 3, 3, 16), 2),      # chunks of images
    ((1, 6, 6, 1), (5, 5, 1, 7), 3),       # one group, odd channels: kernels in turn
    ((50, 6, 6, 2), (3, 3, 2, 5), (2, 3)),  # groups of 3 images, rectangular windows
], ids=str)
@pytest.mark.parametrize("accumulate", [False, True])
def test_pool_picks_give_the_same_bits(shape, fshape, k, accumulate, dtype, num_threads,
                                        gemm_isa, rng):
    """The picks program's pooled output, df and db equal the program that keeps y,
    bit for bit, over two runs (ties at zero, NaN and inf in x included); y's buffer
    is not written."""
    x = rng.standard_normal(shape).astype(dtype)
    x[x < -1.2] = 0.0
    x[0, 1, 1, 0] = np.nan
    x[-1, 2, 3, 0] = np.inf
    f = rng.standard_normal(fshape).astype(dtype)
    b = np.full(fshape[3], -0.2, dtype)
    yshape = K.conv2d_output_shape(x.shape, f.shape, 1, "SAME")
    pshape = K.pool2d_output_shape(yshape, k, k, "VALID")
    dpool = rng.standard_normal(pshape).astype(dtype)
    start = (rng.standard_normal(fshape).astype(dtype),
             rng.standard_normal(fshape[3]).astype(dtype))
    outs = []
    for picks in (True, False):
        y = np.full(yshape, 7.0, dtype)
        py = np.full(pshape, 7.0, dtype)
        df, db = start[0].copy(), start[1].copy()
        p = _program(x, f, b, dpool, k, y, py, df, db, picks, accumulate)
        for _ in range(2):
            p.run()
        if picks:
            assert (y == 7.0).all()
        outs.append((py, df, db))
    assert np.isnan(outs[1][0]).any() and np.any(outs[1][1] != start[0])
    for got, want in zip(*outs, strict=True):
        np.testing.assert_array_equal(got, want)


def test_use_pool_picks_refuses_a_pair_that_does_not_qualify(rng):
    """Program.use_pool_picks only validates and rewrites (the plan decides whether the
    conv output has other readers): an activation other than relu, a 1x1 stride-1
    conv, pool windows that do not tile the conv output, a third instruction of the
    program touching the conv output, or indices that are not such a pair raise
    ValueError and change nothing; pool_pick_pairs lists none of them."""
    x = rng.standard_normal((4, 8, 8, 2)).astype(np.float32)

    def build(fk=3, act="relu", k=2, extra=False):
        f = rng.standard_normal((fk, fk, 2, 16)).astype(np.float32)
        y = np.empty((4, 8, 8, 16), np.float32)
        py = np.empty(K.pool2d_output_shape(y.shape, k, k, "VALID"), np.float32)
        p = K.Program()
        p.conv2d_forward(x, f, None, y, None, 1, "SAME", act)
        p.max_pool2d_forward(y, py, k, k)
        p.merge_conv_pool_forward()
        if extra:
            p.copy(y, np.empty_like(y))
        gy = np.empty_like(y)
        p.max_pool2d_backward(y, np.ones_like(py), gy, k, k)
        p.conv2d_backward(x, f, y, gy, None, None, np.empty_like(f), None,
                          dz_out=np.empty_like(y), padding="SAME", act="relu")
        p.fold_relu_into_pool()
        if k == 2:
            p.merge_conv_backward_pooled()
        return p

    def refused(p, f=0, b=None):
        before = p.ops
        b = len(p.ops) - 1 if b is None else b
        assert (f, b) not in [pair[:2] for pair in p.pool_pick_pairs()]
        with pytest.raises(ValueError, match=r"^Program\.use_pool_picks: instructions"):
            p.use_pool_picks(f, b)
        assert p.ops == before

    for p in (build(act="tanh"), build(fk=1), build(k=3), build(extra=True)):
        assert p.pool_pick_pairs() == []  # k=3: 8 is no multiple of 3, nothing merged
        refused(p)
    good = build()
    refused(good, 1, 0)
    refused(good, 0, 5)
    refused(good, -1, 1)
    assert good.pool_pick_pairs() == [(0, 1, ())]
    good.use_pool_picks(0, 1)


@pytest.mark.parametrize("shape,fshape,k", [
    ((12, 14, 14, 32), (5, 5, 32, 64), 2),  # the tutorial's second layer
    ((5, 6, 9, 3), (3, 3, 3, 5), (2, 3)),   # odd channels, rectangular windows
], ids=str)
def test_pool_picks_before_a_conv_backward_with_input_gradient(shape, fshape, k, dtype,
                                                               num_threads, rng):
    """A conv with an input gradient keeps its pool gradient a separate instruction
    (max_pool2d_backward+relu, then conv2d_backward without activation): that pool
    gradient reads the picks (max_pool2d_backward+relu+picks) and the conv backward no
    longer holds y; py, dx, df and db are the bits of the program that keeps y."""
    x = rng.standard_normal(shape).astype(dtype)
    x[x < -1.2] = 0.0
    f = rng.standard_normal(fshape).astype(dtype)
    b = np.full(fshape[3], -0.2, dtype)
    yshape = K.conv2d_output_shape(x.shape, f.shape, 1, "SAME")
    pshape = K.pool2d_output_shape(yshape, k, k, "VALID")
    dpool = rng.standard_normal(pshape).astype(dtype)
    outs = []
    for picks in (True, False):
        y = np.full(yshape, 7.0, dtype)
        py = np.empty(pshape, dtype)
        dx, df, db = np.empty_like(x), np.empty_like(f), np.empty_like(b)
        p = _program(x, f, b, dpool, k, y, py, df, db, picks, dx=dx)
        for _ in range(2):
            p.run()
        if picks:
            assert (y == 7.0).all()
        outs.append((py, dx, df, db))
    for got, want in zip(*outs, strict=True):
        np.testing.assert_array_equal(got, want)
