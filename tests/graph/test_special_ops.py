"""Tan, Sinh, Cosh, Expm1, Rint, Erf, Erfc, Lgamma, Digamma: values against scipy.special /
numpy in float64 and float32, gradients against finite differences, TF's pole values."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import special_ops as S

sp = pytest.importorskip("scipy.special")

X = np.array([-3.7, -2.5, -0.3, 1e-7, 0.2, 0.7, 3.2, 12.0, 40.0])


def _run(t, feed=None):
    with ec.Session() as sess:
        return sess.run(t, feed)


REFS = {"tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "expm1": np.expm1,
        "rint": np.rint, "erf": sp.erf, "erfc": sp.erfc, "lgamma": sp.gammaln,
        "digamma": sp.digamma}


@pytest.mark.parametrize("name", sorted(REFS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_match_references(name, dtype):
    x = X.astype(dtype)
    y = _run(getattr(S, name)(ec.constant(x)))
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    ref = REFS[name](x.astype(np.float64))
    rtol = 1e-12 if dtype == "float64" else 2e-6
    if name == "digamma" and dtype == "float64":
        rtol = 1e-10   # series: a few ulp off scipy
    np.testing.assert_allclose(y, ref.astype(dtype), rtol=rtol, atol=0)


def test_precision_near_zero_and_poles():
    y = _run([S.expm1(ec.constant(np.float32(1e-7))), S.erfc(ec.constant(np.float64(9.0))),
              S.lgamma(ec.constant([0.0, -2.0])), S.digamma(ec.constant([0.0, -1.0])),
              S.rint(ec.constant([0.5, 1.5, -2.5]))])
    np.testing.assert_allclose(y[0], 1e-7, rtol=1e-6)   # exp(x) - 1 would give 1.19e-7
    np.testing.assert_allclose(y[1], sp.erfc(9.0), rtol=1e-12)
    assert np.isposinf(y[2]).all() and np.isnan(y[3]).all()
    assert y[4].tolist() == [0.0, 2.0, -2.0]   # half to even


@pytest.mark.parametrize("name", ["tan", "sinh", "cosh", "expm1", "erf", "erfc", "lgamma"])
def test_gradients_match_finite_differences(name):
    x0 = np.array([0.3, 0.9, 1.7, 2.6]) * (1 if name == "lgamma" else [1, -1, 1, -1])
    if name == "tan":
        x0 = x0 / 2
    x = ec.placeholder(ec.float64, [4])
    y = getattr(S, name)(x)
    w = np.array([0.5, -1.0, 2.0, 0.25])
    (g,) = ec.gradients(ec.reduce_sum(y * w), [x])
    eps = 1e-6
    with ec.Session() as sess:
        analytic = sess.run(g, {x: x0})
        num = (sess.run(y, {x: x0 + eps}) - sess.run(y, {x: x0 - eps})) / (2 * eps) * w
    np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-8)


def test_errors_in_user_terms():
    with pytest.raises(TypeError, match="floating-point"):
        S.erf(ec.constant([1, 2]))
    x = ec.placeholder(ec.float64, [2])
    with pytest.raises(LookupError, match="Digamma"):
        ec.gradients(ec.reduce_sum(S.digamma(x)), [x])
    ints = ec.placeholder(ec.float64, [2])
    (g,) = ec.gradients(ec.reduce_sum(S.rint(ints)), [ints])
    assert _run(g, {ints: [0.4, 1.6]}).tolist() == [0.0, 0.0]
