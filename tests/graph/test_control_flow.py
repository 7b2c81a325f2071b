"""cond / case / map_fn: TF1 semantics (only the taken branch runs), gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops.control_flow_ops import case, cond, map_fn
from estcore.graph.ops.debug_ops import Assert, Print
from estcore.graph.ops.dynamic_ops import boolean_mask

pytestmark = pytest.mark.smoke
RNG = np.random.default_rng(3)
f64 = ec.float64


def test_only_the_taken_branch_has_side_effects(capsys):
    p = ec.placeholder(ec.bool, [])
    v = ec.Variable(0.0)

    def t():
        with ec.control_dependencies([ec.assign_add(v, 1.0)]):
            return ec.identity(v.value() * 1.0)

    def f():
        return Print(ec.constant(-1.0), [ec.constant(7)], message="false branch: ")

    y = cond(p, t, f)
    with ec.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(y, {p: True}) == pytest.approx(1.0)
        assert sess.run(y, {p: True}) == pytest.approx(2.0)
        assert capsys.readouterr().err == ""
        assert sess.run(y, {p: False}) == pytest.approx(-1.0)
        assert sess.run(v) == pytest.approx(2.0)
    assert capsys.readouterr().err == "false branch: [7]\n"


def test_an_assert_in_the_branch_not_taken_does_not_fire():
    x = ec.placeholder(f64, [None])
    ok = ec.reduce_all(x > 0.0)

    def positive():
        with ec.control_dependencies([Assert(ok, ["x must be positive", x])]):
            return ec.log(x)

    y = cond(ok, positive, lambda: x * 0.0)
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [-1.0, 2.0]}), [0.0, 0.0])
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), np.log([1.0, 2.0]))
    z = cond(ok, lambda: x, positive)
    with ec.Session() as sess, pytest.raises(ec.errors.InvalidArgumentError,
                                             match=r"assertion failed: \[x must be positive\] "
                                                   r"\[-1 2\]"):
        sess.run(z, {x: [-1.0, 2.0]})


def test_gradients_flow_through_the_taken_branch(numeric_gradient):
    x = ec.placeholder(f64, [2, 3])
    p = ec.placeholder(ec.bool, [])
    w = ec.Variable(RNG.normal(size=(3, 2)))
    y = cond(p, lambda: ec.nn.tanh(ec.matmul(x, w)), lambda: ec.exp(x[:, :2]) * 2.0)
    loss = ec.reduce_sum(y * y)
    gx, gw = ec.gradients(loss, [x, w])
    xv = RNG.normal(size=(2, 3))
    with ec.Session() as sess:
        sess.run(w.initializer)
        wv = sess.run(w)
        for pv in (True, False):
            def f(xx, wv=wv, pv=pv):
                yy = np.tanh(xx @ wv) if pv else np.exp(xx[:, :2]) * 2.0
                return float(np.sum(yy * yy))
            gxv, gwv = sess.run([gx, gw], {x: xv, p: pv})
            np.testing.assert_allclose(gxv, numeric_gradient(f, xv), rtol=1e-6, atol=1e-8)
            if pv:
                np.testing.assert_allclose(
                    gwv, numeric_gradient(lambda ww: float(np.sum(np.tanh(xv @ ww) ** 2)), wv),
                    rtol=1e-6, atol=1e-8)
            else:
                np.testing.assert_array_equal(gwv, np.zeros((3, 2)))


def test_the_gradient_uses_the_forward_branch_values_so_dropout_masks_agree():
    x = ec.placeholder(f64, [50])
    y = cond(ec.constant(True), lambda: ec.nn.dropout(x, rate=0.5, seed=1), lambda: x)
    (g,) = ec.gradients(ec.reduce_sum(y), [x])
    with ec.Session() as sess:
        for _ in range(3):
            yv, gv = sess.run([y, g], {x: np.ones(50)})
            np.testing.assert_allclose(gv, yv)   # dy/dx is the mask that made y
            assert 0 < np.count_nonzero(yv) < 50


def test_branches_with_different_shapes_give_the_taken_shape():
    x = ec.placeholder(f64, [None])
    p = ec.placeholder(ec.bool, [])
    y = cond(p, lambda: x, lambda: ec.concat([x, x], 0))
    assert y.shape.as_list() == [None]
    z = ec.reduce_sum(y * 2.0)
    with ec.Session() as sess:
        assert sess.run([y, z], {x: [1.0, 2.0], p: True})[1] == pytest.approx(6.0)
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0], p: False}), [1, 2, 1, 2])
        assert sess.run(z, {x: [1.0, 2.0], p: False}) == pytest.approx(12.0)


def test_nested_conds_structures_and_strictness():
    x = ec.placeholder(f64, [])
    a, b = ec.placeholder(ec.bool, []), ec.placeholder(ec.bool, [])
    out = cond(a, lambda: {"v": cond(b, lambda: x + 1.0, lambda: x + 2.0), "n": ec.constant(1)},
               lambda: {"v": x * 10.0, "n": ec.constant(2)})
    assert set(out) == {"v", "n"}
    single = cond(a, lambda: [x], lambda: [x * 2.0])
    strict = cond(a, lambda: [x], lambda: [x * 2.0], strict=True)
    assert not isinstance(single, list) and isinstance(strict, list)
    with ec.Session() as sess:
        for av, bv, want in ((True, True, 4.0), (True, False, 5.0), (False, True, 30.0)):
            got = sess.run(out, {x: 3.0, a: av, b: bv})
            assert got["v"] == pytest.approx(want)
            assert got["n"] == (1 if av else 2)
    gx = ec.gradients(out["v"], [x])[0]
    with ec.Session() as sess:
        assert sess.run(gx, {x: 3.0, a: False, b: True}) == pytest.approx(10.0)
        assert sess.run(gx, {x: 3.0, a: True, b: False}) == pytest.approx(1.0)


def test_training_through_cond_updates_the_variables_of_the_taken_branch():
    x = ec.placeholder(f64, [None, 2])
    training = ec.placeholder_with_default(True, [])
    w = ec.Variable(np.ones((2, 1)))
    y = cond(training, lambda: ec.matmul(x, w), lambda: ec.matmul(x, w) * 0.0)
    loss = ec.reduce_mean(ec.square(y - ec.matmul(x, ec.constant([[1.0], [-2.0]], f64))))
    step = ec.train.GradientDescentOptimizer(0.1).minimize(loss)
    xv = RNG.normal(size=(8, 2))
    with ec.Session() as sess:
        sess.run(w.initializer)
        losses = [sess.run([step, loss], {x: xv})[1] for _ in range(30)]
        assert losses[-1] < losses[0] * 0.5
        before = sess.run(w)
        sess.run(step, {x: xv, training: False})
        np.testing.assert_allclose(sess.run(w), before)   # zero gradient in that branch


def test_cond_errors_name_the_problem():
    p = ec.placeholder(ec.bool, [])
    with pytest.raises(TypeError, match="pred must not be a Python bool"):
        cond(True, lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="same type"):
        cond(p, lambda: ec.constant(1.0), lambda: ec.constant(1))
    with pytest.raises(ValueError, match="same nested structure"):
        cond(p, lambda: (ec.constant(1.0),), lambda: {"a": ec.constant(1.0)})
    with pytest.raises(TypeError, match="bool tensor"):
        cond(ec.constant(1.0), lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="scalar"):
        cond(ec.placeholder(ec.bool, [2]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="callable"):
        cond(p, 1.0, lambda: 2.0)


def test_case_picks_the_first_true_predicate_default_and_exclusive():
    x = ec.placeholder(ec.int32, [])
    r = case([(ec.less(x, 0), lambda: ec.constant(-1)), (ec.less(x, 10), lambda: ec.constant(1))],
             default=lambda: ec.constant(100))
    r_exclusive = case({ec.less(x, 5): lambda: ec.constant(1),
                        ec.less(x, 10): lambda: ec.constant(2)},
                       default=lambda: ec.constant(0), exclusive=True)
    no_default = case([(ec.less(x, 0), lambda: ec.constant(-1)),
                       (ec.greater(x, 100), lambda: ec.constant(1))])
    with ec.Session() as sess:
        assert [sess.run(r, {x: v}) for v in (-5, 5, 50)] == [-1, 1, 100]
        assert sess.run(r_exclusive, {x: 7}) == 2
        with pytest.raises(ec.errors.InvalidArgumentError, match="exclusive=True"):
            sess.run(r_exclusive, {x: 1})
        assert sess.run(no_default, {x: 200}) == 1
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match="None of conditions evaluated as True"):
            sess.run(no_default, {x: 50})
    with pytest.raises(TypeError, match="2-tuple"):
        case([ec.less(x, 0)])


def test_map_fn_matches_numpy_and_differentiates(numeric_gradient):
    x = ec.placeholder(f64, [None, 3])
    w = ec.Variable(RNG.normal(size=(3,)))
    y = map_fn(lambda r: ec.reduce_sum(ec.square(r) * w), x)
    gx, gw = ec.gradients(ec.reduce_sum(y * y), [x, w])
    xv = RNG.normal(size=(4, 3))
    with ec.Session() as sess:
        sess.run(w.initializer)
        wv = sess.run(w)
        yv, gxv, gwv = sess.run([y, gx, gw], {x: xv})
    np.testing.assert_allclose(yv, (xv ** 2) @ wv)
    np.testing.assert_allclose(
        gxv, numeric_gradient(lambda a: float(np.sum(((a ** 2) @ wv) ** 2)), xv), rtol=1e-6)
    np.testing.assert_allclose(
        gwv, numeric_gradient(lambda b: float(np.sum(((xv ** 2) @ b) ** 2)), wv), rtol=1e-6)


def test_map_fn_structures_dtype_and_zero_elements():
    a = ec.placeholder(f64, [None, 2])
    b = ec.placeholder(ec.int32, [None])
    out = map_fn(lambda e: (e[0] * 2.0, e[1] + 1), (a, b), dtype=(f64, ec.int32))
    with ec.Session() as sess:
        av, bv = sess.run(out, {a: [[1, 2], [3, 4]], b: [5, 6]})
        np.testing.assert_allclose(av, [[2, 4], [6, 8]])
        np.testing.assert_array_equal(bv, [6, 7])
        av, bv = sess.run(out, {a: np.zeros((0, 2)), b: np.zeros(0, np.int32)})
        assert av.shape == (0, 2) and bv.shape == (0,)
    with pytest.raises(TypeError, match="dtype"):
        map_fn(lambda e: e * 2.0, a, dtype=ec.int32)
    with pytest.raises(ValueError, match="rank >= 1"):
        map_fn(lambda e: e, ec.constant(1.0))


def test_map_fn_with_per_element_data_dependent_shapes():
    x = ec.placeholder(f64, [None, 4])
    y = map_fn(lambda r: ec.reduce_sum(boolean_mask(r, r > 0.0)), x)
    with ec.Session() as sess:
        xv = np.array([[1, -1, 2, -3], [-1, -1, -1, 5.0]])
        np.testing.assert_allclose(sess.run(y, {x: xv}), [3.0, 5.0])


def test_variables_created_inside_branches_get_gradients():
    x = ec.placeholder(f64, [None, 3])
    p = ec.placeholder_with_default(True, [])
    y = cond(p, lambda: ec.layers.dense(x, 1, name="a"), lambda: ec.layers.dense(x, 1, name="b"))
    loss = ec.reduce_mean(ec.square(y - ec.reduce_sum(x, 1, keepdims=True)))
    opt = ec.train.GradientDescentOptimizer(0.2)
    grads = dict((v.op.name, g) for g, v in opt.compute_gradients(loss))
    assert {k for k, g in grads.items() if g is not None} == {"a/kernel", "a/bias", "b/kernel",
                                                              "b/bias"}
    step = opt.minimize(loss)
    xv = RNG.normal(size=(16, 3))
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        b_before = sess.run("b/kernel:0")
        first = sess.run(loss, {x: xv})
        for _ in range(100):
            sess.run(step, {x: xv})
        assert sess.run(loss, {x: xv}) < first * 0.01
        np.testing.assert_array_equal(sess.run("b/kernel:0"), b_before)   # not taken


def test_branches_returning_operations_give_an_op_to_run():
    p = ec.placeholder(ec.bool, [])
    v = ec.Variable(0.0)
    op = cond(p, lambda: ec.assign_add(v, 1.0).op, ec.no_op)
    assert isinstance(op, ec.Operation)
    with ec.Session() as sess:
        sess.run(v.initializer)
        sess.run(op, {p: True})
        sess.run(op, {p: False})
        sess.run(op, {p: True})
        assert sess.run(v) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same kind"):
        cond(p, ec.no_op, lambda: ec.constant(1.0))


def test_gradient_through_branches_of_different_shapes():
    x = ec.placeholder(f64, [None])
    p = ec.placeholder(ec.bool, [])
    y = cond(p, lambda: ec.exp(x), lambda: ec.concat([x, x * 3.0], 0))
    (g,) = ec.gradients(ec.reduce_sum(y * y), [x])
    xv = np.array([0.1, 0.2, -0.4])
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: xv, p: True}), 2 * np.exp(2 * xv))
        np.testing.assert_allclose(sess.run(g, {x: xv, p: False}), 20 * xv)


def test_cond_inside_map_fn_with_its_gradient():
    x = ec.placeholder(f64, [None, 3])
    y = map_fn(lambda r: cond(ec.reduce_sum(r) > 0.0, lambda: ec.reduce_sum(ec.exp(r)),
                              lambda: ec.reduce_sum(r * r)), x)
    (g,) = ec.gradients(ec.reduce_sum(y), [x])
    xv = np.array([[0.1, 0.2, 0.3], [-1.0, 0.5, 0.1]])
    with ec.Session() as sess:
        yv, gv = sess.run([y, g], {x: xv})
    np.testing.assert_allclose(yv, [np.exp(xv[0]).sum(), (xv[1] ** 2).sum()])
    np.testing.assert_allclose(gv, [np.exp(xv[0]), 2 * xv[1]])
