"""MatrixInverse, MatrixDeterminant, MatrixSolve, Cholesky: values against numpy, batches,
gradients against finite differences, singular / non-PD inputs as TF's errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.errors import InvalidArgumentError
from estcore.graph.ops import linalg_ops as L

RNG = np.random.default_rng(3)


def _spd(b):
    return b @ np.swapaxes(b, -1, -2) + 3 * np.eye(b.shape[-1])


def test_values_match_numpy_on_batches():
    a = RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    b = RNG.normal(size=(2, 3, 2))
    with ec.Session() as sess:
        inv, inv_t, det, x, x_t, low = sess.run([
            L.matrix_inverse(a), L.matrix_inverse(a, adjoint=True), L.matrix_determinant(a),
            L.matrix_solve(a, b), L.matrix_solve(a, b, adjoint=True), L.cholesky(_spd(a))])
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(inv_t, np.linalg.inv(np.swapaxes(a, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(det, np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(a @ x, b, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(a, 1, 2) @ x_t, b, atol=1e-12)
    np.testing.assert_allclose(low @ np.swapaxes(low, 1, 2), _spd(a), rtol=1e-12)
    assert np.allclose(np.triu(low[0], 1), 0)


CASES = {
    "inv": lambda a, b: L.matrix_inverse(a),
    "inv_adjoint": lambda a, b: L.matrix_inverse(a, adjoint=True),
    "det": lambda a, b: L.matrix_determinant(a),
    "solve": lambda a, b: L.matrix_solve(a, b),
    "solve_adjoint": lambda a, b: L.matrix_solve(a, b, adjoint=True),
    "cholesky": lambda a, b: L.cholesky(ec.matmul(a, a, transpose_b=True) + 3 * np.eye(3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_finite_differences(case, numeric_gradient):
    a0 = RNG.normal(size=(3, 3)) + 2 * np.eye(3)
    b0 = RNG.normal(size=(3, 2))
    a, b = ec.placeholder(ec.float64, [3, 3]), ec.placeholder(ec.float64, [3, 2])
    y = CASES[case](a, b)
    w = RNG.normal(size=y.shape.as_list())
    loss = ec.reduce_sum(y * w)
    wrt = [a, b] if case.startswith("solve") else [a]
    grads = ec.gradients(loss, wrt)
    with ec.Session() as sess:
        feed = {a: a0, b: b0}
        analytic = sess.run(grads, feed)
        for ph, g in zip(wrt, analytic, strict=True):
            num = numeric_gradient(lambda v, ph=ph: sess.run(loss, {**feed, ph: v}), feed[ph])
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_errors():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with ec.Session() as sess:
        with pytest.raises(InvalidArgumentError, match="not invertible"):
            sess.run(L.matrix_inverse(singular))
        with pytest.raises(InvalidArgumentError, match="not invertible"):
            sess.run(L.matrix_solve(singular, np.ones((2, 1))))
        with pytest.raises(InvalidArgumentError, match="Cholesky decomposition was not"):
            sess.run(L.cholesky(-np.eye(2)))
    with pytest.raises(ValueError, match="square"):
        L.matrix_determinant(np.ones((2, 3)))
    with pytest.raises(TypeError, match="floating-point"):
        L.matrix_inverse(np.eye(2, dtype=np.int32))
    with pytest.raises(ValueError, match=r"\[..., M, K\]"):
        L.matrix_solve(np.eye(2), np.ones((3, 1)))
