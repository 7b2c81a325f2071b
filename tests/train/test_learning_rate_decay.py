"""Learning-rate schedules vs their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

STEPS = [0, 1, 5, 10, 11, 25, 99, 100, 101, 250]


def _eval(build, steps=STEPS):
    with ec.Graph().as_default():
        step = ec.placeholder(ec.int64, [])
        lr = build(step)
        with ec.Session() as sess:
            return lr, [float(sess.run(lr, {step: s})) for s in steps]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    lr, got = _eval(lambda s: ec.train.exponential_decay(0.1, s, 10, 0.5, staircase=staircase))
    assert lr.dtype == ec.float32
    for s, g in zip(STEPS, got, strict=True):
        p = s // 10 if staircase else s / 10
        assert g == pytest.approx(0.1 * 0.5**p, rel=1e-6)


@pytest.mark.parametrize("staircase", [False, True])
def test_natural_exp_and_inverse_time_decay(staircase):
    _, nat = _eval(lambda s: ec.train.natural_exp_decay(0.1, s, 10, 0.3, staircase=staircase))
    _, inv = _eval(lambda s: ec.train.inverse_time_decay(0.1, s, 10, 0.3, staircase=staircase))
    for s, a, b in zip(STEPS, nat, inv, strict=True):
        p = s // 10 if staircase else s / 10
        assert a == pytest.approx(0.1 * math.exp(-0.3 * p), rel=1e-6)
        assert b == pytest.approx(0.1 / (1 + 0.3 * p), rel=1e-6)


def test_piecewise_constant():
    _, got = _eval(lambda s: ec.train.piecewise_constant(s, [10, 100], [1.0, 0.5, 0.1]))
    for s, g in zip(STEPS, got, strict=True):
        want = 1.0 if s <= 10 else (0.5 if s <= 100 else 0.1)
        assert g == pytest.approx(want)


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("power", [1.0, 0.5, 2.0])
def test_polynomial_decay(cycle, power):
    _, got = _eval(lambda s: ec.train.polynomial_decay(0.1, s, 100, 0.01, power=power,
                                                       cycle=cycle))
    for s, g in zip(STEPS, got, strict=True):
        if cycle:
            ds = 100 * (1 if s == 0 else math.ceil(s / 100))
            step = s
        else:
            ds, step = 100, min(s, 100)
        want = (0.1 - 0.01) * (1 - step / ds) ** power + 0.01
        assert g == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_cosine_decay():
    if getattr(ec, "cos", None) is None and getattr(getattr(ec, "math", None), "cos", None) \
            is None:
        with ec.Graph().as_default(), pytest.raises(NotImplementedError, match="cos"):
            ec.train.cosine_decay(0.1, ec.placeholder(ec.int64, []), 100)
        return
    _, got = _eval(lambda s: ec.train.cosine_decay(0.1, s, 100, alpha=0.1))
    for s, g in zip(STEPS, got, strict=True):
        c = 0.5 * (1 + math.cos(math.pi * min(s, 100) / 100))
        assert g == pytest.approx(0.1 * (0.9 * c + 0.1), rel=1e-5, abs=1e-7)


def test_float64_learning_rate_keeps_dtype():
    lr, got = _eval(lambda s: ec.train.exponential_decay(
        ec.constant(np.float64(0.1)), s, 3, 0.9), steps=[7])
    assert lr.dtype == ec.float64
    assert got[0] == pytest.approx(0.1 * 0.9 ** (7 / 3), rel=1e-14)


def test_schedule_errors():
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match="global_step is required"):
            ec.train.exponential_decay(0.1, None, 10, 0.5)
        with pytest.raises(ValueError, match="`decay_steps` must be a positive number"):
            ec.train.exponential_decay(0.1, ec.placeholder(ec.int64, []), 0, 0.5)
        with pytest.raises(ValueError, match="1 less than the length of values"):
            ec.train.piecewise_constant(ec.placeholder(ec.int64, []), [1, 2], [0.1, 0.2])
        with pytest.raises(TypeError, match="`learning_rate` must be"):
            ec.train.polynomial_decay("x", ec.placeholder(ec.int64, []), 10)
