"""Segment reductions (sorted and unsorted), bincount, setdiff1d, dynamic_stitch: values
against numpy loops written here, TF's empty-segment values, gradients against finite
differences, errors naming the bad id."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.errors import InvalidArgumentError
from estcore.graph.ops import segment_ops as S

RNG = np.random.default_rng(5)
REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


def _reference(x, ids, n, kind, empty):
    out = np.full((n,) + x.shape[1:], empty, dtype=x.dtype)
    for s in range(n):
        rows = x[ids == s]
        if len(rows):
            out[s] = REDUCE[kind](rows, axis=0)
    return out


@pytest.mark.parametrize("kind", sorted(REDUCE))
def test_sorted_segments_match_a_loop(kind):
    x = RNG.normal(size=(7, 3))
    ids = np.array([0, 0, 1, 3, 3, 3, 5])
    xp, ip = ec.placeholder(ec.float64, [None, 3]), ec.placeholder(ec.int32, [None])
    with ec.Session() as sess:
        got = sess.run(getattr(S, f"segment_{kind}")(xp, ip), {xp: x, ip: ids})
    np.testing.assert_allclose(got, _reference(x, ids, 6, kind, 0.0), rtol=1e-12)


@pytest.mark.parametrize("kind", ["max", "min", "prod"])
def test_unsorted_segments_match_a_loop_and_tf_empty_values(kind):
    x = RNG.integers(-5, 5, size=(6, 2)).astype(np.int32)
    ids = np.array([2, -1, 0, 2, 0, 2])
    empty = {"max": np.iinfo(np.int32).min, "min": np.iinfo(np.int32).max, "prod": 1}[kind]
    fn = getattr(S, f"unsorted_segment_{kind}")
    with ec.Session() as sess:
        got = sess.run(fn(ec.constant(x), ec.constant(ids), 4))
        via_tensor = sess.run(fn(ec.constant(x), ec.constant(ids), ec.constant(4)))
    want = _reference(x, ids, 4, kind, empty)   # id -1 dropped, segments 1 and 3 empty
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(via_tensor, want)


def test_unsorted_segments_of_a_known_count_have_a_static_shape_and_plan():
    x = ec.placeholder(ec.float32, [None, 2])
    ids = ec.placeholder(ec.int32, [None])
    n = ec.placeholder(ec.int32, [])
    y = S.unsorted_segment_max(x, ids, 3)
    assert y.shape.as_list() == [3, 2]                               # as TF
    assert S.unsorted_segment_max(x, ids, n).shape.as_list() == [None, 2]
    with ec.Session() as sess:
        got = sess.run(y, {x: [[1, 2], [3, 4], [5, 0]], ids: [0, 2, 0]})
        (plan,) = [p for ps in sess._plan_sets.values() for p in ps.values()]
        with pytest.raises(InvalidArgumentError, match=r"segment_ids\[0\] = 5 is out of range"):
            sess.run(y, {x: [[1, 2]], ids: [5]})
    np.testing.assert_array_equal(got, [[5, 2], [np.finfo(np.float32).min] * 2, [3, 4]])
    assert type(plan).__name__ == "Plan"                             # not run per shape


GRAD = [("segment", k) for k in REDUCE] + [("unsorted_segment", k)
                                           for k in ("max", "min", "prod")]


@pytest.mark.parametrize("family,kind", GRAD)
def test_gradients_match_finite_differences(family, kind, numeric_gradient):
    x0 = RNG.uniform(0.5, 2.0, size=(6, 2)) * RNG.choice([-1, 1], size=(6, 2))
    ids = np.array([0, 0, 1, 3, 3, 3]) if family == "segment" else np.array([3, -1, 0, 3, 0, 3])
    xp = ec.placeholder(ec.float64, [6, 2])
    fn = getattr(S, f"{family}_{kind}")
    y = fn(xp, ec.constant(ids)) if family == "segment" else fn(xp, ec.constant(ids), 4)
    w = RNG.normal(size=(4, 2))
    if family == "unsorted_segment":
        w[1:3] = 0.0    # empty segments hold the dtype's extremes
    loss = ec.reduce_sum(y * w)
    (g,) = ec.gradients(loss, [xp])
    with ec.Session() as sess:
        analytic = sess.run(g, {xp: x0})
        num = numeric_gradient(lambda v: sess.run(loss, {xp: v}), x0)
    np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-8)


def test_prod_gradient_with_zeros_and_max_ties():
    xp = ec.placeholder(ec.float64, [5])
    ids = ec.constant([0, 0, 1, 1, 1])
    (gp,) = ec.gradients(ec.reduce_sum(S.segment_prod(xp, ids)), [xp])
    (gm,) = ec.gradients(ec.reduce_sum(S.segment_max(xp, ids)), [xp])
    with ec.Session() as sess:
        # segment 0: one zero -> only the zero gets the product of the others;
        # segment 1: two zeros -> no gradient anywhere
        assert sess.run(gp, {xp: [2.0, 0.0, 0.0, 3.0, 0.0]}).tolist() == [0, 2, 0, 0, 0]
        assert sess.run(gm, {xp: [4.0, 4.0, 1.0, 2.0, 0.0]}).tolist() == [0.5, 0.5, 0, 1, 0]


def test_bad_ids_are_errors_naming_the_entry():
    with ec.Session() as sess:
        with pytest.raises(InvalidArgumentError, match=r"not increasing.*segment_ids\[2\] = 0"):
            sess.run(S.segment_sum(ec.constant([1.0, 2.0, 3.0]), ec.constant([0, 1, 0])))
        with pytest.raises(InvalidArgumentError, match=r"segment_ids\[1\] = 4 is out of range"):
            sess.run(S.unsorted_segment_max(ec.constant([1.0, 2.0]), ec.constant([0, 4]), 3))
    with pytest.raises(ValueError, match="same size as dimension 0"):
        S.segment_sum(ec.constant([1.0, 2.0]), ec.constant([0, 0, 1]))
    with pytest.raises(TypeError, match="num_segments"):
        S.unsorted_segment_min(ec.constant([1.0]), ec.constant([0]), 1.5)


def test_bincount_setdiff1d_dynamic_stitch():
    arr = ec.placeholder(ec.int32, [None])
    with ec.Session() as sess:
        assert sess.run(S.bincount(arr), {arr: [1, 1, 3]}).tolist() == [0, 2, 0, 1]
        assert sess.run(S.bincount(arr, minlength=6), {arr: [1, 1, 3]}).tolist() == [
            0, 2, 0, 1, 0, 0]
        assert sess.run(S.bincount(arr, maxlength=2), {arr: [1, 1, 3]}).tolist() == [0, 2]
        assert sess.run(S.bincount(arr, weights=[0.5, 1.0, 2.0]),
                        {arr: [1, 1, 3]}).tolist() == [0, 1.5, 0, 2.0]
        assert sess.run(S.bincount(arr), {arr: np.zeros(0, np.int32)}).tolist() == []
        with pytest.raises(InvalidArgumentError, match="non-negative"):
            sess.run(S.bincount(arr), {arr: [-1]})
        out, idx = sess.run(S.setdiff1d([1, 2, 3, 4, 2, 5], [2, 4], index_dtype=ec.int64))
        assert out.tolist() == [1, 3, 5] and idx.tolist() == [0, 2, 5]
        assert idx.dtype == np.int64
        d0, d1 = ec.placeholder(ec.float64, [2, 2]), ec.placeholder(ec.float64, [2, 2])
        merged = S.dynamic_stitch([[0, 3], [1, 3]], [d0, d1])
        g = ec.gradients(ec.reduce_sum(merged * np.arange(8.0).reshape(4, 2)), [d0, d1])
        m, (g0, g1) = sess.run([merged, g], {d0: [[1, 2], [3, 4]], d1: [[5, 6], [7, 8]]})
        assert m.tolist() == [[1, 2], [5, 6], [0, 0], [7, 8]]   # later entry wins at 3
        assert g0.tolist() == [[0, 1], [6, 7]] and g1.tolist() == [[2, 3], [6, 7]]
