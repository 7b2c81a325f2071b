"""Data-dependent shapes: where(condition), boolean_mask, py_func, and the segmented plan
(graph/segments.py) that runs the nodes downstream of them."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph import segments
from estcore.graph.executor import Plan
from estcore.graph.ops.dynamic_ops import boolean_mask, unique
from estcore.graph.ops.index_ops import reverse
from estcore.graph.ops.script_ops import py_func, py_function
from estcore.graph.segments import SegmentedPlan

pytestmark = pytest.mark.smoke
RNG = np.random.default_rng(7)


def _plan(sess):
    (plans,) = [p for ps in sess._plan_sets.values() for p in ps.values()][-1:]
    return plans


def test_where_one_argument_gives_coordinates_like_numpy():
    c = ec.placeholder(ec.bool, [None, 3])
    w = ec.where(c)
    assert w.shape.as_list() == [None, 2] and w.dtype == ec.int64
    with ec.Session() as sess:
        for cv in (RNG.random((4, 3)) > 0.5, np.zeros((2, 3), bool), np.ones((1, 3), bool)):
            np.testing.assert_array_equal(sess.run(w, {c: cv}), np.argwhere(cv))


def test_where_with_only_x_is_refused():
    with pytest.raises(ValueError, match="both be given, or neither"):
        ec.where(ec.constant([True]), ec.constant([1.0]))


@pytest.mark.parametrize("axis", [None, 1])
def test_boolean_mask_matches_numpy_and_its_gradient_scatters_back(axis):
    x = ec.placeholder(ec.float64, [None, 4, 2])
    m = ec.placeholder(ec.bool, [None] if axis is None else [4])
    y = boolean_mask(x, m, axis=axis)
    w = ec.placeholder(ec.float64, None)
    loss = ec.reduce_sum(y * w)
    (g,) = ec.gradients(loss, [x])
    xv = RNG.normal(size=(5, 4, 2))
    with ec.Session() as sess:
        for mv in ([True, False, True, True, False] if axis is None else [False, True, True,
                                                                          False],
                   [False] * (5 if axis is None else 4)):
            mv = np.array(mv)
            ref = xv[mv] if axis is None else xv[:, mv]
            wv = RNG.normal(size=ref.shape)
            yv, gv = sess.run([y, g], {x: xv, m: mv, w: wv})
            np.testing.assert_allclose(yv, ref)
            expect = np.zeros_like(xv)
            if axis is None:
                expect[mv] = wv
            else:
                expect[:, mv] = wv
            np.testing.assert_allclose(gv, expect)


def test_boolean_mask_of_constants_is_folded_into_a_static_plan():
    y = boolean_mask(ec.constant([[1, 2], [3, 4], [5, 6]]), ec.constant([True, False, True]))
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(y * 2), [[2, 4], [10, 12]])
        assert isinstance(_plan(sess), Plan)


def test_boolean_mask_argument_errors():
    x = ec.placeholder(ec.float32, [3, 4])
    with pytest.raises(ValueError, match="cannot be a scalar"):
        boolean_mask(x, True)
    with pytest.raises(ValueError, match="known rank"):
        boolean_mask(x, ec.placeholder(ec.bool, None))
    with pytest.raises(ValueError, match="incompatible"):
        boolean_mask(x, ec.placeholder(ec.bool, [5]))


def test_static_graphs_keep_the_plain_plan():
    x = ec.placeholder(ec.float32, [None, 3])
    y = ec.reduce_sum(x * 2.0)
    with ec.Session() as sess:
        sess.run(y, {x: np.ones((2, 3), np.float32)})
        assert isinstance(_plan(sess), Plan)


def test_tail_is_compiled_once_per_boundary_shape_and_reused():
    x = ec.placeholder(ec.float32, [None])
    y = ec.reduce_sum(boolean_mask(x, x > 0.0) * 3.0)
    with ec.Session() as sess:
        for xv, want in (([1, -1, 2], 9), ([3, -1, -2], 9), ([1, 1, 1], 9), ([-1, 5, -1], 15)):
            assert sess.run(y, {x: np.array(xv, np.float32)}) == pytest.approx(want)
        plan = _plan(sess)
        assert isinstance(plan, SegmentedPlan)
        assert sorted(k[0][0] for k in plan.tails) == [1, 2, 3]   # (n_true, 1) coordinates
        assert sess.compile_count == 1


def test_variable_updates_downstream_of_a_dynamic_shape_reach_the_variable():
    x = ec.placeholder(ec.float32, [None])
    v = ec.Variable(0.0)
    upd = ec.assign_add(v, ec.reduce_sum(boolean_mask(x, x > 0.0)))
    with ec.Session() as sess:
        sess.run(v.initializer)
        sess.run(upd, {x: np.array([1.0, -2.0, 3.0], np.float32)})
        sess.run(upd, {x: np.array([5.0], np.float32)})
        assert sess.run(v) == pytest.approx(9.0)


def test_control_dependency_on_an_op_that_already_ran_does_not_run_it_again():
    x = ec.placeholder(ec.float32, [None])
    v = ec.Variable(0.0)
    bump = ec.assign_add(v, 1.0)
    with ec.control_dependencies([bump]):
        y = ec.reduce_sum(boolean_mask(x, x > 0.0)) + 0.0
    with ec.control_dependencies([y]):
        z = ec.identity(boolean_mask(x, x > 1.0))
    with ec.Session() as sess:
        sess.run(v.initializer)
        yv, zv = sess.run([y, z], {x: np.array([1.0, 2.0, 3.0], np.float32)})
        assert yv == pytest.approx(6.0)
        np.testing.assert_array_equal(zv, [2.0, 3.0])
        assert sess.run(v) == pytest.approx(1.0)


def test_uninitialized_variable_in_the_tail_is_reported():
    x = ec.placeholder(ec.float32, [None])
    v = ec.Variable(2.0)
    y = ec.reduce_sum(boolean_mask(x, x > 0.0)) * v
    with ec.Session() as sess, pytest.raises(ec.errors.FailedPreconditionError,
                                             match="uninitialized"):
        sess.run(y, {x: np.array([1.0], np.float32)})


def test_py_func_values_dtypes_and_downstream_ops():
    x = ec.placeholder(ec.float32, [None])
    calls = []

    def f(a):
        calls.append(a.copy())
        return a[a > 0] * 2

    y = py_func(f, [x], ec.float32)
    assert y.shape.rank is None
    z = ec.reduce_sum(y) + 1.0
    pair = py_func(lambda a: [a + 1, np.int64(a.size)], [x], [ec.float32, ec.int64])
    with ec.Session() as sess:
        assert sess.run(z, {x: np.array([1.0, -1.0, 3.0], np.float32)}) == pytest.approx(9.0)
        a, n = sess.run(pair, {x: np.array([1.0, 2.0], np.float32)})
        np.testing.assert_allclose(a, [2.0, 3.0])
        assert n == 2
    assert len(calls) == 1


def test_py_func_wrong_dtype_and_exceptions_map_to_tf_errors():
    x = ec.placeholder(ec.float32, [2])

    def bad(a):
        raise ValueError("boom")

    def stop(a):
        raise StopIteration

    def other(a):
        raise KeyError("k")

    with ec.Session() as sess:
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match="0-th value returned by the function is double, but expects "
                                 "float"):
            sess.run(py_func(lambda a: a.astype(np.float64), [x], ec.float32), {x: [1, 2]})
        with pytest.raises(ec.errors.InvalidArgumentError, match="ValueError: boom"):
            sess.run(py_func(bad, [x], ec.float32), {x: [1, 2]})
        with pytest.raises(ec.errors.OutOfRangeError):
            sess.run(py_func(stop, [x], ec.float32), {x: [1, 2]})
        with pytest.raises(KeyError):
            sess.run(py_func(other, [x], ec.float32), {x: [1, 2]})
        with pytest.raises(ec.errors.InvalidArgumentError, match="returned 1 values, Tout "
                                                                 "lists 2"):
            sess.run(py_func(lambda a: [a], [x], [ec.float32, ec.float32]), {x: [1, 2]})


def test_py_func_has_no_gradient_as_in_tf1():
    x = ec.placeholder(ec.float32, [2])
    y = py_func(lambda a: a * 2, [x], ec.float32)
    with pytest.raises(LookupError, match="PyFunc"):
        ec.gradients(ec.reduce_sum(y), [x])


def test_py_function_receives_values_with_numpy_method_and_set_shape():
    x = ec.placeholder(ec.float32, [3])
    y = py_function(lambda a: a.numpy() + 1.0, [x], ec.float32)
    y.set_shape([3])
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(y * 2.0, {x: [1, 2, 3]}), [4, 6, 8])


def test_stateful_py_func_without_outputs_runs_as_a_target():
    seen = []
    op = py_func(lambda: seen.append(1) or [], [], [])
    with ec.Session() as sess:
        sess.run(op)
        sess.run(op)
    assert seen == [1, 1]
    with pytest.raises(TypeError, match="must be callable"):
        py_func(3, [], ec.float32)


def test_unique_and_reverse():
    x = ec.placeholder(ec.int64, [None])
    y, idx = unique(x, out_idx=ec.int64)
    r = reverse(ec.placeholder_with_default(np.arange(6.0).reshape(2, 3), [2, 3]), [-1])
    with ec.Session() as sess:
        for xv in ([4, 1, 4, 2, 1, 9], [5], []):
            yv, iv = sess.run([y, idx], {x: np.array(xv, np.int64)})
            first = list(dict.fromkeys(xv))
            np.testing.assert_array_equal(yv, first)
            np.testing.assert_array_equal(iv, [first.index(v) for v in xv])
            assert iv.dtype == np.int64
        np.testing.assert_array_equal(sess.run(r), np.arange(6.0).reshape(2, 3)[:, ::-1])
    with pytest.raises(TypeError, match="out_idx"):
        unique(x, out_idx=ec.float32)
    with pytest.raises(ValueError, match="out of range"):
        reverse(np.zeros((2, 2)), [2])


def test_the_tail_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(segments, "MAX_TAILS", 2)
    x = ec.placeholder(ec.float32, [None])
    y = ec.reduce_sum(boolean_mask(x, x > 0.0) * 2.0)
    with ec.Session() as sess:
        for n in (1, 2, 3, 4, 1):
            xv = np.array([1.0] * n + [-1.0] * (4 - n), np.float32)
            assert sess.run(y, {x: xv}) == pytest.approx(2.0 * n)
        assert sorted(k[0][0] for k in _plan(sess).tails) == [1, 4]


def test_a_second_generation_dynamic_node_does_not_rerun_its_control_inputs():
    x = ec.placeholder(ec.float32, [None])
    v = ec.Variable(0.0)
    bump = ec.assign_add(v, 1.0)
    first = boolean_mask(x, x > 0.0)
    with ec.control_dependencies([bump]):
        second = boolean_mask(first, first > 1.0)   # planned in the first one's tail
    with ec.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(second, {x: [1.0, 2.0, -1.0, 3.0]}), [2, 3])
        assert sess.run(v) == pytest.approx(1.0)


# ---------------------------------------------------------------- shapes given by run-time values
@pytest.mark.parametrize("c_kernels", [True, False], ids=["c", "numpy"])
def test_shapes_that_are_values_known_only_at_run_time(c_kernels):
    n = ec.placeholder(ec.int32, [])
    x = ec.placeholder(ec.float32, [None, 4])
    outs = {
        "range": ec.range(n),
        "zeros": ec.zeros([n, 3]),
        "fill": ec.fill(ec.stack([n, 2]), 1.5),
        "reshape": ec.reshape(x, [n * 3, -1]),
        "reshape_rows": ec.reshape(x, [n, 6]),
        "tile": ec.tile(x, [n, 1]),
        "normal": ec.random_normal([n, 2]),
        "uniform_int": ec.random_uniform(ec.stack([n]), maxval=5, dtype=ec.int32),
    }
    assert outs["zeros"].shape.as_list() == [None, 3]
    assert outs["reshape_rows"].shape.as_list() == [None, 6]
    with ec.Session(config={"use_c_kernels": c_kernels}) as sess:
        for nv in (2, 4):                     # a second run has other shapes
            xv = np.arange(12 * nv // 2, dtype=np.float32).reshape(-1, 4)
            got = sess.run(outs, {n: nv, x: xv})
            np.testing.assert_array_equal(got["range"], np.arange(nv))
            np.testing.assert_array_equal(got["zeros"], np.zeros((nv, 3)))
            np.testing.assert_array_equal(got["fill"], np.full((nv, 2), 1.5))
            np.testing.assert_array_equal(got["reshape"], xv.reshape(nv * 3, -1))
            np.testing.assert_array_equal(got["reshape_rows"], xv.reshape(nv, 6))
            np.testing.assert_array_equal(got["tile"], np.tile(xv, (nv, 1)))
            assert got["normal"].shape == (nv, 2) and got["normal"].dtype == np.float32
            assert got["uniform_int"].shape == (nv,) and got["uniform_int"].max() < 5


def test_gradients_through_shapes_known_only_at_run_time():
    n = ec.placeholder(ec.int32, [])
    x = ec.placeholder(ec.float64, [None, 4])
    (gr,) = ec.gradients(ec.reduce_sum(ec.reshape(x, [n, -1]) * 2.0), [x])
    (gt,) = ec.gradients(ec.reduce_sum(ec.tile(x, [n, 1]) * 2.0), [x])
    xv = RNG.normal(size=(3, 4))
    with ec.Session() as sess:
        a, b = sess.run([gr, gt], {n: 2, x: xv[:2]})
        np.testing.assert_array_equal(a, np.full((2, 4), 2.0))
        np.testing.assert_array_equal(b, np.full((2, 4), 4.0))
        np.testing.assert_array_equal(sess.run(gt, {n: 3, x: xv}), np.full((3, 4), 6.0))


def test_bad_shape_values_are_errors_of_the_run_naming_the_op():
    n = ec.placeholder(ec.int32, [])
    x = ec.placeholder(ec.float32, [None, 4])
    r, z, d = ec.reshape(x, [n, 5]), ec.zeros([n, 3]), ec.range(0, 5, n)
    with ec.Session() as sess:
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match=r"Reshape 'Reshape': cannot reshape a tensor of shape \(3, 4\) "
                                 r"\(12 elements\) to shape \(2, 5\)"):
            sess.run(r, {n: 2, x: np.ones((3, 4))})
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match=r"Fill 'zeros': `dims` must be non-negative. Received: "
                                 r"dims=\[-1, 3\]"):
            sess.run(z, {n: -1})
        with pytest.raises(ec.errors.InvalidArgumentError, match="Range 'range': `delta` must "
                                                                 "not be 0"):
            sess.run(d, {n: 0})


def test_a_shape_the_head_folded_stays_a_constant_after_a_data_dependent_node():
    x = ec.placeholder(ec.float32, [None, 4])
    m = ec.placeholder(ec.bool, [None])
    y = boolean_mask(x, m)
    # the batch size is known once the feed shapes are: folded before the mask runs
    z = ec.reshape(y, ec.stack([ec.shape(x)[0] * 0 - 1, 2]))
    xv = np.arange(12, dtype=np.float32).reshape(3, 4)
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(z, {x: xv, m: [True, False, True]}),
                                      xv[[0, 2]].reshape(-1, 2))
        plan = _plan(sess)
    assert isinstance(plan, SegmentedPlan)
    assert [op.type for op in plan.frontier] == ["Where"]
    assert all(isinstance(t, Plan) for t in plan.tails.values())   # one generation


def test_a_reshape_by_a_size_computed_from_values():
    lab = ec.placeholder(ec.int64, [None])
    k = ec.reduce_max(lab) + 1                    # known only from the values
    out = ec.reshape(ec.range(k * k), ec.stack([k, k]))
    assert out.shape.as_list() == [None, None]
    with ec.Session() as sess:
        for v in ([0, 3, 3], [1]):
            kv = max(v) + 1
            np.testing.assert_array_equal(sess.run(out, {lab: v}),
                                          np.arange(kv * kv).reshape(kv, kv))
