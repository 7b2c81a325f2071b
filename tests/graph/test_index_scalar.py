"""Indexing every axis with an int (``p[0, 1]``) gives a value read at run time.

numpy returns a scalar *copy* for such a key; the StridedSlice view (and its gradient's
write-through view) used to be that copy, taken once from the planned buffer when the plan
was built, so every run returned whatever the buffer held then (garbage for a feed).
"""

import numpy as np
import pytest

import estcore as ec
from estcore.graph.executor import Plan

pytestmark = pytest.mark.smoke

X = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.mark.parametrize("c_kernels", [True, False])
def test_scalar_index_of_a_feed_reads_the_fed_value(c_kernels):
    p = ec.placeholder(ec.float32, [2, 3])
    v = ec.placeholder(ec.float32, [3])
    y, y1, z, e, n = p[0, 1], v[1], p[1, 2] * 2.0, p[..., 2], p[None, 1, 2]
    sess = ec.Session(config={"use_c_kernels": c_kernels})
    for scale in (1.0, 10.0):        # a second run sees the second feed
        got = sess.run([y, y1, z, e, n], {p: X * scale, v: X[0] * scale})
        assert got[0] == 1.0 * scale and got[1] == 1.0 * scale and got[2] == 10.0 * scale
        np.testing.assert_array_equal(got[3], [2.0 * scale, 5.0 * scale])
        np.testing.assert_array_equal(got[4], [5.0 * scale])


def test_gradient_of_a_scalar_index():
    w = ec.Variable(np.ones((2, 3), np.float32))
    (g,) = ec.gradients(w[1, 2] * 3.0, [w])
    sess = ec.Session()
    sess.run(ec.global_variables_initializer())
    np.testing.assert_array_equal(sess.run(g), [[0, 0, 0], [0, 0, 3]])


# ---------------------------------------------------------------- tensors as indices and bounds
# Static shapes and values as TF 2.15 gives them (tf.compat.v1, graph mode).
@pytest.mark.parametrize("c_kernels", [True, False])
def test_scalar_int_tensors_as_indices_and_slice_bounds(c_kernels):
    x = ec.constant([1.0, 2.0, 3.0])
    i = ec.placeholder(ec.int32, [])
    ys = [x[i], x[i:i + 2], ec.strided_slice(x, [i], [i + 1]), x[-i], x[::-1][i:],
          x[ec.cast(i, ec.int64):]]
    assert [y.shape.as_list() for y in ys] == [[], [None], [None], [], [None], [None]]
    assert ys[0].op.type == "TensorStridedSlice"
    sess = ec.Session(config={"use_c_kernels": c_kernels})
    got = sess.run(ys, {i: 1})
    assert got[0] == 2.0 and got[3] == 3.0
    for g, want in zip(got[1:3] + got[4:], ([2.0, 3.0], [2.0], [2.0, 1.0], [2.0, 3.0]),
                       strict=True):
        np.testing.assert_array_equal(g, want)
    got = sess.run(ys, {i: 0})            # the same plan, other bounds
    assert got[0] == 1.0 and got[3] == 1.0
    np.testing.assert_array_equal(got[1], [1.0, 2.0])
    np.testing.assert_array_equal(got[4], [3.0, 2.0, 1.0])


def test_static_shapes_of_tensor_slices_follow_tf():
    m = ec.placeholder(ec.float32, [None, 4, 5])
    i = ec.placeholder(ec.int32, [])
    shapes = [m[i, :, i].shape, m[:, i].shape, m[..., i].shape, m[i, None, 1:3].shape,
              m[:i].shape, m[1:3, i].shape]
    assert [s.as_list() for s in shapes] == [[4], [None, 5], [None, 4], [1, None, 5],
                                             [None, 4, 5], [None, 5]]
    assert m[::i].shape.rank is None      # strides not known: nothing is (TF)
    mv = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    with ec.Session() as sess:
        a, b, c = sess.run([m[i, :, i], m[i, None, 1:3], m[::i, 0, 0]], {m: mv, i: 2})
    np.testing.assert_array_equal(a, mv[2, :, 2])
    np.testing.assert_array_equal(b, mv[2, None, 1:3])
    np.testing.assert_array_equal(c, mv[::2, 0, 0])


def test_tensor_indices_the_graph_determines_are_static_slices():
    x = ec.placeholder(ec.float32, [3, 4])
    for y in (x[ec.constant(1)], x[ec.shape(x)[0] - 1], x[:ec.shape(x)[1] // 2]):
        assert y.op.type == "StridedSlice"
    assert x[ec.shape(x)[0] - 1].shape.as_list() == [4]


def test_bad_tensor_indices():
    x = ec.constant([1.0, 2.0, 3.0])
    i = ec.placeholder(ec.int32, [])
    for bad, what in ((ec.constant(1.0), "float32"), (ec.constant(True), "bool"),
                      (ec.constant([1, 2]), r"int32 and shape \(2,\)")):
        with pytest.raises(TypeError, match=r"Tensor indices must be ints, slices, Ellipsis, "
                                            rf"None \(newaxis\) or scalar int32/int64 "
                                            rf"tensors. Received: index '.*' of dtype {what}"):
            x[bad]
    with pytest.raises(TypeError, match="Slice bounds must be ints, None or scalar"):
        x[1.5:]
    y, z = x[i], x[::i]
    with ec.Session() as sess:
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match=r"TensorStridedSlice 'strided_slice': index 5 is out of "
                                 r"bounds for dimension 0 of shape \(3,\)"):
            sess.run(y, {i: 5})
        assert sess.run(y, {i: -1}) == 3.0
        with pytest.raises(ec.errors.InvalidArgumentError,
                           match=r"TensorStridedSlice 'strided_slice_1': `strides` entries "
                                 r"must be non-zero. Received: strides=\[0\]"):
            sess.run(z, {i: 0})


def test_tensor_index_of_a_variable_and_its_gradient():
    w = ec.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    i = ec.placeholder(ec.int32, [])
    y = w[i, 1:] * 3.0
    (g,) = ec.gradients(ec.reduce_sum(y), [w])
    sess = ec.Session()
    sess.run(ec.global_variables_initializer())
    yv, gv = sess.run([y, g], {i: 1})
    np.testing.assert_array_equal(yv, [12.0, 15.0])
    np.testing.assert_array_equal(gv, [[0, 0, 0], [0, 3, 3]])
    # only an index is unknown: the plan knows the shape, the kernel reads i every run
    plans = [p for ps in sess._plan_sets.values() for p in ps.values()]
    assert plans and all(isinstance(p, Plan) for p in plans)
    np.testing.assert_array_equal(sess.run(y, {i: 0}), [3.0, 6.0])


def test_the_loop_counter_as_an_index_in_a_while_loop():
    from estcore.graph.ops.while_ops import while_loop
    x = ec.placeholder(ec.float32, [3])
    _, s = while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + x[i] * x[i]),
                      [ec.constant(0), ec.constant(0.0)])
    _, w = while_loop(lambda i, s: i < 2,
                      lambda i, s: (i + 1, s + ec.reduce_sum(x[i:i + 2])),
                      [ec.constant(0), ec.constant(0.0)])
    gs, gw = ec.gradients(s, [x])[0], ec.gradients(w, [x])[0]
    with ec.Session() as sess:
        got = sess.run([s, gs, w, gw], {x: [1.0, 2.0, 3.0]})
    assert got[0] == 14.0 and got[2] == 8.0          # TF: 14.0, 8.0
    np.testing.assert_array_equal(got[1], [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(got[3], [1.0, 2.0, 1.0])
