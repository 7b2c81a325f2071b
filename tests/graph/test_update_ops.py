"""Optimizer update ops (``ApplyX``): C and numpy kernels against the TF1 formulas."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import state_ops as S

G = np.array([[0.5, -1.0, 2.0], [0.1, 0.0, -0.3]])
V0 = np.array([[1.0, 2.0, -1.0], [0.5, 0.2, 0.0]])


def _reference(kind, steps=3):
    var, s1, s2, s3 = V0.copy(), np.full_like(V0, 0.1), np.zeros_like(V0), np.zeros_like(V0)
    b1p, b2p = 0.9, 0.999
    for _ in range(steps):
        g = G
        if kind == "sgd":
            var -= 0.1 * g
        elif kind in ("momentum", "nesterov"):
            s1 = 0.9 * s1 + g
            var -= 0.1 * (g + 0.9 * s1) if kind == "nesterov" else 0.1 * s1
        elif kind == "adagrad":
            s1 = s1 + g * g
            var -= 0.1 * g / np.sqrt(s1)
        elif kind == "rmsprop":
            s1 = 0.9 * s1 + 0.1 * g * g
            s2 = 0.5 * s2 + 0.1 * g / np.sqrt(s1 + 1e-7)
            var -= s2
        elif kind == "centered_rmsprop":
            s3 = 0.9 * s3 + 0.1 * g
            s1 = 0.9 * s1 + 0.1 * g * g
            s2 = 0.5 * s2 + 0.1 * g / np.sqrt(s1 - s3 * s3 + 1e-7)
            var -= s2
        elif kind == "adam":
            s1 = 0.9 * s1 + 0.1 * g
            s2 = 0.999 * s2 + 0.001 * g * g
            lr_t = 0.1 * np.sqrt(1 - b2p) / (1 - b1p)
            var -= lr_t * s1 / (np.sqrt(s2) + 1e-8)
            b1p, b2p = b1p * 0.9, b2p * 0.999
    return var


def _build(kind, dtype):
    var = ec.Variable(V0.astype(dtype))
    s1 = ec.Variable(np.full(V0.shape, 0.1, dtype))
    s2 = ec.Variable(np.zeros(V0.shape, dtype))
    s3 = ec.Variable(np.zeros(V0.shape, dtype))
    g = ec.constant(G.astype(dtype))
    if kind == "sgd":
        return var, [S.apply_gradient_descent(var, 0.1, g)]
    if kind in ("momentum", "nesterov"):
        return var, [S.apply_momentum(var, s1, 0.1, g, 0.9, use_nesterov=kind == "nesterov")]
    if kind == "adagrad":
        return var, [S.apply_adagrad(var, s1, 0.1, g)]
    if kind == "rmsprop":
        return var, [S.apply_rmsprop(var, s1, s2, 0.1, 0.9, 0.5, 1e-7, g)]
    if kind == "centered_rmsprop":
        return var, [S.apply_centered_rmsprop(var, s3, s1, s2, 0.1, 0.9, 0.5, 1e-7, g)]
    b1p = ec.Variable(np.asarray(0.9, dtype))
    b2p = ec.Variable(np.asarray(0.999, dtype))
    upd = S.apply_adam(var, s1, s2, b1p, b2p, 0.1, 0.9, 0.999, 1e-8, g)
    with ec.control_dependencies([upd]):
        powers = ec.group(ec.assign(b1p, b1p * 0.9), ec.assign(b2p, b2p * 0.999))
    return var, [upd, powers]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                                  "centered_rmsprop", "adam"])
def test_update_op_matches_formula(kind, use_c, dtype):
    var, train = _build(kind, dtype)
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        sess.run(ec.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        got = sess.run(var)
        if use_c:
            plan = [p for f in sess._families.values() for p in f.plans.values()
                    if any(q.type.startswith("Apply") for q in p.pnodes)][0]
            assert plan.programs == 1 and len(plan.steps) == 1  # the whole update in C
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, _reference(kind), rtol=tol, atol=tol)


def test_update_op_shape_and_dtype_errors():
    v = ec.Variable(np.zeros((2, 3), np.float32))
    m = ec.Variable(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"input 1 has shape \(3, 2\), the variable has "
                                         r"shape \(2, 3\)"):
        S.apply_adagrad(v, m, 0.1, ec.zeros([2, 3]))
    with pytest.raises(TypeError, match="must be an estcore Variable"):
        S.apply_gradient_descent(ec.zeros([2]), 0.1, ec.zeros([2]))
    with pytest.raises(TypeError, match="dtype float64"):
        S.apply_gradient_descent(v, 0.1, ec.zeros([2, 3], ec.float64))
