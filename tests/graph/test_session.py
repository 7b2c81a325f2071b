"""Session.run: fetch structures, feeds, plan caching, buffers, variables in place."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import estcore as ec
from estcore import errors

Pair = collections.namedtuple("Pair", ["a", "b"])


@pytest.fixture(params=[True, False], ids=["c", "numpy"])
def use_c(request):
    return request.param


def _session(use_c=True):
    return ec.Session(config={"use_c_kernels": use_c})


@pytest.mark.smoke
def test_fetch_structures_are_preserved():
    a = ec.constant(1.0)
    b = ec.constant([1, 2], dtype=ec.int32)
    op = ec.no_op()
    v = ec.Variable(3.0, name="v")
    with ec.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(a) == np.float32(1.0)
        assert isinstance(sess.run(a), np.float32)
        assert sess.run(op) is None
        assert sess.run(v) == 3.0
        out = sess.run([a, (b, op), {"x": a, "y": [b]}, Pair(a, b)])
        assert isinstance(out, list) and isinstance(out[1], tuple)
        assert out[1][1] is None
        np.testing.assert_array_equal(out[1][0], [1, 2])
        assert set(out[2]) == {"x", "y"} and isinstance(out[2]["y"], list)
        assert isinstance(out[3], Pair) and out[3].a == 1.0
        od = sess.run(collections.OrderedDict([("k", b), ("j", a)]))
        assert isinstance(od, collections.OrderedDict) and list(od) == ["k", "j"]
        assert sess.run((a,)) == (1.0,)
        assert sess.run("Const:0") == 1.0


def test_feed_errors_name_the_placeholder_and_shapes():
    x = ec.placeholder(ec.float32, [None, 3], name="x")
    y = ec.placeholder(ec.int32, [None], name="labels")
    s = ec.reduce_sum(x) + ec.cast(ec.reduce_sum(y), ec.float32)
    with ec.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"placeholder tensor 'labels'"):
            sess.run(s, {x: np.zeros((2, 3), np.float32)})
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"shape \(2, 4\) for tensor 'x:0', which has shape \(None, 3\)"):
            sess.run(s, {x: np.zeros((2, 4), np.float32), y: [1, 2]})
        with pytest.raises(errors.InvalidArgumentError, match="float64.*'labels'.*int32"):
            sess.run(s, {x: np.zeros((2, 3)), y: np.array([1.5, 2.0])})
        with pytest.raises(errors.InvalidArgumentError, match="int64.*'labels'"):
            sess.run(s, {x: np.zeros((1, 3)), y: np.array([2**40])})
        other = ec.Graph()
        with other.as_default():
            z = ec.placeholder(ec.float32, [1])
        with pytest.raises(errors.InvalidArgumentError, match="not an element"):
            sess.run(s, {z: [1.0]})
        with pytest.raises(TypeError, match="feed_dict keys"):
            sess.run(s, {3: 1.0})
        # lossless conversions are accepted: float64 -> float32, Python lists, int64 -> int32
        out = sess.run(s, {x: np.ones((2, 3)), y: np.array([1, 2], np.int64)})
        assert out == np.float32(9.0)


def test_plan_is_compiled_once_per_signature_and_buffers_are_reused(use_c):
    x = ec.placeholder(ec.float32, [None, 3])
    w = ec.Variable(np.ones((3, 2), np.float32))
    y = ec.nn.relu(ec.matmul(x, w) + 1.0)
    with _session(use_c) as sess:
        sess.run(w.initializer)
        xv = np.arange(12, dtype=np.float32).reshape(4, 3)
        r1 = sess.run(y, {x: xv})
        n = sess.compile_count
        fam = [f for f in sess._families.values() if f.fetch_tensors == [y]][0]
        plan = fam.plans[((4, 3),)]
        bufs = {k: (v.__array_interface__["data"][0]) for k, v in plan.buffers.items()}
        steps = list(plan.steps)
        r2 = sess.run(y, {x: xv})
        assert sess.compile_count == n  # cached
        assert {k: v.__array_interface__["data"][0] for k, v in plan.buffers.items()} == bufs
        assert plan.steps == steps
        np.testing.assert_array_equal(r1, r2)
        sess.run(y, {x: xv[:2]})  # a new batch size compiles a new plan
        assert sess.compile_count == n + 1


def test_fetch_lists_with_the_same_distinct_elements_share_one_plan(use_c):
    # A hooked step fetches [train_op, loss] plus each hook's requests (the loss
    # again, the step again ...): those lists differ, the work does not.
    x = ec.placeholder(ec.float32, [None, 2])
    y = ec.reduce_sum(x * 3.0)
    z = x + 1.0
    op = ec.no_op()
    with _session(use_c) as sess:
        xv = np.array([[1.0, 2.0]], np.float32)
        sess.run([y, z], {x: xv})
        n = sess.compile_count
        out = sess.run((z, y, y, [z]), {x: xv})
        assert sess.compile_count == n
        assert out[0].tolist() == [[2.0, 3.0]] and out[1] == out[2] == np.float32(9.0)
        assert out[3][0].tolist() == [[2.0, 3.0]]
        sess.run({"a": y, "b": z, "c": y}, {x: xv})
        assert sess.compile_count == n
        sess.run([y], {x: xv})  # a different set of fetches: a plan of its own
        assert sess.compile_count == n + 1
        out = sess.run([op, y, z, op], {x: xv})  # an op target: another plan
        assert sess.compile_count == n + 2
        assert out[0] is None and out[3] is None and out[1] == np.float32(9.0)
        sess.run((z, op, y), {x: xv})
        assert sess.compile_count == n + 2


def test_returned_values_are_copies():
    x = ec.placeholder(ec.float32, [2])
    y = x * 2.0
    v = ec.Variable(np.zeros(2, np.float32))
    inc = ec.assign_add(v, [1.0, 1.0])
    with ec.Session() as sess:
        sess.run(v.initializer)
        a = sess.run(y, {x: [1.0, 2.0]})
        sess.run(y, {x: [5.0, 6.0]})
        np.testing.assert_array_equal(a, [2.0, 4.0])
        before = sess.run(v)
        sess.run(inc)
        np.testing.assert_array_equal(before, [0.0, 0.0])
        np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


def test_variables_update_in_place(use_c):
    v = ec.Variable(np.ones(3, np.float32), name="v")
    g = ec.constant([1.0, 2.0, 3.0])
    step = ec.graph.ops.state_ops.apply_gradient_descent(v, 0.5, g)
    with _session(use_c) as sess:
        sess.run(v.initializer)
        storage = sess._values[v.op]
        sess.run(step)
        assert sess._values[v.op] is storage
        np.testing.assert_allclose(storage, [0.5, 0.0, -0.5])
        sess.set_variable_values({"v": np.array([7.0, 7.0, 7.0])})
        assert sess._values[v.op] is storage
        np.testing.assert_allclose(sess.run(v), 7.0)


def test_updates_see_values_from_before_the_step(use_c):
    # gradients of layer 1 use w2 (dx = dz @ w2.T); w2's update must run after that read
    x = ec.placeholder(ec.float64, [2, 2])
    w1 = ec.Variable(np.eye(2) * 0.5)
    w2 = ec.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    loss = ec.reduce_sum(ec.matmul(ec.matmul(x, w1), w2))
    g1, g2 = ec.gradients(loss, [w1, w2])
    ops = ec.graph.ops.state_ops
    train = ec.group(ops.apply_gradient_descent(w2, 1.0, g2),
                     ops.apply_gradient_descent(w1, 1.0, g1))
    xv = np.array([[1.0, 2.0], [3.0, 4.0]])
    with _session(use_c) as sess:
        sess.run(ec.global_variables_initializer())
        w1v, w2v = sess.run([w1, w2])
        sess.run(train, {x: xv})
        ones = np.ones((2, 2))
        exp_g1 = xv.T @ ones @ w2v.T
        np.testing.assert_allclose(sess.run(w1), w1v - exp_g1)


def test_uninitialized_variable_and_get_set_values():
    v = ec.get_variable("w", [2, 2])
    u = ec.get_variable("u", [3], initializer=ec.ones_initializer())
    with ec.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value w"):
            sess.run(v)
        assert sorted(sess.uninitialized_variables()) == ["u", "w"]
        sess.run(ec.global_variables_initializer())
        vals = sess.get_variable_values()
        assert set(vals) == {"w", "u"} and vals["u"].tolist() == [1.0, 1.0, 1.0]
        vals["u"][0] = 9.0
        assert sess.run(u)[0] == 1.0  # a copy
        with pytest.raises(errors.NotFoundError, match="'nope'"):
            sess.set_variable_values({"nope": 1.0})
        with pytest.raises(errors.InvalidArgumentError, match=r"'u' has shape \(3,\).*\(2,\)"):
            sess.set_variable_values({"u": np.zeros(2)})
        with pytest.raises(errors.InvalidArgumentError, match="dtype"):
            sess.set_variable_values({"u": np.array(["a", "b", "c"])})
        sess.set_variable_values({"u:0": np.arange(3.0)})
        np.testing.assert_array_equal(sess.run(u), [0.0, 1.0, 2.0])
        assert list(sess.get_variable_values([u])) == ["u"]
        views = sess.get_variable_values([u], copy=False)  # the storage itself, read-only
        with pytest.raises(ValueError, match="read-only"):
            views["u"][0] = 5.0
        sess.run(ec.assign(u, [7.0, 8.0, 9.0]))
        np.testing.assert_array_equal(views["u"], [7.0, 8.0, 9.0])


def test_control_dependencies_order_and_group():
    v = ec.Variable(0.0, name="counter")
    inc = ec.assign_add(v, 1.0)
    with ec.control_dependencies([inc]):
        read = ec.identity(ec.constant(5.0))
    both = ec.group(inc, ec.assign_add(v, 10.0))
    with ec.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(read) == 5.0
        assert sess.run(v) == 1.0
        sess.run(both)
        assert sess.run(v) == 12.0
    assert inc.op in read.op.control_inputs or any(
        c is inc.op for c in read.op.control_inputs)


def test_closed_session_and_default_session():
    c = ec.constant(2.0)
    sess = ec.Session()
    with sess.as_default():
        assert c.eval() == 2.0
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)


def test_fed_intermediate_tensor_cuts_the_graph():
    x = ec.placeholder(ec.float32, [2])
    h = x * 3.0
    y = h + 1.0
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {h: [1.0, 2.0]}), [2.0, 3.0])


def test_dropout_in_plan_and_random_state_per_session():
    x = ec.ones([1000])
    y = ec.nn.dropout(x, rate=0.5, seed=7)
    with ec.Session() as s1, ec.Session() as s2:
        a1, a2 = s1.run(y), s1.run(y)
        b1 = s2.run(y)
    np.testing.assert_array_equal(a1, b1)  # same seed -> same first mask
    assert not np.array_equal(a1, a2)      # masks advance every run
    assert set(np.unique(a1)) <= {0.0, 2.0} and 350 < (a1 > 0).sum() < 650


def test_steady_state_runs_allocate_only_the_returned_copies():
    import tracemalloc

    from estcore.graph.ops import fused
    x = ec.placeholder(ec.float32, [None, 16])
    w = ec.Variable(np.full((16, 64), 0.01, np.float32))
    b = ec.Variable(np.zeros(64, np.float32))
    h = fused.dense(x, w, b, "relu")
    loss = ec.reduce_mean(ec.square(h))
    gw, gb = ec.gradients(loss, [w, b])
    ops = ec.graph.ops.state_ops
    train = ec.group(ops.apply_gradient_descent(w, 0.1, gw),
                     ops.apply_gradient_descent(b, 0.1, gb))
    feed = {x: np.ones((256, 16), np.float32)}
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        for _ in range(5):
            sess.run([loss, train], feed)
        plan = [p for f in sess._families.values() for p in f.plans.values()][-1]
        assert plan.programs == 1 and len(plan.steps) == 1
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for _ in range(50):
                sess.run([loss, train], feed)
            cur, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # the (256, 64) activations and gradients would be 64 KiB each: nothing of that size
    # is allocated per step, only a scalar copy of the loss and small Python objects
    assert peak - base < 8 * 1024
    assert cur - base < 8 * 1024


def test_concurrent_runs_from_threads_are_serialized():
    import threading

    x = ec.placeholder(ec.float64, [64])
    y = ec.exp(ec.negative(x)) * 2.0
    errors_seen = []
    with ec.Session() as sess:
        def worker(seed):
            rs = np.random.RandomState(seed)
            for _ in range(200):
                v = rs.rand(64)
                if not np.allclose(sess.run(y, {x: v}), np.exp(-v) * 2.0):
                    errors_seen.append(seed)
        threads = [threading.Thread(target=worker, args=(s,)) for s in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors_seen


def test_threads_compiling_at_once_share_one_variable_storage(monkeypatch):
    import threading
    import time

    import estcore.graph.session as session_mod

    real_np = session_mod.np

    class SlowZeros:
        """numpy with a zeros() slow enough for the other thread to get in between."""

        def __getattr__(self, name):
            return getattr(real_np, name)

        @staticmethod
        def zeros(*args, **kwargs):
            time.sleep(0.05)
            return real_np.zeros(*args, **kwargs)

    v = ec.get_variable("v", shape=[3], initializer=ec.zeros_initializer())
    with ec.Session() as sess:
        monkeypatch.setattr(session_mod, "np", SlowZeros())
        got = []
        threads = [threading.Thread(target=lambda: got.append(sess._storage(v.op)))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        monkeypatch.setattr(session_mod, "np", real_np)
        assert len(got) == 2 and got[0] is got[1]


def test_single_program_plans_read_feeds_in_place(use_c):
    x = ec.placeholder(ec.float32, [None, 3])
    w = ec.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    y = ec.nn.relu(ec.matmul(x, w) + ec.constant([1.0, 1.0]))  # one fused Dense node
    rows = 8192  # 96 KiB of feed: large enough to be read in place
    with _session(use_c) as sess:
        sess.run(w.initializer)
        xa = np.ones((rows, 3), np.float32)
        xb = np.full((rows, 3), 2.0, np.float32)
        ra = sess.run(y, {x: xa})
        fam = [f for f in sess._families.values() if f.fetch_tensors == [y]][0]
        plan = fam.plans[((rows, 3),)]
        assert (plan.program is not None) == use_c
        rb = sess.run(y, {x: xb})
        np.testing.assert_array_equal(ra, xa @ w.eval(sess) + 1)
        np.testing.assert_array_equal(rb, xb @ w.eval(sess) + 1)
        np.testing.assert_array_equal(xa, 1.0)  # feeds are never written
        sess.run(y, {x: xa[:2]})  # small feeds are copied
        assert fam.plans[((2, 3),)].program is None
        # a fetched feed (or a view of one) keeps the copying path
        both = sess.run([y, ec.reshape(x, [-1])], {x: xb})
        np.testing.assert_array_equal(both[1], 2.0)
        fam2 = [f for f in sess._families.values() if len(f.fetch_tensors) == 2][0]
        assert all(p.program is None for p in fam2.plans.values())


def test_make_callable_runs_like_run_with_positional_feeds(use_c):
    x = ec.placeholder(ec.float32, [None, 2], name="x")
    k = ec.placeholder(ec.int32, [], name="k")
    total = ec.reduce_sum(x) * ec.cast(k, ec.float32)
    with _session(use_c) as sess:
        f = sess.make_callable({"total": total, "pair": (total, x)}, [k, "x"])
        xs = [[1.0, 2.0], [3.0, 4.0]]  # a list: converted, the caller's object untouched
        out = f(2, xs)
        assert xs == [[1.0, 2.0], [3.0, 4.0]]
        assert out["total"] == 20.0 and isinstance(out["pair"], tuple)
        np.testing.assert_array_equal(out["pair"][1], np.array(xs, np.float32))
        expected = sess.run({"total": total, "pair": (total, x)}, {x: xs, k: 2})
        assert out["total"] == expected["total"]
        assert f(3, np.ones((5, 2), np.float32))["total"] == 30.0  # a new shape: a new plan
        with pytest.raises(TypeError, match=r"takes 2 feed value\(s\).*got 1"):
            f(2)
        with pytest.raises(TypeError):
            f(2, xs, options=None)  # only with accept_options=True
        g = sess.make_callable(total, [x, k], accept_options=True)
        assert g(xs, 1, options=None, run_metadata=None) == 10.0
        with pytest.raises(errors.InvalidArgumentError, match="float64.*'k'.*int32"):
            g(xs, 1.5)
        with pytest.raises(errors.InvalidArgumentError, match="fed twice"):
            sess.make_callable(total, [x, x])
        with pytest.raises(TypeError, match="invalid type"):
            sess.make_callable(3, [x])
        with pytest.raises(TypeError, match="single Tensor: wrap it in a list"):
            sess.make_callable(total, x)
        h = sess.make_callable(ec.constant(7.0))  # no feeds
        assert h() == 7.0
    with pytest.raises(RuntimeError, match="closed Session"):
        h()
