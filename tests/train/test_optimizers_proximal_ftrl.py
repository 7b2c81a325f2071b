"""Ftrl, Adadelta, ProximalAdagrad, ProximalGradientDescent vs numpy references of TF1's
kernel formulas (float64, several steps) and vs the outputs TF's own optimizer tests list."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

STEPS = 5
W0 = np.array([[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]])
CW = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])


def grad_of(w):
    """Gradient of sum(w * CW) + 0.5 * sum(w**2 * |CW|)."""
    return CW + w * np.abs(CW)


def ref_ftrl(lr, p, init, l1, l2, shrink):
    def step(w, g, s):
        gs = g + 2 * shrink * w
        acc_new = s["acc"] + g * g
        s["lin"] = s["lin"] + gs - (acc_new ** -p - s["acc"] ** -p) / lr * w
        quad = acc_new ** -p / lr + 2 * l2
        out = np.zeros_like(w)
        keep = np.abs(s["lin"]) > l1
        out[keep] = (np.sign(s["lin"][keep]) * l1 - s["lin"][keep]) / quad[keep]
        s["acc"] = acc_new
        return out
    return step, lambda w: {"acc": np.full_like(w, init), "lin": np.zeros_like(w)}


def ref_adadelta(lr, rho, eps):
    def step(w, g, s):
        s["a"] = rho * s["a"] + (1 - rho) * g * g
        upd = np.sqrt(s["u"] + eps) / np.sqrt(s["a"] + eps) * g
        s["u"] = rho * s["u"] + (1 - rho) * upd * upd
        return w - lr * upd
    return step, lambda w: {"a": np.zeros_like(w), "u": np.zeros_like(w)}


def _prox(p, lr, l1, l2):
    return np.sign(p) * np.maximum(np.abs(p) - lr * l1, 0) / (1 + lr * l2)


def ref_prox_adagrad(lr, init, l1, l2):
    def step(w, g, s):
        s["a"] = s["a"] + g * g
        lr_t = lr / np.sqrt(s["a"])
        return _prox(w - lr_t * g, lr_t, l1, l2)
    return step, lambda w: {"a": np.full_like(w, init)}


def ref_prox_gd(lr, l1, l2):
    return (lambda w, g, s: _prox(w - lr * g, lr, l1, l2)), (lambda w: {})


T = ec.train
CASES = {
    "ftrl": (lambda: T.FtrlOptimizer(0.5), ref_ftrl(0.5, -0.5, 0.1, 0.0, 0.0, 0.0)),
    "ftrl_l1_l2": (lambda: T.FtrlOptimizer(0.5, l1_regularization_strength=0.3,
                                           l2_regularization_strength=0.2),
                   ref_ftrl(0.5, -0.5, 0.1, 0.3, 0.2, 0.0)),
    "ftrl_power_shrink": (lambda: T.FtrlOptimizer(
        0.4, learning_rate_power=-0.7, initial_accumulator_value=0.5,
        l1_regularization_strength=0.05, l2_shrinkage_regularization_strength=0.3),
        ref_ftrl(0.4, -0.7, 0.5, 0.05, 0.0, 0.3)),
    "ftrl_power_zero": (lambda: T.FtrlOptimizer(0.2, learning_rate_power=0.0,
                                                initial_accumulator_value=0.0),
                        ref_ftrl(0.2, 0.0, 0.0, 0.0, 0.0, 0.0)),
    "adadelta": (lambda: T.AdadeltaOptimizer(), ref_adadelta(0.001, 0.95, 1e-8)),
    "adadelta_paper": (lambda: T.AdadeltaOptimizer(1.0, rho=0.9, epsilon=1e-6),
                       ref_adadelta(1.0, 0.9, 1e-6)),
    "prox_adagrad": (lambda: T.ProximalAdagradOptimizer(0.3),
                     ref_prox_adagrad(0.3, 0.1, 0.0, 0.0)),
    "prox_adagrad_l1_l2": (lambda: T.ProximalAdagradOptimizer(
        0.3, initial_accumulator_value=0.5, l1_regularization_strength=0.4,
        l2_regularization_strength=0.1), ref_prox_adagrad(0.3, 0.5, 0.4, 0.1)),
    "prox_gd": (lambda: T.ProximalGradientDescentOptimizer(0.1), ref_prox_gd(0.1, 0.0, 0.0)),
    "prox_gd_l1_l2": (lambda: T.ProximalGradientDescentOptimizer(
        0.1, l1_regularization_strength=0.5, l2_regularization_strength=0.3),
        ref_prox_gd(0.1, 0.5, 0.3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_matches_reference(case):
    make_opt, (ref_step, ref_state) = CASES[case]
    with ec.Graph().as_default():
        w = ec.get_variable("dense/kernel", dtype=ec.float64, initializer=W0)
        loss = ec.reduce_sum(w * CW) + 0.5 * ec.reduce_sum(ec.square(w) * np.abs(CW))
        gs = ec.train.get_or_create_global_step()
        train_op = make_opt().minimize(loss, global_step=gs)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            got = []
            for _ in range(STEPS):
                sess.run(train_op)
                got.append(sess.run([w, gs]))
    pw = W0.copy()
    state = ref_state(pw)
    for k in range(STEPS):
        pw = ref_step(pw, grad_of(pw), state)
        np.testing.assert_allclose(got[k][0], pw, rtol=1e-12, atol=1e-14, err_msg=f"step {k}")
        assert got[k][1] == k + 1


def _run_two_vars(opt, steps, v0=(0.0, 0.0), v1=(0.0, 0.0), dtype=ec.float32):
    """TF's optimizer-test setup: two variables, constant gradients [0.1, 0.2], [0.01, 0.02]."""
    with ec.Graph().as_default():
        a = ec.Variable(np.array(v0), dtype=dtype, name="var0")
        b = ec.Variable(np.array(v1), dtype=dtype, name="var1")
        g0 = ec.constant([0.1, 0.2], dtype=dtype)
        g1 = ec.constant([0.01, 0.02], dtype=dtype)
        op = opt.apply_gradients([(g0, a), (g1, b)])
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            for _ in range(steps):
                sess.run(op)
            return sess.run([a, b])


# Expected values: the ones TF 1.15's ftrl_test.py asserts for the same setup.
@pytest.mark.parametrize("kwargs,v0,v1,steps,want0,want1", [
    ({}, (0.0, 0.0), (0.0, 0.0), 3,
     [-2.60260963, -4.29698515], [-0.28432083, -0.56694895]),
    ({"l1_regularization_strength": 0.001}, (1.0, 2.0), (4.0, 3.0), 10,
     [-7.66718769, -10.91273689], [-0.93460727, -1.86147261]),
    ({"l1_regularization_strength": 0.001, "l2_regularization_strength": 2.0},
     (1.0, 2.0), (4.0, 3.0), 10, [-0.24059935, -0.46829352], [-0.02406147, -0.04830509]),
    ({"l1_regularization_strength": 0.001, "l2_regularization_strength": 2.0,
      "l2_shrinkage_regularization_strength": 0.1}, (1.0, 2.0), (4.0, 3.0), 10,
     [-0.22578995, -0.44345796], [-0.14378493, -0.13229476]),
])
def test_ftrl_matches_tf_test_values(kwargs, v0, v1, steps, want0, want1):
    opt = ec.train.FtrlOptimizer(3.0, initial_accumulator_value=0.1, **kwargs)
    got0, got1 = _run_two_vars(opt, steps, v0, v1)
    np.testing.assert_allclose(got0, want0, rtol=1e-5)
    np.testing.assert_allclose(got1, want1, rtol=1e-5)


def test_ftrl_l1_gives_exact_zeros():
    """|linear| <= l1 puts the weight at exactly 0 (FTRL's sparsity)."""
    opt = ec.train.FtrlOptimizer(1.0, l1_regularization_strength=0.15)
    got0, got1 = _run_two_vars(opt, 1, (0.0, 0.0), (4.0, 3.0), dtype=ec.float64)
    # from zero weights linear = grad: 0.1 <= l1 -> 0; 0.2 > l1 -> (0.15 - 0.2) / sqrt(0.14)
    assert got0[0] == 0.0
    np.testing.assert_allclose(got0[1], -0.05 / np.sqrt(0.14), rtol=1e-12)
    assert got1.tolist() == [0.0, 0.0]        # |linear| ~ 0.0094, 0.0196 <= l1


SLOTS = {
    "ftrl": ["dense/kernel/Ftrl", "dense/kernel/Ftrl_1"],
    "adadelta": ["dense/kernel/Adadelta", "dense/kernel/Adadelta_1"],
    "prox_adagrad": ["dense/kernel/ProximalAdagrad"],
    "prox_gd": [],
}


@pytest.mark.parametrize("case", sorted(SLOTS))
def test_slot_variable_names(case):
    with ec.Graph().as_default():
        w = ec.get_variable("dense/kernel", dtype=ec.float64, initializer=W0)
        CASES[case][0]().minimize(ec.reduce_sum(w * CW))
        names = sorted(v.op.name for v in ec.global_variables())
    assert names == sorted(["dense/kernel"] + SLOTS[case])


def test_ftrl_slot_accessors_and_custom_names():
    with ec.Graph().as_default():
        w = ec.get_variable("w", dtype=ec.float64, initializer=W0)
        opt = ec.train.FtrlOptimizer(0.1, accum_name="acc", linear_name="lin")
        opt.minimize(ec.reduce_sum(w * CW))
        assert opt.get_slot(w, "accum").op.name == "w/acc"
        assert opt.get_slot(w, "linear").op.name == "w/lin"
        assert opt.get_slot_names() == ["accum", "linear"]
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(opt.get_slot(w, "accum")),
                                          np.full_like(W0, 0.1))


def test_ftrl_trains_a_linear_model_with_a_decaying_tensor_rate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.5], [-2.0], [0.0]], np.float32) + 0.5
    with ec.Graph().as_default():
        gs = ec.train.get_or_create_global_step()
        w = ec.get_variable("w", shape=[3, 1], initializer=ec.zeros_initializer())
        b = ec.get_variable("b", shape=[1], initializer=ec.zeros_initializer())
        loss = ec.reduce_mean(ec.square(ec.matmul(x, w) + b - y))
        lr = ec.train.exponential_decay(1.0, gs, 100, 0.9)
        op = ec.train.FtrlOptimizer(lr).minimize(loss, global_step=gs)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            first = sess.run(loss)
            for _ in range(300):
                sess.run(op)
            assert sess.run(loss) < 1e-2 * first


@pytest.mark.parametrize("make,arg", [
    (lambda: ec.train.FtrlOptimizer(0.1, learning_rate_power=0.5), "learning_rate_power"),
    (lambda: ec.train.FtrlOptimizer(0.0), "learning_rate"),
    (lambda: ec.train.FtrlOptimizer(0.1, initial_accumulator_value=-1.0),
     "initial_accumulator_value"),
    (lambda: ec.train.FtrlOptimizer(0.1, l1_regularization_strength=-0.1),
     "l1_regularization_strength"),
    (lambda: ec.train.FtrlOptimizer(0.1, l2_regularization_strength=-0.1),
     "l2_regularization_strength"),
    (lambda: ec.train.FtrlOptimizer(0.1, l2_shrinkage_regularization_strength=-1),
     "l2_shrinkage_regularization_strength"),
    (lambda: ec.train.AdadeltaOptimizer(rho=1.5), "rho"),
    (lambda: ec.train.AdadeltaOptimizer(epsilon=-1.0), "epsilon"),
    (lambda: ec.train.ProximalAdagradOptimizer(0.1, initial_accumulator_value=0.0),
     "initial_accumulator_value"),
    (lambda: ec.train.ProximalAdagradOptimizer(0.1, l1_regularization_strength=-1.0),
     "l1_regularization_strength"),
    (lambda: ec.train.ProximalGradientDescentOptimizer(-0.1), "learning_rate"),
    (lambda: ec.train.ProximalGradientDescentOptimizer(0.1, l2_regularization_strength="x"),
     "l2_regularization_strength"),
])
def test_hyper_parameter_validation_names_the_argument(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()
