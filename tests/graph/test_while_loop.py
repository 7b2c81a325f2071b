"""while_loop: TF1 forward semantics (nested loop variables, values changing per
iteration, maximum_iterations, shape_invariants), side effects per iteration, errors,
and the clear error when a gradient through the loop is asked for."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops.while_ops import while_loop

pytestmark = pytest.mark.smoke


def test_counter_and_accumulator_match_python():
    x = ec.placeholder(ec.float32, [None])
    k, acc = while_loop(lambda k, a: k < 5, lambda k, a: (k + 1, a * 2.0 + 1.0),
                        (ec.constant(0), x))
    assert k.shape.rank == 0 and acc.shape.as_list() == [None]
    with ec.Session() as sess:
        for v in ([1.0, 2.0], [0.5, -1.0, 3.0]):
            want = np.asarray(v, np.float32)
            for _ in range(5):
                want = want * 2.0 + 1.0
            kv, av = sess.run([k, acc], {x: v})
            assert kv == 5
            np.testing.assert_allclose(av, want)


def test_single_loop_var_comes_back_as_a_tensor():
    r = while_loop(lambda i: i < 10, lambda i: i + 3, [ec.constant(0)])
    r2 = while_loop(lambda i: i < 10, lambda i: [i + 3], [ec.constant(0)],
                    return_same_structure=True)
    r3 = while_loop(lambda i: i < 10, lambda i: i + 3, ec.constant(0))
    assert isinstance(r2, list) and len(r2) == 1
    with ec.Session() as sess:
        assert sess.run(r) == 12 and sess.run(r2) == [12] and sess.run(r3) == 12


def test_nested_structures_and_namedtuples():
    Pair = collections.namedtuple("Pair", "a b")
    out = while_loop(lambda n, p: n < 3,
                     lambda n, p: (n + 1, Pair(p.a + p.b, p.b * 2)),
                     (ec.constant(0), Pair(ec.constant([1.0, 1.0]), ec.constant(1.0))))
    assert isinstance(out[1], Pair)
    with ec.Session() as sess:
        n, p = sess.run(out)
    # a: 1 -> 2 -> 4 -> 8 (adds b = 1, 2, 4); b: 1 -> 2 -> 4 -> 8
    assert n == 3 and p.b == 8.0
    np.testing.assert_allclose(p.a, [8.0, 8.0])


def test_cond_reads_outside_tensors_and_maximum_iterations():
    limit = ec.placeholder(ec.int32, [])
    step = ec.constant(2)
    r = while_loop(lambda i: i < limit, lambda i: i + step, [ec.constant(0)])
    capped = while_loop(lambda i: i < limit, lambda i: i + step, [ec.constant(0)],
                        maximum_iterations=3)
    capped_t = while_loop(lambda i: i < limit, lambda i: i + 1, [ec.constant(0)],
                          maximum_iterations=ec.placeholder_with_default(4, []))
    with ec.Session() as sess:
        assert sess.run(r, {limit: 7}) == 8
        assert sess.run(r, {limit: 0}) == 0              # cond false at once: no iteration
        assert sess.run(capped, {limit: 100}) == 6
        assert sess.run(capped, {limit: 3}) == 4
        assert sess.run(capped_t, {limit: 100}) == 4


def test_shape_invariants_let_a_tensor_grow():
    k, v = while_loop(lambda k, v: k < 3, lambda k, v: (k + 1, ec.concat([v, v * 2.0], 0)),
                      [ec.constant(0), ec.constant([1.0])],
                      shape_invariants=[ec.TensorShape([]), ec.TensorShape([None])])
    assert v.shape.as_list() == [None]
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(v), [1, 2, 2, 4, 2, 4, 4, 8])


def test_a_shape_change_without_invariant_is_refused():
    with pytest.raises(ValueError, match="shape_invariants"):
        while_loop(lambda v: ec.size(v) < 8, lambda v: ec.concat([v, v], 0),
                   [ec.constant([1.0])])
    with pytest.raises(ValueError, match="not compatible with the initial shape"):
        while_loop(lambda v: True, lambda v: v, [ec.constant([1.0, 2.0])],
                   shape_invariants=[ec.TensorShape([3])])


def test_body_side_effects_run_once_per_iteration():
    counter = ec.Variable(0)
    w = ec.Variable(1.5)

    def body(i, a):
        with ec.control_dependencies([ec.assign_add(counter, 1)]):
            return i + 1, a * w

    limit = ec.placeholder(ec.int32, [])
    i, a = while_loop(lambda i, a: i < limit, body, [ec.constant(0), ec.constant(1.0)],
                      back_prop=False)
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        assert sess.run(a, {limit: 3}) == pytest.approx(1.5 ** 3)
        assert sess.run(counter) == 3
        sess.run(a, {limit: 2})
        assert sess.run(counter) == 5


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="`cond` must be callable"):
        while_loop(1, lambda i: i, [ec.constant(0)])
    with pytest.raises(ValueError, match="no loop variables"):
        while_loop(lambda: True, lambda: (), [])
    with pytest.raises(ValueError, match="one scalar bool"):
        while_loop(lambda i: i, lambda i: i, [ec.constant(0)])
    with pytest.raises(ValueError, match="is int32 but `body` returns float32"):
        while_loop(lambda i: i < 3, lambda i: ec.cast(i, ec.float32), [ec.constant(0)])
    with pytest.raises(ValueError, match="structure"):
        while_loop(lambda a, b: a < 3, lambda a, b: a + 1, [ec.constant(0), ec.constant(1)])
    with pytest.raises(TypeError, match="maximum_iterations"):
        while_loop(lambda i: i < 3, lambda i: i + 1, [ec.constant(0)],
                   maximum_iterations=2.5)


def test_gradients_match_finite_differences_for_any_iteration_count(numeric_gradient):
    f64 = ec.float64
    w = ec.Variable(np.array([1.5, -0.5]), dtype=f64)
    c = ec.placeholder_with_default(np.float64(0.3), [])
    x = ec.placeholder(f64, [None, 2])
    lim = ec.placeholder(ec.int32, [])
    _, y = while_loop(lambda i, a: i < lim, lambda i, a: (i + 1, ec.sin(a) * w + c * a),
                      [ec.constant(0), x], maximum_iterations=4)
    loss = ec.reduce_sum(y * y)
    gx, gw, gc = ec.gradients(loss, [x, w, c])

    w0 = np.array([1.5, -0.5])

    def ref(xv, wv=w0, cv=0.3, n=0):
        a = xv.copy()
        for _ in range(min(n, 4)):
            a = np.sin(a) * wv + cv * a
        return (a * a).sum()

    xv = np.array([[0.2, -0.7], [1.1, 0.4], [-0.3, 0.9]])
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        for n in (0, 1, 3, 9):
            a, b, cc = sess.run([gx, gw, gc], {x: xv, lim: n})
            np.testing.assert_allclose(a, numeric_gradient(lambda v, n=n: ref(v, n=n), xv),
                                       rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(
                b, numeric_gradient(lambda v, n=n: ref(xv, wv=v, n=n), w0), rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(
                cc, numeric_gradient(lambda v, n=n: ref(xv, cv=float(v), n=n), np.array(0.3)),
                rtol=1e-6, atol=1e-8)


def test_gradient_through_a_growing_loop_variable():
    x = ec.placeholder(ec.float64, [2])
    _, v = while_loop(lambda k, v: k < 2, lambda k, v: (k + 1, ec.concat([v, v * 3.0], 0)),
                      [ec.constant(0), x],
                      shape_invariants=[ec.TensorShape([]), ec.TensorShape([None])])
    wts = ec.constant(np.arange(1.0, 9.0))
    (g,) = ec.gradients(ec.reduce_sum(v * wts), [x])
    with ec.Session() as sess:
        gv = sess.run(g, {x: [1.0, 2.0]})
    # v = [x, 3x, 3x, 9x]: d/dx of sum(v * w) per element of x
    w = np.arange(1.0, 9.0).reshape(4, 2)
    np.testing.assert_allclose(gv, w[0] + 3 * w[1] + 3 * w[2] + 9 * w[3])


def test_training_through_a_loop_and_back_prop_false():
    w = ec.Variable(0.5)
    _, y = while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * w),
                      [ec.constant(0), ec.constant(2.0)])
    loss = ec.square(y - 1.0)
    train = ec.train.GradientDescentOptimizer(0.05).minimize(loss)
    _, y2 = while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * w),
                       [ec.constant(0), ec.constant(1.0)], back_prop=False)
    assert ec.gradients(y2, [w]) == [None]
    n = while_loop(lambda i: i < 3, lambda i: i + 1, [ec.constant(0)])
    (g,) = ec.gradients(w * ec.cast(n, ec.float32), [w])   # an int loop: no gradient path
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        assert sess.run(g) == 3.0
        first = sess.run(loss)
        for _ in range(50):
            sess.run(train)
        assert sess.run(loss) < first * 1e-3
        assert sess.run(w) ** 3 * 2.0 == pytest.approx(1.0, rel=1e-2)


def test_an_invariant_more_specific_than_an_unknown_entry_shape():
    """TF's rule: the invariant must be compatible with the entry shape (not less
    specific); the value entering the loop is checked against it when it runs."""
    x = ec.placeholder(ec.float32, None)            # unknown rank
    _, y = while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * 2.0),
                      [ec.constant(0), x], shape_invariants=[ec.TensorShape([]),
                                                            ec.TensorShape([None, 2])])
    assert y.shape.as_list() == [None, 2]
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: np.ones((3, 2), np.float32)}),
                                   np.full((3, 2), 4.0))
        with pytest.raises(ec.errors.InvalidArgumentError, match="enters the loop with shape"):
            sess.run(y, {x: np.ones((3, 5), np.float32)})


def test_gradient_uses_the_forward_random_draws():
    """A body with dropout: the gradient is the gradient of the values the forward pass
    computed (the masks are kept, not drawn again)."""
    w = ec.Variable(1.5, dtype=ec.float64)
    x = ec.placeholder(ec.float64, [200])
    _, a = while_loop(lambda i, a: i < 2,
                      lambda i, a: (i + 1, ec.nn.dropout(a * w, rate=0.5)),
                      [ec.constant(0), x])
    (g,) = ec.gradients(ec.reduce_sum(a), [w])
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        for _ in range(3):
            av, gv = sess.run([a, g], {x: np.ones(200)})
            # a = 4 * m1 * m2 * x * w**2 elementwise: d sum(a) / dw = sum(2 * a / w)
            assert 0 < np.count_nonzero(av) < 200
            assert gv == pytest.approx((2.0 * av / 1.5).sum())
