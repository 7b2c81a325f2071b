"""cosine_decay_restarts, linear_cosine_decay, noisy_linear_cosine_decay vs numpy forms of
TF1's formulas, and the restart schedule SGDR documents."""

from __future__ import annotations

import math

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

STEPS = [0, 1, 5, 9, 10, 11, 25, 29, 30, 31, 69, 70, 71, 99, 100, 150, 310]


def _eval(build, steps=STEPS, dtype=ec.int64):
    with ec.Graph().as_default():
        step = ec.placeholder(dtype, [])
        lr = build(step)
        with ec.Session() as sess:
            return lr, [float(sess.run(lr, {step: s})) for s in steps]


def ref_restarts(lr, step, first, t_mul, m_mul, alpha):
    # walk the periods one by one (an independent form of TF's closed formula)
    start, length, peak = 0.0, float(first), 1.0
    while step >= start + length:
        start, length, peak = start + length, length * t_mul, peak * m_mul
    frac = (step - start) / length
    return lr * ((1 - alpha) * 0.5 * peak * (1 + math.cos(math.pi * frac)) + alpha)


@pytest.mark.parametrize("t_mul,m_mul,alpha", [(2.0, 1.0, 0.0), (1.0, 1.0, 0.0),
                                               (1.5, 0.5, 0.1), (3.0, 0.8, 0.0)])
def test_cosine_decay_restarts(t_mul, m_mul, alpha):
    lr, got = _eval(lambda s: ec.train.cosine_decay_restarts(0.1, s, 10, t_mul=t_mul,
                                                             m_mul=m_mul, alpha=alpha))
    assert lr.dtype == ec.float32
    for s, g in zip(STEPS, got, strict=True):
        assert g == pytest.approx(ref_restarts(0.1, s, 10, t_mul, m_mul, alpha), rel=1e-5,
                                  abs=1e-7), s


def test_cosine_decay_restarts_restarts_at_period_ends():
    # t_mul=2: periods [0,10), [10,30), [30,70): each starts at m_mul**i * lr
    _, got = _eval(lambda s: ec.train.cosine_decay_restarts(1.0, s, 10, m_mul=0.5),
                   [0, 10, 30, 70], ec.float64)
    np.testing.assert_allclose(got, [1.0, 0.5, 0.25, 0.125], rtol=1e-6)


def test_cosine_decay_restarts_tensor_t_mul_both_branches():
    for t in (1.0, 2.0):
        _, got = _eval(lambda s, t=t: ec.train.cosine_decay_restarts(
            0.1, s, 10, t_mul=ec.constant(t)))
        want = [ref_restarts(0.1, s, 10, t, 1.0, 0.0) for s in STEPS]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def ref_linear_cosine(lr, step, decay_steps, num_periods, alpha, beta):
    s = min(step, decay_steps)
    linear = (decay_steps - s) / decay_steps
    cosine = 0.5 * (1 + math.cos(math.pi * 2 * num_periods * s / decay_steps))
    return lr * ((alpha + linear) * cosine + beta)


@pytest.mark.parametrize("num_periods,alpha,beta", [(0.5, 0.0, 0.001), (2.0, 0.1, 0.01)])
def test_linear_cosine_decay(num_periods, alpha, beta):
    lr, got = _eval(lambda s: ec.train.linear_cosine_decay(
        0.1, s, 100, num_periods=num_periods, alpha=alpha, beta=beta))
    assert lr.dtype == ec.float32
    want = [ref_linear_cosine(0.1, s, 100, num_periods, alpha, beta) for s in STEPS]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_noisy_linear_cosine_decay_without_variance_is_linear_cosine():
    _, got = _eval(lambda s: ec.train.noisy_linear_cosine_decay(0.1, s, 100,
                                                                initial_variance=0.0))
    want = [ref_linear_cosine(0.1, s, 100, 0.5, 0.0, 0.001) for s in STEPS]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_noisy_linear_cosine_decay_noise_statistics():
    """At step 20 the linear term gets N(0, 1 / 21**0.55): its spread shows through the
    cosine factor; a fresh draw at every evaluation."""
    n, step, ds = 4000, 20, 100
    with ec.Graph().as_default():
        ec.set_random_seed(7)
        lr = ec.train.noisy_linear_cosine_decay(1.0, ec.constant(step, ec.int64), ds,
                                                beta=0.0)
        with ec.Session() as sess:
            vals = np.array([sess.run(lr) for _ in range(n)], np.float64)
    cosine = 0.5 * (1 + math.cos(math.pi * step / ds))
    mean_want = (ds - step) / ds * cosine
    std_want = math.sqrt(1.0 / (1 + step) ** 0.55) * cosine
    assert len(set(vals.tolist())) > n // 2
    assert abs(vals.mean() - mean_want) < 5 * std_want / math.sqrt(n)
    assert vals.std() == pytest.approx(std_want, rel=0.06)


@pytest.mark.parametrize("fn", [ec.train.cosine_decay_restarts, ec.train.linear_cosine_decay,
                                ec.train.noisy_linear_cosine_decay])
def test_bad_arguments(fn):
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match="global_step"):
            fn(0.1, None, 10)
        with pytest.raises(ValueError, match="decay_steps"):
            fn(0.1, ec.constant(1, ec.int64), 0)
        with pytest.raises(TypeError, match="learning_rate"):
            fn("fast", ec.constant(1, ec.int64), 10)
