"""Row-sparse optimizer updates (IndexedSlices gradients) against their dense equivalents."""

import numpy as np
import pytest

import estcore as ec
from estcore import errors
from estcore._lib import _kernels
from estcore.graph.ops import sparse_ops
from estcore.graph.sparse_tensor import IndexedSlices, SparseTensor

RNG = np.random.default_rng(3)
OPTIMIZERS = {
    "sgd": lambda: ec.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: ec.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda: ec.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adagrad": lambda: ec.train.AdagradOptimizer(0.1),
    "ftrl": lambda: ec.train.FtrlOptimizer(0.1, l1_regularization_strength=0.01,
                                           l2_regularization_strength=0.1),
    "ftrl_power": lambda: ec.train.FtrlOptimizer(0.2, learning_rate_power=-0.7,
                                                 l2_shrinkage_regularization_strength=0.05),
    "adam": lambda: ec.train.AdamOptimizer(0.1),
    "rmsprop": lambda: ec.train.RMSPropOptimizer(0.05, momentum=0.5),
    "rmsprop_centered": lambda: ec.train.RMSPropOptimizer(0.05, momentum=0.3, centered=True),
}
# rows [1, 4], [4, 4, 2]: row 4 appears three times (duplicates are summed first)
IDS = ([[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]], np.array([1, 4, 4, 4, 2], np.int64), [2, 3])
COUNTS = np.array([[0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 2, 0]], np.float32)
TOUCHED = [1, 2, 4]


def _train(make_opt, w0, sparse, steps=4):
    with ec.Graph().as_default():
        w = ec.get_variable("W", initializer=w0)
        if sparse:
            out = sparse_ops.embedding_lookup_sparse(w, SparseTensor(*IDS), None,
                                                     combiner="sum")
        else:
            out = ec.matmul(ec.constant(COUNTS), w)
        loss = ec.reduce_sum(ec.square(out - 1.0))
        opt = make_opt()
        grads = opt.compute_gradients(loss)
        assert isinstance(grads[0][0], IndexedSlices) == sparse
        train = opt.apply_gradients(grads)
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            for _ in range(steps):
                s.run(train)
            return s.run(w)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_update_equals_dense_on_touched_rows(name):
    w0 = RNG.normal(size=(6, 3)).astype(np.float32)
    sparse = _train(OPTIMIZERS[name], w0, True)
    dense = _train(OPTIMIZERS[name], w0, False)
    np.testing.assert_allclose(sparse[TOUCHED], dense[TOUCHED], rtol=2e-5, atol=2e-6)
    untouched = [0, 3, 5]
    np.testing.assert_array_equal(sparse[untouched], w0[untouched])


def test_adam_is_lazy_rows_untouched_this_step_keep_their_slots():
    """A row touched at step 1 but not at step 2 keeps its m, v and value at step 2
    (TF1's dense AdamOptimizer would decay m and move it)."""
    with ec.Graph().as_default():
        w = ec.get_variable("W", initializer=np.ones((4, 2), np.float32))
        ids = sparse_ops.sparse_placeholder(ec.int64, name="ids")
        loss = ec.reduce_sum(sparse_ops.embedding_lookup_sparse(w, ids, None, combiner="sum"))
        opt = ec.train.AdamOptimizer(0.1)
        train = opt.minimize(loss)
        m = opt.get_slot(w, "m")
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            s.run(train, {ids: ([[0, 0]], [1], [1, 1])})
            w1, m1 = s.run([w, m])
            s.run(train, {ids: ([[0, 0]], [2], [1, 1])})
            w2, m2 = s.run([w, m])
    np.testing.assert_array_equal(w2[1], w1[1])
    np.testing.assert_array_equal(m2[1], m1[1])
    assert not np.array_equal(w2[2], w1[2]) and m2[2][0] != 0


def test_kernel_sums_duplicates_and_skips_padding():
    var = np.zeros((5, 2), np.float64)
    grad = np.array([[1.0, 2.0], [3.0, 4.0], [9.0, 9.0], [1.0, 1.0]])
    _kernels.sparse_apply("sgd", var, None, None, grad, np.array([3, 3, -1, 0], np.int64),
                          (0.5,))
    np.testing.assert_allclose(var, [[-0.5, -0.5], [0, 0], [0, 0], [-2.0, -3.0], [0, 0]])


def test_kernel_rejects_out_of_range_index_and_writes_nothing():
    var = np.ones((3, 2), np.float32)
    with pytest.raises(errors.InvalidArgumentError, match="index 3 is out of range"):
        _kernels.sparse_apply("sgd", var, None, None, np.ones((2, 2), np.float32),
                              np.array([0, 3], np.int64), (1.0,))
    np.testing.assert_array_equal(var, 1)
    with pytest.raises(errors.InvalidArgumentError, match="kind"):
        _kernels.sparse_apply("adadelta", var, None, None, np.ones((1, 2), np.float32),
                              np.array([0], np.int64), (1.0,))
    with pytest.raises(TypeError, match="s1"):
        _kernels.sparse_apply("adagrad", var, None, None, np.ones((1, 2), np.float32),
                              np.array([0], np.int64), (1.0,))


def test_out_of_range_id_in_a_lookup_names_the_op():
    with ec.Graph().as_default():
        w = ec.get_variable("W", initializer=np.ones((3, 2), np.float32))
        ids = sparse_ops.sparse_placeholder(ec.int64, name="ids")
        loss = ec.reduce_sum(sparse_ops.embedding_lookup_sparse(w, ids, None))
        train = ec.train.AdagradOptimizer(0.1).minimize(loss)
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            with pytest.raises(errors.InvalidArgumentError, match=r"id 7 is out of range"):
                s.run(train, {ids: ([[0, 0]], [7], [1, 1])})


def test_optimizer_without_sparse_rule_densifies():
    w0 = RNG.normal(size=(6, 3)).astype(np.float32)
    make = lambda: ec.train.AdadeltaOptimizer(0.5)  # noqa: E731
    np.testing.assert_allclose(_train(make, w0, True), _train(make, w0, False), rtol=1e-5,
                               atol=1e-6)


def test_two_lookups_of_one_variable_concatenate_their_rows():
    with ec.Graph().as_default():
        w = ec.get_variable("W", initializer=np.zeros((5, 1), np.float32))
        a = sparse_ops.embedding_lookup_sparse(w, SparseTensor([[0, 0]], np.array([1]), [1, 1]),
                                               None)
        b = sparse_ops.embedding_lookup_sparse(w, SparseTensor([[0, 0]], np.array([3]), [1, 1]),
                                               None)
        (g,) = ec.gradients(ec.reduce_sum(a + 2.0 * b), [w])
        assert isinstance(g, IndexedSlices)
        train = ec.train.GradientDescentOptimizer(1.0).apply_gradients([(g, w)])
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            s.run(train)
            np.testing.assert_allclose(s.run(w).ravel(), [0, -1, 0, -2, 0])
