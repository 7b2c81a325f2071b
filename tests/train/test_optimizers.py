"""Optimizers vs numpy references of TF1's update formulas (float64, several steps)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

STEPS = 4
W0 = np.array([[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]])
B0 = np.array([0.1, -0.2, 0.3])
CW = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
CB = np.array([0.5, 0.5, -1.5])


def grad_of(w, c):
    """Gradient of sum(w * c) + 0.5 * sum(w**2 * |c|) w.r.t. w."""
    return c + w * np.abs(c)


def _loss(w, b):
    return (ec.reduce_sum(w * CW) + 0.5 * ec.reduce_sum(ec.square(w) * np.abs(CW))
            + ec.reduce_sum(b * CB) + 0.5 * ec.reduce_sum(ec.square(b) * np.abs(CB)))


def _vars():
    w = ec.get_variable("dense/kernel", dtype=ec.float64, initializer=W0)
    b = ec.get_variable("dense/bias", dtype=ec.float64, initializer=B0)
    return w, b


def ref_sgd(params, lr):
    def step(p, g, s):
        return p - lr * g
    return step, lambda p: None


def ref_momentum(lr, mu, nesterov):
    def step(p, g, s):
        s["a"] = mu * s["a"] + g
        if nesterov:
            return p - (lr * g + lr * mu * s["a"])
        return p - lr * s["a"]
    return step, lambda p: {"a": np.zeros_like(p)}


def ref_adagrad(lr, init):
    def step(p, g, s):
        s["a"] = s["a"] + g * g
        return p - lr * g / np.sqrt(s["a"])
    return step, lambda p: {"a": np.full_like(p, init)}


def ref_rmsprop(lr, rho, mu, eps, centered):
    def step(p, g, s):
        s["ms"] = rho * s["ms"] + (1 - rho) * g * g
        denom = s["ms"] + eps
        if centered:
            s["mg"] = rho * s["mg"] + (1 - rho) * g
            denom = denom - s["mg"] ** 2
        s["mom"] = mu * s["mom"] + lr * g / np.sqrt(denom)
        return p - s["mom"]
    return step, lambda p: {"ms": np.ones_like(p), "mom": np.zeros_like(p),
                            "mg": np.zeros_like(p)}


def ref_adam(lr, b1, b2, eps):
    def step(p, g, s):
        s["t"] += 1
        lr_t = lr * np.sqrt(1 - b2 ** s["t"]) / (1 - b1 ** s["t"])
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        return p - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)
    return step, lambda p: {"m": np.zeros_like(p), "v": np.zeros_like(p), "t": 0}


CASES = {
    "sgd": (lambda: ec.train.GradientDescentOptimizer(0.1), ref_sgd(None, 0.1)),
    "momentum": (lambda: ec.train.MomentumOptimizer(0.1, 0.9), ref_momentum(0.1, 0.9, False)),
    "nesterov": (lambda: ec.train.MomentumOptimizer(0.05, 0.8, use_nesterov=True),
                 ref_momentum(0.05, 0.8, True)),
    "adagrad": (lambda: ec.train.AdagradOptimizer(0.3), ref_adagrad(0.3, 0.1)),
    "adagrad_init": (lambda: ec.train.AdagradOptimizer(0.3, initial_accumulator_value=1.5),
                     ref_adagrad(0.3, 1.5)),
    "rmsprop": (lambda: ec.train.RMSPropOptimizer(0.01), ref_rmsprop(0.01, 0.9, 0.0, 1e-10,
                                                                    False)),
    "rmsprop_momentum": (lambda: ec.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5,
                                                           epsilon=1e-6),
                         ref_rmsprop(0.01, 0.8, 0.5, 1e-6, False)),
    "rmsprop_centered": (lambda: ec.train.RMSPropOptimizer(0.01, momentum=0.3, centered=True),
                         ref_rmsprop(0.01, 0.9, 0.3, 1e-10, True)),
    "adam": (lambda: ec.train.AdamOptimizer(0.1), ref_adam(0.1, 0.9, 0.999, 1e-8)),
    "adam_custom": (lambda: ec.train.AdamOptimizer(0.05, beta1=0.5, beta2=0.9, epsilon=1e-3),
                    ref_adam(0.05, 0.5, 0.9, 1e-3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_matches_reference(case):
    make_opt, (ref_step, ref_state) = CASES[case]
    with ec.Graph().as_default():
        w, b = _vars()
        gs = ec.train.get_or_create_global_step()
        train_op = make_opt().minimize(_loss(w, b), global_step=gs)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            got = []
            for _ in range(STEPS):
                sess.run(train_op)
                got.append(sess.run([w, b, gs]))
    pw, pb = W0.copy(), B0.copy()
    sw, sb = ref_state(pw), ref_state(pb)
    for k in range(STEPS):
        gw, gb = grad_of(pw, CW), grad_of(pb, CB)
        pw, pb = ref_step(pw, gw, sw), ref_step(pb, gb, sb)
        np.testing.assert_allclose(got[k][0], pw, rtol=1e-12, atol=1e-14, err_msg=f"step {k}")
        np.testing.assert_allclose(got[k][1], pb, rtol=1e-12, atol=1e-14, err_msg=f"step {k}")
        assert got[k][2] == k + 1


SLOT_NAMES = {
    "sgd": [],
    "momentum": ["dense/bias/Momentum", "dense/kernel/Momentum"],
    "adagrad": ["dense/bias/Adagrad", "dense/kernel/Adagrad"],
    "rmsprop": ["dense/bias/RMSProp", "dense/bias/RMSProp_1", "dense/kernel/RMSProp",
                "dense/kernel/RMSProp_1"],
    "rmsprop_centered": ["dense/bias/RMSProp", "dense/bias/RMSProp_1", "dense/bias/RMSProp_2",
                         "dense/kernel/RMSProp", "dense/kernel/RMSProp_1",
                         "dense/kernel/RMSProp_2"],
    "adam": ["beta1_power", "beta2_power", "dense/bias/Adam", "dense/bias/Adam_1",
             "dense/kernel/Adam", "dense/kernel/Adam_1"],
}


@pytest.mark.parametrize("case", sorted(SLOT_NAMES))
def test_slot_variable_names(case):
    with ec.Graph().as_default():
        w, b = _vars()
        gs = ec.train.get_or_create_global_step()
        opt = CASES[case][0]()
        opt.minimize(_loss(w, b), global_step=gs)
        names = sorted(v.op.name for v in ec.global_variables())
        trainable = sorted(v.op.name for v in ec.trainable_variables())
    assert names == sorted(["dense/kernel", "dense/bias", "global_step"] + SLOT_NAMES[case])
    assert trainable == ["dense/bias", "dense/kernel"]


def test_adam_slots_accessors():
    with ec.Graph().as_default():
        w, b = _vars()
        opt = ec.train.AdamOptimizer()
        opt.minimize(_loss(w, b))
        assert opt.get_slot(w, "m").op.name == "dense/kernel/Adam"
        assert opt.get_slot(w, "v").op.name == "dense/kernel/Adam_1"
        assert opt.get_slot_names() == ["m", "v"]
        assert len(opt.variables()) == 6


def test_var_list_and_unconnected_variables():
    with ec.Graph().as_default():
        w, b = _vars()
        other = ec.get_variable("other", dtype=ec.float64, initializer=np.ones(2))
        opt = ec.train.GradientDescentOptimizer(1.0)
        gv = opt.compute_gradients(_loss(w, b), var_list=[w, other])
        assert gv[1][0] is None and gv[1][1] is other
        train_op = opt.apply_gradients(gv)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            sess.run(train_op)
            got_w, got_b, got_o = sess.run([w, b, other])
        np.testing.assert_allclose(got_w, W0 - grad_of(W0, CW), rtol=1e-12)
        np.testing.assert_allclose(got_b, B0)
        np.testing.assert_allclose(got_o, np.ones(2))
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.minimize(_loss(w, b), var_list=[other])
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.apply_gradients([(None, other)])
        with pytest.raises(ValueError, match="No variables provided"):
            opt.apply_gradients([])


def test_learning_rate_tensor_schedule():
    with ec.Graph().as_default():
        w, b = _vars()
        gs = ec.train.get_or_create_global_step()
        lr = ec.train.exponential_decay(0.5, gs, decay_steps=1, decay_rate=0.5)
        train_op = ec.train.GradientDescentOptimizer(lr).minimize(_loss(w, b), global_step=gs)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            got = []
            for _ in range(3):
                sess.run(train_op)
                got.append(sess.run(w))
    pw = W0.copy()
    for k in range(3):
        lr_k = np.float32(0.5) * np.float32(0.5) ** np.float32(k)  # float32 schedule, as TF1
        pw = pw - np.float64(lr_k) * grad_of(pw, CW)
        np.testing.assert_allclose(got[k], pw, rtol=1e-12)


def test_float32_adam_close_to_float64_reference():
    with ec.Graph().as_default():
        w = ec.get_variable("w", dtype=ec.float32, initializer=W0.astype(np.float32))
        loss = ec.reduce_sum(w * CW.astype(np.float32)) + 0.5 * ec.reduce_sum(
            ec.square(w) * np.abs(CW).astype(np.float32))
        train_op = ec.train.AdamOptimizer(0.1).minimize(loss)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            for _ in range(STEPS):
                sess.run(train_op)
            got = sess.run(w)
    step, state = ref_adam(0.1, 0.9, 0.999, 1e-8)
    p, s = W0.copy(), state(W0)
    for _ in range(STEPS):
        p = step(p, grad_of(p, CW), s)
    np.testing.assert_allclose(got, p, rtol=1e-5, atol=1e-6)


def test_update_ops_run_once_with_minimize_and_explicit_dependencies():
    for explicit in (False, True):
        with ec.Graph().as_default():
            w, b = _vars()
            counter = ec.get_variable("counter", dtype=ec.float64, initializer=np.zeros(()),
                                      trainable=False)
            ec.add_to_collection(ec.GraphKeys.UPDATE_OPS, ec.assign_add(counter, 1.0))
            opt = ec.train.GradientDescentOptimizer(0.1)
            if explicit:
                with ec.control_dependencies(ec.get_collection(ec.GraphKeys.UPDATE_OPS)):
                    train_op = opt.minimize(_loss(w, b))
            else:
                train_op = opt.minimize(_loss(w, b))
            with ec.Session() as sess:
                sess.run(ec.global_variables_initializer())
                sess.run(train_op)
                sess.run(train_op)
                assert sess.run(counter) == 2.0


def test_hyper_parameter_validation():
    with pytest.raises(ValueError, match="`learning_rate` must be"):
        ec.train.GradientDescentOptimizer(-1.0)
    with pytest.raises(TypeError, match="`learning_rate` must be"):
        ec.train.AdamOptimizer("fast")
    with pytest.raises(ValueError, match=r"`beta1` must be a number in \[0.0, 1.0\)"):
        ec.train.AdamOptimizer(beta1=1.0)
    with pytest.raises(ValueError, match="`initial_accumulator_value`"):
        ec.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ValueError, match="`decay`"):
        ec.train.RMSPropOptimizer(0.1, decay=1.5)
    with pytest.raises(TypeError, match="`use_nesterov`"):
        ec.train.MomentumOptimizer(0.1, 0.9, use_nesterov="yes")
    with ec.Graph().as_default(), pytest.raises(ValueError, match="No variables to optimize"):
        ec.train.GradientDescentOptimizer(0.1).minimize(ec.constant(1.0))


def test_callable_learning_rate_and_named_train_op():
    with ec.Graph().as_default():
        w, b = _vars()
        gs = ec.train.get_or_create_global_step()
        opt = ec.train.GradientDescentOptimizer(lambda: ec.constant(0.25, dtype=ec.float64))
        train_op = opt.minimize(_loss(w, b), global_step=gs, name="my_train")
        # the global-step increment's Operation, as TF1: fetching it gives None
        assert isinstance(train_op, ec.Operation) and train_op.name == "my_train"
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            assert sess.run(train_op) is None
            got_w, step = sess.run([w, gs])
    np.testing.assert_allclose(got_w, W0 - 0.25 * grad_of(W0, CW), rtol=1e-12)
    assert step == 1


def test_minimize_twice_shares_slots():
    with ec.Graph().as_default():
        w, b = _vars()
        opt = ec.train.AdamOptimizer(0.1)
        opt.minimize(_loss(w, b))
        opt.minimize(2.0 * _loss(w, b))
        names = sorted(v.op.name for v in ec.global_variables())
    assert names == sorted(["dense/kernel", "dense/bias"] + SLOT_NAMES["adam"])


def test_reexported_global_step_and_clip_by_global_norm():
    with ec.Graph().as_default():
        assert ec.train.get_global_step() is None
        gs = ec.train.create_global_step()
        assert ec.train.get_global_step() is gs and ec.train.get_or_create_global_step() is gs
        assert gs.op.name == "global_step" and gs.dtype == ec.int64 and not gs.trainable
        w, b = _vars()
        grads = [g for g, _ in ec.train.GradientDescentOptimizer(0.1).compute_gradients(
            _loss(w, b))]
        clipped, norm = ec.train.clip_by_global_norm(grads, 1.0)
        train_op = ec.train.GradientDescentOptimizer(0.1).apply_gradients(
            zip(clipped, [w, b], strict=True), global_step=gs)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            got_norm = sess.run(norm)
            sess.run(train_op)
            got_w = sess.run(w)
    gw, gb = grad_of(W0, CW), grad_of(B0, CB)
    want_norm = np.sqrt((gw**2).sum() + (gb**2).sum())
    np.testing.assert_allclose(got_norm, want_norm, rtol=1e-12)
    np.testing.assert_allclose(got_w, W0 - 0.1 * gw / want_norm, rtol=1e-12)


def test_slot_names_inside_a_variable_scope_are_tfs():
    with ec.Graph().as_default():
        with ec.variable_scope("model"):
            x = ec.placeholder(ec.float32, [None, 2])
            loss = ec.reduce_sum(ec.layers.dense(x, 1))
            ec.train.AdamOptimizer().minimize(loss)
        with ec.variable_scope("train"):
            ec.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        with ec.name_scope("ns"):
            ec.train.AdagradOptimizer(0.1).minimize(loss)
        names = sorted(v.op.name for v in ec.global_variables())
    # TF 2.15's names for this program: slots under the variable scope of minimize (the
    # scope doubled for the model's own), the accumulators under the name scope, a name
    # scope alone changes no slot name.
    assert names == [
        "model/beta1_power", "model/beta2_power", "model/dense/bias",
        "model/dense/bias/Adagrad", "model/dense/kernel", "model/dense/kernel/Adagrad",
        "model/model/dense/bias/Adam", "model/model/dense/bias/Adam_1",
        "model/model/dense/kernel/Adam", "model/model/dense/kernel/Adam_1",
        "train/model/dense/bias/Momentum", "train/model/dense/kernel/Momentum"]


def _powers():
    return [v.op.name for v in ec.global_variables() if "power" in v.op.name]


def test_adam_accumulators_follow_the_name_scope_as_tf():
    # What TF 1.15 names them for the same program (checked against TF 2.15's v1 graph).
    with ec.Graph().as_default():
        w, b = _vars()
        loss = _loss(w, b)
        with ec.name_scope("train"):
            ec.train.AdamOptimizer(0.1).minimize(loss)
        with ec.name_scope("train"):
            ec.train.AdamOptimizer(0.1).minimize(loss)
        ec.train.AdamOptimizer(0.1).minimize(loss)
        ec.train.AdamOptimizer(0.1).minimize(loss)
        with ec.variable_scope("vs"):
            ec.train.AdamOptimizer(0.1).minimize(loss)
        assert _powers() == ["train/beta1_power", "train/beta2_power",
                             "train_1/beta1_power", "train_1/beta2_power",
                             "beta1_power", "beta2_power", "beta1_power_1", "beta2_power_1",
                             "vs/beta1_power", "vs/beta2_power"]


def test_one_optimizer_keeps_its_accumulators_across_scopes_of_a_graph():
    with ec.Graph().as_default():
        w, b = _vars()
        opt = ec.train.AdamOptimizer(0.1)
        with ec.name_scope("a"):
            opt.minimize(_loss(w, b))
        with ec.name_scope("b"):
            opt.minimize(2.0 * _loss(w, b))
        assert _powers() == ["a/beta1_power", "a/beta2_power"]
        assert [v.op.name for v in opt.variables() if "power" in v.op.name] == \
            ["a/beta1_power", "a/beta2_power"]
    with ec.Graph().as_default():   # a new graph (the next Estimator call): new ones
        w, b = _vars()
        with ec.name_scope("c"):
            opt.minimize(_loss(w, b))
        assert _powers() == ["c/beta1_power", "c/beta2_power"]


def test_adam_accumulators_initialise_outside_the_callers_control_dependencies():
    with ec.Graph().as_default():
        w, b = _vars()
        loss = _loss(w, b)
        with ec.control_dependencies([ec.assign_add(w, ec.ones_like(w))]):
            with ec.name_scope("train"):
                train = ec.train.AdamOptimizer(0.1).minimize(loss)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            w0 = sess.run(w)
            b1, b2 = sess.run(["train/beta1_power:0", "train/beta2_power:0"])
            np.testing.assert_array_equal(sess.run(w), w0)  # the assign did not run
            np.testing.assert_allclose([b1, b2], [0.9, 0.999], rtol=1e-7)
            sess.run(train)
            np.testing.assert_allclose(sess.run("train/beta1_power:0"), 0.81, rtol=1e-6)


def test_adam_inside_explicit_update_ops_dependencies_with_batch_norm():
    """TF1 idiom: slots created under control_dependencies(UPDATE_OPS) must still be
    initializable without feeding the model's placeholders."""
    x_val = np.random.default_rng(5).normal(size=(8, 3)).astype(np.float32)
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 3])
        h = ec.layers.batch_normalization(ec.layers.dense(x, 4), training=True)
        loss = ec.reduce_mean(ec.square(h))
        with ec.control_dependencies(ec.get_collection(ec.GraphKeys.UPDATE_OPS)):
            train_op = ec.train.AdamOptimizer(0.01).minimize(loss)
        mm = [v for v in ec.global_variables() if v.op.name.endswith("moving_mean")][0]
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())  # no feed needed
            sess.run(train_op, {x: x_val})
            first = sess.run(mm)
            sess.run(train_op, {x: x_val})
            second = sess.run(mm)
    assert np.any(first != 0)
    assert not np.allclose(first, second)
